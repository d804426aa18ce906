#include "firmware/app/frame.h"

#include <string.h>

#include "firmware/app/crc32.h"

/* Offsets in a frame (docs/protocol.md). */
enum { AT_SYNC1 = 1, AT_TYPE = 2, AT_SEQUENCE = 3, AT_LENGTH_HIGH = 5 };

void frame_parser_reset(frame_parser_t *parser) {
  parser->held = 0u;
  parser->scanned = 0u;
  parser->skipped = 0u;
  parser->type = 0u;
  parser->sequence = 0u;
  parser->length = 0u;
  parser->payload = parser->raw + FRAME_HEADER_BYTES;
  parser->found_in_rejected = false;
}

bool frame_parser_idle(const frame_parser_t *parser) { return parser->held == 0u; }

/* Drops the rejected candidate's first byte and everything up to the next sync byte among
 * the bytes it held; those bytes are examined again as a new candidate. */
static void resync(frame_parser_t *parser) {
  uint32_t next = 1u;
  while (next < parser->held && parser->raw[next] != FRAME_SYNC0) {
    ++next;
  }
  parser->skipped += next;
  parser->held -= next;
  memmove(parser->raw, parser->raw + next, parser->held);
  parser->scanned = 0u;
  parser->found_in_rejected = parser->held > 0u;
}

static uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* A whole candidate: READY (any bytes held after it were garbage: dropped) or BAD_CRC. */
static frame_status_t finish(frame_parser_t *parser) {
  const uint32_t body = 4u + parser->length; /* type .. payload */
  const uint32_t computed = crc32_update(0u, parser->raw + AT_TYPE, body);
  if (get_le32(parser->raw + AT_TYPE + body) != computed) {
    return FRAME_BAD_CRC;
  }
  parser->skipped += parser->held - parser->scanned;
  parser->held = 0u; /* the frame stays in raw until the next byte is fed */
  parser->scanned = 0u;
  return FRAME_READY;
}

/* Examines raw[scanned]: the event it completes, or FRAME_PENDING. */
static frame_status_t examine(frame_parser_t *parser) {
  const uint32_t at = parser->scanned++;
  const uint8_t byte = parser->raw[at];
  switch (at) {
    case 0u:
      parser->type = 0u; /* unknown until its byte arrives (error replies say 0) */
      parser->sequence = 0u;
      parser->length = 0u;
      return FRAME_PENDING;
    case AT_SYNC1:
      return byte == FRAME_SYNC1 ? FRAME_PENDING : FRAME_BAD_SYNC;
    case AT_TYPE:
      parser->type = byte;
      return FRAME_PENDING;
    case AT_SEQUENCE:
      parser->sequence = byte;
      return FRAME_PENDING;
    case AT_LENGTH_HIGH:
      parser->length = (uint16_t)(parser->raw[AT_LENGTH_HIGH - 1u] | ((uint16_t)byte << 8));
      return parser->length > FRAME_MAX_PAYLOAD ? FRAME_BAD_LENGTH : FRAME_PENDING;
    default:
      break;
  }
  if (at > AT_LENGTH_HIGH && parser->scanned == FRAME_HEADER_BYTES + parser->length + FRAME_CRC_BYTES) {
    return finish(parser);
  }
  return FRAME_PENDING;
}

frame_status_t frame_parser_next(frame_parser_t *parser) {
  while (parser->scanned < parser->held) {
    const frame_status_t status = examine(parser);
    if (status == FRAME_READY) {
      return status;
    }
    if (status != FRAME_PENDING) {
      const bool report = !parser->found_in_rejected;
      resync(parser);
      if (report) {
        return status;
      }
    }
  }
  return FRAME_PENDING;
}

frame_status_t frame_parser_feed(frame_parser_t *parser, uint8_t byte) {
  if (parser->held == 0u && byte != FRAME_SYNC0) {
    return FRAME_PENDING; /* between frames: not ours (the text console's) */
  }
  if (parser->held == FRAME_MAX_BYTES) { /* only if the caller left events in the parser */
    parser->skipped++;
    return frame_parser_next(parser);
  }
  if (parser->held == 0u) {
    parser->found_in_rejected = false; /* a sync byte between frames: a candidate of its own */
  }
  parser->raw[parser->held++] = byte;
  return frame_parser_next(parser);
}

bool frame_parser_abort(frame_parser_t *parser) {
  const bool report = parser->held > 0u && !parser->found_in_rejected;
  if (parser->held > 0u) {
    resync(parser);
  }
  return report;
}

void frame_write(frame_write_fn write, uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length) {
  const uint8_t header[FRAME_HEADER_BYTES] = {FRAME_SYNC0, FRAME_SYNC1, type, sequence, (uint8_t)(length & 0xFFu),
                                             (uint8_t)(length >> 8)};
  uint32_t crc = crc32_update(0u, header + 2, FRAME_HEADER_BYTES - 2u);
  crc = crc32_update(crc, payload, length);
  const uint8_t trailer[FRAME_CRC_BYTES] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16),
                                            (uint8_t)(crc >> 24)};
  write(header, sizeof header);
  if (length > 0u) {
    write(payload, length);
  }
  write(trailer, sizeof trailer);
}
