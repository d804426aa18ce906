/*
 * audio.c - board_audio_* on the NUCLEO-F767ZI (board.h, "Audio I/O"): checks a request,
 * starts one of two paths and relays their block events and errors.
 *
 *   BOARD_AUDIO_CODEC     SAI1 + DMA2 to an I2S ADC/DAC pair (codec.c, docs/pedal.md).
 *   BOARD_AUDIO_SOFTWARE  TIM6's update interrupt, once per block period, drives soft_audio
 *                         (firmware/boards/common); Renode runs this path.
 *
 * TIM6 (RM0410 "Basic timers (TIM6/TIM7)") counts the APB1 timer clock, 108 MHz, through a
 * 16-bit prescaler and a 16-bit auto-reload; a block (up to 128 frames at 44.1 kHz, 313470
 * ticks) needs both, and audio_timer_period() picks them (exact at 48 kHz, within 8.3 ppm at
 * 44.1 kHz). The interrupt runs at IRQ_LEVEL_AUDIO, above the console.
 */
#include <string.h>

#include "firmware/boards/board.h"
#include "firmware/boards/common/soft_audio.h"
#include "firmware/boards/nucleo_f767zi/audio_math.h"
#include "firmware/boards/nucleo_f767zi/board_internal.h"
#include "firmware/boards/nucleo_f767zi/stm32f767_regs.h"

#define AUDIO_NONE ((board_audio_source_t)0)

static board_audio_source_t running = AUDIO_NONE; /* the stream now running, if any */
static board_audio_source_t buffers = AUDIO_NONE; /* whose halves read/write use: the last
                                                     stream started, kept after it stops */
static board_audio_event_fn volatile event_fn;
static void *volatile event_context;
static volatile uint32_t error_count;
static soft_audio_t soft;

void audio_block_event(void) {
  const board_audio_event_fn fn = event_fn;
  if (fn != NULL) {
    fn(event_context);
  }
}

void audio_count_error(void) { error_count = error_count + 1u; }

/* ---- BOARD_AUDIO_SOFTWARE: TIM6 -------------------------------------------------------------- */

/* URS = 1 before UG: the update event that loads the (preloaded) prescaler and zeroes the
 * counter must not set UIF, so the first interrupt comes one full period after CEN. */
static void tim6_start(audio_timer_period_t period) {
  nucleo_clock_enable(&RCC_APB1ENR, RCC_APB1ENR_TIM6EN);
  TIM6_CR1 = TIM_CR1_URS;
  TIM6_PSC = period.prescaler - 1u;
  TIM6_ARR = period.reload - 1u;
  TIM6_EGR = TIM_EGR_UG;
  TIM6_SR = 0u;
  TIM6_DIER = TIM_DIER_UIE;
  nucleo_irq_enable(TIM6_DAC_IRQN, IRQ_LEVEL_AUDIO);
  TIM6_CR1 = TIM_CR1_URS | TIM_CR1_CEN;
}

static void tim6_stop(void) {
  TIM6_CR1 = 0u;
  TIM6_DIER = 0u;
  nucleo_irq_disable(TIM6_DAC_IRQN);
  TIM6_SR = 0u;
}

/* UIF is the only flag of TIM6_SR and is rc_w0, so writing 0 clears it and nothing else. It
 * is cleared first, well before the handler returns, so the write has reached the timer by
 * then and the interrupt does not fire twice. The shared DAC underrun source is never on. */
void TIM6_DAC_IRQHandler(void) {
  if (!(TIM6_SR & TIM_SR_UIF)) {
    return;
  }
  TIM6_SR = 0u;
  soft_audio_tick(&soft);
  audio_block_event();
}

static board_audio_status_t software_start(const board_audio_config_t *config,
                                           audio_rate_t *rate) {
  const uint32_t timer_hz = nucleo_timer_clock_hz();
  const audio_timer_period_t period =
      audio_timer_period(timer_hz, config->sample_rate, config->block);
  soft_audio_start(&soft, config);
  tim6_start(period);
  *rate = audio_timer_rate(timer_hz, config->block, period);
  return BOARD_AUDIO_OK;
}

/* ---- The board API --------------------------------------------------------------------------- */

board_audio_status_t board_audio_start(const board_audio_config_t *config,
                                       board_audio_event_fn event, void *context,
                                       board_audio_timing_t *timing) {
  board_audio_stop();
  if (config->source != BOARD_AUDIO_CODEC && config->source != BOARD_AUDIO_SOFTWARE) {
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  event_fn = event;
  event_context = context;
  error_count = 0u;

  audio_rate_t rate;
  const board_audio_status_t status =
      config->source == BOARD_AUDIO_CODEC ? codec_start(config, &rate) : software_start(config, &rate);
  if (status != BOARD_AUDIO_OK) {
    return status;
  }
  running = config->source;
  buffers = config->source;
  if (timing != NULL) {
    *timing = audio_timing(rate, config->block, board_core_clock_hz(),
                           board_counter_unit() == BOARD_COUNTER_CYCLES);
  }
  return BOARD_AUDIO_OK;
}

void board_audio_stop(void) {
  if (running == BOARD_AUDIO_CODEC) {
    codec_stop();
  } else if (running == BOARD_AUDIO_SOFTWARE) {
    tim6_stop();
  }
  running = AUDIO_NONE;
}

void board_audio_read(uint32_t half, float *in, uint32_t n) {
  if (buffers == BOARD_AUDIO_CODEC) {
    codec_read(half, in, n);
  } else if (buffers == BOARD_AUDIO_SOFTWARE) {
    soft_audio_read(&soft, half, in, n);
  } else {
    memset(in, 0, n * sizeof *in); /* nothing ever started: silence */
  }
}

void board_audio_write(uint32_t half, const float *out, uint32_t n) {
  if (buffers == BOARD_AUDIO_CODEC) {
    codec_write(half, out, n);
  } else if (buffers == BOARD_AUDIO_SOFTWARE) {
    soft_audio_write(&soft, half, out, n);
  }
}

uint32_t board_audio_sink_length(void) {
  return buffers == BOARD_AUDIO_SOFTWARE ? soft.sink_length : 0u;
}

uint32_t board_audio_errors(void) { return error_count; }
