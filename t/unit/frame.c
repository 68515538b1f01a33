/* t/unit/frame.c - frame header encoding and every way decoding rejects. */
#define LOG_SUBSYS "t-frame"
#include <stdlib.h>

#include "base/crc32c.h"
#include "fffs.h"
#include "net/frame.h"
#include "t/unit/tap.h"

#define MAX_BODY (1u << 20)
#define MAX_BULK (64u << 20)

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recompute the header CRC after a test edited other bytes. */
static void fix_crc(uint8_t *b)
{
	put_le32(b + 36, crc32c(0, b, 36));
}

static struct frame_hdr sample(void)
{
	return (struct frame_hdr){ .type = 0x1234,
				   .flags = FRAME_F_RESPONSE,
				   .status = -FFFS_ECHAINVER,
				   .req_id = 0xfedcba9876543210ull,
				   .body_len = MAX_BODY,
				   .bulk_len = MAX_BULK };
}

static bool hdr_eq(const struct frame_hdr *a, const struct frame_hdr *b)
{
	return a->version == b->version && a->type == b->type &&
	       a->flags == b->flags && a->status == b->status &&
	       a->req_id == b->req_id && a->body_len == b->body_len &&
	       a->bulk_len == b->bulk_len;
}

static int decode(const uint8_t *b, struct frame_hdr *h)
{
	return frame_hdr_decode(b, h, MAX_BODY, MAX_BULK);
}

static void test_round_trip(void)
{
	struct frame_hdr in = sample(), out;
	uint8_t b[FRAME_HDR_LEN];

	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), 0, "encoded header decodes");
	in.version = FRAME_VERSION;
	ok(hdr_eq(&in, &out), "every field survives the round trip");
	ok(b[0] == 'F' && b[1] == 'F' && b[2] == 'F' && b[3] == 'S',
	   "magic reads FFFS on the wire");
	ok(b[4] == FRAME_VERSION && b[5] == 0, "version 0 encodes as current");
	ok(b[16] == 0x10 && b[23] == 0xfe, "req_id little-endian at 16");
	ok(!b[32] && !b[33] && !b[34] && !b[35], "reserved is zero");

	in = (struct frame_hdr){ .flags = FRAME_F_ONEWAY };
	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), 0, "one-way request with no body decodes");
}

static void test_bit_flips(void)
{
	struct frame_hdr in = sample(), out;
	uint8_t b[FRAME_HDR_LEN];
	int bad = 0;

	frame_hdr_encode(&in, b);
	for (int bit = 0; bit < FRAME_HDR_LEN * 8; bit++) {
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		bad += decode(b, &out) != -FFFS_EBADFRAME;
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	is_int(bad, 0, "each of the 320 single-bit flips gives EBADFRAME");
	is_int(decode(b, &out), 0, "and the unflipped header still decodes");
}

/* Edit one field of a good header, optionally re-CRC, and decode. */
static int decode_edited(size_t off, uint32_t v, bool recrc)
{
	struct frame_hdr in = sample(), out;
	uint8_t b[FRAME_HDR_LEN];

	frame_hdr_encode(&in, b);
	put_le32(b + off, v);
	if (recrc)
		fix_crc(b);
	return decode(b, &out);
}

static void test_garbage_fields(void)
{
	is_int(decode_edited(0, 0x53464647, true), -FFFS_EBADFRAME,
	       "bad magic (valid crc): EBADFRAME");
	is_int(decode_edited(36, 0, false), -FFFS_EBADFRAME,
	       "bad crc: EBADFRAME");
	is_int(decode_edited(32, 1u << 31, true), -FFFS_EBADFRAME,
	       "reserved nonzero (valid crc): EBADFRAME");
	is_int(decode_edited(8, 1u << 2, true), -FFFS_EBADFRAME,
	       "unknown flag bit: EBADFRAME");
	is_int(decode_edited(8, 1u << 31, true), -FFFS_EBADFRAME,
	       "top flag bit: EBADFRAME");
	is_int(decode_edited(8, FRAME_F_RESPONSE | FRAME_F_ONEWAY, true),
	       -FFFS_EBADFRAME, "response and one-way together: EBADFRAME");
	is_int(decode_edited(8, 0, true), 0, "no flags: a plain request");
}

static void test_version(void)
{
	struct frame_hdr in = sample(), out;
	uint8_t b[FRAME_HDR_LEN];

	in.version = FRAME_VERSION + 1;
	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), -FFFS_EBADVERSION, "next version: EBADVERSION");
	ok(hdr_eq(&in, &out), "header filled in despite the version");

	/* Garbage outranks the version: both wrong gives EBADFRAME. */
	b[32] = 1;
	fix_crc(b);
	is_int(decode(b, &out), -FFFS_EBADFRAME,
	       "bad version and reserved: EBADFRAME first");

	/* The version outranks the size limits. */
	in.body_len = MAX_BODY + 1;
	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), -FFFS_EBADVERSION,
	       "bad version and oversize: EBADVERSION first");
}

static void test_sizes(void)
{
	struct frame_hdr in = sample(), out;
	uint8_t b[FRAME_HDR_LEN];

	in.body_len = MAX_BODY + 1;
	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), -FFFS_ETOOBIG, "body over the limit: ETOOBIG");
	is_int(out.req_id, in.req_id, "oversize header still names req_id");
	in = sample();
	in.bulk_len = UINT32_MAX;
	frame_hdr_encode(&in, b);
	is_int(decode(b, &out), -FFFS_ETOOBIG, "bulk over the limit: ETOOBIG");
	is_int(frame_hdr_decode(b, &out, MAX_BODY, UINT32_MAX), 0,
	       "same bulk within a larger limit: 0");
	is_int(frame_hdr_decode(b, &out, MAX_BODY - 1, UINT32_MAX),
	       -FFFS_ETOOBIG, "body_len one over a tighter limit: ETOOBIG");
}

/* A decoded header must be consistent with what decode promised. */
static bool garbage_consistent(const uint8_t *b, int rc,
			       const struct frame_hdr *h)
{
	uint8_t again[FRAME_HDR_LEN];

	if (rc == -FFFS_EBADFRAME)
		return true;
	if (rc != 0 && rc != -FFFS_EBADVERSION && rc != -FFFS_ETOOBIG)
		return false;
	if (h->version == 0)
		return rc == -FFFS_EBADVERSION;
	frame_hdr_encode(h, again);
	if (memcmp(again, b, FRAME_HDR_LEN))
		return false;
	if (rc == 0)
		return h->version == FRAME_VERSION && h->body_len <= MAX_BODY &&
		       h->bulk_len <= MAX_BULK;
	return true;
}

/* Random headers; every other one has its magic and CRC made valid so the
 * later checks see garbage too. */
static void test_random_garbage(void)
{
	int bad = 0, accepted = 0, deep = 0;
	struct frame_hdr h;
	uint8_t b[FRAME_HDR_LEN];

	for (int i = 0; i < 100000; i++) {
		int rc;

		for (int j = 0; j < FRAME_HDR_LEN; j++)
			b[j] = (uint8_t)rng();
		if (i & 1) {
			put_le32(b, FRAME_MAGIC);
			b[4] = (uint8_t)(rng() % 3);
			b[5] = 0;
			b[8] &= (uint8_t)(rng() % 4);
			memset(b + 9, 0, 3);
			memset(b + 32, 0, rng() % 2 ? 4 : 0);
			b[26] &= 0x1f;
			b[27] = 0;
			b[31] &= 0x07;
			fix_crc(b);
		}
		rc = decode(b, &h);
		accepted += rc == 0;
		deep += rc != -FFFS_EBADFRAME;
		bad += !garbage_consistent(b, rc, &h);
	}
	is_int(bad, 0, "100000 random headers: results consistent");
	ok(deep > 10000, "random headers reached the version and size checks");
	ok(accepted > 1000, "some random headers were accepted");
}

int main(void)
{
	const char *seed = getenv("TEST_SEED");
	char msg[64];

	rng_state = seed ? strtoull(seed, NULL, 0) : now_ns();
	snprintf(msg, sizeof(msg), "TEST_SEED=%llu",
		 (unsigned long long)rng_state);
	diag(msg);
	test_round_trip();
	test_bit_flips();
	test_garbage_fields();
	test_version();
	test_sizes();
	test_random_garbage();
	return done_testing();
}
