/*
 * cabinet_table.h - the speaker cabinet compiled into this firmware image.
 *
 * Generated per image by cabinet_table() (tools/codegen/model_library.bzl) from an impulse
 * response WAV (python/valvenet/export/cabinet_table.py: valvenet.export.cabinet's minimum-phase,
 * truncated, energy-normalised float32 taps). An image without a cabinet has length 0.
 */
#ifndef VALVENET_APP_CABINET_TABLE_H
#define VALVENET_APP_CABINET_TABLE_H

#include <stdint.h>

typedef struct {
  const char *name;     /* the IR file's name, e.g. "Mesa Boogie Mark V.wav" */
  const float *taps;    /* length float32 taps at sample_rate */
  uint32_t length;
  uint32_t sample_rate;
  uint32_t taps_crc32;  /* zlib CRC-32 of the taps as little-endian float32 bytes */
  float *history;       /* VN_FIR_HISTORY_LENGTH(length) floats for vn_fir_f32_init */
} cabinet_table_t;

extern const cabinet_table_t cabinet_table;

#endif /* VALVENET_APP_CABINET_TABLE_H */
