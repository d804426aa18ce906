#include "firmware/app/protocol.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "firmware/app/bench.h"
#include "firmware/app/build_info.h"
#include "firmware/app/model_table.h"
#include "firmware/app/selftest.h"
#include "firmware/boards/board.h"

/* Little-endian byte writer for reply payloads, bounded by its buffer. */
typedef struct {
  uint8_t *data;
  uint16_t length;
  uint16_t capacity;
} writer_t;

static void put_u8(writer_t *w, uint32_t value) {
  if (w->length < w->capacity) {
    w->data[w->length++] = (uint8_t)value;
  }
}

static void put_u16(writer_t *w, uint32_t value) {
  put_u8(w, value);
  put_u8(w, value >> 8);
}

static void put_u32(writer_t *w, uint32_t value) {
  put_u16(w, value);
  put_u16(w, value >> 16);
}

static void put_f32(writer_t *w, float value) {
  uint32_t bits;
  memcpy(&bits, &value, sizeof bits);
  put_u32(w, bits);
}

static void put_string(writer_t *w, const char *text) {
  const size_t length = strlen(text) < 255u ? strlen(text) : 255u;
  put_u8(w, (uint32_t)length);
  for (size_t i = 0; i < length; ++i) {
    put_u8(w, (uint8_t)text[i]);
  }
}

static uint32_t get_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t get_u32(const uint8_t *p) { return get_u16(p) | (get_u16(p + 2) << 16); }

static float get_f32(const uint8_t *p) {
  const uint32_t bits = get_u32(p);
  float value;
  memcpy(&value, &bits, sizeof value);
  return value;
}

static void reply_error(protocol_t *p, protocol_error_t code, uint8_t request, uint8_t sequence, const char *message) {
  uint8_t payload[96];
  writer_t w = {payload, 0u, sizeof payload};
  put_u8(&w, (uint32_t)code);
  put_u8(&w, request);
  for (const char *c = message; *c != '\0'; ++c) {
    put_u8(&w, (uint8_t)*c);
  }
  frame_write(p->write, MSG_ERROR, sequence, payload, w.length);
}

static void reject_payload(protocol_t *p, const char *message) {
  p->stats.rejected_payload++;
  reply_error(p, PROTOCOL_ERR_PAYLOAD, p->parser.type, p->parser.sequence, message);
}

static const model_table_entry_t *selected(const protocol_t *p) {
  return model_table_count > 0u ? &model_table[p->model] : NULL;
}

static void reply_info(protocol_t *p, uint8_t type) {
  static const vn_model_info_t none = {.name = "", .kind = 0, .precision = 0};
  const model_table_entry_t *entry = selected(p);
  const vn_model_info_t *info = entry != NULL ? &entry->model->info : &none;
  uint8_t payload[48 + 4 * 256];
  writer_t w = {payload, 0u, sizeof payload};
  put_u16(&w, PROTOCOL_VERSION);
  put_u8(&w, p->model);
  put_u8(&w, model_table_count);
  put_u8(&w, (uint32_t)info->kind);
  put_u8(&w, (uint32_t)info->precision);
  put_u8(&w, (uint32_t)board_counter_unit());
  put_u8(&w, 0u);
  put_u32(&w, info->sample_rate);
  put_u32(&w, info->parameters);
  put_u32(&w, info->macs_per_sample);
  put_u32(&w, info->receptive_field);
  put_u32(&w, info->weights_crc32);
  put_u32(&w, info->state_size);
  put_u32(&w, board_core_clock_hz());
  put_u16(&w, PROTOCOL_MAX_SAMPLES);
  put_u16(&w, 0u);
  put_string(&w, info->name);
  put_string(&w, board_name());
  put_string(&w, VALVENET_GIT_REVISION);
  put_string(&w, VALVENET_VERSION);
  frame_write(p->write, type, p->parser.sequence, payload, w.length);
}

static int16_t to_q15(float value) {
  const float scaled = value * 32768.0f;
  if (!(scaled > -32768.0f)) { /* also NaN: silence rather than a full-scale click */
    return isnan(scaled) ? 0 : INT16_MIN;
  }
  return scaled >= 32767.0f ? INT16_MAX : (int16_t)lrintf(scaled);
}

/* Frame samples (width 4: float32, 2: int16 Q15; little-endian) to floats. */
static void decode_samples(const uint8_t *samples, uint32_t width, uint32_t count, float *out) {
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t *sample = samples + width * i;
    out[i] = width == 4u ? get_f32(sample) : (float)(int16_t)get_u16(sample) * (1.0f / 32768.0f);
  }
}

static bool handle_process(protocol_t *p) {
  uint8_t *payload = p->parser.payload;
  const uint32_t length = p->parser.length;
  if (length < 4u || (payload[0] != SAMPLE_FLOAT32 && payload[0] != SAMPLE_INT16) || payload[1] != 0u) {
    reject_payload(p, "PROCESS needs format 1 (float32) or 2 (int16), 0, count");
    return false;
  }
  const uint32_t width = payload[0] == SAMPLE_FLOAT32 ? 4u : 2u;
  const uint32_t count = get_u16(payload + 2);
  if (count == 0u || count > PROTOCOL_MAX_SAMPLES || length != 4u + count * width) {
    reject_payload(p, "PROCESS count must be 1..1024 and match the payload length");
    return false;
  }
  uint8_t *samples = payload + 4;
  decode_samples(samples, width, count, p->audio);
  const model_table_entry_t *entry = selected(p);
  entry->model->process(model_table_state(), p->audio, p->audio, count);
  p->stats.samples_processed += count;
  for (uint32_t i = 0; i < count; ++i) {
    if (width == 4u) {
      memcpy(samples + 4u * i, &p->audio[i], 4u);
    } else {
      const uint16_t q = (uint16_t)to_q15(p->audio[i]);
      samples[2u * i] = (uint8_t)q;
      samples[2u * i + 1u] = (uint8_t)(q >> 8);
    }
  }
  frame_write(p->write, MSG_PROCESS | MSG_REPLY, p->parser.sequence, payload, (uint16_t)length);
  return true;
}

static bool handle_bench(protocol_t *p) {
  const uint8_t *payload = p->parser.payload;
  const uint32_t block = p->parser.length == 4u ? get_u16(payload) : 0u;
  const uint32_t blocks = p->parser.length == 4u ? get_u16(payload + 2) : 0u;
  bench_result_t result;
  const model_table_entry_t *entry = selected(p);
  if (bench_run(entry->model, model_table_state(), block, blocks, &result) != 0) {
    reject_payload(p, "BENCH needs block 1..256 and blocks 1..64");
    return false;
  }
  entry->model->reset(model_table_state());
  uint8_t reply[16];
  writer_t w = {reply, 0u, sizeof reply};
  put_u8(&w, (uint32_t)board_counter_unit());
  put_u8(&w, 0u);
  put_u16(&w, block);
  put_u16(&w, blocks);
  put_u16(&w, result.overhead_per_block < 0xFFFFu ? result.overhead_per_block : 0xFFFFu);
  put_u32(&w, result.median_per_sample_x10);
  put_u32(&w, result.max_per_sample_x10);
  frame_write(p->write, MSG_BENCH | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

/* Nine link counters, then the audio stream's: running, events, processed, missed deadlines
 * (late + dropped: output underruns), dropped (input overruns), load average and maximum
 * (ppm), block period (counter units), counter unit, samples in the software sink, and the
 * board's audio faults (DMA/SAI errors); then the bytes skipped between frames (version 3
 * firmware before it sends the first twenty). */
static bool handle_stats(protocol_t *p) {
  const protocol_stats_t *s = &p->stats;
  pedal_stats_t a = {0};
  if (p->pedal != NULL) {
    pedal_stats(p->pedal, &a);
  }
  const bool running = p->pedal != NULL && p->pedal->running;
  const uint32_t values[PROTOCOL_STATS_FIELDS] = {s->frames_ok,          s->rejected_sync,      s->rejected_length,
                               s->rejected_crc,       s->rejected_truncated, s->rejected_type,
                               s->rejected_payload,   board_uart_overruns(), s->samples_processed,
                               running ? 1u : 0u,     a.events,              a.processed,
                               a.late + a.dropped,    a.dropped,             a.load_avg_ppm,
                               a.load_max_ppm,        a.period_counts,       (uint32_t)board_counter_unit(),
                               board_audio_sink_length(), board_audio_errors(),
                               s->console_skipped + p->parser.skipped};
  uint8_t reply[sizeof values];
  writer_t w = {reply, 0u, sizeof reply};
  for (uint32_t i = 0; i < sizeof values / sizeof values[0]; ++i) {
    put_u32(&w, values[i]);
  }
  frame_write(p->write, MSG_STATS | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

static bool handle_selftest(protocol_t *p) {
  selftest_result_t result;
  selftest_run(selected(p), model_table_state(), &result);
  uint8_t reply[20];
  writer_t w = {reply, 0u, sizeof reply};
  put_u8(&w, (uint32_t)result.status);
  put_u8(&w, (uint32_t)result.unit);
  put_u16(&w, 0u);
  put_u32(&w, result.samples);
  put_f32(&w, result.max_abs_error);
  put_f32(&w, result.esr);
  put_u32(&w, result.per_sample_x10);
  frame_write(p->write, MSG_SELFTEST | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

static bool handle_select(protocol_t *p) {
  if (p->parser.length != 1u || p->parser.payload[0] >= model_table_count) {
    reject_payload(p, "SELECT needs one byte: a model index of this image");
    return false;
  }
  p->model = p->parser.payload[0];
  model_table[p->model].model->reset(model_table_state());
  if (p->pedal != NULL) {
    pedal_set_model(p->pedal, model_table[p->model].model, model_table_state());
  }
  reply_info(p, MSG_SELECT | MSG_REPLY);
  return true;
}

static bool audio_running(const protocol_t *p) { return p->pedal != NULL && p->pedal->running; }

static bool handle_audio_start(protocol_t *p) {
  const uint8_t *payload = p->parser.payload;
  const uint32_t source = payload[0];
  if (p->parser.length != 12u || (payload[1] & ~AUDIO_START_ANY_RATE) != 0u ||
      (source != BOARD_AUDIO_CODEC && source != BOARD_AUDIO_SOFTWARE)) {
    reject_payload(p, "AUDIO_START needs source 1 (codec) or 2 (software), flags, u16 block, u32 rate, u32 blocks");
    return false;
  }
  const pedal_stream_t stream = {.source = (board_audio_source_t)source,
                                 .sample_rate = get_u32(payload + 4),
                                 .block = get_u16(payload + 2),
                                 .blocks = get_u32(payload + 8),
                                 .any_rate = (payload[1] & AUDIO_START_ANY_RATE) != 0u};
  const pedal_start_t status = pedal_start(p->pedal, &stream);
  if (status != PEDAL_START_OK) {
    char message[80];
    pedal_start_explain(p->pedal, &stream, status, message, sizeof message);
    p->stats.rejected_payload++;
    const bool board = status == PEDAL_START_NO_SOURCE || status == PEDAL_START_BOARD;
    reply_error(p, board ? PROTOCOL_ERR_AUDIO : PROTOCOL_ERR_PAYLOAD, MSG_AUDIO_START, p->parser.sequence, message);
    return false;
  }
  const pedal_t *pedal = p->pedal;
  const uint32_t taps = pedal->has_cabinet ? pedal->cabinet.length : 0u;
  uint8_t reply[20 + 256];
  writer_t w = {reply, 0u, sizeof reply};
  put_u8(&w, source);
  put_u8(&w, (uint32_t)board_counter_unit());
  put_u16(&w, stream.block);
  put_u32(&w, pedal->timing.rate_millihz);
  put_u32(&w, pedal->timing.period_counts);
  put_u32(&w, taps);
  put_u32(&w, pedal->cabinet_ir->taps_crc32);
  put_string(&w, pedal->cabinet_ir->name);
  frame_write(p->write, MSG_AUDIO_START | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

static bool handle_param(protocol_t *p) {
  const uint8_t *payload = p->parser.payload;
  const pedal_change_t change = {
      .param = payload[0], .sequence = p->parser.sequence, .reply = true, .value = get_f32(payload + 4),
      .at_block = get_u32(payload + 8), .applied_block = 0u};
  if (p->parser.length != 12u || !pedal_param_valid(p->pedal, change.param, change.value)) {
    reject_payload(p, "PARAM needs a known parameter id, 0, 0, a value in its range, u32 block");
    return false;
  }
  if (!pedal_change(p->pedal, &change)) {
    reject_payload(p, "PARAM queue full: wait for the replies of earlier changes");
    return false;
  }
  return true; /* answered by protocol_poll() once applied */
}

static bool handle_source(protocol_t *p) {
  uint8_t *payload = p->parser.payload;
  const uint32_t length = p->parser.length;
  const uint32_t width = length >= 8u && payload[0] == SAMPLE_FLOAT32 ? 4u : 2u;
  const uint32_t count = length >= 8u ? get_u16(payload + 2) : 0u;
  const uint32_t offset = length >= 8u ? get_u32(payload + 4) : 0u;
  if (length < 8u || (payload[0] != SAMPLE_FLOAT32 && payload[0] != SAMPLE_INT16) || payload[1] != 0u ||
      count > PROTOCOL_MAX_SAMPLES || length != 8u + count * width) {
    reject_payload(p, "SOURCE needs format, 0, u16 count, u32 offset, count samples");
    return false;
  }
  decode_samples(payload + 8u, width, count, p->audio);
  if (!pedal_load_source(p->pedal, offset, p->audio, count)) {
    reject_payload(p, "SOURCE must continue the source contiguously within 16384 samples");
    return false;
  }
  uint8_t reply[4];
  writer_t w = {reply, 0u, sizeof reply};
  put_u32(&w, p->pedal->source_length);
  frame_write(p->write, MSG_SOURCE | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

/* SINK: `what` 0 reads the software sink (float32 samples), 1 the per-block status log. */
static bool handle_sink(protocol_t *p) {
  const uint8_t *request = p->parser.payload;
  const uint32_t what = request[0], count = get_u16(request + 2), offset = get_u32(request + 4);
  const uint32_t available = what == 0u ? board_audio_sink_length() : PEDAL_LOG_CAPACITY;
  if (p->parser.length != 8u || what > 1u || request[1] != 0u || count > PROTOCOL_MAX_SAMPLES ||
      offset > available || count > available - offset) {
    reject_payload(p, "SINK needs what (0 audio, 1 block log), 0, u16 count <= 1024, u32 offset within it");
    return false;
  }
  uint8_t *reply = p->parser.payload; /* the request has been read: reuse its buffer */
  writer_t w = {reply, 0u, FRAME_MAX_PAYLOAD};
  put_u8(&w, what);
  put_u8(&w, 0u);
  put_u16(&w, count);
  for (uint32_t i = 0; i < count; ++i) {
    if (what == 0u) {
      put_f32(&w, p->pedal->sink[offset + i]);
    } else {
      put_u8(&w, p->pedal->log[offset + i]);
    }
  }
  frame_write(p->write, MSG_SINK | MSG_REPLY, p->parser.sequence, reply, w.length);
  return true;
}

static bool handle_pedal(protocol_t *p, uint8_t type) {
  switch (type) {
    case MSG_AUDIO_START:
      return handle_audio_start(p);
    case MSG_AUDIO_STOP:
      pedal_stop(p->pedal);
      frame_write(p->write, MSG_AUDIO_STOP | MSG_REPLY, p->parser.sequence, NULL, 0u);
      return true;
    case MSG_PARAM:
      return handle_param(p);
    case MSG_SOURCE:
      return handle_source(p);
    default:
      return handle_sink(p);
  }
}

static void dispatch(protocol_t *p) {
  const uint8_t type = p->parser.type;
  const bool model = type == MSG_RESET || type == MSG_PROCESS || type == MSG_BENCH || type == MSG_SELFTEST ||
                     type == MSG_SELECT;
  const bool pedal = type >= MSG_AUDIO_START && type <= MSG_SINK;
  const bool audio = model || pedal;
  if (type < MSG_INFO || type > MSG_SINK) {
    p->stats.rejected_type++;
    reply_error(p, PROTOCOL_ERR_TYPE, type, p->parser.sequence, "unknown message type");
    return;
  }
  if (audio && model_table_count == 0u) {
    p->stats.rejected_payload++;
    reply_error(p, PROTOCOL_ERR_NO_MODEL, type, p->parser.sequence, "no models in this firmware");
    return;
  }
  if ((model && audio_running(p)) || (type == MSG_SOURCE && audio_running(p))) {
    p->stats.rejected_payload++;
    reply_error(p, PROTOCOL_ERR_BUSY, type, p->parser.sequence, "the audio stream is running: AUDIO_STOP first");
    return;
  }
  const bool empty = type == MSG_INFO || type == MSG_RESET || type == MSG_STATS || type == MSG_SELFTEST ||
                     type == MSG_AUDIO_STOP;
  if (empty && p->parser.length != 0u) {
    reject_payload(p, "this message takes no payload");
    return;
  }
  if (pedal) {
    p->stats.frames_ok += handle_pedal(p, type) && type != MSG_PARAM ? 1u : 0u;
    return;
  }
  bool answered = true;
  switch (type) {
    case MSG_INFO:
      reply_info(p, MSG_INFO | MSG_REPLY);
      break;
    case MSG_RESET:
      selected(p)->model->reset(model_table_state());
      frame_write(p->write, MSG_RESET | MSG_REPLY, p->parser.sequence, NULL, 0u);
      break;
    case MSG_PROCESS:
      answered = handle_process(p);
      break;
    case MSG_BENCH:
      answered = handle_bench(p);
      break;
    case MSG_STATS:
      p->stats.frames_ok++; /* STATS counts itself */
      (void)handle_stats(p);
      return;
    case MSG_SELFTEST:
      answered = handle_selftest(p);
      break;
    default:
      answered = handle_select(p);
      break;
  }
  p->stats.frames_ok += answered ? 1u : 0u;
}

void protocol_init(protocol_t *p, frame_write_fn write, pedal_t *pedal) {
  memset(&p->stats, 0, sizeof p->stats);
  frame_parser_reset(&p->parser);
  p->write = write;
  p->pedal = pedal;
  p->model = 0u;
  p->quiet = false;
  p->quiet_since_ms = 0u;
  if (model_table_count > 0u) {
    model_table[0].model->reset(model_table_state());
  }
}

bool protocol_idle(const protocol_t *p) { return frame_parser_idle(&p->parser); }

/* One parser event: a frame to answer, or a rejection to count and report. */
static void report(protocol_t *p, frame_status_t status) {
  char message[64];
  switch (status) {
    case FRAME_READY:
      dispatch(p);
      break;
    case FRAME_BAD_SYNC:
      p->stats.rejected_sync++;
      reply_error(p, PROTOCOL_ERR_SYNC, 0u, 0u, "0xA5 not followed by 0x5A");
      break;
    case FRAME_BAD_LENGTH:
      p->stats.rejected_length++;
      snprintf(message, sizeof message, "payload length %u over %u", (unsigned)p->parser.length,
               (unsigned)FRAME_MAX_PAYLOAD);
      reply_error(p, PROTOCOL_ERR_LENGTH, p->parser.type, p->parser.sequence, message);
      break;
    case FRAME_BAD_CRC:
      p->stats.rejected_crc++;
      reply_error(p, PROTOCOL_ERR_CRC, p->parser.type, p->parser.sequence, "CRC mismatch");
      break;
    default:
      break;
  }
}

/* Reports every event the parser holds: after a rejection it searches the rejected bytes
 * for the next frame, which may already be complete. */
static void report_all(protocol_t *p, frame_status_t first) {
  for (frame_status_t status = first; status != FRAME_PENDING; status = frame_parser_next(&p->parser)) {
    report(p, status);
  }
}

void protocol_feed(protocol_t *p, uint8_t byte) {
  p->quiet = false;
  report_all(p, frame_parser_feed(&p->parser, byte));
}

void protocol_poll_idle(protocol_t *p, uint32_t now_ms) {
  if (frame_parser_idle(&p->parser)) {
    p->quiet = false;
    return;
  }
  if (!p->quiet) {
    p->quiet = true;
    p->quiet_since_ms = now_ms;
    return;
  }
  if ((int32_t)(now_ms - p->quiet_since_ms) < (int32_t)PROTOCOL_FRAME_TIMEOUT_MS) {
    /* not yet, or a clock that stepped back: never a reason to drop a frame */
    return;
  }
  p->quiet = false;
  const uint8_t type = p->parser.type, sequence = p->parser.sequence;
  if (frame_parser_abort(&p->parser)) {
    p->stats.rejected_truncated++;
    reply_error(p, PROTOCOL_ERR_TRUNCATED, type, sequence, "frame truncated (the link went quiet part-way)");
  }
  report_all(p, frame_parser_next(&p->parser));
}

void protocol_count_skipped(protocol_t *p, uint32_t bytes) { p->stats.console_skipped += bytes; }

void protocol_poll(protocol_t *p) {
  pedal_change_t change;
  while (p->pedal != NULL && pedal_take_applied(p->pedal, &change)) {
    if (!change.reply) {
      continue;
    }
    if (change.discarded) {
      p->stats.rejected_payload++;
      reply_error(p, PROTOCOL_ERR_PAYLOAD, MSG_PARAM, change.sequence, "the stream stopped before the change's block");
      continue;
    }
    uint8_t reply[12];
    writer_t w = {reply, 0u, sizeof reply};
    put_u8(&w, change.param);
    put_u8(&w, 0u);
    put_u16(&w, 0u);
    put_f32(&w, change.value);
    put_u32(&w, change.applied_block);
    frame_write(p->write, MSG_PARAM | MSG_REPLY, change.sequence, reply, w.length);
    p->stats.frames_ok++;
  }
}
