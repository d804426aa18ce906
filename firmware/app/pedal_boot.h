/*
 * pedal_boot.h - the pedal of an image and what it does at boot (pedal_boot() in
 * tools/codegen/model_library.bzl): the amp image for the NUCLEO starts its codec stream, so a
 * guitarist only powers it up; test and emulator images wait for AUDIO_START; images without a
 * pedal (the console and benchmark images) spend no RAM on it.
 */
#ifndef VALVENET_APP_PEDAL_BOOT_H
#define VALVENET_APP_PEDAL_BOOT_H

#include <stdint.h>

#include "firmware/app/pedal.h"

typedef struct {
  uint32_t sample_rate; /* 0: do not start at boot */
  uint32_t block;
  int32_t pot_knob;     /* the model knob the board's potentiometer 0 turns; -1: none */
} pedal_boot_t;

extern const pedal_boot_t pedal_boot;

/* The image's pedal (about 160 KB with its software source and sink), or NULL for none. */
extern pedal_t *const pedal_storage;

#endif /* VALVENET_APP_PEDAL_BOOT_H */
