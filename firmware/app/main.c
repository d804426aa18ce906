/*
 * main.c - the ValveNet firmware application: banner, then the command loop.
 *
 * Board-neutral: everything board-specific is behind firmware/boards/board.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "firmware/app/commands.h"
#include "firmware/app/line_reader.h"
#include "firmware/boards/board.h"

static void write_line(const char *text, size_t length) {
  board_uart_write((const uint8_t *)text, length);
  board_uart_write((const uint8_t *)"\r\n", 2u);
}

int main(void) {
  static char reply[COMMANDS_REPLY_CAPACITY];
  static line_reader_t reader;

  board_init();
  write_line(reply, commands_banner(reply, sizeof reply));

  line_reader_reset(&reader);
  for (;;) {
    uint8_t byte;
    if (!board_uart_read_byte(&byte)) {
      continue;
    }
    switch (line_reader_feed(&reader, byte)) {
      case LINE_READER_LINE:
        write_line(reply, commands_execute(reader.line, reply, sizeof reply));
        break;
      case LINE_READER_OVERFLOW:
        write_line(reply, (size_t)snprintf(reply, sizeof reply, "ERR line too long (max %u bytes)",
                                           (unsigned)(LINE_READER_CAPACITY - 1u)));
        break;
      case LINE_READER_INVALID:
        write_line(reply, (size_t)snprintf(reply, sizeof reply, "ERR non-printable byte in line"));
        break;
      default:
        break;
    }
  }
}
