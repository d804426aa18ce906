/*
 * q15_dsp.h: more of the M7's DSP instructions for the int16 engine, beyond q15.h's SMLAD and
 * SSAT: the 16 x 16 and 32 x 16 products and the saturating add of the recurrent cells (the
 * LSTM and GRU emitters in python/valvenet/export/engines/recurrent.py), an interpolated
 * activation table read with one load per value, and the halfword pack and saturating
 * halfword add of the gated WaveNet's residual (gated_wavenet.py). Formats and rounding as in
 * q15.h; each helper has the M7's instruction and a portable path with the same result for
 * every input, so the host build gives the M7's bits.
 */
#ifndef VALVENET_FIRMWARE_NN_Q15_DSP_H_
#define VALVENET_FIRMWARE_NN_Q15_DSP_H_

#include <stdint.h>
#include <string.h>

#include "firmware/nn/q15.h"

#ifdef __cplusplus
extern "C" {
#endif

/* acc + lo(a) * lo(b), wrapping modulo 2^32 (SMLABB). */
static inline int32_t vn_q15_mla_bb(int32_t a, int32_t b, int32_t acc) {
#if VN_Q15_USE_SMLAD
  return __smlabb(a, b, acc);
#else
  return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)(uint16_t)a * (int32_t)(int16_t)(uint16_t)b));
#endif
}

/* acc + hi(a) * lo(b), wrapping modulo 2^32 (SMLATB). */
static inline int32_t vn_q15_mla_tb(int32_t a, int32_t b, int32_t acc) {
#if VN_Q15_USE_SMLAD
  return __smlatb(a, b, acc);
#else
  return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)(uint16_t)((uint32_t)a >> 16) *
                                              (int32_t)(int16_t)(uint16_t)b));
#endif
}

/* floor(a * lo(b) / 2^16): a 32 x 16 product's top 32 bits (SMULWB). */
static inline int32_t vn_q15_mul_wb(int32_t a, int32_t b) {
#if VN_Q15_USE_SMLAD
  int32_t r;
  __asm__("smulwb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
#else
  return (int32_t)(((int64_t)a * (int16_t)(uint16_t)b) >> 16);
#endif
}

/* a + b saturated to int32 (QADD). */
static inline int32_t vn_q31_add_sat(int32_t a, int32_t b) {
#if VN_Q15_USE_SMLAD
  return __qadd(a, b);
#else
  const int64_t v = (int64_t)a + b;
  return (int32_t)(v > INT32_MAX ? INT32_MAX : (v < INT32_MIN ? INT32_MIN : v));
#endif
}

/* Stores a word as two adjacent int16 (the low half at p[0]), the store twin of vn_q15_word. */
static inline void vn_q15_store_word(int16_t *p, const uint32_t w) { memcpy(p, &w, sizeof w); }

/* lo(lo) | lo(hi) << 16: two int16 in one word (PKHBT). */
static inline uint32_t vn_q15_pack_bottom(const int32_t lo, const int32_t hi) {
#if VN_Q15_USE_SMLAD
  uint32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
#else
  return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
#endif
}

/* The two int16 halves of a and b added, each sum saturated to int16 (QADD16). */
static inline uint32_t vn_q15_add2_sat(const uint32_t a, const uint32_t b) {
#if VN_Q15_USE_SMLAD
  return (uint32_t)__qadd16((int16x2_t)a, (int16x2_t)b);
#else
  const int32_t lo = (int32_t)(int16_t)(uint16_t)(a & 0xFFFFu) + (int32_t)(int16_t)(uint16_t)(b & 0xFFFFu);
  const int32_t hi = (int32_t)(int16_t)(uint16_t)(a >> 16) + (int32_t)(int16_t)(uint16_t)(b >> 16);
  return ((uint32_t)(uint16_t)vn_q15_sat32(lo)) | ((uint32_t)(uint16_t)vn_q15_sat32(hi) << 16);
#endif
}

/* A function from a 513-entry table on [-8, 8] (step 1/32) with linear interpolation, as
 * vn_q15_tanh (q15.h) and with its result for the same table, but each entry packed with its
 * slope: mid[i] = t[256 + i] in the low half, t[257 + i] - t[256 + i] in the high half
 * (i = -256..255; python/valvenet/export/engines/recurrent.py writes it). x has 20
 * fractional bits, clamped to [-8, 8); one load per value, the interpolation one SMLATB. */
static inline int32_t vn_q15_lerp(int32_t x, const uint32_t *mid) {
#if VN_Q15_USE_SMLAD
  const int32_t u = __ssat(x, 24);
#else
  const int32_t u = vn_q_clamp(x, -(1 << 23), (1 << 23) - 1);
#endif
  const uint32_t e = mid[u >> 15];
  return (int32_t)(int16_t)(uint16_t)e + (vn_q15_mla_tb((int32_t)e, u & 0x7FFF, 1 << 14) >> 15);
}

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_Q15_DSP_H_ */
