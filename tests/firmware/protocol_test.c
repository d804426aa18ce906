/* Host tests of the protocol's messages, driven byte by byte as the UART would, with a
 * two-model table defined here: a gain model (output = 2 x input, with a sample counter as
 * its state) and a second one to select. Replies are parsed back from the written bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/frame.h"
#include "firmware/app/model_table.h"
#include "firmware/app/protocol.h"

/* ---- the test's model table: a gain of 2 whose state counts the samples it has seen */
typedef struct {
  uint32_t seen;
} gain_state_t;

static void gain_reset(void *state) { ((gain_state_t *)state)->seen = 0u; }

static void gain_process(void *state, const float *in, float *out, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = 2.0f * in[i];
  }
  ((gain_state_t *)state)->seen += n;
}

static const vn_model_t gain_model = {
    .info = {.name = "gain", .kind = VN_KIND_LSTM, .precision = VN_PRECISION_F32, .sample_rate = 48000u,
             .parameters = 1u, .macs_per_sample = 1u, .receptive_field = 1u, .weights_crc32 = 0x12345678u,
             .state_size = sizeof(gain_state_t), .input_gain = 1.0f, .output_gain = 1.0f},
    .reset = gain_reset,
    .process = gain_process,
};
static const vn_model_t other_model = {
    .info = {.name = "other", .kind = VN_KIND_GRU, .precision = VN_PRECISION_Q15, .sample_rate = 44100u,
             .state_size = sizeof(gain_state_t)},
    .reset = gain_reset,
    .process = gain_process,
};
const model_table_entry_t model_table[] = {{&gain_model, NULL}, {&other_model, NULL}};
const uint32_t model_table_count = 2u;
static gain_state_t model_state;
void *model_table_state(void) { return &model_state; }
uint32_t model_table_state_size(void) { return sizeof model_state; }

/* ---- a reply capture and parser */
static uint8_t out[2 * (FRAME_HEADER_BYTES + FRAME_MAX_PAYLOAD + FRAME_CRC_BYTES)];
static size_t out_length;
static void capture(const uint8_t *data, size_t length) {
  assert_true(out_length + length <= sizeof out);
  memcpy(out + out_length, data, length);
  out_length += length;
}

static protocol_t protocol;
static frame_parser_t reply_parser;
static pedal_t pedal;
static const cabinet_table_t no_cabinet = {"", NULL, 0u, 0u, 0u, NULL};

static void setup_protocol(void) {
  out_length = 0u;
  pedal_init(&pedal, model_table[0].model, model_table_state(), &no_cabinet);
  protocol_init(&protocol, capture, &pedal);
}

static void send_bytes(const uint8_t *data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    protocol_feed(&protocol, data[i]);
  }
}

/* Encodes a request with the same writer the firmware uses and feeds it in. */
static uint8_t request_bytes[FRAME_HEADER_BYTES + FRAME_MAX_PAYLOAD + FRAME_CRC_BYTES];
static size_t request_length;
static void capture_request(const uint8_t *data, size_t length) {
  memcpy(request_bytes + request_length, data, length);
  request_length += length;
}
static void send_frame(uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length) {
  request_length = 0u;
  frame_write(capture_request, type, sequence, payload, length);
  send_bytes(request_bytes, request_length);
}

/* The single reply written since the last call; its type is returned, payload in reply_parser. */
static uint8_t take_reply(void) {
  frame_parser_reset(&reply_parser);
  frame_status_t status = FRAME_PENDING;
  size_t i = 0;
  for (; i < out_length && status == FRAME_PENDING; ++i) {
    status = frame_parser_feed(&reply_parser, out[i]);
  }
  assert_int_equal(status, FRAME_READY);
  assert_int_equal(i, out_length); /* exactly one frame */
  out_length = 0u;
  return reply_parser.type;
}

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t stat(uint32_t index) {
  send_frame(MSG_STATS, 99, NULL, 0u);
  assert_int_equal(take_reply(), MSG_STATS | MSG_REPLY);
  /* nine link counters, eleven of the audio stream, skipped bytes */
  assert_int_equal(reply_parser.length, PROTOCOL_STATS_FIELDS * 4u);
  return u32_at(reply_parser.payload + 4u * index);
}

/* ---- tests */
static void info_describes_the_selected_model(void **state) {
  (void)state;
  setup_protocol();
  send_frame(MSG_INFO, 7, NULL, 0u);
  assert_int_equal(take_reply(), MSG_INFO | MSG_REPLY);
  assert_int_equal(reply_parser.sequence, 7);
  const uint8_t *p = reply_parser.payload;
  assert_int_equal(p[0] | (p[1] << 8), PROTOCOL_VERSION);
  assert_int_equal(p[2], 0);    /* selected */
  assert_int_equal(p[3], 2);    /* count */
  assert_int_equal(p[4], VN_KIND_LSTM);
  assert_int_equal(p[5], VN_PRECISION_F32);
  assert_int_equal(u32_at(p + 8), 48000u);
  assert_int_equal(u32_at(p + 24), 0x12345678u);
  assert_int_equal(p[40], 4); /* the name's length, then the name */
  assert_memory_equal(p + 41, "gain", 4u);

  const uint8_t index = 1u;
  send_frame(MSG_SELECT, 8, &index, 1u);
  assert_int_equal(take_reply(), MSG_SELECT | MSG_REPLY);
  assert_int_equal(reply_parser.payload[2], 1);
  assert_int_equal(u32_at(reply_parser.payload + 8), 44100u);
  const uint8_t bad = 2u;
  send_frame(MSG_SELECT, 9, &bad, 1u);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
}

static void process_float_and_int16_frames(void **state) {
  (void)state;
  setup_protocol();
  uint8_t payload[4 + 3 * 4];
  const float in[3] = {0.25f, -0.5f, 0.125f};
  payload[0] = SAMPLE_FLOAT32, payload[1] = 0, payload[2] = 3, payload[3] = 0;
  memcpy(payload + 4, in, sizeof in);
  send_frame(MSG_PROCESS, 1, payload, sizeof payload);
  assert_int_equal(take_reply(), MSG_PROCESS | MSG_REPLY);
  assert_memory_equal(reply_parser.payload, payload, 4u);
  float y[3];
  memcpy(y, reply_parser.payload + 4, sizeof y);
  assert_true(y[0] == 0.5f && y[1] == -1.0f && y[2] == 0.25f);
  assert_int_equal(model_state.seen, 3u); /* state carried */

  /* int16: 0.75 x 2 saturates to 32767, -0.25 x 2 = -16384; the full negative scale stays -32768 */
  const int16_t q[3] = {24576, -8192, -32768};
  uint8_t small[4 + 6] = {SAMPLE_INT16, 0, 3, 0};
  memcpy(small + 4, q, sizeof q);
  send_frame(MSG_PROCESS, 2, small, sizeof small);
  assert_int_equal(take_reply(), MSG_PROCESS | MSG_REPLY);
  int16_t r[3];
  memcpy(r, reply_parser.payload + 4, sizeof r);
  assert_int_equal(r[0], 32767);
  assert_int_equal(r[1], -16384);
  assert_int_equal(r[2], -32768);

  send_frame(MSG_RESET, 3, NULL, 0u);
  assert_int_equal(take_reply(), MSG_RESET | MSG_REPLY);
  assert_int_equal(model_state.seen, 0u);
}

static void bad_payloads_are_rejected_and_leave_the_state(void **state) {
  (void)state;
  setup_protocol();
  uint8_t payload[4 + 8] = {SAMPLE_FLOAT32, 0, 3, 0}; /* count 3 but 2 samples */
  send_frame(MSG_PROCESS, 1, payload, sizeof payload);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  assert_int_equal(reply_parser.payload[1], MSG_PROCESS);
  payload[0] = 9; /* unknown format */
  payload[2] = 2;
  send_frame(MSG_PROCESS, 2, payload, sizeof payload);
  assert_int_equal(take_reply(), MSG_ERROR);
  send_frame(MSG_INFO, 3, payload, 1u); /* INFO takes no payload */
  assert_int_equal(take_reply(), MSG_ERROR);
  send_frame(0x42, 4, NULL, 0u);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_TYPE);
  const uint8_t bench[4] = {1, 1, 1, 0}; /* block 257: one over the largest */
  send_frame(MSG_BENCH, 5, bench, sizeof bench);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(model_state.seen, 0u);
  assert_int_equal(stat(6), 4u); /* payload: PROCESS x2, INFO, BENCH */
  assert_int_equal(stat(5), 1u); /* type */
  assert_int_equal(stat(0), 3u); /* accepted: only the three STATS requests (each counts itself) */
}

static void link_errors_are_counted_by_kind(void **state) {
  (void)state;
  setup_protocol();
  const uint8_t bad_sync[2] = {FRAME_SYNC0, 0x00};
  send_bytes(bad_sync, sizeof bad_sync);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_SYNC);

  const uint8_t oversized[6] = {FRAME_SYNC0, FRAME_SYNC1, MSG_PROCESS, 1, 0xFF, 0xFF};
  send_bytes(oversized, sizeof oversized);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_LENGTH);

  request_length = 0u;
  frame_write(capture_request, MSG_INFO, 5, NULL, 0u);
  request_bytes[request_length - 1u] ^= 0x01u;
  send_bytes(request_bytes, request_length);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_CRC);

  send_bytes(request_bytes, 4u); /* a frame that stops after its type and sequence */
  protocol_poll_idle(&protocol, 5000u); /* the quiet time starts */
  protocol_poll_idle(&protocol, 5000u + PROTOCOL_FRAME_TIMEOUT_MS - 1u);
  assert_int_equal(out_length, 0u); /* not yet */
  protocol_poll_idle(&protocol, 5000u + PROTOCOL_FRAME_TIMEOUT_MS);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_TRUNCATED);
  assert_int_equal(reply_parser.payload[1], MSG_INFO);
  assert_true(protocol_idle(&protocol));

  assert_int_equal(stat(1), 1u);
  assert_int_equal(stat(2), 1u);
  assert_int_equal(stat(3), 1u);
  assert_int_equal(stat(4), 1u);
}

static void put32(uint8_t *p, uint32_t value) {
  for (uint32_t i = 0; i < 4u; ++i) {
    p[i] = (uint8_t)(value >> (8u * i));
  }
}

static void send_param(uint8_t sequence, uint8_t id, float value, uint32_t at_block) {
  uint8_t payload[12] = {id, 0, 0, 0};
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  put32(payload + 4, bits);
  put32(payload + 8, at_block);
  send_frame(MSG_PARAM, sequence, payload, sizeof payload);
}

/* Without a stream, a PARAM applies at once and protocol_poll() sends its reply with block
 * PEDAL_NOW; a value outside its range or an unknown id is rejected and changes nothing. */
static void param_changes_are_validated_and_answered_when_applied(void **state) {
  (void)state;
  setup_protocol();
  send_param(21, CHAIN_OUTPUT_GAIN_DB, -6.0f, PEDAL_NOW);
  assert_int_equal(out_length, 0u); /* no reply until applied */
  protocol_poll(&protocol);
  assert_int_equal(take_reply(), MSG_PARAM | MSG_REPLY);
  assert_int_equal(reply_parser.sequence, 21);
  assert_int_equal(reply_parser.payload[0], CHAIN_OUTPUT_GAIN_DB);
  assert_int_equal(u32_at(reply_parser.payload + 8), PEDAL_NOW);
  assert_true(pedal.params[CHAIN_OUTPUT_GAIN_DB] == -6.0f);

  send_param(22, CHAIN_OUTPUT_GAIN_DB, 40.0f, PEDAL_NOW); /* above +12 dB */
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  send_param(23, 99, 0.0f, PEDAL_NOW);
  assert_int_equal(take_reply(), MSG_ERROR);
  send_param(24, CHAIN_CABINET, 1.0f, PEDAL_NOW); /* this image has no cabinet */
  assert_int_equal(take_reply(), MSG_ERROR);
  send_param(25, CHAIN_BYPASS, 0.5f, PEDAL_NOW); /* a switch: 0 or 1 */
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_true(pedal.params[CHAIN_OUTPUT_GAIN_DB] == -6.0f);
  assert_int_equal(stat(6), 4u); /* four bad payloads */
}

/* The host board has no audio: AUDIO_START is refused with ERROR AUDIO, bad arguments and a
 * rate the model was not trained at (unless the ANY_RATE flag asks for it) with ERROR
 * PAYLOAD naming the problem, and nothing runs (STATS says so). */
static void audio_start_reports_what_the_board_refuses(void **state) {
  (void)state;
  setup_protocol();
  uint8_t start[12] = {BOARD_AUDIO_SOFTWARE, 0, 48, 0};
  put32(start + 4, 48000u);
  put32(start + 8, 10u);
  send_frame(MSG_AUDIO_START, 31, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_AUDIO);
  start[2] = 8; /* block 8 < 16 */
  send_frame(MSG_AUDIO_START, 32, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  start[2] = 48;
  put32(start + 4, 32000u);
  send_frame(MSG_AUDIO_START, 33, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  put32(start + 4, 44100u); /* the gain model runs at 48000 Hz */
  send_frame(MSG_AUDIO_START, 35, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  assert_int_equal(reply_parser.payload[1], MSG_AUDIO_START);
  const char *why = "rate 44100 Hz: the model runs at 48000 Hz";
  assert_int_equal(reply_parser.length, 2u + strlen(why));
  assert_memory_equal(reply_parser.payload + 2, why, strlen(why));
  start[1] = AUDIO_START_ANY_RATE; /* accepted: the host board then refuses */
  send_frame(MSG_AUDIO_START, 36, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_AUDIO);
  start[1] = 0x02u; /* an unknown flag */
  send_frame(MSG_AUDIO_START, 37, start, sizeof start);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_PAYLOAD);
  assert_int_equal(stat(9), 0u); /* not running */
  send_frame(MSG_AUDIO_STOP, 34, NULL, 0u);
  assert_int_equal(take_reply(), MSG_AUDIO_STOP | MSG_REPLY);
}

/* SOURCE fills the software source contiguously (int16 as Q15), refuses gaps and overflow;
 * SINK reads the block log and refuses reads past what exists. */
static void source_and_sink_frames(void **state) {
  (void)state;
  setup_protocol();
  uint8_t load[8 + 2 * 4] = {SAMPLE_INT16, 0, 4, 0};
  put32(load + 4, 0u);
  const int16_t samples[4] = {16384, -16384, 0, 32767};
  memcpy(load + 8, samples, sizeof samples);
  send_frame(MSG_SOURCE, 41, load, sizeof load);
  assert_int_equal(take_reply(), MSG_SOURCE | MSG_REPLY);
  assert_int_equal(u32_at(reply_parser.payload), 4u);
  assert_true(pedal.source[0] == 0.5f && pedal.source[1] == -0.5f);
  put32(load + 4, 6u); /* a gap after sample 4 */
  send_frame(MSG_SOURCE, 42, load, sizeof load);
  assert_int_equal(take_reply(), MSG_ERROR);
  put32(load + 4, PEDAL_SOFT_CAPACITY - 2u);
  send_frame(MSG_SOURCE, 43, load, sizeof load);
  assert_int_equal(take_reply(), MSG_ERROR);
  assert_int_equal(pedal.source_length, 4u);

  uint8_t read[8] = {1, 0, 16, 0};
  put32(read + 4, 0u);
  send_frame(MSG_SINK, 44, read, sizeof read);
  assert_int_equal(take_reply(), MSG_SINK | MSG_REPLY);
  assert_int_equal(reply_parser.length, 4u + 16u);
  read[0] = 0; /* audio: the host board's sink is empty */
  send_frame(MSG_SINK, 45, read, sizeof read);
  assert_int_equal(take_reply(), MSG_ERROR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(info_describes_the_selected_model),
      cmocka_unit_test(process_float_and_int16_frames),
      cmocka_unit_test(bad_payloads_are_rejected_and_leave_the_state),
      cmocka_unit_test(link_errors_are_counted_by_kind),
      cmocka_unit_test(param_changes_are_validated_and_answered_when_applied),
      cmocka_unit_test(audio_start_reports_what_the_board_refuses),
      cmocka_unit_test(source_and_sink_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
