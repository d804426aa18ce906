/*
 * byte_ring.h - the byte ring between a UART interrupt and the main loop, board-neutral so
 * the host tests compile it (tests/firmware/byte_ring_test.c).
 *
 * One producer and one consumer (an interrupt handler and the main loop, on one core), so no
 * lock is needed: head counts the bytes ever pushed and only the producer writes it, tail the
 * bytes ever popped and only the consumer writes it. The size is a power of two, so the
 * free-running counts keep indexing the right slot when they wrap past 2^32. A byte is stored
 * before head moves past it and read before tail does; data and counts are volatile, so the
 * compiler keeps that order, and an interrupt on the same core sees the main loop's accesses
 * in program order.
 *
 * The NUCLEO console (firmware/boards/nucleo_f767zi/console.c) keeps its receive and transmit
 * queues in two of these.
 */
#ifndef VALVENET_BOARDS_COMMON_BYTE_RING_H
#define VALVENET_BOARDS_COMMON_BYTE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  volatile uint8_t *const data;
  const uint32_t size;    /* a power of two */
  volatile uint32_t head; /* bytes ever pushed (producer only) */
  volatile uint32_t tail; /* bytes ever popped (consumer only) */
} byte_ring_t;

/* A ring over `storage` (an array of `size` bytes, size a power of two), empty. */
#define BYTE_RING_INIT(storage, size) {(storage), (size), 0u, 0u}

static inline uint32_t byte_ring_count(const byte_ring_t *ring) { return ring->head - ring->tail; }

static inline uint32_t byte_ring_room(const byte_ring_t *ring) {
  return ring->size - byte_ring_count(ring);
}

/* Producer: stores the byte unless the ring is full; false when it was refused. */
static inline bool byte_ring_push(byte_ring_t *ring, uint8_t byte) {
  if (byte_ring_count(ring) >= ring->size) {
    return false;
  }
  ring->data[ring->head & (ring->size - 1u)] = byte;
  ring->head = ring->head + 1u;
  return true;
}

/* Producer: stores what fits of data[0..len); returns how many bytes that was. */
static inline size_t byte_ring_push_some(byte_ring_t *ring, const uint8_t *data, size_t len) {
  const uint32_t room = byte_ring_room(ring);
  const size_t count = len < room ? len : room;
  for (size_t i = 0; i < count; ++i) {
    ring->data[(ring->head + (uint32_t)i) & (ring->size - 1u)] = data[i];
  }
  ring->head = ring->head + (uint32_t)count; /* after the bytes: the consumer may take them now */
  return count;
}

/* Consumer: takes the oldest byte; false when the ring is empty. */
static inline bool byte_ring_pop(byte_ring_t *ring, uint8_t *byte) {
  if (byte_ring_count(ring) == 0u) {
    return false;
  }
  *byte = ring->data[ring->tail & (ring->size - 1u)];
  ring->tail = ring->tail + 1u;
  return true;
}

/* Producer: waits until the consumer has left at most `most` bytes in the ring. False when
 * the count did not fall for `poll_limit` polls in a row (the consumer stopped).
 *
 * Why it watches the count and not the tail: the consumer may empty the ring before this is
 * called (an interrupt that sends each byte at once, as Renode's USART does). A wait for the
 * tail to move from a snapshot taken then would never end, and a live console would be
 * declared dead; the count is already at or below `most`, so this returns true at once. */
static inline bool byte_ring_wait_at_most(const byte_ring_t *ring, uint32_t most, uint32_t poll_limit) {
  uint32_t last = byte_ring_count(ring);
  uint32_t idle = 0u;
  while (last > most) {
    const uint32_t now = byte_ring_count(ring);
    if (now < last) {
      last = now;
      idle = 0u;
    } else if (++idle >= poll_limit) {
      return false;
    }
  }
  return true;
}

#endif /* VALVENET_BOARDS_COMMON_BYTE_RING_H */
