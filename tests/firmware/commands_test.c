/* Host tests of the console commands, linked with the host board (no work counter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/app/commands.h"

static char reply[COMMANDS_REPLY_CAPACITY];

static const char *run(const char *line) {
  size_t length = commands_execute(line, reply, sizeof reply);
  assert_int_equal(length, strlen(reply));
  return reply;
}

static void ping_answers_pong(void **state) {
  (void)state;
  assert_string_equal(run("ping"), "pong");
}

static void info_repeats_banner_with_ok(void **state) {
  (void)state;
  char banner[COMMANDS_REPLY_CAPACITY];
  commands_banner(banner, sizeof banner);
  assert_non_null(strstr(banner, "board=host"));
  assert_non_null(strstr(banner, "counter=none"));
  assert_int_equal(strncmp(run("info"), "OK ", 3), 0);
  assert_string_equal(reply + 3, banner);
}

static void count_validates_its_argument(void **state) {
  (void)state;
  const char *bad[] = {"count", "count 0", "count -1", "count 12abc", "count 99999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    assert_int_equal(strncmp(run(bad[i]), "ERR count needs", 15), 0);
  }
  /* A valid count on a board without a counter says so instead of printing zeros. */
  assert_string_equal(run("count 10"), "ERR counter not available on host");
}

static void unknown_and_malformed_commands_are_errors(void **state) {
  (void)state;
  assert_string_equal(run("frobnicate"), "ERR unknown command: frobnicate");
  assert_string_equal(run("ping extra"), "ERR unknown command: ping");
  assert_string_equal(run(" ping"), "ERR unknown command");
  assert_string_equal(run("averyveryveryveryverylongcommandname"), "ERR unknown command");
  assert_int_equal(strncmp(run("exit 256"), "ERR exit needs", 14), 0);
}

static void replies_are_truncated_to_the_buffer(void **state) {
  (void)state;
  char small[8];
  size_t length = commands_execute("info", small, sizeof small);
  assert_int_equal(length, sizeof small - 1u);
  assert_string_equal(small, "OK Valv");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ping_answers_pong),
      cmocka_unit_test(info_repeats_banner_with_ok),
      cmocka_unit_test(count_validates_its_argument),
      cmocka_unit_test(unknown_and_malformed_commands_are_errors),
      cmocka_unit_test(replies_are_truncated_to_the_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
