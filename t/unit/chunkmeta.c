/* t/unit/chunkmeta.c - chunk key order, value round trips, and rejection of
 * every malformed value. */
#include <stdlib.h>
#include <string.h>

#include "chain/chunkmeta.h"
#include "t/unit/tap.h"

/* A valid meta with `length` bytes and recognisable fields. */
static void meta_fill(struct chunk_meta *m, uint8_t class, uint32_t length)
{
	memset(m, 0, sizeof(*m));
	m->class = class;
	m->length = length;
	m->block = 0x0123456789abcdefull;
	m->committed = 41;
	m->pending = 0;
	m->chain_ver = 0xdeadbeef;
	m->crc = 0xcafef00d;
	m->req_client = 0x1111222233334444ull;
	m->req_id = 0x5555666677778888ull;
	m->req_status = -5;
	m->req_version = 0x9999aaaabbbbccccull;
	m->npages = chunk_pages(length);
	if (m->npages)
		m->page_crc = malloc(m->npages * sizeof(*m->page_crc));
	for (uint32_t i = 0; i < m->npages; i++)
		m->page_crc[i] = i * 2654435761u;
}

/* Give m a pending version 42 of `length` bytes in a class-`class` block. */
static void pend_fill(struct chunk_meta *m, uint8_t class, uint32_t length)
{
	struct chunk_pend *p = &m->p;

	m->pending = 42;
	p->class = class;
	p->length = length;
	p->block = 0x0fedcba987654321ull;
	p->crc = 0x12345678;
	p->chain_ver = 0xabcdef01;
	p->req_client = 0x2222333344445555ull;
	p->req_id = 0x6666777788889999ull;
	p->npages = chunk_pages(length);
	p->page_crc = p->npages ? malloc(p->npages * sizeof(uint32_t)) : NULL;
	for (uint32_t i = 0; i < p->npages; i++)
		p->page_crc[i] = ~i * 40503u;
}

static bool pend_equal(const struct chunk_pend *a, const struct chunk_pend *b)
{
	if (a->block != b->block || a->class != b->class ||
	    a->length != b->length || a->crc != b->crc ||
	    a->chain_ver != b->chain_ver || a->req_client != b->req_client ||
	    a->req_id != b->req_id || a->npages != b->npages)
		return false;
	return !a->npages ||
	       !memcmp(a->page_crc, b->page_crc, a->npages * sizeof(uint32_t));
}

static bool meta_equal(const struct chunk_meta *a, const struct chunk_meta *b)
{
	if (a->block != b->block || a->class != b->class ||
	    a->length != b->length || a->committed != b->committed ||
	    a->pending != b->pending || a->chain_ver != b->chain_ver ||
	    a->crc != b->crc || a->req_client != b->req_client ||
	    a->req_id != b->req_id || a->req_status != b->req_status ||
	    a->req_version != b->req_version || a->npages != b->npages)
		return false;
	if (a->pending && !pend_equal(&a->p, &b->p))
		return false;
	return !a->npages ||
	       !memcmp(a->page_crc, b->page_crc, a->npages * sizeof(uint32_t));
}

/* ---- keys ---------------------------------------------------------------- */

static const uint64_t inodes[] = {
	0,	    1,		0xff,	    0x100,	0x7fffffff,
	0x80000000, 0xffffffff, 1ull << 32, 1ull << 63, UINT64_MAX - 1,
	UINT64_MAX
};
static const uint32_t indexes[] = { 0,		1,	    0xff,
				    0x100,	0x7fffff,   0x7fffffff,
				    0x80000000, 0xfffffffe, 0xffffffff };

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

static void test_keys(void)
{
	enum { NI = FFFS_ARRAY_LEN(inodes), NX = FFFS_ARRAY_LEN(indexes) };
	static struct chunk_id ids[NI * NX];
	static uint8_t keys[NI * NX][CHUNK_KEY_LEN];
	int bad_order = 0, bad_trip = 0;
	struct chunk_id back;
	uint8_t k[CHUNK_KEY_LEN];
	size_t n = 0;

	for (size_t i = 0; i < NI; i++)
		for (size_t j = 0; j < NX; j++)
			ids[n++] = (struct chunk_id){ inodes[i], indexes[j] };
	for (size_t i = 0; i < n; i++) {
		chunk_key_encode(&ids[i], keys[i]);
		if (chunk_key_decode(keys[i], CHUNK_KEY_LEN, &back) ||
		    chunk_id_cmp(&back, &ids[i]))
			bad_trip++;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (sign(memcmp(keys[i], keys[j], CHUNK_KEY_LEN)) !=
			    chunk_id_cmp(&ids[i], &ids[j]))
				bad_order++;
	is_int(bad_trip, 0, "keys decode to the id they encode");
	is_int(bad_order, 0, "memcmp order of keys is (inode, index) order");

	chunk_key_encode(
		&(struct chunk_id){ 0x0102030405060708ull, 0x090a0b0c }, k);
	ok(!memcmp(k, "\1\2\3\4\5\6\7\10\11\12\13\14", CHUNK_KEY_LEN),
	   "key is big-endian inode then big-endian index");
	is_int(chunk_key_decode(k, 11, &back), -FFFS_EBADFRAME,
	       "an 11-byte key is rejected");
	is_int(chunk_key_decode(k, 13, &back), -FFFS_EBADFRAME,
	       "a 13-byte key is rejected");
	is_int(chunk_key_decode(k, 0, &back), -FFFS_EBADFRAME,
	       "an empty key is rejected");
}

static void test_id_str(void)
{
	char buf[CHUNK_ID_STRLEN], tiny[8];
	struct chunk_id max = { UINT64_MAX, UINT32_MAX };

	is_str(chunk_id_str(&(struct chunk_id){ 0x1a, 7 }, buf, sizeof(buf)),
	       "inode 0x1a index 7", "chunk id text");
	is_str(chunk_id_str(&max, buf, sizeof(buf)),
	       "inode 0xffffffffffffffff index 4294967295",
	       "largest chunk id fits CHUNK_ID_STRLEN");
	is_str(chunk_id_str(&max, tiny, sizeof(tiny)), "inode 0",
	       "a short buffer is truncated, NUL-terminated");
}

/* ---- values -------------------------------------------------------------- */

/* Encode m, check the size, decode, compare. */
static bool round_trip(const struct chunk_meta *m)
{
	size_t size = chunk_meta_size(m);
	uint8_t *buf = malloc(size + 1);
	struct chunk_meta back;
	bool good;

	buf[size] = 0x5a;
	good = chunk_meta_encode(m, buf) == size && buf[size] == 0x5a &&
	       size == 72 + 4 * (size_t)m->npages +
			       (m->pending ? 41 + 4 * (size_t)m->p.npages : 0);
	good = good && chunk_meta_decode(buf, size, &back) == 0 &&
	       meta_equal(m, &back);
	chunk_meta_release(&back);
	free(buf);
	return good;
}

static void test_round_trip(void)
{
	struct chunk_meta m, copy;

	meta_fill(&m, 16, 0);
	ok(round_trip(&m), "round trip: empty chunk, no pages");
	ok(m.page_crc == NULL, "an empty chunk has no page CRC array");
	chunk_meta_release(&m);
	meta_fill(&m, 16, 100);
	ok(round_trip(&m), "round trip: one partial page");
	chunk_meta_release(&m);
	meta_fill(&m, 17, 65536 + 1);
	ok(round_trip(&m), "round trip: 17 pages, class 17");
	chunk_meta_release(&m);
	meta_fill(&m, 26, CHUNK_MAX_LEN);
	is_int(m.npages, 16384, "a full 64 MiB chunk has 16384 pages");
	ok(round_trip(&m), "round trip: 16384 pages");
	chunk_meta_copy(&copy, &m);
	ok(meta_equal(&m, &copy) && copy.page_crc != m.page_crc,
	   "chunk_meta_copy copies the page CRCs");
	chunk_meta_release(&m);
	chunk_meta_release(&copy);
	chunk_meta_release(&copy);
	ok(copy.page_crc == NULL && copy.npages == 0,
	   "release twice is harmless");

	meta_fill(&m, 17, 70000);
	pend_fill(&m, 18, 200000);
	ok(round_trip(&m), "round trip: a pending version of its own");
	chunk_meta_copy(&copy, &m);
	ok(meta_equal(&m, &copy) && copy.p.page_crc != m.p.page_crc,
	   "  ... chunk_meta_copy copies its page CRCs");
	chunk_meta_drop_pending(&copy);
	ok(copy.pending == 0 && copy.p.page_crc == NULL && copy.npages == 18,
	   "  ... drop_pending keeps the committed version");
	chunk_meta_release(&copy);
	chunk_meta_release(&m);
	memset(&m, 0, sizeof(m));
	pend_fill(&m, 16, 5000);
	ok(round_trip(&m), "round trip: a pending version only (committed 0)");
	chunk_meta_release(&m);
	meta_fill(&m, 16, 4096);
	pend_fill(&m, 16, 0);
	ok(round_trip(&m), "round trip: an empty pending version");
	chunk_meta_release(&m);
}

/* Decoded values that pass must follow every rule of chunkmeta.h. */
static bool version_sane(uint8_t class, uint32_t length, uint32_t npages,
			 const uint32_t *crcs)
{
	if (class < 16 || class > 26)
		return false;
	if (length > (1u << class) || length > CHUNK_MAX_LEN)
		return false;
	if (npages != chunk_pages(length))
		return false;
	return (npages == 0) == (crcs == NULL);
}

static bool meta_sane(const struct chunk_meta *m)
{
	if (m->pending && (m->pending <= m->committed ||
			   !version_sane(m->p.class, m->p.length, m->p.npages,
					 m->p.page_crc)))
		return false;
	if (!m->pending && (m->p.page_crc || m->p.npages))
		return false;
	if (!m->committed)
		return !m->class && !m->length && !m->block && !m->crc &&
		       !m->npages && !m->page_crc;
	return version_sane(m->class, m->length, m->npages, m->page_crc);
}

static bool all_zero(const struct chunk_meta *m)
{
	static const struct chunk_meta zero;

	return !memcmp(m, &zero, sizeof(zero));
}

/* Decode a mangled buffer: ok and sane, or rejected with nothing left. */
static bool decode_clean(const uint8_t *buf, size_t len, int *accepted)
{
	struct chunk_meta m;
	int rc = chunk_meta_decode(buf, len, &m);
	bool good;

	if (rc == 0) {
		(*accepted)++;
		good = meta_sane(&m);
		chunk_meta_release(&m);
		return good;
	}
	return rc == -FFFS_EBADFRAME && all_zero(&m);
}

static void test_mangled(bool pend)
{
	uint8_t buf[72 + 3 * 4 + 41 + 2 * 4], *copy;
	int bad = 0, accepted = 0;
	struct chunk_meta m;
	size_t size;

	diag(pend ? "a value with a pending version" : "a committed value");
	meta_fill(&m, 16, 2 * 4096 + 1);
	if (pend)
		pend_fill(&m, 16, 4097);
	size = chunk_meta_encode(&m, buf);
	chunk_meta_release(&m);
	for (size_t len = 0; len < size; len++) {
		copy = malloc(len ? len
				  : 1); /* exact size: ASan sees overreads */
		memcpy(copy, buf, len);
		if (!decode_clean(copy, len, &accepted))
			bad++;
		free(copy);
	}
	is_int(bad, 0, "every truncation fails cleanly");
	is_int(accepted, 0, "no truncation decodes");
	copy = malloc(size);
	for (size_t i = 0; i < size; i++)
		for (int v = 0; v < 256; v++) {
			memcpy(copy, buf, size);
			copy[i] = (uint8_t)v;
			if (!decode_clean(copy, size, &accepted))
				bad++;
		}
	free(copy);
	is_int(bad, 0,
	       "every single-byte change decodes sanely or fails cleanly");
	ok(accepted > 0 && accepted < (int)size * 256,
	   "some changes are accepted (data fields), some rejected");
}

/* Encode a valid value, patch bytes at off, expect a clean reject. */
static void reject(size_t off, const void *patch, size_t n, size_t extra,
		   const char *name)
{
	uint8_t buf[72 + 4 * 4 + 48] = { 0 };
	struct chunk_meta m;
	size_t size;

	meta_fill(&m, 16, 3 * 4096);
	size = chunk_meta_encode(&m, buf);
	chunk_meta_release(&m);
	memcpy(buf + off, patch, n);
	is_int(chunk_meta_decode(buf, size + extra, &m), -FFFS_EBADFRAME, name);
	ok(all_zero(&m), "  ... leaving nothing behind");
}

static uint8_t *le32(uint32_t v)
{
	static uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return b;
}

static void test_rejects(void)
{
	uint8_t buf[72] = { 0 };
	struct chunk_meta m;

	reject(0, &(uint8_t){ 0 }, 1, 0, "format 0 is rejected");
	reject(0, &(uint8_t){ 2 }, 1, 0, "format 2 is rejected");
	reject(1, &(uint8_t){ 15 }, 1, 0, "class 15 is rejected");
	reject(1, &(uint8_t){ 27 }, 1, 0, "class 27 is rejected");
	reject(2, &(uint8_t){ 1 }, 1, 0, "non-zero flags are rejected");
	reject(3, &(uint8_t){ 0x80 }, 1, 0, "high flag bit is rejected");
	/* the value below is class 16 (65536 bytes), 3 pages, 12288 bytes */
	reject(4, le32(65536 + 1), 4, 0, "length > 1 << class is rejected");
	reject(4, le32(2 * 4096), 4, 0,
	       "npages above ceil(length / 4096) is rejected");
	reject(4, le32(3 * 4096 + 1), 4, 0,
	       "npages below ceil(length / 4096) is rejected");
	reject(68, le32(2), 4, 0, "npages that does not match the size");
	reject(68, le32(0xffffffff), 4, 0,
	       "a huge npages is rejected, not allocated");
	/* committed is at 16, pending at 24 */
	reject(24, le32(41), 4, 0, "a pending version not above committed");
	reject(24, le32(42), 4, 0, "a pending version with no pending part");
	reject(24, le32(42), 4, 41, "a pending part of zeroes (class 0)");
	reject(16, le32(0), 4, 0,
	       "committed 0 with committed content is rejected");
	reject(0, &(uint8_t){ 1 }, 1, 1, "one trailing byte is rejected");
	reject(0, &(uint8_t){ 1 }, 1, 4,
	       "a trailing extra page CRC is rejected");

	meta_fill(&m, 26, 0);
	chunk_meta_encode(&m, buf);
	memcpy(buf + 4, le32(CHUNK_MAX_LEN + 1), 4);
	is_int(chunk_meta_decode(buf, sizeof(buf), &m), -FFFS_EBADFRAME,
	       "length above 64 MiB is rejected");
}

int main(void)
{
	test_keys();
	test_id_str();
	test_round_trip();
	test_mangled(false);
	test_mangled(true);
	test_rejects();
	return done_testing();
}
