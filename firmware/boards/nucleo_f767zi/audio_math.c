#include "firmware/boards/nucleo_f767zi/audio_math.h"

#include <stddef.h>

#define MCLK_PER_FRAME 256u     /* MCLK = 256 x fs whenever the SAI generates MCLK (NODIV = 0) */
#define TIMER_MAX_COUNT 65536u  /* TIM6 PSC and ARR are 16 bits: divisors 1..65536 */
#define PRESCALER_CANDIDATES 16u

/* The codec clocks. PLLSAI's input is fixed at 1.6 MHz by the main PLL (AUDIO_PLL_INPUT_HZ),
 * so the settings come from an exhaustive search over RM0410's ranges: PLLSAIN 63..270 (VCO
 * output 100..432 MHz), PLLSAIQ 2..15, PLLSAIDIVQ 1..32, MCKDIV 0..15, for the rate closest
 * to the target; among equals, MCKDIV = 0 (the lowest SAI kernel clock) and the higher VCO
 * (254 over 127). Pairs of PLLSAIQ x PLLSAIDIVQ with the same product are equivalent.
 *   48 kHz:   1.6 MHz x 192 = 307.2 MHz, / 5 / 5 = 12.288 MHz = 256 x 48000 Hz, exact.
 *   44.1 kHz: 1.6 MHz x 254 = 406.4 MHz, / 9 / 4 = 11.288889 MHz = 256 x 44097.222 Hz,
 *             -63.0 ppm, the closest any setting gets from 1.6 MHz (the 8 MHz clock from the
 *             ST-LINK's crystal is itself only good to some tens of ppm). */
static const audio_codec_clock_t codec_clocks[] = {
    {44100u, 254u, 9u, 4u, 0u},
    {48000u, 192u, 5u, 5u, 0u},
};

const audio_codec_clock_t *audio_codec_clock(uint32_t sample_rate) {
  for (size_t i = 0; i < sizeof codec_clocks / sizeof codec_clocks[0]; ++i) {
    if (codec_clocks[i].sample_rate == sample_rate) {
      return &codec_clocks[i];
    }
  }
  return NULL;
}

/* RM0410 SAI_xCR1 MCKDIV: 0 divides by 1, any other value d by 2d. */
static uint32_t mckdiv_divisor(uint32_t mckdiv) { return mckdiv == 0u ? 1u : 2u * mckdiv; }

audio_rate_t audio_codec_rate(const audio_codec_clock_t *clock) {
  const audio_rate_t rate = {
      (uint64_t)AUDIO_PLL_INPUT_HZ * clock->plln,
      (uint64_t)clock->pllq * clock->divq * mckdiv_divisor(clock->mckdiv) * MCLK_PER_FRAME,
  };
  return rate;
}

static uint64_t difference(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* Errors compare in units of 1 / (timer_hz * sample_rate) s: |prescaler * reload * rate -
 * timer_hz * block|. The first candidate is the smallest prescaler whose reload fits. */
audio_timer_period_t audio_timer_period(uint32_t timer_hz, uint32_t sample_rate, uint32_t block) {
  const uint64_t ideal = (uint64_t)timer_hz * block; /* ideal period x sample_rate, in ticks */
  const uint64_t widest = (uint64_t)sample_rate * TIMER_MAX_COUNT;
  uint32_t first = (uint32_t)((ideal + widest - 1u) / widest);
  first = first > 0u ? first : 1u;

  audio_timer_period_t best = {first, TIMER_MAX_COUNT};
  uint64_t best_error = UINT64_MAX;
  for (uint32_t prescaler = first; prescaler < first + PRESCALER_CANDIDATES; ++prescaler) {
    const uint64_t step = (uint64_t)prescaler * sample_rate;
    const uint64_t reload = (ideal + step / 2u) / step;
    const uint64_t error = difference(reload * step, ideal);
    if (reload >= 2u && error < best_error) { /* ARR = 0 would stop the counter */
      best.prescaler = prescaler;
      best.reload = (uint32_t)reload;
      best_error = error;
    }
  }
  return best;
}

audio_rate_t audio_timer_rate(uint32_t timer_hz, uint32_t block, audio_timer_period_t period) {
  const audio_rate_t rate = {
      (uint64_t)timer_hz * block,
      (uint64_t)period.prescaler * period.reload,
  };
  return rate;
}

static uint64_t divide_rounded(uint64_t num, uint64_t den) { return (num + den / 2u) / den; }

board_audio_timing_t audio_timing(audio_rate_t rate, uint32_t block, uint32_t core_hz,
                                  bool counter_counts_cycles) {
  board_audio_timing_t timing;
  timing.rate_millihz = (uint32_t)divide_rounded(rate.num * 1000u, rate.den);
  /* cycles per block = core_hz * block / (num / den) */
  const uint64_t cycles = divide_rounded((uint64_t)core_hz * block * rate.den, rate.num);
  timing.period_counts = counter_counts_cycles ? (uint32_t)cycles : 0u;
  return timing;
}
