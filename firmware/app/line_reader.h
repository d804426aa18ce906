/*
 * line_reader.h - assembles console bytes into command lines.
 *
 * Bounded: a line longer than the buffer, or one with a byte outside printable ASCII,
 * is reported once it ends and the reader recovers on the next line, so garbage on the
 * UART never wedges the console nor reaches the command parser.
 */
#ifndef VALVENET_LINE_READER_H
#define VALVENET_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_READER_CAPACITY 128u /* bytes, including the terminating NUL */

typedef enum {
  LINE_READER_PENDING = 0,  /* no complete line yet */
  LINE_READER_LINE = 1,     /* a line is ready in line_reader_t.line */
  LINE_READER_OVERFLOW = 2, /* a line ended that was too long; it was discarded */
  LINE_READER_INVALID = 3   /* a line ended that held a non-printable byte; discarded */
} line_reader_status_t;

typedef struct {
  char line[LINE_READER_CAPACITY];
  size_t length;
  bool overflowed;
  bool invalid;
} line_reader_t;

void line_reader_reset(line_reader_t *reader);

/* Feeds one byte. CR, LF or CRLF end a line; empty lines are ignored. */
line_reader_status_t line_reader_feed(line_reader_t *reader, uint8_t byte);

#endif /* VALVENET_LINE_READER_H */
