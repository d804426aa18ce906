#include "firmware/app/work_loop.h"

void work_loop_run(uint32_t iterations) {
  if (iterations == 0u) {
    return;
  }
#if defined(__arm__)
  __asm volatile(
      "1:\n\t"
      "subs %0, %0, #1\n\t"
      "bne 1b\n\t"
      : "+r"(iterations)
      :
      : "cc");
#else
  volatile uint32_t remaining = iterations;
  while (remaining != 0u) {
    remaining = remaining - 1u;
  }
#endif
}
