/*
 * board.c - the host (Linux) "board": the same application and engine code built for the
 * development machine, for host tests and desktop tools. Console on stdin/stdout; no work
 * counter (host timing is not what ValveNet measures).
 */
#define _POSIX_C_SOURCE 200809L

#include "firmware/boards/board.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void board_init(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

const char *board_name(void) { return "host"; }

uint32_t board_core_clock_hz(void) { return 0u; }

void board_uart_write(const uint8_t *data, size_t len) {
  fwrite(data, 1u, len, stdout);
  fflush(stdout);
}

bool board_uart_read_byte(uint8_t *byte) {
  int c = getchar();
  if (c == EOF) {
    exit(0); /* end of input ends the host console, like a closed UART */
  }
  *byte = (uint8_t)c;
  return true;
}

uint32_t board_uart_overruns(void) { return 0u; }

void board_watchdog_kick(void) {}

board_counter_unit_t board_counter_unit(void) { return BOARD_COUNTER_NONE; }

uint32_t board_counter_read(void) { return 0u; }

bool board_pot_read(uint32_t index, float *position) {
  (void)index;
  (void)position;
  return false;
}

uint32_t board_millis(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint32_t)((uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u);
}

void board_exit(int code) { exit(code); }

/* No audio interface and no timer to pace a software one: every start is refused. */
board_audio_status_t board_audio_start(const board_audio_config_t *config, board_audio_event_fn event,
                                       void *context, board_audio_timing_t *timing) {
  (void)config;
  (void)event;
  (void)context;
  timing->rate_millihz = 0u;
  timing->period_counts = 0u;
  return BOARD_AUDIO_UNSUPPORTED_SOURCE;
}

void board_audio_stop(void) {}

void board_audio_read(uint32_t half, float *in, uint32_t n) {
  (void)half;
  for (uint32_t i = 0; i < n; ++i) {
    in[i] = 0.0f;
  }
}

void board_audio_write(uint32_t half, const float *out, uint32_t n) {
  (void)half;
  (void)out;
  (void)n;
}

uint32_t board_audio_sink_length(void) { return 0u; }

/* No converters on the host. */
uint32_t board_audio_errors(void) { return 0u; }
