/* pedal_start() on the host, against a fake board that records what it is asked: the one
 * check of a stream's rate and block (the board only sees streams that passed it), the
 * refusal of a rate the model was not trained at unless asked for, a refused request that
 * leaves a running stream alone, and the console's `pedal start` reporting why. The
 * potentiometer path (pedal_pot_poll): a fake pot turns a fake conditioned model's knob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/pedal.h"
#include "firmware/app/pedal_commands.h"

/* ---- a fake board: audio starts whatever it is given (but a source it is told to lack) */
static uint32_t board_starts;
static board_audio_config_t board_config;
static board_audio_source_t board_missing_source;

board_audio_status_t board_audio_start(const board_audio_config_t *config, board_audio_event_fn event,
                                       void *context, board_audio_timing_t *timing) {
  (void)event;
  (void)context;
  if (config->source == board_missing_source) {
    return BOARD_AUDIO_UNSUPPORTED_SOURCE;
  }
  board_starts++;
  board_config = *config;
  timing->rate_millihz = config->sample_rate * 1000u;
  timing->period_counts = 0u;
  return BOARD_AUDIO_OK;
}
void board_audio_stop(void) {}
void board_audio_read(uint32_t half, float *in, uint32_t n) {
  (void)half;
  memset(in, 0, n * sizeof *in);
}
void board_audio_write(uint32_t half, const float *out, uint32_t n) {
  (void)half;
  (void)out;
  (void)n;
}
static bool pot_present;
static float pot_position;
static uint32_t pot_reads;
bool board_pot_read(uint32_t index, float *position) {
  pot_reads++;
  *position = pot_position;
  return pot_present && index == 0u;
}
board_counter_unit_t board_counter_unit(void) { return BOARD_COUNTER_NONE; }
uint32_t board_counter_read(void) { return 0u; }
uint32_t board_core_clock_hz(void) { return 0u; }

/* ---- a 48 kHz model (identity) and no cabinet */
static void identity_reset(void *state) { (void)state; }
static void identity_process(void *state, const float *in, float *out, uint32_t n) {
  (void)state;
  memmove(out, in, n * sizeof *out);
}
static const vn_model_t model_48k = {
    .info = {.name = "identity", .sample_rate = 48000u}, .reset = identity_reset, .process = identity_process};
/* ---- a model with two knobs that records what set_knobs is given */
static float knobs_seen[2];
static uint32_t knob_sets;
static void knobs_set(void *state, const float *knobs) {
  (void)state;
  knobs_seen[0] = knobs[0];
  knobs_seen[1] = knobs[1];
  knob_sets++;
}
static const float knob_defaults[2] = {0.5f, 0.25f};
static const vn_model_t knob_model = {
    .info = {.name = "knobs", .sample_rate = 48000u, .knob_count = 2u, .knob_names = "gain,tone",
             .knob_defaults = knob_defaults},
    .reset = identity_reset, .process = identity_process, .set_knobs = knobs_set};
static const cabinet_table_t no_cabinet = {"", NULL, 0u, 0u, 0u, NULL};
static pedal_t pedal;

static void setup(void) {
  board_starts = 0u;
  board_missing_source = (board_audio_source_t)0;
  pedal_init(&pedal, &model_48k, NULL, &no_cabinet);
}

static pedal_start_t start(uint32_t rate, uint32_t block, bool any_rate) {
  const pedal_stream_t stream = {BOARD_AUDIO_SOFTWARE, rate, block, 0u, any_rate};
  return pedal_start(&pedal, &stream);
}

static void explained(uint32_t rate, uint32_t block, pedal_start_t status, const char *expected) {
  const pedal_stream_t stream = {BOARD_AUDIO_SOFTWARE, rate, block, 0u, false};
  char text[80];
  pedal_start_explain(&pedal, &stream, status, text, sizeof text);
  assert_string_equal(text, expected);
}

static void the_potentiometer_turns_its_knob_past_the_hysteresis(void **state) {
  (void)state;
  pedal_init(&pedal, &knob_model, NULL, &no_cabinet);
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.25f, 0.0f); /* the model's defaults */
  pot_present = true;
  pot_position = 0.8f;
  pot_reads = 0u;
  pedal_pot_poll(&pedal, -1, 100u); /* no pot knob in this image */
  assert_int_equal(pot_reads, 0u);
  pedal_pot_poll(&pedal, 1, 100u);  /* the first reading turns knob 1 (tone) */
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.8f, 0.0f);
  assert_float_equal(pedal.params[CHAIN_KNOB_0], 0.5f, 0.0f);
  pot_position = 0.805f; /* noise: under the hysteresis */
  pedal_pot_poll(&pedal, 1, 110u);
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.8f, 0.0f);
  pot_position = 0.3f;
  pedal_pot_poll(&pedal, 1, 115u); /* too soon: read every PEDAL_POT_PERIOD_MS */
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.8f, 0.0f);
  pedal_pot_poll(&pedal, 1, 120u);
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.3f, 0.0f);
  /* the chain ramps the knob from where it is (no block ran: the default 0.25) towards 0.3;
   * the model gets the ramp's value at the end of each block */
  float block[48] = {0.0f};
  knob_sets = 0u;
  chain_process(&pedal.chain, block, block, 48u);
  assert_int_equal(knob_sets, 1u);
  assert_true(knobs_seen[1] > 0.25f && knobs_seen[1] < 0.3f);
  assert_float_equal(knobs_seen[0], 0.5f, 0.0f);
  pedal_pot_poll(&pedal, 2, 200u); /* a knob the model does not have */
  pot_present = false;
  pot_position = 0.9f;
  pedal_pot_poll(&pedal, 1, 300u); /* no reading: nothing changes */
  assert_float_equal(pedal.params[CHAIN_KNOB_0 + 1u], 0.3f, 0.0f);
  pedal_init(&pedal, &model_48k, NULL, &no_cabinet);
}

static void rate_and_block_are_checked_before_the_board_is_asked(void **state) {
  (void)state;
  setup();
  assert_int_equal(start(48000u, BOARD_AUDIO_MIN_BLOCK - 1u, false), PEDAL_START_BAD_BLOCK);
  assert_int_equal(start(48000u, BOARD_AUDIO_MAX_BLOCK + 1u, false), PEDAL_START_BAD_BLOCK);
  assert_int_equal(start(32000u, 48u, true), PEDAL_START_BAD_RATE);
  assert_int_equal(board_starts, 0u);
  assert_false(pedal.running);
  assert_int_equal(start(48000u, BOARD_AUDIO_MIN_BLOCK, false), PEDAL_START_OK);
  assert_int_equal(start(48000u, BOARD_AUDIO_MAX_BLOCK, false), PEDAL_START_OK);
  assert_int_equal(board_starts, 2u);
  assert_int_equal(board_config.block, BOARD_AUDIO_MAX_BLOCK);
  explained(48000u, 8u, PEDAL_START_BAD_BLOCK, "block 8: 16..128 frames");
  explained(32000u, 48u, PEDAL_START_BAD_RATE, "rate 32000 Hz: 44100 or 48000");
}

static void a_rate_the_model_was_not_trained_at_needs_asking_for(void **state) {
  (void)state;
  setup();
  assert_int_equal(start(44100u, 48u, false), PEDAL_START_MODEL_RATE);
  assert_int_equal(board_starts, 0u);
  explained(44100u, 48u, PEDAL_START_MODEL_RATE, "rate 44100 Hz: the model runs at 48000 Hz");
  assert_int_equal(start(44100u, 48u, true), PEDAL_START_OK);
  assert_int_equal(board_config.sample_rate, 44100u);
  assert_int_equal(pedal.chain.sample_rate, 44100u);
}

static void a_refused_request_leaves_the_running_stream_alone(void **state) {
  (void)state;
  setup();
  assert_int_equal(start(48000u, 64u, false), PEDAL_START_OK);
  assert_int_equal(start(44100u, 64u, false), PEDAL_START_MODEL_RATE);
  assert_true(pedal.running);
  assert_int_equal(pedal.config.sample_rate, 48000u);
  assert_int_equal(board_starts, 1u);
}

static void the_board_refusing_a_source_is_reported(void **state) {
  (void)state;
  setup();
  board_missing_source = BOARD_AUDIO_SOFTWARE;
  assert_int_equal(start(48000u, 48u, false), PEDAL_START_NO_SOURCE);
  assert_false(pedal.running);
  explained(48000u, 48u, PEDAL_START_NO_SOURCE, "this board cannot stream from a software source");
}

static void the_console_says_why_a_start_is_refused(void **state) {
  (void)state;
  setup();
  char reply[160];
  assert_true(pedal_commands_execute(&pedal, "pedal start 44100", reply, sizeof reply));
  assert_string_equal(reply, "ERR rate 44100 Hz: the model runs at 48000 Hz");
  assert_true(pedal_commands_execute(&pedal, "pedal start 48000 200", reply, sizeof reply));
  assert_string_equal(reply, "ERR block 200: 16..128 frames");
  assert_true(pedal_commands_execute(&pedal, "pedal start 48000 x", reply, sizeof reply));
  assert_string_equal(reply, "ERR pedal start [RATE [BLOCK]]");
  assert_int_equal(board_starts, 0u);
  board_missing_source = BOARD_AUDIO_CODEC;
  assert_true(pedal_commands_execute(&pedal, "pedal start", reply, sizeof reply));
  assert_string_equal(reply, "ERR this board cannot stream from a codec");
  board_missing_source = (board_audio_source_t)0;
  assert_true(pedal_commands_execute(&pedal, "pedal start", reply, sizeof reply)); /* the model's rate */
  assert_int_equal(board_config.sample_rate, 48000u);
  assert_int_equal(board_config.block, 32u);
  assert_true(pedal.running);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(rate_and_block_are_checked_before_the_board_is_asked),
      cmocka_unit_test(the_potentiometer_turns_its_knob_past_the_hysteresis),
      cmocka_unit_test(a_rate_the_model_was_not_trained_at_needs_asking_for),
      cmocka_unit_test(a_refused_request_leaves_the_running_stream_alone),
      cmocka_unit_test(the_board_refusing_a_source_is_reported),
      cmocka_unit_test(the_console_says_why_a_start_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
