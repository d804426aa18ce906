/*
 * board.h - the one interface between the ValveNet application and a board.
 *
 * The application and the inference engine never touch registers: everything that
 * differs between the NUCLEO-F767ZI and the QEMU mps2-an500 machine sits behind
 * these functions, so the same application binary logic runs on both.
 */
#ifndef VALVENET_BOARD_H
#define VALVENET_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What board_counter_read() counts. */
typedef enum {
  BOARD_COUNTER_NONE = 0,         /* no counter (e.g. Renode's DWT stub reads 0) */
  BOARD_COUNTER_CYCLES = 1,       /* core clock cycles (DWT CYCCNT on a real board) */
  BOARD_COUNTER_INSTRUCTIONS = 2  /* executed instructions (QEMU -icount shift=0) */
} board_counter_unit_t;

/* Brings up clocks, caches, the console UART and the work counter. The reset
 * handler has already enabled the FPU and initialised .data/.bss/TCM sections. */
void board_init(void);

/* Short board identifier, e.g. "nucleo_f767zi". */
const char *board_name(void);

/* Core clock in Hz as configured by board_init(). */
uint32_t board_core_clock_hz(void);

/* Blocking write of len bytes to the console UART. */
void board_uart_write(const uint8_t *data, size_t len);

/* Non-blocking poll: stores one received byte and returns true, or returns false. */
bool board_uart_read_byte(uint8_t *byte);

/* Bytes the console UART's receiver lost (overrun: a byte arrived before the last was
 * read) since boot; 0 where the UART cannot tell. */
uint32_t board_uart_overruns(void);

/* Restarts the watchdog's countdown. The NUCLEO's independent watchdog (started by
 * board_init, about 2 s) resets the board when the main loop stops calling this; the
 * emulator and host boards have none. */
void board_watchdog_kick(void);

/* Unit of board_counter_read(); BOARD_COUNTER_NONE when the counter does not run. */
board_counter_unit_t board_counter_unit(void);

/* Free-running work counter modulo 2^32: the difference of two reads (unsigned
 * subtraction) is the work done between them, valid up to 2^32 units. */
uint32_t board_counter_read(void);

/* Ends the run: semihosting exit code under QEMU, a system reset on hardware. */
void board_exit(int code) __attribute__((noreturn));

#endif /* VALVENET_BOARD_H */
