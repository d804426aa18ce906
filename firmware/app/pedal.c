#include "firmware/app/pedal.h"

#include <stdio.h>
#include <string.h>

#include "firmware/app/work_loop.h"

static void apply_param(pedal_t *p, uint32_t param, float value) {
  p->params[param] = value;
  if (param != PEDAL_STRESS) {
    (void)chain_set(&p->chain, (chain_param_t)param, value);
  }
}

/* The chain from scratch at the stream's rate, with the current parameters and no ramps. */
static void chain_rebuild(pedal_t *p, const vn_model_t *model, void *model_state, uint32_t rate) {
  chain_init(&p->chain, model, model_state, p->has_cabinet ? &p->cabinet : NULL, rate);
  (void)chain_set(&p->chain, CHAIN_RAMP_MS, p->params[CHAIN_RAMP_MS]);
  for (uint32_t param = CHAIN_INPUT_GAIN_DB; param <= CHAIN_CABINET; ++param) {
    (void)chain_set(&p->chain, (chain_param_t)param, p->params[param]);
  }
  for (uint32_t i = 0; i < p->chain.knob_count; ++i) {
    (void)chain_set(&p->chain, (chain_param_t)(CHAIN_KNOB_0 + i), p->params[CHAIN_KNOB_0 + i]);
  }
  chain_reset(&p->chain);
}

/* A model's knobs start at its defaults (another model has other knobs); the potentiometer's
 * next reading turns its knob wherever the pot is. */
static void knob_defaults(pedal_t *p, const vn_model_t *model) {
  const uint32_t count = model->set_knobs != NULL ? model->info.knob_count : 0u;
  p->pot_seen = false;
  for (uint32_t i = 0; i < CHAIN_MAX_KNOBS; ++i) {
    p->params[CHAIN_KNOB_0 + i] = i < count ? model->info.knob_defaults[i] : 0.0f;
  }
}

void pedal_init(pedal_t *p, const vn_model_t *model, void *model_state, const cabinet_table_t *cabinet) {
  memset(p, 0, sizeof *p);
  p->cabinet_ir = cabinet;
  p->has_cabinet = cabinet->length > 0u;
  if (p->has_cabinet) {
    vn_fir_f32_init(&p->cabinet, cabinet->taps, cabinet->length, cabinet->history);
  }
  p->params[CHAIN_GATE_THRESHOLD_DB] = -120.0f;
  p->params[CHAIN_CABINET] = p->has_cabinet ? 1.0f : 0.0f;
  p->params[CHAIN_RAMP_MS] = 10.0f;
  knob_defaults(p, model);
  chain_rebuild(p, model, model_state, model->info.sample_rate);
}

void pedal_set_model(pedal_t *p, const vn_model_t *model, void *model_state) {
  pedal_stop(p);
  knob_defaults(p, model);
  chain_rebuild(p, model, model_state, p->chain.sample_rate);
}

/* A stopped stream never reaches the blocks its waiting changes were scheduled for. */
static void discard_waiting_changes(pedal_t *p) {
  uint32_t kept = 0u;
  for (uint32_t i = 0; i < p->change_count; ++i) {
    if (p->applied_count < PEDAL_MAX_CHANGES) {
      p->applied[p->applied_count] = p->changes[i];
      p->applied[p->applied_count++].discarded = true;
    } else {
      p->changes[kept++] = p->changes[i];
    }
  }
  p->change_count = kept;
}

void pedal_stop(pedal_t *p) {
  board_audio_stop();
  if (p->running) {
    discard_waiting_changes(p);
  }
  p->running = false;
}

/* The request's own faults, before the board is asked. */
static pedal_start_t check_stream(const pedal_t *p, const pedal_stream_t *stream) {
  if (stream->sample_rate != 44100u && stream->sample_rate != 48000u) {
    return PEDAL_START_BAD_RATE;
  }
  if (stream->block < BOARD_AUDIO_MIN_BLOCK || stream->block > BOARD_AUDIO_MAX_BLOCK) {
    return PEDAL_START_BAD_BLOCK;
  }
  if (!stream->any_rate && stream->sample_rate != p->chain.model->info.sample_rate) {
    return PEDAL_START_MODEL_RATE;
  }
  return PEDAL_START_OK;
}

pedal_start_t pedal_start(pedal_t *p, const pedal_stream_t *stream) {
  const pedal_start_t checked = check_stream(p, stream);
  if (checked != PEDAL_START_OK) {
    return checked;
  }
  pedal_stop(p);
  chain_rebuild(p, p->chain.model, p->chain.model_state, stream->sample_rate);
  p->config = (board_audio_config_t){
      .source = stream->source,
      .sample_rate = stream->sample_rate,
      .block = stream->block,
      .soft_source = p->source,
      .soft_source_length = p->source_length,
      .soft_sink = p->sink,
      .soft_sink_capacity = PEDAL_SOFT_CAPACITY,
  };
  p->blocks_limit = stream->blocks;
  p->events = 0u;
  p->next = 0u;
  p->processed = p->late = p->dropped = 0u;
  p->resync = false;
  p->used_sum = 0u;
  p->used_max = 0u;
  memset(p->log, PEDAL_BLOCK_UNSEEN, sizeof p->log);
  p->running = true; /* before the first event can arrive */
  const board_audio_status_t status = board_audio_start(&p->config, pedal_on_event, p, &p->timing);
  if (status == BOARD_AUDIO_OK) {
    return PEDAL_START_OK;
  }
  p->running = false;
  return status == BOARD_AUDIO_UNSUPPORTED_SOURCE ? PEDAL_START_NO_SOURCE : PEDAL_START_BOARD;
}

void pedal_start_explain(const pedal_t *p, const pedal_stream_t *stream, pedal_start_t status, char *out,
                         size_t capacity) {
  const unsigned long rate = stream->sample_rate, block = stream->block;
  switch (status) {
    case PEDAL_START_OK:
      snprintf(out, capacity, "started");
      break;
    case PEDAL_START_BAD_RATE:
      snprintf(out, capacity, "rate %lu Hz: 44100 or 48000", rate);
      break;
    case PEDAL_START_BAD_BLOCK:
      snprintf(out, capacity, "block %lu: %u..%u frames", block, (unsigned)BOARD_AUDIO_MIN_BLOCK,
               (unsigned)BOARD_AUDIO_MAX_BLOCK);
      break;
    case PEDAL_START_MODEL_RATE:
      snprintf(out, capacity, "rate %lu Hz: the model runs at %lu Hz", rate,
               (unsigned long)p->chain.model->info.sample_rate);
      break;
    case PEDAL_START_NO_SOURCE:
      snprintf(out, capacity, "this board cannot stream from a %s",
               stream->source == BOARD_AUDIO_CODEC ? "codec" : "software source");
      break;
    default:
      snprintf(out, capacity, "this board cannot run %lu Hz in blocks of %lu", rate, block);
      break;
  }
}

void pedal_on_event(void *context) {
  pedal_t *p = context;
  p->events = p->events + 1u;
}

static void log_block(pedal_t *p, uint32_t block, pedal_block_t status) {
  if (block < PEDAL_LOG_CAPACITY) {
    p->log[block] = (uint8_t)status;
  }
}

/* Changes due at block n, in the order they came: into the chain, then onto the reply list. */
static void apply_due_changes(pedal_t *p, uint32_t n) {
  uint32_t kept = 0u;
  for (uint32_t i = 0; i < p->change_count; ++i) {
    pedal_change_t change = p->changes[i];
    const bool due = change.at_block == PEDAL_NOW || change.at_block <= n;
    if (due && p->applied_count < PEDAL_MAX_CHANGES) {
      apply_param(p, change.param, change.value);
      change.applied_block = n;
      p->applied[p->applied_count++] = change;
    } else {
      p->changes[kept++] = change;
    }
  }
  p->change_count = kept;
}

/* Busy work of `percent` of a block period, on the work counter where there is one. */
static void stress(const pedal_t *p, float percent) {
  if (percent <= 0.0f) {
    return;
  }
  if (board_counter_unit() != BOARD_COUNTER_NONE && p->timing.period_counts != 0u) {
    const uint32_t extra = (uint32_t)((float)p->timing.period_counts * percent / 100.0f);
    const uint32_t start = board_counter_read();
    while (board_counter_read() - start < extra) {
    }
    return;
  }
  const float cycles = (float)board_core_clock_hz() * (float)p->config.block / (float)p->config.sample_rate;
  work_loop_run((uint32_t)(cycles * percent / 100.0f / (float)WORK_LOOP_INSTRUCTIONS_PER_ITERATION));
}

static void process_block(pedal_t *p, uint32_t n) {
  const uint32_t start = board_counter_read();
  apply_due_changes(p, n);
  const uint32_t half = n & 1u;
  board_audio_read(half, p->block, p->config.block);
  chain_process(&p->chain, p->block, p->block, p->config.block);
  stress(p, p->params[PEDAL_STRESS]);
  board_audio_write(half, p->block, p->config.block);
  const uint32_t used = board_counter_read() - start;
  p->used_sum += used;
  p->used_max = used > p->used_max ? used : p->used_max;
  p->processed++;
}

/* Blocks next .. end - 1 will never be processed: their input is lost (overrun) and their
 * output slot plays stale samples (underrun). */
static void drop_blocks(pedal_t *p, uint32_t end) {
  for (; p->next < end; ++p->next) {
    log_block(p, p->next, PEDAL_BLOCK_DROPPED);
    p->dropped++;
  }
}

bool pedal_poll(pedal_t *p) {
  if (!p->running) {
    return false;
  }
  const uint32_t events = p->events;
  if (p->blocks_limit != 0u && events > p->blocks_limit) {
    pedal_stop(p); /* the last block has reached the sink */
    return false;
  }
  if (events == p->next || (p->blocks_limit != 0u && p->next >= p->blocks_limit)) {
    return false;
  }
  if (p->resync) {
    /* The last block was late: whatever is ready now is already part-way through its period.
     * Drop it and start again at the next event, so the next block has its whole period. */
    drop_blocks(p, events);
    p->resync = false;
    return false;
  }
  const uint32_t newest = events - 1u;
  drop_blocks(p, newest);
  process_block(p, newest);
  p->next = newest + 1u;
  const bool late = p->events != events; /* event newest + 1 came while it was processed */
  p->late += late ? 1u : 0u;
  p->resync = late;
  log_block(p, newest, late ? PEDAL_BLOCK_LATE : PEDAL_BLOCK_ON_TIME);
  return true;
}

void pedal_pot_poll(pedal_t *p, int32_t knob, uint32_t now_ms) {
  if (knob < 0 || (uint32_t)knob >= p->chain.knob_count || (int32_t)(now_ms - p->pot_next_ms) < 0) {
    return;
  }
  p->pot_next_ms = now_ms + PEDAL_POT_PERIOD_MS;
  float position = 0.0f;
  if (!board_pot_read(0u, &position)) {
    return;
  }
  const float moved = position > p->pot_last ? position - p->pot_last : p->pot_last - position;
  if (p->pot_seen && moved <= PEDAL_POT_HYSTERESIS) {
    return;
  }
  const pedal_change_t change = {.param = (uint8_t)(CHAIN_KNOB_0 + (uint32_t)knob), .sequence = 0u, .reply = false,
                                 .value = position, .at_block = PEDAL_NOW};
  if (pedal_change(p, &change)) { /* a full queue: the next poll tries again */
    p->pot_last = position;
    p->pot_seen = true;
  }
}

bool pedal_param_valid(const pedal_t *p, uint32_t param, float value) {
  if (param == PEDAL_STRESS) {
    return value >= 0.0f && value <= 1000.0f;
  }
  const bool known = (param >= CHAIN_INPUT_GAIN_DB && param <= CHAIN_RAMP_MS) ||
                     (param >= CHAIN_KNOB_0 && param < CHAIN_KNOB_0 + CHAIN_MAX_KNOBS);
  return known && chain_valid(&p->chain, (chain_param_t)param, value);
}

bool pedal_change(pedal_t *p, const pedal_change_t *change) {
  if (!p->running && change->at_block == PEDAL_NOW) {
    if (p->applied_count >= PEDAL_MAX_CHANGES) {
      return false;
    }
    apply_param(p, change->param, change->value);
    p->applied[p->applied_count] = *change;
    p->applied[p->applied_count++].applied_block = PEDAL_NOW;
    return true;
  }
  if (p->change_count >= PEDAL_MAX_CHANGES) {
    return false;
  }
  p->changes[p->change_count++] = *change;
  return true;
}

bool pedal_take_applied(pedal_t *p, pedal_change_t *change) {
  if (p->applied_count == 0u) {
    return false;
  }
  *change = p->applied[0];
  p->applied_count--;
  memmove(&p->applied[0], &p->applied[1], p->applied_count * sizeof p->applied[0]);
  return true;
}

bool pedal_load_source(pedal_t *p, uint32_t offset, const float *samples, uint32_t count) {
  if (count == 0u && offset == 0u) {
    p->source_length = 0u;
    return true;
  }
  if (offset > p->source_length || count > PEDAL_SOFT_CAPACITY - offset) {
    return false; /* writes extend the source contiguously, never past its capacity */
  }
  memcpy(&p->source[offset], samples, count * sizeof(float));
  p->source_length = offset + count > p->source_length ? offset + count : p->source_length;
  return true;
}

static uint32_t ppm(uint64_t used, uint64_t available) {
  return available == 0u ? 0u : (uint32_t)((used * 1000000u + available / 2u) / available);
}

void pedal_stats(const pedal_t *p, pedal_stats_t *s) {
  const uint64_t period = p->timing.period_counts;
  s->events = p->events;
  s->processed = p->processed;
  s->late = p->late;
  s->dropped = p->dropped;
  s->load_avg_ppm = ppm(p->used_sum, period * p->processed);
  s->load_max_ppm = ppm(p->used_max, period);
  s->period_counts = p->timing.period_counts;
}
