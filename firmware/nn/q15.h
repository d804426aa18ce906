/*
 * q15.h: fixed-point helpers for the int16 ("Q15") inference engine (python/valvenet/export/c_q15.py).
 *
 * Number format: a value v with f fractional bits is stored as the int16 round(v * 2^f),
 * saturated to [-32768, 32767]. Every tensor (weights of one matrix, activations of one layer)
 * has its own power-of-two scale (f chosen by the generator from the weights and from
 * calibration data, see python/valvenet/export/calibrate.py), so rescaling is a shift.
 *
 * Products: int16 x int16 -> int32, two at a time. On the Cortex-M7 (__ARM_FEATURE_DSP) that
 * is SMLAD (acc + lo(a)*lo(b) + hi(a)*hi(b), one cycle); weights and inputs are laid out as
 * int16 pairs (input channels padded to even), read as one 32-bit word each. Elsewhere
 * (the host tests) a portable C path computes the same thing: each product fits an int32
 * exactly, and the sum wraps modulo 2^32 exactly as SMLAD's does (computed in uint32, so no
 * signed overflow), so the two paths are bit-identical for every input. The generator chooses
 * weight scales so that no accumulator can overflow anyway (sum |w| * 32767 + |bias| < 2^31).
 *
 * Rounding: right shifts round half up ((v + 2^(s-1)) >> s, arithmetic shift: GCC on ARM and
 * x86), float -> int16 rounds half up via floorf(v * scale + 0.5f); all deterministic IEEE or
 * integer arithmetic, the same on every target.
 */
#ifndef VALVENET_FIRMWARE_NN_Q15_H_
#define VALVENET_FIRMWARE_NN_Q15_H_

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#define VN_Q15_USE_SMLAD 1
#else
#define VN_Q15_USE_SMLAD 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Saturate to int16. */
static inline int16_t vn_q15_sat(int64_t v) {
  return (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
}

/* v * 2^-s, rounded half up for s > 0; v * 2^-s exactly for s <= 0 (a multiply: left shifts of
 * negative values are undefined in C). s is a compile-time constant in generated code. */
static inline int64_t vn_q_shift(int64_t v, int s) {
  if (s > 0) {
    return (v + ((int64_t)1 << (s - 1))) >> s;
  }
  return v * ((int64_t)1 << (-s));
}

/* round(v * scale) saturated to int16 (NaN gives 0). scale is a power of two: exact. */
static inline int16_t vn_q15_from_float(float v, float scale) {
  const float t = floorf(v * scale + 0.5f);
  if (t >= 32767.0f) {
    return INT16_MAX;
  }
  if (t <= -32768.0f) {
    return INT16_MIN;
  }
  if (t != t) {
    return 0;
  }
  return (int16_t)(int32_t)t;
}

/* round(v * scale) saturated to int32 (NaN gives 0): state kept finer than an int16 (the
 * LSTM cell). 2^31 is the first float out of range. */
static inline int32_t vn_q31_from_float(float v, float scale) {
  const float t = floorf(v * scale + 0.5f);
  if (t >= 2147483648.0f) {
    return INT32_MAX;
  }
  if (t <= -2147483648.0f) {
    return INT32_MIN;
  }
  if (t != t) {
    return 0;
  }
  return (int32_t)t;
}

/* Two adjacent int16 as one 32-bit word (p[0] in the low half: little-endian, as on the M7). */
static inline uint32_t vn_q15_word(const int16_t *p) {
  uint32_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

/* acc + lo(a)*lo(b) + hi(a)*hi(b), wrapping modulo 2^32 (SMLAD). */
static inline int32_t vn_q15_smlad(uint32_t a, uint32_t b, int32_t acc) {
#if VN_Q15_USE_SMLAD
  return __smlad((int16x2_t)a, (int16x2_t)b, acc);
#else
  const int32_t alo = (int16_t)(uint16_t)(a & 0xFFFFu), ahi = (int16_t)(uint16_t)(a >> 16);
  const int32_t blo = (int16_t)(uint16_t)(b & 0xFFFFu), bhi = (int16_t)(uint16_t)(b >> 16);
  const uint32_t sum = (uint32_t)acc + (uint32_t)(alo * blo) + (uint32_t)(ahi * bhi);
  return (int32_t)sum;
#endif
}

/* acc + sum over 2*pairs elements of w[i] * x[i] (w and x 4-byte aligned). */
static inline int32_t vn_q15_dot(const int16_t *restrict w, const int16_t *restrict x, uint32_t pairs, int32_t acc) {
  for (uint32_t k = 0; k < pairs; ++k) {
    acc = vn_q15_smlad(vn_q15_word(w + 2u * k), vn_q15_word(x + 2u * k), acc);
  }
  return acc;
}

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_Q15_H_ */
