/* base/crc32c.h - CRC32C (Castagnoli), hardware accelerated.
 *
 * crc32c(0, buf, len) gives the standard CRC32C of buf (check value of
 * "123456789" is 0xe3069283). Chain calls with the previous result to
 * checksum data in pieces: crc32c(crc32c(0, a, n), b, m) == CRC of a||b.
 * Uses SSE4.2 crc32 instructions when the CPU has them, else a slicing
 * table; the choice is made once at first use.
 */
#ifndef BASE_CRC32C_H
#define BASE_CRC32C_H

#include "fffs.h"

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* BASE_CRC32C_H */
