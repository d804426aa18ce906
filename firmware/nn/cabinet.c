/* cabinet.c: streaming FIR stage for the cabinet impulse response (see cabinet.h). */
#include "firmware/nn/cabinet.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Moves the ring one sample back in time and stores x at the new head, in both halves, so that
 * history[head .. head + length - 1] is x[n], x[n-1], ..., x[n-length+1]. */
static inline uint32_t ring_push_f32(float *history, uint32_t length, uint32_t head, float x) {
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

/* The four outputs of a group, oldest first: x points at the newest sample's window (output
 * j reads x + 3 - j), each output's sum in dot_f32's order (tap k into partial sum k mod 4,
 * the same fmaf chain): the same bits as four dot_f32 calls, but each tap and each input
 * sample is loaded once for the four outputs (16 accumulators: the M7's 32 single registers
 * hold them with the taps and the sliding input). */
static inline void dot4_f32(const float *restrict h, const float *restrict x, uint32_t n, float y[4]) {
  float s[4][4] = {{0.0f}};
  uint32_t k = 0;
  for (; k + 4u <= n; k += 4u) {
#pragma GCC unroll 4
    for (uint32_t t = 0; t < 4u; ++t) {
      const float c = h[k + t];
#pragma GCC unroll 4
      for (uint32_t j = 0; j < 4u; ++j) {
        s[j][t] = fmaf(c, x[k + t + 3u - j], s[j][t]);
      }
    }
  }
  for (uint32_t t = 0; k + t < n; ++t) {
#pragma GCC unroll 4
    for (uint32_t j = 0; j < 4u; ++j) {
      s[j][t] = fmaf(h[k + t], x[k + t + 3u - j], s[j][t]);
    }
  }
#pragma GCC unroll 4
  for (uint32_t j = 0; j < 4u; ++j) {
    y[j] = (s[j][0] + s[j][1]) + (s[j][2] + s[j][3]);
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
  uint32_t i = 0;
  while (i < n) {
    if (i + 4u <= n && head >= 4u) {
      /* Four samples at once: their windows are history[head - 1 - j ...], no wrap (head >=
       * 4). Only the lower copies are written before the sums: an upper copy lands inside an
       * older output's window (its oldest taps), so those follow the sums. */
      const float x0 = in[i], x1 = in[i + 1u], x2 = in[i + 2u], x3 = in[i + 3u];
      head -= 4u;
      history[head + 3u] = x0;
      history[head + 2u] = x1;
      history[head + 1u] = x2;
      history[head] = x3;
      float y[4];
      dot4_f32(taps, history + head, length, y);
      history[head + 3u + length] = x0;
      history[head + 2u + length] = x1;
      history[head + 1u + length] = x2;
      history[head + length] = x3;
      out[i] = y[0];
      out[i + 1u] = y[1];
      out[i + 2u] = y[2];
      out[i + 3u] = y[3];
      i += 4u;
    } else {
      /* Read in[i] before writing out[i]: in and out may be the same array. */
      head = ring_push_f32(history, length, head, in[i]);
      out[i] = dot_f32(taps, history + head, length);
      ++i;
    }
  }
  fir->head = head;
}
