/*
 * q15_dsp.h: more of the M7's DSP instructions for the int16 engine, beyond q15.h's SMLAD and
 * SSAT: the 16 x 16 and 32 x 16 products and the saturating add of the recurrent cells (the
 * LSTM and GRU emitters in python/valvenet/export/engines/recurrent_q15.py), an interpolated
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

/* a[r] += sum over the n input words x[k] (n = 2 or 4: 2n int16 at x, 4-byte aligned) of
 * SMLAD(w[4k + r], x[k]), r = 0..3, with w = *wp the 4n weight words in the order (word k,
 * row r); *wp is advanced past them. On the M7 one LDM loads the n input words and one LDM
 * each word's four row weights (fixed registers: r0-r3 inputs, x passed in r0, r4-r6 and
 * r8 weights), so the
 * 4n SMLADs take n + 1 loads. The sums wrap modulo 2^32 in any order: the portable loop gives
 * the same bits. */
#if VN_Q15_USE_SMLAD
#define VN_Q15_MAC4_STEP(k)                  \
  "ldmia %[w]!, {r4, r5, r6, r8}\n\t"        \
  "smlad %[a0], r4, r" #k ", %[a0]\n\t"     \
  "smlad %[a1], r5, r" #k ", %[a1]\n\t"     \
  "smlad %[a2], r6, r" #k ", %[a2]\n\t"     \
  "smlad %[a3], r8, r" #k ", %[a3]\n\t"
#endif
__attribute__((always_inline)) static inline void vn_q15_mac4(const int16_t **wp, const int16_t *x, const uint32_t n, int32_t *a0, int32_t *a1,
                               int32_t *a2, int32_t *a3) {
#if VN_Q15_USE_SMLAD
  /* Every operand in a fixed register (r7 left alone: the frame pointer where one is kept). */
  register const int16_t *w __asm__("lr") = *wp;
  register int32_t s0 __asm__("r9") = *a0;
  register int32_t s1 __asm__("r10") = *a1;
  register int32_t s2 __asm__("r11") = *a2;
  register int32_t s3 __asm__("r12") = *a3;
  register const int16_t *x0 __asm__("r0") = x; /* the base is the first register loaded */
  if (n == 4u) {
    __asm__("ldmia %[x], {r0, r1, r2, r3}\n\t" VN_Q15_MAC4_STEP(0) VN_Q15_MAC4_STEP(1) VN_Q15_MAC4_STEP(2)
                VN_Q15_MAC4_STEP(3)
            : [a0] "+r"(s0), [a1] "+r"(s1), [a2] "+r"(s2), [a3] "+r"(s3), [w] "+r"(w), [x] "+r"(x0)
            :
            : "r1", "r2", "r3", "r4", "r5", "r6", "r8", "memory");
  } else {
    __asm__("ldmia %[x], {r0, r1}\n\t" VN_Q15_MAC4_STEP(0) VN_Q15_MAC4_STEP(1)
            : [a0] "+r"(s0), [a1] "+r"(s1), [a2] "+r"(s2), [a3] "+r"(s3), [w] "+r"(w), [x] "+r"(x0)
            :
            : "r1", "r4", "r5", "r6", "r8", "memory");
  }
  *a0 = s0;
  *a1 = s1;
  *a2 = s2;
  *a3 = s3;
  *wp = w;
#else
  const int16_t *w = *wp;
  for (uint32_t k = 0; k < n; ++k, w += 8) {
    const uint32_t xk = vn_q15_word(x + 2u * k);
    *a0 = vn_q15_smlad(vn_q15_word(w), xk, *a0);
    *a1 = vn_q15_smlad(vn_q15_word(w + 2), xk, *a1);
    *a2 = vn_q15_smlad(vn_q15_word(w + 4), xk, *a2);
    *a3 = vn_q15_smlad(vn_q15_word(w + 6), xk, *a3);
  }
  *wp = w;
#endif
}

/* a0..a3 = the four int32 at *wp (a group's biases, stored as 8 int16), *wp advanced past
 * them: one LDM on the M7, into the registers vn_q15_mac4 accumulates in. */
__attribute__((always_inline)) static inline void vn_q15_bias4(const int16_t **wp, int32_t *a0, int32_t *a1,
                                                               int32_t *a2, int32_t *a3) {
#if VN_Q15_USE_SMLAD
  register const int16_t *w __asm__("lr") = *wp;
  register int32_t s0 __asm__("r9");
  register int32_t s1 __asm__("r10");
  register int32_t s2 __asm__("r11");
  register int32_t s3 __asm__("r12");
  __asm__("ldmia %[w]!, {r9, r10, r11, r12}"
          : "=r"(s0), "=r"(s1), "=r"(s2), "=r"(s3), [w] "+r"(w)
          :
          : "memory");
  *a0 = s0;
  *a1 = s1;
  *a2 = s2;
  *a3 = s3;
  *wp = w;
#else
  uint32_t b0, b1, b2, b3;
  vn_q15_words2(*wp, &b0, &b1);
  vn_q15_words2(*wp + 4, &b2, &b3);
  *a0 = (int32_t)b0;
  *a1 = (int32_t)b1;
  *a2 = (int32_t)b2;
  *a3 = (int32_t)b3;
  *wp += 8;
#endif
}

/* acc + sum over k < 4 of SMLAD(f[k], x[k]): four input words (one LDM on the M7, x passed in
 * r0) against four weight words held in registers. */
__attribute__((always_inline)) static inline int32_t vn_q15_dot4_words(const int16_t *x, const uint32_t f0,
                                                                     const uint32_t f1, const uint32_t f2,
                                                                     const uint32_t f3, int32_t acc) {
#if VN_Q15_USE_SMLAD
  register const int16_t *x0 __asm__("r0") = x;
  __asm__("ldmia %[x], {r0, r1, r2, r3}\n\t"
          "smlad %[a], %[f0], r0, %[a]\n\t"
          "smlad %[a], %[f1], r1, %[a]\n\t"
          "smlad %[a], %[f2], r2, %[a]\n\t"
          "smlad %[a], %[f3], r3, %[a]\n\t"
          : [a] "+r"(acc), [x] "+r"(x0)
          : [f0] "r"(f0), [f1] "r"(f1), [f2] "r"(f2), [f3] "r"(f3)
          : "r1", "r2", "r3", "memory");
  return acc;
#else
  acc = vn_q15_smlad(f0, vn_q15_word(x), acc);
  acc = vn_q15_smlad(f1, vn_q15_word(x + 2), acc);
  acc = vn_q15_smlad(f2, vn_q15_word(x + 4), acc);
  return vn_q15_smlad(f3, vn_q15_word(x + 6), acc);
#endif
}

/* A function from a 513-entry table on [-8, 8] (step 1/32) with linear interpolation, as
 * vn_q15_tanh (q15.h) and with its result for the same table, but each entry packed with its
 * slope: mid[i] = t[256 + i] in the low half, t[257 + i] - t[256 + i] in the high half
 * (i = -256..255; python/valvenet/export/engines/recurrent_q15.py writes it). x has 20
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
