/* chain/chunkmeta.c - chunk keys and chunk metadata values, encoded and
 * strictly validated. */
#define LOG_SUBSYS "chunkmeta"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/alloc.h"
#include "chain/chunkmeta.h"
#include "fffs.h"
#include "net/pack.h"

/* Bytes of a value before its page CRCs (see the layout in chunkmeta.h). */
#define CHUNKMETA_FIXED 72u

void chunk_key_encode(const struct chunk_id *id, uint8_t out[CHUNK_KEY_LEN])
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(id->inode >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(id->index >> (24 - 8 * i));
}

int chunk_key_decode(const void *in, size_t len, struct chunk_id *id)
{
	const uint8_t *p = in;
	uint64_t inode = 0;
	uint32_t index = 0;

	if (len != CHUNK_KEY_LEN)
		return -FFFS_EBADFRAME;
	for (int i = 0; i < 8; i++)
		inode = inode << 8 | p[i];
	for (int i = 8; i < CHUNK_KEY_LEN; i++)
		index = index << 8 | p[i];
	id->inode = inode;
	id->index = index;
	return 0;
}

/* The rules a value must follow, on either side of the encoding. */
static bool chunk_meta_valid(const struct chunk_meta *m)
{
	if (m->class < ALLOC_MIN_CLASS || m->class > ALLOC_MAX_CLASS)
		return false;
	if (m->length > CHUNK_MAX_LEN || m->length > (1ull << m->class))
		return false;
	return m->npages == chunk_pages(m->length);
}

size_t chunk_meta_size(const struct chunk_meta *m)
{
	return CHUNKMETA_FIXED + (size_t)m->npages * 4;
}

size_t chunk_meta_encode(const struct chunk_meta *m, uint8_t *out)
{
	size_t size = chunk_meta_size(m);
	struct pack pk;

	/* storing what could never be read back is a bug of the caller */
	FFFS_ASSERT(chunk_meta_valid(m) && (m->page_crc || !m->npages));
	pack_init(&pk, out, size);
	pack_u8(&pk, CHUNKMETA_FORMAT);
	pack_u8(&pk, m->class);
	pack_u16(&pk, 0);
	pack_u32(&pk, m->length);
	pack_u64(&pk, m->block);
	pack_u64(&pk, m->committed);
	pack_u64(&pk, m->pending);
	pack_u32(&pk, m->chain_ver);
	pack_u32(&pk, m->crc);
	pack_u64(&pk, m->req_client);
	pack_u64(&pk, m->req_id);
	pack_i32(&pk, m->req_status);
	pack_u64(&pk, m->req_version);
	pack_u32(&pk, m->npages);
	pack_u32_array(&pk, m->page_crc, m->npages);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == size);
	return size;
}

/* The fixed part into m (page_crc untouched); 0 or -FFFS_EBADFRAME. */
static int chunk_meta_unpack_fixed(struct unpack *up, struct chunk_meta *m)
{
	uint8_t format = unpack_u8(up);
	uint16_t flags;

	m->class = unpack_u8(up);
	flags = unpack_u16(up);
	m->length = unpack_u32(up);
	m->block = unpack_u64(up);
	m->committed = unpack_u64(up);
	m->pending = unpack_u64(up);
	m->chain_ver = unpack_u32(up);
	m->crc = unpack_u32(up);
	m->req_client = unpack_u64(up);
	m->req_id = unpack_u64(up);
	m->req_status = unpack_i32(up);
	m->req_version = unpack_u64(up);
	m->npages = unpack_u32(up);
	if (up->err || format != CHUNKMETA_FORMAT || flags)
		return -FFFS_EBADFRAME;
	return chunk_meta_valid(m) ? 0 : -FFFS_EBADFRAME;
}

int chunk_meta_decode(const void *in, size_t len, struct chunk_meta *m)
{
	struct chunk_meta t = { 0 };
	struct unpack up;

	memset(m, 0, sizeof(*m));
	unpack_init(&up, in, len);
	if (chunk_meta_unpack_fixed(&up, &t) < 0)
		return -FFFS_EBADFRAME;
	/* exact size before allocating: npages is bounded by len too */
	if (len != chunk_meta_size(&t))
		return -FFFS_EBADFRAME;
	if (t.npages)
		t.page_crc = xmalloc((size_t)t.npages * sizeof(*t.page_crc));
	unpack_u32_array(&up, t.page_crc, t.npages);
	FFFS_ASSERT(unpack_finish(&up) == 0);
	*m = t;
	return 0;
}

void chunk_meta_copy(struct chunk_meta *dst, const struct chunk_meta *src)
{
	size_t bytes = (size_t)src->npages * sizeof(*src->page_crc);

	FFFS_ASSERT(src->page_crc || !src->npages);
	*dst = *src;
	dst->page_crc = NULL;
	if (src->npages) {
		dst->page_crc = xmalloc(bytes);
		memcpy(dst->page_crc, src->page_crc, bytes);
	}
}

void chunk_meta_release(struct chunk_meta *m)
{
	free(m->page_crc);
	m->page_crc = NULL;
	m->npages = 0;
}

const char *chunk_id_str(const struct chunk_id *id, char *buf, size_t len)
{
	snprintf(buf, len, "inode 0x%llx index %u",
		 (unsigned long long)id->inode, (unsigned)id->index);
	return buf;
}
