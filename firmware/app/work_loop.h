/*
 * work_loop.h - a loop of known instruction count, to check the work counter.
 *
 * On the Cortex-M7 each iteration is exactly two instructions (SUBS + BNE), so under
 * QEMU -icount the counter must advance by 2 x iterations (plus a fixed overhead);
 * on a board, cycles per iteration show the core's branch behaviour.
 */
#ifndef VALVENET_WORK_LOOP_H
#define VALVENET_WORK_LOOP_H

#include <stdint.h>

#define WORK_LOOP_INSTRUCTIONS_PER_ITERATION 2u

void work_loop_run(uint32_t iterations);

#endif /* VALVENET_WORK_LOOP_H */
