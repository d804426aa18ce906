/*
 * model.h - what every generated model provides: a description and two functions.
 *
 * `valvenet export c` writes one .c/.h pair per model file. The pair defines a
 * `const vn_model_t` whose state the caller owns (state_size bytes, aligned to 8), so
 * several models can be linked into one firmware and no model keeps hidden globals.
 */
#ifndef VALVENET_NN_MODEL_H
#define VALVENET_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  VN_KIND_GATED_WAVENET = 1,
  VN_KIND_NAM_WAVENET = 2,
  VN_KIND_LSTM = 3,
  VN_KIND_GRU = 4
} vn_model_kind_t;

typedef enum { VN_PRECISION_F32 = 1, VN_PRECISION_Q15 = 2 } vn_precision_t;

typedef struct {
  const char *name;           /* the model file's name, e.g. "wavenet-10x8" */
  vn_model_kind_t kind;
  vn_precision_t precision;
  uint32_t sample_rate;       /* Hz */
  uint32_t parameters;        /* weights in the model file */
  uint32_t macs_per_sample;   /* multiply-accumulates per output sample (streaming) */
  uint32_t receptive_field;   /* samples (1 for recurrent models) */
  uint32_t weights_crc32;     /* zlib CRC-32 of the model file's float32 weights */
  uint32_t state_size;        /* bytes of caller-owned state */
  float input_gain;
  float output_gain;
  uint32_t knob_count;        /* conditioning inputs (0: none); see set_knobs */
  const char *knob_names;     /* their names, comma-separated in input order ("gain,tone"), or "" */
  const float *knob_defaults; /* knob_count positions (0..1) that reset sets, or NULL */
} vn_model_info_t;

typedef struct {
  vn_model_info_t info;
  /* Clears the streaming state: the model behaves as if it had only ever seen silence
   * before (zero history, zero recurrent state), as Keras and the oracle do. */
  void (*reset)(void *state);
  /* Processes n samples; state carries across calls, so any block split gives the
   * same output. in and out may be the same buffer. */
  void (*process)(void *state, const float *in, float *out, uint32_t n);
  /* A conditioned model's knobs (knob_count values, each normalised to 0..1 over the knob's
   * range and clamped there) for the blocks that follow; reset returns them to their
   * defaults. NULL for a model without knobs. Costs one pass over the knob weights: call it
   * once per block at most, never per sample. */
  void (*set_knobs)(void *state, const float *knobs);
} vn_model_t;

#endif /* VALVENET_NN_MODEL_H */
