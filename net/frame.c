/* net/frame.c - encode and validate the 40-byte header of every RPC frame. */
#define LOG_SUBSYS "frame"
#include <string.h>

#include "base/crc32c.h"
#include "fffs.h"
#include "net/frame.h"
#include "net/pack.h"

#define FRAME_CRC_OFF 36

void frame_hdr_encode(const struct frame_hdr *h, uint8_t out[FRAME_HDR_LEN])
{
	struct pack pk;

	pack_init(&pk, out, FRAME_HDR_LEN);
	pack_u32(&pk, FRAME_MAGIC);
	pack_u16(&pk, h->version ? h->version : FRAME_VERSION);
	pack_u16(&pk, h->type);
	pack_u32(&pk, h->flags);
	pack_i32(&pk, h->status);
	pack_u64(&pk, h->req_id);
	pack_u32(&pk, h->body_len);
	pack_u32(&pk, h->bulk_len);
	pack_u32(&pk, 0);
	pack_u32(&pk, crc32c(0, out, FRAME_CRC_OFF));
	FFFS_ASSERT(!pk.err && pack_len(&pk) == FRAME_HDR_LEN);
}

/* Unknown flag bits, or a response that is also one-way, are garbage. */
static bool frame_flags_valid(uint32_t flags)
{
	if (flags & ~(uint32_t)FRAME_F_ALL)
		return false;
	return (flags & FRAME_F_ALL) != FRAME_F_ALL;
}

/* Fields after the magic; 0 or -FFFS_EBADFRAME. */
static int frame_hdr_unpack(struct unpack *up, struct frame_hdr *h)
{
	uint32_t reserved;

	h->version = unpack_u16(up);
	h->type = unpack_u16(up);
	h->flags = unpack_u32(up);
	h->status = unpack_i32(up);
	h->req_id = unpack_u64(up);
	h->body_len = unpack_u32(up);
	h->bulk_len = unpack_u32(up);
	reserved = unpack_u32(up);
	if (up->err || reserved || !frame_flags_valid(h->flags))
		return -FFFS_EBADFRAME;
	return 0;
}

int frame_hdr_decode(const uint8_t in[FRAME_HDR_LEN], struct frame_hdr *h,
		     uint32_t max_body, uint32_t max_bulk)
{
	struct unpack up;
	uint32_t crc;

	memset(h, 0, sizeof(*h));
	unpack_init(&up, in + FRAME_CRC_OFF, FRAME_HDR_LEN - FRAME_CRC_OFF);
	crc = unpack_u32(&up);
	unpack_init(&up, in, FRAME_CRC_OFF);
	if (unpack_u32(&up) != FRAME_MAGIC ||
	    crc != crc32c(0, in, FRAME_CRC_OFF))
		return -FFFS_EBADFRAME;
	if (frame_hdr_unpack(&up, h)) {
		memset(h, 0, sizeof(*h));
		return -FFFS_EBADFRAME;
	}
	if (h->version != FRAME_VERSION)
		return -FFFS_EBADVERSION;
	if (h->body_len > max_body || h->bulk_len > max_bulk)
		return -FFFS_ETOOBIG;
	return 0;
}
