/*
 * frame.h - the binary frames of the UART protocol (docs/protocol.md): parsing, byte by
 * byte, and writing.
 *
 * The parser is a bounded state machine: it never reads past its payload buffer, reports
 * each malformed frame once (bad sync, oversized length, CRC) and is ready for the next
 * frame right after. Truncated frames are the caller's to detect (no byte for a while:
 * frame_parser_abort()), since only the caller knows the time.
 */
#ifndef VALVENET_APP_FRAME_H
#define VALVENET_APP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_SYNC0 0xA5u
#define FRAME_SYNC1 0x5Au
#define FRAME_HEADER_BYTES 6u /* sync0, sync1, type, sequence, length (u16) */
#define FRAME_CRC_BYTES 4u
#define FRAME_MAX_PAYLOAD 4100u /* a PROCESS frame of 1024 float32 samples */

typedef enum {
  FRAME_PENDING = 0,     /* nothing complete yet */
  FRAME_READY = 1,       /* a frame with a good CRC is in the parser */
  FRAME_BAD_SYNC = 2,    /* 0xA5 not followed by 0x5A */
  FRAME_BAD_LENGTH = 3,  /* length over FRAME_MAX_PAYLOAD (the parser hunts for sync again) */
  FRAME_BAD_CRC = 4      /* a whole frame arrived but its CRC does not match */
} frame_status_t;

typedef struct {
  uint8_t type;
  uint8_t sequence;
  uint16_t length;
  uint8_t payload[FRAME_MAX_PAYLOAD];
  /* parser position */
  uint32_t stage;    /* which field the next byte belongs to */
  uint32_t received; /* bytes of the current field so far */
  uint32_t crc;      /* running CRC over type .. payload */
  uint8_t crc_bytes[FRAME_CRC_BYTES];
} frame_parser_t;

void frame_parser_reset(frame_parser_t *parser);

/* True between frames (the next byte would have to be a sync byte). */
bool frame_parser_idle(const frame_parser_t *parser);

/* Feeds one byte. After FRAME_READY the frame stays valid until the next feed. */
frame_status_t frame_parser_feed(frame_parser_t *parser, uint8_t byte);

/* Drops a partial frame (the link went quiet part-way): the caller counts it as truncated. */
void frame_parser_abort(frame_parser_t *parser);

/* Writes one frame through `write` (header, payload, CRC) without assembling it in memory. */
typedef void (*frame_write_fn)(const uint8_t *data, size_t length);
void frame_write(frame_write_fn write, uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length);

#endif /* VALVENET_APP_FRAME_H */
