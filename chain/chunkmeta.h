/* chain/chunkmeta.h - chunk ids and chunk metadata, and their encoding as
 * LMDB keys and values.
 *
 * Key (12 bytes): inode id u64 then chunk index u32, both big-endian, so a
 * file's chunks sort together and in index order (a range scan lists them,
 * the last key with an inode prefix is its last chunk).
 *
 * Value (little-endian, CHUNKMETA_FORMAT 1):
 *	u8 format, u8 class, u16 flags (0), u32 length, u64 block,
 *	u64 committed, u64 pending, u32 chain_ver, u32 crc,
 *	u64 req_client, u64 req_id, i32 req_status, u64 req_version,
 *	u32 npages, then npages x u32 page CRCs,
 * and when pending is not 0, the pending version:
 *	u8 class, u32 length, u64 block, u32 crc, u32 chain_ver,
 *	u64 req_client, u64 req_id, u32 npages, npages x u32 page CRCs
 * For each version: npages must equal ceil(length / CHUNK_PAGE); class
 * within the allocator's classes (16..26); length at most 1 << class (so
 * at most CHUNK_MAX_LEN). committed 0 means the chunk has no committed
 * content yet (a pending version only): then class, length, block, crc
 * and npages are all 0. pending, when not 0, is above committed. flags 0;
 * the value exactly 72 + 4 * npages bytes, plus 41 + 4 * p.npages with a
 * pending version. Anything else is corrupt (-FFFS_EBADFRAME), with no
 * partial result.
 *
 * crc is the CRC32C of the whole chunk (length bytes); page_crc[i] that of
 * bytes [i*4096, min(length, (i+1)*4096)). Page CRCs let a read of any
 * range be verified without reading the whole chunk.
 *
 * A pending version (CRAQ: written, forwarded, not yet acknowledged by the
 * tail) has a block of its own, or shares the committed one when it only
 * appends past the committed length.
 */
#ifndef CHAIN_CHUNKMETA_H
#define CHAIN_CHUNKMETA_H

#include "fffs.h"

#define CHUNK_KEY_LEN	 12
#define CHUNK_PAGE	 4096u
#define CHUNK_MAX_LEN	 (64u << 20)
#define CHUNK_MAX_PAGES	 (CHUNK_MAX_LEN / CHUNK_PAGE)
#define CHUNKMETA_FORMAT 1

struct chunk_id {
	uint64_t inode;
	uint32_t index;
};

/* Key order (inode, then index): <0, 0 or >0, as the keys sort. */
static inline int chunk_id_cmp(const struct chunk_id *a,
			       const struct chunk_id *b)
{
	if (a->inode != b->inode)
		return a->inode < b->inode ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* The pending version of a chunk (chunk_meta.pending != 0). */
struct chunk_pend {
	uint64_t block;
	uint8_t class;
	uint32_t length, crc;
	uint32_t chain_ver; /* of the write that made it */
	uint64_t req_client, req_id;
	uint32_t npages;
	uint32_t *page_crc; /* owned */
};

struct chunk_meta {
	uint64_t block;	    /* offset of its block in the data area */
	uint8_t class;	    /* log2 of the block size */
	uint32_t length;    /* bytes of data */
	uint64_t committed; /* committed version v */
	uint64_t pending;   /* pending version u, 0 when none */
	uint32_t chain_ver; /* chain version of the last commit */
	uint32_t crc;	    /* CRC32C of the whole chunk */
	/* the last client request applied, and its answer */
	uint64_t req_client, req_id;
	int32_t req_status;
	uint64_t req_version;
	uint32_t npages;
	uint32_t *page_crc;  /* npages entries, owned (chunk_meta_release) */
	struct chunk_pend p; /* when pending != 0 */
};

void chunk_key_encode(const struct chunk_id *id, uint8_t out[CHUNK_KEY_LEN]);
int chunk_key_decode(const void *in, size_t len, struct chunk_id *id);

/* Bytes chunk_meta_encode() writes for m. */
size_t chunk_meta_size(const struct chunk_meta *m);
/* Encode into out (at least chunk_meta_size bytes); returns the size. m
 * must follow the rules above (a value that could not be decoded again is
 * a bug: FFFS_ASSERT). */
size_t chunk_meta_encode(const struct chunk_meta *m, uint8_t *out);
/* Decode; m->page_crc (and m->p.page_crc) is allocated, or NULL when its
 * npages is 0. On -FFFS_EBADFRAME *m is all zero and owns nothing. */
int chunk_meta_decode(const void *in, size_t len, struct chunk_meta *m);
/* Deep copy (page CRCs too); dst is overwritten, not released first. */
void chunk_meta_copy(struct chunk_meta *dst, const struct chunk_meta *src);
/* Frees the page CRCs of both versions (page_crc NULL, npages 0 after:
 * releasing twice is harmless). */
void chunk_meta_release(struct chunk_meta *m);
/* Drop the pending version (frees its page CRCs; pending becomes 0). */
void chunk_meta_drop_pending(struct chunk_meta *m);

/* Pages covering [0, length). */
static inline uint32_t chunk_pages(uint32_t length)
{
	return (length + CHUNK_PAGE - 1) / CHUNK_PAGE;
}

/* "inode 0x1a index 7", for messages such as "checksum error in chunk
 * inode 0x1a index 7 of target 3"; into buf, which it returns.
 * CHUNK_ID_STRLEN bytes always suffice. */
#define CHUNK_ID_STRLEN 48
const char *chunk_id_str(const struct chunk_id *id, char *buf, size_t len);

#endif /* CHAIN_CHUNKMETA_H */
