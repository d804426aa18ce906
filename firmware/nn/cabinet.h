/*
 * cabinet.h: the speaker-cabinet stage, a streaming FIR filter over an impulse response.
 *
 * vn_fir_f32_t: float32 taps and samples, y[n] = sum_k taps[k] * x[n - k], with caller-owned
 * state (no allocation, no globals): the taps and the history buffer are the caller's, the
 * struct only points at them. The taps come from valvenet.export.cabinet (the image's cabinet
 * table, firmware/app/cabinet_table.h).
 *
 * History layout: a doubled ring, newest sample first. The buffer holds 2 * length samples;
 * each new sample is written twice, at history[head] and history[head + length], and head
 * moves DOWN by one per sample (wrapping from 0 to length - 1). Then history[head + k] is
 * x[n - k] for every k in [0, length), so the dot product is
 *     sum_k taps[k] * history[head + k]
 * over two arrays that both run forward through contiguous memory: no modulo and no wrap test
 * in the inner loop. Why this and not the alternatives:
 *   - a plain ring needs a modulo (or a split into two loops) inside every dot product;
 *   - a linear buffer of (length - 1 + block) samples shifted after each block ties the
 *     buffer size to a maximum block size and costs a memmove per block;
 *   - the doubled ring costs length extra samples of RAM (256 taps: 1 KB) and one extra store
 *     per sample, and gives the same output whatever the block size, because every sample
 *     runs exactly the same code on exactly the same data.
 *
 * Four samples at a time where the ring does not wrap among them (else one): each output's
 * sum is computed exactly as alone (the same fmaf chain, in the same order), so outputs are
 * bit-identical for any split of the input into blocks (1, 7, 48, 4096, ...), and each tap
 * and input sample loaded feeds four outputs. in and out may be the same array (in place).
 *
 * Cost, 256 taps, measured in QEMU mps2-an500 with -icount (instructions, not cycles): one
 * output at a time cost 1,057 instructions per sample (about 4 per tap: two VLDR, one VFMA,
 * loop share); four at a time the inner loop is 16 VFMA and 8 VLDR per 4 taps (docs/pedal.md
 * has the pedal's load with it). The output is bit-identical on the host and on the M7 (fmaf
 * in a fixed order), checked by running the same inputs through both and comparing output
 * hashes.
 */
#ifndef VALVENET_FIRMWARE_NN_CABINET_H_
#define VALVENET_FIRMWARE_NN_CABINET_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Samples of history buffer a filter with n_taps taps needs. */
#define VN_FIR_HISTORY_LENGTH(n_taps) (2u * (uint32_t)(n_taps))

typedef struct {
  const float *taps; /* length taps, caller-owned, read only */
  uint32_t length;   /* number of taps; 0 gives a filter that outputs silence */
  float *history;    /* VN_FIR_HISTORY_LENGTH(length) floats, caller-owned */
  uint32_t head;     /* index of the newest sample in history, in [0, length) */
} vn_fir_f32_t;

/* Points the filter at its taps and history buffer and clears the history. */
void vn_fir_f32_init(vn_fir_f32_t *fir, const float *taps, uint32_t length,
                     float *history_buffer);

/* Forgets all past input (history to zero), as if the filter had just been initialised. */
void vn_fir_f32_reset(vn_fir_f32_t *fir);

/* Filters n samples. The sum per sample runs in float with fmaf (one VFMA.F32 on the M7, the
 * same rounding on any IEEE host) over four interleaved partial sums, tap k going to sum
 * k mod 4, which also hides the FMA latency on the M7; four samples share each load. */
void vn_fir_f32_process(vn_fir_f32_t *fir, const float *in, float *out, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_CABINET_H_ */
