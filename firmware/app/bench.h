/*
 * bench.h - measures a model on the board's work counter.
 *
 * Runs the image's bench signal (bench_input.h: a clip of the built-in guitar, or a
 * synthetic plucked tone) through a model block by block and reads the counter around each
 * block's process call only, so signal generation is not counted. Per-block counts give the
 * median and the worst block (real time is decided by the worst). A conditioned model's
 * knobs turn on every block (set_knobs inside the measured span: the pedal's worst case, see
 * chain.h). The harness itself (two
 * counter reads and an indirect call) is measured on an empty process function with the
 * same loop: the overhead a host may subtract.
 */
#ifndef VALVENET_APP_BENCH_H
#define VALVENET_APP_BENCH_H

#include <stdint.h>

#include "firmware/nn/model.h"

#define BENCH_MAX_BLOCK 256u
#define BENCH_MAX_BLOCKS 64u
#define BENCH_MAX_KNOBS 8u

typedef struct {
  uint32_t median_per_sample_x10; /* counter units per sample, x10 (one decimal) */
  uint32_t max_per_sample_x10;    /* the worst block's units per sample, x10 */
  uint32_t blocks;
  uint32_t block_size;
  uint32_t overhead_per_block;    /* the harness alone (empty process), counter units per block */
} bench_result_t;

/* Resets the model's state (caller-owned, model->info.state_size bytes) and measures
 * `blocks` blocks of `block_size` samples. Returns 0, or -1 on bad arguments. */
int32_t bench_run(const vn_model_t *model, void *state, uint32_t block_size, uint32_t blocks, bench_result_t *result);

#endif /* VALVENET_APP_BENCH_H */
