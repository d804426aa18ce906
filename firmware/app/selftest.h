/*
 * selftest.h - runs a model on its built-in clip and compares with the oracle's output.
 *
 * The quickest check that an image is sane on any target: the same numbers the Python
 * oracle computed at build time, through the engine as compiled for this board.
 */
#ifndef VALVENET_APP_SELFTEST_H
#define VALVENET_APP_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/app/model_table.h"
#include "firmware/boards/board.h"

typedef enum { SELFTEST_PASS = 0, SELFTEST_FAIL = 1, SELFTEST_NO_CLIP = 2 } selftest_status_t;

typedef struct {
  selftest_status_t status;
  uint32_t samples;
  float max_abs_error;
  float esr;                 /* sum (y - expected)^2 / sum expected^2 */
  uint32_t per_sample_x10;   /* counter units per sample x10 (0 without a counter) */
  board_counter_unit_t unit;
} selftest_result_t;

/* Resets the model, runs the clip in blocks of SELFTEST_BLOCK, resets it again. */
#define SELFTEST_BLOCK 48u
void selftest_run(const model_table_entry_t *entry, void *state, selftest_result_t *result);

/* "SELFTEST PASS model=... precision=... samples=... max_abs_error=... esr=... per_sample=... unit=..." */
size_t selftest_format(const model_table_entry_t *entry, const selftest_result_t *result, char *out, size_t capacity);

#endif /* VALVENET_APP_SELFTEST_H */
