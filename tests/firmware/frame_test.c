/* Host tests of the protocol's frames: CRC-32 as zlib computes it, the parser on good and
 * malformed frames (each reported once, then ready for the next frame), and the writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/crc32.h"
#include "firmware/app/frame.h"

static uint8_t written[FRAME_HEADER_BYTES + FRAME_MAX_PAYLOAD + FRAME_CRC_BYTES];
static size_t written_length;

static void capture(const uint8_t *data, size_t length) {
  memcpy(written + written_length, data, length);
  written_length += length;
}

static size_t make_frame(uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length) {
  written_length = 0u;
  frame_write(capture, type, sequence, payload, length);
  return written_length;
}

static frame_status_t feed_all(frame_parser_t *parser, const uint8_t *data, size_t length, size_t *statuses) {
  frame_status_t last = FRAME_PENDING;
  *statuses = 0u;
  for (size_t i = 0; i < length; ++i) {
    frame_status_t status = frame_parser_feed(parser, data[i]);
    if (status != FRAME_PENDING) {
      last = status;
      ++*statuses;
    }
  }
  return last;
}

static void crc_matches_zlib(void **state) {
  (void)state;
  /* zlib.crc32(b"123456789") == 0xCBF43926, the CRC-32/ISO-HDLC check value */
  assert_int_equal(crc32_update(0u, (const uint8_t *)"123456789", 9u), 0xCBF43926u);
  /* incremental == whole */
  uint32_t crc = crc32_update(0u, (const uint8_t *)"1234", 4u);
  assert_int_equal(crc32_update(crc, (const uint8_t *)"56789", 5u), 0xCBF43926u);
  assert_int_equal(crc32_update(0u, NULL, 0u), 0u);
}

static void written_frame_parses_back(void **state) {
  (void)state;
  static frame_parser_t parser;
  const uint8_t payload[5] = {1, 2, 3, 0xA5, 0x5A};
  size_t n = make_frame(0x03, 7, payload, sizeof payload), statuses;
  assert_int_equal(n, FRAME_HEADER_BYTES + sizeof payload + FRAME_CRC_BYTES);
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
  assert_int_equal(statuses, 1u);
  assert_int_equal(parser.type, 0x03);
  assert_int_equal(parser.sequence, 7);
  assert_int_equal(parser.length, sizeof payload);
  assert_memory_equal(parser.payload, payload, sizeof payload);
  assert_true(frame_parser_idle(&parser));
  /* an empty payload works too */
  n = make_frame(0x05, 8, NULL, 0u);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
  assert_int_equal(parser.length, 0u);
}

static void corrupted_crc_is_reported_once_and_the_next_frame_parses(void **state) {
  (void)state;
  static frame_parser_t parser;
  static uint8_t stream[64];
  const uint8_t payload[3] = {9, 8, 7};
  size_t n = make_frame(0x01, 1, payload, sizeof payload), statuses;
  memcpy(stream, written, n);
  stream[FRAME_HEADER_BYTES + 1u] ^= 0x40u; /* one payload bit */
  size_t m = make_frame(0x02, 2, NULL, 0u);
  memcpy(stream + n, written, m);
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, stream, n, &statuses), FRAME_BAD_CRC);
  assert_int_equal(statuses, 1u);
  assert_int_equal(feed_all(&parser, stream + n, m, &statuses), FRAME_READY);
  assert_int_equal(parser.type, 0x02);
}

static void oversized_length_is_rejected_before_any_payload(void **state) {
  (void)state;
  static frame_parser_t parser;
  const uint16_t length = FRAME_MAX_PAYLOAD + 1u;
  const uint8_t header[6] = {FRAME_SYNC0, FRAME_SYNC1, 0x03, 1, (uint8_t)length, (uint8_t)(length >> 8)};
  size_t statuses;
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, header, sizeof header, &statuses), FRAME_BAD_LENGTH);
  assert_true(frame_parser_idle(&parser)); /* hunting for the next sync */
  size_t n = make_frame(0x01, 3, NULL, 0u);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
}

static void bad_sync_and_garbage_between_frames(void **state) {
  (void)state;
  static frame_parser_t parser;
  const uint8_t garbage[6] = {'p', 'i', 'n', 'g', FRAME_SYNC0, 0x00};
  size_t statuses;
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, garbage, sizeof garbage, &statuses), FRAME_BAD_SYNC);
  assert_int_equal(statuses, 1u); /* text bytes are ignored, only the broken sync counts */
  /* A5 A5 5A: the second A5 may start the real frame */
  const uint8_t doubled[1] = {FRAME_SYNC0};
  feed_all(&parser, doubled, 1u, &statuses);
  size_t n = make_frame(0x01, 4, NULL, 0u);
  /* A5 A5 is one bad sync, and the second A5 starts the frame that follows */
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
  assert_int_equal(statuses, 2u);
  assert_int_equal(parser.sequence, 4);
}

static void abort_drops_a_partial_frame(void **state) {
  (void)state;
  static frame_parser_t parser;
  const uint8_t payload[8] = {0};
  size_t n = make_frame(0x03, 5, payload, sizeof payload), statuses;
  frame_parser_reset(&parser);
  feed_all(&parser, written, 9u, &statuses);
  assert_false(frame_parser_idle(&parser));
  frame_parser_abort(&parser);
  assert_true(frame_parser_idle(&parser));
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
}

static void largest_payload_fits(void **state) {
  (void)state;
  static frame_parser_t parser;
  static uint8_t payload[FRAME_MAX_PAYLOAD];
  for (size_t i = 0; i < sizeof payload; ++i) {
    payload[i] = (uint8_t)(i * 7u);
  }
  size_t n = make_frame(0x03, 6, payload, FRAME_MAX_PAYLOAD), statuses;
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
  assert_memory_equal(parser.payload, payload, sizeof payload);
}

/* A frame cut off part-way and a good one sent right after it: the cut-off frame takes the
 * good one's first bytes and fails its CRC; the good one is found again among them. */
static void a_frame_right_after_a_cut_off_one_is_found(void **state) {
  (void)state;
  static frame_parser_t parser;
  static uint8_t stream[128];
  const uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t cut = make_frame(0x03, 1, payload, sizeof payload) - 9u, statuses; /* 9 of 18 bytes */
  memcpy(stream, written, cut);
  size_t good = make_frame(0x03, 2, payload, 4u);
  memcpy(stream + cut, written, good);
  frame_parser_reset(&parser);
  frame_status_t last = FRAME_PENDING;
  size_t events = 0u;
  for (size_t i = 0; i < cut + good; ++i) {
    for (frame_status_t s = frame_parser_feed(&parser, stream[i]); s != FRAME_PENDING; s = frame_parser_next(&parser)) {
      last = s;
      ++events;
    }
  }
  assert_int_equal(events, 2u); /* the cut-off frame's CRC, then the good frame */
  assert_int_equal(last, FRAME_READY);
  assert_int_equal(parser.sequence, 2);
  assert_int_equal(parser.length, 4u);
  assert_memory_equal(parser.payload, payload, 4u);
  assert_true(frame_parser_idle(&parser));
  assert_int_equal(parser.skipped, 9u); /* the cut-off frame's bytes */
  size_t n = make_frame(0x01, 3, NULL, 0u);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_READY);
  assert_int_equal(parser.sequence, 3);
}

/* A sync word in the garbage before a frame starts a candidate long enough to swallow the
 * frame; when the link goes quiet the candidate is given up and the frame inside it found. */
static void a_frame_inside_a_bogus_candidate_is_found_after_an_abort(void **state) {
  (void)state;
  static frame_parser_t parser;
  const uint8_t bogus[6] = {FRAME_SYNC0, FRAME_SYNC1, 0x03, 9, 0x00, 0x10}; /* 4096 bytes */
  const uint8_t payload[3] = {7, 7, 7};
  size_t n = make_frame(0x03, 4, payload, sizeof payload), statuses;
  frame_parser_reset(&parser);
  assert_int_equal(feed_all(&parser, bogus, sizeof bogus, &statuses), FRAME_PENDING);
  assert_int_equal(feed_all(&parser, written, n, &statuses), FRAME_PENDING);
  frame_parser_abort(&parser);
  assert_int_equal(frame_parser_next(&parser), FRAME_READY);
  assert_int_equal(parser.sequence, 4);
  assert_memory_equal(parser.payload, payload, sizeof payload);
  assert_int_equal(parser.skipped, sizeof bogus);
  assert_int_equal(frame_parser_next(&parser), FRAME_PENDING);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crc_matches_zlib),
      cmocka_unit_test(written_frame_parses_back),
      cmocka_unit_test(corrupted_crc_is_reported_once_and_the_next_frame_parses),
      cmocka_unit_test(oversized_length_is_rejected_before_any_payload),
      cmocka_unit_test(bad_sync_and_garbage_between_frames),
      cmocka_unit_test(abort_drops_a_partial_frame),
      cmocka_unit_test(largest_payload_fits),
      cmocka_unit_test(a_frame_right_after_a_cut_off_one_is_found),
      cmocka_unit_test(a_frame_inside_a_bogus_candidate_is_found_after_an_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
