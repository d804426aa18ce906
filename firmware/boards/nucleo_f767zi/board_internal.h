/*
 * board_internal.h - what the NUCLEO-F767ZI board's files share; not part of the board API.
 *
 *   board.c    clocks, caches, counter, watchdog, exit, NVIC helpers, vector table
 *   console.c  USART3, interrupt driven (board_uart_*)
 */
#ifndef VALVENET_NUCLEO_BOARD_INTERNAL_H
#define VALVENET_NUCLEO_BOARD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/boards/board.h"

/* ---- Polling hardware flags ---------------------------------------------------------------------
 * Bound on every poll of a hardware flag. An iteration is a peripheral read plus a compare and
 * branch, >= 4 core cycles, so this is >= 0.5 s at 16 MHz (HSE, PLL and over-drive settle in
 * well under 100 ms) and >= 37 ms at 216 MHz (a UART byte takes 11 us).
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

/* ---- Interrupts ---------------------------------------------------------------------------------
 * IRQ numbers (RM0410 "Interrupt and exception vectors") and priority levels (0 = most
 * urgent, 15 = least). The console's sits in the middle, leaving room above it for
 * interrupts that must never wait behind UART bytes. */
#define USART3_IRQN 39u

#define IRQ_LEVEL_CONSOLE 8u

/* Sets the IRQ's priority level, drops a stale pending request and enables it. */
void nucleo_irq_enable(uint32_t irq, uint32_t level);

/* Disables the IRQ; on return its handler no longer runs, and no request is pending. */
void nucleo_irq_disable(uint32_t irq);

void USART3_IRQHandler(void);

/* ---- console.c ------------------------------------------------------------------------------- */

/* USART3 at 921600 baud from a kernel clock of clock_hz, interrupts on. */
void console_init(uint32_t clock_hz);

/* Waits until every queued byte has left the wire (bounded: gives up on a dead console). */
void console_flush(void);

#endif /* VALVENET_NUCLEO_BOARD_INTERNAL_H */
