/*
 * placement.h - where hot code and data go, as section attributes.
 *
 * Every board linker script provides these sections: on the STM32F767 .itcm_text lands in
 * ITCM and .dtcm_data / .dtcm_bss in DTCM (zero wait states, copied or zeroed at reset);
 * on QEMU's mps2-an500 they are ordinary RAM. On the host they are plain sections.
 * Define VN_NO_PLACEMENT to keep everything in the default sections (e.g. when a model's
 * weights do not fit in DTCM).
 */
#ifndef VALVENET_NN_PLACEMENT_H
#define VALVENET_NN_PLACEMENT_H

#if defined(__arm__) && !defined(VN_NO_PLACEMENT)
#define VN_HOT_TEXT __attribute__((section(".itcm_text"), noinline))
#define VN_HOT_RODATA __attribute__((section(".dtcm_data")))
#define VN_HOT_BSS __attribute__((section(".dtcm_bss")))
#else
#define VN_HOT_TEXT
#define VN_HOT_RODATA
#define VN_HOT_BSS
#endif

#endif /* VALVENET_NN_PLACEMENT_H */
