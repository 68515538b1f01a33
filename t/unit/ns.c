/* t/unit/ns.c - the namespace: every operation and its errors, the
 * permission rules, times and link counts, readdir cookies, sessions,
 * gc, fsck finding corruption, and random operations replicated by write
 * set to a second db (same digest, both clean). */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"
#include "net/pack.h"
#include "t/unit/tap.h"

static char tmpdir[] = "/tmp/fffs-ns-XXXXXX";
static struct meta_db *db, *rep; /* rep gets every write set of db */
static struct meta_txn *t;
static uint64_t now = 1000000000000ull;
/* Set while attr() and ino_of() look: a look does not move the clock, so
 * a check after an operation compares its times against the operation's
 * `now`. */
static bool clock_held;
static uint32_t last_writes; /* entries of the last write set */
static struct ns_res res;

static const struct ns_cred root = { 0, 0, 0, { 0 } };
static const struct ns_cred alice = { 1000, 1000, 1, { 100 } }; /* staff */
static const struct ns_cred bob = { 1001, 1001, 0, { 0 } };
static const struct ns_cred carol = { 1002, 1002, 1, { 100 } }; /* staff */
#define STAFF 100

static struct meta_db *open_db(const char *name, uint64_t map)
{
	char err[256], *dir = xasprintf("%s/%s", tmpdir, name);
	struct meta_db *d = NULL;

	if (meta_db_open(dir, map, META_DB_NOSYNC, &d, err, sizeof(err)))
		printf("# %s\n", err);
	free(dir);
	return d;
}

/* ---- one operation per transaction, replicated --------------------------- */

static void tx_begin(void)
{
	FFFS_ASSERT(!t); /* a nested TX() would deadlock on the writer lock */
	if (!clock_held)
		now += 1000;
	FFFS_ASSERT(meta_txn_begin(db, true, &t) == 0);
}

static void tx_end(void)
{
	struct meta_ws ws;
	struct unpack up;
	int rc = meta_txn_commit(t, &ws);

	t = NULL;
	FFFS_ASSERT(rc == 0);
	unpack_init(&up, ws.buf, ws.len);
	unpack_u8(&up);
	unpack_u64(&up);
	last_writes = unpack_u32(&up);
	if (rep && meta_db_apply(rep, ws.buf, ws.len))
		ok(0, "the replica applies a write set");
	meta_ws_release(&ws);
}

#define TX(expr)                   \
	({                         \
		int rc_;           \
		tx_begin();        \
		rc_ = (int)(expr); \
		tx_end();          \
		rc_;               \
	})

/* An error, and nothing written (the contract for failed operations). */
#define FAILS(expr, want, name)                                              \
	do {                                                                 \
		int r_ = TX(expr);                                           \
		if (!ok(r_ == (want) && last_writes == 0, name))             \
			printf("#   got %d (%s), want %d; %u writes\n", r_,  \
			       fffs_strerror(r_), (int)(want), last_writes); \
	} while (0)

#define OK(expr, name)                                                      \
	do {                                                                \
		int r_ = TX(expr);                                          \
		if (!ok(r_ >= 0, name))                                     \
			printf("#   got %d (%s)\n", r_, fffs_strerror(r_)); \
	} while (0)

/* Setup steps: silent unless they fail. */
#define NEED(expr)                                                          \
	do {                                                                \
		int r_ = TX(expr);                                          \
		if (r_ < 0) {                                               \
			ok(0, #expr);                                       \
			printf("#   got %d (%s)\n", r_, fffs_strerror(r_)); \
		}                                                           \
	} while (0)

static uint64_t mkdir_(const struct ns_cred *c, uint64_t parent,
		       const char *name, uint32_t mode)
{
	memset(&res, 0, sizeof(res));
	NEED(ns_mkdir(t, c, parent, name, mode, now, &res));
	return res.a[1].ino;
}

static uint64_t creat_(const struct ns_cred *c, uint64_t parent,
		       const char *name, uint32_t mode)
{
	memset(&res, 0, sizeof(res));
	NEED(ns_create(t, c, parent, name, mode, O_RDONLY | O_EXCL, 0, now,
		       &res));
	return res.a[1].ino;
}

static struct ns_attr attr(uint64_t ino)
{
	struct ns_attr a;

	memset(&a, 0, sizeof(a));
	clock_held = true;
	TX(ns_getattr(t, ino, &a));
	clock_held = false;
	return a;
}

/* The inode of parent/name (0 when there is none). */
static uint64_t ino_of(uint64_t parent, const char *name)
{
	struct ns_attr a;
	int rc;

	clock_held = true;
	rc = TX(ns_lookup(t, &root, parent, name, &a));
	clock_held = false;
	return rc ? 0 : a.ino;
}

static void chmod_(uint64_t ino, uint32_t mode)
{
	struct ns_attr sa = { .mode = mode };

	NEED(ns_setattr(t, &root, ino, NS_SET_MODE, &sa, now, &res));
}

static void chown_(uint64_t ino, uint32_t uid, uint32_t gid)
{
	struct ns_attr sa = { .uid = uid, .gid = gid };

	NEED(ns_setattr(t, &root, ino, NS_SET_UID | NS_SET_GID, &sa, now,
			&res));
}

struct first {
	char *buf;
	size_t cap;
	bool verbose;
	char all[4096];
};

static void keep_problem(void *arg, const char *problem)
{
	struct first *f = arg;
	size_t n = strlen(f->all);

	if (f->verbose)
		printf("#   fsck: %s\n", problem);
	if (f->buf && !f->buf[0])
		snprintf(f->buf, f->cap, "%s", problem);
	snprintf(f->all + n, sizeof(f->all) - n, "%s\n", problem);
}

static char fsck_all[4096]; /* every problem of the last fsck_of() */

/* Problems fsck finds in d (printed when verbose). */
static int fsck_of(struct meta_db *d, bool verbose, char *first, size_t cap)
{
	struct first f = { first, cap, verbose, "" };
	struct meta_txn *rt;
	int rc;

	if (first && cap)
		first[0] = 0;
	FFFS_ASSERT(meta_txn_begin(d, false, &rt) == 0);
	rc = ns_fsck(rt, keep_problem, &f);
	meta_txn_abort(rt);
	memcpy(fsck_all, f.all, sizeof(fsck_all));
	return rc;
}

static bool attr_eq(const struct ns_attr *a, const struct ns_attr *b)
{
	return a->ino == b->ino && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid && a->nlink == b->nlink && a->size == b->size &&
	       a->atime == b->atime && a->mtime == b->mtime &&
	       a->ctime == b->ctime && a->parent == b->parent &&
	       a->sessions == b->sessions &&
	       !memcmp(&a->layout, &b->layout, sizeof(a->layout));
}

/* Every inode of res is what getattr says now. */
static bool res_fresh(const struct ns_res *r)
{
	for (int i = 0; i < r->n; i++) {
		struct ns_attr a = attr(r->a[i].ino);

		if (!attr_eq(&a, &r->a[i])) {
			printf("#   res.a[%d] (inode %llu) is stale\n", i,
			       (unsigned long long)r->a[i].ino);
			return false;
		}
	}
	return r->n > 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw);
static int count_any(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen);
static int gc_drain(uint64_t when, uint32_t *maxw, int *calls);

/* Finish whatever gc holds, so that a test sees only its own. */
static void gc_flush(void)
{
	uint32_t maxw;
	int calls;

	if (gc_drain(UINT64_MAX, &maxw, &calls) < 0)
		ok(0, "gc drains");
}

static char *longname(size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, 'n', n);
	s[n] = 0;
	return s;
}

/* ---- format, names, lookup ----------------------------------------------- */

static void test_format(void)
{
	struct ns_layout l = { 5, 1 << 20, 4, 0, 0 };
	struct ns_attr a;
	uint64_t n;

	OK(ns_format(t, 0, 0, &l, now), "format");
	FAILS(ns_format(t, 0, 0, &l, now), -EEXIST, "format twice: -EEXIST");
	a = attr(NS_ROOT);
	ok(a.mode == (S_IFDIR | 0755) && a.uid == 0 && a.gid == 0 &&
		   a.nlink == 2 && a.parent == NS_ROOT,
	   "the root: a directory, 0755 root:root, nlink 2, its own parent");
	ok(a.layout.table == 5 && a.layout.chunk_size == 1 << 20 &&
		   a.layout.stripe == 4,
	   "the root has the layout given");
	TX(ns_statfs(t, &n));
	is_int(n, 1, "statfs: one inode");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck: a new namespace is clean");
	chmod_(NS_ROOT, 0777); /* everyone makes their test's top */
}

static void test_names(void)
{
	char *n255 = longname(255), *n256 = longname(256);
	struct ns_attr a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "names", 0777);
	f = creat_(&root, d, "file", 0644);
	ok(d && f, "a directory and a file");
	FAILS(ns_mkdir(t, &root, d, "", 0755, now, &res), -EINVAL,
	      "mkdir of an empty name: -EINVAL");
	FAILS(ns_mkdir(t, &root, d, ".", 0755, now, &res), -EINVAL,
	      "mkdir '.': -EINVAL");
	FAILS(ns_mkdir(t, &root, d, "..", 0755, now, &res), -EINVAL,
	      "mkdir '..': -EINVAL");
	FAILS(ns_create(t, &root, d, "a/b", 0644, O_EXCL, 0, now, &res),
	      -EINVAL, "create of a name with '/': -EINVAL");
	FAILS(ns_create(t, &root, d, n256, 0644, O_EXCL, 0, now, &res),
	      -ENAMETOOLONG, "create of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_mkdir(t, &root, d, n256, 0755, now, &res), -ENAMETOOLONG,
	      "mkdir of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_symlink(t, &root, d, n256, "x", now, &res), -ENAMETOOLONG,
	      "symlink of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_link(t, &root, f, d, n256, now, &res), -ENAMETOOLONG,
	      "link to a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_rename(t, &root, d, "file", d, n256, 0, now, &res),
	      -ENAMETOOLONG, "rename to a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_lookup(t, &root, d, n256, &a), -ENAMETOOLONG,
	      "lookup of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_unlink(t, &root, d, "..", now, &res), -EINVAL,
	      "unlink '..': -EINVAL");
	FAILS(ns_rmdir(t, &root, d, ".", now, &res), -EINVAL,
	      "rmdir '.': -EINVAL");
	FAILS(ns_rename(t, &root, d, "file", d, ".", 0, now, &res), -EINVAL,
	      "rename to '.': -EINVAL");
	FAILS(ns_rename(t, &root, d, "..", d, "x", 0, now, &res), -EINVAL,
	      "rename of '..': -EINVAL");
	FAILS(ns_link(t, &root, f, d, "", now, &res), -EINVAL,
	      "link to an empty name: -EINVAL");
	FAILS(ns_symlink(t, &root, d, "a/", "x", now, &res), -EINVAL,
	      "symlink named with '/': -EINVAL");
	OK(ns_create(t, &root, d, n255, 0644, O_EXCL, 0, now, &res),
	   "a 255-byte name");
	OK(ns_lookup(t, &root, d, n255, &a), "is found");
	OK(ns_lookup(t, &root, d, ".", &a), "lookup '.'");
	is_int(a.ino, d, "is the directory");
	OK(ns_lookup(t, &root, d, "..", &a), "lookup '..'");
	is_int(a.ino, NS_ROOT, "is its parent");
	TX(ns_lookup(t, &root, NS_ROOT, "..", &a));
	is_int(a.ino, NS_ROOT, "the root's '..' is the root");
	FAILS(ns_lookup(t, &root, d, "nothing", &a), -ENOENT,
	      "lookup of a missing name: -ENOENT");
	FAILS(ns_lookup(t, &root, f, "x", &a), -ENOTDIR,
	      "lookup in a file: -ENOTDIR");
	FAILS(ns_lookup(t, &root, 999999, "x", &a), -ENOENT,
	      "lookup in a missing directory: -ENOENT");
	FAILS(ns_getattr(t, 999999, &a), -ENOENT, "getattr of no inode");
	FAILS(ns_mkdir(t, &root, d, "file", 0755, now, &res), -EEXIST,
	      "mkdir over a file: -EEXIST");
	FAILS(ns_create(t, &root, d, "file", 0644, O_EXCL, 0, now, &res),
	      -EEXIST, "create O_EXCL of an existing name: -EEXIST");
	FAILS(ns_symlink(t, &root, d, "file", "x", now, &res), -EEXIST,
	      "symlink over a file: -EEXIST");
	FAILS(ns_link(t, &root, f, d, "file", now, &res), -EEXIST,
	      "link over a name: -EEXIST");
	FAILS(ns_mkdir(t, &root, f, "x", 0755, now, &res), -ENOTDIR,
	      "mkdir in a file: -ENOTDIR");
	FAILS(ns_create(t, &root, f, "x", 0644, 0, 0, now, &res), -ENOTDIR,
	      "create in a file: -ENOTDIR");
	FAILS(ns_create(t, &root, 999999, "x", 0644, 0, 0, now, &res), -ENOENT,
	      "create in a missing directory: -ENOENT");
	OK(ns_create(t, &root, d, "file", 0644, O_RDONLY, 0, now, &res),
	   "create without O_EXCL opens an existing file");
	ok(res.n == 2 && res.a[1].ino == f && !res.session,
	   "the same inode, no session for a read open");
	mkdir_(&root, d, "sub", 0755);
	FAILS(ns_create(t, &root, d, "sub", 0644, O_RDONLY, 0, now, &res),
	      -EISDIR, "create over a directory: -EISDIR");
	NEED(ns_symlink(t, &root, d, "ln", "file", now, &res));
	f = res.a[1].ino;
	FAILS(ns_create(t, &root, d, "ln", 0644, O_RDONLY, 0, now, &res),
	      -ELOOP, "create over a symlink (not followed): -ELOOP");
	FAILS(ns_lookup(t, &root, f, "x", &a), -ENOTDIR,
	      "a symlink as a directory is not followed: -ENOTDIR");
	free(n255);
	free(n256);
}

/* ---- times, link counts, ns_res ------------------------------------------ */

static void test_times(void)
{
	struct ns_attr a, p0, f0, sa;
	uint64_t d, d2, f, sub;

	d = mkdir_(&root, NS_ROOT, "times", 0755);
	d2 = mkdir_(&root, NS_ROOT, "times2", 0755);
	p0 = attr(d);
	sub = mkdir_(&root, d, "sub", 0755);
	a = attr(d);
	ok(a.nlink == p0.nlink + 1 && a.mtime == now && a.ctime == now,
	   "mkdir: the parent's nlink + 1, its mtime and ctime now");
	ok(res.n == 2 && res_fresh(&res), "mkdir: ns_res has both, fresh");
	a = attr(sub);
	ok(a.nlink == 2 && a.parent == d && a.atime == now && a.mtime == now &&
		   a.ctime == now,
	   "a new directory: nlink 2, its parent, times now");
	OK(ns_rmdir(t, &root, d, "sub", now, &res), "rmdir");
	a = attr(d);
	ok(a.nlink == p0.nlink && a.mtime == now && a.ctime == now,
	   "rmdir: the parent's nlink - 1, mtime and ctime now");
	ok(res.n == 2 && res_fresh(&res) && res.a[1].nlink == 0,
	   "rmdir: ns_res fresh, the child at nlink 0");

	f = creat_(&root, d, "f", 0644);
	a = attr(d);
	ok(a.mtime == now && a.ctime == now, "create: parent mtime/ctime");
	ok(res.n == 2 && res_fresh(&res), "create: ns_res fresh");
	f0 = attr(f);
	ok(f0.nlink == 1 && f0.size == 0 && f0.mtime == now,
	   "a new file: nlink 1, empty");
	OK(ns_link(t, &root, f, d2, "hard", now, &res), "link");
	a = attr(f);
	ok(a.nlink == 2 && a.ctime == now && a.mtime == f0.mtime,
	   "link: nlink 2, ctime now, mtime unchanged");
	a = attr(d2);
	ok(a.mtime == now && a.ctime == now, "link: new parent's times");
	ok(res.n == 2 && res.a[0].ino == d2 && res_fresh(&res),
	   "link: ns_res has the new parent and the inode, fresh");
	OK(ns_unlink(t, &root, d2, "hard", now, &res), "unlink");
	a = attr(f);
	ok(a.nlink == 1 && a.ctime == now, "unlink: nlink 1, ctime now");
	a = attr(d2);
	ok(a.mtime == now && a.ctime == now, "unlink: parent's times");
	ok(res.n == 2 && res_fresh(&res), "unlink: ns_res fresh");

	f0 = attr(f);
	OK(ns_rename(t, &root, d, "f", d, "g", 0, now, &res),
	   "rename in a directory");
	a = attr(f);
	ok(a.ctime == now && a.mtime == f0.mtime,
	   "rename: the child's ctime changes, not its mtime");
	a = attr(d);
	ok(a.mtime == now && a.ctime == now, "rename: the parent's times");
	ok(res.n == 3 && res_fresh(&res), "rename: ns_res fresh");
	OK(ns_rename(t, &root, d, "g", d2, "g", 0, now, &res),
	   "rename across directories");
	ok(attr(d).mtime == now && attr(d2).mtime == now &&
		   attr(d).ctime == now && attr(d2).ctime == now,
	   "both parents' mtime and ctime");
	ok(res.n == 3 && res.a[0].ino == d && res.a[2].ino == d2 &&
		   res_fresh(&res),
	   "ns_res: old parent, child, new parent, fresh");

	sub = mkdir_(&root, d, "mv", 0755);
	p0 = attr(d);
	f0 = attr(d2);
	OK(ns_rename(t, &root, d, "mv", d2, "mv", 0, now, &res),
	   "rename a directory to another parent");
	ok(attr(d).nlink == p0.nlink - 1 && attr(d2).nlink == f0.nlink + 1,
	   "the old parent's nlink - 1, the new one's + 1");
	ok(attr(sub).parent == d2, "its parent field follows");
	TX(ns_lookup(t, &root, sub, "..", &a));
	is_int(a.ino, d2, "its '..' is the new parent");

	/* setattr and truncation */
	sa.size = 12345;
	f0 = attr(f);
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res), "truncate up");
	a = attr(f);
	ok(a.size == 12345 && a.mtime == now && a.ctime == now &&
		   a.atime == f0.atime,
	   "a size change: mtime and ctime now, atime kept");
	ok(res.n == 1 && res_fresh(&res), "setattr: ns_res fresh");
	sa.size = 10;
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate down");
	is_int(attr(f).size, 10, "size 10");
	sa.atime = 111;
	sa.mtime = 222;
	OK(ns_setattr(t, &root, f, NS_SET_ATIME | NS_SET_MTIME, &sa, now, &res),
	   "set both times");
	a = attr(f);
	ok(a.atime == 111 && a.mtime == 222 && a.ctime == now,
	   "explicit times; ctime now");
	OK(ns_setattr(t, &root, f, NS_SET_ATIME_NOW, &sa, now, &res),
	   "atime now, mtime omitted");
	a = attr(f);
	ok(a.atime == now && a.mtime == 222 && a.ctime == now,
	   "UTIME_NOW for atime, UTIME_OMIT keeps mtime");
	OK(ns_setattr(t, &root, f, NS_SET_MTIME_NOW | NS_SET_ATIME, &sa, now,
		      &res),
	   "mtime now, atime explicit");
	a = attr(f);
	ok(a.atime == 111 && a.mtime == now, "both as asked");
	FAILS(ns_setattr(t, &root, f, NS_SET_ATIME | NS_SET_ATIME_NOW, &sa, now,
			 &res),
	      -EINVAL, "atime both explicit and now: -EINVAL");
	FAILS(ns_setattr(t, &root, f, 0x1000, &sa, now, &res), -EINVAL,
	      "unknown setattr bits: -EINVAL");
	FAILS(ns_setattr(t, &root, d, NS_SET_SIZE, &sa, now, &res), -EISDIR,
	      "truncating a directory: -EISDIR");
	NEED(ns_symlink(t, &root, d, "sl", "target", now, &res));
	FAILS(ns_setattr(t, &root, res.a[1].ino, NS_SET_SIZE, &sa, now, &res),
	      -EINVAL, "truncating a symlink: -EINVAL");
	FAILS(ns_setattr(t, &root, 999999, NS_SET_MODE, &sa, now, &res),
	      -ENOENT, "setattr of no inode: -ENOENT");
	sa.mode = S_IFDIR | 0600;
	OK(ns_setattr(t, &root, f, NS_SET_MODE, &sa, now, &res), "chmod");
	a = attr(f);
	ok(a.mode == (S_IFREG | 0600) && a.ctime == now,
	   "chmod keeps the type, changes ctime");
}

/* ---- permissions --------------------------------------------------------- */

static int count_cb(void *arg, const char *name, uint64_t ino, uint8_t type,
		    uint64_t next)
{
	(*(int *)arg)++;
	return 0;
}

/* open for flags and close the session again */
static int try_open(const struct ns_cred *c, uint64_t ino, int flags)
{
	int rc = TX(ns_open(t, c, ino, flags, 1, now, &res));

	if (!rc && res.session)
		TX(ns_close(t, res.session, UINT64_MAX, now, &res));
	return rc;
}

static int try_readdir(const struct ns_cred *c, uint64_t ino)
{
	int n = 0, rc = TX(ns_readdir(t, c, ino, 0, 100, count_cb, &n));

	return rc < 0 ? rc : 0;
}

static int try_lookup(const struct ns_cred *c, uint64_t dir, const char *n)
{
	struct ns_attr a;

	return TX(ns_lookup(t, c, dir, n, &a));
}

static int try_create(const struct ns_cred *c, uint64_t dir)
{
	int rc = TX(ns_create(t, c, dir, "new", 0644, O_EXCL, 0, now, &res));

	if (!rc)
		NEED(ns_unlink(t, &root, dir, "new", now, &res));
	return rc;
}

static void test_perm_matrix(void)
{
	static const char *const cls[3] = { "owner", "group", "other" };
	const struct ns_cred *who[3] = { &alice, &carol, &bob };
	struct ns_inode in;
	uint64_t pm, f, sub;
	char name[128];

	pm = mkdir_(&root, NS_ROOT, "pm", 0777);
	f = creat_(&alice, pm, "f", 0644);
	sub = mkdir_(&alice, pm, "sub", 0755);
	creat_(&root, sub, "e", 0644);
	chown_(f, alice.uid, STAFF);
	chown_(sub, alice.uid, STAFF);
	for (int c = 0; c < 3; c++) {
		for (int b = 0; b < 3; b++) {
			uint32_t mode = (4u >> b) << (3 * (2 - c));

			chmod_(f, mode);
			chmod_(sub, mode);
			for (int w = 0; w < 3; w++) {
				int want = w == c ? 0 : -EACCES, rc;

				if (b == 0) {
					rc = try_open(who[w], f, O_RDONLY);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s read",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					rc = try_readdir(who[w], sub);
					snprintf(name, sizeof(name),
						 "dir %04o: %s may%s list",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
				} else if (b == 1) {
					rc = try_open(who[w], f, O_WRONLY);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s write",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					rc = try_create(who[w], sub);
					snprintf(name, sizeof(name),
						 "dir %04o: write without "
						 "execute: %s may not create",
						 mode, cls[w]);
					ok(rc == -EACCES, name);
				} else {
					rc = try_lookup(who[w], sub, "e");
					snprintf(name, sizeof(name),
						 "dir %04o: %s may%s look up",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					TX(ns_inode_get(t, f, &in));
					rc = ns_perm(who[w], &in.a, 1);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s execute",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
				}
			}
		}
		chmod_(sub, 3u << (3 * (2 - c)));
		for (int w = 0; w < 3; w++) {
			snprintf(name, sizeof(name),
				 "dir %04o: %s may%s create",
				 3u << (3 * (2 - c)), cls[w],
				 w == c ? "" : " not");
			ok(try_create(who[w], sub) == (w == c ? 0 : -EACCES),
			   name);
		}
	}
	chmod_(f, 0077);
	ok(try_open(&alice, f, O_RDONLY) == -EACCES &&
		   try_open(&carol, f, O_RDONLY) == 0,
	   "0077: the owner's class decides for the owner (denied)");
	chmod_(f, 0707);
	ok(try_open(&carol, f, O_RDONLY) == -EACCES &&
		   try_open(&bob, f, O_RDONLY) == 0,
	   "0707: the group's class decides for a member (denied)");
	chmod_(f, 0);
	chmod_(sub, 0);
	is_int(try_open(&root, f, O_RDWR), 0, "root reads and writes mode 0");
	is_int(try_lookup(&root, sub, "e"), 0, "root searches a mode 0 dir");
	is_int(try_readdir(&root, sub), 0, "root lists it");
	is_int(try_create(&root, sub), 0, "root creates in it");
	TX(ns_inode_get(t, f, &in));
	is_int(ns_perm(&root, &in.a, 1), -EACCES,
	       "root may not execute a file without any x bit");
	chmod_(f, 0001);
	TX(ns_inode_get(t, f, &in));
	is_int(ns_perm(&root, &in.a, 1), 0, "one x bit is enough for root");
	chmod_(f, 0644);
	FAILS(ns_open(t, &root, f, O_ACCMODE, 1, now, &res), -EINVAL,
	      "open with O_ACCMODE: -EINVAL");
	FAILS(ns_open(t, &bob, f, O_RDONLY | O_TRUNC, 1, now, &res), -EACCES,
	      "O_TRUNC needs write permission");
	FAILS(ns_open(t, &root, pm, O_WRONLY, 1, now, &res), -EISDIR,
	      "open a directory for writing: -EISDIR");
	OK(ns_open(t, &root, pm, O_RDONLY, 1, now, &res), "read open of a dir");
	ok(!res.session, "without a session");
	chmod_(pm, 0755);
	FAILS(ns_create(t, &bob, pm, "x", 0644, O_EXCL, 0, now, &res), -EACCES,
	      "create in an unwritable directory: -EACCES");
	FAILS(ns_mkdir(t, &bob, pm, "x", 0755, now, &res), -EACCES,
	      "mkdir there: -EACCES");
	FAILS(ns_symlink(t, &bob, pm, "x", "y", now, &res), -EACCES,
	      "symlink there: -EACCES");
	FAILS(ns_link(t, &bob, f, pm, "x", now, &res), -EACCES,
	      "link there: -EACCES");
	FAILS(ns_unlink(t, &bob, pm, "f", now, &res), -EACCES,
	      "unlink there: -EACCES");
	FAILS(ns_rename(t, &bob, pm, "f", pm, "g", 0, now, &res), -EACCES,
	      "rename there: -EACCES");
	FAILS(ns_mkdir(t, &root, pm, "f", 0755, now, &res), -EEXIST,
	      "an existing name is -EEXIST before write permission");
	FAILS(ns_mkdir(t, &bob, pm, "f", 0755, now, &res), -EEXIST,
	      "(for anyone who may search)");
	chmod_(pm, 0766);
	FAILS(ns_create(t, &bob, pm, "x", 0644, O_EXCL, 0, now, &res), -EACCES,
	      "write without search on the directory: -EACCES");
	FAILS(ns_lookup(t, &bob, pm, "f", &res.a[0]), -EACCES,
	      "lookup without search: -EACCES");
	chmod_(pm, 0777);
}

static void test_sticky(void)
{
	uint64_t tmp, dsub;
	struct ns_attr sa;

	tmp = mkdir_(&root, NS_ROOT, "tmp", 01777);
	creat_(&alice, tmp, "a", 0666);
	creat_(&bob, tmp, "b", 0666);
	creat_(&alice, tmp, "a2", 0666);
	dsub = mkdir_(&alice, tmp, "adir", 0777);
	(void)dsub;
	FAILS(ns_unlink(t, &bob, tmp, "a", now, &res), -EPERM,
	      "sticky: another user's file cannot be unlinked: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "a", tmp, "mine", 0, now, &res), -EPERM,
	      "nor renamed away: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "b", tmp, "a", 0, now, &res), -EPERM,
	      "nor replaced by a rename: -EPERM");
	FAILS(ns_rmdir(t, &bob, tmp, "adir", now, &res), -EPERM,
	      "nor another user's directory removed: -EPERM");
	FAILS(ns_remove_tree(t, &bob, tmp, "adir", now, &res), -EPERM,
	      "nor removed as a tree: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "a", tmp, "a2", RENAME_EXCHANGE, now,
			&res),
	      -EPERM, "nor exchanged: -EPERM");
	OK(ns_unlink(t, &bob, tmp, "b", now, &res),
	   "sticky: one's own file can be unlinked");
	OK(ns_rename(t, &alice, tmp, "a", tmp, "a3", 0, now, &res),
	   "and renamed by its owner");
	OK(ns_unlink(t, &root, tmp, "a3", now, &res), "root may unlink");
	chown_(tmp, carol.uid, carol.gid);
	OK(ns_unlink(t, &carol, tmp, "a2", now, &res),
	   "the directory's owner may unlink");
	sa.mode = 01777;
	FAILS(ns_setattr(t, &bob, tmp, NS_SET_MODE, &sa, now, &res), -EPERM,
	      "chmod by a non-owner: -EPERM");
}

static void test_setgid(void)
{
	uint64_t sg, f, d, g;
	struct ns_attr a;

	sg = mkdir_(&alice, NS_ROOT, "sg", 0777);
	chown_(sg, alice.uid, STAFF);
	chmod_(sg, 02777);
	f = creat_(&bob, sg, "f", 0644);
	a = attr(f);
	ok(a.gid == STAFF && a.uid == bob.uid,
	   "setgid dir: a new file takes the directory's group");
	d = mkdir_(&bob, sg, "d", 0755);
	a = attr(d);
	ok(a.gid == STAFF && (a.mode & S_ISGID),
	   "a new subdirectory takes the group and the setgid bit");
	g = creat_(&bob, d, "g", 0755);
	is_int(attr(g).gid, STAFF, "and passes them on");
	f = creat_(&bob, sg, "sgid-bob", 02755);
	ok(!(attr(f).mode & S_ISGID),
	   "a group-executable setgid file by a non-member loses setgid");
	f = creat_(&carol, sg, "sgid-carol", 02755);
	ok(attr(f).mode & S_ISGID, "a member keeps it");
	f = creat_(&bob, sg, "sgid-noexec", 02644);
	ok(attr(f).mode & S_ISGID,
	   "without group execute it is kept (mandatory locking style)");
	d = mkdir_(&bob, NS_ROOT, "plain-bob", 0777);
	is_int(attr(creat_(&bob, d, "x", 0644)).gid, bob.gid,
	       "elsewhere a file takes the creator's group");
}

static void test_setattr_rules(void)
{
	struct ns_attr sa, a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "sa", 0777);
	f = creat_(&alice, d, "f", 0644);
	sa.uid = bob.uid;
	sa.gid = alice.gid;
	FAILS(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res), -EPERM,
	      "chown to another user by the owner: -EPERM");
	FAILS(ns_setattr(t, &bob, f, NS_SET_UID, &sa, now, &res), -EPERM,
	      "chown by another user: -EPERM");
	sa.uid = alice.uid;
	OK(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res),
	   "chown to oneself by the owner is allowed");
	sa.gid = STAFF;
	OK(ns_setattr(t, &alice, f, NS_SET_GID, &sa, now, &res),
	   "chgrp by the owner to a group of hers");
	is_int(attr(f).gid, STAFF, "gid changed");
	sa.gid = 555;
	FAILS(ns_setattr(t, &alice, f, NS_SET_GID, &sa, now, &res), -EPERM,
	      "chgrp to a group she is not in: -EPERM");
	sa.gid = STAFF;
	FAILS(ns_setattr(t, &carol, f, NS_SET_GID, &sa, now, &res), -EPERM,
	      "chgrp by a non-owner (even a member): -EPERM");
	sa.uid = bob.uid;
	sa.gid = 555;
	OK(ns_setattr(t, &root, f, NS_SET_UID | NS_SET_GID, &sa, now, &res),
	   "root chowns to anyone");
	a = attr(f);
	ok(a.uid == bob.uid && a.gid == 555, "uid and gid changed");
	chown_(f, alice.uid, 555);
	sa.mode = 02755;
	OK(ns_setattr(t, &alice, f, NS_SET_MODE, &sa, now, &res),
	   "chmod g+s by an owner outside the file's group");
	is_int(attr(f).mode & 07777, 0755, "setgid is cleared");
	OK(ns_setattr(t, &root, f, NS_SET_MODE, &sa, now, &res),
	   "chmod g+s by root");
	is_int(attr(f).mode & 07777, 02755, "is kept");
	chown_(f, alice.uid, STAFF);
	sa.mode = 06755;
	OK(ns_setattr(t, &alice, f, NS_SET_MODE, &sa, now, &res),
	   "chmod u+s,g+s by an owner in the group");
	is_int(attr(f).mode & 07777, 06755, "both kept");
	sa.uid = alice.uid;
	OK(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res), "chown");
	is_int(attr(f).mode & 07777, 0755,
	       "chown clears setuid and setgid (group-executable)");
	chmod_(f, 06744);
	chown_(f, alice.uid, STAFF);
	is_int(attr(f).mode & 07777, 02744,
	       "setgid without group execute survives chown (even by root)");
	d = mkdir_(&root, d, "dd", 0755);
	chmod_(d, 02755);
	chown_(d, alice.uid, STAFF);
	ok(attr(d).mode & S_ISGID, "a directory keeps setgid across chown");

	chmod_(f, 06777);
	sa.size = 5;
	OK(ns_setattr(t, &bob, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate by a non-root writer");
	is_int(attr(f).mode & 07777, 0777,
	       "clears setuid and setgid (group-executable)");
	chmod_(f, 06777);
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate by root");
	is_int(attr(f).mode & 07777, 06777, "keeps them");
	chmod_(f, 0644);
	FAILS(ns_setattr(t, &bob, f, NS_SET_SIZE, &sa, now, &res), -EACCES,
	      "truncate without write permission: -EACCES");
	FAILS(ns_setattr(t, &bob, f, NS_SET_MODE, &sa, now, &res), -EPERM,
	      "chmod by a non-owner: -EPERM");
	sa.atime = sa.mtime = 5;
	FAILS(ns_setattr(t, &bob, f, NS_SET_ATIME_NOW | NS_SET_MTIME_NOW, &sa,
			 now, &res),
	      -EACCES,
	      "times to now by a non-owner who may not write: -EACCES");
	chmod_(f, 0666);
	OK(ns_setattr(t, &bob, f, NS_SET_ATIME_NOW | NS_SET_MTIME_NOW, &sa, now,
		      &res),
	   "times to now by a writer");
	FAILS(ns_setattr(t, &bob, f, NS_SET_MTIME, &sa, now, &res), -EPERM,
	      "explicit times by a non-owner writer: -EPERM");
	OK(ns_setattr(t, &alice, f, NS_SET_MTIME, &sa, now, &res),
	   "explicit times by the owner");
	is_int(attr(f).mtime, 5, "set");
	FAILS(ns_link(t, &root, d, NS_ROOT, "dirlink", now, &res), -EPERM,
	      "a hard link to a directory: -EPERM");
}

/* ---- unlink, rmdir ------------------------------------------------------- */

static void test_remove(void)
{
	struct ns_attr a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "rm", 0755);
	f = creat_(&root, d, "f", 0644);
	mkdir_(&root, d, "sub", 0755);
	creat_(&root, mkdir_(&root, d, "full", 0755), "x", 0644);
	NEED(ns_symlink(t, &root, d, "ln", "sub", now, &res));
	FAILS(ns_unlink(t, &root, d, "sub", now, &res), -EISDIR,
	      "unlink of a directory: -EISDIR");
	FAILS(ns_rmdir(t, &root, d, "f", now, &res), -ENOTDIR,
	      "rmdir of a file: -ENOTDIR");
	FAILS(ns_rmdir(t, &root, d, "ln", now, &res), -ENOTDIR,
	      "rmdir of a symlink to a directory: -ENOTDIR");
	FAILS(ns_rmdir(t, &root, d, "full", now, &res), -ENOTEMPTY,
	      "rmdir of a non-empty directory: -ENOTEMPTY");
	FAILS(ns_unlink(t, &root, d, "none", now, &res), -ENOENT,
	      "unlink of a missing name: -ENOENT");
	FAILS(ns_rmdir(t, &root, d, "none", now, &res), -ENOENT,
	      "rmdir of a missing name: -ENOENT");
	FAILS(ns_unlink(t, &root, f, "x", now, &res), -ENOTDIR,
	      "unlink in a file: -ENOTDIR");
	OK(ns_unlink(t, &root, d, "ln", now, &res), "unlink a symlink");
	OK(ns_unlink(t, &root, d, "f", now, &res), "unlink a file");
	FAILS(ns_getattr(t, f, &a) ? -1 : (int)a.nlink, 0,
	      "its inode waits for gc with nlink 0");
	FAILS(ns_link(t, &root, f, d, "back", now, &res), -ENOENT,
	      "an unlinked inode cannot be linked again: -ENOENT");
	FAILS(ns_open(t, &root, f, O_RDONLY, 1, now, &res), -ENOENT,
	      "nor opened: -ENOENT");
	OK(ns_rmdir(t, &root, d, "sub", now, &res), "rmdir");
	FAILS(ns_mkdir(t, &root, res.a[1].ino, "x", 0755, now, &res), -ENOENT,
	      "nothing is made in a removed directory: -ENOENT");
}

/* ---- rename -------------------------------------------------------------- */

static void test_rename(void)
{
	struct ns_attr a, p1, p2;
	uint64_t r, d1, d2, f, g, sub, deep;

	r = mkdir_(&root, NS_ROOT, "rn", 0777);
	d1 = mkdir_(&root, r, "d1", 0777);
	d2 = mkdir_(&root, r, "d2", 0777);
	f = creat_(&root, d1, "f", 0644);
	g = creat_(&root, d2, "g", 0644);
	sub = mkdir_(&root, d1, "sub", 0777);
	deep = mkdir_(&root, mkdir_(&root, sub, "a", 0777), "b", 0777);
	mkdir_(&root, d2, "empty", 0777);
	creat_(&root, mkdir_(&root, d2, "full", 0777), "x", 0644);

	FAILS(ns_rename(t, &root, d1, "none", d2, "x", 0, now, &res), -ENOENT,
	      "rename of a missing name: -ENOENT");
	FAILS(ns_rename(t, &root, d1, "f", d2, "x", 4, now, &res), -EINVAL,
	      "unknown flags: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "f", d2, "x",
			RENAME_NOREPLACE | RENAME_EXCHANGE, now, &res),
	      -EINVAL, "NOREPLACE with EXCHANGE: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", deep, "x", 0, now, &res), -EINVAL,
	      "a directory into its own subtree: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", sub, "x", 0, now, &res), -EINVAL,
	      "a directory into itself: -EINVAL");
	FAILS(ns_rename(t, &root, r, "d1", deep, "x", RENAME_EXCHANGE, now,
			&res),
	      -ENOENT, "EXCHANGE with a missing target: -ENOENT");
	NEED(ns_mkdir(t, &root, deep, "x", 0777, now, &res));
	FAILS(ns_rename(t, &root, r, "d1", deep, "x", RENAME_EXCHANGE, now,
			&res),
	      -EINVAL, "EXCHANGE that puts a directory inside itself: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", d2, "g", 0, now, &res), -ENOTDIR,
	      "a directory over a file: -ENOTDIR");
	FAILS(ns_rename(t, &root, d1, "f", d2, "empty", 0, now, &res), -EISDIR,
	      "a file over a directory: -EISDIR");
	FAILS(ns_rename(t, &root, d1, "sub", d2, "full", 0, now, &res),
	      -ENOTEMPTY, "a directory over a non-empty one: -ENOTEMPTY");
	FAILS(ns_rename(t, &root, d1, "f", d2, "g", RENAME_NOREPLACE, now,
			&res),
	      -EEXIST, "NOREPLACE onto an existing name: -EEXIST");
	OK(ns_rename(t, &root, d1, "f", d1, "f", 0, now, &res),
	   "a name onto itself: success");
	is_int(last_writes, 0, "and nothing written");
	NEED(ns_link(t, &root, f, d1, "f2", now, &res));
	OK(ns_rename(t, &root, d1, "f", d1, "f2", 0, now, &res),
	   "one inode's two names: success");
	ok(last_writes == 0 && ino_of(d1, "f") == f && ino_of(d1, "f2") == f,
	   "a no-op: both names stay");
	NEED(ns_unlink(t, &root, d1, "f2", now, &res));

	OK(ns_rename(t, &root, d1, "f", d2, "g", 0, now, &res),
	   "a file replaces a file");
	ok(ino_of(d2, "g") == f && !ino_of(d1, "f"), "the name moved");
	a = attr(g);
	ok(a.nlink == 0 && a.ctime == now, "the replaced file: nlink 0");
	ok(res.n == 4 && res.a[3].ino == g && res_fresh(&res),
	   "ns_res has the replaced inode, fresh");

	p1 = attr(d1);
	p2 = attr(d2);
	OK(ns_rename(t, &root, d1, "sub", d2, "empty", 0, now, &res),
	   "a directory replaces an empty directory");
	ok(attr(d1).nlink == p1.nlink - 1 && attr(d2).nlink == p2.nlink,
	   "nlink: old parent - 1, new parent unchanged (one dir out, one in)");
	ok(attr(sub).parent == d2 && ino_of(d2, "empty") == sub,
	   "the moved directory's parent is the new one");

	/* exchange a file and a directory across parents */
	f = ino_of(d2, "g");
	p1 = attr(d1);
	p2 = attr(d2);
	creat_(&root, d1, "file1", 0644);
	OK(ns_rename(t, &root, d1, "file1", d2, "empty", RENAME_EXCHANGE, now,
		     &res),
	   "EXCHANGE a file and a directory");
	ok(ino_of(d1, "file1") == sub && attr(sub).parent == d1,
	   "the directory is in the old parent, its parent field too");
	ok(attr(d1).nlink == p1.nlink + 1 && attr(d2).nlink == p2.nlink - 1,
	   "and the nlinks moved with it");
	ok(res.n == 4 && res_fresh(&res), "ns_res fresh");
	OK(ns_rename(t, &root, d1, "file1", d2, "empty", RENAME_EXCHANGE, now,
		     &res),
	   "and back");
	OK(ns_rename(t, &root, d2, "empty", d2, "renamed", RENAME_NOREPLACE,
		     now, &res),
	   "NOREPLACE to a free name");

	/* moving a directory needs write permission on it (its "..") */
	chmod_(sub, 0555);
	FAILS(ns_rename(t, &alice, d2, "renamed", d1, "x", 0, now, &res),
	      -EACCES, "moving a directory without write on it: -EACCES");
	OK(ns_rename(t, &alice, d2, "renamed", d2, "again", 0, now, &res),
	   "renaming it in place needs none");
	chmod_(sub, 0777);

	/* EMLINK: a parent at the limit takes no directory */
	struct ns_inode in;

	TX(ns_inode_get(t, d1, &in));
	uint32_t keep = in.a.nlink;

	in.a.nlink = NS_LINK_MAX;
	NEED(ns_inode_put(t, &in));
	FAILS(ns_mkdir(t, &root, d1, "one-more", 0755, now, &res), -EMLINK,
	      "mkdir in a directory at NS_LINK_MAX: -EMLINK");
	FAILS(ns_rename(t, &root, d2, "again", d1, "x", 0, now, &res), -EMLINK,
	      "moving a directory into it: -EMLINK");
	OK(ns_rename(t, &root, d2, "g", d1, "g", 0, now, &res),
	   "a file still moves in");
	NEED(ns_rename(t, &root, d1, "g", d2, "g", 0, now, &res));
	TX(ns_inode_get(t, d1, &in));
	in.a.nlink = keep;
	NEED(ns_inode_put(t, &in));
	TX(ns_inode_get(t, f, &in));
	keep = in.a.nlink;
	in.a.nlink = NS_LINK_MAX;
	NEED(ns_inode_put(t, &in));
	FAILS(ns_link(t, &root, f, d1, "l", now, &res), -EMLINK,
	      "link to a file at NS_LINK_MAX: -EMLINK");
	TX(ns_inode_get(t, f, &in));
	in.a.nlink = keep;
	NEED(ns_inode_put(t, &in));
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean after renames");
}

/* ---- symlinks and paths -------------------------------------------------- */

static int resolve(const struct ns_cred *c, const char *p, bool follow,
		   uint64_t *ino)
{
	struct ns_attr a;
	int rc = TX(ns_resolve(t, c, p, follow, &a));

	*ino = rc ? 0 : a.ino;
	return rc;
}

static void test_paths(void)
{
	char *long_target = longname(NS_SYMLINK_MAX), buf[NS_PATH_MAX] = "";
	char *too_long = longname(NS_SYMLINK_MAX + 1), *p;
	uint64_t d, sub, f, ino, ln;

	d = mkdir_(&root, NS_ROOT, "p", 0755);
	sub = mkdir_(&root, d, "sub", 0755);
	f = creat_(&root, sub, "f", 0644);
	OK(ns_symlink(t, &root, d, "long", long_target, now, &res),
	   "a symlink of 4095 bytes");
	ln = res.a[1].ino;
	ok(res.a[1].size == NS_SYMLINK_MAX &&
		   (res.a[1].mode & S_IFMT) == S_IFLNK,
	   "a symlink's size is its target's length");
	FAILS(ns_symlink(t, &root, d, "longer", too_long, now, &res),
	      -ENAMETOOLONG, "a target of 4096 bytes: -ENAMETOOLONG");
	FAILS(ns_symlink(t, &root, d, "empty", "", now, &res), -ENOENT,
	      "an empty target: -ENOENT");
	is_int(TX(ns_readlink(t, ln, buf, sizeof(buf))), NS_SYMLINK_MAX,
	       "readlink gives the length");
	ok(!strcmp(buf, long_target), "and the target");
	FAILS(ns_readlink(t, ln, buf, NS_SYMLINK_MAX), -ERANGE,
	      "readlink into a buffer without room for the NUL: -ERANGE");
	FAILS(ns_readlink(t, f, buf, sizeof(buf)), -EINVAL,
	      "readlink of a file: -EINVAL");

	NEED(ns_symlink(t, &root, d, "rel", "sub/f", now, &res));
	NEED(ns_symlink(t, &root, d, "abs", "/p/sub", now, &res));
	NEED(ns_symlink(t, &root, sub, "up", "../sub/./f", now, &res));
	NEED(ns_symlink(t, &root, d, "l1", "l2", now, &res));
	NEED(ns_symlink(t, &root, d, "l2", "l1", now, &res));
	NEED(ns_symlink(t, &root, d, "dangling", "nowhere", now, &res));
	ok(!resolve(&root, "/p/sub/f", true, &ino) && ino == f,
	   "resolve /p/sub/f");
	ok(!resolve(&root, "//p///sub/./../sub/f", true, &ino) && ino == f,
	   "extra slashes, '.' and '..'");
	ok(!resolve(&root, "/", true, &ino) && ino == NS_ROOT, "'/'");
	ok(!resolve(&root, "/..", true, &ino) && ino == NS_ROOT,
	   "'/..' is the root");
	ok(!resolve(&root, "/p/rel", true, &ino) && ino == f,
	   "a relative symlink at the end, followed");
	ok(!resolve(&root, "/p/rel", false, &ino) && ino != f && ino,
	   "not followed without follow");
	ok(!resolve(&root, "/p/abs/f", false, &ino) && ino == f,
	   "an absolute symlink in the middle is followed");
	ok(!resolve(&root, "/p/abs/up", true, &ino) && ino == f,
	   "'..' inside a symlink's target");
	ok(!resolve(&root, "/p/abs/", false, &ino) && ino == sub,
	   "a trailing slash follows the last symlink");
	is_int(resolve(&root, "/p/sub/f/", true, &ino), -ENOTDIR,
	       "a trailing slash on a file: -ENOTDIR");
	is_int(resolve(&root, "/p/sub/f/x", true, &ino), -ENOTDIR,
	       "a file in the middle: -ENOTDIR");
	is_int(resolve(&root, "/p/nothing/x", true, &ino), -ENOENT,
	       "a missing component: -ENOENT");
	is_int(resolve(&root, "/p/dangling", true, &ino), -ENOENT,
	       "a dangling symlink followed: -ENOENT");
	is_int(resolve(&root, "/p/l1", true, &ino), -ELOOP,
	       "a symlink loop: -ELOOP");
	is_int(resolve(&root, "/p/l1/x", false, &ino), -ELOOP,
	       "in the middle too");
	ok(!resolve(&root, "/p/l1", false, &ino) && ino,
	   "a loop not followed is just a symlink");
	is_int(resolve(&root, "p/sub", true, &ino), -EINVAL,
	       "a relative path: -EINVAL");
	is_int(resolve(&root, "", true, &ino), -ENOENT, "'': -ENOENT");
	p = longname(NS_PATH_MAX);
	p[0] = '/';
	is_int(resolve(&root, p, true, &ino), -ENAMETOOLONG,
	       "a path of 4096 bytes: -ENAMETOOLONG");
	p[257] = 0;
	is_int(resolve(&root, p, true, &ino), -ENAMETOOLONG,
	       "a component of 256 bytes: -ENAMETOOLONG");
	free(p);
	/* a chain of exactly NS_SYMLOOP_MAX links resolves, one more does not
	 */
	NEED(ns_symlink(t, &root, d, "c0", "sub/f", now, &res));
	for (int i = 1; i <= NS_SYMLOOP_MAX; i++) {
		char name[16], target[16];

		snprintf(name, sizeof(name), "c%d", i);
		snprintf(target, sizeof(target), "c%d", i - 1);
		NEED(ns_symlink(t, &root, d, name, target, now, &res));
	}
	ok(!resolve(&root, "/p/c39", true, &ino) && ino == f,
	   "40 symlinks in a row resolve");
	is_int(resolve(&root, "/p/c40", true, &ino), -ELOOP, "41: -ELOOP");
	chmod_(sub, 0700);
	is_int(resolve(&bob, "/p/sub/f", true, &ino), -EACCES,
	       "a component without search permission: -EACCES");
	chmod_(sub, 0755);
	FAILS(ns_open(t, &root, ln, O_RDONLY, 1, now, &res), -ELOOP,
	      "opening a symlink: -ELOOP");
	free(long_target);
	free(too_long);
}

/* ---- sessions ------------------------------------------------------------ */

static void test_sessions(void)
{
	struct ns_attr a, gca;
	uint64_t d, f, s1, s2, s3;

	gc_flush();
	d = mkdir_(&root, NS_ROOT, "sess", 0777);
	OK(ns_create(t, &alice, d, "f", 0644, O_RDWR | O_EXCL, 7, now, &res),
	   "create for writing");
	f = res.a[1].ino;
	s1 = res.session;
	ok(s1 && res.a[1].sessions == 1, "a session, counted in the inode");
	ok(res_fresh(&res), "ns_res fresh");
	OK(ns_open(t, &alice, f, O_WRONLY, 7, now, &res), "open for writing");
	s2 = res.session;
	ok(s2 && s2 != s1 && attr(f).sessions == 2, "a second session");
	OK(ns_open(t, &alice, f, O_RDONLY, 7, now, &res), "open for reading");
	ok(!res.session && attr(f).sessions == 2, "no session for reading");
	OK(ns_open(t, &alice, f, O_WRONLY, 8, now, &res), "client 8 writes");
	s3 = res.session;
	OK(ns_close(t, s1, 4096, now, &res), "close with a size");
	a = attr(f);
	ok(a.size == 4096 && a.sessions == 2 && a.mtime == now,
	   "the file grows to it; one session less");
	ok(res.n == 1 && res_fresh(&res), "close: ns_res fresh");
	FAILS(ns_close(t, s1, 0, now, &res), -ENOENT,
	      "closing it again: -ENOENT");
	FAILS(ns_close(t, 424242, 0, now, &res), -ENOENT,
	      "an unknown session: -ENOENT");
	OK(ns_close(t, s3, 100, now, &res), "close with a smaller size");
	is_int(attr(f).size, 4096, "a file never shrinks at close");
	OK(ns_report(t, s2, 8192, 0, now, &res), "report a size (flush)");
	a = attr(f);
	ok(a.size == 8192 && a.sessions == 1 && a.mtime == now,
	   "the file grows, the session stays");
	OK(ns_report(t, s2, 10, NS_REPORT_WROTE, now, &res),
	   "report a write in place");
	a = attr(f);
	ok(a.size == 8192 && a.mtime == now && a.ctime == now,
	   "no shrinking; mtime and ctime now");
	OK(ns_report(t, s2, UINT64_MAX, 0, now, &res), "report nothing");
	ok(attr(f).mtime == now - 1000, "mtime stays");
	OK(ns_open(t, &alice, f, O_WRONLY | O_TRUNC, 7, now, &res), "O_TRUNC");
	a = attr(f);
	ok(a.size == 0 && a.mtime == now && a.ctime == now,
	   "truncated, mtime and ctime now");
	s3 = res.session;

	/* an unlinked file with sessions is an orphan until the last close */
	OK(ns_unlink(t, &alice, d, "f", now, &res), "unlink an open file");
	is_int(TX(ns_gc_next(t, now, &gca)), -ENOENT,
	       "with sessions it is not in gc");
	is_int(fsck_of(db, true, NULL, 0), 0, "an orphan is not a problem");
	OK(ns_open(t, &alice, f, O_WRONLY, 9, now, &res),
	   "an orphan can still be opened by inode");
	is_int(TX(ns_sessions_prune(t, 7, now)), 2,
	       "prune client 7: its two sessions");
	is_int(attr(f).sessions, 1, "client 9's stays");
	is_int(TX(ns_gc_next(t, now, &gca)), -ENOENT, "still not in gc");
	OK(ns_close(t, res.session, UINT64_MAX, now, &res),
	   "the last close of the orphan");
	OK(ns_gc_next(t, now, &gca), "sends it to gc");
	is_int(gca.ino, f, "the orphan is the one due");
	NEED(ns_gc_done(t, f));
	FAILS(ns_getattr(t, f, &a), -ENOENT, "gone after ns_gc_done");
	(void)s2;
	is_int(TX(ns_sessions_prune(t, 12345, now)), 0,
	       "pruning a client without sessions");
}

/* ---- readdir ------------------------------------------------------------- */

#define NDIR 300

struct listing {
	int seen[NDIR + 2]; /* by name index; NDIR: ".", NDIR + 1: ".." */
	int n, other, refuse_at, calls, refused;
	uint64_t last_cookie, dots_cookies[2];
	uint64_t ino_dot, ino_dotdot;
};

static int name_index(const char *name)
{
	if (!strcmp(name, "."))
		return NDIR;
	if (!strcmp(name, ".."))
		return NDIR + 1;
	if (name[0] == 'e')
		return (int)strtol(name + 1, NULL, 10);
	return -1;
}

static int list_cb(void *arg, const char *name, uint64_t ino, uint8_t type,
		   uint64_t next)
{
	struct listing *l = arg;
	int i = name_index(name);

	if (l->refuse_at && ++l->calls == l->refuse_at) {
		l->refused = i;
		return 1;
	}
	if (i == NDIR) {
		l->dots_cookies[0] = next;
		l->ino_dot = ino;
	} else if (i == NDIR + 1) {
		l->dots_cookies[1] = next;
		l->ino_dotdot = ino;
	}
	if (i >= 0 && i < NDIR + 2)
		l->seen[i]++;
	else
		l->other++;
	l->last_cookie = next;
	l->n++;
	return 0;
}

static char *ename(int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "e%d", i);
	return buf;
}

static void test_readdir(void)
{
	struct listing l;
	uint64_t d, cookie = 0, f;
	char name[32];
	int rc, pages = 0, dup = 0, miss = 0;
	bool present[NDIR]; /* present through the whole listing */

	d = mkdir_(&root, NS_ROOT, "rd", 0755);
	for (int i = 0; i < NDIR; i += 2)
		creat_(&root, d, ename(i, name, sizeof(name)), 0644);
	memset(&l, 0, sizeof(l));
	rc = TX(ns_readdir(t, &root, d, 0, 1000, list_cb, &l));
	is_int(rc, NDIR / 2 + 2, "readdir gives every entry and '.', '..'");
	ok(l.seen[NDIR] == 1 && l.seen[NDIR + 1] == 1 && l.ino_dot == d &&
		   l.ino_dotdot == NS_ROOT && l.dots_cookies[0] == 1 &&
		   l.dots_cookies[1] == 2,
	   "'.' and '..' first, with cookies 1 and 2");

	/* pages of 7; between pages, odd names are added and even ones
	 * removed; the names present throughout come exactly once */
	for (int i = 0; i < NDIR; i++)
		present[i] = i % 2 == 0 && i % 6 != 0; /* i%6==0: removed */
	memset(&l, 0, sizeof(l));
	do {
		rc = TX(ns_readdir(t, &root, d, cookie, 7, list_cb, &l));
		if (rc > 0)
			cookie = l.last_cookie;
		pages++;
		for (int k = 0; k < 3 && pages < 60; k++) {
			int i = (pages * 37 + k * 101) % NDIR;

			if (i % 2)
				TX(ns_create(t, &root, d,
					     ename(i, name, sizeof(name)), 0644,
					     O_EXCL, 0, now, &res));
			else if (i % 6 == 0)
				TX(ns_unlink(t, &root, d,
					     ename(i, name, sizeof(name)), now,
					     &res));
		}
	} while (rc == 7);
	for (int i = 0; i < NDIR; i += 6)
		TX(ns_unlink(t, &root, d, ename(i, name, sizeof(name)), now,
			     &res));
	for (int i = 0; i < NDIR; i++) {
		dup += l.seen[i] > 1;
		miss += present[i] && l.seen[i] != 1;
	}
	ok(rc >= 0 && pages > 20, "paged through in pages of 7");
	ok(!dup && !miss && l.seen[NDIR] == 1 && l.seen[NDIR + 1] == 1,
	   "with entries added and removed between pages, every entry "
	   "present throughout came exactly once, none twice");

	/* fn refusing an entry: it is not counted and comes next */
	memset(&l, 0, sizeof(l));
	l.refuse_at = 4;
	rc = TX(ns_readdir(t, &root, d, 0, 100, list_cb, &l));
	is_int(rc, 3, "fn refusing the 4th entry ends the page at 3");
	cookie = l.last_cookie;
	int refused = l.refused;

	memset(&l, 0, sizeof(l));
	rc = TX(ns_readdir(t, &root, d, cookie, 1, list_cb, &l));
	ok(rc == 1 && refused >= 0 && refused < NDIR && l.seen[refused] == 1,
	   "the next page starts with the refused entry");
	FAILS(ns_readdir(t, &root, d, 3, 10, list_cb, &l), -EINVAL,
	      "a cookie that is none of ours: -EINVAL");
	is_int(TX(ns_readdir(t, &root, d, 0, 0, list_cb, &l)), 0,
	       "max 0 gives nothing");
	chmod_(d, 0711);
	FAILS(ns_readdir(t, &bob, d, 0, 10, list_cb, &l), -EACCES,
	      "readdir without read permission: -EACCES");
	chmod_(d, 0744);
	memset(&l, 0, sizeof(l));
	ok(TX(ns_readdir(t, &bob, d, 0, 10, list_cb, &l)) == 10,
	   "read without execute is enough to list");
	chmod_(d, 0755);
	f = ino_of(d, "e2");
	FAILS(ns_readdir(t, &root, f, 0, 10, list_cb, &l), -ENOTDIR,
	      "readdir of a file: -ENOTDIR");

	/* a run of equal hashes (forged keys): each entry once with max 1 */
	uint64_t rd2 = mkdir_(&root, NS_ROOT, "rd2", 0755);
	uint8_t k[NS_DIRENT_KEY_MAX], v[NS_DIRENT_VAL_LEN];
	struct ns_dirent de = { f, DT_REG };
	size_t vlen = ns_dirent_encode(&de, v, sizeof(v));

	tx_begin();
	for (int i = 0; i < 5; i++) {
		ns_dirent_key_hash(k, rd2, 12345);
		k[16] = 'e';
		k[17] = (uint8_t)('0' + i);
		meta_put(t, META_T_DIRENTS, k, 18, v, vlen);
	}
	tx_end();
	memset(&l, 0, sizeof(l));
	cookie = 2;
	pages = 0;
	do {
		rc = TX(ns_readdir(t, &root, rd2, cookie, 1, list_cb, &l));
		cookie = l.last_cookie;
	} while (rc == 1 && ++pages < 20);
	ok(l.n == 5 && l.seen[0] == 1 && l.seen[4] == 1 && pages == 5,
	   "five names of one hash, one per page: each exactly once");
	tx_begin();
	for (int i = 0; i < 5; i++) {
		ns_dirent_key_hash(k, rd2, 12345);
		k[16] = 'e';
		k[17] = (uint8_t)('0' + i);
		meta_del(t, META_T_DIRENTS, k, 18);
	}
	tx_end();
	NEED(ns_rmdir(t, &root, NS_ROOT, "rd2", now, &res));
	FAILS(ns_readdir(t, &root, rd2, 0, 10, list_cb, &l), -ENOENT,
	      "readdir of a removed directory: -ENOENT");
}

/* ---- xattrs -------------------------------------------------------------- */

static void test_xattr(void)
{
	char buf[128] = "", *n256 = longname(256);
	static char big[NS_XATTR_SIZE_MAX + 1];
	uint64_t d, f, ln, tmp;
	struct ns_attr a;

	memcpy(n256, "user.", 5);
	d = mkdir_(&root, NS_ROOT, "xa", 0777);
	f = creat_(&alice, d, "f", 0644);
	OK(ns_setxattr(t, &alice, f, "user.color", "blue", 4, 0, now, &res),
	   "setxattr");
	a = attr(f);
	ok(a.ctime == now && res.n == 1 && res_fresh(&res),
	   "ctime now, ns_res fresh");
	is_int(TX(ns_getxattr(t, &alice, f, "user.color", NULL, 0)), 4,
	       "getxattr with len 0 gives the size");
	is_int(TX(ns_getxattr(t, &alice, f, "user.color", buf, sizeof(buf))), 4,
	       "getxattr");
	ok(!memcmp(buf, "blue", 4), "the value");
	FAILS(ns_getxattr(t, &alice, f, "user.color", buf, 3), -ERANGE,
	      "a buffer too small: -ERANGE");
	FAILS(ns_getxattr(t, &alice, f, "user.none", buf, sizeof(buf)),
	      -ENODATA, "a missing one: -ENODATA");
	FAILS(ns_setxattr(t, &alice, f, "user.color", "red", 3, XATTR_CREATE,
			  now, &res),
	      -EEXIST, "XATTR_CREATE of an existing one: -EEXIST");
	FAILS(ns_setxattr(t, &alice, f, "user.new", "x", 1, XATTR_REPLACE, now,
			  &res),
	      -ENODATA, "XATTR_REPLACE of a missing one: -ENODATA");
	OK(ns_setxattr(t, &alice, f, "user.color", "red", 3, XATTR_REPLACE, now,
		       &res),
	   "XATTR_REPLACE");
	OK(ns_setxattr(t, &alice, f, "user.empty", "", 0, XATTR_CREATE, now,
		       &res),
	   "an empty value");
	is_int(TX(ns_listxattr(t, &alice, f, NULL, 0)), 22,
	       "listxattr with len 0 gives the size");
	memset(buf, 'X', sizeof(buf));
	is_int(TX(ns_listxattr(t, &alice, f, buf, sizeof(buf))), 22,
	       "listxattr");
	ok(!memcmp(buf, "user.color\0user.empty\0", 22),
	   "NUL-terminated names in order");
	FAILS(ns_listxattr(t, &alice, f, buf, 10), -ERANGE,
	      "listxattr into a small buffer: -ERANGE");
	FAILS(ns_setxattr(t, &alice, f, "trusted.x", "v", 1, 0, now, &res),
	      -EOPNOTSUPP, "another namespace: -EOPNOTSUPP");
	FAILS(ns_getxattr(t, &alice, f, "security.x", buf, sizeof(buf)),
	      -EOPNOTSUPP, "getxattr of another namespace: -EOPNOTSUPP");
	FAILS(ns_setxattr(t, &alice, f, "user.", "v", 1, 0, now, &res), -EINVAL,
	      "'user.' alone: -EINVAL");
	FAILS(ns_setxattr(t, &alice, f, n256, "v", 1, 0, now, &res), -ERANGE,
	      "a name of 256 bytes: -ERANGE");
	FAILS(ns_setxattr(t, &alice, f, "user.big", big, sizeof(big), 0, now,
			  &res),
	      -E2BIG, "a value past 64 KiB: -E2BIG");
	OK(ns_setxattr(t, &alice, f, "user.big", big, sizeof(big) - 1, 0, now,
		       &res),
	   "a value of 64 KiB");
	FAILS(ns_setxattr(t, &alice, f, "user.x", "v", 1, 8, now, &res),
	      -EINVAL, "unknown flags: -EINVAL");
	FAILS(ns_setxattr(t, &bob, f, "user.x", "v", 1, 0, now, &res), -EACCES,
	      "setxattr without write permission: -EACCES");
	chmod_(f, 0600);
	FAILS(ns_getxattr(t, &bob, f, "user.color", buf, sizeof(buf)), -EACCES,
	      "getxattr without read permission: -EACCES");
	FAILS(ns_removexattr(t, &bob, f, "user.color", now, &res), -EACCES,
	      "removexattr without write permission: -EACCES");
	NEED(ns_symlink(t, &root, d, "ln", "f", now, &res));
	ln = res.a[1].ino;
	FAILS(ns_setxattr(t, &root, ln, "user.x", "v", 1, 0, now, &res), -EPERM,
	      "user xattrs on a symlink: -EPERM");
	FAILS(ns_getxattr(t, &root, ln, "user.x", buf, sizeof(buf)), -ENODATA,
	      "and none to get: -ENODATA");
	tmp = mkdir_(&root, d, "sticky", 01777);
	FAILS(ns_setxattr(t, &bob, tmp, "user.x", "v", 1, 0, now, &res), -EPERM,
	      "on a sticky directory by a non-owner: -EPERM");
	OK(ns_setxattr(t, &root, tmp, "user.x", "v", 1, 0, now, &res),
	   "by root");
	OK(ns_removexattr(t, &alice, f, "user.color", now, &res),
	   "removexattr");
	ok(attr(f).ctime == now && res_fresh(&res), "ctime now, ns_res fresh");
	FAILS(ns_removexattr(t, &alice, f, "user.color", now, &res), -ENODATA,
	      "removing it again: -ENODATA");
	FAILS(ns_getxattr(t, &alice, 999999, "user.x", buf, sizeof(buf)),
	      -ENOENT, "xattrs of no inode: -ENOENT");

	/* gc takes the xattrs with the inode */
	uint8_t k[8];
	int left = 0;

	NEED(ns_unlink(t, &alice, d, "f", now, &res));
	NEED(ns_gc_done(t, f));
	ns_be64_put(k, f);
	tx_begin();
	left = meta_scan(t, META_T_XATTRS, k, 8, k, 8, count_any, NULL);
	tx_end();
	is_int(left, 0, "ns_gc_done removes the inode's xattrs");
	free(n256);
}

/* ---- layouts ------------------------------------------------------------- */

static void test_layout(void)
{
	struct ns_layout l = { 9, 4 << 20, 3, 0, 0 }, got;
	uint64_t d, f1, f2, sub;
	struct ns_attr a1, a2;

	d = mkdir_(&alice, NS_ROOT, "lay", 0755);
	OK(ns_layout_set(t, &alice, d, &l, now, &res),
	   "layout_set by the owner");
	ok(attr(d).ctime == now && res_fresh(&res), "ctime, ns_res fresh");
	FAILS(ns_layout_set(t, &bob, d, &l, now, &res), -EPERM,
	      "layout_set by another user: -EPERM");
	l.chunk_size = 1000;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "a chunk size not a power of two: -EINVAL");
	l.chunk_size = 32 << 10;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "a chunk size below 64 KiB: -EINVAL");
	l.chunk_size = 128 << 20;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "above 64 MiB: -EINVAL");
	l.chunk_size = 4 << 20;
	l.stripe = 0;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "stripe 0: -EINVAL");
	l.stripe = 3;
	OK(ns_layout_get(t, d, &got), "layout_get");
	ok(got.table == 9 && got.chunk_size == 4 << 20 && got.stripe == 3,
	   "what was set");
	f1 = creat_(&alice, d, "f1", 0644);
	f2 = creat_(&alice, d, "f2", 0644);
	FAILS(ns_layout_get(t, f1, &got), -ENOTDIR,
	      "layout_get of a file: -ENOTDIR");
	FAILS(ns_layout_set(t, &alice, f1, &l, now, &res), -ENOTDIR,
	      "layout_set of a file: -ENOTDIR");
	a1 = attr(f1);
	a2 = attr(f2);
	ok(a1.layout.table == 9 && a1.layout.chunk_size == 4 << 20 &&
		   a1.layout.stripe == 3,
	   "a new file inherits the directory's layout");
	is_int(a2.layout.start, a1.layout.start + 3,
	       "the next file starts `stripe` chains later (round robin)");
	ok(a1.layout.seed != a2.layout.seed, "each file has its own seed");
	sub = mkdir_(&alice, d, "sub", 0755);
	TX(ns_layout_get(t, sub, &got));
	ok(got.table == 9 && got.stripe == 3 && !got.start && !got.seed,
	   "a new directory inherits it too");

	/* chunk -> chain */
	struct ns_layout fl = { 9, 1 << 20, 8, 13, 0x1234567890abcdefull };
	bool hit[64] = { false };
	int distinct = 0, same_period = 1, differs = 0;

	for (uint64_t i = 0; i < 8; i++) {
		uint32_t c = ns_chunk_chain(&fl, 64, i);

		if (c < 64 && !hit[c]) {
			hit[c] = true;
			distinct++;
		}
		if (c < 13 || c >= 21)
			distinct = -100;
	}
	is_int(distinct, 8,
	       "a stripe of 8: chunks 0..7 on 8 distinct chains from start");
	for (uint64_t i = 0; i < 64; i++)
		same_period &= ns_chunk_chain(&fl, 64, i) ==
			       ns_chunk_chain(&fl, 64, i + 8);
	ok(same_period, "chunk i and i + stripe share a chain");
	for (uint64_t i = 0; i < 8; i++) {
		struct ns_layout o = fl;

		o.seed++;
		differs +=
			ns_chunk_chain(&o, 64, i) != ns_chunk_chain(&fl, 64, i);
	}
	ok(differs > 0, "another seed, another order");
	fl.start = 62;
	ok(ns_chunk_chain(&fl, 64, 0) < 64, "start wraps modulo the chains");
	fl.stripe = 1;
	is_int(ns_chunk_chain(&fl, 64, 5), 62, "stripe 1: always start");
	fl.stripe = 100;
	fl.start = 0;
	memset(hit, 0, sizeof(hit));
	distinct = 0;
	for (uint64_t i = 0; i < 100; i++) {
		uint32_t c = ns_chunk_chain(&fl, 1000, i);

		distinct += c < 100;
	}
	is_int(distinct, 100, "a stripe of 100 stays within its 100 chains");
}

/* ---- remove_tree and gc -------------------------------------------------- */

/* Call ns_gc_next until nothing is due, each in its own transaction,
 * finishing every inode it gives; the largest write set in *maxw. */
static int gc_drain(uint64_t when, uint32_t *maxw, int *calls)
{
	struct ns_attr a;
	int rc, done = 0;

	*maxw = 0;
	*calls = 0;
	for (;;) {
		rc = TX(ns_gc_next(t, when, &a));
		(*calls)++;
		if (last_writes > *maxw)
			*maxw = last_writes;
		if (rc == -EAGAIN)
			continue;
		if (rc)
			break;
		if (TX(ns_gc_done(t, a.ino)))
			return -1;
		done++;
		if (*calls > 100000)
			return -2;
	}
	return rc == -ENOENT ? done : rc;
}

static void test_tree(void)
{
	uint64_t top, tr, keep, open_f, sess, d, before, after, mid;
	struct ns_attr a;
	uint32_t maxw;
	int calls, n = 0;
	char name[32];

	gc_flush();
	top = mkdir_(&root, NS_ROOT, "tree", 0755);
	tr = mkdir_(&root, top, "t", 0755);
	keep = mkdir_(&root, NS_ROOT, "keep", 0755);
	for (int i = 0; i < 3 * NS_GC_BATCH; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		creat_(&root, tr, name, 0644);
		n++;
	}
	d = tr;
	for (int depth = 0; depth < 5; depth++) {
		d = mkdir_(&root, d, "deeper", 0755);
		n++;
		for (int i = 0; i < 10; i++) {
			snprintf(name, sizeof(name), "g%d", i);
			creat_(&root, d, name, 0644);
			n++;
		}
	}
	uint64_t f7 = ino_of(tr, "f7");

	NEED(ns_link(t, &root, f7, keep, "f7", now, &res));
	OK(ns_create(t, &root, d, "open", 0644, O_RDWR | O_EXCL, 5, now, &res),
	   "a file open for writing deep in the tree");
	open_f = res.a[1].ino;
	sess = res.session;
	n++;
	TX(ns_statfs(t, &before));
	a = attr(top);
	FAILS(ns_remove_tree(t, &root, top, "nothing", now, &res), -ENOENT,
	      "remove_tree of a missing name: -ENOENT");
	FAILS(ns_remove_tree(t, &root, keep, "f7", now, &res), -ENOTDIR,
	      "remove_tree of a file: -ENOTDIR");
	chmod_(tr, 0700);
	chown_(top, bob.uid, bob.gid);
	FAILS(ns_remove_tree(t, &bob, top, "t", now, &res), -EACCES,
	      "remove_tree of a directory one may not empty: -EACCES");
	chown_(top, 0, 0);
	chmod_(tr, 0755);
	OK(ns_remove_tree(t, &root, top, "t", now, &res),
	   "remove_tree of a tree of hundreds of inodes");
	ok(last_writes <= 4, "in O(1): a handful of writes");
	ok(res.n == 2 && res.a[1].nlink == 0 && res_fresh(&res),
	   "ns_res: the parent and the detached directory (nlink 0)");
	ok(!ino_of(top, "t") && attr(top).nlink == a.nlink - 1 &&
		   attr(top).mtime == now,
	   "the name is gone, the parent's nlink and mtime follow");
	is_int(fsck_of(db, true, NULL, 0), 0,
	       "fsck: a detached tree is not a problem");
	is_int(TX(ns_gc_next(t, now - 5000, &a)), -ENOENT,
	       "gc: nothing due before the removal");
	FAILS(ns_gc_done(t, keep), -EINVAL,
	      "ns_gc_done of a live inode: -EINVAL");
	FAILS(ns_gc_done(t, tr), -ENOTEMPTY,
	      "ns_gc_done of a directory still full: -ENOTEMPTY");
	FAILS(ns_gc_done(t, 999999), -ENOENT, "of no inode: -ENOENT");

	int got = gc_drain(now, &maxw, &calls);

	is_int(got, n - 1,
	       "gc gives every inode of the tree but the open "
	       "one and the one linked elsewhere");
	ok(maxw <= 3 * NS_GC_BATCH + 8, "each gc call is a small transaction");
	ok(calls > 3, "walking the tree took several calls");
	TX(ns_statfs(t, &after));
	is_int(after, before - (uint64_t)got, "statfs counts them gone");
	a = attr(ino_of(keep, "f7"));
	is_int(a.nlink, 1, "the file linked outside survives, with nlink 1");
	a = attr(open_f);
	ok(a.nlink == 0 && a.sessions == 1, "the open file is an orphan");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean after gc");
	NEED(ns_close(t, sess, 10, now, &res));
	mid = now;
	is_int(gc_drain(mid, &maxw, &calls), 1,
	       "its last close sends it to gc");
	FAILS(ns_getattr(t, open_f, &a), -ENOENT, "and it is gone");

	/* the plain paths to gc */
	uint64_t u = creat_(&root, keep, "u", 0644);

	NEED(ns_unlink(t, &root, keep, "u", now, &res));
	uint64_t r = mkdir_(&root, keep, "r", 0755);

	NEED(ns_rmdir(t, &root, keep, "r", now, &res));
	TX(ns_gc_next(t, now, &a));
	ok(a.ino == u || a.ino == r, "unlink and rmdir feed gc");
	ok(TX(ns_gc_next(t, now, &a)) == 0 && (a.ino == u || a.ino == r),
	   "an entry is given again until ns_gc_done");
	is_int(gc_drain(now, &maxw, &calls), 2, "both");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean");
}

/* ---- fsck ---------------------------------------------------------------- */

static int count_any(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	if (arg)
		(*(int *)arg)++;
	return arg ? 0 : 1;
}

static bool fsck_says(const char *what, const char *name)
{
	int n = fsck_of(db, false, NULL, 0);
	bool said = strstr(fsck_all, what) != NULL;

	if (!ok(n > 0 && said, name))
		printf("#   %d problems:\n%s", n, fsck_all);
	return said;
}

static void test_fsck(void)
{
	uint8_t k[NS_DIRENT_KEY_MAX], ik[8], v[NS_INODE_VAL_MAX], save[512];
	uint64_t d, f, g, h, s;
	struct ns_inode in;
	const void *p;
	size_t klen, vlen, slen;
	char ino_s[32];

	d = mkdir_(&root, NS_ROOT, "fsck", 0755);
	f = creat_(&root, d, "f", 0644);
	g = creat_(&root, d, "g", 0644);
	h = creat_(&root, d, "h", 0644);
	s = mkdir_(&root, d, "s", 0755);
	is_int(fsck_of(db, true, NULL, 0), 0, "clean before");

	/* a dangling dirent: f's inode record goes */
	ns_ino_key(ik, f);
	tx_begin();
	meta_get(t, META_T_INODES, ik, 8, &p, &slen);
	memcpy(save, p, slen);
	meta_del(t, META_T_INODES, ik, 8);
	tx_end();
	snprintf(ino_s, sizeof(ino_s), "names inode %llu, which does not",
		 (unsigned long long)f);
	fsck_says(ino_s, "fsck finds a dangling entry");
	FAILS(ns_lookup(t, &root, d, "f", &in.a), -EIO,
	      "lookup of a dangling entry: -EIO");
	tx_begin();
	meta_put(t, META_T_INODES, ik, 8, save, slen);
	tx_end();
	is_int(fsck_of(db, true, NULL, 0), 0, "clean again");

	/* an orphan: g's only entry goes */
	klen = ns_dirent_key(k, d, "g", 1);
	tx_begin();
	meta_get(t, META_T_DIRENTS, k, klen, &p, &vlen);
	memcpy(save, p, vlen);
	meta_del(t, META_T_DIRENTS, k, klen);
	tx_end();
	snprintf(ino_s, sizeof(ino_s), "inode %llu is not reachable",
		 (unsigned long long)g);
	fsck_says(ino_s, "fsck finds an unreachable inode");
	snprintf(ino_s, sizeof(ino_s), "inode %llu has nlink 1 but 0",
		 (unsigned long long)g);
	fsck_says(ino_s, "and its wrong link count");
	tx_begin();
	meta_put(t, META_T_DIRENTS, k, klen, save, vlen);
	tx_end();

	/* a wrong nlink */
	TX(ns_inode_get(t, h, &in));
	in.a.nlink = 3;
	NEED(ns_inode_put(t, &in));
	snprintf(ino_s, sizeof(ino_s), "inode %llu has nlink 3 but 1",
		 (unsigned long long)h);
	fsck_says(ino_s, "fsck finds a wrong nlink");
	in.a.nlink = 1;
	NEED(ns_inode_put(t, &in));

	/* a directory's nlink and parent */
	TX(ns_inode_get(t, s, &in));
	in.a.nlink = 5;
	in.a.parent = NS_ROOT;
	NEED(ns_inode_put(t, &in));
	snprintf(ino_s, sizeof(ino_s), "directory %llu has nlink 5, not 2",
		 (unsigned long long)s);
	fsck_says(ino_s, "fsck finds a directory's wrong nlink");
	snprintf(ino_s, sizeof(ino_s), "directory %llu says its parent",
		 (unsigned long long)s);
	fsck_says(ino_s, "and its wrong parent");
	in.a.nlink = 2;
	in.a.parent = d;
	NEED(ns_inode_put(t, &in));

	/* a corrupt record */
	ns_ino_key(ik, h);
	tx_begin();
	meta_get(t, META_T_INODES, ik, 8, &p, &slen);
	memcpy(save, p, slen);
	memcpy(v, p, slen);
	v[0] = 7; /* format */
	meta_put(t, META_T_INODES, ik, 8, v, slen);
	tx_end();
	FAILS(ns_getattr(t, h, &in.a), -FFFS_EBADFRAME,
	      "a corrupt inode record: -FFFS_EBADFRAME");
	snprintf(ino_s, sizeof(ino_s), "inode %llu: corrupt",
		 (unsigned long long)h);
	fsck_says(ino_s, "fsck finds a corrupt record");
	tx_begin();
	memcpy(v, save, slen);
	meta_put(t, META_T_INODES, ik, 8, v, slen - 1); /* short */
	tx_end();
	FAILS(ns_getattr(t, h, &in.a), -FFFS_EBADFRAME,
	      "a short inode record: -FFFS_EBADFRAME");
	tx_begin();
	meta_put(t, META_T_INODES, ik, 8, save, slen);
	tx_end();

	/* gc and session records naming nothing */
	uint8_t gk[NS_GC_KEY_LEN], one = NS_REC_FORMAT, sk[8];
	struct ns_session ses = { 1, 777777, now };
	uint8_t sv[NS_SESSION_VAL_LEN];

	ns_gc_key(gk, 5, 888888);
	ns_be64_put(sk, 3);
	tx_begin();
	meta_put(t, META_T_GC, gk, sizeof(gk), &one, 1);
	meta_put(t, META_T_SESSIONS, sk, 8, sv,
		 ns_session_encode(&ses, sv, sizeof(sv)));
	tx_end();
	fsck_says("gc entry names inode 888888",
		  "fsck finds a gc entry of no inode");
	fsck_says("session 3 names inode 777777",
		  "fsck finds a session of no inode");
	tx_begin();
	meta_del(t, META_T_GC, gk, sizeof(gk));
	meta_del(t, META_T_SESSIONS, sk, 8);
	tx_end();

	/* a second entry of a directory (a directory hard link) */
	klen = ns_dirent_key(k, NS_ROOT, "s-again", 7);
	struct ns_dirent de = { s, DT_DIR };
	uint8_t dv[NS_DIRENT_VAL_LEN];

	tx_begin();
	meta_put(t, META_T_DIRENTS, k, klen, dv,
		 ns_dirent_encode(&de, dv, sizeof(dv)));
	tx_end();
	snprintf(ino_s, sizeof(ino_s), "directory %llu has more than one",
		 (unsigned long long)s);
	fsck_says(ino_s, "fsck finds a directory with two entries");
	tx_begin();
	meta_del(t, META_T_DIRENTS, k, klen);
	tx_end();
	is_int(fsck_of(db, true, NULL, 0), 0, "clean after the repairs");
}

/* ---- a full db ----------------------------------------------------------- */

static void test_enospc(void)
{
	struct meta_db *tiny = open_db("tiny", 256 << 10);
	struct meta_txn *tt;
	struct ns_res r;
	int rc = 0, i;
	char name[32];

	ok(tiny != NULL, "a tiny db");
	if (!tiny)
		return;
	meta_txn_begin(tiny, true, &tt);
	ns_format(tt, 0, 0, NULL, now);
	meta_txn_commit(tt, NULL);
	meta_txn_begin(tiny, true, &tt);
	for (i = 0; i < 100000 && !rc; i++) {
		snprintf(name, sizeof(name), "a-rather-long-name-%06d", i);
		rc = ns_mkdir(tt, &root, NS_ROOT, name, 0755, now, &r);
	}
	is_int(rc, -ENOSPC, "mkdir in a full db: -ENOSPC");
	is_int(meta_txn_commit(tt, NULL), -ENOSPC,
	       "the transaction is aborted");
	meta_txn_begin(tiny, true, &tt);
	is_int(ns_mkdir(tt, &root, NS_ROOT, "small", 0755, now, &r), 0,
	       "a small transaction still works");
	meta_txn_commit(tt, NULL);
	is_int(fsck_of(tiny, true, NULL, 0), 0, "and the namespace is clean");
	meta_db_close(tiny);
}

/* ---- random operations, replicated --------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static const char *const rnames[] = { "a", "b", "c", "d", "e", "f" };

/* One random operation on the namespace of t; dirs is what mkdir made. */
static int random_op(struct meta_txn *tx, uint64_t *dirs, int *ndirs,
		     uint64_t when)
{
	uint64_t p = dirs[rnd((uint32_t)*ndirs)];
	uint64_t q = dirs[rnd((uint32_t)*ndirs)];
	const char *n = rnames[rnd(6)], *m = rnames[rnd(6)];
	const struct ns_cred *c = rnd(4) ? &root : &alice;
	static const unsigned rflags[] = { 0, 0, RENAME_NOREPLACE,
					   RENAME_EXCHANGE };
	struct ns_attr a;
	struct ns_res r;
	int rc;

	switch (rnd(12)) {
	case 0:
	case 1:
		rc = ns_create(tx, c, p, n, 0666, rnd(2) ? O_EXCL : 0, 1, when,
			       &r);
		return rc;
	case 2:
	case 3:
		rc = ns_mkdir(tx, c, p, n, 0777, when, &r);
		if (!rc && *ndirs < 64)
			dirs[(*ndirs)++] = r.a[1].ino;
		return rc;
	case 4:
	case 5:
		return ns_rename(tx, c, p, n, q, m, rflags[rnd(4)], when, &r);
	case 6:
		return ns_unlink(tx, c, p, n, when, &r);
	case 7:
		return ns_rmdir(tx, c, p, n, when, &r);
	case 8:
		rc = ns_lookup(tx, c, p, n, &a);
		return rc ? rc : ns_link(tx, c, a.ino, q, m, when, &r);
	case 9:
		return ns_symlink(tx, c, p, n, m, when, &r);
	case 10:
		if (rnd(8))
			return ns_gc_next(tx, when, &a)
				       ?: ns_gc_done(tx, a.ino);
		return ns_remove_tree(tx, c, p, n, when, &r);
	default:
		rc = ns_create(tx, c, p, n, 0666, O_RDWR, 2, when, &r);
		if (!rc && r.session && rnd(2))
			rc = ns_close(tx, r.session, rnd(100000), when, &r);
		return rc;
	}
}

/* ops random operations on a (several per transaction, failing ones
 * among them), each write set applied to b; c (if any) executes the same
 * operations itself. */
static int random_run(struct meta_db *a, struct meta_db *b, struct meta_db *c,
		      int ops, int *nok)
{
	uint64_t dirs_a[64] = { NS_ROOT }, dirs_c[64] = { NS_ROOT };
	int nda = 1, ndc = 1, bad = 0;
	uint64_t when = 5000000;

	*nok = 0;
	for (int i = 0; i < ops; i += 4) {
		struct meta_txn *ta, *tc = NULL;
		struct meta_ws ws;
		uint64_t save = rng;

		when += 1000;
		meta_txn_begin(a, true, &ta);
		for (int j = 0; j < 4; j++)
			*nok += random_op(ta, dirs_a, &nda, when) == 0;
		if (meta_txn_commit(ta, &ws))
			bad++;
		if (meta_db_apply(b, ws.buf, ws.len))
			bad++;
		meta_ws_release(&ws);
		if (!c)
			continue;
		rng = save;
		meta_txn_begin(c, true, &tc);
		for (int j = 0; j < 4; j++)
			random_op(tc, dirs_c, &ndc, when);
		if (meta_txn_commit(tc, NULL))
			bad++;
	}
	return bad;
}

static void test_random(void)
{
	struct meta_db *a = open_db("rand-a", 0), *b = open_db("rand-b", 0);
	struct meta_db *c = open_db("rand-c", 0);
	uint8_t da[32], dbb[32], dc[32];
	struct meta_txn *tx;
	struct meta_ws ws;
	int nok, bad;

	ok(a && b && c, "three dbs");
	if (!a || !b || !c)
		return;
	meta_txn_begin(a, true, &tx);
	ns_format(tx, 0, 0, NULL, 1);
	meta_txn_commit(tx, &ws);
	is_int(meta_db_apply(b, ws.buf, ws.len), 0,
	       "the replica applies the format");
	meta_ws_release(&ws);
	meta_txn_begin(c, true, &tx);
	ns_format(tx, 0, 0, NULL, 1);
	meta_txn_commit(tx, NULL);
	bad = random_run(a, b, c, 4000, &nok);
	is_int(bad, 0, "4000 random operations, every write set applied");
	ok(nok > 500, "many of them succeeded");
	meta_db_digest(a, da);
	meta_db_digest(b, dbb);
	meta_db_digest(c, dc);
	ok(!memcmp(da, dbb, 32), "the replica's digest equals the head's");
	ok(!memcmp(da, dc, 32),
	   "a db executing the same operations gets the same bytes "
	   "(operations depend only on the data, the arguments and now)");
	is_int(fsck_of(a, true, NULL, 0), 0, "fsck clean on the head");
	is_int(fsck_of(b, true, NULL, 0), 0, "fsck clean on the replica");
	meta_db_close(a);
	meta_db_close(b);
	meta_db_close(c);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

int main(void)
{
	uint8_t d1[32], d2[32];

	log_level_cur = LOGL_ERROR - 1; /* the tests provoke errors */
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	db = open_db("head", 0);
	rep = open_db("replica", 0);
	ok(db && rep, "a head db and a replica");
	if (!db || !rep)
		return done_testing();
	test_format();
	test_names();
	test_times();
	test_perm_matrix();
	test_sticky();
	test_setgid();
	test_setattr_rules();
	test_remove();
	test_rename();
	test_paths();
	test_sessions();
	test_readdir();
	test_xattr();
	test_layout();
	test_tree();
	test_fsck();
	meta_db_digest(db, d1);
	meta_db_digest(rep, d2);
	ok(!memcmp(d1, d2, 32),
	   "after all of it, the replica's digest equals the head's");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean at the end");
	meta_db_close(db);
	meta_db_close(rep);
	test_enospc();
	test_random();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
