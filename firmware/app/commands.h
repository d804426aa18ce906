/*
 * commands.h - the text command loop's commands.
 *
 * One command line in, one reply line out ("OK ...", "pong" or "ERR ..."). Kept apart
 * from the UART so host tests can drive it directly.
 */
#ifndef VALVENET_COMMANDS_H
#define VALVENET_COMMANDS_H

#include <stddef.h>

#define COMMANDS_REPLY_CAPACITY 256u

/* Writes the banner line (no newline): version, revision, board, clock, compiler, counter. */
size_t commands_banner(char *out, size_t capacity);

/* Executes one command line and writes the reply (no newline). A command that ends the
 * run ("exit N") does not return. */
size_t commands_execute(const char *line, char *reply, size_t capacity);

#endif /* VALVENET_COMMANDS_H */
