/*
 * model_table.h - the models compiled into this firmware image.
 *
 * Generated per image by model_table() (tools/codegen/model_library.bzl): the models, each
 * with its self-test clip where the image has one, and one state buffer large enough for
 * any of them (one model runs at a time).
 */
#ifndef VALVENET_APP_MODEL_TABLE_H
#define VALVENET_APP_MODEL_TABLE_H

#include <stdint.h>

#include "firmware/nn/model.h"

/* A short clip of the built-in test split and the Python oracle's output for it, generated
 * at build time (python/valvenet/export/selftest_clip.py). A float32 engine must match within
 * max_abs_error_bound, an int16 engine within esr_bound (0: not checked). */
typedef struct {
  uint32_t samples;
  const float *input;
  const float *expected;
  float max_abs_error_bound;
  float esr_bound;
} selftest_clip_t;

typedef struct {
  const vn_model_t *model;
  const selftest_clip_t *clip; /* NULL: no self-test clip for this model */
} model_table_entry_t;

extern const model_table_entry_t model_table[];
extern const uint32_t model_table_count;

/* The shared state buffer (8-byte aligned) and its size in bytes. */
void *model_table_state(void);
uint32_t model_table_state_size(void);

#endif /* VALVENET_APP_MODEL_TABLE_H */
