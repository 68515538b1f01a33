/* t/fuzz/frame.c - libFuzzer target for frame_hdr_decode() and net/pack.h. */
/* fuzz-sources: base/crc32c.c net/frame.c base/log.c base/err.c base/alloc.c */
#define LOG_SUBSYS "fuzz-frame"
#include <stdlib.h>

#include "base/crc32c.h"
#include "fffs.h"
#include "net/frame.h"
#include "net/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever decode returns, it must be one of its documented results, and a
 * header it filled in must encode back to the same bytes. */
static void check_decode(const uint8_t *in, uint32_t max_body,
			 uint32_t max_bulk)
{
	struct frame_hdr h;
	uint8_t again[FRAME_HDR_LEN];
	int rc = frame_hdr_decode(in, &h, max_body, max_bulk);

	if (rc == -FFFS_EBADFRAME)
		return;
	FFFS_ASSERT(rc == 0 || rc == -FFFS_EBADVERSION || rc == -FFFS_ETOOBIG);
	FFFS_ASSERT(!(h.flags & ~(uint32_t)FRAME_F_ALL));
	FFFS_ASSERT((h.flags & FRAME_F_ALL) != FRAME_F_ALL);
	FFFS_ASSERT(rc != 0 ||
		    (h.version == FRAME_VERSION && h.body_len <= max_body &&
		     h.bulk_len <= max_bulk));
	if (h.version == 0)
		return; /* encode would write FRAME_VERSION instead */
	frame_hdr_encode(&h, again);
	FFFS_ASSERT(!memcmp(again, in, FRAME_HDR_LEN));
}

/* The same window with magic and CRC made valid, to reach the later
 * checks without the fuzzer having to solve the CRC. */
static void check_fixed(const uint8_t *in, uint32_t max_body, uint32_t max_bulk)
{
	uint8_t b[FRAME_HDR_LEN];
	struct pack pk;

	memcpy(b, in, sizeof(b));
	pack_init(&pk, b, sizeof(b));
	pack_u32(&pk, FRAME_MAGIC);
	pack_init(&pk, b + 36, 4);
	pack_u32(&pk, crc32c(0, b, 36));
	check_decode(b, max_body, max_bulk);
}

/* One field of the body, chosen by op, decoded and packed again. */
static void body_field(struct unpack *up, struct pack *pk, uint8_t op)
{
	const char *s;
	const void *b;
	char cstr[16] = "";
	uint8_t raw[16];
	uint32_t bn;
	size_t n;

	switch (op % 10) {
	case 0:
		pack_u8(pk, unpack_u8(up));
		break;
	case 1:
		pack_u16(pk, unpack_u16(up));
		break;
	case 2:
		pack_u32(pk, unpack_u32(up));
		break;
	case 3:
		pack_u64(pk, unpack_u64(up));
		break;
	case 4:
		pack_i32(pk, unpack_i32(up));
		break;
	case 5:
		pack_i64(pk, unpack_i64(up));
		break;
	case 6:
		unpack_str(up, &s, &n);
		pack_strn(pk, s, n);
		break;
	case 7:
		unpack_cstr(up, cstr, (size_t)(op >> 4));
		pack_str(pk, cstr);
		break;
	case 8:
		unpack_blob(up, &b, &bn);
		pack_blob(pk, b, bn);
		break;
	default:
		unpack_bytes(up, raw, (size_t)(op >> 4));
		pack_bytes(pk, raw, (size_t)(op >> 4));
		break;
	}
}

/* A body decoder driven by the data: each op byte names the next field.
 * Whatever decodes cleanly must pack back to exactly the bytes read. */
static void check_body(const uint8_t *body, size_t len)
{
	uint8_t *out = xmalloc(len);
	struct unpack up;
	struct pack pk;

	unpack_init(&up, body, len);
	pack_init(&pk, out, len);
	while (!up.err && unpack_left(&up)) {
		uint8_t op = unpack_u8(&up);

		pack_u8(&pk, op);
		body_field(&up, &pk, op);
	}
	if (!up.err) {
		FFFS_ASSERT(unpack_finish(&up) == 0);
		FFFS_ASSERT(!pk.err && pack_len(&pk) == len);
		FFFS_ASSERT(!memcmp(out, body, len));
	} else {
		FFFS_ASSERT(up.err == -FFFS_EBADFRAME);
		FFFS_ASSERT(unpack_finish(&up) == -FFFS_EBADFRAME);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack up;
	uint32_t max_body, max_bulk;

	if (size < 8 + FRAME_HDR_LEN)
		return 0;
	unpack_init(&up, data, 8);
	max_body = unpack_u32(&up);
	max_bulk = unpack_u32(&up);
	data += 8;
	size -= 8;
	/* The first window as-is and repaired, then a few more offsets. */
	check_decode(data, max_body, max_bulk);
	check_fixed(data, max_body, max_bulk);
	for (size_t off = 1; off + FRAME_HDR_LEN <= size && off < 8; off++)
		check_decode(data + off, max_body, max_bulk);
	check_body(data + FRAME_HDR_LEN, size - FRAME_HDR_LEN);
	return 0;
}
