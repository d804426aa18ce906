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

#endif /* VALVENET_STARTUP_H */
