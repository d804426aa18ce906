#include "firmware/app/commands.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/bench.h"
#include "firmware/app/build_info.h"
#include "firmware/app/model_table.h"
#include "firmware/app/selftest.h"
#include "firmware/app/work_loop.h"
#include "firmware/boards/board.h"

#define COUNT_MAX_ITERATIONS 10000000ul

static const char *counter_unit_name(board_counter_unit_t unit) {
  switch (unit) {
    case BOARD_COUNTER_CYCLES:
      return "cycles";
    case BOARD_COUNTER_INSTRUCTIONS:
      return "instructions";
    default:
      return "none";
  }
}

size_t commands_banner(char *out, size_t capacity) {
  snprintf(out, capacity, "ValveNet %s rev=%s board=%s clock=%lu compiler=gcc-%d.%d.%d counter=%s",
                   VALVENET_VERSION, VALVENET_GIT_REVISION, board_name(),
                   (unsigned long)board_core_clock_hz(), __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
                   counter_unit_name(board_counter_unit()));
  return strlen(out);
}

/* Parses a whole decimal argument in [min, max]; false on anything else. */
static bool parse_unsigned(const char *text, unsigned long min, unsigned long max, unsigned long *value) {
  if (text == NULL || *text < '0' || *text > '9') {
    return false;
  }
  char *end = NULL;
  unsigned long parsed = strtoul(text, &end, 10);
  if (*end != '\0' || parsed < min || parsed > max) {
    return false;
  }
  *value = parsed;
  return true;
}

static void reply_count(const char *argument, char *reply, size_t capacity) {
  unsigned long iterations = 0;
  if (!parse_unsigned(argument, 1ul, COUNT_MAX_ITERATIONS, &iterations)) {
    snprintf(reply, capacity, "ERR count needs an iteration count 1..%lu", COUNT_MAX_ITERATIONS);
    return;
  }
  board_counter_unit_t unit = board_counter_unit();
  if (unit == BOARD_COUNTER_NONE) {
    snprintf(reply, capacity, "ERR counter not available on %s", board_name());
    return;
  }
  uint32_t start = board_counter_read();
  work_loop_run((uint32_t)iterations);
  uint32_t elapsed = board_counter_read() - start;
  snprintf(reply, capacity, "OK count iterations=%lu elapsed=%lu unit=%s", iterations,
           (unsigned long)elapsed, counter_unit_name(unit));
}

static void reply_models(char *reply, size_t capacity) {
  size_t used = (size_t)snprintf(reply, capacity, "OK models count=%lu", (unsigned long)model_table_count);
  for (uint32_t i = 0; i < model_table_count && used < capacity; ++i) {
    used += (size_t)snprintf(reply + used, capacity - used, " %lu:%s", (unsigned long)i, model_table[i].model->info.name);
  }
}

/* Splits "A B C" into three unsigned numbers within the given ranges. */
static bool parse_three(const char *text, const unsigned long max[3], unsigned long out[3]) {
  char buffer[48];
  if (text == NULL || strlen(text) >= sizeof buffer) {
    return false;
  }
  strcpy(buffer, text);
  char *cursor = buffer;
  for (uint32_t i = 0; i < 3u; ++i) {
    char *space = strchr(cursor, ' ');
    if ((space == NULL) != (i == 2u)) {
      return false;
    }
    if (space != NULL) {
      *space = '\0';
    }
    if (!parse_unsigned(cursor, i == 0u ? 0ul : 1ul, max[i], &out[i])) {
      return false;
    }
    cursor = space != NULL ? space + 1 : cursor;
  }
  return true;
}

static void reply_bench(const char *argument, char *reply, size_t capacity) {
  const unsigned long max[3] = {model_table_count > 0u ? model_table_count - 1u : 0u, BENCH_MAX_BLOCK, BENCH_MAX_BLOCKS};
  unsigned long args[3];
  if (model_table_count == 0u) {
    snprintf(reply, capacity, "ERR no models in this firmware");
    return;
  }
  if (!parse_three(argument, max, args)) {
    snprintf(reply, capacity, "ERR bench needs MODEL 0..%lu BLOCK 1..%lu BLOCKS 1..%lu", max[0], max[1], max[2]);
    return;
  }
  const vn_model_t *model = model_table[args[0]].model;
  bench_result_t result;
  bench_run(model, model_table_state(), (uint32_t)args[1], (uint32_t)args[2], &result);
  snprintf(reply, capacity, "OK bench model=%s block=%lu blocks=%lu unit=%s median_x10=%lu max_x10=%lu state=%lu overhead=%lu",
           model->info.name, args[1], args[2], counter_unit_name(board_counter_unit()),
           (unsigned long)result.median_per_sample_x10, (unsigned long)result.max_per_sample_x10,
           (unsigned long)model->info.state_size, (unsigned long)result.overhead_per_block);
}

static void reply_selftest(const char *argument, char *reply, size_t capacity) {
  unsigned long index = 0;
  if (model_table_count == 0u) {
    snprintf(reply, capacity, "ERR no models in this firmware");
    return;
  }
  if (argument != NULL && !parse_unsigned(argument, 0ul, model_table_count - 1u, &index)) {
    snprintf(reply, capacity, "ERR selftest takes a model index 0..%lu", (unsigned long)(model_table_count - 1u));
    return;
  }
  selftest_result_t result;
  selftest_run(&model_table[index], model_table_state(), &result);
  selftest_format(&model_table[index], &result, reply, capacity);
}

static void dispatch(const char *line, char *reply, size_t capacity) {
  char command[32];
  const char *argument = strchr(line, ' ');
  size_t name_length = argument != NULL ? (size_t)(argument - line) : strlen(line);
  if (argument != NULL) {
    while (*argument == ' ') {
      argument++;
    }
  }
  if (name_length == 0u || name_length >= sizeof command) {
    snprintf(reply, capacity, "ERR unknown command");
    return;
  }
  memcpy(command, line, name_length);
  command[name_length] = '\0';

  if (strcmp(command, "ping") == 0 && argument == NULL) {
    snprintf(reply, capacity, "pong");
    return;
  }
  if (strcmp(command, "info") == 0 && argument == NULL) {
    int n = snprintf(reply, capacity, "OK ");
    commands_banner(reply + n, capacity - (size_t)n);
    return;
  }
  if (strcmp(command, "count") == 0) {
    reply_count(argument, reply, capacity);
    return;
  }
  if (strcmp(command, "models") == 0 && argument == NULL) {
    reply_models(reply, capacity);
    return;
  }
  if (strcmp(command, "bench") == 0) {
    reply_bench(argument, reply, capacity);
    return;
  }
  if (strcmp(command, "selftest") == 0) {
    reply_selftest(argument, reply, capacity);
    return;
  }
  if (strcmp(command, "exit") == 0) {
    unsigned long code = 0;
    if (!parse_unsigned(argument, 0ul, 255ul, &code)) {
      snprintf(reply, capacity, "ERR exit needs a code 0..255");
      return;
    }
    board_exit((int)code);
  }
  if (strcmp(command, "help") == 0 && argument == NULL) {
    snprintf(reply, capacity, "OK commands: ping, info, count N, models, bench MODEL BLOCK BLOCKS, selftest [MODEL], pedal [start|stop|set], exit N, help");
    return;
  }
  snprintf(reply, capacity, "ERR unknown command: %s", command);
}

size_t commands_execute(const char *line, char *reply, size_t capacity) {
  reply[0] = '\0';
  dispatch(line, reply, capacity);
  return strlen(reply);
}
