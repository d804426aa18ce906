/*
 * Host tests of firmware/nn/cabinet.h: the float FIR against a direct convolution in double,
 * the Q15 FIR against an int64 reference written independently here, block-size invariance,
 * in-place use, saturation, reset and the degenerate lengths.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/nn/cabinet.h"

#define MAX_TAPS 300u
#define SIGNAL_LENGTH 5000u

/* A small deterministic generator (64-bit LCG, top bits), so the tests need no seed plumbing. */
typedef struct {
  uint64_t state;
} lcg_t;

static uint32_t lcg_next(lcg_t *rng) {
  rng->state = rng->state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng->state >> 32);
}

/* Uniform in [-1, 1). */
static float lcg_unit(lcg_t *rng) {
  return (float)((double)lcg_next(rng) / 2147483648.0 - 1.0);
}

static int16_t lcg_q15(lcg_t *rng) {
  return (int16_t)(lcg_next(rng) >> 16);
}

/* A cabinet-like impulse response: noise under a decaying envelope, scaled to unit energy. */
static void make_float_ir(float *taps, uint32_t length, uint64_t seed) {
  lcg_t rng = {seed};
  double energy = 0.0;
  for (uint32_t k = 0; k < length; ++k) {
    taps[k] = lcg_unit(&rng) * expf(-(float)k / 30.0f);
    energy += (double)taps[k] * taps[k];
  }
  const float scale = (float)(1.0 / sqrt(energy));
  for (uint32_t k = 0; k < length; ++k) {
    taps[k] *= scale;
  }
}

static void make_float_signal(float *x, uint32_t n, uint64_t seed) {
  lcg_t rng = {seed};
  for (uint32_t i = 0; i < n; ++i) {
    x[i] = lcg_unit(&rng);
  }
}

static void make_q15(int16_t *x, uint32_t n, uint64_t seed) {
  lcg_t rng = {seed};
  for (uint32_t i = 0; i < n; ++i) {
    x[i] = lcg_q15(&rng);
  }
}

/* ---- references ---------------------------------------------------------------------------- */

/* y[i] = sum_k h[k] x[i-k] in double, zero before the first sample. */
static double direct_convolution(const float *h, uint32_t length, const float *x, uint32_t i) {
  double sum = 0.0;
  for (uint32_t k = 0; k < length && k <= i; ++k) {
    sum += (double)h[k] * (double)x[i - k];
  }
  return sum;
}

/* floor(a / 2^bits) with division only (no reliance on >> of negative numbers). */
static int64_t floor_div_pow2(int64_t a, uint32_t bits) {
  const int64_t d = (int64_t)1 << bits;
  return (a >= 0) ? a / d : -((-a + d - 1) / d);
}

static int16_t q15_reference(const int16_t *h, uint32_t length, const int16_t *x, uint32_t i,
                             uint32_t frac_bits) {
  int64_t acc = 0;
  for (uint32_t k = 0; k < length && k <= i; ++k) {
    acc += (int64_t)h[k] * (int64_t)x[i - k];
  }
  const int64_t y = floor_div_pow2(acc + ((int64_t)1 << (frac_bits - 1u)), frac_bits);
  return (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
}

/* ---- float ------------------------------------------------------------------------------ */

static const uint32_t kLengths[] = {1u, 2u, 3u, 4u, 5u, 7u, 64u, 255u, 256u, 257u};

static void f32_matches_direct_convolution(void **state) {
  (void)state;
  static float taps[MAX_TAPS];
  static float history[VN_FIR_HISTORY_LENGTH(MAX_TAPS)];
  static float x[SIGNAL_LENGTH];
  static float y[SIGNAL_LENGTH];
  make_float_signal(x, SIGNAL_LENGTH, 11u);
  double worst = 0.0;
  for (size_t t = 0; t < sizeof kLengths / sizeof kLengths[0]; ++t) {
    const uint32_t length = kLengths[t];
    make_float_ir(taps, length, 100u + length);
    vn_fir_f32_t fir;
    vn_fir_f32_init(&fir, taps, length, history);
    vn_fir_f32_process(&fir, x, y, SIGNAL_LENGTH);
    for (uint32_t i = 0; i < SIGNAL_LENGTH; ++i) {
      const double error = fabs((double)y[i] - direct_convolution(taps, length, x, i));
      if (!(error <= worst)) {
        worst = error;
      }
    }
  }
  print_message("float FIR: max abs error against double convolution %.3g\n", worst);
  assert_true(worst <= 1.0e-6);
}

/* An impulse gives the taps back, exactly (each output is one product with 1 plus zeros). */
static void f32_impulse_response_is_the_taps(void **state) {
  (void)state;
  enum { kLength = 37 };
  float taps[kLength];
  float history[VN_FIR_HISTORY_LENGTH(kLength)];
  float x[kLength + 5] = {1.0f};
  float y[kLength + 5];
  make_float_ir(taps, kLength, 5u);
  vn_fir_f32_t fir;
  vn_fir_f32_init(&fir, taps, kLength, history);
  vn_fir_f32_process(&fir, x, y, kLength + 5);
  assert_memory_equal(y, taps, sizeof taps);
  for (uint32_t i = kLength; i < kLength + 5; ++i) {
    assert_true(y[i] == 0.0f);
  }
}

/* Runs the signal through a fresh filter in blocks of `block` (0: an irregular pattern). */
static void run_f32_in_blocks(const float *taps, uint32_t length, const float *x, float *y,
                              uint32_t n, uint32_t block) {
  static float history[VN_FIR_HISTORY_LENGTH(MAX_TAPS)];
  static const uint32_t kPattern[] = {1u, 7u, 48u, 0u, 3u, 4096u, 2u, 129u};
  vn_fir_f32_t fir;
  vn_fir_f32_init(&fir, taps, length, history);
  uint32_t done = 0;
  for (uint32_t b = 0; done < n; ++b) {
    uint32_t size = block ? block : kPattern[b % (sizeof kPattern / sizeof kPattern[0])];
    if (size > n - done) {
      size = n - done;
    }
    vn_fir_f32_process(&fir, x + done, y + done, size);
    done += size;
  }
}

static void f32_block_size_invariant(void **state) {
  (void)state;
  static float taps[MAX_TAPS];
  static float x[SIGNAL_LENGTH];
  static float reference[SIGNAL_LENGTH];
  static float y[SIGNAL_LENGTH];
  const uint32_t blocks[] = {7u, 48u, 4096u, SIGNAL_LENGTH, 0u};
  make_float_signal(x, SIGNAL_LENGTH, 12u);
  for (size_t t = 0; t < sizeof kLengths / sizeof kLengths[0]; ++t) {
    const uint32_t length = kLengths[t];
    make_float_ir(taps, length, 200u + length);
    run_f32_in_blocks(taps, length, x, reference, SIGNAL_LENGTH, 1u);
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b) {
      memset(y, 0xA5, sizeof y);
      run_f32_in_blocks(taps, length, x, y, SIGNAL_LENGTH, blocks[b]);
      assert_memory_equal(y, reference, sizeof y);
    }
  }
}

static void f32_in_place_equals_out_of_place(void **state) {
  (void)state;
  static float taps[256];
  static float history[VN_FIR_HISTORY_LENGTH(256)];
  static float x[SIGNAL_LENGTH];
  static float y[SIGNAL_LENGTH];
  make_float_ir(taps, 256, 3u);
  make_float_signal(x, SIGNAL_LENGTH, 13u);
  vn_fir_f32_t fir;
  vn_fir_f32_init(&fir, taps, 256, history);
  vn_fir_f32_process(&fir, x, y, SIGNAL_LENGTH);
  vn_fir_f32_reset(&fir);
  vn_fir_f32_process(&fir, x, x, SIGNAL_LENGTH);
  assert_memory_equal(x, y, sizeof y);
}

static void f32_reset_clears_state(void **state) {
  (void)state;
  static float taps[100];
  static float history[VN_FIR_HISTORY_LENGTH(100)];
  static float x[1000];
  static float fresh[1000];
  static float after_reset[1000];
  make_float_ir(taps, 100, 4u);
  make_float_signal(x, 1000, 14u);
  vn_fir_f32_t fir;
  vn_fir_f32_init(&fir, taps, 100, history);
  vn_fir_f32_process(&fir, x, fresh, 1000);
  /* Leave the ring full of loud, unrelated samples at an arbitrary head position. */
  float junk[77];
  for (uint32_t i = 0; i < 77; ++i) {
    junk[i] = 1000.0f;
  }
  vn_fir_f32_process(&fir, junk, junk, 77);
  vn_fir_f32_reset(&fir);
  vn_fir_f32_process(&fir, x, after_reset, 1000);
  assert_memory_equal(after_reset, fresh, sizeof fresh);
}

static void zero_length_outputs_silence(void **state) {
  (void)state;
  float fhist[1];
  int16_t qhist[1];
  float fx[5] = {1.0f, -2.0f, 3.0f, 0.5f, 0.25f};
  int16_t qx[5] = {100, -200, 300, 32767, -32768};
  vn_fir_f32_t f;
  vn_fir_q15_t q;
  vn_fir_f32_init(&f, NULL, 0u, fhist);
  vn_fir_q15_init(&q, NULL, 0u, qhist, VN_FIR_Q15_TAP_FRAC_BITS);
  vn_fir_f32_process(&f, fx, fx, 5);
  vn_fir_q15_process(&q, qx, qx, 5);
  for (int i = 0; i < 5; ++i) {
    assert_true(fx[i] == 0.0f);
    assert_int_equal(qx[i], 0);
  }
}

/* ---- Q15 -------------------------------------------------------------------------------- */

static void q15_matches_int64_reference(void **state) {
  (void)state;
  static int16_t taps[MAX_TAPS];
  static int16_t history[VN_FIR_HISTORY_LENGTH(MAX_TAPS)];
  static int16_t x[SIGNAL_LENGTH];
  static int16_t y[SIGNAL_LENGTH];
  const uint32_t frac_bits[] = {15u, 14u, 12u};
  for (size_t f = 0; f < sizeof frac_bits / sizeof frac_bits[0]; ++f) {
    for (size_t t = 0; t < sizeof kLengths / sizeof kLengths[0]; ++t) {
      const uint32_t length = kLengths[t];
      make_q15(taps, length, 300u + length);
      /* Quiet input (|x| < 2^9) so most outputs stay in range and the rounding is exercised;
       * the loud case below covers saturation. */
      make_q15(x, SIGNAL_LENGTH, 15u + length);
      for (uint32_t i = 0; i < SIGNAL_LENGTH; ++i) {
        x[i] = (int16_t)(x[i] / 64);
      }
      vn_fir_q15_t fir;
      vn_fir_q15_init(&fir, taps, length, history, frac_bits[f]);
      vn_fir_q15_process(&fir, x, y, SIGNAL_LENGTH);
      for (uint32_t i = 0; i < SIGNAL_LENGTH; ++i) {
        const int16_t expected = q15_reference(taps, length, x, i, frac_bits[f]);
        if (y[i] != expected) {
          fail_msg("length %u frac_bits %u sample %u: got %d, expected %d", (unsigned)length,
                   (unsigned)frac_bits[f], (unsigned)i, y[i], expected);
        }
      }
    }
  }
}

/* Rounding is half up at exactly .5 LSB, on both signs: taps {16384} (0.5) halve the input. */
static void q15_rounds_half_up(void **state) {
  (void)state;
  const int16_t taps[1] = {16384};
  int16_t history[VN_FIR_HISTORY_LENGTH(1)];
  const int16_t x[6] = {1, -1, 3, -3, 2, -2};
  const int16_t expected[6] = {1, 0, 2, -1, 1, -1};
  int16_t y[6];
  vn_fir_q15_t fir;
  vn_fir_q15_init(&fir, taps, 1, history, VN_FIR_Q15_TAP_FRAC_BITS);
  vn_fir_q15_process(&fir, x, y, 6);
  assert_memory_equal(y, expected, sizeof y);
}

static void run_q15_in_blocks(const int16_t *taps, uint32_t length, const int16_t *x, int16_t *y,
                              uint32_t n, uint32_t block) {
  static int16_t history[VN_FIR_HISTORY_LENGTH(MAX_TAPS)];
  static const uint32_t kPattern[] = {1u, 7u, 48u, 0u, 3u, 4096u, 2u, 129u};
  vn_fir_q15_t fir;
  vn_fir_q15_init(&fir, taps, length, history, VN_FIR_Q15_TAP_FRAC_BITS);
  uint32_t done = 0;
  for (uint32_t b = 0; done < n; ++b) {
    uint32_t size = block ? block : kPattern[b % (sizeof kPattern / sizeof kPattern[0])];
    if (size > n - done) {
      size = n - done;
    }
    vn_fir_q15_process(&fir, x + done, y + done, size);
    done += size;
  }
}

static void q15_block_size_invariant(void **state) {
  (void)state;
  static int16_t taps[MAX_TAPS];
  static int16_t x[SIGNAL_LENGTH];
  static int16_t reference[SIGNAL_LENGTH];
  static int16_t y[SIGNAL_LENGTH];
  const uint32_t blocks[] = {7u, 48u, 4096u, SIGNAL_LENGTH, 0u};
  make_q15(x, SIGNAL_LENGTH, 16u);
  for (size_t t = 0; t < sizeof kLengths / sizeof kLengths[0]; ++t) {
    const uint32_t length = kLengths[t];
    make_q15(taps, length, 400u + length);
    run_q15_in_blocks(taps, length, x, reference, SIGNAL_LENGTH, 1u);
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; ++b) {
      memset(y, 0x5A, sizeof y);
      run_q15_in_blocks(taps, length, x, y, SIGNAL_LENGTH, blocks[b]);
      assert_memory_equal(y, reference, sizeof y);
    }
  }
}

/* Overload saturates to the int16 limits instead of wrapping, even when the sum is far beyond
 * 32 bits (256 products of 2^30 = 2^38). */
static void q15_saturates_on_overload(void **state) {
  (void)state;
  enum { kLength = 256, kN = 600 };
  static int16_t taps[kLength];
  static int16_t history[VN_FIR_HISTORY_LENGTH(kLength)];
  static int16_t x[kN];
  static int16_t y[kN];
  for (uint32_t k = 0; k < kLength; ++k) {
    taps[k] = INT16_MIN;
  }
  for (uint32_t i = 0; i < kN; ++i) {
    x[i] = (i < 300u) ? INT16_MIN : INT16_MAX;
  }
  vn_fir_q15_t fir;
  vn_fir_q15_init(&fir, taps, kLength, history, VN_FIR_Q15_TAP_FRAC_BITS);
  vn_fir_q15_process(&fir, x, y, kN);
  /* (-1) * (-1) summed: positive overload from the second sample on. */
  assert_int_equal(y[0], INT16_MAX); /* -32768 * -32768 / 32768 = 32768 -> 32767 */
  for (uint32_t i = 1; i < 300u; ++i) {
    assert_int_equal(y[i], INT16_MAX);
  }
  /* Once the window is all +32767 samples the sum is strongly negative. */
  for (uint32_t i = 300u + kLength; i < kN; ++i) {
    assert_int_equal(y[i], INT16_MIN);
  }
  /* And every output agrees with the reference, through the transition. */
  for (uint32_t i = 0; i < kN; ++i) {
    assert_int_equal(y[i], q15_reference(taps, kLength, x, i, VN_FIR_Q15_TAP_FRAC_BITS));
  }
}

static void q15_reset_clears_state(void **state) {
  (void)state;
  static int16_t taps[101];
  static int16_t history[VN_FIR_HISTORY_LENGTH(101)];
  static int16_t x[1000];
  static int16_t fresh[1000];
  static int16_t after_reset[1000];
  make_q15(taps, 101, 6u);
  make_q15(x, 1000, 17u);
  vn_fir_q15_t fir;
  vn_fir_q15_init(&fir, taps, 101, history, VN_FIR_Q15_TAP_FRAC_BITS);
  vn_fir_q15_process(&fir, x, fresh, 1000);
  int16_t junk[55];
  for (uint32_t i = 0; i < 55; ++i) {
    junk[i] = INT16_MAX;
  }
  vn_fir_q15_process(&fir, junk, junk, 55);
  vn_fir_q15_reset(&fir);
  vn_fir_q15_process(&fir, x, after_reset, 1000);
  assert_memory_equal(after_reset, fresh, sizeof fresh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(f32_matches_direct_convolution),
      cmocka_unit_test(f32_impulse_response_is_the_taps),
      cmocka_unit_test(f32_block_size_invariant),
      cmocka_unit_test(f32_in_place_equals_out_of_place),
      cmocka_unit_test(f32_reset_clears_state),
      cmocka_unit_test(zero_length_outputs_silence),
      cmocka_unit_test(q15_matches_int64_reference),
      cmocka_unit_test(q15_rounds_half_up),
      cmocka_unit_test(q15_block_size_invariant),
      cmocka_unit_test(q15_saturates_on_overload),
      cmocka_unit_test(q15_reset_clears_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
