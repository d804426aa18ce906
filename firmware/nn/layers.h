/*
 * layers.h - the building blocks generated models call.
 *
 * The generated code (python/valvenet/export/engines/, float32) does the heavy lifting itself: it
 * writes each model's matrix products as straight-line C, tile by tile, with the weights in
 * the exact order the code reads them. What it needs from here:
 *
 *   vn_load_pair     two adjacent floats in one load (VLDR.64 on the Cortex-M7: half the load
 *                    instructions of float-by-float code; the FPU has no SIMD, so the
 *                    multiply-adds themselves stay one VFMA each)
 *   VN_OPAQUE        hides a pointer's value from the optimiser, so GCC neither hoists a tile's
 *                    loads out of a loop (which spills registers) nor merges tiles
 *   vn_ring_mirror   the mirrored history buffers of dilated layers (below)
 *   vn_gate2         the gated activation, with its scalings folded into the weights
 *
 * Pairs: every pointer passed to vn_load_pair is 8-byte aligned (weights, state and scratch
 * buffers are declared VN_ALIGNED8 and every pair starts at an even float offset).
 *
 * History buffers of dilated layers ("mirrored rings", firmware/nn/ring.h): the producer writes
 * a block's columns at physical positions [p, p + m) and calls vn_ring_mirror to restore the
 * mirror.
 */
#ifndef VALVENET_NN_LAYERS_H
#define VALVENET_NN_LAYERS_H

#include <stdint.h>
#include <string.h>

#include "firmware/nn/activations.h"
#include "firmware/nn/ring.h"

#if defined(__GNUC__)
#define VN_ALIGNED8 __attribute__((aligned(8)))
/* For code that runs once per block, not per layer: kept out of line (and so out of ITCM,
 * where the per-layer kernels marked VN_HOT_TEXT need the room). */
#define VN_NOINLINE __attribute__((noinline))
/* An empty asm that "may change" p: the compiler must assume the loads through p differ
 * (volatile: two identical ones are not merged either). No instruction is emitted. */
#define VN_OPAQUE(p) __asm__ volatile("" : "+r"(p))
typedef double vn_pair_bits_t __attribute__((may_alias, aligned(8)));
#else
#define VN_ALIGNED8
#define VN_NOINLINE
#define VN_OPAQUE(p) ((void)0)
typedef double vn_pair_bits_t;
#endif

/* lo = p[0], hi = p[1]; p is 8-byte aligned. The bits travel as a double (one VLDR.64 into a
 * D register whose halves are the two floats), never converted. */
static inline void vn_load_pair(const float *p, float *lo, float *hi) {
  const double bits = *(const vn_pair_bits_t *)p;
  float pair[2];
  memcpy(pair, &bits, sizeof pair);
  *lo = pair[0];
  *hi = pair[1];
}

/* Copies n floats (n even, both pointers 8-byte aligned), written out because GCC would
 * turn the plain loop into a memcpy call. */
static inline void vn_copy_pairs(float *restrict dst, const float *restrict src, const uint32_t n) {
  uint32_t i = 0;
  for (; i + 4u <= n; i += 4u) {
    const float *from = src + i;
    VN_OPAQUE(from);
    const double a = ((const vn_pair_bits_t *)from)[0], b = ((const vn_pair_bits_t *)from)[1];
    ((vn_pair_bits_t *)(dst + i))[0] = a;
    ((vn_pair_bits_t *)(dst + i))[1] = b;
  }
  if (i < n) {
    *(vn_pair_bits_t *)(dst + i) = *(const vn_pair_bits_t *)(src + i);
  }
}

/* Restores the mirror of a float history buffer (firmware/nn/ring.h) after the columns at
 * physical positions [p, p + m) were written: capacity R logical columns, B mirrored ones,
 * `channels` floats per column (even). p < R and m <= B. */
static inline void vn_ring_mirror(float *columns, const uint32_t p, const uint32_t m, const uint32_t capacity,
                                  const uint32_t mirrored, const uint32_t channels) {
  if (vn_ring_wraps(p, m, capacity)) { /* written past the end: those columns are also the first ones */
    vn_copy_pairs(columns, columns + capacity * channels, vn_ring_wrapped(p, m, capacity) * channels);
  }
  if (vn_ring_touches_mirror(p, mirrored)) { /* written among the first B columns: refresh their mirror */
    const uint32_t end = vn_ring_mirrored_end(p, m, mirrored);
    vn_copy_pairs(columns + (capacity + p) * channels, columns + p * channels, (end - p) * channels);
  }
}

/* The gated activation tanh(a) * sigmoid(b), doubled, from a and b / 2.
 *
 * The generator scales the gate half of each dilated convolution by 0.5 (so b_half is
 * exactly b / 2: scaling by a power of two commutes with every rounding, subnormals aside)
 * and the residual 1x1 that consumes the gate output by 0.5 (so doubling the gate output is
 * undone exactly). With the float32 engine's activations (the spline, activations.h),
 * sigmoid(b) = (1 + tanh(b / 2)) / 2 is the identity vn_sigmoid_spline itself is built on; this
 * form drops its two scalings. */
static inline float vn_gate2(const float a, const float b_half) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_tanh_f32(a) * (2.0f * vn_sigmoid_f32(2.0f * b_half));
#else
  return vn_tanh_spline(a) * (1.0f + vn_tanh_spline(b_half));
#endif
}

/* sigmoid(2 * z_half): the generator halves the weights of sigmoid gates (LSTM, GRU). */
static inline float vn_sigmoid_half(const float z_half) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_sigmoid_f32(2.0f * z_half);
#else
  return fmaf(0.5f, vn_tanh_spline(z_half), 0.5f);
#endif
}

#endif /* VALVENET_NN_LAYERS_H */
