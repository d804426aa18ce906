#include "firmware/app/line_reader.h"

void line_reader_reset(line_reader_t *reader) {
  reader->length = 0u;
  reader->overflowed = false;
  reader->invalid = false;
  reader->line[0] = '\0';
}

line_reader_status_t line_reader_feed(line_reader_t *reader, uint8_t byte) {
  if (byte == '\r' || byte == '\n') {
    line_reader_status_t status = LINE_READER_PENDING;
    if (reader->overflowed) {
      status = LINE_READER_OVERFLOW;
    } else if (reader->invalid) {
      status = LINE_READER_INVALID;
    } else if (reader->length > 0u) {
      reader->line[reader->length] = '\0';
      status = LINE_READER_LINE;
    }
    reader->length = 0u;
    reader->overflowed = false;
    reader->invalid = false;
    return status;
  }
  if (byte < 0x20u || byte > 0x7Eu) {
    reader->invalid = true;
    return LINE_READER_PENDING;
  }
  if (reader->length + 1u >= LINE_READER_CAPACITY) {
    reader->overflowed = true;
    return LINE_READER_PENDING;
  }
  reader->line[reader->length++] = (char)byte;
  return LINE_READER_PENDING;
}
