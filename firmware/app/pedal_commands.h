/*
 * pedal_commands.h - the pedal on the text console, for a person at a terminal:
 *
 *   pedal                      the stream's state, load and missed deadlines
 *   pedal start [RATE [BLOCK]] the codec stream (default: the model's rate, 32 frames)
 *   pedal stop
 *   pedal set NAME VALUE       input_gain_db, gate_threshold_db, output_gain_db, bypass,
 *                              cabinet, ramp_ms (as PARAM: ramped, at the next block)
 *
 * Model commands (bench, selftest) are refused while a stream runs: the model's state belongs
 * to the stream.
 */
#ifndef VALVENET_APP_PEDAL_COMMANDS_H
#define VALVENET_APP_PEDAL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "firmware/app/pedal.h"

/* Handles a console line if it is a pedal command, or a model command that the running stream
 * must refuse: writes the reply and returns true. Returns false for every other line. */
bool pedal_commands_execute(pedal_t *pedal, const char *line, char *reply, size_t capacity);

#endif /* VALVENET_APP_PEDAL_COMMANDS_H */
