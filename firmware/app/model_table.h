/*
 * model_table.h - the models compiled into this firmware image.
 *
 * Generated per image by model_table() (tools/codegen/model_library.bzl): a list of
 * vn_model_t and one state buffer large enough for any of them (one model runs at a time).
 */
#ifndef VALVENET_APP_MODEL_TABLE_H
#define VALVENET_APP_MODEL_TABLE_H

#include <stdint.h>

#include "firmware/nn/model.h"

extern const vn_model_t *const model_table[];
extern const uint32_t model_table_count;

/* The shared state buffer (8-byte aligned) and its size in bytes. */
void *model_table_state(void);
uint32_t model_table_state_size(void);

#endif /* VALVENET_APP_MODEL_TABLE_H */
