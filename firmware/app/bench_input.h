/*
 * bench_input.h - the signal the bench runs models on.
 *
 * An image gets a clip of the built-in dataset's guitar (the loudest window of its test
 * split, as Q15) by linking bench_input() (tools/codegen/model_library.bzl), which defines
 * `bench_input`; bench.c's weak definition (samples = 0) stands in for images without one
 * (boot images, host tests), and the bench then runs on a synthetic plucked tone.
 */
#ifndef VALVENET_APP_BENCH_INPUT_H
#define VALVENET_APP_BENCH_INPUT_H

#include <stdint.h>

typedef struct {
  uint32_t samples;     /* 0: no clip, the bench's synthetic tone */
  const int16_t *audio; /* Q15 samples, played in a loop */
} bench_input_t;

extern const bench_input_t bench_input;

#endif /* VALVENET_APP_BENCH_INPUT_H */
