/*
 * startup.c - section initialisation and FPU enable for every Cortex-M7 board.
 *
 * Why in C: the sequence is short, runs once, and reads better than assembly. The FPU
 * is enabled first because the compiler may emit VFP instructions (e.g. for memcpy or
 * in main) as soon as hard-float code runs.
 */
#include "firmware/boards/common/startup.h"

#include <stdint.h>

#include "firmware/boards/board.h"

/* Symbols provided by each board's linker script. */
extern uint32_t __data_load__, __data_start__, __data_end__;
extern uint32_t __itcm_load__, __itcm_start__, __itcm_end__;
extern uint32_t __dtcm_data_load__, __dtcm_data_start__, __dtcm_data_end__;
extern uint32_t __bss_start__, __bss_end__;
extern uint32_t __dtcm_bss_start__, __dtcm_bss_end__;
extern void (*__init_array_start__[])(void);
extern void (*__init_array_end__[])(void);

int main(void);

/* ARMv7-M Architecture Reference Manual B3.2.20: CPACR at 0xE000ED88, CP10/CP11
 * full access (bits 23:20 = 0b1111) enables the single and double precision FPU. */
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

static void copy_words(uint32_t *dst, const uint32_t *src, const uint32_t *end) {
  while (dst < end) {
    *dst++ = *src++;
  }
}

static void zero_words(uint32_t *dst, const uint32_t *end) {
  while (dst < end) {
    *dst++ = 0u;
  }
}

void startup_run(void) {
  SCB_CPACR |= (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");

  copy_words(&__data_start__, &__data_load__, &__data_end__);
  copy_words(&__itcm_start__, &__itcm_load__, &__itcm_end__);
  copy_words(&__dtcm_data_start__, &__dtcm_data_load__, &__dtcm_data_end__);
  zero_words(&__bss_start__, &__bss_end__);
  zero_words(&__dtcm_bss_start__, &__dtcm_bss_end__);
  __asm volatile("dsb\n\tisb" ::: "memory");

  for (void (**ctor)(void) = __init_array_start__; ctor < __init_array_end__; ++ctor) {
    (*ctor)();
  }

  int code = main();
  board_exit(code);
}

void startup_default_handler(void) {
  for (;;) {
  }
}
