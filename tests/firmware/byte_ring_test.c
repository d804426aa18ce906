/*
 * The UART byte ring (firmware/boards/common/byte_ring.h): order across the counts' wrap, a full
 * ring refusing bytes, and the transmit wait that once silenced the NUCLEO console in Renode
 * (its interrupt emptied the ring before the wait looked, and the wait saw no progress).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "firmware/boards/common/byte_ring.h"

#define SIZE 16u

static volatile uint8_t storage[SIZE];

static byte_ring_t fresh_ring(uint32_t start) {
  byte_ring_t ring = BYTE_RING_INIT(storage, SIZE);
  ring.head = start;
  ring.tail = start;
  return ring;
}

static void test_bytes_come_out_in_order_across_the_counts_wrap(void **state) {
  (void)state;
  byte_ring_t ring = fresh_ring(UINT32_MAX - 5u); /* head and tail wrap past 2^32 below */
  for (uint32_t round = 0; round < 4u; ++round) {
    uint8_t in[11];
    for (uint32_t i = 0; i < sizeof in; ++i) {
      in[i] = (uint8_t)(round * 40u + i);
    }
    assert_int_equal(byte_ring_push_some(&ring, in, sizeof in), sizeof in);
    assert_int_equal(byte_ring_count(&ring), sizeof in);
    for (uint32_t i = 0; i < sizeof in; ++i) {
      uint8_t out = 0;
      assert_true(byte_ring_pop(&ring, &out));
      assert_int_equal(out, in[i]);
    }
    assert_int_equal(byte_ring_count(&ring), 0u);
  }
}

static void test_a_full_ring_refuses_bytes_and_keeps_the_ones_it_holds(void **state) {
  (void)state;
  byte_ring_t ring = fresh_ring(0u);
  for (uint32_t i = 0; i < SIZE; ++i) {
    assert_true(byte_ring_push(&ring, (uint8_t)i));
  }
  assert_false(byte_ring_push(&ring, 0xEEu)); /* what the receive interrupt counts as lost */
  assert_int_equal(byte_ring_room(&ring), 0u);
  const uint8_t more[3] = {1u, 2u, 3u};
  assert_int_equal(byte_ring_push_some(&ring, more, sizeof more), 0u);
  uint8_t out = 0xFFu;
  for (uint32_t i = 0; i < SIZE; ++i) {
    assert_true(byte_ring_pop(&ring, &out));
    assert_int_equal(out, i);
  }
  assert_false(byte_ring_pop(&ring, &out));
}

static void test_push_some_queues_only_what_fits(void **state) {
  (void)state;
  byte_ring_t ring = fresh_ring(7u);
  uint8_t data[SIZE + 5u] = {0};
  assert_int_equal(byte_ring_push_some(&ring, data, 4u), 4u);
  assert_int_equal(byte_ring_push_some(&ring, data, sizeof data), SIZE - 4u);
  assert_int_equal(byte_ring_count(&ring), SIZE);
}

/* The race of issue 17: the transmitter's interrupt sends every byte the moment it is queued,
 * so by the time the writer waits for room the ring is already empty. Room is there: the wait
 * must end at once, not time out and declare the console dead. */
static void test_a_ring_emptied_before_the_wait_counts_as_room(void **state) {
  (void)state;
  byte_ring_t ring = fresh_ring(0u);
  uint8_t data[SIZE] = {0};
  assert_int_equal(byte_ring_push_some(&ring, data, sizeof data), SIZE);
  uint8_t out;
  while (byte_ring_pop(&ring, &out)) {
  }
  assert_true(byte_ring_wait_at_most(&ring, SIZE - 1u, 3u)); /* room for one byte */
  assert_true(byte_ring_wait_at_most(&ring, 0u, 3u));        /* flushed */
}

static void test_a_consumer_that_stopped_ends_the_wait_with_false(void **state) {
  (void)state;
  byte_ring_t ring = fresh_ring(0u);
  uint8_t data[SIZE] = {0};
  (void)byte_ring_push_some(&ring, data, sizeof data);
  assert_false(byte_ring_wait_at_most(&ring, SIZE - 1u, 1000u));
  assert_false(byte_ring_wait_at_most(&ring, 0u, 1000u));
  uint8_t out;
  assert_true(byte_ring_pop(&ring, &out)); /* one byte left: room now */
  assert_true(byte_ring_wait_at_most(&ring, SIZE - 1u, 1u));
  assert_false(byte_ring_wait_at_most(&ring, 0u, 1000u));
}

/* A consumer on another thread, standing in for the interrupt: it takes bytes whenever there
 * are some, so the ring is often emptied between the writer's push and its wait. The writer
 * pushes through the small ring with the board's loop (push what fits, wait for room) and
 * every byte arrives once, in order. Both threads yield the CPU when they have nothing to do:
 * on one core (a busy machine, or `taskset -c 1`) a spinning thread kept the other waiting
 * for the scheduler's tick, about 16 bytes per time slice, and the test timed out. */
#define STREAM_BYTES 200000u

static byte_ring_t shared_ring = BYTE_RING_INIT(storage, SIZE);
static volatile uint32_t received_ok;

static void *consume(void *arg) {
  (void)arg;
  uint32_t expected = 0u;
  uint32_t ok = 1u;
  while (expected < STREAM_BYTES) {
    uint8_t byte;
    if (byte_ring_pop(&shared_ring, &byte)) {
      ok &= (uint32_t)(byte == (uint8_t)(expected * 7u));
      ++expected;
    } else {
      sched_yield();
    }
  }
  received_ok = ok;
  return NULL;
}

static void test_a_concurrent_consumer_receives_every_byte_in_order(void **state) {
  (void)state;
  pthread_t consumer;
  assert_int_equal(pthread_create(&consumer, NULL, consume, NULL), 0);
  uint8_t chunk[23];
  uint32_t sent = 0u;
  while (sent < STREAM_BYTES) {
    size_t len = STREAM_BYTES - sent < sizeof chunk ? STREAM_BYTES - sent : sizeof chunk;
    for (size_t i = 0; i < len; ++i) {
      chunk[i] = (uint8_t)((sent + (uint32_t)i) * 7u);
    }
    const uint8_t *at = chunk;
    while (len != 0u) {
      const size_t queued = byte_ring_push_some(&shared_ring, at, len);
      at += queued;
      len -= queued;
      sent += (uint32_t)queued;
      /* the board's wait, with a poll limit; no progress yet: let the consumer run, wait again */
      while (len != 0u && !byte_ring_wait_at_most(&shared_ring, SIZE - 1u, 1000u)) {
        sched_yield();
      }
    }
  }
  while (!byte_ring_wait_at_most(&shared_ring, 0u, 1000u)) {
    sched_yield();
  }
  assert_int_equal(pthread_join(consumer, NULL), 0);
  assert_int_equal(received_ok, 1u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bytes_come_out_in_order_across_the_counts_wrap),
      cmocka_unit_test(test_a_full_ring_refuses_bytes_and_keeps_the_ones_it_holds),
      cmocka_unit_test(test_push_some_queues_only_what_fits),
      cmocka_unit_test(test_a_ring_emptied_before_the_wait_counts_as_room),
      cmocka_unit_test(test_a_consumer_that_stopped_ends_the_wait_with_false),
      cmocka_unit_test(test_a_concurrent_consumer_receives_every_byte_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
