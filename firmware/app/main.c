/*
 * main.c - the ValveNet firmware application: banner, self-test, then the main loop, which
 * serves the pedal's audio blocks first (firmware/app/pedal.h) and the UART between them.
 *
 * One UART carries both the text console (people, boot checks) and the binary protocol
 * (programs): firmware/app/link.h routes each byte (the byte 0xA5 starts a frame whatever
 * came before it, docs/protocol.md). Board-neutral: everything board-specific is behind
 * firmware/boards/board.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "firmware/app/cabinet_table.h"
#include "firmware/app/commands.h"
#include "firmware/app/line_reader.h"
#include "firmware/app/link.h"
#include "firmware/app/model_table.h"
#include "firmware/app/pedal.h"
#include "firmware/app/pedal_boot.h"
#include "firmware/app/pedal_commands.h"
#include "firmware/app/protocol.h"
#include "firmware/app/selftest.h"
#include "firmware/boards/board.h"

static void write_line(const char *text, size_t length) {
  board_uart_write((const uint8_t *)text, length);
  board_uart_write((const uint8_t *)"\r\n", 2u);
}

/* One self-test line per model that has a clip: the first thing a test waits for. */
static void boot_selftest(char *line, size_t capacity) {
  for (uint32_t i = 0; i < model_table_count; ++i) {
    if (model_table[i].clip != NULL) {
      selftest_result_t result;
      selftest_run(&model_table[i], model_table_state(), &result);
      write_line(line, selftest_format(&model_table[i], &result, line, capacity));
      board_watchdog_kick();
    }
  }
}

/* What the console answers a line with; the context is the pedal (NULL: none). */
static void console_line(void *context, line_reader_status_t status, const char *line) {
  static char reply[COMMANDS_REPLY_CAPACITY];
  pedal_t *pedal = context;
  switch (status) {
    case LINE_READER_LINE:
      if (pedal != NULL && pedal_commands_execute(pedal, line, reply, sizeof reply)) {
        write_line(reply, strlen(reply));
      } else {
        write_line(reply, commands_execute(line, reply, sizeof reply));
      }
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

/* The pedal on the first model and the image's cabinet; NULL in an image without models or
 * pedal. The NUCLEO amp image starts its codec stream here (pedal_boot). */
static pedal_t *pedal_boot_up(pedal_t *pedal, char *line, size_t capacity) {
  if (model_table_count == 0u || pedal == NULL) {
    return NULL;
  }
  pedal_init(pedal, model_table[0].model, model_table_state(), &cabinet_table);
  if (pedal_boot.sample_rate != 0u) {
    const pedal_stream_t stream = {.source = BOARD_AUDIO_CODEC, .sample_rate = pedal_boot.sample_rate,
                                   .block = pedal_boot.block};
    const pedal_start_t status = pedal_start(pedal, &stream);
    if (status != PEDAL_START_OK) {
      int n = snprintf(line, capacity, "PEDAL failed to start: ");
      pedal_start_explain(pedal, &stream, status, line + n, capacity - (size_t)n);
      write_line(line, strlen(line));
      return pedal;
    }
    write_line(line, (size_t)snprintf(line, capacity, "PEDAL started rate=%u block=%u cabinet=%s",
                                      (unsigned)pedal_boot.sample_rate, (unsigned)pedal_boot.block,
                                      cabinet_table.length > 0u ? cabinet_table.name : "none"));
  }
  return pedal;
}

int main(void) {
  static char reply[COMMANDS_REPLY_CAPACITY];
  static protocol_t protocol;
  static link_t link;

  board_init();
  write_line(reply, commands_banner(reply, sizeof reply));
  boot_selftest(reply, sizeof reply);

  pedal_t *pedal = pedal_boot_up(pedal_storage, reply, sizeof reply);
  protocol_init(&protocol, board_uart_write, pedal);
  link_init(&link, &protocol, console_line, pedal, board_millis);
  for (;;) {
    board_watchdog_kick();
    if (pedal != NULL && pedal_poll(pedal)) {
      continue; /* a block was due: check for the next before serving the UART */
    }
    if (pedal != NULL) {
      pedal_pot_poll(pedal, pedal_boot.pot_knob, board_millis());
    }
    protocol_poll(&protocol);
    uint8_t byte;
    if (board_uart_read_byte(&byte)) {
      link_receive(&link, byte);
    } else {
      link_quiet(&link);
    }
  }
}
