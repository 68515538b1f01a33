/* meta/ns_rename.c - rename(2) in the namespace: across directories,
 * directories included, with POSIX replace rules, the loop check by
 * walking ancestors, RENAME_NOREPLACE and RENAME_EXCHANGE. */
#define LOG_SUBSYS "ns"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"

#define MAY_WRITE 2
#define MAY_EXEC  1

/* Everything a rename reads, before it writes anything. */
struct rn {
	struct ns_inode odir, ndir_copy, src, tgt;
	struct ns_inode *ndir; /* &odir when both names share a directory */
	size_t len, newlen;
	bool have_tgt;
};

/* 1 when anc is dir or one of its ancestors, 0 when not. */
static int is_ancestor(struct meta_txn *t, uint64_t anc, uint64_t dir)
{
	struct ns_inode in;
	int rc;

	for (uint32_t n = 0;; n++) {
		if (dir == anc)
			return 1;
		if (dir == NS_ROOT)
			return 0;
		rc = ns_inode_get(t, dir, &in);
		if (rc == -ENOENT || (!rc && !S_ISDIR(in.a.mode)) ||
		    n >= NS_WALK_MAX) {
			log_error("the ancestors of directory %llu do not lead "
				  "to the root",
				  (unsigned long long)dir);
			return -EIO;
		}
		if (rc)
			return rc;
		dir = in.a.parent;
	}
}

/* Both directories, both names, the source, the target if any. */
static int rn_read(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
		   const char *name, uint64_t newparent, const char *newname,
		   struct rn *r)
{
	struct ns_dirent d;
	int rc;

	rc = ns_dir_search(t, c, parent, &r->odir);
	if (!rc)
		rc = ns_name_check(name, &r->len);
	if (!rc && newparent != parent)
		rc = ns_dir_search(t, c, newparent, &r->ndir_copy);
	if (!rc)
		rc = ns_name_check(newname, &r->newlen);
	if (!rc)
		rc = ns_dirent_get(t, parent, name, r->len, &d);
	if (!rc)
		rc = ns_dirent_inode(t, parent, name, r->len, &d, &r->src);
	if (rc)
		return rc;
	r->ndir = newparent == parent ? &r->odir : &r->ndir_copy;
	rc = ns_dirent_get(t, newparent, newname, r->newlen, &d);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		rc = ns_dirent_inode(t, newparent, newname, r->newlen, &d,
				     &r->tgt);
	r->have_tgt = !rc;
	return rc;
}

/* Linux's vfs_rename() checks, in its order, after the lookups. */
static int rn_check(struct meta_txn *t, const struct ns_cred *c, struct rn *r,
		    unsigned flags)
{
	bool exchange = flags & RENAME_EXCHANGE, same = r->ndir == &r->odir;
	bool src_dir = S_ISDIR(r->src.a.mode);
	bool tgt_dir = r->have_tgt && S_ISDIR(r->tgt.a.mode);
	int rc;

	rc = ns_may_delete(c, &r->odir.a, &r->src.a);
	if (!rc && !r->have_tgt)
		rc = ns_perm(c, &r->ndir->a, MAY_WRITE | MAY_EXEC);
	if (!rc && r->have_tgt)
		rc = ns_may_delete(c, &r->ndir->a, &r->tgt.a);
	if (rc)
		return rc;
	if (r->have_tgt && !exchange && src_dir != tgt_dir)
		return src_dir ? -ENOTDIR : -EISDIR;
	if (!same && src_dir)
		rc = ns_perm(c, &r->src.a, MAY_WRITE); /* its ".." changes */
	if (!rc && !same && exchange && tgt_dir)
		rc = ns_perm(c, &r->tgt.a, MAY_WRITE);
	if (rc)
		return rc;
	if (tgt_dir && !exchange) {
		rc = ns_dir_empty(t, r->tgt.a.ino);
		if (rc <= 0)
			return rc ? rc : -ENOTEMPTY;
	}
	if (same)
		return 0;
	if (src_dir && !tgt_dir && r->ndir->a.nlink >= NS_LINK_MAX)
		return -EMLINK;
	if (exchange && tgt_dir && !src_dir && r->odir.a.nlink >= NS_LINK_MAX)
		return -EMLINK;
	return 0;
}

static int rn_replace(struct meta_txn *t, struct rn *r, uint64_t newparent,
		      const char *newname, uint64_t now)
{
	struct ns_dirent d = { r->src.a.ino, ns_dtype(r->src.a.mode) };
	int rc = 0;

	if (r->have_tgt && S_ISDIR(r->tgt.a.mode)) {
		r->ndir->a.nlink--;
		rc = ns_drop_dir(t, &r->tgt, now);
	} else if (r->have_tgt) {
		rc = ns_drop_link(t, &r->tgt, now);
	}
	if (!rc && S_ISDIR(r->src.a.mode) && r->ndir != &r->odir) {
		r->odir.a.nlink--;
		r->ndir->a.nlink++;
		r->src.a.parent = newparent;
	}
	if (!rc)
		rc = ns_dirent_put(t, newparent, newname, r->newlen, &d);
	return rc;
}

static int rn_exchange(struct meta_txn *t, struct rn *r, uint64_t parent,
		       const char *name, uint64_t newparent,
		       const char *newname, uint64_t now)
{
	struct ns_dirent ds = { r->src.a.ino, ns_dtype(r->src.a.mode) };
	struct ns_dirent dt = { r->tgt.a.ino, ns_dtype(r->tgt.a.mode) };
	int rc;

	if (r->ndir != &r->odir && S_ISDIR(r->src.a.mode)) {
		r->odir.a.nlink--;
		r->ndir->a.nlink++;
		r->src.a.parent = newparent;
	}
	if (r->ndir != &r->odir && S_ISDIR(r->tgt.a.mode)) {
		r->ndir->a.nlink--;
		r->odir.a.nlink++;
		r->tgt.a.parent = parent;
	}
	r->tgt.a.ctime = now;
	rc = ns_dirent_put(t, parent, name, r->len, &dt);
	if (!rc)
		rc = ns_dirent_put(t, newparent, newname, r->newlen, &ds);
	if (!rc)
		rc = ns_inode_put(t, &r->tgt);
	return rc;
}

static void rn_res(const struct rn *r, struct ns_res *res)
{
	ns_res_add(res, &r->odir);
	ns_res_add(res, &r->src);
	ns_res_add(res, r->ndir);
	if (r->have_tgt)
		ns_res_add(res, &r->tgt);
}

int ns_rename(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint64_t newparent, const char *newname,
	      unsigned flags, uint64_t now, struct ns_res *res)
{
	bool exchange = flags & RENAME_EXCHANGE;
	struct rn r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	if ((flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    flags == (RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	rc = rn_read(t, c, parent, name, newparent, newname, &r);
	if (rc)
		return rc;
	if (exchange && !r.have_tgt)
		return -ENOENT;
	if ((flags & RENAME_NOREPLACE) && r.have_tgt)
		return -EEXIST;
	/* no directory may end up inside itself */
	if (S_ISDIR(r.src.a.mode) && newparent != parent)
		rc = is_ancestor(t, r.src.a.ino, newparent);
	if (!rc && exchange && S_ISDIR(r.tgt.a.mode) && newparent != parent)
		rc = is_ancestor(t, r.tgt.a.ino, parent);
	if (rc)
		return rc < 0 ? rc : -EINVAL;
	if (r.have_tgt && r.tgt.a.ino == r.src.a.ino) {
		rn_res(&r, res); /* two names of one inode: nothing to do */
		return 0;
	}
	rc = rn_check(t, c, &r, flags);
	if (rc)
		return rc;
	r.src.a.ctime = now;
	r.odir.a.mtime = r.odir.a.ctime = now;
	r.ndir->a.mtime = r.ndir->a.ctime = now;
	if (exchange) {
		rc = rn_exchange(t, &r, parent, name, newparent, newname, now);
	} else {
		rc = rn_replace(t, &r, newparent, newname, now);
		if (!rc)
			rc = ns_dirent_del(t, parent, name, r.len);
	}
	if (!rc)
		rc = ns_inode_put(t, &r.src);
	if (!rc)
		rc = ns_inode_put(t, &r.odir);
	if (!rc && r.ndir != &r.odir)
		rc = ns_inode_put(t, r.ndir);
	if (rc)
		return rc;
	rn_res(&r, res);
	return 0;
}
