#include "firmware/app/chain.h"

#include <math.h>
#include <string.h>

#define CHAIN_GATE_OFF_DB -120.0f
#define CHAIN_ENVELOPE_DECAY_S 0.020f
#define CHAIN_GATE_ATTACK_S 0.001f
#define CHAIN_GATE_RELEASE_S 0.050f

float chain_db_to_gain(float db) { return powf(10.0f, db / 20.0f); }

/* The one-pole coefficient for a time constant: 1 / (1 + seconds * rate) (backward Euler), one
 * IEEE division, so the numpy twin computes the very same float. */
static float one_pole(float seconds, uint32_t rate) { return 1.0f / (1.0f + seconds * (float)rate); }

static void ramp_jump(chain_ramp_t *r, float value) {
  r->value = value;
  r->target = value;
  r->step = 0.0f;
  r->remaining = 0u;
}

static void ramp_to(chain_ramp_t *r, float target, uint32_t samples) {
  r->target = target;
  r->remaining = samples;
  r->step = (target - r->value) / (float)samples;
}

static inline float ramp_next(chain_ramp_t *r) {
  if (r->remaining != 0u) {
    r->remaining--;
    r->value = r->remaining == 0u ? r->target : r->value + r->step;
  }
  return r->value;
}

static void gate_set_threshold(chain_gate_t *g, float db) {
  g->enabled = db > CHAIN_GATE_OFF_DB;
  g->open_level = chain_db_to_gain(db);
  g->close_level = 0.5f * g->open_level;
}

static void gate_reset(chain_gate_t *g) {
  g->open = !g->enabled;
  g->envelope = 0.0f;
  g->gain = g->enabled ? 0.0f : 1.0f;
}

static inline float gate_next(chain_gate_t *g, float x) {
  if (!g->enabled) {
    return x;
  }
  const float level = fabsf(x);
  const float decayed = g->envelope * g->envelope_decay;
  g->envelope = level > decayed ? level : decayed;
  if (g->envelope > g->open_level) {
    g->open = true;
  } else if (g->envelope < g->close_level) {
    g->open = false;
  }
  const float target = g->open ? 1.0f : 0.0f;
  g->gain = g->gain + (target - g->gain) * (g->open ? g->attack : g->release);
  return x * g->gain;
}

/* The model takes the knobs' current values (set_knobs once, for the blocks that follow). */
static void knobs_apply(chain_t *c) {
  float values[CHAIN_MAX_KNOBS];
  for (uint32_t i = 0; i < c->knob_count; ++i) {
    values[i] = c->knobs[i].value;
  }
  c->model->set_knobs(c->model_state, values);
}

/* A turning knob moves n samples along its ramp per block; the model then takes the values
 * reached at the block's end, so a turn reaches the model within the block it starts in. */
static void knobs_advance(chain_t *c, uint32_t n) {
  bool moving = false;
  for (uint32_t i = 0; i < c->knob_count; ++i) {
    moving = moving || c->knobs[i].remaining != 0u;
  }
  if (!moving) {
    return;
  }
  for (uint32_t i = 0; i < c->knob_count; ++i) {
    for (uint32_t j = 0; j < n; ++j) {
      (void)ramp_next(&c->knobs[i]);
    }
  }
  knobs_apply(c);
}

void chain_reset(chain_t *c) {
  c->model->reset(c->model_state);
  if (c->cabinet != NULL) {
    vn_fir_f32_reset(c->cabinet);
  }
  gate_reset(&c->gate);
  ramp_jump(&c->input_gain, c->input_gain.target);
  ramp_jump(&c->output_gain, c->output_gain.target);
  ramp_jump(&c->wet, c->wet.target);
  ramp_jump(&c->cabinet_mix, c->cabinet_mix.target);
  for (uint32_t i = 0; i < c->knob_count; ++i) {
    ramp_jump(&c->knobs[i], c->knobs[i].target);
  }
  if (c->knob_count != 0u) {
    knobs_apply(c); /* reset put the model's knobs at its defaults */
  }
}

void chain_init(chain_t *c, const vn_model_t *model, void *model_state, vn_fir_f32_t *cabinet,
                uint32_t sample_rate) {
  memset(c, 0, sizeof *c);
  c->model = model;
  c->model_state = model_state;
  c->cabinet = cabinet;
  c->sample_rate = sample_rate;
  c->ramp = sample_rate / 100u; /* 10 ms */
  ramp_jump(&c->input_gain, 1.0f);
  ramp_jump(&c->output_gain, 1.0f);
  ramp_jump(&c->wet, 1.0f);
  ramp_jump(&c->cabinet_mix, cabinet != NULL ? 1.0f : 0.0f);
  const uint32_t knobs = model->set_knobs != NULL ? model->info.knob_count : 0u;
  c->knob_count = knobs < CHAIN_MAX_KNOBS ? knobs : CHAIN_MAX_KNOBS;
  for (uint32_t i = 0; i < c->knob_count; ++i) {
    ramp_jump(&c->knobs[i], model->info.knob_defaults[i]);
  }
  c->gate.envelope_decay = 1.0f - one_pole(CHAIN_ENVELOPE_DECAY_S, sample_rate);
  c->gate.attack = one_pole(CHAIN_GATE_ATTACK_S, sample_rate);
  c->gate.release = one_pole(CHAIN_GATE_RELEASE_S, sample_rate);
  gate_set_threshold(&c->gate, CHAIN_GATE_OFF_DB);
  chain_reset(c);
}

static bool in_range(float value, float low, float high) { return value >= low && value <= high; }

static bool is_switch(float value) { return value == 0.0f || value == 1.0f; }

bool chain_valid(const chain_t *c, chain_param_t param, float value) {
  switch (param) {
    case CHAIN_INPUT_GAIN_DB:
      return in_range(value, -24.0f, 24.0f);
    case CHAIN_GATE_THRESHOLD_DB:
      return in_range(value, CHAIN_GATE_OFF_DB, 0.0f);
    case CHAIN_OUTPUT_GAIN_DB:
      return in_range(value, -60.0f, 12.0f);
    case CHAIN_BYPASS:
      return is_switch(value);
    case CHAIN_CABINET:
      return is_switch(value) && (value == 0.0f || c->cabinet != NULL);
    case CHAIN_RAMP_MS:
      return in_range(value, 1.0f, 100.0f);
    default:
      return (uint32_t)param >= CHAIN_KNOB_0 && (uint32_t)param < CHAIN_KNOB_0 + c->knob_count &&
             in_range(value, 0.0f, 1.0f);
  }
}

bool chain_set(chain_t *c, chain_param_t param, float value) {
  if (!chain_valid(c, param, value)) {
    return false;
  }
  switch (param) {
    case CHAIN_INPUT_GAIN_DB:
      ramp_to(&c->input_gain, chain_db_to_gain(value), c->ramp);
      return true;
    case CHAIN_GATE_THRESHOLD_DB:
      {
        const bool was_enabled = c->gate.enabled;
        gate_set_threshold(&c->gate, value);
        if (was_enabled != c->gate.enabled) {
          /* switching the gate on starts it open at unity gain, so turning it on never
           * mutes a note already sounding; switching it off leaves unity gain. */
          c->gate.open = true;
          c->gate.gain = 1.0f;
        }
      }
      return true;
    case CHAIN_OUTPUT_GAIN_DB:
      ramp_to(&c->output_gain, chain_db_to_gain(value), c->ramp);
      return true;
    case CHAIN_BYPASS:
      ramp_to(&c->wet, 1.0f - value, c->ramp);
      return true;
    case CHAIN_CABINET:
      ramp_to(&c->cabinet_mix, value, c->ramp);
      return true;
    case CHAIN_RAMP_MS:
      c->ramp = (uint32_t)lrintf(value * (float)c->sample_rate / 1000.0f);
      return true;
    default:
      ramp_to(&c->knobs[(uint32_t)param - CHAIN_KNOB_0], value, c->ramp);
      return true;
  }
}

void chain_process(chain_t *c, const float *in, float *out, uint32_t n) {
  if (n > CHAIN_MAX_BLOCK) {
    n = CHAIN_MAX_BLOCK;
  }
  for (uint32_t i = 0; i < n; ++i) {
    c->dry[i] = in[i];
    c->work[i] = gate_next(&c->gate, in[i] * ramp_next(&c->input_gain));
  }
  knobs_advance(c, n);
  c->model->process(c->model_state, c->work, c->work, n);
  if (c->cabinet != NULL) {
    vn_fir_f32_process(c->cabinet, c->work, c->cab, n);
  } else {
    memcpy(c->cab, c->work, n * sizeof(float));
  }
  for (uint32_t i = 0; i < n; ++i) {
    const float mix = ramp_next(&c->cabinet_mix);
    const float amp = c->work[i] + mix * (c->cab[i] - c->work[i]);
    const float wet = amp * ramp_next(&c->output_gain);
    const float y = c->dry[i] + ramp_next(&c->wet) * (wet - c->dry[i]);
    out[i] = y > 1.0f ? 1.0f : (y < -1.0f ? -1.0f : y);
  }
}
