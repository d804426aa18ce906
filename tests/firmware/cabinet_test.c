/*
 * Host tests of firmware/nn/cabinet.h: the float FIR against a direct convolution in double,
 * block-size invariance, in-place use, reset and the degenerate lengths.
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

/* ---- references ---------------------------------------------------------------------------- */

/* y[i] = sum_k h[k] x[i-k] in double, zero before the first sample. */
static double direct_convolution(const float *h, uint32_t length, const float *x, uint32_t i) {
  double sum = 0.0;
  for (uint32_t k = 0; k < length && k <= i; ++k) {
    sum += (double)h[k] * (double)x[i - k];
  }
  return sum;
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
  float history[1];
  float x[5] = {1.0f, -2.0f, 3.0f, 0.5f, 0.25f};
  vn_fir_f32_t fir;
  vn_fir_f32_init(&fir, NULL, 0u, history);
  vn_fir_f32_process(&fir, x, x, 5);
  for (int i = 0; i < 5; ++i) {
    assert_true(x[i] == 0.0f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(f32_matches_direct_convolution),
      cmocka_unit_test(f32_impulse_response_is_the_taps),
      cmocka_unit_test(f32_block_size_invariant),
      cmocka_unit_test(f32_in_place_equals_out_of_place),
      cmocka_unit_test(f32_reset_clears_state),
      cmocka_unit_test(zero_length_outputs_silence),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
