/*
 * startup.h - the reset sequence shared by every Cortex-M7 board.
 *
 * Each board owns its vector table and calls startup_run() from Reset_Handler.
 * The linker scripts of all boards define the symbols used by startup.c.
 */
#ifndef VALVENET_STARTUP_H
#define VALVENET_STARTUP_H

/* Enables the FPU, copies .data/.itcm_text/.dtcm_data from their load addresses,
 * zeroes .bss/.dtcm_bss, runs static constructors and calls main(). Never returns. */
void startup_run(void) __attribute__((noreturn));

/* Default handler for unexpected exceptions: spins so a debugger can inspect it. */
void startup_default_handler(void);

/* The first 16 entries of every ARMv7-M vector table (ARMv7-M ARM B1.5.3): initial stack
 * pointer, reset, the system exceptions, and the board's SysTick handler. */
#define STARTUP_SYSTEM_VECTORS(stack_top, reset, systick)                       \
  (void (*)(void))(stack_top), reset, startup_default_handler, /* NMI */         \
      startup_default_handler,                                 /* HardFault */   \
      startup_default_handler,                                 /* MemManage */   \
      startup_default_handler,                                 /* BusFault */    \
      startup_default_handler,                                 /* UsageFault */  \
      0, 0, 0, 0, startup_default_handler,                     /* SVCall */      \
      startup_default_handler,                                 /* DebugMonitor */\
      0, startup_default_handler,                              /* PendSV */      \
      systick

#endif /* VALVENET_STARTUP_H */
