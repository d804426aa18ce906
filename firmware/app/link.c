#include "firmware/app/link.h"

#include <stdio.h>

void link_init(link_t *link, protocol_t *protocol, link_line_fn on_line, void *context, link_clock_fn clock_ms) {
  link->protocol = protocol;
  line_reader_reset(&link->reader);
  link->line_bytes = 0u;
  link->on_line = on_line;
  link->context = context;
  link->clock_ms = clock_ms;
}

/* A frame begins while a console line is open: the line is dropped, and the console says so
 * (before the frame's reply, so a person at a terminal sees why the line did nothing). */
static void abandon_line(link_t *link) {
  char note[64];
  const int n = snprintf(note, sizeof note, "NOTE console line dropped (%u bytes): a frame began\r\n",
                         (unsigned)link->line_bytes);
  protocol_count_skipped(link->protocol, link->line_bytes);
  line_reader_reset(&link->reader);
  link->line_bytes = 0u;
  link->protocol->write((const uint8_t *)note, (size_t)n);
}

static void console_byte(link_t *link, uint8_t byte) {
  const bool line_end = byte == '\r' || byte == '\n';
  link->line_bytes += line_end ? 0u : 1u;
  const line_reader_status_t status = line_reader_feed(&link->reader, byte);
  if (status == LINE_READER_OVERFLOW || status == LINE_READER_INVALID) {
    protocol_count_skipped(link->protocol, link->line_bytes);
  }
  if (line_end) {
    link->line_bytes = 0u;
  }
  if (status != LINE_READER_PENDING) {
    link->on_line(link->context, status, link->reader.line);
  }
}

void link_receive(link_t *link, uint8_t byte) {
  const bool between_frames = protocol_idle(link->protocol);
  if (between_frames && byte != FRAME_SYNC0) {
    console_byte(link, byte);
    return;
  }
  if (between_frames && link->line_bytes > 0u) {
    abandon_line(link);
  }
  protocol_feed(link->protocol, byte);
}

void link_quiet(link_t *link) {
  if (!protocol_idle(link->protocol)) {
    protocol_poll_idle(link->protocol, link->clock_ms());
  }
}
