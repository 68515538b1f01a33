/* meta/ns.c - the namespace's operations on files and directories:
 * format, lookup and path resolution, attributes, create and open with
 * write sessions, mkdir, rmdir, unlink, link, symlinks, readdir, layouts,
 * and the permission checks they share. */
#define LOG_SUBSYS "ns"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"

#define COUNTER_INO	"ino"
#define COUNTER_SESSION "session"
#define COUNTER_LAYOUT	"layout"
#define LAYOUT_KEY_LEN	10 /* "layout", u32 table big-endian */
#define MAY_READ	4
#define MAY_WRITE	2
#define MAY_EXEC	1
#define CHUNK_MIN	(64u << 10)
#define CHUNK_MAX	(64u << 20)
#define SET_ALL                                                               \
	(NS_SET_MODE | NS_SET_UID | NS_SET_GID | NS_SET_SIZE | NS_SET_ATIME | \
	 NS_SET_MTIME | NS_SET_ATIME_NOW | NS_SET_MTIME_NOW)

/* ---- permission checks --------------------------------------------------- */

bool ns_in_group(const struct ns_cred *c, uint32_t gid)
{
	uint32_t n = c->ngroups < NS_NGROUPS_MAX ? c->ngroups : NS_NGROUPS_MAX;

	if (c->gid == gid)
		return true;
	for (uint32_t i = 0; i < n; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

int ns_perm(const struct ns_cred *c, const struct ns_attr *a, int mask)
{
	uint32_t bits;

	if (c->uid == 0) {
		/* root: all but executing a file nobody may execute */
		if ((mask & MAY_EXEC) && !S_ISDIR(a->mode) && !(a->mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == a->uid)
		bits = a->mode >> 6;
	else if (ns_in_group(c, a->gid))
		bits = a->mode >> 3;
	else
		bits = a->mode;
	return ((uint32_t)mask & ~bits & 7) ? -EACCES : 0;
}

int ns_may_delete(const struct ns_cred *c, const struct ns_attr *dir,
		  const struct ns_attr *victim)
{
	int rc = ns_perm(c, dir, MAY_WRITE | MAY_EXEC);

	if (rc)
		return rc;
	if ((dir->mode & S_ISVTX) && c->uid != 0 && c->uid != dir->uid &&
	    c->uid != victim->uid)
		return -EPERM;
	return 0;
}

int ns_owner_or_root(const struct ns_cred *c, const struct ns_attr *a)
{
	return c->uid == 0 || c->uid == a->uid ? 0 : -EPERM;
}

int ns_name_check(const char *name, size_t *len)
{
	size_t n = strnlen(name, NS_NAME_MAX + 1);

	if (!n)
		return -EINVAL;
	if (n > NS_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, "..") || memchr(name, '/', n))
		return -EINVAL;
	*len = n;
	return 0;
}

int ns_dir_search(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		  struct ns_inode *dir)
{
	int rc = ns_inode_get(t, ino, dir);

	if (rc)
		return rc;
	if (!S_ISDIR(dir->a.mode))
		return -ENOTDIR;
	if (!dir->a.nlink)
		return -ENOENT; /* removed: nothing is found or made in it */
	return ns_perm(c, &dir->a, MAY_EXEC);
}

int ns_dirent_inode(struct meta_txn *t, uint64_t parent, const char *name,
		    size_t len, const struct ns_dirent *d, struct ns_inode *out)
{
	int rc = ns_inode_get(t, d->ino, out);

	const char *why = NULL;

	if (rc == -ENOENT)
		why = "a missing";
	else if (!rc && ns_dtype(out->a.mode) != d->type)
		why = "a different type of";
	else if (!rc && (!out->a.nlink || (out->flags & NS_IF_GC)))
		why = "an unlinked";
	if (why) {
		log_error("entry '%.*s' of directory %llu names %s inode %llu",
			  (int)len, name, (unsigned long long)parent, why,
			  (unsigned long long)d->ino);
		return -EIO;
	}
	return rc;
}

void ns_res_add(struct ns_res *res, const struct ns_inode *in)
{
	FFFS_ASSERT(res->n < (int)FFFS_ARRAY_LEN(res->a));
	res->a[res->n++] = in->a;
}

void ns_kill_suid(struct ns_inode *in)
{
	in->a.mode &= ~(uint32_t)S_ISUID;
	if (in->a.mode & S_IXGRP)
		in->a.mode &= ~(uint32_t)S_ISGID;
}

/* ---- the steps operations share ------------------------------------------ */

int ns_gc_queue(struct meta_txn *t, struct ns_inode *in, uint64_t due)
{
	uint8_t k[NS_GC_KEY_LEN], v = NS_REC_FORMAT;

	FFFS_ASSERT(!(in->flags & NS_IF_GC));
	in->flags |= NS_IF_GC;
	in->gc_due = due;
	ns_gc_key(k, due, in->a.ino);
	return meta_put(t, META_T_GC, k, sizeof(k), &v, 1);
}

int ns_drop_link(struct meta_txn *t, struct ns_inode *in, uint64_t now)
{
	int rc;

	FFFS_ASSERT(!S_ISDIR(in->a.mode) && in->a.nlink);
	in->a.nlink--;
	in->a.ctime = now;
	if (!in->a.nlink && !in->a.sessions) {
		rc = ns_gc_queue(t, in, now);
		if (rc)
			return rc;
	}
	return ns_inode_put(t, in);
}

int ns_drop_dir(struct meta_txn *t, struct ns_inode *in, uint64_t now)
{
	int rc;

	FFFS_ASSERT(S_ISDIR(in->a.mode));
	in->a.nlink = 0;
	in->a.ctime = now;
	rc = ns_gc_queue(t, in, now);
	return rc ? rc : ns_inode_put(t, in);
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int counter_next(struct meta_txn *t, const char *name, uint64_t *v)
{
	int rc = ns_counter_get(t, name, strlen(name), v);

	if (rc)
		return rc;
	if (!*v)
		*v = 1;
	return ns_counter_set(t, name, strlen(name), *v + 1);
}

static int layout_check(const struct ns_layout *l)
{
	if (!l->table)
		return 0;
	if (l->chunk_size < CHUNK_MIN || l->chunk_size > CHUNK_MAX ||
	    (l->chunk_size & (l->chunk_size - 1)) || !l->stripe)
		return -EINVAL;
	return 0;
}

/* What a directory keeps of a layout: no start, no seed; nothing but
 * zeros without a chain table. */
static struct ns_layout layout_of_dir(const struct ns_layout *l)
{
	struct ns_layout d = { 0 };

	if (l && l->table) {
		d.table = l->table;
		d.chunk_size = l->chunk_size;
		d.stripe = l->stripe;
	}
	return d;
}

/* A new file's layout: the directory's, the next stripe chains of the
 * table's round-robin cursor, and a seed from the inode and the time. */
static int layout_for_file(struct meta_txn *t, const struct ns_layout *dl,
			   uint64_t ino, uint64_t now, struct ns_layout *out)
{
	uint8_t k[LAYOUT_KEY_LEN];
	uint64_t cursor;
	int rc;

	*out = layout_of_dir(dl);
	out->seed = mix64(ino ^ mix64(now));
	if (!out->table)
		return 0;
	memcpy(k, COUNTER_LAYOUT, 6);
	for (int i = 0; i < 4; i++)
		k[6 + i] = (uint8_t)(out->table >> (24 - 8 * i));
	rc = ns_counter_get(t, k, sizeof(k), &cursor);
	if (rc)
		return rc;
	out->start = (uint32_t)cursor;
	return ns_counter_set(t, k, sizeof(k), cursor + out->stripe);
}

static void inode_init(struct ns_inode *in, uint64_t ino, uint32_t mode,
		       const struct ns_cred *c, const struct ns_inode *dir,
		       uint64_t now)
{
	memset(in, 0, sizeof(*in));
	in->a.ino = ino;
	in->a.mode = mode;
	in->a.uid = c->uid;
	in->a.gid = (dir->a.mode & S_ISGID) ? dir->a.gid : c->gid;
	in->a.nlink = 1;
	in->a.atime = in->a.mtime = in->a.ctime = now;
}

/* Write a new child: its record, its entry, the parent's times, the
 * counters. The caller has checked everything. */
static int child_add(struct meta_txn *t, struct ns_inode *dir, const char *name,
		     size_t len, struct ns_inode *in, uint64_t now)
{
	struct ns_dirent d = { in->a.ino, ns_dtype(in->a.mode) };
	int rc;

	dir->a.mtime = dir->a.ctime = now;
	if (S_ISDIR(in->a.mode))
		dir->a.nlink++;
	rc = ns_inode_put(t, in);
	if (!rc)
		rc = ns_dirent_put(t, dir->a.ino, name, len, &d);
	if (!rc)
		rc = ns_inode_put(t, dir);
	if (!rc)
		rc = ns_inodes_add(t, 1);
	return rc;
}

/* The checks of every creation: a searchable directory, a good name not
 * yet there (the existing entry in *d, rc -EEXIST), write permission. */
static int create_check(struct meta_txn *t, const struct ns_cred *c,
			uint64_t parent, const char *name, struct ns_inode *dir,
			size_t *len, struct ns_dirent *d)
{
	int rc = ns_dir_search(t, c, parent, dir);

	if (!rc)
		rc = ns_name_check(name, len);
	if (rc)
		return rc;
	rc = ns_dirent_get(t, parent, name, *len, d);
	if (!rc)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	return ns_perm(c, &dir->a, MAY_WRITE | MAY_EXEC);
}

/* ---- format, getattr, lookup, resolve ------------------------------------ */

int ns_format(struct meta_txn *t, uint32_t uid, uint32_t gid,
	      const struct ns_layout *root_layout, uint64_t now)
{
	struct ns_inode root;
	int rc;

	rc = ns_inode_get(t, NS_ROOT, &root);
	if (rc != -ENOENT)
		return rc ? rc : -EEXIST;
	if (root_layout && layout_check(root_layout))
		return -EINVAL;
	memset(&root, 0, sizeof(root));
	root.a.ino = NS_ROOT;
	root.a.mode = S_IFDIR | 0755;
	root.a.uid = uid;
	root.a.gid = gid;
	root.a.nlink = 2;
	root.a.atime = root.a.mtime = root.a.ctime = now;
	root.a.parent = NS_ROOT;
	root.a.layout = layout_of_dir(root_layout);
	rc = ns_inode_put(t, &root);
	if (!rc)
		rc = ns_counter_set(t, COUNTER_INO, strlen(COUNTER_INO),
				    NS_ROOT + 1);
	if (!rc)
		rc = ns_counter_set(t, COUNTER_SESSION, strlen(COUNTER_SESSION),
				    1);
	if (!rc)
		rc = ns_inodes_add(t, 1);
	return rc;
}

int ns_getattr(struct meta_txn *t, uint64_t ino, struct ns_attr *out)
{
	struct ns_inode in;
	int rc = ns_inode_get(t, ino, &in);

	*out = in.a;
	return rc;
}

static int lookup_in(struct meta_txn *t, const struct ns_inode *dir,
		     const char *name, size_t len, struct ns_inode *out)
{
	struct ns_dirent d;
	int rc;

	if (len == 1 && name[0] == '.') {
		*out = *dir;
		return 0;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.')
		return ns_inode_get(t, dir->a.parent, out);
	rc = ns_dirent_get(t, dir->a.ino, name, len, &d);
	if (rc)
		return rc;
	return ns_dirent_inode(t, dir->a.ino, name, len, &d, out);
}

int ns_lookup(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, struct ns_attr *out)
{
	struct ns_inode dir, in;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ns_dir_search(t, c, parent, &dir);
	if (rc)
		return rc;
	len = strnlen(name, NS_NAME_MAX + 1);
	if (strcmp(name, ".") && strcmp(name, "..")) {
		rc = ns_name_check(name, &len);
		if (rc)
			return rc;
	}
	rc = lookup_in(t, &dir, name, len, &in);
	if (!rc)
		*out = in.a;
	return rc;
}

/* One path walk: buf is the rest of the path, rewritten in place when a
 * symlink is followed. */
struct walk {
	char buf[NS_PATH_MAX];
	char *p;
	int links;
};

/* Follow the symlink ln found in the middle (or at the end) of the walk:
 * the rest of the path is its target and what came after it. */
static int walk_follow(struct walk *w, const struct ns_inode *ln,
		       const char *rest, bool *absolute)
{
	char tmp[NS_PATH_MAX];
	size_t rlen = strlen(rest);

	if (++w->links > NS_SYMLOOP_MAX)
		return -ELOOP;
	if (ln->tlen + rlen >= NS_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(tmp, ln->target, ln->tlen);
	memcpy(tmp + ln->tlen, rest, rlen + 1);
	memcpy(w->buf, tmp, ln->tlen + rlen + 1);
	w->p = w->buf;
	*absolute = ln->target[0] == '/';
	return 0;
}

int ns_resolve(struct meta_txn *t, const struct ns_cred *c, const char *path,
	       bool follow, struct ns_attr *out)
{
	struct ns_inode cur, next;
	bool need_dir = false, absolute;
	size_t plen = strnlen(path, NS_PATH_MAX), len;
	struct walk *w;
	int rc;

	memset(out, 0, sizeof(*out));
	if (plen >= NS_PATH_MAX)
		return -ENAMETOOLONG;
	if (!plen)
		return -ENOENT;
	if (path[0] != '/')
		return -EINVAL;
	rc = ns_inode_get(t, NS_ROOT, &cur);
	if (rc)
		return rc;
	w = xmalloc(sizeof(*w));
	memcpy(w->buf, path, plen + 1);
	w->p = w->buf;
	w->links = 0;
	for (;;) {
		char *end, *after;

		while (*w->p == '/')
			w->p++;
		if (!*w->p)
			break;
		len = strcspn(w->p, "/");
		end = w->p + len;
		for (after = end; *after == '/'; after++)
			;
		need_dir = *end == '/';
		if (!S_ISDIR(cur.a.mode))
			rc = -ENOTDIR;
		else if (!cur.a.nlink)
			rc = -ENOENT;
		else
			rc = ns_perm(c, &cur.a, MAY_EXEC);
		if (!rc && len > NS_NAME_MAX)
			rc = -ENAMETOOLONG;
		if (!rc)
			rc = lookup_in(t, &cur, w->p, len, &next);
		if (rc)
			goto out;
		if (S_ISLNK(next.a.mode) && (*after || follow || need_dir)) {
			rc = walk_follow(w, &next, end, &absolute);
			if (!rc && absolute)
				rc = ns_inode_get(t, NS_ROOT, &cur);
			if (rc)
				goto out;
			continue;
		}
		cur = next;
		w->p = end;
	}
	if (need_dir && !S_ISDIR(cur.a.mode)) {
		rc = -ENOTDIR;
		goto out;
	}
	*out = cur.a;
out:
	free(w);
	return rc;
}

/* ---- setattr ------------------------------------------------------------- */

static int setattr_check(const struct ns_cred *c, const struct ns_inode *in,
			 unsigned set, const struct ns_attr *sa)
{
	const struct ns_attr *a = &in->a;
	int rc;

	if (set & NS_SET_SIZE) {
		if (S_ISDIR(a->mode))
			return -EISDIR;
		if (!S_ISREG(a->mode) || sa->size > INT64_MAX)
			return -EINVAL;
		rc = ns_perm(c, a, MAY_WRITE);
		if (rc)
			return rc;
	}
	if ((set & NS_SET_UID) && c->uid != 0 &&
	    (c->uid != a->uid || sa->uid != a->uid))
		return -EPERM;
	if ((set & NS_SET_GID) && c->uid != 0 &&
	    (c->uid != a->uid ||
	     (sa->gid != a->gid && !ns_in_group(c, sa->gid))))
		return -EPERM;
	if (set & (NS_SET_MODE | NS_SET_ATIME | NS_SET_MTIME)) {
		rc = ns_owner_or_root(c, a);
		if (rc)
			return rc;
	}
	/* "now" is also allowed to whoever may write (utimes(NULL)) */
	if ((set & (NS_SET_ATIME_NOW | NS_SET_MTIME_NOW)) &&
	    ns_owner_or_root(c, a))
		return ns_perm(c, a, MAY_WRITE);
	return 0;
}

static void setattr_apply(const struct ns_cred *c, struct ns_inode *in,
			  unsigned set, const struct ns_attr *sa, uint64_t now)
{
	struct ns_attr *a = &in->a;

	if (set & (NS_SET_UID | NS_SET_GID)) {
		if (set & NS_SET_UID)
			a->uid = sa->uid;
		if (set & NS_SET_GID)
			a->gid = sa->gid;
		if (!S_ISDIR(a->mode))
			ns_kill_suid(in);
	}
	if (set & NS_SET_MODE) {
		a->mode = (a->mode & S_IFMT) | (sa->mode & 07777);
		if (c->uid != 0 && !ns_in_group(c, a->gid))
			a->mode &= ~(uint32_t)S_ISGID;
	}
	if (set & NS_SET_SIZE) {
		a->size = sa->size;
		a->mtime = now;
		if (c->uid != 0)
			ns_kill_suid(in);
	}
	if (set & NS_SET_ATIME)
		a->atime = sa->atime;
	if (set & NS_SET_ATIME_NOW)
		a->atime = now;
	if (set & NS_SET_MTIME)
		a->mtime = sa->mtime;
	if (set & NS_SET_MTIME_NOW)
		a->mtime = now;
	a->ctime = now;
}

int ns_setattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	       unsigned set, const struct ns_attr *sa, uint64_t now,
	       struct ns_res *res)
{
	struct ns_inode in;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((set & ~(unsigned)SET_ALL) ||
	    ((set & NS_SET_ATIME) && (set & NS_SET_ATIME_NOW)) ||
	    ((set & NS_SET_MTIME) && (set & NS_SET_MTIME_NOW)))
		return -EINVAL;
	rc = ns_inode_get(t, ino, &in);
	if (!rc)
		rc = setattr_check(c, &in, set, sa);
	if (rc)
		return rc;
	if (set) {
		setattr_apply(c, &in, set, sa, now);
		rc = ns_inode_put(t, &in);
		if (rc)
			return rc;
	}
	ns_res_add(res, &in);
	return 0;
}

/* ---- create, open, close ------------------------------------------------- */

static int session_open(struct meta_txn *t, struct ns_inode *in,
			uint64_t client, uint64_t now, uint64_t *id)
{
	struct ns_session s = { client, in->a.ino, now };
	uint8_t k[8], v[NS_SESSION_VAL_LEN];
	size_t vlen;
	int rc;

	rc = counter_next(t, COUNTER_SESSION, id);
	if (rc)
		return rc;
	ns_be64_put(k, *id);
	vlen = ns_session_encode(&s, v, sizeof(v));
	in->a.sessions++;
	return meta_put(t, META_T_SESSIONS, k, sizeof(k), v, vlen);
}

/* Open the inode in (not in gc) for flags: checks, O_TRUNC, a session
 * for a write open. */
static int open_inode(struct meta_txn *t, const struct ns_cred *c,
		      struct ns_inode *in, int flags, uint64_t client,
		      uint64_t now, struct ns_res *res)
{
	int acc = flags & O_ACCMODE, mask = 0, rc;
	bool write = acc == O_WRONLY || acc == O_RDWR;

	if (acc == O_ACCMODE)
		return -EINVAL;
	if (acc != O_WRONLY)
		mask |= MAY_READ;
	if (write || (flags & O_TRUNC))
		mask |= MAY_WRITE;
	if (S_ISDIR(in->a.mode) && (mask & MAY_WRITE))
		return -EISDIR;
	if (S_ISLNK(in->a.mode))
		return -ELOOP;
	rc = ns_perm(c, &in->a, mask);
	if (rc)
		return rc;
	if (S_ISREG(in->a.mode) && (flags & O_TRUNC)) {
		in->a.size = 0;
		in->a.mtime = in->a.ctime = now;
		if (c->uid != 0)
			ns_kill_suid(in);
	}
	if (S_ISREG(in->a.mode) && write) {
		rc = session_open(t, in, client, now, &res->session);
		if (rc)
			return rc;
	}
	if (S_ISREG(in->a.mode) && (write || (flags & O_TRUNC))) {
		rc = ns_inode_put(t, in);
		if (rc)
			return rc;
	}
	ns_res_add(res, in);
	return 0;
}

int ns_create(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint32_t mode, int flags, uint64_t client,
	      uint64_t now, struct ns_res *res)
{
	struct ns_inode dir, in;
	struct ns_dirent d;
	uint64_t ino;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	rc = create_check(t, c, parent, name, &dir, &len, &d);
	if (rc == -EEXIST && !(flags & O_EXCL)) {
		rc = ns_dirent_inode(t, parent, name, len, &d, &in);
		if (rc)
			return rc;
		if (S_ISDIR(in.a.mode))
			return -EISDIR;
		ns_res_add(res, &dir);
		rc = open_inode(t, c, &in, flags, client, now, res);
		if (rc)
			res->n = 0;
		return rc;
	}
	if (rc)
		return rc;
	rc = counter_next(t, COUNTER_INO, &ino);
	if (rc)
		return rc;
	inode_init(&in, ino, S_IFREG | (mode & 07777), c, &dir, now);
	/* a setgid file in a setgid directory of a group not the caller's */
	if ((in.a.mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    (dir.a.mode & S_ISGID) && c->uid != 0 && !ns_in_group(c, in.a.gid))
		in.a.mode &= ~(uint32_t)S_ISGID;
	rc = layout_for_file(t, &dir.a.layout, ino, now, &in.a.layout);
	if (!rc && ((flags & O_ACCMODE) != O_RDONLY))
		rc = session_open(t, &in, client, now, &res->session);
	if (!rc)
		rc = child_add(t, &dir, name, len, &in, now);
	if (rc)
		return rc;
	ns_res_add(res, &dir);
	ns_res_add(res, &in);
	return 0;
}

int ns_open(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	    int flags, uint64_t client, uint64_t now, struct ns_res *res)
{
	struct ns_inode in;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_inode_get(t, ino, &in);
	if (rc)
		return rc;
	if (in.flags & NS_IF_GC)
		return -ENOENT;
	rc = open_inode(t, c, &in, flags, client, now, res);
	if (rc)
		res->n = 0;
	return rc;
}

static int session_get(struct meta_txn *t, uint64_t id, struct ns_session *s)
{
	uint8_t k[8];
	const void *v;
	size_t vlen;
	int rc;

	ns_be64_put(k, id);
	rc = meta_get(t, META_T_SESSIONS, k, sizeof(k), &v, &vlen);
	if (rc)
		return rc;
	rc = ns_session_decode(v, vlen, s);
	if (rc)
		log_error("corrupt record of session %llu",
			  (unsigned long long)id);
	return rc;
}

int ns_close(struct meta_txn *t, uint64_t session, uint64_t size, uint64_t now,
	     struct ns_res *res)
{
	return ns_report(t, session, size, NS_REPORT_CLOSE, now, res);
}

int ns_report(struct meta_txn *t, uint64_t session, uint64_t size,
	      unsigned flags, uint64_t now, struct ns_res *res)
{
	struct ns_session s;
	struct ns_inode in;
	uint8_t k[8];
	int rc;

	memset(res, 0, sizeof(*res));
	rc = session_get(t, session, &s);
	if (rc)
		return rc;
	rc = ns_inode_get(t, s.ino, &in);
	if (rc == -ENOENT || (!rc && !in.a.sessions)) {
		log_error("session %llu names inode %llu, which has no "
			  "sessions",
			  (unsigned long long)session,
			  (unsigned long long)s.ino);
		rc = -EIO;
	}
	if (rc)
		return rc;
	if (flags & NS_REPORT_CLOSE) {
		ns_be64_put(k, session);
		rc = meta_del(t, META_T_SESSIONS, k, sizeof(k));
		if (rc)
			return rc;
		in.a.sessions--;
	}
	if (size != UINT64_MAX && size > in.a.size) {
		in.a.size = size;
		in.a.mtime = in.a.ctime = now;
	}
	if (flags & NS_REPORT_WROTE)
		in.a.mtime = in.a.ctime = now;
	if (!in.a.sessions && !in.a.nlink && !(in.flags & NS_IF_GC)) {
		rc = ns_gc_queue(t, &in, now); /* the last close of an orphan */
		if (rc)
			return rc;
	}
	rc = ns_inode_put(t, &in);
	if (!rc)
		ns_res_add(res, &in);
	return rc;
}

struct prune {
	uint64_t client;
	uint64_t *ids;
	size_t n, cap;
};

static int prune_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct prune *p = arg;
	struct ns_session s;

	if (klen != 8 || ns_session_decode(val, vlen, &s)) {
		log_error("corrupt session record (%zu-byte key)", klen);
		return -FFFS_EBADFRAME;
	}
	if (s.client != p->client)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->ids = xrealloc(p->ids, p->cap * sizeof(*p->ids));
	}
	p->ids[p->n++] = ns_be64_get(key);
	return 0;
}

int ns_close_many(struct meta_txn *t, const uint64_t *ids, size_t n,
		  uint64_t now)
{
	struct ns_res res;
	int rc, closed = 0;

	for (size_t i = 0; i < n; i++) {
		rc = ns_close(t, ids[i], UINT64_MAX, now, &res);
		if (rc == -ENOENT)
			continue;
		if (rc)
			return rc;
		closed++;
	}
	return closed;
}

int ns_sessions_prune(struct meta_txn *t, uint64_t client, uint64_t now)
{
	struct prune p = { client, NULL, 0, 0 };
	int rc;

	rc = meta_scan(t, META_T_SESSIONS, NULL, 0, NULL, 0, prune_one, &p);
	if (!rc)
		rc = ns_close_many(t, p.ids, p.n, now);
	free(p.ids);
	return rc;
}

/* ---- mkdir, symlink, link ------------------------------------------------ */

int ns_mkdir(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	     const char *name, uint32_t mode, uint64_t now, struct ns_res *res)
{
	struct ns_inode dir, in;
	struct ns_dirent d;
	uint64_t ino;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = create_check(t, c, parent, name, &dir, &len, &d);
	if (rc)
		return rc;
	if (dir.a.nlink >= NS_LINK_MAX)
		return -EMLINK;
	rc = counter_next(t, COUNTER_INO, &ino);
	if (rc)
		return rc;
	inode_init(&in, ino, S_IFDIR | (mode & 01777), c, &dir, now);
	if (dir.a.mode & S_ISGID)
		in.a.mode |= S_ISGID;
	in.a.nlink = 2;
	in.a.parent = parent;
	in.a.layout = layout_of_dir(&dir.a.layout);
	rc = child_add(t, &dir, name, len, &in, now);
	if (rc)
		return rc;
	ns_res_add(res, &dir);
	ns_res_add(res, &in);
	return 0;
}

int ns_symlink(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	       const char *name, const char *target, uint64_t now,
	       struct ns_res *res)
{
	size_t tlen = strnlen(target, NS_SYMLINK_MAX + 1), len;
	struct ns_inode dir, in;
	struct ns_dirent d;
	uint64_t ino;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!tlen)
		return -ENOENT;
	if (tlen > NS_SYMLINK_MAX)
		return -ENAMETOOLONG;
	rc = create_check(t, c, parent, name, &dir, &len, &d);
	if (!rc)
		rc = counter_next(t, COUNTER_INO, &ino);
	if (rc)
		return rc;
	inode_init(&in, ino, S_IFLNK | 0777, c, &dir, now);
	in.a.size = tlen;
	in.target = target;
	in.tlen = (uint32_t)tlen;
	rc = child_add(t, &dir, name, len, &in, now);
	if (rc)
		return rc;
	ns_res_add(res, &dir);
	ns_res_add(res, &in);
	return 0;
}

int ns_readlink(struct meta_txn *t, uint64_t ino, char *buf, size_t len)
{
	struct ns_inode in;
	int rc = ns_inode_get(t, ino, &in);

	if (rc)
		return rc;
	if (!S_ISLNK(in.a.mode))
		return -EINVAL;
	if (len < (size_t)in.tlen + 1)
		return -ERANGE;
	memcpy(buf, in.target, in.tlen);
	buf[in.tlen] = 0;
	return (int)in.tlen;
}

int ns_link(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	    uint64_t newparent, const char *newname, uint64_t now,
	    struct ns_res *res)
{
	struct ns_inode dir, in;
	struct ns_dirent d;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_inode_get(t, ino, &in);
	if (!rc)
		rc = create_check(t, c, newparent, newname, &dir, &len, &d);
	if (rc)
		return rc;
	if (S_ISDIR(in.a.mode))
		return -EPERM;
	if (!in.a.nlink)
		return -ENOENT;
	if (in.a.nlink >= NS_LINK_MAX)
		return -EMLINK;
	in.a.nlink++;
	in.a.ctime = now;
	dir.a.mtime = dir.a.ctime = now;
	d.ino = ino;
	d.type = ns_dtype(in.a.mode);
	rc = ns_inode_put(t, &in);
	if (!rc)
		rc = ns_dirent_put(t, newparent, newname, len, &d);
	if (!rc)
		rc = ns_inode_put(t, &dir);
	if (rc)
		return rc;
	ns_res_add(res, &dir);
	ns_res_add(res, &in);
	return 0;
}

/* ---- unlink, rmdir ------------------------------------------------------- */

int ns_victim(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, bool want_dir, struct ns_inode *dir,
	      struct ns_inode *in, size_t *len)
{
	struct ns_dirent d;
	int rc;

	rc = ns_dir_search(t, c, parent, dir);
	if (!rc)
		rc = ns_name_check(name, len);
	if (!rc)
		rc = ns_dirent_get(t, parent, name, *len, &d);
	if (!rc)
		rc = ns_dirent_inode(t, parent, name, *len, &d, in);
	if (!rc)
		rc = ns_may_delete(c, &dir->a, &in->a);
	if (rc)
		return rc;
	if (want_dir && !S_ISDIR(in->a.mode))
		return -ENOTDIR;
	if (!want_dir && S_ISDIR(in->a.mode))
		return -EISDIR;
	return 0;
}

/* The end of unlink, rmdir and remove_tree: the entry name (len bytes)
 * of dir goes, in loses the link (a directory: dir loses its "..").
 * Fills res with both. */
int ns_detach(struct meta_txn *t, struct ns_inode *dir, struct ns_inode *in,
	      const char *name, size_t len, uint64_t now, struct ns_res *res)
{
	bool is_dir = S_ISDIR(in->a.mode);
	int rc;

	if (is_dir)
		dir->a.nlink--;
	dir->a.mtime = dir->a.ctime = now;
	rc = ns_dirent_del(t, dir->a.ino, name, len);
	if (!rc)
		rc = is_dir ? ns_drop_dir(t, in, now)
			    : ns_drop_link(t, in, now);
	if (!rc)
		rc = ns_inode_put(t, dir);
	if (rc)
		return rc;
	ns_res_add(res, dir);
	ns_res_add(res, in);
	return 0;
}

int ns_unlink(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint64_t now, struct ns_res *res)
{
	struct ns_inode dir, in;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_victim(t, c, parent, name, false, &dir, &in, &len);
	if (rc)
		return rc;
	return ns_detach(t, &dir, &in, name, len, now, res);
}

int ns_rmdir(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	     const char *name, uint64_t now, struct ns_res *res)
{
	struct ns_inode dir, in;
	size_t len;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_victim(t, c, parent, name, true, &dir, &in, &len);
	if (rc)
		return rc;
	rc = ns_dir_empty(t, in.a.ino);
	if (rc <= 0)
		return rc ? rc : -ENOTEMPTY;
	return ns_detach(t, &dir, &in, name, len, now, res);
}

/* ---- readdir ------------------------------------------------------------- */

/* Entries are listed in key order: by the hash of the name, then by name.
 * A cookie is the place after an entry: (hash + 1) << 8 and the entry's
 * index in its run of equal hashes (collisions of 55 bits are rare; 255
 * of them in one directory never happen by chance). */
struct rd {
	uint64_t dir;
	uint32_t max, given;
	uint64_t run_hash;
	int64_t run_idx, skip_idx; /* the resumed run: skip to skip_idx */
	int (*fn)(void *arg, const char *name, uint64_t ino, uint8_t type,
		  uint64_t next);
	void *arg;
};

static int rd_one(void *arg, const void *key, size_t klen, const void *val,
		  size_t vlen)
{
	char name[NS_NAME_MAX + 1];
	struct rd *r = arg;
	struct ns_dirent d;
	uint64_t h, idx;

	if (klen <= 16 || klen > NS_DIRENT_KEY_MAX ||
	    ns_dirent_decode(val, vlen, &d)) {
		log_error("corrupt entry of directory %llu (%zu-byte key)",
			  (unsigned long long)r->dir, klen);
		return -FFFS_EBADFRAME;
	}
	h = ns_be64_get((const uint8_t *)key + 8);
	if (h == r->run_hash) {
		r->run_idx++;
	} else {
		r->run_hash = h;
		r->run_idx = 0;
		r->skip_idx = -1;
	}
	if (r->run_idx <= r->skip_idx)
		return 0; /* given in an earlier page */
	idx = r->run_idx < 255 ? (uint64_t)r->run_idx : 255;
	memcpy(name, (const uint8_t *)key + 16, klen - 16);
	name[klen - 16] = 0;
	if (r->fn(r->arg, name, d.ino, d.type, (h + 1) << 8 | idx))
		return 1;
	return ++r->given == r->max;
}

static int rd_dots(struct rd *r, const struct ns_inode *dir, uint64_t *cookie)
{
	static const char *const names[2] = { ".", ".." };

	for (; *cookie < 2 && r->given < r->max; (*cookie)++) {
		uint64_t ino = *cookie ? dir->a.parent : dir->a.ino;

		if (r->fn(r->arg, names[*cookie], ino, DT_DIR, *cookie + 1))
			return 1;
		r->given++;
	}
	return r->given == r->max;
}

int ns_readdir(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	       uint64_t cookie, uint32_t max,
	       int (*fn)(void *arg, const char *name, uint64_t ino,
			 uint8_t type, uint64_t next),
	       void *arg)
{
	struct rd r = { ino, max, 0, 0, -1, -1, fn, arg };
	struct ns_inode dir;
	uint8_t start[16];
	int rc;

	rc = ns_inode_get(t, ino, &dir);
	if (rc)
		return rc;
	if (!S_ISDIR(dir.a.mode))
		return -ENOTDIR;
	if (!dir.a.nlink)
		return -ENOENT;
	rc = ns_perm(c, &dir.a, MAY_READ);
	if (rc)
		return rc;
	if (cookie > 2 &&
	    (cookie < NS_COOKIE_FIRST || cookie >> 8 > (1ull << NS_HASH_BITS)))
		return -EINVAL;
	if (!max || rd_dots(&r, &dir, &cookie))
		return (int)r.given;
	if (cookie >= NS_COOKIE_FIRST) {
		r.run_hash = (cookie >> 8) - 1;
		r.skip_idx = (int64_t)(cookie & 0xff);
	} else {
		r.run_hash = UINT64_MAX; /* no hash has it */
	}
	ns_dirent_key_hash(start, ino,
			   cookie >= NS_COOKIE_FIRST ? r.run_hash : 0);
	rc = meta_scan(t, META_T_DIRENTS, start, sizeof(start), start, 8,
		       rd_one, &r);
	return rc < 0 ? rc : (int)r.given;
}

/* ---- layouts, chunks ----------------------------------------------------- */

int ns_layout_get(struct meta_txn *t, uint64_t dir, struct ns_layout *out)
{
	struct ns_inode in;
	int rc = ns_inode_get(t, dir, &in);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	if (!S_ISDIR(in.a.mode))
		return -ENOTDIR;
	*out = in.a.layout;
	return 0;
}

int ns_layout_set(struct meta_txn *t, const struct ns_cred *c, uint64_t dir,
		  const struct ns_layout *l, uint64_t now, struct ns_res *res)
{
	struct ns_inode in;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = ns_inode_get(t, dir, &in);
	if (rc)
		return rc;
	if (!S_ISDIR(in.a.mode))
		return -ENOTDIR;
	rc = ns_owner_or_root(c, &in.a);
	if (!rc)
		rc = layout_check(l);
	if (rc)
		return rc;
	in.a.layout = layout_of_dir(l);
	in.a.ctime = now;
	rc = ns_inode_put(t, &in);
	if (!rc)
		ns_res_add(res, &in);
	return rc;
}

/* A Feistel network on 2h bits keyed by the seed, walked until it lands
 * below n: a permutation of [0, n) without a table. */
static uint64_t shuffle(uint64_t seed, uint64_t n, uint64_t j)
{
	unsigned bits = 1, h;
	uint64_t mask, x = j;

	while ((1ull << bits) < n)
		bits++;
	h = (bits + 1) / 2;
	mask = (1ull << h) - 1;
	do {
		uint64_t l = x >> h, r = x & mask;

		for (uint64_t round = 0; round < 4; round++) {
			uint64_t f = mix64(seed ^ (round << 56) ^ r) & mask;
			uint64_t nl = r;

			r = l ^ f;
			l = nl;
		}
		x = l << h | r;
	} while (x >= n);
	return x;
}

uint32_t ns_chunk_chain(const struct ns_layout *l, uint32_t nchains, uint64_t i)
{
	uint64_t p;

	if (!nchains || !l->stripe)
		return 0;
	p = l->stripe == 1 ? 0 : shuffle(l->seed, l->stripe, i % l->stripe);
	return (uint32_t)(((uint64_t)l->start + p) % nchains);
}
