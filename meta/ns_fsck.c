/* meta/ns_fsck.c - the namespace checker: every record decodes, every
 * entry names a live inode of its type, every inode is reachable, link
 * counts, parents, gc entries, sessions and counters agree. */
#define LOG_SUBSYS "ns"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fffs.h"
#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"

/* What the tables say of one inode. */
struct fk_ino {
	struct ns_inode in; /* target not kept */
	uint32_t links;	    /* entries naming it */
	uint32_t subdirs;   /* directories: entries of subdirectories */
	uint32_t sessions;  /* session records naming it */
	uint64_t entry_dir; /* directories: where its (first) entry is */
	bool gc_entry, reached;
};

struct fk {
	struct meta_txn *t;
	void (*fn)(void *arg, const char *problem);
	void *arg;
	int problems;
	struct fk_ino *v; /* in inode order: the table's */
	size_t n, cap;
	uint64_t max_session;
	uint64_t *queue; /* directories to walk */
	size_t qn, qcap;
};

FFFS_PRINTF(2, 3) static void problem(struct fk *f, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->problems++;
	if (f->fn)
		f->fn(f->arg, msg);
}

static struct fk_ino *fk_find(struct fk *f, uint64_t ino)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->v[mid].in.a.ino == ino)
			return &f->v[mid];
		if (f->v[mid].in.a.ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static unsigned long long ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* ---- reading the tables -------------------------------------------------- */

static int fk_inode(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct fk *f = arg;
	struct fk_ino *e;
	uint64_t ino;

	if (klen != NS_INO_KEY_LEN) {
		problem(f, "inode key of %zu bytes", klen);
		return 0;
	}
	ino = ns_be64_get(key);
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	e = &f->v[f->n];
	memset(e, 0, sizeof(*e));
	if (ns_inode_decode(ino, val, vlen, &e->in)) {
		problem(f, "inode %llu: corrupt record", ull(ino));
		return 0;
	}
	e->in.target = NULL;
	f->n++;
	return 0;
}

static bool name_ok(const char *name, size_t len)
{
	if (!len || len > NS_NAME_MAX || memchr(name, '/', len) ||
	    memchr(name, 0, len))
		return false;
	return !(len == 1 && name[0] == '.') &&
	       !(len == 2 && name[0] == '.' && name[1] == '.');
}

static void fk_entry_target(struct fk *f, struct fk_ino *dir, uint64_t parent,
			    const char *name, int len,
			    const struct ns_dirent *d)
{
	struct fk_ino *e = fk_find(f, d->ino);

	if (!e) {
		problem(f,
			"entry '%.*s' of directory %llu names inode %llu, "
			"which does not exist",
			len, name, ull(parent), ull(d->ino));
		return;
	}
	if (ns_dtype(e->in.a.mode) != d->type)
		problem(f,
			"entry '%.*s' of directory %llu says type %u, inode "
			"%llu is of type %u",
			len, name, ull(parent), d->type, ull(d->ino),
			ns_dtype(e->in.a.mode));
	e->links++;
	if (!S_ISDIR(e->in.a.mode))
		return;
	if (dir)
		dir->subdirs++;
	if (e->links == 1)
		e->entry_dir = parent;
	else
		problem(f,
			"directory %llu has more than one entry (one is "
			"'%.*s' in %llu)",
			ull(d->ino), len, name, ull(parent));
}

static int fk_dirent(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	const char *name = (const char *)key + 16;
	struct fk *f = arg;
	struct fk_ino *dir;
	struct ns_dirent d;
	uint64_t parent;
	int len = (int)klen - 16;

	if (klen <= 16 || klen > NS_DIRENT_KEY_MAX) {
		problem(f, "entry key of %zu bytes", klen);
		return 0;
	}
	parent = ns_be64_get(key);
	if (!name_ok(name, (size_t)len))
		problem(f, "entry '%.*s' of directory %llu: bad name", len,
			name, ull(parent));
	else if (ns_name_hash(name, (size_t)len) !=
		 ns_be64_get((const uint8_t *)key + 8))
		problem(f, "entry '%.*s' of directory %llu: wrong hash", len,
			name, ull(parent));
	if (ns_dirent_decode(val, vlen, &d)) {
		problem(f, "entry '%.*s' of directory %llu: corrupt record",
			len, name, ull(parent));
		return 0;
	}
	dir = fk_find(f, parent);
	if (!dir || !S_ISDIR(dir->in.a.mode)) {
		problem(f, "entry '%.*s' is in %llu, which is not a directory",
			len, name, ull(parent));
		dir = NULL;
	}
	fk_entry_target(f, dir, parent, name, len, &d);
	return 0;
}

static int fk_gc(void *arg, const void *key, size_t klen, const void *val,
		 size_t vlen)
{
	struct fk *f = arg;
	struct fk_ino *e;
	uint64_t due, ino;

	if (klen != NS_GC_KEY_LEN || ns_gc_val_check(val, vlen)) {
		problem(f, "corrupt gc entry (%zu-byte key)", klen);
		return 0;
	}
	due = ns_be64_get(key);
	ino = ns_be64_get((const uint8_t *)key + 8);
	e = fk_find(f, ino);
	if (!e)
		problem(f, "gc entry names inode %llu, which does not exist",
			ull(ino));
	else if (!(e->in.flags & NS_IF_GC) || e->in.gc_due != due)
		problem(f,
			"gc entry of inode %llu (due %llu) does not match "
			"its record",
			ull(ino), ull(due));
	else
		e->gc_entry = true;
	return 0;
}

static int fk_session(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct fk *f = arg;
	struct ns_session s;
	struct fk_ino *e;
	uint64_t id;

	if (klen != 8 || ns_session_decode(val, vlen, &s)) {
		problem(f, "corrupt session record (%zu-byte key)", klen);
		return 0;
	}
	id = ns_be64_get(key);
	if (id > f->max_session)
		f->max_session = id;
	e = fk_find(f, s.ino);
	if (!e || !S_ISREG(e->in.a.mode))
		problem(f, "session %llu names inode %llu, which is not a file",
			ull(id), ull(s.ino));
	else
		e->sessions++;
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

static void fk_check_dir(struct fk *f, const struct fk_ino *e)
{
	const struct ns_attr *a = &e->in.a;

	if (a->ino == NS_ROOT) {
		if (e->links)
			problem(f, "the root has an entry");
		if (a->parent != NS_ROOT)
			problem(f, "the root's parent is %llu", ull(a->parent));
	}
	if (!a->nlink) {
		if (e->links)
			problem(f, "removed directory %llu has an entry",
				ull(a->ino));
		return;
	}
	if (a->nlink != 2 + e->subdirs)
		problem(f, "directory %llu has nlink %u, not %u", ull(a->ino),
			a->nlink, 2 + e->subdirs);
	if (a->ino != NS_ROOT && e->links && a->parent != e->entry_dir)
		problem(f,
			"directory %llu says its parent is %llu, its entry "
			"is in %llu",
			ull(a->ino), ull(a->parent), ull(e->entry_dir));
}

static void fk_check(struct fk *f, const struct fk_ino *e)
{
	const struct ns_attr *a = &e->in.a;
	bool gc = e->in.flags & NS_IF_GC;

	if (gc && !e->gc_entry)
		problem(f, "inode %llu is marked for gc but has no gc entry",
			ull(a->ino));
	if (gc && a->nlink)
		problem(f, "inode %llu is in gc with nlink %u", ull(a->ino),
			a->nlink);
	if (a->sessions != e->sessions)
		problem(f, "inode %llu counts %u sessions, %u exist",
			ull(a->ino), a->sessions, e->sessions);
	if (S_ISDIR(a->mode)) {
		fk_check_dir(f, e);
	} else {
		if (a->nlink != e->links)
			problem(f, "inode %llu has nlink %u but %u entries",
				ull(a->ino), a->nlink, e->links);
		if (!a->nlink && !a->sessions && !gc)
			problem(f,
				"inode %llu has no links, no sessions and "
				"is not in gc",
				ull(a->ino));
	}
	/* orphans (no links, open sessions) and gc are not in the tree */
	if (!e->reached && a->ino != NS_ROOT && a->nlink && !gc)
		problem(f, "inode %llu is not reachable", ull(a->ino));
}

static void fk_push(struct fk *f, uint64_t ino)
{
	if (f->qn == f->qcap) {
		f->qcap = f->qcap ? 2 * f->qcap : 64;
		f->queue = xrealloc(f->queue, f->qcap * sizeof(*f->queue));
	}
	f->queue[f->qn++] = ino;
}

static int fk_reach(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct fk *f = arg;
	struct ns_dirent d;
	struct fk_ino *e;

	if (klen <= 16 || ns_dirent_decode(val, vlen, &d))
		return 0; /* reported already */
	e = fk_find(f, d.ino);
	if (!e || e->reached)
		return 0;
	e->reached = true;
	if (S_ISDIR(e->in.a.mode))
		fk_push(f, d.ino);
	return 0;
}

/* Walk from the root and from every directory in gc. */
static int fk_walk(struct fk *f)
{
	uint8_t k[8];
	int rc = 0;

	for (size_t i = 0; i < f->n; i++) {
		struct fk_ino *e = &f->v[i];

		if (e->in.a.ino == NS_ROOT ||
		    (S_ISDIR(e->in.a.mode) && (e->in.flags & NS_IF_GC))) {
			e->reached = true;
			fk_push(f, e->in.a.ino);
		}
	}
	while (f->qn && !rc) {
		ns_be64_put(k, f->queue[--f->qn]);
		rc = meta_scan(f->t, META_T_DIRENTS, k, sizeof(k), k, sizeof(k),
			       fk_reach, f);
	}
	return rc;
}

static void fk_counter(struct fk *f, const char *name, uint64_t above,
		       uint64_t exact, bool is_exact)
{
	uint64_t v;

	if (ns_counter_get(f->t, name, strlen(name), &v)) {
		problem(f, "counter '%s': corrupt record", name);
		return;
	}
	if (is_exact && v != exact)
		problem(f, "counter '%s' is %llu, not %llu", name, ull(v),
			ull(exact));
	if (!is_exact && v <= above)
		problem(f, "counter '%s' is %llu, not above %llu", name, ull(v),
			ull(above));
}

int ns_fsck(struct meta_txn *t, void (*fn)(void *arg, const char *problem),
	    void *arg)
{
	struct fk f = { .t = t, .fn = fn, .arg = arg };
	struct fk_ino *root;
	int rc;

	rc = meta_scan(t, META_T_INODES, NULL, 0, NULL, 0, fk_inode, &f);
	if (!rc)
		rc = meta_scan(t, META_T_DIRENTS, NULL, 0, NULL, 0, fk_dirent,
			       &f);
	if (!rc)
		rc = meta_scan(t, META_T_GC, NULL, 0, NULL, 0, fk_gc, &f);
	if (!rc)
		rc = meta_scan(t, META_T_SESSIONS, NULL, 0, NULL, 0, fk_session,
			       &f);
	if (!rc)
		rc = fk_walk(&f);
	if (rc)
		goto out;
	root = fk_find(&f, NS_ROOT);
	if (!root || !S_ISDIR(root->in.a.mode))
		problem(&f, "the root (inode 1) is missing or not a directory");
	for (size_t i = 0; i < f.n; i++)
		fk_check(&f, &f.v[i]);
	fk_counter(&f, "ino", f.n ? f.v[f.n - 1].in.a.ino : 0, 0, false);
	fk_counter(&f, "session", f.max_session, 0, false);
	fk_counter(&f, "inodes", 0, f.n, true);
	rc = f.problems;
out:
	free(f.v);
	free(f.queue);
	return rc;
}
