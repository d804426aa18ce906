/*
 * pedal.h - the real-time amp: the audio stream, the signal chain on each block, deadline
 * accounting and parameter changes.
 *
 * The board calls pedal_on_event() from its audio interrupt once per block period (board.h,
 * "Audio I/O"); the main loop calls pedal_poll(), which processes the newest ready block
 * through the chain (chain.h). Block n must be written before event n + 1, when the
 * transmitter starts playing it:
 *   - finished after event n + 1: LATE (its output was played partly or stale: an underrun);
 *   - never processed because a newer block was ready when the loop got to it: DROPPED (its
 *     input was overwritten: an overrun; its output slot is an underrun too).
 * The loop always takes the newest block, and after a late block it drops whatever is ready
 * and waits for the next event (a resync: the next block gets its whole period), so once the
 * overload is over the stream is back in step within two blocks: a missed deadline is counted
 * and never persists. Missed deadlines = LATE + DROPPED.
 *
 * Load: the work counter (board_counter_read: DWT cycles on the board; instructions in QEMU,
 * whose timer paces blocks in the board's cycle budget) across each block's processing, over
 * the block period. Parameter changes apply at a block boundary (now, or at a given block
 * index for reproducible tests) and ramp inside the chain.
 */
#ifndef VALVENET_APP_PEDAL_H
#define VALVENET_APP_PEDAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/app/cabinet_table.h"
#include "firmware/app/chain.h"
#include "firmware/boards/board.h"
#include "firmware/nn/cabinet.h"

#define PEDAL_SOFT_CAPACITY 16384u /* software source and sink, samples each */
#define PEDAL_LOG_CAPACITY 1024u   /* per-block status of the first blocks of a stream */
#define PEDAL_MAX_CHANGES 8u       /* parameter changes waiting for their block */
#define PEDAL_NOW 0xFFFFFFFFu      /* "at the next block" */
#define PEDAL_STRESS 7u            /* parameter: extra busy work per block, % of the period (0..1000) */
#define PEDAL_POT_PERIOD_MS 10u    /* how often the potentiometer is read */
#define PEDAL_POT_HYSTERESIS (2.0f / 256.0f) /* the smallest move that turns the knob */

/* The chain processes the board's blocks whole: its buffers hold exactly the largest one. */
_Static_assert(CHAIN_MAX_BLOCK == BOARD_AUDIO_MAX_BLOCK, "chain.h's CHAIN_MAX_BLOCK must equal board.h's BOARD_AUDIO_MAX_BLOCK");

typedef enum { PEDAL_BLOCK_UNSEEN = 0, PEDAL_BLOCK_ON_TIME = 1, PEDAL_BLOCK_LATE = 2, PEDAL_BLOCK_DROPPED = 3 } pedal_block_t;

typedef struct {
  uint8_t param;
  uint8_t sequence; /* of the PARAM frame, for its reply */
  bool reply;       /* answer with a PARAM reply once applied (false: a console change) */
  bool discarded;   /* the stream stopped before its block: never applied */
  float value;
  uint32_t at_block; /* PEDAL_NOW or a block index */
  uint32_t applied_block;
} pedal_change_t;

typedef struct {
  uint32_t events;     /* block periods since the stream started */
  uint32_t processed;  /* blocks through the chain */
  uint32_t late;
  uint32_t dropped;
  uint32_t load_avg_ppm; /* processing counts / period counts over all processed blocks, x 1e6 */
  uint32_t load_max_ppm; /* the largest single block */
  uint32_t period_counts;
} pedal_stats_t;

typedef struct {
  chain_t chain;
  vn_fir_f32_t cabinet;
  bool has_cabinet;
  const cabinet_table_t *cabinet_ir;
  float params[CHAIN_KNOB_0 + CHAIN_MAX_KNOBS]; /* current value of each chain_param_t (knobs last), and PEDAL_STRESS */
  uint32_t pot_next_ms; /* when pedal_pot_poll reads the potentiometer next */
  float pot_last;       /* the position it last turned the knob to */
  bool pot_seen;

  bool running;
  board_audio_config_t config;
  board_audio_timing_t timing;
  uint32_t blocks_limit; /* 0: until pedal_stop */
  volatile uint32_t events;
  uint32_t next; /* first block not yet processed or dropped */
  bool resync;   /* the last block was late: drop what is ready, wait for the next event */
  uint32_t processed, late, dropped;
  uint64_t used_sum;
  uint32_t used_max;

  pedal_change_t changes[PEDAL_MAX_CHANGES];
  uint32_t change_count;
  pedal_change_t applied[PEDAL_MAX_CHANGES];
  uint32_t applied_count;

  float block[CHAIN_MAX_BLOCK];
  float source[PEDAL_SOFT_CAPACITY];
  uint32_t source_length;
  float sink[PEDAL_SOFT_CAPACITY];
  uint8_t log[PEDAL_LOG_CAPACITY];
} pedal_t;

/* Binds the pedal to a model (with its state buffer) and the image's cabinet (length 0: none),
 * with every parameter at its default. Stops nothing: call at boot. */
void pedal_init(pedal_t *pedal, const vn_model_t *model, void *model_state, const cabinet_table_t *cabinet);

/* Switches to another model (stream stopped); parameters are kept. */
void pedal_set_model(pedal_t *pedal, const vn_model_t *model, void *model_state);

/* A stream as asked for (AUDIO_START, the console's `pedal start`, the image's boot). */
typedef struct {
  board_audio_source_t source;
  uint32_t sample_rate; /* 44100 or 48000: the model's own rate unless any_rate */
  uint32_t block;       /* frames, BOARD_AUDIO_MIN_BLOCK..BOARD_AUDIO_MAX_BLOCK */
  uint32_t blocks;      /* 0: until pedal_stop; else it stops itself after that many blocks */
  bool any_rate;        /* run the model at a rate it was not trained at (clock and load tests) */
} pedal_stream_t;

typedef enum {
  PEDAL_START_OK = 0,
  PEDAL_START_BAD_RATE = 1,   /* neither 44100 nor 48000 */
  PEDAL_START_BAD_BLOCK = 2,  /* outside BOARD_AUDIO_MIN_BLOCK..BOARD_AUDIO_MAX_BLOCK */
  PEDAL_START_MODEL_RATE = 3, /* the model was trained at another rate (and any_rate is false) */
  PEDAL_START_NO_SOURCE = 4,  /* the board has no such audio source */
  PEDAL_START_BOARD = 5       /* the board cannot run that stream */
} pedal_start_t;

/* Starts a stream (stopping any). The one check of a stream's rate and block: a refused
 * request (anything but PEDAL_START_OK before the board is asked) leaves a running stream
 * alone. The chain's state is cleared, the parameters kept, the statistics zeroed. */
pedal_start_t pedal_start(pedal_t *pedal, const pedal_stream_t *stream);

/* Why pedal_start() refused `stream`, in one line with the numbers (for ERROR replies and
 * the console). */
void pedal_start_explain(const pedal_t *pedal, const pedal_stream_t *stream, pedal_start_t status, char *out,
                         size_t capacity);

void pedal_stop(pedal_t *pedal);

/* From the board's audio interrupt. */
void pedal_on_event(void *pedal);

/* Main loop: processes the newest ready block, if any. Returns true if it did. */
bool pedal_poll(pedal_t *pedal);

/* Reads the board's potentiometer 0 (board_pot_read) every PEDAL_POT_PERIOD_MS and turns knob
 * `knob` to its position when it moved more than PEDAL_POT_HYSTERESIS (so ADC noise never
 * ramps the knob back and forth); a change like the console's. Nothing when knob < 0, the
 * model has no such knob or the board no potentiometer. Call from the main loop. */
void pedal_pot_poll(pedal_t *p, int32_t knob, uint32_t now_ms);

/* Whether a parameter value is acceptable (chain ranges, PEDAL_STRESS 0..1000). */
bool pedal_param_valid(const pedal_t *pedal, uint32_t param, float value);

/* Queues a change (false: queue full). While no stream runs, a PEDAL_NOW change applies at
 * once (applied_block = PEDAL_NOW); otherwise at the start of the first block >= at_block. */
bool pedal_change(pedal_t *pedal, const pedal_change_t *change);

/* Takes one applied (or discarded) change whose reply is due; false when none is. A change
 * scheduled for a block the stream never reached is discarded when the stream stops. */
bool pedal_take_applied(pedal_t *pedal, pedal_change_t *change);

/* Fills the software source (clears it when count is 0 and offset 0). False if out of range. */
bool pedal_load_source(pedal_t *pedal, uint32_t offset, const float *samples, uint32_t count);

void pedal_stats(const pedal_t *pedal, pedal_stats_t *stats);

#endif /* VALVENET_APP_PEDAL_H */
