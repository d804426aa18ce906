/*
 * soft_audio.h - BOARD_AUDIO_SOFTWARE for every board: a timer-paced source and sink in
 * memory that behaves like a circular DMA over two halves (board.h, "Audio I/O").
 *
 * The board owns one soft_audio_t and a timer whose interrupt calls soft_audio_tick() once per
 * block period, then the application's event callback. A tick is the instant a DMA would
 * finish one half: the input half is filled with the next block of the source, and the output
 * half the transmitter now starts playing (the other one) is appended to the sink as it stands.
 * So a block the application finishes after the next tick is heard late or partly, exactly as
 * with a real DMA, and shows in the sink.
 */
#ifndef VALVENET_SOFT_AUDIO_H
#define VALVENET_SOFT_AUDIO_H

#include <stdint.h>

#include "firmware/boards/board.h"

typedef struct {
  float rx[2][BOARD_AUDIO_MAX_BLOCK];
  float tx[2][BOARD_AUDIO_MAX_BLOCK];
  const float *source;
  uint32_t source_length;
  uint32_t source_position;
  float *sink;
  uint32_t sink_capacity;
  volatile uint32_t sink_length;
  uint32_t block;
  uint32_t ticks;
} soft_audio_t;

/* Clears both halves and points the stream at the config's source and sink. */
void soft_audio_start(soft_audio_t *audio, const board_audio_config_t *config);

/* One block period has passed (call from the timer interrupt, before the event callback). */
void soft_audio_tick(soft_audio_t *audio);

void soft_audio_read(const soft_audio_t *audio, uint32_t half, float *in, uint32_t n);
void soft_audio_write(soft_audio_t *audio, uint32_t half, const float *out, uint32_t n);

#endif /* VALVENET_SOFT_AUDIO_H */
