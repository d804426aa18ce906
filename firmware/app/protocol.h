/*
 * protocol.h - the binary UART protocol's messages (docs/protocol.md): INFO, RESET,
 * PROCESS, BENCH, STATS, SELFTEST, SELECT; the pedal's AUDIO_START, AUDIO_STOP, PARAM, SOURCE,
 * SINK; and ERROR replies.
 *
 * Board-neutral (replies go through a write function, time is passed in) so host tests drive
 * it byte by byte with a fake clock.
 * A rejected frame only increments its STATS counter and gets an ERROR reply: the model's
 * streaming state and the parser are ready for the next frame.
 */
#ifndef VALVENET_APP_PROTOCOL_H
#define VALVENET_APP_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/app/frame.h"
#include "firmware/app/pedal.h"

#define PROTOCOL_VERSION 3u
#define PROTOCOL_MAX_SAMPLES 1024u
/* Quiet time after which a partial frame counts as truncated (board_millis(): target time).
 * On a board a frame's bytes arrive back to back (at 115,200 baud a byte takes 0.09 ms). In an
 * emulator target time runs on while the host's side of the UART is starved of CPU (QEMU
 * -icount: it is the instructions the firmware executes while it polls, ~10^9 a second). At
 * 100 and at 250 ms a busy 2-core machine cut real frames short in QEMU, so the timeout is a
 * second; that only delays the report of a frame that really stopped. */
#define PROTOCOL_FRAME_TIMEOUT_MS 1000u
/* u32 values in a STATS reply (docs/protocol.md; the host's STATS_FIELDS names them). */
#define PROTOCOL_STATS_FIELDS 21u

enum {
  MSG_INFO = 0x01,
  MSG_RESET = 0x02,
  MSG_PROCESS = 0x03,
  MSG_BENCH = 0x04,
  MSG_STATS = 0x05,
  MSG_SELFTEST = 0x06,
  MSG_SELECT = 0x07,
  MSG_AUDIO_START = 0x08,
  MSG_AUDIO_STOP = 0x09,
  MSG_PARAM = 0x0A,
  MSG_SOURCE = 0x0B,
  MSG_SINK = 0x0C,
  MSG_REPLY = 0x80, /* reply type = request type | MSG_REPLY */
  MSG_ERROR = 0xFF
};

enum { SAMPLE_FLOAT32 = 1, SAMPLE_INT16 = 2 };

/* AUDIO_START's flags (its second byte). */
#define AUDIO_START_ANY_RATE 0x01u /* run the model at a rate it was not trained at */

typedef enum {
  PROTOCOL_ERR_SYNC = 1,
  PROTOCOL_ERR_LENGTH = 2,
  PROTOCOL_ERR_CRC = 3,
  PROTOCOL_ERR_TRUNCATED = 4,
  PROTOCOL_ERR_TYPE = 5,
  PROTOCOL_ERR_PAYLOAD = 6,
  PROTOCOL_ERR_NO_MODEL = 7,
  PROTOCOL_ERR_BUSY = 8, /* needs the model while the audio stream runs */
  PROTOCOL_ERR_AUDIO = 9 /* the board cannot start that stream */
} protocol_error_t;

typedef struct {
  uint32_t frames_ok;
  uint32_t rejected_sync;
  uint32_t rejected_length;
  uint32_t rejected_crc;
  uint32_t rejected_truncated;
  uint32_t rejected_type;
  uint32_t rejected_payload;
  uint32_t samples_processed;
  uint32_t console_skipped; /* console bytes dropped (protocol_count_skipped()) */
} protocol_stats_t;

typedef struct {
  frame_parser_t parser;
  protocol_stats_t stats;
  frame_write_fn write;
  pedal_t *pedal;      /* the audio stream and its chain (NULL: no pedal messages) */
  uint32_t model;      /* selected entry of model_table */
  bool quiet;           /* a frame is partial and no byte came since quiet_since_ms */
  uint32_t quiet_since_ms;
  float audio[PROTOCOL_MAX_SAMPLES];
} protocol_t;

/* Selects model 0 (reset) and clears the counters. The pedal (already initialised with model
 * 0) may be NULL in an image without models. */
void protocol_init(protocol_t *protocol, frame_write_fn write, pedal_t *pedal);

/* True between frames: the next byte belongs to the text console unless it is FRAME_SYNC0. */
bool protocol_idle(const protocol_t *protocol);

/* One received byte: answers each complete (or rejected) frame through `write`, and any
 * good frame the parser finds again inside a rejected one. */
void protocol_feed(protocol_t *protocol, uint8_t byte);

/* One main-loop poll without a byte, at `now_ms` (board_millis()): a frame left partial for
 * PROTOCOL_FRAME_TIMEOUT_MS is dropped and answered with ERROR TRUNCATED (then a good frame
 * held inside it is answered too). */
void protocol_poll_idle(protocol_t *protocol, uint32_t now_ms);

/* Counts bytes the text console dropped between frames (a line abandoned when a frame began,
 * an unprintable or over-long line) into STATS' skipped bytes. */
void protocol_count_skipped(protocol_t *protocol, uint32_t bytes);

/* Every main-loop turn: sends the replies of PARAM changes the pedal has applied since. */
void protocol_poll(protocol_t *protocol);

#endif /* VALVENET_APP_PROTOCOL_H */
