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

/* Writes len bytes to the console UART: on the NUCLEO they are queued for the transmit
 * interrupt and the call returns at once unless the queue is full (then it waits for room);
 * elsewhere it waits until the UART has taken them. */
void board_uart_write(const uint8_t *data, size_t len);

/* Non-blocking poll: stores one received byte and returns true, or returns false. */
bool board_uart_read_byte(uint8_t *byte);

/* Bytes the console UART's receiver lost since boot: overruns (a byte arrived before the
 * last was read) and, on the NUCLEO, bytes dropped because its receive queue was full; 0 where
 * the UART cannot tell. */
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

/* Milliseconds since board_init(), modulo 2^32, from a clock that counts time, not work:
 * for timeouts (the protocol's truncated frame). Target time: in QEMU and Renode the
 * emulated clock, which runs as the emulated core does. */
uint32_t board_millis(void);

/* A potentiometer's position, 0..1 (a pedal knob: pedal_boot.h's pot_knob says which model knob
 * it turns). Non-blocking: returns the last finished conversion and starts the next. False where
 * the board has no such input (index 0 on the NUCLEO: PA3, the Arduino header's A0, ADC1 IN3). */
bool board_pot_read(uint32_t index, float *position);

/* ---- Audio I/O: double-buffered blocks, one interrupt per block period ----------------------
 *
 * The board moves audio between its converters and two halves of a ring (circular DMA on the
 * NUCLEO: SAI1 with half- and full-transfer interrupts). Every block period it calls `event`
 * from the interrupt: input half (n & 1) of event n has just been filled with `block` new
 * frames, and output half (n & 1) is free to be written; the transmitter plays it starting at
 * event n + 1, so event n + 1 is the deadline for the block of event n. Halves alternate
 * starting with half 0.
 *
 * BOARD_AUDIO_SOFTWARE is the same path without converters: a timer interrupt with the same
 * period copies the next block of `soft_source` into the input half (zeros after its end) and
 * appends the output half the "DAC" starts playing to `soft_sink` (until it is full). The
 * emulators run it (QEMU's timer, Renode's), and so can a board with no codec wired. */

/* The block sizes every board runs (its buffers hold BOARD_AUDIO_MAX_BLOCK frames). The
 * caller checks a stream's rate and block (pedal_start(), firmware/app/pedal.h): a board only
 * refuses what it cannot do (a source it lacks, a rate its codec's clocks cannot make). */
#define BOARD_AUDIO_MIN_BLOCK 16u
#define BOARD_AUDIO_MAX_BLOCK 128u

typedef enum {
  BOARD_AUDIO_CODEC = 1,   /* the board's audio interface (SAI + DMA on the NUCLEO) */
  BOARD_AUDIO_SOFTWARE = 2 /* timer-paced source and sink in memory */
} board_audio_source_t;

typedef struct {
  board_audio_source_t source;
  uint32_t sample_rate;      /* requested frame rate: 44100 or 48000 */
  uint32_t block;            /* frames per half, BOARD_AUDIO_MIN_BLOCK..BOARD_AUDIO_MAX_BLOCK */
  const float *soft_source;  /* BOARD_AUDIO_SOFTWARE: input samples in [-1, 1] */
  uint32_t soft_source_length;
  float *soft_sink;          /* BOARD_AUDIO_SOFTWARE: where the played output goes */
  uint32_t soft_sink_capacity;
} board_audio_config_t;

typedef struct {
  uint32_t rate_millihz;  /* the frame rate the clocks really give, in mHz */
  uint32_t period_counts; /* one block period in board_counter_read() units; 0 without a counter */
} board_audio_timing_t;

/* Called from the audio interrupt once per block period (see above). */
typedef void (*board_audio_event_fn)(void *context);

typedef enum {
  BOARD_AUDIO_OK = 0,
  BOARD_AUDIO_UNSUPPORTED_SOURCE = -1, /* e.g. no codec on this board */
  BOARD_AUDIO_UNSUPPORTED_RATE = -2
} board_audio_status_t;

/* Stops any running stream, then starts this one: both halves of the output start silent. */
board_audio_status_t board_audio_start(const board_audio_config_t *config, board_audio_event_fn event,
                                       void *context, board_audio_timing_t *timing);

/* Stops the stream (no more events); safe to call when none runs. */
void board_audio_stop(void);

/* The n frames of input half `half`, as mono samples in [-1, 1). */
void board_audio_read(uint32_t half, float *in, uint32_t n);

/* Writes n mono samples to output half `half`, saturated to the converter's range. */
void board_audio_write(uint32_t half, const float *out, uint32_t n);

/* Samples BOARD_AUDIO_SOFTWARE has appended to soft_sink since it started. */
uint32_t board_audio_sink_length(void);

/* Stream faults (FIFO over/underrun, DMA error, late block) since it started; 0 without a codec. */
uint32_t board_audio_errors(void);

/* Ends the run: semihosting exit code under QEMU, a system reset on hardware. */
void board_exit(int code) __attribute__((noreturn));

#endif /* VALVENET_BOARD_H */
