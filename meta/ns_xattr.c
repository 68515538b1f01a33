/* meta/ns_xattr.c - extended attributes of the user.* namespace, with
 * Linux's rules for who may read and write them. */
#define LOG_SUBSYS "ns"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"
#include "net/pack.h"

#define MAY_READ    4
#define MAY_WRITE   2
#define USER_PREFIX "user."

static int xattr_name(const char *name, size_t *len)
{
	size_t n = strnlen(name, NS_XATTR_NAME_MAX + 1);

	if (!n || n > NS_XATTR_NAME_MAX)
		return -ERANGE;
	if (strncmp(name, USER_PREFIX, strlen(USER_PREFIX)))
		return -EOPNOTSUPP;
	if (n == strlen(USER_PREFIX))
		return -EINVAL;
	*len = n;
	return 0;
}

/* xattr_permission() for user.*: only files and directories have them;
 * a sticky directory's only for its owner. */
static int xattr_access(const struct ns_cred *c, const struct ns_inode *in,
			bool write)
{
	if (!S_ISREG(in->a.mode) && !S_ISDIR(in->a.mode))
		return write ? -EPERM : -ENODATA;
	if (write && S_ISDIR(in->a.mode) && (in->a.mode & S_ISVTX) &&
	    ns_owner_or_root(c, &in->a))
		return -EPERM;
	return ns_perm(c, &in->a, write ? MAY_WRITE : MAY_READ);
}

/* The inode and the name's key, after the checks. */
static int xattr_open(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		      const char *name, bool write, struct ns_inode *in,
		      uint8_t k[NS_XATTR_KEY_MAX], size_t *klen)
{
	size_t len;
	int rc;

	rc = xattr_name(name, &len);
	if (!rc)
		rc = ns_inode_get(t, ino, in);
	if (!rc)
		rc = xattr_access(c, in, write);
	if (rc)
		return rc;
	*klen = ns_xattr_key(k, ino, name, len);
	return 0;
}

/* The value of a record, or -ENODATA. */
static int xattr_get(struct meta_txn *t, const uint8_t *k, size_t klen,
		     const void **val, uint32_t *len)
{
	struct unpack up;
	const void *v;
	uint8_t format;
	size_t vlen;
	int rc;

	rc = meta_get(t, META_T_XATTRS, k, klen, &v, &vlen);
	if (rc)
		return rc == -ENOENT ? -ENODATA : rc;
	unpack_init(&up, v, vlen);
	format = unpack_u8(&up);
	unpack_blob(&up, val, len);
	if (unpack_finish(&up) || format != NS_REC_FORMAT ||
	    *len > NS_XATTR_SIZE_MAX) {
		log_error("corrupt xattr '%.*s' of inode %llu", (int)(klen - 8),
			  (const char *)k + 8,
			  (unsigned long long)ns_be64_get(k));
		return -FFFS_EBADFRAME;
	}
	return 0;
}

int ns_setxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		const char *name, const void *val, size_t len, int flags,
		uint64_t now, struct ns_res *res)
{
	uint8_t k[NS_XATTR_KEY_MAX], *v;
	const void *old;
	struct ns_inode in;
	struct pack pk;
	uint32_t olen;
	size_t klen;
	int rc;

	memset(res, 0, sizeof(*res));
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
		return -EINVAL;
	if (len > NS_XATTR_SIZE_MAX)
		return -E2BIG;
	rc = xattr_open(t, c, ino, name, true, &in, k, &klen);
	if (rc)
		return rc;
	rc = xattr_get(t, k, klen, &old, &olen);
	if (!rc && (flags & XATTR_CREATE))
		return -EEXIST;
	if (rc == -ENODATA && !(flags & XATTR_REPLACE))
		rc = 0;
	if (rc)
		return rc;
	v = xmalloc(len + 5);
	pack_init(&pk, v, len + 5);
	pack_u8(&pk, NS_REC_FORMAT);
	pack_blob(&pk, val, (uint32_t)len);
	FFFS_ASSERT(!pk.err);
	rc = meta_put(t, META_T_XATTRS, k, klen, v, pack_len(&pk));
	free(v);
	in.a.ctime = now;
	if (!rc)
		rc = ns_inode_put(t, &in);
	if (!rc)
		ns_res_add(res, &in);
	return rc;
}

int ns_getxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		const char *name, void *buf, size_t len)
{
	uint8_t k[NS_XATTR_KEY_MAX];
	struct ns_inode in;
	const void *v;
	uint32_t vlen;
	size_t klen;
	int rc;

	rc = xattr_open(t, c, ino, name, false, &in, k, &klen);
	if (!rc)
		rc = xattr_get(t, k, klen, &v, &vlen);
	if (rc)
		return rc;
	if (!len)
		return (int)vlen;
	if (len < vlen)
		return -ERANGE;
	if (vlen)
		memcpy(buf, v, vlen);
	return (int)vlen;
}

struct xlist {
	char *buf;
	size_t len, need;
};

static int xlist_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct xlist *x = arg;
	size_t n = klen - 8;

	if (klen <= 8 || n > NS_XATTR_NAME_MAX)
		return -FFFS_EBADFRAME;
	if (x->need + n + 1 <= x->len) {
		memcpy(x->buf + x->need, (const uint8_t *)key + 8, n);
		x->buf[x->need + n] = 0;
	}
	x->need += n + 1;
	return 0;
}

int ns_listxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		 char *buf, size_t len)
{
	struct xlist x = { buf, len, 0 };
	struct ns_inode in;
	uint8_t k[8];
	int rc;

	rc = ns_inode_get(t, ino, &in);
	if (rc)
		return rc;
	ns_be64_put(k, ino);
	rc = meta_scan(t, META_T_XATTRS, k, sizeof(k), k, sizeof(k), xlist_one,
		       &x);
	if (rc == -FFFS_EBADFRAME)
		log_error("corrupt xattr name of inode %llu",
			  (unsigned long long)ino);
	if (rc)
		return rc;
	if (len && len < x.need)
		return -ERANGE;
	return (int)x.need;
}

int ns_removexattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		   const char *name, uint64_t now, struct ns_res *res)
{
	uint8_t k[NS_XATTR_KEY_MAX];
	struct ns_inode in;
	const void *v;
	uint32_t vlen;
	size_t klen;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xattr_open(t, c, ino, name, true, &in, k, &klen);
	if (!rc)
		rc = xattr_get(t, k, klen, &v, &vlen);
	if (!rc)
		rc = meta_del(t, META_T_XATTRS, k, klen);
	if (rc)
		return rc;
	in.a.ctime = now;
	rc = ns_inode_put(t, &in);
	if (!rc)
		ns_res_add(res, &in);
	return rc;
}

struct xkeys {
	uint8_t (*k)[NS_XATTR_KEY_MAX];
	size_t *len;
	size_t n, cap;
};

static int xkeys_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct xkeys *x = arg;

	if (klen > NS_XATTR_KEY_MAX)
		return -FFFS_EBADFRAME;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 8;
		x->k = xrealloc(x->k, x->cap * sizeof(*x->k));
		x->len = xrealloc(x->len, x->cap * sizeof(*x->len));
	}
	memcpy(x->k[x->n], key, klen);
	x->len[x->n++] = klen;
	return 0;
}

int ns_xattrs_drop(struct meta_txn *t, uint64_t ino)
{
	struct xkeys x = { NULL, NULL, 0, 0 };
	uint8_t k[8];
	int rc;

	ns_be64_put(k, ino);
	rc = meta_scan(t, META_T_XATTRS, k, sizeof(k), k, sizeof(k), xkeys_one,
		       &x);
	for (size_t i = 0; i < x.n && !rc; i++)
		rc = meta_del(t, META_T_XATTRS, x.k[i], x.len[i]);
	free(x.k);
	free(x.len);
	return rc;
}
