/* Host tests of the console line reader: framing, limits and recovery from garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/line_reader.h"

static line_reader_status_t feed_text(line_reader_t *reader, const char *text) {
  line_reader_status_t status = LINE_READER_PENDING;
  for (const char *p = text; *p != '\0'; ++p) {
    status = line_reader_feed(reader, (uint8_t)*p);
  }
  return status;
}

static void crlf_and_lf_end_lines(void **state) {
  (void)state;
  line_reader_t reader;
  line_reader_reset(&reader);
  assert_int_equal(feed_text(&reader, "ping\r"), LINE_READER_LINE);
  assert_string_equal(reader.line, "ping");
  /* The LF of a CRLF ends an empty line, which is ignored. */
  assert_int_equal(line_reader_feed(&reader, '\n'), LINE_READER_PENDING);
  assert_int_equal(feed_text(&reader, "count 5\n"), LINE_READER_LINE);
  assert_string_equal(reader.line, "count 5");
}

static void longest_line_fits_and_one_more_overflows(void **state) {
  (void)state;
  line_reader_t reader;
  line_reader_reset(&reader);
  char text[LINE_READER_CAPACITY + 2];
  memset(text, 'a', LINE_READER_CAPACITY - 1u);
  text[LINE_READER_CAPACITY - 1u] = '\n';
  text[LINE_READER_CAPACITY] = '\0';
  assert_int_equal(feed_text(&reader, text), LINE_READER_LINE);
  assert_int_equal(strlen(reader.line), LINE_READER_CAPACITY - 1u);

  memset(text, 'b', LINE_READER_CAPACITY);
  text[LINE_READER_CAPACITY] = '\n';
  text[LINE_READER_CAPACITY + 1] = '\0';
  assert_int_equal(feed_text(&reader, text), LINE_READER_OVERFLOW);
  /* The next line is read normally: the overflow does not leak into it. */
  assert_int_equal(feed_text(&reader, "ping\n"), LINE_READER_LINE);
  assert_string_equal(reader.line, "ping");
}

static void non_printable_bytes_reject_the_line(void **state) {
  (void)state;
  line_reader_t reader;
  line_reader_reset(&reader);
  const uint8_t garbage[] = {'p', 0x00u, 0xFFu, 0x1Bu, 'x', '\n'};
  line_reader_status_t status = LINE_READER_PENDING;
  for (size_t i = 0; i < sizeof garbage; ++i) {
    status = line_reader_feed(&reader, garbage[i]);
  }
  assert_int_equal(status, LINE_READER_INVALID);
  assert_int_equal(feed_text(&reader, "info\n"), LINE_READER_LINE);
  assert_string_equal(reader.line, "info");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(crlf_and_lf_end_lines),
      cmocka_unit_test(longest_line_fits_and_one_more_overflows),
      cmocka_unit_test(non_printable_bytes_reject_the_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
