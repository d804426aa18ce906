/*
 * layers.h - the building blocks generated models call, for compile-time sizes.
 *
 * Generated code passes channel counts as literal constants; these helpers are
 * `static inline`, so each call site is specialised and GCC unrolls the channel loops.
 * Weight layouts are what the helpers read in order: a dense/1x1 weight is [out][in],
 * a dilated convolution [out][tap][in] (tap 0 is the oldest input).
 */
#ifndef VALVENET_NN_LAYERS_H
#define VALVENET_NN_LAYERS_H

#include <stdint.h>

/* out[o] = bias[o] + sum_i w[o][i] * x[i]; bias may be NULL. */
static inline void vn_dense(const float *restrict w, const float *restrict bias, const float *restrict x,
                            float *restrict out, const uint32_t n_in, const uint32_t n_out) {
  for (uint32_t o = 0; o < n_out; ++o) {
    float acc = bias != 0 ? bias[o] : 0.0f;
    const float *row = w + o * n_in;
    for (uint32_t i = 0; i < n_in; ++i) {
      acc += row[i] * x[i];
    }
    out[o] = acc;
  }
}

/* out[o] += sum_i w[o][i] * x[i] */
static inline void vn_dense_accumulate(const float *restrict w, const float *restrict x, float *restrict out,
                                       const uint32_t n_in, const uint32_t n_out) {
  for (uint32_t o = 0; o < n_out; ++o) {
    float acc = out[o];
    const float *row = w + o * n_in;
    for (uint32_t i = 0; i < n_in; ++i) {
      acc += row[i] * x[i];
    }
    out[o] = acc;
  }
}

/* Streaming history of a dilated causal convolution: the last `length` input columns
 * ((kernel-1) * dilation of them), `channels` floats each, in a ring. */
typedef struct {
  float *columns;  /* length * channels floats, caller-owned */
  uint32_t length; /* columns in the ring (0 for a 1-tap convolution) */
  uint32_t head;   /* where the next column is written (the oldest one) */
} vn_ring_t;

/* The column seen `lag` samples ago (1 <= lag <= length). */
static inline const float *vn_ring_past(const vn_ring_t *ring, const uint32_t lag, const uint32_t channels) {
  uint32_t index = ring->head >= lag ? ring->head - lag : ring->head + ring->length - lag;
  return ring->columns + index * channels;
}

/* Stores the newest column, overwriting the oldest. */
static inline void vn_ring_push(vn_ring_t *ring, const float *restrict x, const uint32_t channels) {
  if (ring->length == 0u) {
    return;
  }
  float *slot = ring->columns + ring->head * channels;
  for (uint32_t c = 0; c < channels; ++c) {
    slot[c] = x[c];
  }
  ring->head = ring->head + 1u == ring->length ? 0u : ring->head + 1u;
}

/* One output column of a causal dilated convolution with kernel size 3 (the size every
 * ValveNet WaveNet uses): taps at t - 2d, t - d and t (x is the current input). */
static inline void vn_dilated_conv3(const float *restrict w, const float *restrict bias, const vn_ring_t *ring,
                                    const float *restrict x, const uint32_t dilation, float *restrict out,
                                    const uint32_t n_in, const uint32_t n_out) {
  const float *oldest = vn_ring_past(ring, 2u * dilation, n_in);
  const float *middle = vn_ring_past(ring, dilation, n_in);
  for (uint32_t o = 0; o < n_out; ++o) {
    const float *row = w + o * 3u * n_in;
    float acc = bias[o];
    for (uint32_t i = 0; i < n_in; ++i) {
      acc += row[i] * oldest[i];
    }
    for (uint32_t i = 0; i < n_in; ++i) {
      acc += row[n_in + i] * middle[i];
    }
    for (uint32_t i = 0; i < n_in; ++i) {
      acc += row[2u * n_in + i] * x[i];
    }
    out[o] = acc;
  }
}

#endif /* VALVENET_NN_LAYERS_H */
