/*
 * chain.h - the pedal's signal chain, one block at a time:
 *
 *     in -> input gain -> noise gate -> model -> cabinet FIR -> output gain -> out
 *      \________________________ bypass (dry) ___________________________/
 *
 * Board-neutral and allocation-free: the caller owns the chain_t, the model state and the
 * cabinet's taps and history. Every parameter change is a linear ramp over `ramp` samples
 * (default 10 ms), so no change clicks: the gains ramp in linear amplitude, bypass and the
 * cabinet cross-fade (the model and the FIR keep running while faded out, so their state is
 * current when they fade back in). The numpy twin, python/valvenet/pedal/chain.py, computes
 * the same arithmetic in float32 and is what the emulator suites compare against.
 */
#ifndef VALVENET_APP_CHAIN_H
#define VALVENET_APP_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/nn/cabinet.h"
#include "firmware/nn/model.h"

#define CHAIN_MAX_BLOCK 128u

typedef enum {
  CHAIN_INPUT_GAIN_DB = 1,     /* -24..+24 dB, default 0 */
  CHAIN_GATE_THRESHOLD_DB = 2, /* -120..0 dBFS; -120 (default) turns the gate off */
  CHAIN_OUTPUT_GAIN_DB = 3,    /* -60..+12 dB, default 0 */
  CHAIN_BYPASS = 4,            /* 0 processed (default), 1 bypassed: out = in */
  CHAIN_CABINET = 5,           /* 1 on (default when the image has one), 0 off */
  CHAIN_RAMP_MS = 6,           /* 1..100 ms, default 10: how long later changes take */
  CHAIN_KNOB_0 = 8             /* 8 + i: the model's knob i (model.h), a position 0..1; default
                                * the model's; a turn ramps, and the model takes the ramp's value
                                * at the end of each block (set_knobs once a block, no clicks) */
} chain_param_t;

#define CHAIN_MAX_KNOBS 4u /* knobs the chain drives (a model's first four) */

/* A value moving linearly to its target: `remaining` more steps of `step`, then exactly target. */
typedef struct {
  float value;
  float target;
  float step;
  uint32_t remaining;
} chain_ramp_t;

/* Noise gate: a peak envelope (instant attack, 20 ms decay) opens the gate above the threshold
 * and closes it 6 dB below (hysteresis, so a decaying note does not chatter); the gate's gain
 * follows with a 1 ms one-pole attack and a 50 ms one-pole release. */
typedef struct {
  bool enabled;
  bool open;
  float open_level;  /* linear threshold */
  float close_level; /* open_level / 2 */
  float envelope;
  float gain;
  float envelope_decay;
  float attack;
  float release;
} chain_gate_t;

typedef struct {
  const vn_model_t *model;
  void *model_state;
  vn_fir_f32_t *cabinet; /* NULL: no cabinet in this image */
  uint32_t sample_rate;
  uint32_t ramp;         /* samples per parameter ramp */
  chain_ramp_t input_gain;
  chain_ramp_t output_gain;
  chain_ramp_t wet;      /* 1 processed, 0 bypassed */
  chain_ramp_t cabinet_mix;
  chain_ramp_t knobs[CHAIN_MAX_KNOBS];
  uint32_t knob_count;   /* the model's knobs, at most CHAIN_MAX_KNOBS */
  chain_gate_t gate;
  float dry[CHAIN_MAX_BLOCK];
  float work[CHAIN_MAX_BLOCK];
  float cab[CHAIN_MAX_BLOCK];
} chain_t;

/* Binds the chain to a model (and its state) and an optional cabinet, sets every parameter
 * to its default with no ramp pending, and resets the model, the FIR and the gate. */
void chain_init(chain_t *chain, const vn_model_t *model, void *model_state, vn_fir_f32_t *cabinet,
                uint32_t sample_rate);

/* Clears all streaming state (model, FIR, gate envelope) and finishes any ramp at once. */
void chain_reset(chain_t *chain);

/* Sets a parameter; gains, bypass and cabinet ramp to it from where they are. Returns false
 * (and changes nothing) for an unknown parameter or a value outside its range. */
bool chain_set(chain_t *chain, chain_param_t param, float value);

/* Whether chain_set() would accept the value (the chain is not changed). */
bool chain_valid(const chain_t *chain, chain_param_t param, float value);

/* Processes n <= CHAIN_MAX_BLOCK samples; in and out may be the same array. */
void chain_process(chain_t *chain, const float *in, float *out, uint32_t n);

/* The linear gain of a level in dB (powf), shared with the parameter ranges above. */
float chain_db_to_gain(float db);

#endif /* VALVENET_APP_CHAIN_H */
