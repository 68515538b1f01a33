/* t/unit/pack.c - round trips, limits and sticky errors of net/pack.h. */
#define LOG_SUBSYS "t-pack"
#include <stdlib.h>

#include "fffs.h"
#include "net/pack.h"
#include "t/unit/tap.h"

#define BIGSTR 65535

static void pack_everything(struct pack *pk, const char *big, const void *blob)
{
	pack_u8(pk, 0);
	pack_u8(pk, UINT8_MAX);
	pack_u16(pk, UINT16_MAX);
	pack_u32(pk, UINT32_MAX);
	pack_u64(pk, UINT64_MAX);
	pack_u64(pk, 0x0102030405060708ull);
	pack_i32(pk, INT32_MIN);
	pack_i32(pk, -1);
	pack_i64(pk, INT64_MIN);
	pack_i64(pk, INT64_MAX);
	pack_str(pk, "");
	pack_str(pk, NULL);
	pack_str(pk, "name");
	pack_strn(pk, big, BIGSTR);
	pack_blob(pk, blob, 5);
	pack_blob(pk, NULL, 0);
	pack_bytes(pk, "xyz", 3);
}

/* 1+1+2+4+8+8+4+4+8+8 fixed, three short strings, the big one, blobs. */
#define PACKED_LEN (48 + 2 + 2 + 6 + 2 + BIGSTR + 4 + 5 + 4 + 3)

static void check_scalars(struct unpack *up)
{
	is_int(unpack_u8(up), 0, "u8 0");
	is_int(unpack_u8(up), UINT8_MAX, "u8 max");
	is_int(unpack_u16(up), UINT16_MAX, "u16 max");
	is_int(unpack_u32(up), UINT32_MAX, "u32 max");
	ok(unpack_u64(up) == UINT64_MAX, "u64 max");
	ok(unpack_u64(up) == 0x0102030405060708ull, "u64 byte order");
	is_int(unpack_i32(up), INT32_MIN, "i32 min");
	is_int(unpack_i32(up), -1, "i32 -1");
	ok(unpack_i64(up) == INT64_MIN, "i64 min");
	ok(unpack_i64(up) == INT64_MAX, "i64 max");
}

static void check_strings(struct unpack *up, const char *big, const void *blob)
{
	const char *s;
	const void *b;
	uint32_t bn;
	size_t n;
	char tail[3];

	unpack_str(up, &s, &n);
	is_int(n, 0, "empty string");
	unpack_str(up, &s, &n);
	is_int(n, 0, "NULL packs as an empty string");
	unpack_str(up, &s, &n);
	ok(n == 4 && !memcmp(s, "name", 4), "short string");
	unpack_str(up, &s, &n);
	ok(n == BIGSTR && !memcmp(s, big, n), "65535-byte string");
	unpack_blob(up, &b, &bn);
	ok(bn == 5 && !memcmp(b, blob, 5), "blob");
	unpack_blob(up, &b, &bn);
	is_int(bn, 0, "empty blob");
	unpack_bytes(up, tail, sizeof(tail));
	ok(!memcmp(tail, "xyz", 3), "raw bytes");
}

static void test_round_trip(void)
{
	size_t cap = PACKED_LEN + 16;
	uint8_t *buf = xmalloc(cap), blob[5] = { 0, 1, 0xfe, 0xff, 7 };
	char *big = xmalloc(BIGSTR);
	struct unpack up;
	struct pack pk;

	for (size_t i = 0; i < BIGSTR; i++)
		big[i] = (char)('a' + i % 26);
	pack_init(&pk, buf, cap);
	pack_everything(&pk, big, blob);
	is_int(pk.err, 0, "packing everything fits");
	is_int(pack_len(&pk), PACKED_LEN, "packed length is the sum of fields");
	ok(buf[0] == 0 && buf[1] == 0xff && buf[16] == 0x08 && buf[23] == 0x01,
	   "little-endian on the wire");
	unpack_init(&up, buf, pack_len(&pk));
	check_scalars(&up);
	check_strings(&up, big, blob);
	is_int(unpack_finish(&up), 0, "everything consumed");
	free(big);
	free(buf);
}

static bool untouched(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xaa)
			return false;
	return true;
}

static void test_pack_overflow(void)
{
	uint8_t buf[16];
	struct pack pk;

	memset(buf, 0xaa, sizeof(buf));
	pack_init(&pk, buf, 5);
	pack_u32(&pk, 1);
	is_int(pk.err, 0, "u32 fits in 5 bytes");
	pack_u16(&pk, 2);
	is_int(pk.err, -FFFS_ETOOBIG, "u16 past the end: ETOOBIG");
	pack_u8(&pk, 3);
	pack_bytes(&pk, "", 0);
	is_int(pack_len(&pk), 4,
	       "nothing packed after the error, even if it fits");
	ok(untouched(buf + 4, sizeof(buf) - 4),
	   "no byte written past the error");
	is_int(pk.err, -FFFS_ETOOBIG, "error stays");

	memset(buf, 0xaa, sizeof(buf));
	pack_init(&pk, buf, sizeof(buf));
	pack_blob(&pk, "0123456789abcdef", 16);
	is_int(pk.err, -FFFS_ETOOBIG, "blob longer than the buffer: ETOOBIG");
	ok(untouched(buf + 4, sizeof(buf) - 4), "blob bytes not written");
}

static void test_pack_long_string(void)
{
	size_t cap = 2 * BIGSTR;
	uint8_t *buf = xmalloc(cap);
	char *s = xmalloc(BIGSTR + 2);
	struct pack pk;

	memset(s, 'x', BIGSTR + 1);
	s[BIGSTR + 1] = 0;
	pack_init(&pk, buf, cap);
	pack_strn(&pk, s, BIGSTR + 1);
	is_int(pk.err, -FFFS_ETOOBIG, "65536-byte string: ETOOBIG");
	is_int(pack_len(&pk), 0, "too-long string writes nothing");
	pack_init(&pk, buf, cap);
	pack_str(&pk, s);
	is_int(pk.err, -FFFS_ETOOBIG, "pack_str of 65536 bytes: ETOOBIG");
	pack_init(&pk, buf, 0);
	pack_str(&pk, "");
	is_int(pk.err, -FFFS_ETOOBIG, "empty string still needs its length");
	free(s);
	free(buf);
}

/* Each getter on input one byte short: EBADFRAME and a zero result. */
static void test_truncated_scalars(void)
{
	static const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff };
	struct unpack up;
	int bad = 0;

#define SHORT_GET(get, width)                                      \
	do {                                                       \
		unpack_init(&up, ff, (width)-1);                   \
		bad += get(&up) != 0 || up.err != -FFFS_EBADFRAME; \
	} while (0)
	SHORT_GET(unpack_u8, 1);
	SHORT_GET(unpack_u16, 2);
	SHORT_GET(unpack_u32, 4);
	SHORT_GET(unpack_u64, 8);
	SHORT_GET(unpack_i32, 4);
	SHORT_GET(unpack_i64, 8);
#undef SHORT_GET
	is_int(bad, 0, "every scalar getter: EBADFRAME and 0 when short");

	unpack_init(&up, ff, 1);
	unpack_u16(&up);
	is_int(unpack_u8(&up), 0, "sticky: a later get that would fit gives 0");
	is_int(unpack_left(&up), 1, "sticky: the failed get consumed nothing");
	is_int(unpack_finish(&up), -FFFS_EBADFRAME, "finish reports the error");
}

static void test_truncated_str(void)
{
	static const uint8_t in[] = { 5, 0, 'a', 'b', 'c', 'd' };
	const char *s = NULL;
	struct unpack up;
	char dst[16];
	size_t n = 99;

	unpack_init(&up, in, 1);
	unpack_str(&up, &s, &n);
	ok(up.err == -FFFS_EBADFRAME && n == 0 && s && !*s,
	   "str with a short length: EBADFRAME, empty result");
	unpack_init(&up, in, sizeof(in));
	unpack_str(&up, &s, &n);
	ok(up.err == -FFFS_EBADFRAME && n == 0 && s && !*s,
	   "str with short bytes: EBADFRAME, empty result");
	memset(dst, 'z', sizeof(dst));
	unpack_init(&up, in, sizeof(in));
	unpack_cstr(&up, dst, sizeof(dst));
	ok(up.err == -FFFS_EBADFRAME && dst[0] == 0,
	   "cstr with short bytes: EBADFRAME, empty string");
}

static void test_truncated_blob(void)
{
	static const uint8_t in[] = { 4, 0, 0, 0, 1, 2, 3 };
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 1 };
	const void *b = in;
	struct unpack up;
	uint8_t dst[4] = { 9, 9, 9, 9 };
	uint32_t n = 99;

	unpack_init(&up, in, 3);
	unpack_blob(&up, &b, &n);
	ok(up.err == -FFFS_EBADFRAME && !b && n == 0,
	   "blob with a short length: EBADFRAME, NULL/0");
	b = in;
	unpack_init(&up, in, sizeof(in));
	unpack_blob(&up, &b, &n);
	ok(up.err == -FFFS_EBADFRAME && !b && n == 0,
	   "blob with short bytes: EBADFRAME, NULL/0");
	b = in;
	unpack_init(&up, huge, sizeof(huge));
	unpack_blob(&up, &b, &n);
	ok(up.err == -FFFS_EBADFRAME && !b && n == 0,
	   "blob claiming 4 GiB: EBADFRAME");
	unpack_init(&up, in, 3);
	unpack_bytes(&up, dst, sizeof(dst));
	ok(up.err == -FFFS_EBADFRAME && !dst[0] && !dst[1] && !dst[2] &&
		   !dst[3],
	   "bytes when short: EBADFRAME, zero-filled");
}

static void test_finish(void)
{
	static const uint8_t in[] = { 1, 2, 3 };
	struct unpack up;

	unpack_init(&up, in, sizeof(in));
	unpack_u16(&up);
	is_int(unpack_finish(&up), -FFFS_EBADFRAME, "trailing byte: EBADFRAME");
	unpack_u8(&up);
	is_int(unpack_finish(&up), 0, "all consumed: 0");
	unpack_init(&up, in, 0);
	is_int(unpack_finish(&up), 0, "empty body: 0");
}

static void test_cstr(void)
{
	static const uint8_t four[] = { 4, 0, 'a', 'b', 'c', 'd' };
	static const uint8_t nul[] = { 3, 0, 'a', 0, 'c' };
	struct unpack up;
	char dst[8];

	unpack_init(&up, four, sizeof(four));
	unpack_cstr(&up, dst, 5);
	ok(!up.err && !strcmp(dst, "abcd"), "cstr that just fits with its NUL");
	unpack_init(&up, four, sizeof(four));
	unpack_cstr(&up, dst, 4);
	ok(up.err == -FFFS_EBADFRAME && dst[0] == 0,
	   "cstr one byte too long: EBADFRAME");
	unpack_init(&up, nul, sizeof(nul));
	unpack_cstr(&up, dst, sizeof(dst));
	ok(up.err == -FFFS_EBADFRAME && dst[0] == 0,
	   "cstr with an embedded NUL: EBADFRAME");
	unpack_init(&up, four, sizeof(four));
	unpack_cstr(&up, dst, 0);
	is_int(up.err, -FFFS_EBADFRAME,
	       "cstr into a zero-size buffer: EBADFRAME");
}

int main(void)
{
	test_round_trip();
	test_pack_overflow();
	test_pack_long_string();
	test_truncated_scalars();
	test_truncated_str();
	test_truncated_blob();
	test_finish();
	test_cstr();
	return done_testing();
}
