/* Host tests of the UART link (firmware/app/link.h) with the protocol behind it, driven byte
 * by byte with a fake clock: stray bytes, half-typed console lines, oversized frames with
 * their data, cut-off frames followed at once by good ones, and a seeded fuzz of random
 * bytes between good frames. After each, the next PROCESS frame must come back
 * bit-identical to what a clean link gives. The model is a gain of 2 (output = 2 x input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/frame.h"
#include "firmware/app/link.h"
#include "firmware/app/model_table.h"
#include "firmware/app/protocol.h"

/* ---- the model table: one gain model */
static uint32_t samples_seen;
static void gain_reset(void *state) { *(uint32_t *)state = 0u; }
static void gain_process(void *state, const float *in, float *out, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    out[i] = 2.0f * in[i];
  }
  *(uint32_t *)state += n;
}
static const vn_model_t gain_model = {
    .info = {.name = "gain", .kind = VN_KIND_LSTM, .precision = VN_PRECISION_F32, .sample_rate = 48000u,
             .state_size = sizeof samples_seen},
    .reset = gain_reset,
    .process = gain_process,
};
const model_table_entry_t model_table[] = {{&gain_model, NULL}};
const uint32_t model_table_count = 1u;
void *model_table_state(void) { return &samples_seen; }
uint32_t model_table_state_size(void) { return sizeof samples_seen; }

/* ---- the link under test, its output and clock */
static uint8_t out[64u * 1024u];
static size_t out_length;
static void capture(const uint8_t *data, size_t length) {
  if (out_length + length > sizeof out) {
    out_length = 0u; /* the fuzz writes much text: only the latest output matters */
  }
  memcpy(out + out_length, data, length);
  out_length += length;
}

static uint32_t now_ms;
static uint32_t fake_clock(void) { return now_ms; }

static uint32_t console_lines; /* lines the console was asked to answer */
static void on_line(void *context, line_reader_status_t status, const char *line) {
  (void)context;
  (void)status;
  (void)line;
  console_lines++;
}

static protocol_t protocol;
static link_t link;

static void setup_link(void) {
  out_length = 0u;
  now_ms = 1000u;
  console_lines = 0u;
  protocol_init(&protocol, capture, NULL);
  link_init(&link, &protocol, on_line, NULL, fake_clock);
}

static void send(const uint8_t *data, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    link_receive(&link, data[i]);
    link_quiet(&link); /* the main loop turns between bytes without reaching the timeout */
  }
}

static void send_text(const char *text) { send((const uint8_t *)text, strlen(text)); }

/* ---- requests and replies */
static uint8_t request[FRAME_MAX_BYTES];
static size_t request_length;
static void capture_request(const uint8_t *data, size_t length) {
  memcpy(request + request_length, data, length);
  request_length += length;
}
static size_t encode(uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length) {
  request_length = 0u;
  frame_write(capture_request, type, sequence, payload, length);
  return request_length;
}

/* A PROCESS request of `count` float32 samples; `expected` gets the reply payload a clean
 * link gives (the same header, each sample doubled). */
static size_t process_request(uint8_t sequence, const float *in, uint16_t count, uint8_t *expected) {
  static uint8_t payload[4u + 4u * PROTOCOL_MAX_SAMPLES];
  payload[0] = SAMPLE_FLOAT32, payload[1] = 0, payload[2] = (uint8_t)count, payload[3] = (uint8_t)(count >> 8);
  memcpy(payload + 4, in, 4u * count);
  memcpy(expected, payload, 4u);
  for (uint16_t i = 0; i < count; ++i) {
    const float y = 2.0f * in[i];
    memcpy(expected + 4u + 4u * i, &y, 4u);
  }
  return encode(MSG_PROCESS, sequence, payload, (uint16_t)(4u + 4u * count));
}

static frame_parser_t reply_parser;

static bool output_contains(const char *text) {
  const size_t n = strlen(text);
  for (size_t i = 0; i + n <= out_length; ++i) {
    if (memcmp(out + i, text, n) == 0) {
      return true;
    }
  }
  return false;
}

/* Looks through the output for a reply of `type` with `sequence`; true (payload in
 * reply_parser) if there is one. Errors and text on the way are passed over. */
static bool find_reply(uint8_t type, uint8_t sequence) {
  frame_parser_reset(&reply_parser);
  for (size_t i = 0; i < out_length; ++i) {
    for (frame_status_t s = frame_parser_feed(&reply_parser, out[i]); s != FRAME_PENDING;
         s = frame_parser_next(&reply_parser)) {
      if (s == FRAME_READY && reply_parser.type == type && reply_parser.sequence == sequence) {
        return true;
      }
    }
  }
  return false;
}

/* As a host does: sends a request, then waits for its reply, letting time pass (a partial
 * frame times out) up to `timeouts` frame timeouts. */
static bool exchange(const uint8_t *frame, size_t length, uint8_t type, uint8_t sequence, uint32_t timeouts) {
  send(frame, length);
  for (uint32_t t = 0; t <= 2u * timeouts; ++t) {
    if (find_reply(type, sequence)) {
      return true;
    }
    now_ms += PROTOCOL_FRAME_TIMEOUT_MS / 2u + 1u;
    link_quiet(&link);
  }
  return find_reply(type, sequence);
}

/* The next PROCESS frame works: its reply is the clean link's, bit for bit. */
static void next_process_frame_works(uint8_t sequence, uint32_t timeouts) {
  static uint8_t expected[4u + 4u * PROTOCOL_MAX_SAMPLES];
  const float in[5] = {0.5f, -0.25f, 0.1f, -1.0f, 3.0e-7f};
  const size_t n = process_request(sequence, in, 5u, expected);
  out_length = 0u;
  assert_true(exchange(request, n, MSG_PROCESS | MSG_REPLY, sequence, timeouts));
  assert_int_equal(reply_parser.length, 4u + 4u * 5u);
  assert_memory_equal(reply_parser.payload, expected, reply_parser.length);
}

static uint32_t stats_field(uint32_t index) {
  const size_t n = encode(MSG_STATS, 200, NULL, 0u);
  out_length = 0u;
  assert_true(exchange(request, n, MSG_STATS | MSG_REPLY, 200, 0u));
  assert_int_equal(reply_parser.length, 4u * PROTOCOL_STATS_FIELDS);
  const uint8_t *p = reply_parser.payload + 4u * index;
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#define STATS_SKIPPED 20u
#define STATS_TRUNCATED 4u

/* ---- tests */
static void stray_bytes_before_a_frame(void **state) {
  (void)state;
  setup_link();
  const uint8_t stray[3] = {0x00, 0xFF, 0x13};
  send(stray, sizeof stray);
  next_process_frame_works(1, 0u);
  assert_int_equal(stats_field(STATS_SKIPPED), 3u);
  assert_int_equal(console_lines, 0u);
}

static void a_half_typed_line_is_abandoned_with_a_note(void **state) {
  (void)state;
  setup_link();
  send_text("inf");
  next_process_frame_works(2, 0u);
  assert_true(output_contains("NOTE console line dropped (3 bytes): a frame began\r\n"));
  assert_int_equal(console_lines, 0u);
  send_text("ping\r\n"); /* the console works on */
  assert_int_equal(console_lines, 1u);
  assert_int_equal(stats_field(STATS_SKIPPED), 3u);
}

static void an_oversized_frame_with_its_data(void **state) {
  (void)state;
  setup_link();
  static uint8_t data[6000];
  const uint16_t length = (uint16_t)(sizeof data - 10u);
  const uint8_t header[6] = {FRAME_SYNC0, FRAME_SYNC1, MSG_PROCESS, 3, (uint8_t)length, (uint8_t)(length >> 8)};
  memcpy(data, header, sizeof header);
  for (size_t i = sizeof header; i < sizeof data; ++i) {
    data[i] = (uint8_t)(i * 131u + (i >> 7)); /* every byte value, sync words among them */
  }
  send(data, sizeof data);
  assert_true(find_reply(MSG_ERROR, 3));
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_LENGTH);
  next_process_frame_works(4, 16u);
  next_process_frame_works(5, 0u);
}

static void a_good_frame_right_after_a_cut_off_one(void **state) {
  (void)state;
  setup_link();
  static uint8_t cut[64], expected[64];
  const float in[3] = {0.1f, 0.2f, 0.3f};
  const size_t cut_length = process_request(6, in, 3u, expected) - 7u;
  memcpy(cut, request, cut_length);
  send(cut, cut_length); /* no pause: the good frame follows at once */
  next_process_frame_works(7, 0u);
  next_process_frame_works(8, 0u);
  /* a frame cut off after its sync, then a good one: the same */
  const uint8_t sync_only[2] = {FRAME_SYNC0, FRAME_SYNC1};
  send(sync_only, sizeof sync_only);
  next_process_frame_works(9, 1u);
  next_process_frame_works(10, 0u);
}

static void a_partial_frame_times_out_in_time_not_polls(void **state) {
  (void)state;
  setup_link();
  const uint8_t partial[4] = {FRAME_SYNC0, FRAME_SYNC1, MSG_INFO, 11};
  send(partial, sizeof partial); /* the quiet time starts at the last poll, now_ms */
  for (uint32_t i = 0; i < 3000000u; ++i) {
    link_quiet(&link); /* any number of loop turns in the same millisecond */
  }
  now_ms += PROTOCOL_FRAME_TIMEOUT_MS - 1u;
  link_quiet(&link);
  assert_false(find_reply(MSG_ERROR, 11));
  now_ms += 1u;
  link_quiet(&link);
  assert_true(find_reply(MSG_ERROR, 11));
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_TRUNCATED);
  assert_int_equal(reply_parser.payload[1], MSG_INFO);
  assert_true(protocol_idle(&protocol));
  /* each byte restarts the quiet time: a frame whose bytes keep coming never times out */
  out_length = 0u;
  const uint8_t slow[6] = {FRAME_SYNC0, FRAME_SYNC1, MSG_INFO, 12, 100, 0}; /* 100 payload bytes */
  send(slow, sizeof slow);
  const uint8_t zero = 0u;
  for (uint32_t i = 0; i < 5u; ++i) {
    now_ms += PROTOCOL_FRAME_TIMEOUT_MS - 1u;
    link_quiet(&link);
    send(&zero, 1u);
  }
  assert_int_equal(out_length, 0u);
  now_ms += PROTOCOL_FRAME_TIMEOUT_MS;
  link_quiet(&link);
  assert_true(find_reply(MSG_ERROR, 12));
  assert_int_equal(reply_parser.payload[0], PROTOCOL_ERR_TRUNCATED);
  assert_int_equal(stats_field(STATS_TRUNCATED), 2u);
}

/* ---- fuzz: random bytes (sync bytes, line ends and text more often than chance) between
 * good PROCESS frames of random sizes; each good frame must be answered, bit-identical. */
static uint32_t rng = 0x5EEDu;
static uint32_t next_random(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

static uint8_t random_byte(void) {
  static const uint8_t favourites[6] = {FRAME_SYNC0, FRAME_SYNC1, '\r', '\n', 0xFF, 0x00};
  const uint32_t pick = next_random() % 8u;
  return pick < 6u ? favourites[pick] : (uint8_t)next_random();
}

static void fuzz_random_bytes_between_good_frames(void **state) {
  (void)state;
  setup_link();
  static uint8_t garbage[96], expected[4u + 4u * 64u];
  static float in[64];
  for (uint32_t round = 0; round < 3000u; ++round) {
    const uint32_t garbage_length = next_random() % sizeof garbage;
    for (uint32_t i = 0; i < garbage_length; ++i) {
      garbage[i] = random_byte();
    }
    if (next_random() % 4u == 0u && garbage_length >= 6u) { /* a header that claims much */
      garbage[garbage_length - 6u] = FRAME_SYNC0;
      garbage[garbage_length - 5u] = FRAME_SYNC1;
      garbage[garbage_length - 1u] = (uint8_t)(next_random() % 0x20u);
    }
    send(garbage, garbage_length);
    const uint16_t count = (uint16_t)(1u + next_random() % 64u);
    for (uint16_t i = 0; i < count; ++i) {
      in[i] = (float)((int32_t)(next_random() % 2001u) - 1000) / 1000.0f;
    }
    const uint8_t sequence = (uint8_t)round;
    const size_t n = process_request(sequence, in, count, expected);
    out_length = 0u;
    /* each sync byte in the garbage can start one candidate that needs a timeout */
    if (!exchange(request, n, MSG_PROCESS | MSG_REPLY, sequence, garbage_length + 1u)) {
      fail_msg("round %u: no reply to the good frame after %u garbage bytes", (unsigned)round,
               (unsigned)garbage_length);
    }
    assert_int_equal(reply_parser.length, 4u + 4u * count);
    assert_memory_equal(reply_parser.payload, expected, reply_parser.length);
  }
  next_process_frame_works(1, 0u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(stray_bytes_before_a_frame),
      cmocka_unit_test(a_half_typed_line_is_abandoned_with_a_note),
      cmocka_unit_test(an_oversized_frame_with_its_data),
      cmocka_unit_test(a_good_frame_right_after_a_cut_off_one),
      cmocka_unit_test(a_partial_frame_times_out_in_time_not_polls),
      cmocka_unit_test(fuzz_random_bytes_between_good_frames),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
