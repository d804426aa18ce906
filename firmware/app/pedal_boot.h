/*
 * pedal_boot.h - what the pedal does at boot, per image (pedal_boot() in
 * tools/codegen/model_library.bzl): the amp image for the NUCLEO starts its codec stream, so a
 * guitarist only powers it up; test and emulator images wait for AUDIO_START.
 */
#ifndef VALVENET_APP_PEDAL_BOOT_H
#define VALVENET_APP_PEDAL_BOOT_H

#include <stdint.h>

typedef struct {
  uint32_t sample_rate; /* 0: do not start at boot */
  uint32_t block;
} pedal_boot_t;

extern const pedal_boot_t pedal_boot;

#endif /* VALVENET_APP_PEDAL_BOOT_H */
