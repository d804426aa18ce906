/*
 * activations.h: tanh and sigmoid for the inference engine, fast (bounded error) and exact.
 *
 * The gated WaveNet and LSTM/GRU layers evaluate on the order of 160 tanh/sigmoid per audio
 * sample, so on the Cortex-M7 (no SIMD for float) these sit on the hot path next to the
 * multiply-adds. libm's tanhf costs a call, an expf and a branchy range reduction; the fast
 * versions here are branch-free straight-line code that GCC inlines into the caller's loop.
 *
 *   vn_tanh(x), vn_sigmoid(x)    what the engine calls: the fast versions, or the libm-based
 *                                exact ones when VN_EXACT_ACTIVATIONS is defined (for A/B
 *                                comparisons against the numpy oracle).
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

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_ACTIVATIONS_H_ */
