#include "firmware/app/pedal_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PARAM_NAMES[] = {"", "input_gain_db", "gate_threshold_db", "output_gain_db",
                                          "bypass", "cabinet", "ramp_ms"};
#define PARAM_COUNT (sizeof PARAM_NAMES / sizeof PARAM_NAMES[0])

static bool starts_with_word(const char *line, const char *word) {
  const size_t n = strlen(word);
  return strncmp(line, word, n) == 0 && (line[n] == '\0' || line[n] == ' ');
}

static void reply_status(const pedal_t *pedal, char *reply, size_t capacity) {
  pedal_stats_t s;
  pedal_stats(pedal, &s);
  snprintf(reply, capacity, "OK pedal running=%u rate=%lu.%03lu block=%lu blocks=%lu missed=%lu dropped=%lu load_avg=%lu.%01lu%% load_max=%lu.%01lu%%",
           pedal->running ? 1u : 0u, (unsigned long)(pedal->timing.rate_millihz / 1000u),
           (unsigned long)(pedal->timing.rate_millihz % 1000u), (unsigned long)pedal->config.block,
           (unsigned long)s.events, (unsigned long)(s.late + s.dropped), (unsigned long)s.dropped,
           (unsigned long)(s.load_avg_ppm / 10000u), (unsigned long)(s.load_avg_ppm / 1000u % 10u),
           (unsigned long)(s.load_max_ppm / 10000u), (unsigned long)(s.load_max_ppm / 1000u % 10u));
}

/* "[RATE [BLOCK]]": the model's rate and 32 frames unless given; pedal_start() checks them. */
static void reply_start(pedal_t *pedal, const char *arguments, char *reply, size_t capacity) {
  char *end = NULL;
  unsigned long rate = strtoul(arguments, &end, 10);
  rate = end == arguments ? pedal->chain.model->info.sample_rate : rate;
  const char *rest = end;
  unsigned long block = strtoul(rest, &end, 10);
  block = end == rest ? 32ul : block;
  while (*end == ' ') {
    end++;
  }
  if (*end != '\0') {
    snprintf(reply, capacity, "ERR pedal start [RATE [BLOCK]]");
    return;
  }
  const pedal_stream_t stream = {.source = BOARD_AUDIO_CODEC, .sample_rate = (uint32_t)rate, .block = (uint32_t)block};
  const pedal_start_t status = pedal_start(pedal, &stream);
  if (status != PEDAL_START_OK) {
    const int n = snprintf(reply, capacity, "ERR ");
    pedal_start_explain(pedal, &stream, status, reply + n, capacity - (size_t)n);
    return;
  }
  reply_status(pedal, reply, capacity);
}

/* The chain parameter of the model's knob called name[0..length) (its names are a comma-separated
 * list, model.h), or 0. */
static uint32_t knob_id(const pedal_t *pedal, const char *name, size_t length) {
  const char *names = pedal->chain.model->info.knob_names;
  for (uint32_t i = 0; i < pedal->chain.knob_count && names != NULL; ++i) {
    const size_t n = strcspn(names, ",");
    if (n == length && strncmp(names, name, length) == 0) {
      return CHAIN_KNOB_0 + i;
    }
    names += n + (names[n] == ',' ? 1u : 0u);
  }
  return 0u;
}

/* The name of chain parameter id: a fixed one or a knob's (copied into buffer). */
static const char *param_name(const pedal_t *pedal, uint32_t id, char *buffer, size_t capacity) {
  if (id < PARAM_COUNT) {
    return PARAM_NAMES[id];
  }
  const char *names = pedal->chain.model->info.knob_names;
  for (uint32_t i = CHAIN_KNOB_0; i < id; ++i) {
    names += strcspn(names, ",") + 1u;
  }
  snprintf(buffer, capacity, "%.*s", (int)strcspn(names, ","), names);
  return buffer;
}

/* "NAME VALUE" -> parameter id (0 if unknown) and value; NAME a chain parameter or one of the
 * model's knobs. strtof, not scanf: newlib-nano's scanf has no float conversions unless
 * linked in. */
static uint32_t parse_setting(const pedal_t *pedal, const char *arguments, float *value) {
  while (*arguments == ' ') {
    arguments++;
  }
  const size_t length = strcspn(arguments, " ");
  uint32_t id = knob_id(pedal, arguments, length);
  for (uint32_t i = 1u; i < PARAM_COUNT; ++i) {
    id = strlen(PARAM_NAMES[i]) == length && strncmp(arguments, PARAM_NAMES[i], length) == 0 ? i : id;
  }
  const char *number = arguments + length;
  char *end = NULL;
  *value = strtof(number, &end);
  while (end != NULL && *end == ' ') {
    end++;
  }
  return end != NULL && end != number && *end == '\0' ? id : 0u;
}

static void reply_set(pedal_t *pedal, const char *arguments, char *reply, size_t capacity) {
  float value = 0.0f;
  const uint32_t id = parse_setting(pedal, arguments, &value);
  const pedal_change_t change = {.param = (uint8_t)id, .sequence = 0u, .reply = false, .value = value, .at_block = PEDAL_NOW};
  if (id == 0u || !pedal_param_valid(pedal, id, value)) {
    const char *knobs = pedal->chain.knob_count != 0u ? pedal->chain.model->info.knob_names : "";
    snprintf(reply, capacity, "ERR pedal set NAME VALUE: input_gain_db -24..24, gate_threshold_db -120..0, "
             "output_gain_db -60..12, bypass 0|1, cabinet 0|1, ramp_ms 1..100%s%s%s", *knobs ? ", knobs " : "",
             knobs, *knobs ? " 0..1" : "");
    return;
  }
  if (!pedal_change(pedal, &change)) {
    snprintf(reply, capacity, "ERR too many changes waiting; try again");
    return;
  }
  char name[24];
  snprintf(reply, capacity, "OK pedal %s=%g", param_name(pedal, id, name, sizeof name), (double)value);
}

bool pedal_commands_execute(pedal_t *pedal, const char *line, char *reply, size_t capacity) {
  if (starts_with_word(line, "bench") || starts_with_word(line, "selftest")) {
    if (pedal->running) {
      snprintf(reply, capacity, "ERR the audio stream is running: pedal stop first");
      return true;
    }
    return false;
  }
  if (!starts_with_word(line, "pedal")) {
    return false;
  }
  const char *arguments = line + 5;
  while (*arguments == ' ') {
    arguments++;
  }
  if (*arguments == '\0') {
    reply_status(pedal, reply, capacity);
  } else if (starts_with_word(arguments, "stop")) {
    pedal_stop(pedal);
    reply_status(pedal, reply, capacity);
  } else if (starts_with_word(arguments, "start")) {
    reply_start(pedal, arguments + 5, reply, capacity);
  } else if (starts_with_word(arguments, "set")) {
    reply_set(pedal, arguments + 3, reply, capacity);
  } else {
    snprintf(reply, capacity, "ERR pedal [start [RATE [BLOCK]] | stop | set NAME VALUE]");
  }
  return true;
}
