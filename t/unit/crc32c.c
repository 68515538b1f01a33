/* t/unit/crc32c.c - CRC32C against known vectors and a bitwise reference. */
/* The implementation is compiled in (it defines LOG_SUBSYS and includes
 * fffs.h) so both the SSE4.2 and the table path can be checked on a CPU
 * that would only ever pick one of them. */
#include "base/crc32c.c"

#include <stdlib.h>

#include "t/unit/tap.h"

struct impl {
	const char *name;
	uint32_t (*fn)(uint32_t crc, const void *buf, size_t len);
};

static uint32_t via_sw(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_sw(~crc, buf, len);
}

#ifdef CRC_HAVE_HW
static uint32_t via_hw(uint32_t crc, const void *buf, size_t len)
{
	return ~crc_hw(~crc, buf, len);
}
#endif

static struct impl impls[3];
static size_t nimpls;

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* One bit at a time, straight from the definition. */
static uint32_t ref_crc(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return ~crc;
}

static void setup(void)
{
	const char *seed = getenv("TEST_SEED");
	char msg[64];

	rng_state = seed ? strtoull(seed, NULL, 0) : now_ns();
	snprintf(msg, sizeof(msg), "TEST_SEED=%llu",
		 (unsigned long long)rng_state);
	diag(msg);
	impls[nimpls++] = (struct impl){ "crc32c", crc32c };
	crc32c(0, "", 0); /* builds the tables crc_sw needs */
	impls[nimpls++] = (struct impl){ "table", via_sw };
#ifdef CRC_HAVE_HW
	if (__builtin_cpu_supports("sse4.2"))
		impls[nimpls++] = (struct impl){ "sse4.2", via_hw };
#endif
}

static void test_vectors(void)
{
	uint8_t zeros[32], ones[32];
	char name[80];

	memset(zeros, 0, sizeof(zeros));
	memset(ones, 0xff, sizeof(ones));
	for (size_t i = 0; i < nimpls; i++) {
		uint32_t (*fn)(uint32_t, const void *, size_t) = impls[i].fn;

		snprintf(name, sizeof(name), "%s: check value", impls[i].name);
		is_int(fn(0, "123456789", 9), 0xe3069283u, name);
		snprintf(name, sizeof(name), "%s: 32 zero bytes",
			 impls[i].name);
		is_int(fn(0, zeros, 32), 0x8a9136aau, name);
		snprintf(name, sizeof(name), "%s: 32 0xff bytes",
			 impls[i].name);
		is_int(fn(0, ones, 32), 0x62a8ab43u, name);
		snprintf(name, sizeof(name), "%s: empty input", impls[i].name);
		is_int(fn(0, NULL, 0), 0, name);
	}
	is_int(ref_crc(0, (const uint8_t *)"123456789", 9), 0xe3069283u,
	       "reference: check value");
}

/* Every implementation agrees with the reference on p[0..n); the first
 * few disagreements are shown. */
static bool agree(const uint8_t *p, size_t n, uint32_t seed)
{
	static int shown;
	uint32_t want = ref_crc(seed, p, n);
	char msg[128];

	for (size_t i = 0; i < nimpls; i++) {
		uint32_t got = impls[i].fn(seed, p, n);

		if (got == want)
			continue;
		if (shown++ >= 5)
			return false;
		snprintf(msg, sizeof(msg),
			 "%s: len %zu align %zu: got %08x want %08x",
			 impls[i].name, n, (size_t)((uintptr_t)p & 63), got,
			 want);
		diag(msg);
		return false;
	}
	return true;
}

static void test_every_length(uint8_t *buf)
{
	int bad = 0;

	rng_fill(buf, 1024 + 64);
	for (size_t n = 0; n <= 1024; n++)
		bad += !agree(buf + n % 64, n, (uint32_t)n * 0x01000193u);
	is_int(bad, 0, "every length 0..1024 agrees with the reference");
}

/* Lengths around the three-way block sizes, where the joins happen. */
static void test_block_edges(uint8_t *buf)
{
	static const size_t base[] = { 3 * CRC_SHORT, 3 * CRC_LONG,
				       3 * CRC_LONG + 3 * CRC_SHORT,
				       2 * 3 * CRC_LONG };
	int bad = 0;

	rng_fill(buf, 2 * 3 * CRC_LONG + 64 + 16);
	for (size_t b = 0; b < FFFS_ARRAY_LEN(base); b++)
		for (size_t d = 0; d < 24; d++)
			for (size_t a = 0; a < 8; a++)
				bad += !agree(buf + a, base[b] + d - 8, 0);
	is_int(bad, 0, "lengths at the interleave block edges agree");
}

static void test_random_lengths(uint8_t *buf, size_t cap)
{
	int bad = 0;

	rng_fill(buf, cap + 64);
	for (int i = 0; i < 48; i++)
		bad += !agree(buf + rng() % 64, rng() % (cap + 1),
			      (uint32_t)rng());
	for (int i = 0; i < 400; i++)
		bad += !agree(buf + rng() % 64, rng() % 65536, (uint32_t)rng());
	is_int(bad, 0, "random lengths up to 1 MiB at random alignments agree");
}

static void test_chaining(uint8_t *buf)
{
	size_t n = 3000;
	uint32_t whole, c;
	int bad = 0;

	rng_fill(buf, n);
	whole = crc32c(0, buf, n);
	for (size_t i = 0; i <= n; i++)
		bad += crc32c(crc32c(0, buf, i), buf + i, n - i) != whole;
	is_int(bad, 0, "crc(crc(a), b) == crc(a||b) at every split");
	bad = 0;
	for (int k = 0; k < 1000; k++) {
		size_t i = rng() % (n + 1), j = i + rng() % (n - i + 1);

		c = crc32c(0, buf, i);
		c = crc32c(c, buf + i, j - i);
		bad += crc32c(c, buf + j, n - j) != whole;
	}
	is_int(bad, 0, "three-piece chaining at random splits");
	is_int(crc32c(0x12345678, buf, 0), 0x12345678,
	       "empty piece leaves the crc alone");
}

/* Two and three pieces of random buffers at random splits, joined with
 * crc32c_combine(), give the CRC of the whole. */
static void test_combine(uint8_t *buf, size_t cap)
{
	int bad = 0;

	rng_fill(buf, cap);
	for (int k = 0; k < 2000; k++) {
		size_t n = k < 100 ? rng() % (cap + 1) : rng() % 8193;
		size_t i = rng() % (n + 1), j = i + rng() % (n - i + 1);
		uint32_t whole = crc32c(0, buf, n), a = crc32c(0, buf, i);
		uint32_t b = crc32c(0, buf + i, j - i), c;

		c = crc32c(0, buf + j, n - j);
		bad += crc32c_combine(a, crc32c(0, buf + i, n - i), n - i) !=
		       whole;
		bad += crc32c_combine(crc32c_combine(a, b, j - i), c, n - j) !=
		       whole;
	}
	is_int(bad, 0, "combine at random splits == crc of the whole");
	bad = 0;
	for (size_t i = 0; i <= 300; i++)
		bad += crc32c_combine(crc32c(0, buf, i),
				      crc32c(0, buf + i, 300 - i),
				      300 - i) != crc32c(0, buf, 300);
	is_int(bad, 0, "combine at every split of 300 bytes");
	is_int(crc32c_combine(0x12345678, 0, 0), 0x12345678,
	       "combine with an empty second piece");
	is_int(crc32c_combine(0, 0xe3069283u, 9), 0xe3069283u,
	       "combine with an empty first piece");
}

static void test_zeros_small(const uint8_t *zero, size_t cap)
{
	static const size_t lens[] = { 0,    1,	   2,	 3,	7,     8,
				       9,    31,   32,	 255,	256,   4095,
				       4096, 4097, 8192, 24575, 24576, 65536 };
	char msg[96];
	int bad = 0;

	is_int(crc32c_zeros(0), 0, "zeros(0) == 0");
	is_int(crc32c_zeros(32), 0x8a9136aau, "zeros(32) check value");
	for (size_t i = 0; i < FFFS_ARRAY_LEN(lens); i++)
		bad += crc32c_zeros(lens[i]) != crc32c(0, zero, lens[i]);
	for (size_t n = 0; n <= 1024; n++)
		bad += crc32c_zeros(n) != crc32c(0, zero, n);
	for (int k = 0; k < 100; k++) {
		size_t n = rng() % (cap + 1);

		if (crc32c_zeros(n) == crc32c(0, zero, n))
			continue;
		snprintf(msg, sizeof(msg), "zeros(%zu) wrong", n);
		diag(msg);
		bad++;
	}
	is_int(bad, 0, "zeros(n) == crc of n zero bytes, n up to 1 MiB");
	is_int(crc32c_zeros(cap), crc32c(0, zero, cap), "zeros(1 MiB)");
}

/* CRC of n zero bytes the slow way: whole MiBs through a shift table built
 * by the table path, the rest through the table path itself. */
static uint32_t ref_zeros(const uint32_t tab[4][256], const uint8_t *zero,
			  uint64_t n)
{
	uint32_t reg = 0xffffffffu;

	for (uint64_t q = n >> 20; q; q--)
		reg = crc_shift(tab, reg);
	return ~crc_sw(reg, zero, (size_t)(n & ((1u << 20) - 1)));
}

static void test_zeros_large(const uint8_t *zero, size_t cap)
{
	static const uint64_t lens[] = { (1ull << 32) - 1, 1ull << 32,
					 (1ull << 32) + 1, (5ull << 30) + 12345,
					 (1ull << 40) + 4097 };
	static uint32_t tab[4][256];
	uint64_t n = (1ull << 32) + 3, left;
	uint32_t c = 0;
	int bad = 0;

	FFFS_ASSERT(cap == 1u << 20);
	crc_init_shift(tab, cap);
	for (size_t i = 0; i < FFFS_ARRAY_LEN(lens); i++)
		bad += crc32c_zeros(lens[i]) != ref_zeros(tab, zero, lens[i]);
	is_int(bad, 0, "zeros(n) past 4 GiB == shift-table reference");
	for (left = n; left; left -= left < cap ? left : cap)
		c = crc32c(c, zero, left < cap ? left : cap);
	is_int(crc32c_zeros(n), c, "zeros(4 GiB + 3) == chained crc32c");
	bad = 0;
	for (int k = 0; k < 200; k++) {
		size_t a = rng() >> (rng() % 64), b = rng() >> (rng() % 64);

		if (a > SIZE_MAX - b)
			a = SIZE_MAX - b;
		bad += crc32c_zeros(a + b) !=
		       crc32c_combine(crc32c_zeros(a), crc32c_zeros(b), b);
	}
	bad += crc32c_zeros(SIZE_MAX) !=
	       crc32c_combine(crc32c_zeros(1), crc32c_zeros(SIZE_MAX - 1),
			      SIZE_MAX - 1);
	is_int(bad, 0,
	       "zeros(a + b) == combine(zeros(a), zeros(b)) up to 2^64");
}

int main(void)
{
	size_t cap = 1 << 20;
	uint8_t *buf = xaligned_alloc(64, cap + 128);

	setup();
	ok(nimpls >= 2, "at least the public entry and the table path");
	test_vectors();
	test_every_length(buf);
	test_block_edges(buf);
	test_random_lengths(buf, cap);
	test_chaining(buf);
	test_combine(buf, cap);
	memset(buf, 0, cap);
	test_zeros_small(buf, cap);
	test_zeros_large(buf, cap);
	free(buf);
	return done_testing();
}
