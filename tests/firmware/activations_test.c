/*
 * Host tests of firmware/nn/activations.h: the fast tanh/sigmoid against double-precision
 * references, their symmetry, saturation and special values, and the exact/fast selection.
 *
 * The fast functions are deterministic IEEE single-precision arithmetic (fmaf, not contracted
 * multiply-adds), so what is measured here is what the Cortex-M7 computes, bit for bit.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/nn/activations.h"

static float float_from_bits(uint32_t bits) {
  float x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

static uint32_t bits_from_float(float x) {
  uint32_t bits;
  memcpy(&bits, &x, sizeof bits);
  return bits;
}

static double tanh_ref(float x) {
  return tanh((double)x);
}

static double sigmoid_ref(float x) {
  return 1.0 / (1.0 + exp(-(double)x));
}

/* Below 2^-12 both tanh and the approximation are x to within |x| * 1e-6 < 3e-10, far inside
 * the bound, so that range is sampled (every 256th bit pattern) rather than stepped through. */
#define TINY_BITS 0x39800000u /* 2^-12 */
#define TINY_STRIDE 256u

/* Every float in [2^-12, 20] (1.4e8 values) and a sample below: f's error against tanh, exact
 * oddness (the negative half gives exactly the negated results) and |result| <= 1. Oddness
 * makes this cover [-20, 20]. */
static void check_odd_tanh_over_every_float(float (*f)(float), const char *name, double bound) {
  const uint32_t last = bits_from_float(20.0f);
  double max_error = 0.0;
  float worst_x = 0.0f;
  uint32_t odd_failures = 0;
  uint32_t range_failures = 0;
  uint32_t step = TINY_STRIDE;
  for (uint32_t bits = 0; bits <= last; bits += step) {
    if (bits >= TINY_BITS) {
      step = 1u;
    }
    const float x = float_from_bits(bits);
    const float y = f(x);
    const double error = fabs((double)y - tanh_ref(x));
    if (!(error <= max_error)) { /* also catches a NaN error */
      max_error = error;
      worst_x = x;
    }
    if (bits_from_float(f(-x)) != (bits_from_float(y) ^ 0x80000000u)) {
      ++odd_failures;
    }
    if (!(fabsf(y) <= 1.0f)) {
      ++range_failures;
    }
  }
  print_message("%s: max abs error %.4g at x = %.9g (bound %.3g)\n", name, max_error, (double)worst_x, bound);
  assert_true(max_error <= bound);
  assert_int_equal(odd_failures, 0);
  assert_int_equal(range_failures, 0);
}

/* Every 8th bit pattern of [2^-12, 20], both signs (3.6e7 values): f's error against the
 * sigmoid and 0 <= result <= 1. A sigmoid is not odd in float arithmetic (1 - s(x) and s(-x)
 * round differently), so both halves are swept. */
static void check_sigmoid_over_dense_float_grid(float (*f)(float), const char *name, double bound) {
  const uint32_t last = bits_from_float(20.0f);
  double max_error = 0.0;
  float worst_x = 0.0f;
  uint32_t range_failures = 0;
  uint64_t count = 0;
  for (uint32_t bits = 0; bits <= last; bits += (bits >= TINY_BITS) ? 8u : TINY_STRIDE) {
    for (int sign = 0; sign < 2; ++sign) {
      const float x = sign ? -float_from_bits(bits) : float_from_bits(bits);
      const float y = f(x);
      const double error = fabs((double)y - sigmoid_ref(x));
      if (!(error <= max_error)) {
        max_error = error;
        worst_x = x;
      }
      if (!(y >= 0.0f && y <= 1.0f)) {
        ++range_failures;
      }
      ++count;
    }
  }
  print_message("%s: max abs error %.4g at x = %.9g over %llu points (bound %.3g)\n", name, max_error,
                (double)worst_x, (unsigned long long)count, bound);
  assert_true(count >= 10000000u);
  assert_true(max_error <= bound);
  assert_int_equal(range_failures, 0);
}

static void tanh_fast_error_bound_and_oddness_over_every_float(void **state) {
  (void)state;
  check_odd_tanh_over_every_float(vn_tanh_fast, "vn_tanh_fast", VN_TANH_FAST_MAX_ABS_ERROR);
}

static void sigmoid_fast_error_bound_over_dense_float_grid(void **state) {
  (void)state;
  check_sigmoid_over_dense_float_grid(vn_sigmoid_fast, "vn_sigmoid_fast", VN_SIGMOID_FAST_MAX_ABS_ERROR);
}

/* Large inputs give exactly +-1 (tanh) and exactly 0 / 1 (sigmoid), from the clamp point on. */
static void saturates_exactly(void **state) {
  (void)state;
  const float large[] = {VN_TANH_CLAMP, nextafterf(VN_TANH_CLAMP, 100.0f), 8.0f, 10.0f, 20.0f,
                         1.0e6f, 1.0e30f, FLT_MAX};
  for (size_t i = 0; i < sizeof large / sizeof large[0]; ++i) {
    assert_true(vn_tanh_fast(large[i]) == 1.0f);
    assert_true(vn_tanh_fast(-large[i]) == -1.0f);
    assert_true(vn_sigmoid_fast(2.0f * large[i]) == 1.0f);
    assert_true(vn_sigmoid_fast(-2.0f * large[i]) == 0.0f);
  }
  /* Just below the clamp point the result is still below 1. */
  assert_true(vn_tanh_fast(nextafterf(VN_TANH_CLAMP, 0.0f)) < 1.0f);
  /* The zero crossing is exact. */
  assert_true(vn_tanh_fast(0.0f) == 0.0f);
  assert_true(vn_sigmoid_fast(0.0f) == 0.5f);
}

/* +-inf saturate; NaN gives a finite value instead of spreading through a model's state. */
static void infinities_and_nan_give_finite_results(void **state) {
  (void)state;
  assert_true(vn_tanh_fast(INFINITY) == 1.0f);
  assert_true(vn_tanh_fast(-INFINITY) == -1.0f);
  assert_true(vn_sigmoid_fast(INFINITY) == 1.0f);
  assert_true(vn_sigmoid_fast(-INFINITY) == 0.0f);
  assert_false(isnan(vn_tanh_fast(NAN)));
  assert_false(isnan(vn_sigmoid_fast(NAN)));
  assert_true(fabsf(vn_tanh_fast(NAN)) <= 1.0f);
  assert_true(vn_sigmoid_fast(NAN) >= 0.0f && vn_sigmoid_fast(NAN) <= 1.0f);
}

/* The exact versions are libm: within a couple of float ulps of the double reference. */
static void exact_versions_match_double_reference(void **state) {
  (void)state;
  double tanh_error = 0.0;
  double sigmoid_error = 0.0;
  for (int32_t i = -200000; i <= 200000; ++i) {
    const float x = (float)i * 1.0e-4f;
    tanh_error = fmax(tanh_error, fabs((double)vn_tanh_exact(x) - tanh_ref(x)));
    sigmoid_error = fmax(sigmoid_error, fabs((double)vn_sigmoid_exact(x) - sigmoid_ref(x)));
  }
  assert_true(tanh_error <= 2.0e-7);
  assert_true(sigmoid_error <= 2.0e-7);
  assert_true(vn_tanh_exact(INFINITY) == 1.0f);
  assert_true(vn_sigmoid_exact(-INFINITY) == 0.0f);
  assert_true(vn_sigmoid_exact(INFINITY) == 1.0f);
}

/* The spline tanh (the float32 engine's): error bound, exact oddness, range. */
static void tanh_spline_error_bound_and_oddness_over_every_float(void **state) {
  (void)state;
  check_odd_tanh_over_every_float(vn_tanh_spline, "vn_tanh_spline", VN_TANH_SPLINE_MAX_ABS_ERROR);
}

/* The spline's sigmoid: half the spline's error plus one rounding. */
static void sigmoid_spline_error_bound_over_dense_float_grid(void **state) {
  (void)state;
  check_sigmoid_over_dense_float_grid(vn_sigmoid_spline, "vn_sigmoid_spline",
                                      VN_TANH_SPLINE_MAX_ABS_ERROR / 2.0 + 6.0e-8);
}

/* At and beyond +-8, and at +-inf: exactly +-1 (sigmoid: 0 and 1); 0 gives 0; NaN a finite
 * value in range. */
static void spline_saturates_exactly_and_handles_special_values(void **state) {
  (void)state;
  const float large[] = {VN_TANH_SPLINE_LIMIT, 8.5f, 100.0f, 1.0e30f, FLT_MAX, INFINITY};
  for (size_t i = 0; i < sizeof large / sizeof large[0]; ++i) {
    assert_true(vn_tanh_spline(large[i]) == 1.0f);
    assert_true(vn_tanh_spline(-large[i]) == -1.0f);
    assert_true(vn_sigmoid_spline(2.0f * large[i]) == 1.0f);
    assert_true(vn_sigmoid_spline(-2.0f * large[i]) == 0.0f);
  }
  assert_true(vn_tanh_spline(nextafterf(VN_TANH_SPLINE_LIMIT, 0.0f)) <= 1.0f);
  assert_true(vn_tanh_spline(0.0f) == 0.0f);
  assert_true(vn_sigmoid_spline(0.0f) == 0.5f);
  assert_false(isnan(vn_tanh_spline(NAN)));
  assert_true(fabsf(vn_tanh_spline(NAN)) <= 1.0f);
  assert_false(isnan(vn_sigmoid_spline(NAN)));
}

/* Without VN_EXACT_ACTIVATIONS (this test's build), vn_tanh/vn_sigmoid are the fast ones and
 * vn_tanh_f32/vn_sigmoid_f32 the spline ones. */
static void default_selection_is_fast(void **state) {
  (void)state;
#ifdef VN_EXACT_ACTIVATIONS
  for (int32_t i = -1000; i <= 1000; ++i) {
    const float x = (float)i * 0.0137f;
    assert_true(vn_tanh(x) == vn_tanh_exact(x));
    assert_true(vn_sigmoid(x) == vn_sigmoid_exact(x));
    assert_true(vn_tanh_f32(x) == vn_tanh_exact(x));
    assert_true(vn_sigmoid_f32(x) == vn_sigmoid_exact(x));
  }
#else
  for (int32_t i = -1000; i <= 1000; ++i) {
    const float x = (float)i * 0.0137f;
    assert_true(vn_tanh(x) == vn_tanh_fast(x));
    assert_true(vn_sigmoid(x) == vn_sigmoid_fast(x));
    assert_true(vn_tanh_f32(x) == vn_tanh_spline(x));
    assert_true(vn_sigmoid_f32(x) == vn_sigmoid_spline(x));
  }
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tanh_fast_error_bound_and_oddness_over_every_float),
      cmocka_unit_test(sigmoid_fast_error_bound_over_dense_float_grid),
      cmocka_unit_test(saturates_exactly),
      cmocka_unit_test(infinities_and_nan_give_finite_results),
      cmocka_unit_test(exact_versions_match_double_reference),
      cmocka_unit_test(tanh_spline_error_bound_and_oddness_over_every_float),
      cmocka_unit_test(sigmoid_spline_error_bound_over_dense_float_grid),
      cmocka_unit_test(spline_saturates_exactly_and_handles_special_values),
      cmocka_unit_test(default_selection_is_fast),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
