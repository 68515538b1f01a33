/* t/unit/lib/ns_fixture.c - the namespace unit tests' shared db pair and
 * helpers (t/unit/lib/ns_fixture.h). */
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
#include "t/unit/lib/ns_fixture.h"
#include "t/unit/tap.h"

char tmpdir[] = "/tmp/fffs-ns-XXXXXX";
struct meta_db *db, *rep;
struct meta_txn *t;
uint64_t now = 1000000000000ull;
bool clock_held;
uint32_t last_writes;
struct ns_res res;
char fsck_all[4096];

const struct ns_cred root = { 0, 0, 0, { 0 } };
const struct ns_cred alice = { 1000, 1000, 1, { STAFF } };
const struct ns_cred bob = { 1001, 1001, 0, { 0 } };
const struct ns_cred carol = { 1002, 1002, 1, { STAFF } };

struct meta_db *open_db(const char *name, uint64_t map)
{
	char err[256], *dir = xasprintf("%s/%s", tmpdir, name);
	struct meta_db *d = NULL;

	if (meta_db_open(dir, map, META_DB_NOSYNC, &d, err, sizeof(err)))
		printf("# %s\n", err);
	free(dir);
	return d;
}

/* ---- one operation per transaction, replicated --------------------------- */

void tx_begin(void)
{
	FFFS_ASSERT(!t); /* a nested TX() would deadlock on the writer lock */
	if (!clock_held)
		now += 1000;
	FFFS_ASSERT(meta_txn_begin(db, true, &t) == 0);
}

void tx_end(void)
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

uint64_t mkdir_(const struct ns_cred *c, uint64_t parent, const char *name,
		uint32_t mode)
{
	memset(&res, 0, sizeof(res));
	NEED(ns_mkdir(t, c, parent, name, mode, now, &res));
	return res.a[1].ino;
}

uint64_t creat_(const struct ns_cred *c, uint64_t parent, const char *name,
		uint32_t mode)
{
	memset(&res, 0, sizeof(res));
	NEED(ns_create(t, c, parent, name, mode, O_RDONLY | O_EXCL, 0, now,
		       &res));
	return res.a[1].ino;
}

struct ns_attr attr(uint64_t ino)
{
	struct ns_attr a;

	memset(&a, 0, sizeof(a));
	clock_held = true;
	TX(ns_getattr(t, ino, &a));
	clock_held = false;
	return a;
}

uint64_t ino_of(uint64_t parent, const char *name)
{
	struct ns_attr a;
	int rc;

	clock_held = true;
	rc = TX(ns_lookup(t, &root, parent, name, &a));
	clock_held = false;
	return rc ? 0 : a.ino;
}

void chmod_(uint64_t ino, uint32_t mode)
{
	struct ns_attr sa = { .mode = mode };

	NEED(ns_setattr(t, &root, ino, NS_SET_MODE, &sa, now, &res));
}

void chown_(uint64_t ino, uint32_t uid, uint32_t gid)
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

int fsck_of(struct meta_db *d, bool verbose, char *first, size_t cap)
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

bool attr_eq(const struct ns_attr *a, const struct ns_attr *b)
{
	return a->ino == b->ino && a->mode == b->mode && a->uid == b->uid &&
	       a->gid == b->gid && a->nlink == b->nlink && a->size == b->size &&
	       a->atime == b->atime && a->mtime == b->mtime &&
	       a->ctime == b->ctime && a->parent == b->parent &&
	       a->sessions == b->sessions &&
	       !memcmp(&a->layout, &b->layout, sizeof(a->layout));
}

bool res_fresh(const struct ns_res *r)
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

int gc_drain(uint64_t when, uint32_t *maxw, int *calls)
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

void gc_flush(void)
{
	uint32_t maxw;
	int calls;

	if (gc_drain(UINT64_MAX, &maxw, &calls) < 0)
		ok(0, "gc drains");
}

char *longname(size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, 'n', n);
	s[n] = 0;
	return s;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

/* The namespace test_format() of t/unit/ns.c makes and checks. */
static void format(void)
{
	struct ns_layout l = { 5, 1 << 20, 4, 0, 0 };

	NEED(ns_format(t, 0, 0, &l, now));
	chmod_(NS_ROOT, 0777); /* everyone makes their test's top */
}

int nsf_start(bool formatted)
{
	log_level_cur = LOGL_ERROR - 1; /* the tests provoke errors */
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		tmpdir[0] = 0;
		return -1;
	}
	db = open_db("head", 0);
	rep = open_db("replica", 0);
	ok(db && rep, "a head db and a replica");
	if (!db || !rep)
		return -1;
	if (formatted)
		format();
	return 0;
}

void nsf_close(void)
{
	uint8_t d1[32], d2[32];

	meta_db_digest(db, d1);
	meta_db_digest(rep, d2);
	ok(!memcmp(d1, d2, 32),
	   "after all of it, the replica's digest equals the head's");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean at the end");
	meta_db_close(db);
	meta_db_close(rep);
	db = rep = NULL;
}

int nsf_done(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
