/*
 * frame.h - the binary frames of the UART protocol (docs/protocol.md): parsing, byte by
 * byte, and writing.
 *
 * The parser is a bounded state machine over one buffer that holds the frame being received
 * (header, payload, CRC). It never reads past that buffer and reports each malformed frame
 * once (bad sync, oversized length, CRC, truncated). It resynchronises on its own: a rejected
 * frame's bytes after its first are searched again for a sync byte, so a good frame that
 * arrived inside a broken one (a frame sent right after a cut-off one, a sync word hidden in
 * the garbage before a frame) is still found. A candidate that began inside a rejected frame
 * is not reported when it fails too (a cut-off frame's payload is not a stream of errors):
 * only a good frame found there is. The bytes given up while hunting are counted
 * (frame_parser_t.skipped). Truncated frames are the caller's to detect (no byte for a
 * while: frame_parser_abort()), since only the caller knows the time.
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
#define FRAME_MAX_BYTES (FRAME_HEADER_BYTES + FRAME_MAX_PAYLOAD + FRAME_CRC_BYTES)

typedef enum {
  FRAME_PENDING = 0,     /* nothing complete yet */
  FRAME_READY = 1,       /* a frame with a good CRC is in the parser */
  FRAME_BAD_SYNC = 2,    /* 0xA5 not followed by 0x5A */
  FRAME_BAD_LENGTH = 3,  /* length over FRAME_MAX_PAYLOAD */
  FRAME_BAD_CRC = 4      /* a whole frame arrived but its CRC does not match */
} frame_status_t;

typedef struct {
  /* the last frame reported (READY, or the rejected one: type and sequence as far as known) */
  uint8_t type;
  uint8_t sequence;
  uint16_t length;
  uint8_t *payload; /* into raw; valid after FRAME_READY until the next feed */
  /* parser position */
  uint8_t raw[FRAME_MAX_BYTES]; /* the candidate frame; raw[0] is FRAME_SYNC0 while held > 0 */
  uint32_t held;                /* bytes of raw in use (0: between frames) */
  uint32_t scanned;             /* bytes of raw the state machine has examined */
  uint32_t skipped;             /* bytes dropped while hunting for a sync, since reset */
  bool found_in_rejected;       /* the candidate began inside a rejected frame's bytes */
} frame_parser_t;

void frame_parser_reset(frame_parser_t *parser);

/* True between frames (the next byte would have to be a sync byte). */
bool frame_parser_idle(const frame_parser_t *parser);

/* Feeds one byte: a byte other than FRAME_SYNC0 between frames is not the parser's and is
 * ignored (FRAME_PENDING; the caller gives it to the text console). Returns the first event
 * this byte completes. After a rejection the parser may hold bytes not yet examined: call
 * frame_parser_next() until it returns FRAME_PENDING. After FRAME_READY the frame stays
 * valid until the next feed or next. */
frame_status_t frame_parser_feed(frame_parser_t *parser, uint8_t byte);

/* Examines held bytes not yet examined (after a rejection or an abort): the next event, or
 * FRAME_PENDING when all held bytes are examined and the frame needs more. */
frame_status_t frame_parser_next(frame_parser_t *parser);

/* Gives up on a partial frame (the link went quiet part-way); the bytes after its first are
 * searched for a sync (frame_parser_next()). True if the caller should report it as
 * truncated (false for a candidate that began inside a rejected frame: just skipped). */
bool frame_parser_abort(frame_parser_t *parser);

/* Writes one frame through `write` (header, payload, CRC) without assembling it in memory. */
typedef void (*frame_write_fn)(const uint8_t *data, size_t length);
void frame_write(frame_write_fn write, uint8_t type, uint8_t sequence, const uint8_t *payload, uint16_t length);

#endif /* VALVENET_APP_FRAME_H */
