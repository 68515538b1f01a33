/* net/frame.h - the fixed header in front of every RPC message.
 *
 * Wire layout (40 bytes, little-endian):
 *	 0 u32 magic     FRAME_MAGIC
 *	 4 u16 version   protocol version (FRAME_VERSION)
 *	 6 u16 type      message type, see net/proto.h
 *	 8 u32 flags     FRAME_F_*
 *	12 i32 status    0 on requests; 0 or a negative error code on responses
 *	16 u64 req_id    request id, echoed by the response
 *	24 u32 body_len  bytes of body that follow the header
 *	28 u32 bulk_len  bytes of bulk payload that follow the body
 *	32 u32 reserved  must be zero
 *	36 u32 hdr_crc   CRC32C of bytes 0..35
 *
 * frame_hdr_decode() checks magic, CRC, reserved bits and flags first (a
 * frame that fails these is garbage: -FFFS_EBADFRAME), then the version
 * (-FFFS_EBADVERSION; the header is still filled in so the caller can say
 * which version the peer spoke), then the size limits (-FFFS_ETOOBIG).
 */
#ifndef NET_FRAME_H
#define NET_FRAME_H

#include "fffs.h"

#define FRAME_MAGIC   0x53464646u /* "FFFS" */
#define FRAME_VERSION 1
#define FRAME_HDR_LEN 40

enum frame_flags {
	FRAME_F_RESPONSE = 1u << 0, /* a reply to req_id */
	FRAME_F_ONEWAY = 1u << 1,   /* a request that expects no reply */
	FRAME_F_ALL = FRAME_F_RESPONSE | FRAME_F_ONEWAY,
};

struct frame_hdr {
	uint16_t version;
	uint16_t type;
	uint32_t flags;
	int32_t status;
	uint64_t req_id;
	uint32_t body_len;
	uint32_t bulk_len;
};

/* Encode h (version is always FRAME_VERSION unless h->version is set to
 * something else by a test) and its CRC into out. */
void frame_hdr_encode(const struct frame_hdr *h, uint8_t out[FRAME_HDR_LEN]);

/* Decode and validate; see above for the error order. */
int frame_hdr_decode(const uint8_t in[FRAME_HDR_LEN], struct frame_hdr *h,
		     uint32_t max_body, uint32_t max_bulk);

#endif /* NET_FRAME_H */
