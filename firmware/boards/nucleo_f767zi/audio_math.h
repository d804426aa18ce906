/*
 * audio_math.h - the arithmetic of the NUCLEO-F767ZI audio path, kept free of registers so
 * the host tests check it (tests/firmware/nucleo): the codec clock settings, TIM6's block
 * period, the timing board_audio_start() reports, and the sample format of the SAI slots.
 */
#ifndef VALVENET_NUCLEO_AUDIO_MATH_H
#define VALVENET_NUCLEO_AUDIO_MATH_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/boards/board.h"

/* The VCO input every PLL of the STM32F7 shares (RM0410 "Clocks": one PLLM divides the PLL
 * source for the main PLL, PLLI2S and PLLSAI): HSE 8 MHz / PLLM 5. board.c asserts it. */
#define AUDIO_PLL_INPUT_HZ 1600000u

/* A frame rate as an exact fraction: num / den frames per second. num < 2^35, den < 2^24. */
typedef struct {
  uint64_t num;
  uint64_t den;
} audio_rate_t;

/* ---- BOARD_AUDIO_CODEC: PLLSAI and SAI dividers ---------------------------------------------- */

/* SAI_CK = AUDIO_PLL_INPUT_HZ * plln / pllq / divq; MCLK = SAI_CK / (mckdiv ? 2 * mckdiv : 1)
 * = 256 x fs (RM0410 "SAI clock generator", NODIV = 0). */
typedef struct {
  uint32_t sample_rate; /* the requested rate this entry serves */
  uint32_t plln;        /* RCC_PLLSAICFGR PLLSAIN, 50..432, VCO output 100..432 MHz */
  uint32_t pllq;        /* RCC_PLLSAICFGR PLLSAIQ, 2..15 */
  uint32_t divq;        /* RCC_DCKCFGR1 PLLSAIDIVQ divisor, 1..32 */
  uint32_t mckdiv;      /* SAI_xCR1 MCKDIV field, 0..15 */
} audio_codec_clock_t;

/* The settings for sample_rate (44100 or 48000); NULL for any other rate. */
const audio_codec_clock_t *audio_codec_clock(uint32_t sample_rate);

/* The frame rate those settings really give: SAI_CK / MCKDIV / 256. */
audio_rate_t audio_codec_rate(const audio_codec_clock_t *clock);

/* ---- BOARD_AUDIO_SOFTWARE: TIM6's period ----------------------------------------------------- */

/* One block period of TIM6: prescaler x reload timer-clock ticks (TIMx_PSC = prescaler - 1,
 * TIMx_ARR = reload - 1; both registers are 16 bits wide). */
typedef struct {
  uint32_t prescaler;
  uint32_t reload;
} audio_timer_period_t;

/* The period closest to block / sample_rate seconds among the 16 smallest prescalers whose
 * reload fits 16 bits: exact whenever the timer clock allows it (108 MHz: always at 48 kHz). */
audio_timer_period_t audio_timer_period(uint32_t timer_hz, uint32_t sample_rate, uint32_t block);

/* The frame rate that period gives: timer_hz * block / (prescaler * reload). */
audio_rate_t audio_timer_rate(uint32_t timer_hz, uint32_t block, audio_timer_period_t period);

/* ---- What board_audio_start() reports -------------------------------------------------------- */

/* rate_millihz = rate in mHz, rounded; period_counts = core clock cycles per block, rounded,
 * when the work counter counts cycles, else 0 (board.h). */
board_audio_timing_t audio_timing(audio_rate_t rate, uint32_t block, uint32_t core_hz,
                                  bool counter_counts_cycles);

/* ---- Sample format ------------------------------------------------------------------------------
 * A SAI slot is a 32-bit word (SAI_xCR1 DS = 32) holding a 24-bit sample left-aligned: bits
 * 31..8, two's complement, low byte 0 on output and ignored on input. As a fraction of full
 * scale that is word / 2^31. */

#define AUDIO_WORD_LSB 256           /* one 24-bit step in word units */
#define AUDIO_SAMPLE_MAX 8388607     /* 2^23 - 1 */
#define AUDIO_SAMPLE_MIN (-8388608)  /* -2^23 */

/* A received word as a float in [-1, 1 - 2^-23]; exact (24 significant bits). */
static inline float audio_word_to_float(int32_t word) {
  return (float)(word & -AUDIO_WORD_LSB) * 0x1p-31f;
}

/* A float as a word to transmit: scaled by 2^23, rounded half away from zero, saturated to
 * 24 bits; NaN becomes 0 (silence rather than a full-scale click). */
static inline int32_t audio_float_to_word(float sample) {
  const float scaled = sample * 8388608.0f;
  int32_t value;
  if (scaled >= (float)AUDIO_SAMPLE_MAX) {
    value = AUDIO_SAMPLE_MAX;
  } else if (scaled <= (float)AUDIO_SAMPLE_MIN) {
    value = AUDIO_SAMPLE_MIN;
  } else if (scaled == scaled) {
    value = (int32_t)(scaled >= 0.0f ? scaled + 0.5f : scaled - 0.5f);
  } else {
    value = 0;
  }
  return value * AUDIO_WORD_LSB;
}

#endif /* VALVENET_NUCLEO_AUDIO_MATH_H */
