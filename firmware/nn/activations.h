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
 * Fast tanh: tanh(x) ~= x * P(x^2) / Q(x^2) on x clamped to [-VN_TANH_CLAMP, VN_TANH_CLAMP],
 * P of degree 3 and Q of degree 4 in t = x^2 (numerator degree 7, denominator degree 8 in x).
 * The odd form makes the result exactly odd in float arithmetic: x^2, P and Q are the same for
 * x and -x, and the clamps are symmetric. The result is then clamped to [-1, 1] because float
 * rounding can put the quotient one or two ulp above 1 near the clamp point.
 *
 * How the coefficients were fitted (our own fit; nothing taken from other projects): a discrete
 * minimax (L-infinity) fit of the absolute error |x*P(t)/Q(t) - tanh(x)| on 8000 points of
 * [0, 8.25] (Chebyshev-spaced plus uniform), by the differential-correction method: repeatedly
 * solve the linear program  min d  s.t. |x*P(t) - tanh(x)*Q(t)| <= d*Q_prev(t), Q(0) = 1,
 * with scipy.optimize.linprog (HiGHS), keeping the best iterate (math error 2.2e-7). One equality
 * constraint, R(8.25) = 1 + 4e-7, makes the float result at the clamp round to exactly 1.0f so
 * that large |x| saturates to exactly +-1 (checked, not assumed: activations_test asserts it).
 * The coefficients below are those values rounded to float32 (printed with 9 significant digits,
 * so each literal is exactly the float used).
 *
 * Measured error of vn_tanh_fast against double tanh over every float in [0, 20] (exhaustive
 * bit-pattern sweep; the result is exactly odd, so this covers [-20, 20]): 4.8e-7 absolute
 * (near x = 7.08, where float rounding of a result close to 1 dominates; the rational's own
 * error is 2.2e-7). vn_sigmoid_fast: 2.4e-7. The bounds stated below leave a factor of about two
 * for safety; tests/firmware/activations_test.c asserts them.
 *
 * Rounding is the same on every IEEE-754 single-precision target: the FMAs are written as fmaf
 * (a single fused instruction, VFMA.F32, on FPv5; a correctly rounded libm call on a host
 * without FMA), so -ffp-contract settings cannot change the result, and host tests see the
 * bits the M7 computes.
 *
 * Cost on the Cortex-M7 (arm-none-eabi-gcc 12.2 -O2 -mcpu=cortex-m7 -mfpu=fpv5-d16
 * -mfloat-abi=hard): vn_tanh_fast as an out-of-line function is 27 instructions, 17 of them
 * arithmetic (2 VMAXNM/VMINNM input clamps, 1 VMUL for x^2, 7 VFMA, 1 VMUL, 1 VDIV, 2 output
 * clamps, ...), the rest loading the 9 constants and returning. Inlined in a loop the constants
 * stay in registers (FPv5-D16 has 32 single-precision registers), leaving 14 instructions per
 * call; vn_sigmoid_fast adds a VMUL and a VFMA. The one VDIV (~14 cycles, not pipelined) is the
 * largest single cost.
 *
 * Special values: +-inf give exactly +-1 (sigmoid: 1 and 0). NaN does not propagate: the
 * maxNum/minNum clamps (fmaxf/fminf) return the non-NaN operand, so NaN gives -1 (sigmoid: 0).
 * That keeps one bad sample from poisoning a model's recurrent state.
 */
#ifndef VALVENET_FIRMWARE_NN_ACTIVATIONS_H_
#define VALVENET_FIRMWARE_NN_ACTIVATIONS_H_

#include <math.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest absolute error of the fast versions against the exact function, for any float input
 * (measured 4.8e-7 and 2.4e-7; see above). */
#define VN_TANH_FAST_MAX_ABS_ERROR 1.0e-6
#define VN_SIGMOID_FAST_MAX_ABS_ERROR 5.0e-7

/* Inputs beyond +-VN_TANH_CLAMP give exactly +-1 (tanh(8.25) = 1 - 1.4e-7). */
#define VN_TANH_CLAMP 8.25f

/* Fast tanh: at most VN_TANH_FAST_MAX_ABS_ERROR from tanh(x), exactly odd, saturating. */
static inline float vn_tanh_fast(float x) {
  /* fmaxf/fminf become VMAXNM/VMINNM on FPv5: two instructions, no branches. */
  const float xc = fminf(fmaxf(x, -VN_TANH_CLAMP), VN_TANH_CLAMP);
  const float t = xc * xc;
  /* Two independent Horner chains, so the M7 can overlap their FMA latencies. */
  const float p = fmaf(fmaf(fmaf(1.08213999e-05f, t, 0.00289235823f), t, 0.12869823f), t,
                       0.999998987f);
  const float q = fmaf(fmaf(fmaf(fmaf(2.27033055e-07f, t, 0.00023053796f), t, 0.0235721413f), t,
                            0.462027937f),
                       t, 1.0f);
  return fminf(fmaxf((xc * p) / q, -1.0f), 1.0f);
}

/* Fast logistic sigmoid via sigmoid(x) = 0.5 + 0.5 * tanh(x / 2). Both scalings by 0.5 are
 * exact, so the error is half the tanh error plus one rounding; the result is exactly 0 for
 * x <= -16.5 and exactly 1 for x >= 16.5. fmaf keeps the rounding independent of
 * -ffp-contract. */
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

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_ACTIVATIONS_H_ */
