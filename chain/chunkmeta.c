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

/* Bytes of a value before its page CRCs, and of the pending version's
 * fixed part (see the layout in chunkmeta.h). */
#define CHUNKMETA_FIXED 72u
#define CHUNKPEND_FIXED 41u

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

static bool version_valid(uint8_t class, uint32_t length, uint32_t npages)
{
	if (class < ALLOC_MIN_CLASS || class > ALLOC_MAX_CLASS)
		return false;
	if (length > CHUNK_MAX_LEN || length > (1ull << class))
		return false;
	return npages == chunk_pages(length);
}

/* The rules of the fixed part (the pending version's are checked when it
 * is decoded). */
static bool chunk_meta_valid(const struct chunk_meta *m)
{
	if (m->committed == 0 &&
	    (m->class || m->length || m->block || m->crc || m->npages))
		return false;
	if (m->pending && m->pending <= m->committed)
		return false;
	return m->committed == 0 ||
	       version_valid(m->class, m->length, m->npages);
}

static bool chunk_pend_valid(const struct chunk_pend *p)
{
	return version_valid(p->class, p->length, p->npages);
}

size_t chunk_meta_size(const struct chunk_meta *m)
{
	size_t n = CHUNKMETA_FIXED + (size_t)m->npages * 4;

	if (m->pending)
		n += CHUNKPEND_FIXED + (size_t)m->p.npages * 4;
	return n;
}

size_t chunk_meta_encode(const struct chunk_meta *m, uint8_t *out)
{
	size_t size = chunk_meta_size(m);
	struct pack pk;

	/* storing what could never be read back is a bug of the caller */
	FFFS_ASSERT(chunk_meta_valid(m) && (m->page_crc || !m->npages));
	FFFS_ASSERT(!m->pending || (chunk_pend_valid(&m->p) &&
				    (m->p.page_crc || !m->p.npages)));
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
	if (m->pending) {
		pack_u8(&pk, m->p.class);
		pack_u32(&pk, m->p.length);
		pack_u64(&pk, m->p.block);
		pack_u32(&pk, m->p.crc);
		pack_u32(&pk, m->p.chain_ver);
		pack_u64(&pk, m->p.req_client);
		pack_u64(&pk, m->p.req_id);
		pack_u32(&pk, m->p.npages);
		pack_u32_array(&pk, m->p.page_crc, m->p.npages);
	}
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

static uint32_t *crcs_unpack(struct unpack *up, uint32_t n)
{
	uint32_t *v = n ? xmalloc((size_t)n * sizeof(*v)) : NULL;

	unpack_u32_array(up, v, n);
	return v;
}

/* The pending version after the committed page CRCs: its fixed part, then
 * its page CRCs once their count is known to fit the input. */
static int chunk_pend_unpack(struct unpack *up, struct chunk_pend *p)
{
	p->class = unpack_u8(up);
	p->length = unpack_u32(up);
	p->block = unpack_u64(up);
	p->crc = unpack_u32(up);
	p->chain_ver = unpack_u32(up);
	p->req_client = unpack_u64(up);
	p->req_id = unpack_u64(up);
	p->npages = unpack_u32(up);
	if (up->err || !chunk_pend_valid(p) ||
	    unpack_left(up) != (size_t)p->npages * 4)
		return -FFFS_EBADFRAME;
	p->page_crc = crcs_unpack(up, p->npages);
	return 0;
}

int chunk_meta_decode(const void *in, size_t len, struct chunk_meta *m)
{
	struct chunk_meta t = { 0 };
	size_t base;
	struct unpack up;

	memset(m, 0, sizeof(*m));
	unpack_init(&up, in, len);
	if (chunk_meta_unpack_fixed(&up, &t) < 0)
		return -FFFS_EBADFRAME;
	/* exact size before allocating: npages is bounded by len too */
	base = CHUNKMETA_FIXED + (size_t)t.npages * 4;
	if (t.pending ? len < base + CHUNKPEND_FIXED : len != base)
		return -FFFS_EBADFRAME;
	t.page_crc = crcs_unpack(&up, t.npages);
	if (t.pending && chunk_pend_unpack(&up, &t.p)) {
		chunk_meta_release(&t);
		return -FFFS_EBADFRAME;
	}
	FFFS_ASSERT(unpack_finish(&up) == 0);
	*m = t;
	return 0;
}

static uint32_t *crcs_dup(const uint32_t *v, uint32_t n)
{
	uint32_t *d;

	FFFS_ASSERT(v || !n);
	if (!n)
		return NULL;
	d = xmalloc((size_t)n * sizeof(*d));
	memcpy(d, v, (size_t)n * sizeof(*d));
	return d;
}

void chunk_meta_copy(struct chunk_meta *dst, const struct chunk_meta *src)
{
	*dst = *src;
	dst->page_crc = crcs_dup(src->page_crc, src->npages);
	dst->p.page_crc =
		src->pending ? crcs_dup(src->p.page_crc, src->p.npages) : NULL;
	if (!src->pending)
		memset(&dst->p, 0, sizeof(dst->p));
}

void chunk_meta_drop_pending(struct chunk_meta *m)
{
	free(m->p.page_crc);
	memset(&m->p, 0, sizeof(m->p));
	m->pending = 0;
}

void chunk_meta_release(struct chunk_meta *m)
{
	free(m->page_crc);
	m->page_crc = NULL;
	m->npages = 0;
	free(m->p.page_crc);
	m->p.page_crc = NULL;
	m->p.npages = 0;
}

const char *chunk_id_str(const struct chunk_id *id, char *buf, size_t len)
{
	snprintf(buf, len, "inode 0x%llx index %u",
		 (unsigned long long)id->inode, (unsigned)id->index);
	return buf;
}
