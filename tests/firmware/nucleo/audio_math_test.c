/*
 * Host tests of firmware/boards/nucleo_f767zi/audio_math.h: the codec clock settings against
 * RM0410's ranges and an exhaustive search written independently here, the rates and timing
 * board_audio_start() reports, TIM6's period for every block size, and the SAI sample format.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "firmware/boards/nucleo_f767zi/audio_math.h"

#define CORE_HZ 216000000u
#define TIMER_HZ 108000000u /* APB1 timers at 216 MHz: 2 x (216 / 4) */
#define HSI_HZ 16000000u

static const uint32_t rates[] = {44100u, 48000u};

static double rate_hz(audio_rate_t rate) { return (double)rate.num / (double)rate.den; }

/* ---- Codec clocks ---------------------------------------------------------------------------- */

static void codec_clocks_are_within_rm0410_ranges(void **state) {
  (void)state;
  for (size_t i = 0; i < 2; ++i) {
    const audio_codec_clock_t *clock = audio_codec_clock(rates[i]);
    assert_non_null(clock);
    const uint64_t vco_hz = (uint64_t)AUDIO_PLL_INPUT_HZ * clock->plln;
    assert_in_range(clock->plln, 50, 432);
    assert_in_range(vco_hz, 100000000u, 432000000u);
    assert_in_range(clock->pllq, 2, 15);
    assert_in_range(clock->divq, 1, 32);
    assert_in_range(clock->mckdiv, 0, 15);
  }
  assert_null(audio_codec_clock(32000u));
  assert_null(audio_codec_clock(96000u));
}

static double best_rate_error(uint32_t target) {
  double best = 1e9;
  for (uint32_t n = 50; n <= 432; ++n) {
    const double vco = (double)AUDIO_PLL_INPUT_HZ * n;
    if (vco < 100e6 || vco > 432e6) {
      continue;
    }
    for (uint32_t q = 2; q <= 15; ++q) {
      for (uint32_t d = 1; d <= 32; ++d) {
        for (uint32_t m = 0; m <= 15; ++m) {
          const double fs = vco / q / d / (m == 0 ? 1.0 : 2.0 * m) / 256.0;
          best = fmin(best, fabs(fs - target));
        }
      }
    }
  }
  return best;
}

static void codec_clocks_are_the_closest_settings(void **state) {
  (void)state;
  for (size_t i = 0; i < 2; ++i) {
    const double error = fabs(rate_hz(audio_codec_rate(audio_codec_clock(rates[i]))) - rates[i]);
    assert_true(error <= best_rate_error(rates[i]) + 1e-6);
  }
}

static void codec_rates_are_exact_fractions(void **state) {
  (void)state;
  const audio_rate_t r48 = audio_codec_rate(audio_codec_clock(48000u));
  assert_int_equal(r48.num, 48000u * r48.den); /* 12.288 MHz / 256, exactly */
  const audio_rate_t r44 = audio_codec_rate(audio_codec_clock(44100u));
  assert_int_equal(r44.num * 9u, 396875u * r44.den); /* 44097.222... Hz = 396875 / 9 */
}

/* ---- Reported timing ------------------------------------------------------------------------- */

static void codec_timing(void **state) {
  (void)state;
  board_audio_timing_t t = audio_timing(audio_codec_rate(audio_codec_clock(48000u)), 128u,
                                        CORE_HZ, true);
  assert_int_equal(t.rate_millihz, 48000000u);
  assert_int_equal(t.period_counts, 576000u); /* 216e6 * 128 / 48000 */

  t = audio_timing(audio_codec_rate(audio_codec_clock(44100u)), 64u, CORE_HZ, true);
  assert_int_equal(t.rate_millihz, 44097222u);
  /* 216e6 * 64 / (396875 / 9) = 313490.3... */
  assert_int_equal(t.period_counts, (uint32_t)llround(216e6 * 64.0 * 9.0 / 396875.0));
}

static void no_cycle_counter_means_zero_counts(void **state) {
  (void)state;
  const board_audio_timing_t t = audio_timing(audio_codec_rate(audio_codec_clock(48000u)), 32u,
                                              CORE_HZ, false);
  assert_int_equal(t.rate_millihz, 48000000u);
  assert_int_equal(t.period_counts, 0u);
}

/* ---- TIM6 period ----------------------------------------------------------------------------- */

static void check_timer(uint32_t timer_hz, uint32_t rate, double max_ppm) {
  for (uint32_t block = BOARD_AUDIO_MIN_BLOCK; block <= BOARD_AUDIO_MAX_BLOCK; ++block) {
    const audio_timer_period_t p = audio_timer_period(timer_hz, rate, block);
    assert_in_range(p.prescaler, 1, 65536);
    assert_in_range(p.reload, 2, 65536);
    const double ideal = (double)timer_hz * block / rate;
    const double ticks = (double)p.prescaler * p.reload;
    assert_true(fabs(ticks - ideal) / ideal * 1e6 <= max_ppm);
  }
}

static void timer_period_is_exact_at_48k(void **state) {
  (void)state;
  for (uint32_t block = BOARD_AUDIO_MIN_BLOCK; block <= BOARD_AUDIO_MAX_BLOCK; ++block) {
    const audio_timer_period_t p = audio_timer_period(TIMER_HZ, 48000u, block);
    assert_int_equal((uint64_t)p.prescaler * p.reload * 48000u, (uint64_t)TIMER_HZ * block);
  }
}

static void timer_period_fits_and_is_close(void **state) {
  (void)state;
  check_timer(TIMER_HZ, 44100u, 8.4); /* 8.33 ppm at worst (one tick in 120000) */
  check_timer(TIMER_HZ, 48000u, 0.0);
  check_timer(HSI_HZ, 44100u, 62.0); /* the 16 MHz fallback: 1/3 tick in 5333 at block 16 */
  check_timer(HSI_HZ, 48000u, 63.0);
}

static void timer_timing_counts_core_cycles(void **state) {
  (void)state;
  const audio_timer_period_t p = audio_timer_period(TIMER_HZ, 44100u, 128u);
  assert_int_equal((uint64_t)p.prescaler * p.reload, 313469u); /* round(108e6 * 128 / 44100) */
  const board_audio_timing_t t =
      audio_timing(audio_timer_rate(TIMER_HZ, 128u, p), 128u, CORE_HZ, true);
  assert_int_equal(t.period_counts, 2u * 313469u); /* the core runs at twice the timer clock */
  assert_int_equal(t.rate_millihz, (uint32_t)llround(108e9 * 128.0 / 313469.0));
}

/* ---- Sample format --------------------------------------------------------------------------- */

static void float_to_word_saturates_and_rounds(void **state) {
  (void)state;
  assert_int_equal(audio_float_to_word(0.0f), 0);
  assert_int_equal(audio_float_to_word(1.0f), 0x7FFFFF00);
  assert_int_equal(audio_float_to_word(-1.0f), INT32_MIN);
  assert_int_equal(audio_float_to_word(3.0f), 0x7FFFFF00);
  assert_int_equal(audio_float_to_word(-3.0f), INT32_MIN);
  assert_int_equal(audio_float_to_word(INFINITY), 0x7FFFFF00);
  assert_int_equal(audio_float_to_word(-INFINITY), INT32_MIN);
  assert_int_equal(audio_float_to_word(NAN), 0);
  const float lsb = 0x1p-23f;
  assert_int_equal(audio_float_to_word(0.5f * lsb), 256);   /* half away from zero */
  assert_int_equal(audio_float_to_word(-0.5f * lsb), -256);
  assert_int_equal(audio_float_to_word(0.49f * lsb), 0);
  assert_int_equal(audio_float_to_word(1.51f * lsb), 512);
  assert_int_equal(audio_float_to_word(-1.51f * lsb), -512);
}

static void word_to_float_uses_the_top_24_bits(void **state) {
  (void)state;
  assert_true(audio_word_to_float(INT32_MIN) == -1.0f);
  assert_true(audio_word_to_float(0x7FFFFFFF) == 1.0f - 0x1p-23f);
  assert_true(audio_word_to_float(0x000000FF) == 0.0f);
  assert_true(audio_word_to_float(-1) == -0x1p-23f); /* 0xFFFFFFFF: the low byte is dropped */
  assert_true(audio_word_to_float(0x00000100) == 0x1p-23f);
}

static void samples_round_trip(void **state) {
  (void)state;
  for (int32_t k = AUDIO_SAMPLE_MIN; k <= AUDIO_SAMPLE_MAX; k += 4099) {
    const float sample = (float)k * 0x1p-23f;
    assert_int_equal(audio_float_to_word(sample), k * 256);
    assert_true(audio_word_to_float(audio_float_to_word(sample)) == sample);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(codec_clocks_are_within_rm0410_ranges),
      cmocka_unit_test(codec_clocks_are_the_closest_settings),
      cmocka_unit_test(codec_rates_are_exact_fractions),
      cmocka_unit_test(codec_timing),
      cmocka_unit_test(no_cycle_counter_means_zero_counts),
      cmocka_unit_test(timer_period_is_exact_at_48k),
      cmocka_unit_test(timer_period_fits_and_is_close),
      cmocka_unit_test(timer_timing_counts_core_cycles),
      cmocka_unit_test(float_to_word_saturates_and_rounds),
      cmocka_unit_test(word_to_float_uses_the_top_24_bits),
      cmocka_unit_test(samples_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
