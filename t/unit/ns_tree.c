/* t/unit/ns_tree.c - the namespace as a whole: remove_tree and gc, fsck
 * finding corruption, a full db, and random operations replicated by
 * write set to a second db (same digest, both clean). */
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

/* ---- remove_tree and gc -------------------------------------------------- */

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

int main(void)
{
	if (nsf_start(true))
		return nsf_done();
	test_tree();
	test_fsck();
	nsf_close();
	test_enospc();
	test_random();
	return nsf_done();
}
