/* meta/ns_gc.c - removal for good: detaching a whole tree in one step,
 * the gc queue that hands out removed inodes (walking removed directories
 * in small batches), and the end of an inode. */
#define LOG_SUBSYS "ns"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"

#define MAY_READ  4
#define MAY_WRITE 2
#define MAY_EXEC  1
#define GC_SCAN	  256 /* due entries one ns_gc_next() looks at */

int ns_remove_tree(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
		   const char *name, uint64_t now, struct ns_res *res)
{
	struct ns_inode dir, in;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_victim(t, c, parent, name, true, &dir, &in, &len);
	if (rc)
		return rc;
	/* the tree is not walked: the caller must at least be able to list
	 * and empty its top (as rm -r must) */
	rc = ns_perm(c, &in.a, MAY_READ | MAY_WRITE | MAY_EXEC);
	if (rc)
		return rc;
	return ns_detach(t, &dir, &in, name, len, now, res);
}

/* ---- the queue ----------------------------------------------------------- */

/* The first due entry that can be handed out (a non-directory or an empty
 * directory), and the first directory that still has entries. */
struct gc_pick {
	struct meta_txn *t;
	uint64_t now;
	int seen, rc;
	bool found, have_dir;
	struct ns_inode in;
	uint64_t dir;
};

static int gc_pick_one(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct gc_pick *p = arg;
	uint64_t due, ino;
	int rc;

	if (klen != NS_GC_KEY_LEN || ns_gc_val_check(val, vlen)) {
		log_error("corrupt gc entry (%zu-byte key)", klen);
		return -FFFS_EBADFRAME;
	}
	due = ns_be64_get(key);
	ino = ns_be64_get((const uint8_t *)key + 8);
	if (due > p->now || p->seen++ >= GC_SCAN)
		return 1;
	rc = ns_inode_get(p->t, ino, &p->in);
	if (rc == -ENOENT ||
	    (!rc && (!(p->in.flags & NS_IF_GC) || p->in.gc_due != due))) {
		log_error("gc entry of inode %llu does not match its record",
			  (unsigned long long)ino);
		rc = -EIO;
	}
	if (rc)
		return rc;
	if (S_ISDIR(p->in.a.mode)) {
		rc = ns_dir_empty(p->t, ino);
		if (rc < 0)
			return rc;
		if (!rc) {
			if (!p->have_dir)
				p->dir = ino;
			p->have_dir = true;
			return 0;
		}
	}
	p->found = true;
	return 1;
}

static int gc_pick(struct meta_txn *t, uint64_t now, struct gc_pick *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->t = t;
	p->now = now;
	rc = meta_scan(t, META_T_GC, NULL, 0, NULL, 0, gc_pick_one, p);
	return rc < 0 ? rc : 0;
}

/* Up to NS_GC_BATCH entries of a directory in gc, copied out of the
 * scan: names and what they name. */
struct gc_batch {
	uint64_t dir;
	int n;
	struct {
		char name[NS_NAME_MAX];
		size_t len;
		struct ns_dirent d;
	} e[NS_GC_BATCH];
};

static int gc_batch_one(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	struct gc_batch *b = arg;

	if (klen <= 16 || klen > NS_DIRENT_KEY_MAX ||
	    ns_dirent_decode(val, vlen, &b->e[b->n].d)) {
		log_error("corrupt entry of directory %llu (%zu-byte key)",
			  (unsigned long long)b->dir, klen);
		return -FFFS_EBADFRAME;
	}
	b->e[b->n].len = klen - 16;
	memcpy(b->e[b->n].name, (const uint8_t *)key + 16, klen - 16);
	return ++b->n == NS_GC_BATCH;
}

/* The entries of one gc'd directory leave it: subdirectories enter gc,
 * other inodes lose a link (and enter gc at none). */
static int gc_walk(struct meta_txn *t, uint64_t dir, uint64_t now)
{
	struct gc_batch *b = xmalloc(sizeof(*b));
	uint8_t prefix[8];
	struct ns_inode in;
	int rc;

	b->dir = dir;
	b->n = 0;
	ns_be64_put(prefix, dir);
	rc = meta_scan(t, META_T_DIRENTS, prefix, sizeof(prefix), prefix,
		       sizeof(prefix), gc_batch_one, b);
	for (int i = 0; i < b->n && rc >= 0; i++) {
		rc = ns_dirent_inode(t, dir, b->e[i].name, b->e[i].len,
				     &b->e[i].d, &in);
		if (!rc)
			rc = ns_dirent_del(t, dir, b->e[i].name, b->e[i].len);
		if (!rc && S_ISDIR(in.a.mode))
			rc = ns_drop_dir(t, &in, now);
		else if (!rc)
			rc = ns_drop_link(t, &in, now);
	}
	free(b);
	return rc < 0 ? rc : 0;
}

int ns_gc_next(struct meta_txn *t, uint64_t now, struct ns_attr *out)
{
	struct gc_pick p;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gc_pick(t, now, &p);
	if (!rc && !p.found && p.have_dir) {
		rc = gc_walk(t, p.dir, now);
		if (!rc)
			rc = gc_pick(t, now, &p);
		if (!rc && !p.found)
			return -EAGAIN;
	}
	if (rc)
		return rc;
	if (!p.found)
		return -ENOENT;
	*out = p.in.a;
	return 0;
}

int ns_gc_done(struct meta_txn *t, uint64_t ino)
{
	uint8_t k[NS_GC_KEY_LEN], ik[NS_INO_KEY_LEN];
	struct ns_inode in;
	int rc;

	rc = ns_inode_get(t, ino, &in);
	if (rc)
		return rc;
	if (!(in.flags & NS_IF_GC))
		return -EINVAL;
	if (S_ISDIR(in.a.mode)) {
		rc = ns_dir_empty(t, ino);
		if (rc <= 0)
			return rc ? rc : -ENOTEMPTY;
	}
	ns_gc_key(k, in.gc_due, ino);
	ns_ino_key(ik, ino);
	rc = meta_del(t, META_T_GC, k, sizeof(k));
	if (!rc)
		rc = ns_xattrs_drop(t, ino);
	if (!rc)
		rc = meta_del(t, META_T_INODES, ik, sizeof(ik));
	if (!rc)
		rc = ns_inodes_add(t, -1);
	return rc;
}
