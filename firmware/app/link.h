/*
 * link.h - one UART, two users: routes each received byte to the binary protocol or to the
 * text console (docs/protocol.md, "Text and frames on one line").
 *
 * The byte FRAME_SYNC0 never occurs in a text line, so it starts a frame whatever came
 * before it: a console line still open (a stray byte, a half-typed command) is abandoned
 * with a note on the console, and its bytes are counted as skipped. So no garbage between
 * frames can keep the next frame from being read. Board-neutral: time comes from the clock
 * given at init, replies go through the protocol's write function.
 */
#ifndef VALVENET_APP_LINK_H
#define VALVENET_APP_LINK_H

#include <stdint.h>

#include "firmware/app/line_reader.h"
#include "firmware/app/protocol.h"

/* A console line ended (LINE_READER_LINE, _OVERFLOW or _INVALID): the caller answers it. */
typedef void (*link_line_fn)(void *context, line_reader_status_t status, const char *line);

/* Milliseconds, modulo 2^32 (board_millis() on a board, a fake clock in tests). */
typedef uint32_t (*link_clock_fn)(void);

typedef struct {
  protocol_t *protocol;
  line_reader_t reader;
  uint32_t line_bytes; /* bytes of the open console line, kept or not */
  link_line_fn on_line;
  void *context;
  link_clock_fn clock_ms;
} link_t;

void link_init(link_t *link, protocol_t *protocol, link_line_fn on_line, void *context, link_clock_fn clock_ms);

/* One received byte. */
void link_receive(link_t *link, uint8_t byte);

/* One main-loop turn without a received byte: times out a partial frame. */
void link_quiet(link_t *link);

#endif /* VALVENET_APP_LINK_H */
