/* base/crc32c.c - CRC32C with SSE4.2 (three interleaved streams) or
 * slicing-by-8 tables, and combining CRCs by arithmetic modulo P. */
#define LOG_SUBSYS "crc32c"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "base/crc32c.h"
#include "fffs.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#define CRC_HAVE_HW 1
#endif

#define CRC_POLY 0x82f63b78u /* reflected Castagnoli */

/*
 * The implementations below work on the raw register: crc32c() inverts on
 * the way in and out, so chaining only ever sees finished CRC values.
 *
 * The crc32 instruction has a latency of three cycles but issues one per
 * cycle, so one dependent stream runs at a third of the possible speed.
 * Long buffers are cut into three equal blocks that are checksummed in
 * parallel, then joined: crc(a||b) = shift(crc(a), |b|) ^ crc0(b), where
 * shift() appends |b| zero bytes. shift() is linear, so for a fixed block
 * length it is four 256-entry tables built at init.
 */
#define CRC_LONG  8192 /* bytes per stream for big buffers */
#define CRC_SHORT 256  /* bytes per stream for the rest */

typedef uint32_t crc_fn(uint32_t crc, const uint8_t *p, size_t len);

#define CRC_X2N_BITS 64 /* one power per bit of a 64-bit length */

static uint32_t crc_table[8][256];
/* x^(8 * 2^k) modulo P in the reflected bit order (bit 31 is x^0):
 * multiplying a register by x^(8n) appends n zero bytes. */
static uint32_t crc_x8n_pow[CRC_X2N_BITS];
static uint32_t crc_long_shift[4][256];
static uint32_t crc_short_shift[4][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static uint32_t crc_first(uint32_t crc, const uint8_t *p, size_t len);
static _Atomic(crc_fn *) crc_impl = crc_first;

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint32_t crc_byte(uint32_t crc, uint8_t b)
{
	return crc_table[0][(crc ^ b) & 0xff] ^ (crc >> 8);
}

/* Slicing-by-8: eight table lookups per 8-byte word. */
static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	for (; len && ((uintptr_t)p & 7); len--)
		crc = crc_byte(crc, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t w = load_le64(p) ^ crc;

		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^
		      crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^
		      crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
	}
	for (; len; len--)
		crc = crc_byte(crc, *p++);
	return crc;
}

static inline uint32_t crc_shift(const uint32_t tab[4][256], uint32_t crc)
{
	return tab[0][crc & 0xff] ^ tab[1][(crc >> 8) & 0xff] ^
	       tab[2][(crc >> 16) & 0xff] ^ tab[3][crc >> 24];
}

#ifdef CRC_HAVE_HW
/* Three blocks of blk bytes each at p, checksummed in parallel and joined. */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_3way(uint32_t crc, const uint8_t *p, size_t blk,
	    const uint32_t shift[4][256])
{
	uint64_t c0 = crc, c1 = 0, c2 = 0;
	const uint8_t *end = p + blk;

	for (; p < end; p += 8) {
		c0 = _mm_crc32_u64(c0, load_le64(p));
		c1 = _mm_crc32_u64(c1, load_le64(p + blk));
		c2 = _mm_crc32_u64(c2, load_le64(p + 2 * blk));
	}
	c0 = crc_shift(shift, (uint32_t)c0) ^ c1;
	return crc_shift(shift, (uint32_t)c0) ^ (uint32_t)c2;
}

__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c;

	for (; len && ((uintptr_t)p & 7); len--)
		crc = _mm_crc32_u8(crc, *p++);
	for (; len >= 3 * CRC_LONG; len -= 3 * CRC_LONG, p += 3 * CRC_LONG)
		crc = crc_hw_3way(crc, p, CRC_LONG, crc_long_shift);
	for (; len >= 3 * CRC_SHORT; len -= 3 * CRC_SHORT, p += 3 * CRC_SHORT)
		crc = crc_hw_3way(crc, p, CRC_SHORT, crc_short_shift);
	c = crc;
	for (; len >= 8; len -= 8, p += 8)
		c = _mm_crc32_u64(c, load_le64(p));
	crc = (uint32_t)c;
	for (; len; len--)
		crc = _mm_crc32_u8(crc, *p++);
	return crc;
}
#endif

static void crc_init_table(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC_POLY : c >> 1;
		crc_table[0][n] = c;
	}
	for (int k = 1; k < 8; k++)
		for (int n = 0; n < 256; n++)
			crc_table[k][n] = crc_byte(crc_table[k - 1][n], 0);
}

/* Tables for shift(): the image of each register bit after len zero bytes,
 * then every byte value as the XOR of its bits' images. */
static void crc_init_shift(uint32_t tab[4][256], size_t len)
{
	static const uint8_t zeros[CRC_SHORT];
	uint32_t col[32];

	for (int i = 0; i < 32; i++) {
		uint32_t c = 1u << i;

		for (size_t n = 0; n < len; n += sizeof(zeros))
			c = crc_sw(c, zeros, sizeof(zeros));
		col[i] = c;
	}
	for (int k = 0; k < 4; k++)
		for (int b = 0; b < 256; b++) {
			uint32_t v = 0;

			for (int j = 0; j < 8; j++)
				if (b & (1 << j))
					v ^= col[8 * k + j];
			tab[k][b] = v;
		}
}

/* a * b modulo P, both reflected: bit 31 is the coefficient of x^0. */
static uint32_t crc_mulmod(uint32_t a, uint32_t b)
{
	uint32_t p = 0;

	for (uint32_t m = 1u << 31; m; m >>= 1) {
		if (a & m)
			p ^= b;
		b = b & 1 ? (b >> 1) ^ CRC_POLY : b >> 1;
	}
	return p;
}

/* Repeated squaring from x^8: the table does not rely on the period of x
 * modulo P, so every bit of a 64-bit length has its own entry. */
static void crc_init_pow(void)
{
	crc_x8n_pow[0] = 1u << (31 - 8);
	for (int k = 1; k < CRC_X2N_BITS; k++)
		crc_x8n_pow[k] =
			crc_mulmod(crc_x8n_pow[k - 1], crc_x8n_pow[k - 1]);
}

/* x^(8 * len) modulo P: the shift that appends len zero bytes. */
static uint32_t crc_x8n(uint64_t len)
{
	uint32_t p = 1u << 31; /* x^0 */

	for (int k = 0; len; k++, len >>= 1)
		if (len & 1)
			p = crc_mulmod(crc_x8n_pow[k], p);
	return p;
}

static void crc_init(void)
{
	crc_fn *fn = crc_sw;

	_Static_assert(CRC_LONG % CRC_SHORT == 0, "shift tables step");
	_Static_assert(sizeof(size_t) * 8 <= CRC_X2N_BITS, "length bits");
	crc_init_table();
	crc_init_pow();
	crc_init_shift(crc_long_shift, CRC_LONG);
	crc_init_shift(crc_short_shift, CRC_SHORT);
#ifdef CRC_HAVE_HW
	if (__builtin_cpu_supports("sse4.2"))
		fn = crc_hw;
#endif
	atomic_store_explicit(&crc_impl, fn, memory_order_release);
}

/* The first call builds the tables and picks the implementation. */
static uint32_t crc_first(uint32_t crc, const uint8_t *p, size_t len)
{
	pthread_once(&crc_once, crc_init);
	return atomic_load_explicit(&crc_impl, memory_order_acquire)(crc, p,
								     len);
}

uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	crc_fn *fn = atomic_load_explicit(&crc_impl, memory_order_acquire);

	return ~fn(~crc, buf, len);
}

/*
 * Both CRCs are finished values (inverted in and out). The register of A||B
 * is shift(reg(A), |B|) ^ reg0(B); writing both sides through the
 * inversions, the 0xffffffff terms cancel and crc(A||B) = shift(crc(A),
 * |B|) ^ crc(B), with shift() a multiplication by x^(8|B|) modulo P.
 */
uint32_t crc32c_combine(uint32_t crc1, uint32_t crc2, size_t len2)
{
	pthread_once(&crc_once, crc_init);
	return crc_mulmod(crc_x8n(len2), crc1) ^ crc2;
}

/* The register starts at all ones and sees only zeros: a pure shift. */
uint32_t crc32c_zeros(size_t len)
{
	pthread_once(&crc_once, crc_init);
	return ~crc_mulmod(crc_x8n(len), 0xffffffffu);
}
