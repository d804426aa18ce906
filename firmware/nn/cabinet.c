/* cabinet.c: streaming FIR stages for the cabinet impulse response (see cabinet.h). */
#include "firmware/nn/cabinet.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define VN_FIR_USE_SMLALD 1
#else
#define VN_FIR_USE_SMLALD 0
#endif

/* The Q15 rounding shift relies on >> of a negative int64_t being arithmetic (floor). C11 leaves
 * it implementation-defined; every compiler this builds with (GCC, Clang) defines it that way,
 * and this stops the build on one that does not. */
_Static_assert(((int64_t)-5 >> 1) == -3, "arithmetic right shift of signed integers required");

/* Moves the ring one sample back in time and stores x at the new head, in both halves, so that
 * history[head .. head + length - 1] is x[n], x[n-1], ..., x[n-length+1]. */
static inline uint32_t ring_push_f32(float *history, uint32_t length, uint32_t head, float x) {
  head = (head == 0u) ? length - 1u : head - 1u;
  history[head] = x;
  history[head + length] = x;
  return head;
}

static inline uint32_t ring_push_q15(int16_t *history, uint32_t length, uint32_t head,
                                     int16_t x) {
  head = (head == 0u) ? length - 1u : head - 1u;
  history[head] = x;
  history[head + length] = x;
  return head;
}

/* sum_k h[k] * x[k] in float. Four partial sums (tap k into sum k mod 4) keep four independent
 * VFMA chains in flight on the M7, whose FMA result latency would otherwise stall every tap; the
 * fixed assignment makes the rounding a function of the data alone. */
static inline float dot_f32(const float *restrict h, const float *restrict x, uint32_t n) {
  float s0 = 0.0f;
  float s1 = 0.0f;
  float s2 = 0.0f;
  float s3 = 0.0f;
  uint32_t k = 0;
  for (; k + 4u <= n; k += 4u) {
    s0 = fmaf(h[k], x[k], s0);
    s1 = fmaf(h[k + 1u], x[k + 1u], s1);
    s2 = fmaf(h[k + 2u], x[k + 2u], s2);
    s3 = fmaf(h[k + 3u], x[k + 3u], s3);
  }
  if (k < n) {
    s0 = fmaf(h[k], x[k], s0);
  }
  if (k + 1u < n) {
    s1 = fmaf(h[k + 1u], x[k + 1u], s1);
  }
  if (k + 2u < n) {
    s2 = fmaf(h[k + 2u], x[k + 2u], s2);
  }
  return (s0 + s1) + (s2 + s3);
}

#if VN_FIR_USE_SMLALD
/* Two adjacent int16 as one 32-bit word (lower address in the low half). The history pair is
 * halfword- but not always word-aligned (head moves by one); the M7 does unaligned LDR in
 * hardware, and memcpy is how C says "unaligned load" without breaking aliasing rules. */
static inline int16x2_t load_pair(const int16_t *p) {
  int32_t word;
  memcpy(&word, p, sizeof word);
  return (int16x2_t)word;
}
#endif

/* sum_k h[k] * x[k], exactly. Every product fits in int32 (|h*x| <= 2^30) and the int64 sum
 * cannot wrap for n < 2^33, so any evaluation order gives the same integer: SMLALD on the M7,
 * a plain loop elsewhere. */
static inline int64_t dot_q15(const int16_t *restrict h, const int16_t *restrict x, uint32_t n) {
  int64_t acc = 0;
  uint32_t k = 0;
#if VN_FIR_USE_SMLALD
  /* SMLALD: acc += lo(a)*lo(b) + hi(a)*hi(b). Pairs (h[k], h[k+1]) and (x[k], x[k+1]) line up
   * because the history runs forward in the same direction as the taps. Unrolled to four taps
   * per iteration to halve the loop overhead. */
  for (; k + 4u <= n; k += 4u) {
    acc = __smlald(load_pair(h + k), load_pair(x + k), acc);
    acc = __smlald(load_pair(h + k + 2u), load_pair(x + k + 2u), acc);
  }
  for (; k + 2u <= n; k += 2u) {
    acc = __smlald(load_pair(h + k), load_pair(x + k), acc);
  }
#endif
  for (; k < n; ++k) {
    acc += (int32_t)h[k] * (int32_t)x[k];
  }
  return acc;
}

/* Rounds the accumulator (2^-(15 + frac_bits) units) to Q15, half up, and saturates. */
static inline int16_t round_saturate_q15(int64_t acc, uint32_t frac_bits) {
  const int64_t y = (acc + ((int64_t)1 << (frac_bits - 1u))) >> frac_bits;
  if (y > INT16_MAX) {
    return INT16_MAX;
  }
  if (y < INT16_MIN) {
    return INT16_MIN;
  }
  return (int16_t)y;
}

/* ---- float32 ---------------------------------------------------------------------------- */

void vn_fir_f32_init(vn_fir_f32_t *fir, const float *taps, uint32_t length,
                     float *history_buffer) {
  fir->taps = taps;
  fir->length = length;
  fir->history = history_buffer;
  vn_fir_f32_reset(fir);
}

void vn_fir_f32_reset(vn_fir_f32_t *fir) {
  fir->head = 0u;
  if (fir->length > 0u) {
    memset(fir->history, 0, (size_t)VN_FIR_HISTORY_LENGTH(fir->length) * sizeof(float));
  }
}

void vn_fir_f32_process(vn_fir_f32_t *fir, const float *in, float *out, uint32_t n) {
  const uint32_t length = fir->length;
  if (length == 0u) {
    for (uint32_t i = 0; i < n; ++i) {
      out[i] = 0.0f;
    }
    return;
  }
  const float *const taps = fir->taps;
  float *const history = fir->history;
  uint32_t head = fir->head;
  for (uint32_t i = 0; i < n; ++i) {
    /* Read in[i] before writing out[i]: in and out may be the same array. */
    head = ring_push_f32(history, length, head, in[i]);
    out[i] = dot_f32(taps, history + head, length);
  }
  fir->head = head;
}

/* ---- int16 (Q15) ------------------------------------------------------------------------ */

void vn_fir_q15_init(vn_fir_q15_t *fir, const int16_t *taps, uint32_t length,
                     int16_t *history_buffer, uint32_t frac_bits) {
  fir->taps = taps;
  fir->length = length;
  fir->history = history_buffer;
  /* 1..30 keeps the rounding constant and the shift well defined for int64. */
  fir->frac_bits = (frac_bits < 1u) ? 1u : (frac_bits > 30u) ? 30u : frac_bits;
  vn_fir_q15_reset(fir);
}

void vn_fir_q15_reset(vn_fir_q15_t *fir) {
  fir->head = 0u;
  if (fir->length > 0u) {
    memset(fir->history, 0, (size_t)VN_FIR_HISTORY_LENGTH(fir->length) * sizeof(int16_t));
  }
}

void vn_fir_q15_process(vn_fir_q15_t *fir, const int16_t *in, int16_t *out, uint32_t n) {
  const uint32_t length = fir->length;
  if (length == 0u) {
    for (uint32_t i = 0; i < n; ++i) {
      out[i] = 0;
    }
    return;
  }
  const int16_t *const taps = fir->taps;
  int16_t *const history = fir->history;
  const uint32_t frac_bits = fir->frac_bits;
  uint32_t head = fir->head;
  for (uint32_t i = 0; i < n; ++i) {
    head = ring_push_q15(history, length, head, in[i]);
    out[i] = round_saturate_q15(dot_q15(taps, history + head, length), frac_bits);
  }
  fir->head = head;
}
