/*
 * board_internal.h - what the NUCLEO-F767ZI board's files share; not part of the board API.
 *
 *   board.c    clocks, caches, counter, watchdog, exit, NVIC helpers, vector table
 *   console.c  USART3, interrupt driven (board_uart_*)
 *   audio.c    board_audio_*: request checks, events, errors, the TIM6 software path
 *   codec.c    the SAI1 + DMA2 path behind BOARD_AUDIO_CODEC
 */
#ifndef VALVENET_NUCLEO_BOARD_INTERNAL_H
#define VALVENET_NUCLEO_BOARD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/boards/board.h"
#include "firmware/boards/nucleo_f767zi/audio_math.h"

/* ---- Polling hardware flags ---------------------------------------------------------------------
 * Bound on every poll of a hardware flag. An iteration is a peripheral read plus a compare and
 * branch, >= 4 core cycles, so this is >= 0.5 s at 16 MHz (HSE, PLL and over-drive settle in
 * well under 100 ms) and >= 37 ms at 216 MHz (a UART byte takes 11 us, a SAI frame 23 us).
 * Reaching it means broken hardware or clocks, never a slow one. */
#define POLL_LIMIT 2000000u

/* Polls until (reg & mask) == want, at most `limit` times; false if that never happens. */
static inline bool poll_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want,
                             uint32_t limit) {
  for (uint32_t i = 0; i < limit; ++i) {
    if ((*reg & mask) == want) {
      return true;
    }
  }
  return false;
}

static inline bool wait_set(volatile uint32_t *reg, uint32_t mask) {
  return poll_bits(reg, mask, mask, POLL_LIMIT);
}

static inline bool wait_clear(volatile uint32_t *reg, uint32_t mask) {
  return poll_bits(reg, mask, 0u, POLL_LIMIT);
}

static inline void dsb(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void isb(void) { __asm volatile("isb 0xF" ::: "memory"); }

/* Enables a peripheral clock (RCC_xxxENR bit), with the delay ST asks for before the
 * peripheral's registers are accessed. */
void nucleo_clock_enable(volatile uint32_t *enr, uint32_t bit);

/* ---- Clocks as board_init() left them -------------------------------------------------------- */

/* True when SYSCLK runs from the PLL on HSE (AUDIO_PLL_INPUT_HZ at the PLLs' input); false in
 * the 16 MHz HSI fallback, where PLLSAI has no usable input. */
bool nucleo_pll_running(void);

/* The APB1 timer kernel clock (TIM6): 108 MHz (twice PCLK1, RM0410 "Clocks": APB1 prescaler
 * /4 and TIMPRE = 0), 16 MHz in the HSI fallback. */
uint32_t nucleo_timer_clock_hz(void);

/* ---- Interrupts ---------------------------------------------------------------------------------
 * IRQ numbers (RM0410 "Interrupt and exception vectors") and priority levels (0 = most
 * urgent, 15 = least). The audio interrupts preempt the console's: a block event must never
 * wait behind UART bytes, while the UART's rings absorb a delay of a block period easily. */
#define USART3_IRQN 39u
#define TIM6_DAC_IRQN 54u
#define DMA2_STREAM1_IRQN 57u
#define DMA2_STREAM5_IRQN 68u

#define IRQ_LEVEL_AUDIO 4u
#define IRQ_LEVEL_CONSOLE 8u

/* Sets the IRQ's priority level, drops a stale pending request and enables it. */
void nucleo_irq_enable(uint32_t irq, uint32_t level);

/* Disables the IRQ; on return its handler no longer runs, and no request is pending. */
void nucleo_irq_disable(uint32_t irq);

void USART3_IRQHandler(void);
void TIM6_DAC_IRQHandler(void);
void DMA2_Stream1_IRQHandler(void);
void DMA2_Stream5_IRQHandler(void);

/* ---- console.c ------------------------------------------------------------------------------- */

/* USART3 at 921600 baud from a kernel clock of clock_hz, interrupts on. */
void console_init(uint32_t clock_hz);

/* Waits until every queued byte has left the wire (bounded: gives up on a dead console). */
void console_flush(void);

/* ---- audio.c, for codec.c -------------------------------------------------------------------- */

/* One block period has passed: calls the application's event callback. */
void audio_block_event(void);

/* Counts one converter error (board_audio_errors()). */
void audio_count_error(void);

/* ---- codec.c --------------------------------------------------------------------------------- */

/* Starts SAI1 and its DMA for a checked config (rate 44100/48000, block in range); *rate gets
 * the frame rate the clocks give. BOARD_AUDIO_UNSUPPORTED_SOURCE when the audio clock or the
 * SAI does not come up (HSI fallback, or a platform without a SAI such as Renode). */
board_audio_status_t codec_start(const board_audio_config_t *config, audio_rate_t *rate);

/* Stops SAI1, its DMA streams and PLLSAI; no event follows. */
void codec_stop(void);

void codec_read(uint32_t half, float *in, uint32_t n);
void codec_write(uint32_t half, const float *out, uint32_t n);

#endif /* VALVENET_NUCLEO_BOARD_INTERNAL_H */
