#include "firmware/app/bench.h"

#include <math.h>
#include <stddef.h>

#include "firmware/app/bench_input.h"
#include "firmware/boards/board.h"

/* The stand-in for images that link no bench_input() clip. */
__attribute__((weak)) const bench_input_t bench_input = {0u, NULL};

/* The bench signal from sample `start` on: the image's guitar clip in a loop, or (without
 * one) an A2 string (110 Hz) plucked every 0.25 s at 48 kHz, with harmonics and an
 * exponential decay: the level range a model sees from a guitar. */
static void test_signal(float *out, uint32_t start, uint32_t n) {
  if (bench_input.samples > 0u) {
    for (uint32_t i = 0; i < n; ++i) {
      out[i] = (float)bench_input.audio[(start + i) % bench_input.samples] * (1.0f / 32768.0f);
    }
    return;
  }
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t t = start + i;
    const float since_pluck = (float)(t % 12000u) / 48000.0f;
    const float phase = 6.2831853f * 110.0f * (float)t / 48000.0f;
    const float tone = sinf(phase) + 0.5f * sinf(2.0f * phase) + 0.25f * sinf(3.0f * phase);
    out[i] = 0.4f * expf(-6.0f * since_pluck) * tone;
  }
}

static uint32_t median_of(uint32_t *values, uint32_t n) {
  for (uint32_t i = 1; i < n; ++i) { /* insertion sort: n <= BENCH_MAX_BLOCKS */
    const uint32_t v = values[i];
    uint32_t j = i;
    while (j > 0u && values[j - 1u] > v) {
      values[j] = values[j - 1u];
      --j;
    }
    values[j] = v;
  }
  return values[n / 2u];
}

/* The harness's own cost: the measured loop around a process function that does nothing. */
static void empty_process(void *state, const float *in, float *out, uint32_t n) {
  (void)state;
  (void)in;
  (void)out;
  (void)n;
}

static uint32_t harness_overhead(void *state, float *input, float *output, uint32_t block_size, uint32_t blocks) {
  uint32_t counts[BENCH_MAX_BLOCKS];
  /* volatile: called through a pointer the compiler cannot see through, like model->process */
  void (*volatile process)(void *, const float *, float *, uint32_t) = empty_process;
  for (uint32_t b = 0; b < blocks; ++b) {
    const uint32_t start = board_counter_read();
    process(state, input, output, block_size);
    counts[b] = board_counter_read() - start;
  }
  return median_of(counts, blocks);
}

int32_t bench_run(const vn_model_t *model, void *state, uint32_t block_size, uint32_t blocks, bench_result_t *result) {
  static float input[BENCH_MAX_BLOCK];
  static float output[BENCH_MAX_BLOCK];
  uint32_t counts[BENCH_MAX_BLOCKS];
  if (block_size == 0u || block_size > BENCH_MAX_BLOCK || blocks == 0u || blocks > BENCH_MAX_BLOCKS) {
    return -1;
  }
  model->reset(state);
  uint32_t worst = 0u;
  float knobs[BENCH_MAX_KNOBS];
  const uint32_t knob_count = model->set_knobs != NULL && model->info.knob_count <= BENCH_MAX_KNOBS ? model->info.knob_count : 0u;
  for (uint32_t b = 0; b < blocks; ++b) {
    test_signal(input, b * block_size, block_size);
    /* a conditioned model is measured with every knob turning: set_knobs each block (the
     * most the pedal calls it), each knob a different sweep of 0..1 */
    for (uint32_t i = 0; i < knob_count; ++i) {
      knobs[i] = (float)((b * (i + 1u)) % blocks) / (float)blocks;
    }
    const uint32_t start = board_counter_read();
    if (knob_count != 0u) {
      model->set_knobs(state, knobs);
    }
    model->process(state, input, output, block_size);
    counts[b] = board_counter_read() - start;
    board_watchdog_kick();
    worst = counts[b] > worst ? counts[b] : worst;
  }
  result->median_per_sample_x10 = (uint32_t)((10ull * median_of(counts, blocks) + block_size / 2u) / block_size);
  result->max_per_sample_x10 = (uint32_t)((10ull * worst + block_size / 2u) / block_size);
  result->blocks = blocks;
  result->block_size = block_size;
  result->overhead_per_block = harness_overhead(state, input, output, block_size, blocks);
  return 0;
}
