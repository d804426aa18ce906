/*
 * crc32.h - CRC-32 as zlib computes it (ISO-HDLC: reflected 0xEDB88320, init and final
 * XOR 0xFFFFFFFF), so the host checks frames with Python's zlib.crc32.
 */
#ifndef VALVENET_APP_CRC32_H
#define VALVENET_APP_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of `length` bytes continuing from `crc` (0 to start): crc32(crc32(0, a), b) == crc32(0, ab). */
uint32_t crc32_update(uint32_t crc, const uint8_t *data, size_t length);

#endif /* VALVENET_APP_CRC32_H */
