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

/* The CRC of A||B from crc(A), crc(B) and B's length, in O(log len2):
 * crc32c_combine(crc32c(0, a, n), crc32c(0, b, m), m) == crc32c(0, ab, n+m). */
uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, size_t len2);

/* CRC32C of len zero bytes, in O(log len). */
uint32_t crc32c_zeros(size_t len);

#endif /* BASE_CRC32C_H */
