/* meta/ns_rec.c - the namespace's records: the keys and values of every
 * table (see meta/ns_int.h), encoded with net/pack.h and strictly
 * validated, and their reads and writes in a transaction. */
#define LOG_SUBSYS "ns"
#include <dirent.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"
#include "net/pack.h"

#define INODES_KEY "inodes"

/* A fixed key: the hash must be the same on every replica and across
 * restarts (it is part of the dirent keys). */
static const uint8_t hash_key[crypto_shorthash_KEYBYTES] = "fffs-dirent-key";

/* ---- keys ---------------------------------------------------------------- */

void ns_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

uint64_t ns_be64_get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void ns_ino_key(uint8_t k[NS_INO_KEY_LEN], uint64_t ino)
{
	ns_be64_put(k, ino);
}

uint64_t ns_name_hash(const char *name, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, (const unsigned char *)name, len, hash_key);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)h[i] << (8 * i);
	return v >> (64 - NS_HASH_BITS);
}

size_t ns_dirent_key(uint8_t k[NS_DIRENT_KEY_MAX], uint64_t parent,
		     const char *name, size_t len)
{
	FFFS_ASSERT(len && len <= NS_NAME_MAX);
	ns_dirent_key_hash(k, parent, ns_name_hash(name, len));
	memcpy(k + 16, name, len);
	return 16 + len;
}

void ns_dirent_key_hash(uint8_t k[16], uint64_t parent, uint64_t h)
{
	ns_be64_put(k, parent);
	ns_be64_put(k + 8, h);
}

size_t ns_xattr_key(uint8_t k[NS_XATTR_KEY_MAX], uint64_t ino, const char *name,
		    size_t len)
{
	FFFS_ASSERT(len <= NS_XATTR_NAME_MAX);
	ns_be64_put(k, ino);
	memcpy(k + 8, name, len);
	return 8 + len;
}

void ns_gc_key(uint8_t k[NS_GC_KEY_LEN], uint64_t due, uint64_t ino)
{
	ns_be64_put(k, due);
	ns_be64_put(k + 8, ino);
}

/* ---- values -------------------------------------------------------------- */

uint8_t ns_dtype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return DT_DIR;
	case S_IFLNK:
		return DT_LNK;
	case S_IFREG:
		return DT_REG;
	default:
		return DT_UNKNOWN;
	}
}

uint32_t ns_dtype_mode(uint8_t type)
{
	switch (type) {
	case DT_DIR:
		return S_IFDIR;
	case DT_LNK:
		return S_IFLNK;
	case DT_REG:
		return S_IFREG;
	default:
		return 0;
	}
}

size_t ns_inode_encode(const struct ns_inode *in, uint8_t *buf, size_t cap)
{
	const struct ns_attr *a = &in->a;
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, NS_REC_FORMAT);
	pack_u32(&pk, a->mode);
	pack_u32(&pk, a->uid);
	pack_u32(&pk, a->gid);
	pack_u32(&pk, a->nlink);
	pack_u64(&pk, a->size);
	pack_u64(&pk, a->atime);
	pack_u64(&pk, a->mtime);
	pack_u64(&pk, a->ctime);
	pack_u64(&pk, a->parent);
	pack_u32(&pk, a->sessions);
	pack_u32(&pk, a->layout.table);
	pack_u32(&pk, a->layout.chunk_size);
	pack_u32(&pk, a->layout.stripe);
	pack_u32(&pk, a->layout.start);
	pack_u64(&pk, a->layout.seed);
	pack_u8(&pk, in->flags);
	pack_u64(&pk, in->gc_due);
	pack_strn(&pk, in->target, in->tlen);
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

/* The fields that must agree with the type. */
static bool inode_valid(const struct ns_inode *in)
{
	const struct ns_attr *a = &in->a;
	uint32_t type = a->mode & S_IFMT;

	if (a->mode & ~(uint32_t)(S_IFMT | 07777))
		return false;
	if (in->flags & ~NS_IF_GC || (!(in->flags & NS_IF_GC) && in->gc_due))
		return false;
	switch (type) {
	case S_IFDIR:
		return a->parent && !a->sessions && !in->tlen;
	case S_IFREG:
		return !a->parent && !in->tlen;
	case S_IFLNK:
		return !a->parent && !a->sessions && in->tlen &&
		       in->tlen <= NS_SYMLINK_MAX && a->size == in->tlen &&
		       !memchr(in->target, 0, in->tlen);
	default:
		return false;
	}
}

int ns_inode_decode(uint64_t ino, const void *v, size_t len,
		    struct ns_inode *out)
{
	struct ns_attr *a = &out->a;
	struct unpack up;
	uint8_t format;
	size_t tlen;

	memset(out, 0, sizeof(*out));
	unpack_init(&up, v, len);
	format = unpack_u8(&up);
	a->ino = ino;
	a->mode = unpack_u32(&up);
	a->uid = unpack_u32(&up);
	a->gid = unpack_u32(&up);
	a->nlink = unpack_u32(&up);
	a->size = unpack_u64(&up);
	a->atime = unpack_u64(&up);
	a->mtime = unpack_u64(&up);
	a->ctime = unpack_u64(&up);
	a->parent = unpack_u64(&up);
	a->sessions = unpack_u32(&up);
	a->layout.table = unpack_u32(&up);
	a->layout.chunk_size = unpack_u32(&up);
	a->layout.stripe = unpack_u32(&up);
	a->layout.start = unpack_u32(&up);
	a->layout.seed = unpack_u64(&up);
	out->flags = unpack_u8(&up);
	out->gc_due = unpack_u64(&up);
	unpack_str(&up, &out->target, &tlen);
	out->tlen = (uint32_t)tlen;
	if (unpack_finish(&up) || format != NS_REC_FORMAT || !ino ||
	    !inode_valid(out)) {
		memset(out, 0, sizeof(*out));
		return -FFFS_EBADFRAME;
	}
	if (!out->tlen)
		out->target = NULL;
	return 0;
}

size_t ns_dirent_encode(const struct ns_dirent *d, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, NS_REC_FORMAT);
	pack_u64(&pk, d->ino);
	pack_u8(&pk, d->type);
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

int ns_dirent_decode(const void *v, size_t len, struct ns_dirent *out)
{
	struct unpack up;
	uint8_t format;

	unpack_init(&up, v, len);
	format = unpack_u8(&up);
	out->ino = unpack_u64(&up);
	out->type = unpack_u8(&up);
	if (unpack_finish(&up) || format != NS_REC_FORMAT || !out->ino ||
	    !ns_dtype_mode(out->type)) {
		memset(out, 0, sizeof(*out));
		return -FFFS_EBADFRAME;
	}
	return 0;
}

size_t ns_session_encode(const struct ns_session *s, uint8_t *buf, size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, NS_REC_FORMAT);
	pack_u64(&pk, s->client);
	pack_u64(&pk, s->ino);
	pack_u64(&pk, s->opened);
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

int ns_session_decode(const void *v, size_t len, struct ns_session *out)
{
	struct unpack up;
	uint8_t format;

	unpack_init(&up, v, len);
	format = unpack_u8(&up);
	out->client = unpack_u64(&up);
	out->ino = unpack_u64(&up);
	out->opened = unpack_u64(&up);
	if (unpack_finish(&up) || format != NS_REC_FORMAT || !out->ino) {
		memset(out, 0, sizeof(*out));
		return -FFFS_EBADFRAME;
	}
	return 0;
}

int ns_gc_val_check(const void *v, size_t len)
{
	return len == 1 && *(const uint8_t *)v == NS_REC_FORMAT
		       ? 0
		       : -FFFS_EBADFRAME;
}

/* ---- records in a transaction -------------------------------------------- */

int ns_inode_get(struct meta_txn *t, uint64_t ino, struct ns_inode *out)
{
	uint8_t k[NS_INO_KEY_LEN];
	const void *v;
	size_t vlen;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ino)
		return -ENOENT;
	ns_ino_key(k, ino);
	rc = meta_get(t, META_T_INODES, k, sizeof(k), &v, &vlen);
	if (rc)
		return rc;
	rc = ns_inode_decode(ino, v, vlen, out);
	if (rc)
		log_error("corrupt record of inode %llu (%zu bytes)",
			  (unsigned long long)ino, vlen);
	return rc;
}

int ns_inode_put(struct meta_txn *t, const struct ns_inode *in)
{
	uint8_t k[NS_INO_KEY_LEN], v[NS_INODE_VAL_MAX];
	size_t vlen;

	FFFS_ASSERT(inode_valid(in));
	ns_ino_key(k, in->a.ino);
	vlen = ns_inode_encode(in, v, sizeof(v));
	return meta_put(t, META_T_INODES, k, sizeof(k), v, vlen);
}

int ns_dirent_get(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len, struct ns_dirent *out)
{
	uint8_t k[NS_DIRENT_KEY_MAX];
	const void *v;
	size_t klen, vlen;
	int rc;

	memset(out, 0, sizeof(*out));
	klen = ns_dirent_key(k, parent, name, len);
	rc = meta_get(t, META_T_DIRENTS, k, klen, &v, &vlen);
	if (rc)
		return rc;
	rc = ns_dirent_decode(v, vlen, out);
	if (rc)
		log_error("corrupt entry '%.*s' of directory %llu", (int)len,
			  name, (unsigned long long)parent);
	return rc;
}

int ns_dirent_put(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len, const struct ns_dirent *d)
{
	uint8_t k[NS_DIRENT_KEY_MAX], v[NS_DIRENT_VAL_LEN];
	size_t klen, vlen;

	klen = ns_dirent_key(k, parent, name, len);
	vlen = ns_dirent_encode(d, v, sizeof(v));
	return meta_put(t, META_T_DIRENTS, k, klen, v, vlen);
}

int ns_dirent_del(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len)
{
	uint8_t k[NS_DIRENT_KEY_MAX];
	size_t klen;

	klen = ns_dirent_key(k, parent, name, len);
	return meta_del(t, META_T_DIRENTS, k, klen);
}

static int stop_at_first(void *arg, const void *key, size_t klen,
			 const void *val, size_t vlen)
{
	return 1;
}

int ns_dir_empty(struct meta_txn *t, uint64_t dir)
{
	uint8_t k[NS_INO_KEY_LEN];
	int rc;

	ns_be64_put(k, dir);
	rc = meta_scan(t, META_T_DIRENTS, k, sizeof(k), k, sizeof(k),
		       stop_at_first, NULL);
	if (rc < 0)
		return rc;
	return rc == 0;
}

int ns_counter_get(struct meta_txn *t, const void *key, size_t klen,
		   uint64_t *val)
{
	struct unpack up;
	const void *v;
	uint8_t format;
	size_t vlen;
	int rc;

	*val = 0;
	rc = meta_get(t, META_T_COUNTERS, key, klen, &v, &vlen);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	unpack_init(&up, v, vlen);
	format = unpack_u8(&up);
	*val = unpack_u64(&up);
	if (unpack_finish(&up) || format != NS_REC_FORMAT) {
		log_error("corrupt counter '%.*s'", (int)klen,
			  (const char *)key);
		*val = 0;
		return -FFFS_EBADFRAME;
	}
	return 0;
}

int ns_counter_set(struct meta_txn *t, const void *key, size_t klen,
		   uint64_t val)
{
	uint8_t v[NS_COUNTER_VAL_LEN];
	struct pack pk;

	pack_init(&pk, v, sizeof(v));
	pack_u8(&pk, NS_REC_FORMAT);
	pack_u64(&pk, val);
	FFFS_ASSERT(!pk.err);
	return meta_put(t, META_T_COUNTERS, key, klen, v, pack_len(&pk));
}

int ns_inodes_add(struct meta_txn *t, int64_t delta)
{
	uint64_t n;
	int rc;

	rc = ns_counter_get(t, INODES_KEY, strlen(INODES_KEY), &n);
	if (rc)
		return rc;
	return ns_counter_set(t, INODES_KEY, strlen(INODES_KEY),
			      n + (uint64_t)delta);
}

int ns_statfs(struct meta_txn *t, uint64_t *inodes)
{
	return ns_counter_get(t, INODES_KEY, strlen(INODES_KEY), inodes);
}
