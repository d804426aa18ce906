#include "firmware/app/frame.h"

#include "firmware/app/crc32.h"

enum { STAGE_SYNC0 = 0, STAGE_SYNC1, STAGE_TYPE, STAGE_SEQUENCE, STAGE_LENGTH, STAGE_PAYLOAD, STAGE_CRC };

void frame_parser_reset(frame_parser_t *parser) {
  parser->stage = STAGE_SYNC0;
  parser->received = 0u;
  parser->length = 0u;
}

bool frame_parser_idle(const frame_parser_t *parser) { return parser->stage == STAGE_SYNC0; }

void frame_parser_abort(frame_parser_t *parser) { frame_parser_reset(parser); }

static uint32_t crc_byte(uint32_t crc, uint8_t byte) { return crc32_update(crc, &byte, 1u); }

static frame_status_t finish(frame_parser_t *parser) {
  const uint32_t sent = (uint32_t)parser->crc_bytes[0] | ((uint32_t)parser->crc_bytes[1] << 8) |
                        ((uint32_t)parser->crc_bytes[2] << 16) | ((uint32_t)parser->crc_bytes[3] << 24);
  const uint32_t computed = crc32_update(parser->crc, parser->payload, parser->length);
  parser->stage = STAGE_SYNC0;
  parser->received = 0u;
  return sent == computed ? FRAME_READY : FRAME_BAD_CRC;
}

frame_status_t frame_parser_feed(frame_parser_t *parser, uint8_t byte) {
  switch (parser->stage) {
    case STAGE_SYNC0:
      if (byte == FRAME_SYNC0) {
        parser->stage = STAGE_SYNC1;
        parser->type = 0u; /* unknown until its byte arrives (error replies say 0) */
        parser->sequence = 0u;
      }
      return FRAME_PENDING; /* anything else between frames is not ours (text console) */
    case STAGE_SYNC1:
      if (byte != FRAME_SYNC1) {
        parser->stage = byte == FRAME_SYNC0 ? STAGE_SYNC1 : STAGE_SYNC0;
        return FRAME_BAD_SYNC;
      }
      parser->stage = STAGE_TYPE;
      return FRAME_PENDING;
    case STAGE_TYPE:
      parser->type = byte;
      parser->crc = crc_byte(0u, byte);
      parser->stage = STAGE_SEQUENCE;
      return FRAME_PENDING;
    case STAGE_SEQUENCE:
      parser->sequence = byte;
      parser->crc = crc_byte(parser->crc, byte);
      parser->stage = STAGE_LENGTH;
      parser->received = 0u;
      return FRAME_PENDING;
    case STAGE_LENGTH:
      parser->crc = crc_byte(parser->crc, byte);
      if (parser->received == 0u) {
        parser->length = byte;
        parser->received = 1u;
        return FRAME_PENDING;
      }
      parser->length = (uint16_t)(parser->length | ((uint16_t)byte << 8));
      parser->received = 0u;
      if (parser->length > FRAME_MAX_PAYLOAD) {
        parser->stage = STAGE_SYNC0;
        return FRAME_BAD_LENGTH;
      }
      parser->stage = parser->length > 0u ? STAGE_PAYLOAD : STAGE_CRC;
      return FRAME_PENDING;
    case STAGE_PAYLOAD:
      parser->payload[parser->received++] = byte;
      if (parser->received == parser->length) {
        parser->stage = STAGE_CRC;
        parser->received = 0u;
      }
      return FRAME_PENDING;
    case STAGE_CRC:
      parser->crc_bytes[parser->received++] = byte;
      return parser->received == FRAME_CRC_BYTES ? finish(parser) : FRAME_PENDING;
    default:
      frame_parser_reset(parser);
      return FRAME_PENDING;
  }
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
