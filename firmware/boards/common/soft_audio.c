#include "firmware/boards/common/soft_audio.h"

#include <string.h>

void soft_audio_start(soft_audio_t *audio, const board_audio_config_t *config) {
  memset(audio->rx, 0, sizeof audio->rx);
  memset(audio->tx, 0, sizeof audio->tx);
  audio->source = config->soft_source;
  audio->source_length = config->soft_source != NULL ? config->soft_source_length : 0u;
  audio->source_position = 0u;
  audio->sink = config->soft_sink;
  audio->sink_capacity = config->soft_sink != NULL ? config->soft_sink_capacity : 0u;
  audio->sink_length = 0u;
  audio->block = config->block;
  audio->ticks = 0u;
}

/* Tick n: input half (n & 1) receives source block n; the transmitter moves on to output half
 * ((n + 1) & 1), whose samples go to the sink now. */
void soft_audio_tick(soft_audio_t *audio) {
  const uint32_t half = audio->ticks & 1u;
  const uint32_t block = audio->block;
  float *rx = audio->rx[half];
  for (uint32_t i = 0; i < block; ++i) {
    const uint32_t position = audio->source_position + i;
    rx[i] = position < audio->source_length ? audio->source[position] : 0.0f;
  }
  audio->source_position += block;

  const uint32_t length = audio->sink_length;
  if (length + block <= audio->sink_capacity) {
    memcpy(audio->sink + length, audio->tx[half ^ 1u], block * sizeof(float));
    audio->sink_length = length + block;
  }
  audio->ticks++;
}

void soft_audio_read(const soft_audio_t *audio, uint32_t half, float *in, uint32_t n) {
  memcpy(in, audio->rx[half & 1u], (n <= audio->block ? n : audio->block) * sizeof(float));
}

void soft_audio_write(soft_audio_t *audio, uint32_t half, const float *out, uint32_t n) {
  float *tx = audio->tx[half & 1u];
  const uint32_t count = n <= audio->block ? n : audio->block;
  for (uint32_t i = 0; i < count; ++i) {
    const float v = out[i];
    tx[i] = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v); /* the converter's range; NaN stays NaN */
  }
}
