/*
 * placement.h - memory placement attributes shared by every board.
 *
 * Every board linker script provides the sections named here. On the STM32F767 they
 * land in ITCM (zero-wait-state code) and DTCM (zero-wait-state data); on QEMU's
 * mps2-an500 they are ordinary RAM. The reset handler copies/zeroes them.
 */
#ifndef VALVENET_PLACEMENT_H
#define VALVENET_PLACEMENT_H

/* Hot code: copied from flash to ITCM at reset. */
#define VN_ITCM_TEXT __attribute__((section(".itcm_text"), noinline))
/* Hot initialised data: copied from flash to DTCM at reset. */
#define VN_DTCM_DATA __attribute__((section(".dtcm_data")))
/* Hot zero-initialised data (state buffers): zeroed in DTCM at reset. */
#define VN_DTCM_BSS __attribute__((section(".dtcm_bss")))

#endif /* VALVENET_PLACEMENT_H */
