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
 * integer arithmetic, the same on every target. Where the M7 has one instruction for a helper
 * (SMLAD, SSAT) the portable path computes the same function, so both give the same bits.
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

/* Saturate an int32 to int16: one SSAT on the M7, compares elsewhere (the same result). */
static inline int16_t vn_q15_sat32(int32_t v) {
#if VN_Q15_USE_SMLAD
  return (int16_t)__ssat(v, 16);
#else
  return (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
#endif
}

/* v * 2^-s rounded half up, for 0 < s < 32, in 32 bits: (v >> s) plus bit s-1 of v (the
 * first bit shifted out: whether the fraction is at least a half) equals (v + 2^(s-1)) >> s
 * without its overflow. */
static inline int32_t vn_q_rshift32(int32_t v, int s) {
  return (v >> s) + ((v >> (s - 1)) & 1);
}

/* round(v * scale) saturated to int16 (NaN gives INT16_MIN). scale is a power of two: exact.
 * Clamped in float (VMAXNM/VMINNM on the M7: no branches), then converted. */
static inline int16_t vn_q15_from_float(float v, float scale) {
  const float t = fminf(fmaxf(floorf(v * scale + 0.5f), -32768.0f), 32767.0f);
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

/* An int64 clamped to the 24-bit range vn_q15_tanh reads (its input beyond is saturated anyway). */
static inline int32_t vn_q_sat24(int64_t v) {
  return (int32_t)(v > (1 << 23) - 1 ? (1 << 23) - 1 : (v < -(1 << 23) ? -(1 << 23) : v));
}

/* tanh in fixed point, from a table: x has 20 fractional bits (clamped to [-8, 8)), the
 * result 15. table[i] = round(tanh(-8 + i / 32) * 2^15) saturated, i = 0..512 (the generator
 * writes it: python/valvenet/export/c_q15.py); linear interpolation between entries, the
 * fraction's 15 bits rounded half up. Error against tanh: under 1.25e-4 (the interpolation's
 * (1/32)^2 / 8 * max|tanh''| = 9.4e-5, plus the table's and the result's rounding; measured
 * 1.15e-4 by tests/python/test_c_q15.py), all integer arithmetic, so the same bits on every
 * target. */
static inline int32_t vn_q15_tanh(int32_t x, const int16_t *table) { /* in [-32768, 32767] */
#if VN_Q15_USE_SMLAD
  const int32_t u = __ssat(x, 24) + (1 << 23); /* [0, 2^24): 9 bits index, 15 fraction */
#else
  const int32_t lo = -(1 << 23), hi = (1 << 23) - 1;
  const int32_t u = (x < lo ? lo : (x > hi ? hi : x)) - lo;
#endif
  const int32_t i = u >> 15, f = u & 0x7FFF;
  const int32_t a = table[i], b = table[i + 1];
  return a + (((b - a) * f + (1 << 14)) >> 15);
}

/* floor(x / 2^s) saturated to `bits` signed bits (a table index): one SSAT with a shifted
 * operand on the M7, compares elsewhere (the same result). s (1..31) and bits are literals. */
#if VN_Q15_USE_SMLAD
#define VN_Q_INDEX(x, s, bits) ((int32_t)__ssat((int32_t)(x) >> (s), (bits)))
#else
#define VN_Q_INDEX(x, s, bits) vn_q_clamp((int32_t)(x) >> (s), -(1 << ((bits) - 1)), (1 << ((bits) - 1)) - 1)
#endif
static inline int32_t vn_q_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* x * 2^s (s >= 0, an int64 product: exact) saturated to `bits` signed bits: VN_Q_INDEX for
 * an accumulator with fewer fractional bits than the table's step (rare formats). */
static inline int32_t vn_q_index_up(int32_t x, int s, int bits) {
  const int64_t v = (int64_t)x * ((int64_t)1 << s), hi = ((int64_t)1 << (bits - 1)) - 1;
  return (int32_t)(v > hi ? hi : (v < -hi - 1 ? -hi - 1 : v));
}

/* Restores the mirror of an int16 history buffer after the columns at physical positions
 * [p, p + m) were written (the float engine's vn_ring_mirror, firmware/nn/layers.h): R =
 * `capacity` logical columns stored in R + `mirrored` physical ones, physical column R + k
 * mirroring column k, so every window of at most `mirrored` consecutive logical columns is
 * contiguous. `channels` int16 per column. p < R, m <= mirrored. */
static inline void vn_q15_ring_mirror(int16_t *columns, const uint32_t p, const uint32_t m, const uint32_t capacity,
                                      const uint32_t mirrored, const uint32_t channels) {
  if (p + m > capacity) { /* written past the end: those columns are also the first ones */
    memcpy(columns, columns + capacity * channels, (p + m - capacity) * channels * sizeof(int16_t));
  }
  if (p < mirrored) { /* written among the first columns: refresh their mirror */
    const uint32_t end = p + m < mirrored ? p + m : mirrored;
    memcpy(columns + (capacity + p) * channels, columns + p * channels, (end - p) * channels * sizeof(int16_t));
  }
}

/* Logical column p - lag of a history buffer of `capacity` columns (lag <= capacity). */
static inline uint32_t vn_q15_ring_back(const uint32_t p, const uint32_t lag, const uint32_t capacity) {
  return p >= lag ? p - lag : p + capacity - lag;
}

/* An empty asm that "may change" p: loads through p may not be hoisted out of the loop that
 * holds it (the generated tiles reload their weights per pair of samples rather than keep
 * them all live, which would spill). No instruction is emitted. */
#if defined(__GNUC__)
#define VN_Q15_OPAQUE(p) __asm__ volatile("" : "+r"(p))
#else
#define VN_Q15_OPAQUE(p) ((void)0)
#endif

/* Two adjacent int16 as one 32-bit word (p[0] in the low half: little-endian, as on the M7). */
static inline uint32_t vn_q15_word(const int16_t *p) {
  uint32_t w;
  memcpy(&w, p, sizeof w);
  return w;
}

/* Four adjacent int16 (8-byte aligned) as two 32-bit words, p[0..1] in lo: one LDRD. */
#if defined(__GNUC__)
typedef uint64_t vn_q15_quad_t __attribute__((may_alias, aligned(8)));
#else
typedef uint64_t vn_q15_quad_t;
#endif
static inline void vn_q15_words2(const int16_t *p, uint32_t *lo, uint32_t *hi) {
  const uint64_t v = *(const vn_q15_quad_t *)p;
  *lo = (uint32_t)v;
  *hi = (uint32_t)(v >> 32);
}

/* The top halves of hi and lo in one word, (hi & 0xFFFF0000) | (lo >> 16): one PKHTB. */
static inline uint32_t vn_q15_pack_top(const int32_t hi, const int32_t lo) {
#if VN_Q15_USE_SMLAD
  uint32_t r;
  __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(hi), "r"(lo));
  return r;
#else
  return ((uint32_t)hi & 0xFFFF0000u) | ((uint32_t)lo >> 16);
#endif
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

/* acc[r] += sum over 2*pairs elements of row r's weights * x[i], for four rows r at once: each
 * input word is loaded once for four dual MACs (a row at a time would load it four times).
 * Weights interleaved by pair: w[8k + 2r], w[8k + 2r + 1] are row r's elements 2k, 2k + 1. */
static inline void vn_q15_dot4(const int16_t *restrict w, const int16_t *restrict x, uint32_t pairs,
                               int32_t *restrict acc) {
  int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
  for (uint32_t k = 0; k < pairs; ++k) {
    const uint32_t xk = vn_q15_word(x + 2u * k);
    const int16_t *wk = w + 8u * k;
    a0 = vn_q15_smlad(vn_q15_word(wk), xk, a0);
    a1 = vn_q15_smlad(vn_q15_word(wk + 2), xk, a1);
    a2 = vn_q15_smlad(vn_q15_word(wk + 4), xk, a2);
    a3 = vn_q15_smlad(vn_q15_word(wk + 6), xk, a3);
  }
  acc[0] = a0;
  acc[1] = a1;
  acc[2] = a2;
  acc[3] = a3;
}

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_Q15_H_ */
