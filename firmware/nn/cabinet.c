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
