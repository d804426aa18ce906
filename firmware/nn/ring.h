/* The history buffers of dilated layers ("mirrored rings"), for every precision.
 *
 * A layer with dilation d needs, for a block of up to B new columns, the (k - 1) d columns
 * before the block and the block itself. Its buffer has R logical columns (R >= (k - 1) d + B),
 * stored in R + B physical columns: physical column R + k (k < B) mirrors column k. Then every
 * window of at most B consecutive logical columns, starting anywhere, is contiguous in memory,
 * so generated code reads the k taps of a whole block as k plain arrays. The producer writes a
 * block's columns at physical positions [p, p + m) (p < R, m <= B) and then restores the
 * mirror: the columns written past R are also the first ones (copy them to 0), and the first B
 * columns written get their mirror at R + p refreshed.
 *
 * The index arithmetic is here, once; layers.h (float columns, copied as pairs) and q15.h
 * (int16 columns) do the copies for their element type.
 */
#ifndef VALVENET_NN_RING_H
#define VALVENET_NN_RING_H

#include <stdint.h>

/* Logical column p - lag of a history buffer of `capacity` columns (lag <= capacity). */
static inline uint32_t vn_ring_back(const uint32_t p, const uint32_t lag, const uint32_t capacity) {
  return p >= lag ? p - lag : p + capacity - lag;
}

/* Whether some of the columns written at [p, p + m) lie past the R = `capacity` logical ones:
 * they are also logical columns 0 .. wrapped - 1 and must be copied there. */
static inline int vn_ring_wraps(const uint32_t p, const uint32_t m, const uint32_t capacity) {
  return p + m > capacity;
}

/* How many columns wrapped (when vn_ring_wraps). */
static inline uint32_t vn_ring_wrapped(const uint32_t p, const uint32_t m, const uint32_t capacity) {
  return p + m - capacity;
}

/* Whether some of the columns written at [p, p + m) lie among the first `mirrored` ones, whose
 * mirror at capacity + column must then be refreshed up to vn_ring_mirrored_end. */
static inline int vn_ring_touches_mirror(const uint32_t p, const uint32_t mirrored) {
  return p < mirrored;
}

/* The end of the written columns that have a mirror (when vn_ring_touches_mirror). */
static inline uint32_t vn_ring_mirrored_end(const uint32_t p, const uint32_t m, const uint32_t mirrored) {
  return p + m < mirrored ? p + m : mirrored;
}

#endif /* VALVENET_NN_RING_H */
