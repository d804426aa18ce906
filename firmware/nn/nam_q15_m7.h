/*
 * nam_q15_m7.h: hand-scheduled Cortex-M7 loops for the NAM int16 engine's most common layers
 * (nam_q15.h): tanh layers of 2 or 4 channels with kernel size 3 (NAM's nano and the second
 * array of feather), two samples per tile, and of 8 channels (feather's first array), one
 * sample per pass in two 4-row groups.
 *
 * Why assembly: a 4-channel 2-sample tile needs eight accumulators, two weight and two input
 * registers, the weight pointer and a tap pointer: all fourteen registers. GCC spilled
 * accumulators and reloaded the tap pointers around every tap (227 instructions per tile,
 * measured; the loop: 187); these loops keep the accumulators in registers and the layer's
 * pointers in a small frame on the stack (each loop ~0.5-1 KB of code: nano's whole pedal hot
 * path is 5.4 KB of the 16 KB ITCM, feather's 7.2 KB). The 2-channel loop keeps its three tap
 * pointers and the input pointer in registers too.
 *
 * The arithmetic is the portable kernels' (nam_q15.h vn_nam_fused_step with S = 2,
 * vn_nam_group_step): the same SMLAD sums (exact modulo 2^32 in any order), the same table
 * index (SSAT of the sum shifted), the same residual (sat16(h + sat16(acc >> 14)), QADD16), so
 * the output is bit-identical to the host build's; //tests/robot:zoo_int16_qemu checks it.
 *
 * A loop runs `tiles` tiles (two samples each; one for 8 channels); the caller does an odd
 * last sample in C.
 * Frame (the caller's vn_nam_m7_frame_t, copied below sp by the loop): byte offsets as in the
 * struct, then scratch words at 52-71 (the 8-channel loop's); the loop advances the taps,
 * input, output and head pointers in its copy.
 */
#ifndef VALVENET_FIRMWARE_NN_NAM_Q15_M7_H_
#define VALVENET_FIRMWARE_NN_NAM_Q15_M7_H_

#include <stddef.h>
#include <stdint.h>

#include "firmware/nn/q15.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the loop reads (offsets in the comments are the assembly's). */
typedef struct {
  const int16_t *t0;     /*  0: the oldest tap's column of the first sample */
  const int16_t *t1;     /*  4 */
  const int16_t *t2;     /*  8: the layer input h */
  const uint32_t *xw;    /* 12: the mixer's input words (x, 0) */
  int16_t *next;         /* 16: the next layer's input */
  int32_t *y;            /* 20: the folded head's accumulators */
  const int16_t *conv_w; /* 24 */
  const int32_t *conv_b; /* 28 */
  const int16_t *res_w;  /* 32 */
  const int32_t *res_b;  /* 36 */
  const int16_t *fold_w; /* 40 */
  const int16_t *tm;     /* 44: the tanh table's middle */
  uint32_t tiles;        /* 48: tiles to run (pairs of samples; samples for 8 channels), >= 1 */
} vn_nam_m7_frame_t;

#if VN_Q15_USE_SMLAD

_Static_assert(offsetof(vn_nam_m7_frame_t, xw) == 12 && offsetof(vn_nam_m7_frame_t, conv_w) == 24 &&
                   offsetof(vn_nam_m7_frame_t, tm) == 44 && sizeof(vn_nam_m7_frame_t) == 52,
               "the loops address the frame's fields by these byte offsets");

/* Copies the frame (13 words at r0) below sp: [sp, #0..48]. */
#define VN_NAM_M7_ENTER                 \
  "sub sp, sp, #72\n\t"                 \
  "ldmia r0!, {r1, r2, r3, r4, r5, r6, r7}\n\t" \
  "stmia sp, {r1, r2, r3, r4, r5, r6, r7}\n\t"  \
  "ldmia r0, {r1, r2, r3, r4, r5, r6}\n\t"      \
  "add r8, sp, #28\n\t"                 \
  "stmia r8, {r1, r2, r3, r4, r5, r6}\n\t"
#define VN_NAM_M7_LEAVE "add sp, sp, #72\n\t"
#define VN_NAM_M7_NEXT_PAIR(reg) \
  "ldr " reg ", [sp, #48]\n\t"   \
  "subs " reg ", " reg ", #1\n\t" \
  "str " reg ", [sp, #48]\n\t"   \
  "bne 1b\n\t"

/* 4 channels: the input words of two samples in r10 (s0) and r11 (s1), the 4 rows' weights of
 * that word at r12 (advanced): accumulators r0-r3 (s0 rows 0-3), r4-r7 (s1). */
#define VN_NAM_M7_ROWS4                          \
  "ldrd r8, r9, [r12], #8\n\t"                   \
  "smlad r0, r8, r10, r0\n\t"                    \
  "smlad r1, r9, r10, r1\n\t"                    \
  "smlad r4, r8, r11, r4\n\t"                    \
  "smlad r5, r9, r11, r5\n\t"                    \
  "ldrd r8, r9, [r12], #8\n\t"                   \
  "smlad r2, r8, r10, r2\n\t"                    \
  "smlad r3, r9, r10, r3\n\t"                    \
  "smlad r6, r8, r11, r6\n\t"                    \
  "smlad r7, r9, r11, r7\n\t"
/* One tap of 4 channels: its pointer at [sp, #off], two words per sample, 8 bytes apart. */
#define VN_NAM_M7_TAP4(off)                      \
  "ldr lr, [sp, #" #off "]\n\t"                  \
  "ldr r10, [lr]\n\t"                            \
  "ldr r11, [lr, #8]\n\t" VN_NAM_M7_ROWS4        \
  "ldr r10, [lr, #4]\n\t"                        \
  "ldr r11, [lr, #12]\n\t" VN_NAM_M7_ROWS4       \
  "add lr, lr, #16\n\t"                          \
  "str lr, [sp, #" #off "]\n\t"
/* The table activation of accumulator r (index SSAT(r >> shift), 12 bits) into r. */
#define VN_NAM_M7_INDEX(r) "ssat " r ", #12, " r ", asr %[sh]\n\t"
#define VN_NAM_M7_LOOKUP(r) "ldrsh " r ", [r12, " r ", lsl #1]\n\t"
#define VN_NAM_M7_OUT(r) "ssat " r ", #16, " r ", asr #14\n\t"
/* The tanh of four accumulators a0..a3 (the table's middle at r12) as two activation words,
 * in a0 (rows a0, a1) and a2 (rows a2, a3). */
#define VN_NAM_M7_TANH4(a0, a1, a2, a3)                                                       \
  VN_NAM_M7_INDEX(a0) VN_NAM_M7_INDEX(a1) VN_NAM_M7_INDEX(a2) VN_NAM_M7_INDEX(a3)             \
  VN_NAM_M7_LOOKUP(a0) VN_NAM_M7_LOOKUP(a1) VN_NAM_M7_LOOKUP(a2) VN_NAM_M7_LOOKUP(a3)         \
  "pkhbt " a0 ", " a0 ", " a1 ", lsl #16\n\t"                                                \
  "pkhbt " a2 ", " a2 ", " a3 ", lsl #16\n\t"
/* Four residual accumulators a0..a3 shifted and saturated to int16, packed into a0 and a2. */
#define VN_NAM_M7_PACK_OUT(a0, a1, a2, a3)                                                    \
  VN_NAM_M7_OUT(a0) VN_NAM_M7_OUT(a1) VN_NAM_M7_OUT(a2) VN_NAM_M7_OUT(a3)                     \
  "pkhbt " a0 ", " a0 ", " a1 ", lsl #16\n\t"                                                \
  "pkhbt " a2 ", " a2 ", " a3 ", lsl #16\n\t"
/* Two rows (accumulators a, b) of a residual times one activation word p: their weights at
 * [r12, #off]. */
#define VN_NAM_M7_RES_ROWS2(off, a, b, p)        \
  "ldrd r10, r11, [r12, #" #off "]\n\t"         \
  "smlad " a ", r10, " p ", " a "\n\t"          \
  "smlad " b ", r11, " p ", " b "\n\t"

/* Residual of one 4-channel sample: accumulators a0..a3 (registers, the bias already in
 * them), its activation words p0, p1, res_w at r12; the result (two words, in a0 and a2) is
 * h + sat16(acc >> 14) two channels a word (QADD16), h at [t2 + hoff]. */
#define VN_NAM_M7_RES4(a0, a1, a2, a3, p0, p1, hoff)                                           \
  VN_NAM_M7_RES_ROWS2(0, a0, a1, p0) VN_NAM_M7_RES_ROWS2(8, a2, a3, p0)                          \
  VN_NAM_M7_RES_ROWS2(16, a0, a1, p1) VN_NAM_M7_RES_ROWS2(24, a2, a3, p1)                        \
  VN_NAM_M7_PACK_OUT(a0, a1, a2, a3)                                                           \
  "ldr lr, [sp, #8]\n\t"                                                                       \
  "ldrd r10, r11, [lr, #" #hoff "]\n\t"                                                        \
  "qadd16 " a0 ", " a0 ", r10\n\t"                                                             \
  "qadd16 " a2 ", " a2 ", r11\n\t"

/* The conv, activation and folded head of a 4-channel tile; after it the activation words
 * of sample 0 are in r0, r2 and of sample 1 in r4, r6. */
#define VN_NAM_M7_CONV4                                                                 \
  "1:\n\t"                                                                              \
  "ldr r12, [sp, #28]\n\t"                                                              \
  "ldmia r12, {r0, r1, r2, r3}\n\t"                                                     \
  "ldmia r12, {r4, r5, r6, r7}\n\t"                                                     \
  "ldr r12, [sp, #24]\n\t" VN_NAM_M7_TAP4(0) VN_NAM_M7_TAP4(4) VN_NAM_M7_TAP4(8)      \
  "ldr lr, [sp, #12]\n\t"                                                               \
  "ldrd r10, r11, [lr], #8\n\t"                                                         \
  "str lr, [sp, #12]\n\t" VN_NAM_M7_ROWS4                                               \
  "ldr r12, [sp, #44]\n\t" VN_NAM_M7_TANH4("r0", "r1", "r2", "r3") VN_NAM_M7_TANH4("r4", "r5", "r6", "r7") \
  "ldr r12, [sp, #40]\n\t"                                                              \
  "ldrd r8, r9, [r12]\n\t"                                                              \
  "ldr lr, [sp, #20]\n\t"                                                               \
  "ldrd r10, r11, [lr]\n\t"                                                             \
  "smlad r10, r8, r0, r10\n\t"                                                          \
  "smlad r10, r9, r2, r10\n\t"                                                          \
  "smlad r11, r8, r4, r11\n\t"                                                          \
  "smlad r11, r9, r6, r11\n\t"                                                          \
  "strd r10, r11, [lr], #8\n\t"                                                         \
  "str lr, [sp, #20]\n\t"

/* The residual of a 4-channel tile: both samples, one after the other (h: the two samples
 * before the advanced t2). */
#define VN_NAM_M7_RESIDUAL4                                  \
  "ldr r12, [sp, #36]\n\t"                                   \
  "ldmia r12, {r1, r3, r5, r7}\n\t"                          \
  "ldr r12, [sp, #32]\n\t"                                   \
  VN_NAM_M7_RES4("r1", "r3", "r5", "r7", "r0", "r2", -16)    \
  "ldr lr, [sp, #16]\n\t"                                    \
  "strd r1, r5, [lr]\n\t"                                    \
  "ldr lr, [sp, #36]\n\t"                                    \
  "ldmia lr, {r0, r1, r2, r3}\n\t"                           \
  VN_NAM_M7_RES4("r0", "r1", "r2", "r3", "r4", "r6", -8)     \
  "ldr lr, [sp, #16]\n\t"                                    \
  "strd r0, r2, [lr, #8]\n\t"                                \
  "add lr, lr, #16\n\t"                                      \
  "str lr, [sp, #16]\n\t"

/* 2 channels: tap pointers in r5, r6, r7, the input pointer in lr, all advanced as they go;
 * accumulators r0, r1 (s0 rows 0, 1), r2, r3 (s1). */
#define VN_NAM_M7_ROWS2                 \
  "ldrd r8, r9, [r12], #8\n\t"          \
  "smlad r0, r8, r10, r0\n\t"           \
  "smlad r1, r9, r10, r1\n\t"           \
  "smlad r2, r8, r11, r2\n\t"           \
  "smlad r3, r9, r11, r3\n\t"
#define VN_NAM_M7_TAP2(t)               \
  "ldr r11, [" t ", #4]\n\t"            \
  "ldr r10, [" t "], #8\n\t" VN_NAM_M7_ROWS2

#define VN_NAM_M7_CONV2                                                                   \
  "1:\n\t"                                                                                \
  "ldr r12, [sp, #28]\n\t"                                                                \
  "ldrd r0, r1, [r12]\n\t"                                                                \
  "ldrd r2, r3, [r12]\n\t"                                                                \
  "ldr r12, [sp, #24]\n\t" VN_NAM_M7_TAP2("r5") VN_NAM_M7_TAP2("r6") VN_NAM_M7_TAP2("r7") \
  "ldrd r10, r11, [lr], #8\n\t" VN_NAM_M7_ROWS2                                           \
  "ldr r12, [sp, #44]\n\t" VN_NAM_M7_TANH4("r0", "r1", "r2", "r3")                          \
  "ldr r12, [sp, #40]\n\t"                                                                \
  "ldr r8, [r12]\n\t"                                                                     \
  "ldr r12, [sp, #20]\n\t"                                                                \
  "ldrd r10, r11, [r12]\n\t"                                                              \
  "smlad r10, r8, r0, r10\n\t"                                                            \
  "smlad r11, r8, r2, r11\n\t"                                                            \
  "strd r10, r11, [r12], #8\n\t"                                                          \
  "str r12, [sp, #20]\n\t"

#define VN_NAM_M7_RESIDUAL2                 \
  "ldr r12, [sp, #36]\n\t"                  \
  "ldrd r1, r3, [r12]\n\t"                  \
  "ldrd r4, r8, [r12]\n\t"                  \
  "ldr r12, [sp, #32]\n\t"                  \
  "ldrd r10, r11, [r12]\n\t"                \
  "smlad r1, r10, r0, r1\n\t"               \
  "smlad r3, r11, r0, r3\n\t"               \
  "smlad r4, r10, r2, r4\n\t"               \
  "smlad r8, r11, r2, r8\n\t"               \
  VN_NAM_M7_PACK_OUT("r1", "r3", "r4", "r8") \
  "ldrd r10, r11, [r7, #-8]\n\t"            \
  "qadd16 r1, r1, r10\n\t"                  \
  "qadd16 r4, r4, r11\n\t"                  \
  "ldr r12, [sp, #16]\n\t"                  \
  "strd r1, r4, [r12], #8\n\t"              \
  "str r12, [sp, #16]\n\t"

/* 8 channels, one sample per pass, two 4-row groups: accumulators r0-r3, a tap's four input
 * words r4-r7 (one LDM), each input word's four row weights r8-r11 (one LDM from r12, the
 * weight pointer, advanced); the group's activation words go to [sp, #56] (group 0) and
 * [sp, #64] (group 1), the weight pointer between the groups to [sp, #52]. */
#define VN_NAM_M7_MAC4(u)                \
  "ldmia r12!, {r8, r9, r10, r11}\n\t"  \
  "smlad r0, r8, " u ", r0\n\t"         \
  "smlad r1, r9, " u ", r1\n\t"         \
  "smlad r2, r10, " u ", r2\n\t"        \
  "smlad r3, r11, " u ", r3\n\t"
#define VN_NAM_M7_TAP8(off)                                                          \
  "ldr lr, [sp, #" #off "]\n\t"                                                      \
  "ldmia lr, {r4, r5, r6, r7}\n\t" VN_NAM_M7_MAC4("r4") VN_NAM_M7_MAC4("r5") VN_NAM_M7_MAC4("r6") \
      VN_NAM_M7_MAC4("r7")
/* The last group's taps: the pointer advanced by one sample (16 bytes) and stored back. */
#define VN_NAM_M7_TAP8_LAST(off)                                                     \
  "ldr lr, [sp, #" #off "]\n\t"                                                      \
  "ldmia lr!, {r4, r5, r6, r7}\n\t"                                                  \
  "str lr, [sp, #" #off "]\n\t" VN_NAM_M7_MAC4("r4") VN_NAM_M7_MAC4("r5") VN_NAM_M7_MAC4("r6") \
      VN_NAM_M7_MAC4("r7")
#define VN_NAM_M7_ACT4 "ldr r12, [sp, #44]\n\t" VN_NAM_M7_TANH4("r0", "r1", "r2", "r3")

#define VN_NAM_M7_CONV8                                              \
  "1:\n\t"                                                           \
  "ldr r12, [sp, #28]\n\t"                                           \
  "ldmia r12, {r0, r1, r2, r3}\n\t"                                  \
  "ldr r12, [sp, #24]\n\t" VN_NAM_M7_TAP8(0) VN_NAM_M7_TAP8(4) VN_NAM_M7_TAP8(8) \
  "ldr lr, [sp, #12]\n\t"                                            \
  "ldr r4, [lr]\n\t" VN_NAM_M7_MAC4("r4")                            \
  "str r12, [sp, #52]\n\t" VN_NAM_M7_ACT4                            \
  "strd r0, r2, [sp, #56]\n\t"                                       \
  "ldr r12, [sp, #28]\n\t"                                           \
  "ldrd r0, r1, [r12, #16]\n\t"                                      \
  "ldrd r2, r3, [r12, #24]\n\t"                                      \
  "ldr r12, [sp, #52]\n\t" VN_NAM_M7_TAP8_LAST(0) VN_NAM_M7_TAP8_LAST(4) VN_NAM_M7_TAP8_LAST(8) \
  "ldr lr, [sp, #12]\n\t"                                            \
  "ldr r4, [lr], #4\n\t"                                             \
  "str lr, [sp, #12]\n\t" VN_NAM_M7_MAC4("r4") VN_NAM_M7_ACT4        \
  "strd r0, r2, [sp, #64]\n\t"                                       \
  "ldr r12, [sp, #40]\n\t"                                           \
  "ldmia r12, {r8, r9, r10, r11}\n\t"                                \
  "ldrd r4, r5, [sp, #56]\n\t"                                       \
  "ldr lr, [sp, #20]\n\t"                                            \
  "ldr r6, [lr]\n\t"                                                 \
  "smlad r6, r8, r4, r6\n\t"                                         \
  "smlad r6, r9, r5, r6\n\t"                                         \
  "smlad r6, r10, r0, r6\n\t"                                        \
  "smlad r6, r11, r2, r6\n\t"                                        \
  "str r6, [lr], #4\n\t"                                             \
  "str lr, [sp, #20]\n\t"

/* The residual of an 8-channel sample, group by group (res_b and res_w of group 1 follow
 * group 0's), h the sample before the advanced t2. */
#define VN_NAM_M7_RES8_OUT(hoff, ooff)                                                 \
  VN_NAM_M7_PACK_OUT("r0", "r1", "r2", "r3")                                           \
  "ldr lr, [sp, #8]\n\t"                                                              \
  "ldrd r8, r9, [lr, #" #hoff "]\n\t"                                                 \
  "qadd16 r0, r0, r8\n\t"                                                             \
  "qadd16 r2, r2, r9\n\t"                                                             \
  "ldr lr, [sp, #16]\n\t"                                                             \
  "strd r0, r2, [lr, #" #ooff "]\n\t"
#define VN_NAM_M7_RESIDUAL8                                                            \
  "add lr, sp, #56\n\t"                                                               \
  "ldmia lr, {r4, r5, r6, r7}\n\t"                                                    \
  "ldr r12, [sp, #36]\n\t"                                                            \
  "ldmia r12, {r0, r1, r2, r3}\n\t"                                                   \
  "ldr r12, [sp, #32]\n\t" VN_NAM_M7_MAC4("r4") VN_NAM_M7_MAC4("r5") VN_NAM_M7_MAC4("r6") \
      VN_NAM_M7_MAC4("r7") VN_NAM_M7_RES8_OUT(-16, 0)                                  \
  "ldr lr, [sp, #36]\n\t"                                                             \
  "ldrd r0, r1, [lr, #16]\n\t"                                                        \
  "ldrd r2, r3, [lr, #24]\n\t" VN_NAM_M7_MAC4("r4") VN_NAM_M7_MAC4("r5") VN_NAM_M7_MAC4("r6") \
      VN_NAM_M7_MAC4("r7") VN_NAM_M7_RES8_OUT(-8, 8)                                   \
  "add lr, lr, #16\n\t"                                                               \
  "str lr, [sp, #16]\n\t"

#define VN_NAM_M7_CLOBBERS \
  "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory"

/* The tiles of a tanh layer of CQ = 2 or 4 channels, kernel 3 (RES: with a residual), index
 * shift SH: f->tiles tiles of two samples. (CQ = 8: vn_nam_m7_tanh8.) */
__attribute__((always_inline)) static inline void vn_nam_m7_tanh_pairs(const int CQ, const int RES, const int SH,
                                                                       const vn_nam_m7_frame_t *f) {
  register const vn_nam_m7_frame_t *r0 __asm__("r0") = f;
  if (CQ == 4 && RES) {
    __asm__ volatile(VN_NAM_M7_ENTER VN_NAM_M7_CONV4 VN_NAM_M7_RESIDUAL4 VN_NAM_M7_NEXT_PAIR("lr") VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  } else if (CQ == 4) {
    __asm__ volatile(VN_NAM_M7_ENTER VN_NAM_M7_CONV4 VN_NAM_M7_NEXT_PAIR("lr") VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  } else if (RES) {
    __asm__ volatile(VN_NAM_M7_ENTER "ldr r5, [sp, #0]\n\t"
                                     "ldr r6, [sp, #4]\n\t"
                                     "ldr r7, [sp, #8]\n\t"
                                     "ldr lr, [sp, #12]\n\t" VN_NAM_M7_CONV2 VN_NAM_M7_RESIDUAL2
                                         VN_NAM_M7_NEXT_PAIR("r12") VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  } else {
    __asm__ volatile(VN_NAM_M7_ENTER "ldr r5, [sp, #0]\n\t"
                                     "ldr r6, [sp, #4]\n\t"
                                     "ldr r7, [sp, #8]\n\t"
                                     "ldr lr, [sp, #12]\n\t" VN_NAM_M7_CONV2 VN_NAM_M7_NEXT_PAIR("r12")
                                         VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  }
}

/* The samples of a tanh layer of 8 channels, kernel 3, index shift SH: f->tiles samples. */
__attribute__((always_inline)) static inline void vn_nam_m7_tanh8(const int RES, const int SH, const vn_nam_m7_frame_t *f) {
  register const vn_nam_m7_frame_t *r0 __asm__("r0") = f;
  if (RES) {
    __asm__ volatile(VN_NAM_M7_ENTER VN_NAM_M7_CONV8 VN_NAM_M7_RESIDUAL8 VN_NAM_M7_NEXT_PAIR("lr") VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  } else {
    __asm__ volatile(VN_NAM_M7_ENTER VN_NAM_M7_CONV8 VN_NAM_M7_NEXT_PAIR("lr") VN_NAM_M7_LEAVE
                     : "+r"(r0)
                     : [sh] "i"(SH)
                     : VN_NAM_M7_CLOBBERS);
  }
}

#endif /* VN_Q15_USE_SMLAD */

#ifdef __cplusplus
}
#endif

#endif /* VALVENET_FIRMWARE_NN_NAM_Q15_M7_H_ */
