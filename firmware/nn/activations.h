/*
 * activations.h: tanh and sigmoid for the inference engine, fast (bounded error) and exact.
 *
 * The gated WaveNet and LSTM/GRU layers evaluate on the order of 160 tanh/sigmoid per audio
 * sample, so on the Cortex-M7 (no SIMD for float) these sit on the hot path next to the
 * multiply-adds. libm's tanhf costs a call, an expf and a branchy range reduction; the fast
 * versions here are branch-free straight-line code that GCC inlines into the caller's loop.
 *
 *   vn_tanh(x), vn_sigmoid(x)    what the int16 engine's float steps call: the fast versions, or
 *                                the libm-based exact ones when VN_EXACT_ACTIVATIONS is defined
 *                                (for A/B comparisons against the numpy oracle).
 *   vn_tanh_f32, vn_sigmoid_f32  what the float32 engine calls: the table spline (at the end of
 *                                this file), or the exact ones under VN_EXACT_ACTIVATIONS.
 *
 * Fast tanh: tanh(x) ~= x * P(t) / Q(t), t = x^2, on x clamped to [-VN_TANH_CLAMP, VN_TANH_CLAMP],
 * with P(t) = 1 + p1 t + p2 t^2 + p3 t^3 and Q(t) = q0 + q1 t + ... + q4 t^4 (numerator degree 7,
 * denominator degree 8 in x). Why this shape:
 *  - The odd form makes the result exactly odd in float arithmetic: t, P and Q are the same for
 *    x and -x, round-to-nearest is sign-symmetric and the clamps are symmetric.
 *  - P(0) = 1 lets the numerator be one FMA, x + (x*t) * (p1 + p2 t + p3 t^2), with the
 *    variable x as the addend. VFMA accumulates into its addend register, so an FMA whose addend
 *    is a constant costs an extra VMOV to copy the constant; Estrin's scheme (powers t and t^2,
 *    pairs of coefficients) keeps those constant-addend FMAs to three.
 *  - No output clamp: VN_TANH_CLAMP is the smallest float at which this float evaluation
 *    reaches exactly 1.0f (found by stepping through the bit patterns from 6 to 9), so every
 *    input saturates to exactly +-1 and no input gives |result| > 1. The evaluation is
 *    deterministic IEEE arithmetic, so checking every float (as activations_test does for
 *    [2^-12, 20], with bitwise oddness for the negative half) is a proof, not a sample.
 *
 * How the coefficients were fitted (our own fit; nothing taken from other projects): a discrete
 * minimax (L-infinity) fit of the absolute error |x*P(t)/Q(t) - tanh(x)| on 8000 points of
 * [0, 8.25] (Chebyshev-spaced plus uniform), by the differential-correction method: repeatedly
 * solve the linear program  min d  s.t. |x*P(t) - tanh(x)*Q(t)| <= d*Q_prev(t), Q(0) = 1,
 * R(8.25) = 1, with scipy.optimize.linprog (HiGHS), keeping the best of 15 iterates (error of the
 * rational itself: 2.2e-7); then all coefficients divided by p0 so that P(0) = 1, rounded to
 * float32 and printed with 9 significant digits (each literal is exactly the float used).
 *
 * Measured error of vn_tanh_fast against double-precision tanh over every float in [0, 20]
 * (exhaustive bit-pattern sweep; with exact oddness that covers [-20, 20]; beyond 20 the result
 * is the saturated 1.0f, 4e-18 from tanh): 4.80e-7 absolute, at x = 5.766 (float rounding of a
 * result near 1, where one ulp is 6e-8, adds to the rational's 2.2e-7). vn_sigmoid_fast, every
 * float in [-20, 20]: 2.7e-7. The bounds stated below leave a factor of about two;
 * tests/firmware/activations_test.c asserts them (every float in [2^-12, 20] for tanh, every 8th
 * for sigmoid, both signs).
 *
 * Rounding is the same on every IEEE-754 single-precision target: the FMAs are written as fmaf
 * (a single fused instruction, VFMA.F32, on FPv5; a correctly rounded libm call on a host
 * without FMA), so -ffp-contract settings cannot change the result, and host tests see the
 * bits the M7 computes.
 *
 * Cost on the Cortex-M7 (arm-none-eabi-gcc 12.2 -O2 -mcpu=cortex-m7 -mfpu=fpv5-d16
 * -mfloat-abi=hard -mthumb, read from the -S output): 13 floating-point operations (VMAXNM and
 * VMINNM for the clamp, 3 VMUL for t, t^2 and x*t, 7 VFMA, 1 VDIV). Inlined in a loop over an
 * array, the per-element body of vn_tanh_fast is 18 instructions (the 13, plus 5 VMOV/VLDR
 * that refill the constant addends VFMA overwrites); vn_sigmoid_fast is 21 (one VMUL, one VFMA
 * and a VMOV of 0.5 more). QEMU mps2-an500 with -icount agrees: 22 and 25 instructions per
 * element for such loops, 4 of them the loop's load, store, compare and branch; libm's tanhf
 * takes about 109. As an out-of-line function vn_tanh_fast is 25 instructions (10 of them
 * literal-pool loads of the constants). The one VDIV (14 cycles, iterative) is the largest
 * single cost; the rest pipelines, and a caller with several independent activations (tanh
 * and sigmoid of a gated unit) lets the compiler interleave the two chains.
 *
 * Special values: +-inf give exactly +-1 (sigmoid: 1 and 0). NaN does not propagate: the
 * maxNum/minNum clamps (fmaxf/fminf, VMAXNM/VMINNM) return the non-NaN operand, so NaN gives -1
 * (sigmoid: 0). That keeps one bad sample from poisoning a model's recurrent state.
 */
#ifndef VALVENET_FIRMWARE_NN_ACTIVATIONS_H_
#define VALVENET_FIRMWARE_NN_ACTIVATIONS_H_

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "firmware/nn/tanh_spline_table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest absolute error of the fast versions against the exact function, for any float input
 * (measured 4.8e-7 and 2.7e-7; see above). */
#define VN_TANH_FAST_MAX_ABS_ERROR 1.0e-6
#define VN_SIGMOID_FAST_MAX_ABS_ERROR 5.0e-7

/* The clamp point: inputs at or beyond +-VN_TANH_CLAMP give exactly +-1
 * (tanh(7.773) = 1 - 3.6e-7). */
#define VN_TANH_CLAMP 7.77324915f

/* Fast tanh: at most VN_TANH_FAST_MAX_ABS_ERROR from tanh(x), exactly odd, saturating. */
static inline float vn_tanh_fast(float x) {
  /* fmaxf/fminf become VMAXNM/VMINNM on FPv5: two instructions, no branches, NaN-free. */
  const float xc = fminf(fmaxf(x, -VN_TANH_CLAMP), VN_TANH_CLAMP);
  const float t = xc * xc;
  const float t2 = t * t;
  const float xt = xc * t;
  /* Numerator x * P(t) = x + x*t * (p1 + p2 t + p3 t^2). */
  const float p = fmaf(1.08233544e-05f, t2, fmaf(0.00289254915f, t, 0.128700152f));
  const float num = fmaf(xt, p, xc);
  /* Denominator Q(t) = (q0 + q1 t) + t^2 * ((q2 + q3 t) + q4 t^2): Estrin's scheme, two short
   * independent chains instead of one Horner chain of four dependent FMAs. */
  const float qa = fmaf(0.462030202f, t, 1.00000095f);
  const float qb = fmaf(2.27093551e-07f, t2, fmaf(0.00023056427f, t, 0.0235729441f));
  const float den = fmaf(t2, qb, qa);
  return num / den;
}

/* Fast logistic sigmoid via sigmoid(x) = 0.5 + 0.5 * tanh(x / 2). Both scalings by 0.5 are
 * exact (but for subnormals), so the error is half the tanh error plus one rounding; the result
 * is exactly 0 for x <= -2 * VN_TANH_CLAMP (-15.55) and exactly 1 for x >= 15.55. fmaf keeps
 * the rounding independent of -ffp-contract. */
static inline float vn_sigmoid_fast(float x) {
  return fmaf(0.5f, vn_tanh_fast(0.5f * x), 0.5f);
}

/* Exact (libm) versions: reference behaviour, and what VN_EXACT_ACTIVATIONS selects. */
static inline float vn_tanh_exact(float x) {
  return tanhf(x);
}

/* 1 / (1 + e^-x) with e^-x overflowing to +inf for very negative x, which gives exactly 0. */
static inline float vn_sigmoid_exact(float x) {
  return 1.0f / (1.0f + expf(-x));
}

/* What the engine calls. */
static inline float vn_tanh(float x) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_tanh_exact(x);
#else
  return vn_tanh_fast(x);
#endif
}

static inline float vn_sigmoid(float x) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_sigmoid_exact(x);
#else
  return vn_sigmoid_fast(x);
#endif
}

/* Neural Amp Modeler's "Fasttanh" activation: the rational function its captures were trained
 * and are played with (not tanh: up to 4.4e-4 from it), so an imported capture that names it
 * computes this function, in NAM's float evaluation order. */
static inline float vn_nam_fast_tanh(const float x) {
  const float ax = fabsf(x);
  const float x2 = x * x;
  return (x * (2.45550750702956f + 2.45550750702956f * ax + (0.893229853513558f + 0.821226666969744f * ax) * x2)) /
         (2.44506634652299f + (2.44506634652299f + x2) * fabsf(x + 0.814642734961073f * x * ax));
}

/* ------------------------------------------------------------------ the float32 engine's tanh
 *
 * vn_tanh_spline(x): a table of cubics, no divide. What the float32 engine calls (vn_tanh_f32,
 * and vn_gate2 / vn_sigmoid_half in layers.h), because per call it is 11 instructions where
 * vn_tanh_fast is 16.5 with a VDIV (docs/profile.md). vn_tanh/vn_sigmoid above stay what they
 * are for the int16 engine's float steps.
 *
 * x is clamped to [-8, 8] and split into 129 segments of width 1/8 centred on the multiples of
 * 1/8; segment k's cubic is a + x (b + x (c + x d)) with (a, b, c, d) = vn_tanh_spline_table[k],
 * evaluated in x itself (the powers of x, not the offset from the centre: no subtraction, and the
 * fit absorbs the rounding, see tools/codegen/tanh_spline_table.py, which writes the table).
 * The segment's index comes from one float addition: x + 1.5 * 2^20 rounds x to the nearest
 * multiple of 1/8 (the sum's ulp is 1/8; ties to even), so the sum's bit pattern minus that of
 * 1.5 * 2^20 is round(8 x), in [-64, 64]. The table's address minus that bit pattern times 16
 * is folded into one constant, so the index costs one VMOV and one ADD.
 *
 * Per call on the Cortex-M7 (arm-none-eabi-gcc 12.2 -O3, read from the -S output): VMAXNM,
 * VMINNM (clamp), VADD (round), VMOV (to a core register), ADD (row address), VLDR.64 (c, d),
 * two VLDR.32 (a, b) and three VFMA: 11, no divide; measured in the engines 11.7-11.8 per call
 * (QEMU, tools/profile/profile.py). (a, b) are loaded singly because both are FMA addends that
 * are overwritten in place: GCC copies a half of a loaded register pair that an FMA overwrites,
 * so one VLDR.64 for them costs a load and one or two VMOVs.
 *
 * Error (every float in [2^-12, 20], exhaustively in tests/firmware/activations_test.c, with
 * exact oddness covering the negative half): at most VN_TANH_SPLINE_MAX_ABS_ERROR. The table is
 * antisymmetric, round(8 x) is (ties to even) and the FMAs round sign-symmetrically, so the
 * spline is exactly odd; tanh(+-0) = +-0 exactly; inputs at or beyond +-8 (and +-inf) give exactly +-1 (the end rows
 * are constants); NaN gives -1 (the maxNum/minNum clamp, as vn_tanh_fast). Deterministic IEEE
 * arithmetic (fmaf): the host computes the M7's bits.
 *
 * The table (2 KB) is defined in this header as a weak symbol, so that every file including it
 * may define it and the linker keeps one copy (GCC and Clang; other compilers get one static copy
 * per file). On the MCU it sits in a section of its own in DTCM, .dtcm_data.vn_tanh_spline_table,
 * whatever VN_NO_PLACEMENT says (every file's copy must agree on where it lives, whichever one the
 * linker keeps): --gc-sections then drops the copies it does not keep (in the shared .dtcm_data
 * section of each file they would stay, one per model file).
 */

#define VN_TANH_SPLINE_MAX_ABS_ERROR 5.0e-7
#define VN_TANH_SPLINE_LIMIT 8.0f
#define VN_TANH_SPLINE_ROUNDER 1572864.0f /* 1.5 * 2^20: float sums in [2^20, 2^21) step by 1/8 */
#define VN_TANH_SPLINE_ROUNDER_BITS 0x49C00000u
#define VN_TANH_SPLINE_MIDDLE 64u /* the row of x = 0 */

#if defined(__arm__)
#define VN_TANH_SPLINE_SECTION __attribute__((section(".dtcm_data.vn_tanh_spline_table")))
#else
#define VN_TANH_SPLINE_SECTION
#endif

#if defined(__GNUC__)
__attribute__((weak, aligned(16)))
#else
static
#endif
VN_TANH_SPLINE_SECTION const float vn_tanh_spline_table[VN_TANH_SPLINE_ROWS][4] = VN_TANH_SPLINE_TABLE_INITIALIZER;

#if defined(__GNUC__)
typedef double vn_spline_pair_t __attribute__((may_alias, aligned(8)));
#else
typedef double vn_spline_pair_t;
#endif

static inline float vn_tanh_spline(float x) {
  const float xc = fminf(fmaxf(x, -VN_TANH_SPLINE_LIMIT), VN_TANH_SPLINE_LIMIT);
  const float rounded = xc + VN_TANH_SPLINE_ROUNDER;
  uint32_t bits;
  memcpy(&bits, &rounded, sizeof bits);
  /* &table[MIDDLE + bits - ROUNDER_BITS] as unsigned integer arithmetic: the constant part
   * folds into one address (wrapping is defined for uintptr_t; the sum is the row's address). */
  const uintptr_t origin = (uintptr_t)vn_tanh_spline_table[VN_TANH_SPLINE_MIDDLE] -
                           ((uintptr_t)VN_TANH_SPLINE_ROUNDER_BITS << 4);
  const float *row = (const float *)(origin + ((uintptr_t)bits << 4));
  const double cd_bits = *(const vn_spline_pair_t *)(row + 2); /* one VLDR.64; bits, not converted */
  float cd[2];
  memcpy(cd, &cd_bits, sizeof cd);
  return fmaf(xc, fmaf(xc, fmaf(xc, cd[1], cd[0]), row[1]), row[0]);
}

/* sigmoid(x) = (1 + tanh(x / 2)) / 2 from the spline: error at most half the spline's plus one
 * rounding. (The engine folds the halvings into weights instead: vn_sigmoid_half in layers.h.) */
static inline float vn_sigmoid_spline(float x) {
  return fmaf(0.5f, vn_tanh_spline(0.5f * x), 0.5f);
}

/* What the float32 engine calls: the spline, or libm under VN_EXACT_ACTIVATIONS. */
static inline float vn_tanh_f32(float x) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_tanh_exact(x);
#else
  return vn_tanh_spline(x);
#endif
}

static inline float vn_sigmoid_f32(float x) {
#ifdef VN_EXACT_ACTIVATIONS
  return vn_sigmoid_exact(x);
#else
  return vn_sigmoid_spline(x);
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_ACTIVATIONS_H_ */
