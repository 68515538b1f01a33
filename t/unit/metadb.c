/* t/unit/metadb.c - the namespace's LMDB environment: put, get, delete and
 * scan, the write set's encoding, applying it on a second db (same
 * digest), refusing malformed and out-of-sequence write sets, a full map,
 * syncing and META_DB_NOSYNC, reopening, the requests table, the inodes
 * a write set touches, a consistent copy of the environment, a write set
 * handed over before its synced commit. */
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "meta/db.h"
#include "net/pack.h"
#include "t/unit/tap.h"

static char tmpdir[] = "/tmp/fffs-metadb-XXXXXX";

/* LMDB syncs with fdatasync() (and fsync() for some files): counted here,
 * then done for real. */
static atomic_int nsyncs;

int fdatasync(int fd)
{
	atomic_fetch_add(&nsyncs, 1);
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	atomic_fetch_add(&nsyncs, 1);
	return (int)syscall(SYS_fsync, fd);
}

static char *path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static struct meta_db *open_db(const char *name, uint64_t map, unsigned fl)
{
	char err[256], *dir = path(name);
	struct meta_db *db = NULL;
	int rc = meta_db_open(dir, map, fl, &db, err, sizeof(err));

	if (rc)
		printf("# open '%s': %s\n", dir, err);
	free(dir);
	return db;
}

static int put_s(struct meta_txn *t, enum meta_table tb, const char *k,
		 const char *v)
{
	return meta_put(t, tb, k, strlen(k), v, strlen(v));
}

/* The value of k as a string ("" when missing). */
static const char *get_s(struct meta_txn *t, enum meta_table tb, const char *k)
{
	static char buf[256];
	const void *v;
	size_t n;

	if (meta_get(t, tb, k, strlen(k), &v, &n) || n >= sizeof(buf))
		return "";
	memcpy(buf, v, n);
	buf[n] = 0;
	return buf;
}

static bool digest_eq(struct meta_db *a, struct meta_db *b)
{
	uint8_t da[32], db[32];

	if (meta_db_digest(a, da) || meta_db_digest(b, db))
		return false;
	return !memcmp(da, db, 32);
}

static uint32_t ws_n(const struct meta_ws *ws)
{
	struct unpack up;

	unpack_init(&up, ws->buf, ws->len);
	unpack_u8(&up);
	unpack_u64(&up);
	return unpack_u32(&up);
}

/* ---- put, get, delete, scan ---------------------------------------------- */

struct seen {
	char keys[16][32];
	int n, stop_at;
};

static int collect(void *arg, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	struct seen *s = arg;

	if (s->n < 16 && klen < 32) {
		memcpy(s->keys[s->n], key, klen);
		s->keys[s->n][klen] = 0;
	}
	s->n++;
	return s->n == s->stop_at ? 42 : 0;
}

static void test_basic(struct meta_db *db)
{
	struct meta_txn *t;
	struct seen s;
	const void *v;
	size_t n;
	char big[600];

	ok(!meta_txn_begin(db, true, &t), "write transaction begins");
	is_int(put_s(t, META_T_INODES, "k1", "one"), 0, "put");
	is_int(put_s(t, META_T_DIRENTS, "k1", "other table"), 0,
	       "put the same key in another table");
	is_str(get_s(t, META_T_INODES, "k1"), "one", "get in the same txn");
	is_int(meta_get(t, META_T_INODES, "nope", 4, &v, &n), -ENOENT,
	       "get of a missing key: -ENOENT");
	is_int(meta_del(t, META_T_INODES, "nope", 4), 0,
	       "delete of a missing key: 0");
	is_int(meta_put(t, META_T_INODES, "", 0, "x", 1), -EINVAL,
	       "empty key: -EINVAL");
	memset(big, 'k', sizeof(big));
	is_int(meta_put(t, META_T_INODES, big, META_KEY_MAX + 1, "x", 1),
	       -EINVAL, "key past META_KEY_MAX: -EINVAL");
	is_int(meta_put(t, META_T_INODES, big, META_KEY_MAX, "x", 1), 0,
	       "key of META_KEY_MAX bytes");
	is_int(meta_put(t, META_T_COUNTERS, "seq", 3, "x", 1), -EINVAL,
	       "the counter 'seq' is db.c's: -EINVAL");
	is_int(meta_del(t, META_T_COUNTERS, "seq", 3), -EINVAL,
	       "its delete too");
	for (int i = 0; i < 6; i++) {
		char k[8];

		snprintf(k, sizeof(k), "s/%d", i);
		put_s(t, META_T_XATTRS, k, "v");
	}
	put_s(t, META_T_XATTRS, "t/0", "v");
	put_s(t, META_T_XATTRS, "r/9", "v");
	memset(&s, 0, sizeof(s));
	is_int(meta_scan(t, META_T_XATTRS, "s/2", 3, "s/", 2, collect, &s), 0,
	       "scan to the end of a prefix: 0");
	ok(s.n == 4 && !strcmp(s.keys[0], "s/2") && !strcmp(s.keys[3], "s/5"),
	   "scan from start (inclusive) while the prefix matches, in order");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	is_int(meta_scan(t, META_T_XATTRS, NULL, 0, NULL, 0, collect, &s), 42,
	       "scan stops with fn's value");
	ok(s.n == 2 && !strcmp(s.keys[0], "r/9"),
	   "scan without start begins at the first key");
	is_int(meta_txn_commit(t, NULL), 0, "commit without a write set");

	ok(!meta_txn_begin(db, false, &t), "read-only transaction begins");
	is_str(get_s(t, META_T_INODES, "k1"), "one", "committed value read");
	is_str(get_s(t, META_T_DIRENTS, "k1"), "other table",
	       "tables are separate");
	is_int(put_s(t, META_T_INODES, "k2", "x"), -EROFS,
	       "a write in a read-only transaction: -EROFS");
	is_int(meta_txn_commit(t, NULL), 0, "a read-only commit ends it");

	ok(!meta_txn_begin(db, true, &t), "write transaction");
	is_int(meta_del(t, META_T_INODES, "k1", 2), 0, "delete");
	is_int(meta_get(t, META_T_INODES, "k1", 2, &v, &n), -ENOENT,
	       "deleted key is gone");
	meta_txn_abort(t);
	ok(!meta_txn_begin(db, false, &t), "read");
	is_str(get_s(t, META_T_INODES, "k1"), "one",
	       "an aborted delete changed nothing");
	meta_txn_abort(t);
}

/* A value read in a write transaction stays put while later writes split
 * and rewrite its page. */
static void test_get_lifetime(struct meta_db *db)
{
	struct meta_txn *t;
	const void *v;
	char want[100];
	size_t n;
	int rc = 0;

	memset(want, 'q', sizeof(want));
	meta_txn_begin(db, true, &t);
	meta_put(t, META_T_GC, "aaa", 3, want, sizeof(want));
	meta_get(t, META_T_GC, "aaa", 3, &v, &n);
	for (int i = 0; i < 2000 && !rc; i++) {
		char k[16], val[100];

		snprintf(k, sizeof(k), "b%05d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		rc = meta_put(t, META_T_GC, k, strlen(k), val, sizeof(val));
	}
	rc = rc ? rc : meta_put(t, META_T_GC, "aaa", 3, "changed", 7);
	ok(!rc && n == sizeof(want) && !memcmp(v, want, n),
	   "a value got in a write txn is valid until it ends");
	meta_txn_abort(t);
}

/* ---- write sets ---------------------------------------------------------- */

static void test_ws(struct meta_db *a, struct meta_db *b)
{
	uint8_t want[128];
	struct meta_txn *t;
	struct meta_ws ws;
	struct pack pk;
	uint64_t seq = meta_db_seq(a);

	ok(digest_eq(a, b) == false, "different contents: different digests");
	meta_txn_begin(a, true, &t);
	put_s(t, META_T_SESSIONS, "x", "1");
	put_s(t, META_T_SESSIONS, "y", "22");
	meta_del(t, META_T_SESSIONS, "x", 1);
	meta_del(t, META_T_SESSIONS, "never", 5); /* changes nothing */
	is_int(meta_txn_commit(t, &ws), 0, "commit with a write set");
	is_int(ws.seq, seq + 1, "the write set takes the next seq");
	is_int(meta_db_seq(a), seq + 1, "meta_db_seq() follows");
	pack_init(&pk, want, sizeof(want));
	pack_u8(&pk, 1);
	pack_u64(&pk, seq + 1);
	pack_u32(&pk, 3);
	pack_u8(&pk, 1); /* put */
	pack_u8(&pk, META_T_SESSIONS);
	pack_u16(&pk, 1);
	pack_bytes(&pk, "x", 1);
	pack_blob(&pk, "1", 1);
	pack_u8(&pk, 1);
	pack_u8(&pk, META_T_SESSIONS);
	pack_u16(&pk, 1);
	pack_bytes(&pk, "y", 1);
	pack_blob(&pk, "22", 2);
	pack_u8(&pk, 2); /* del */
	pack_u8(&pk, META_T_SESSIONS);
	pack_u16(&pk, 1);
	pack_bytes(&pk, "x", 1);
	ok(ws.len == pack_len(&pk) && !memcmp(ws.buf, want, ws.len),
	   "write set: format, seq, n, puts and dels in order, byte for "
	   "byte (a delete that changed nothing is left out)");
	meta_ws_release(&ws);
	ok(!ws.buf && !ws.len, "released");

	meta_txn_begin(a, true, &t);
	is_int(meta_txn_commit(t, &ws), 0, "an empty write transaction");
	ok(ws.seq == seq + 2 && ws_n(&ws) == 0 && ws.len == 13,
	   "still takes a seq, with n = 0");
	meta_ws_release(&ws);
}

/* Replay every write set of a onto b, from b's seq: a's own log. */
static int ws_replay_all(struct meta_db *a, struct meta_db *b,
			 struct meta_ws *log, int nlog)
{
	int rc = 0;

	for (int i = 0; i < nlog && !rc; i++)
		rc = meta_db_apply(b, log[i].buf, log[i].len);
	return rc;
}

static void apply_refused(struct meta_db *b, const uint8_t *buf, size_t len,
			  int want, const char *name)
{
	uint8_t before[32], after[32];
	uint64_t seq = meta_db_seq(b);
	int rc;

	meta_db_digest(b, before);
	rc = meta_db_apply(b, buf, len);
	meta_db_digest(b, after);
	if (!ok(rc == want && !memcmp(before, after, 32) &&
			meta_db_seq(b) == seq,
		name))
		printf("#   got %d, want %d\n", rc, want);
}

/* A write set of seq with one good put, then `bad` appended. */
static size_t ws_build(uint8_t *buf, size_t cap, uint64_t seq, uint32_t n,
		       const uint8_t *bad, size_t badlen)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, 1);
	pack_u64(&pk, seq);
	pack_u32(&pk, n);
	pack_u8(&pk, 1);
	pack_u8(&pk, META_T_INODES);
	pack_u16(&pk, 4);
	pack_bytes(&pk, "good", 4);
	pack_blob(&pk, "v", 1);
	pack_bytes(&pk, bad, badlen);
	return pack_len(&pk);
}

static void test_apply(void)
{
	struct meta_db *a = open_db("apply-a", 0, META_DB_NOSYNC);
	struct meta_db *b = open_db("apply-b", 0, META_DB_NOSYNC);
	struct meta_ws log[20];
	struct meta_txn *t;
	uint8_t buf[256];
	size_t len;
	int nlog = 0;

	ok(a && b, "two dbs");
	if (!a || !b)
		return;
	ok(digest_eq(a, b), "empty dbs: equal digests");
	for (int i = 0; i < 20; i++) {
		char k[16], v[64];

		meta_txn_begin(a, true, &t);
		for (int j = 0; j <= i; j++) {
			snprintf(k, sizeof(k), "k%02d", (i * 7 + j) % 30);
			snprintf(v, sizeof(v), "v%d.%d", i, j);
			put_s(t, (enum meta_table)(j % META_T__COUNT), k, v);
		}
		snprintf(k, sizeof(k), "k%02d", (i * 3) % 30);
		meta_del(t, (enum meta_table)(i % META_T__COUNT), k, 3);
		meta_txn_commit(t, &log[nlog++]);
	}
	is_int(ws_replay_all(a, b, log, nlog), 0, "20 write sets applied");
	ok(digest_eq(a, b), "replica's digest equals the head's");
	is_int(meta_db_seq(b), meta_db_seq(a), "and its sequence number");
	apply_refused(b, log[nlog - 1].buf, log[nlog - 1].len, -FFFS_EVERSION,
		      "applying the last one again: -FFFS_EVERSION, nothing "
		      "applied");
	apply_refused(b, log[3].buf, log[3].len, -FFFS_EVERSION,
		      "an old one: -FFFS_EVERSION");

	uint64_t next = meta_db_seq(b) + 1;
	static const uint8_t bad_op[] = { 3, 0, 1, 0, 'k' };
	static const uint8_t bad_table[] = { 2, META_T__COUNT, 1, 0, 'k' };
	static const uint8_t empty_key[] = { 2, 0, 0, 0 };
	static const uint8_t short_val[] = { 1, 0, 1, 0, 'k', 9, 0, 0, 0, 'x' };
	static const uint8_t seq_key[] = { 2,  META_T_COUNTERS, 3, 0, 's', 'e',
					   'q' };
	static const uint8_t good_del[] = { 2, 0, 1, 0, 'k' };

	len = ws_build(buf, sizeof(buf), next + 1, 1, NULL, 0);
	apply_refused(b, buf, len, -FFFS_EVERSION,
		      "a seq past the next: -FFFS_EVERSION");
	len = ws_build(buf, sizeof(buf), next, 1, NULL, 0);
	apply_refused(b, buf, len - 1, -FFFS_EBADFRAME,
		      "truncated: -FFFS_EBADFRAME, nothing applied");
	apply_refused(b, buf, 12, -FFFS_EBADFRAME, "a short header");
	buf[0] = 2;
	apply_refused(b, buf, len, -FFFS_EBADFRAME, "an unknown format");
	len = ws_build(buf, sizeof(buf), next, 2, bad_op, sizeof(bad_op));
	apply_refused(b, buf, len, -FFFS_EBADFRAME,
		      "an unknown op after a good put: nothing applied");
	len = ws_build(buf, sizeof(buf), next, 2, bad_table, sizeof(bad_table));
	apply_refused(b, buf, len, -FFFS_EBADFRAME, "an unknown table");
	len = ws_build(buf, sizeof(buf), next, 2, empty_key, sizeof(empty_key));
	apply_refused(b, buf, len, -FFFS_EBADFRAME, "an empty key");
	len = ws_build(buf, sizeof(buf), next, 2, short_val, sizeof(short_val));
	apply_refused(b, buf, len, -FFFS_EBADFRAME,
		      "a value longer than the rest");
	len = ws_build(buf, sizeof(buf), next, 2, seq_key, sizeof(seq_key));
	apply_refused(b, buf, len, -FFFS_EBADFRAME,
		      "a write of the sequence number");
	len = ws_build(buf, sizeof(buf), next, 1, good_del, sizeof(good_del));
	apply_refused(b, buf, len, -FFFS_EBADFRAME,
		      "trailing bytes past n entries");
	len = ws_build(buf, sizeof(buf), next, 3, good_del, sizeof(good_del));
	apply_refused(b, buf, len, -FFFS_EBADFRAME, "fewer entries than n");
	len = ws_build(buf, sizeof(buf), next, 2, good_del, sizeof(good_del));
	is_int(meta_db_apply(b, buf, len), 0,
	       "a well-formed one of the next seq applies");
	is_int(meta_db_seq(b), next, "and records its seq");
	ok(!digest_eq(a, b), "b now differs from a");
	for (int i = 0; i < nlog; i++)
		meta_ws_release(&log[i]);
	meta_db_close(a);
	meta_db_close(b);
}

/* Several write sets in one commit: all or nothing. */
static void test_apply_many(void)
{
	struct meta_db *a = open_db("many-a", 0, META_DB_NOSYNC);
	struct meta_db *b = open_db("many-b", 0, META_DB_NOSYNC);
	struct meta_db *c = open_db("many-c", 0, META_DB_NOSYNC);
	struct meta_ws log[10];
	struct iovec v[10];
	struct meta_txn *t;
	uint8_t before[32], after[32], bad[256];
	size_t len;

	ok(a && b && c, "three dbs");
	if (!a || !b || !c)
		return;
	for (int i = 0; i < 10; i++) {
		char k[16], val[32];

		meta_txn_begin(a, true, &t);
		snprintf(k, sizeof(k), "m%d", i % 4);
		snprintf(val, sizeof(val), "v%d", i);
		put_s(t, META_T_INODES, k, val);
		if (i % 3 == 2)
			meta_del(t, META_T_INODES, "m0", 2);
		meta_txn_commit(t, &log[i]);
		v[i].iov_base = log[i].buf;
		v[i].iov_len = log[i].len;
	}
	is_int(meta_db_apply_many(b, v, 0), -EINVAL, "no write set: -EINVAL");
	meta_db_digest(b, before);
	is_int(meta_db_apply_many(b, v + 1, 3), -FFFS_EVERSION,
	       "a run that does not start at the next seq: -FFFS_EVERSION");
	struct iovec gap[2] = { v[0], v[2] };
	is_int(meta_db_apply_many(b, gap, 2), -EINVAL,
	       "seqs with a gap: -EINVAL");
	len = ws_build(bad, sizeof(bad), meta_db_seq(a) + 1, 1, NULL, 0);
	struct iovec tail_bad[3] = { v[0], v[1], { bad, len - 1 } };
	is_int(meta_db_apply_many(b, tail_bad, 3), -FFFS_EBADFRAME,
	       "a malformed one at the end: -FFFS_EBADFRAME");
	meta_db_digest(b, after);
	ok(!memcmp(before, after, 32) && meta_db_seq(b) == 0,
	   "and after all three nothing was applied");
	is_int(meta_db_apply_many(b, v, 4), 0, "4 write sets in one commit");
	is_int(meta_db_seq(b), log[3].seq, "the seq is the last one's");
	is_int(meta_db_apply_many(b, v + 4, 6), 0, "then the other 6");
	for (int i = 0; i < 10; i++)
		meta_db_apply(c, log[i].buf, log[i].len);
	ok(digest_eq(a, b) && digest_eq(b, c),
	   "the same db as the head's and as one applied one by one");
	is_int(meta_db_seq(b), meta_db_seq(a), "at the head's seq");
	for (int i = 0; i < 10; i++)
		meta_ws_release(&log[i]);
	meta_db_close(a);
	meta_db_close(b);
	meta_db_close(c);
}

/* ---- a full map ---------------------------------------------------------- */

static void test_full(void)
{
	struct meta_db *db = open_db("tiny", 256 << 10, META_DB_NOSYNC);
	uint64_t seq;
	struct meta_txn *t;
	struct meta_ws ws;
	char val[1024];
	const void *v;
	size_t n;
	int rc = 0, i;

	ok(db != NULL, "a db with a 256 KiB map");
	if (!db)
		return;
	seq = meta_db_seq(db);
	memset(val, 'z', sizeof(val));
	meta_txn_begin(db, true, &t);
	for (i = 0; i < 1000 && !rc; i++) {
		char k[16];

		snprintf(k, sizeof(k), "key%d", i);
		rc = meta_put(t, META_T_INODES, k, strlen(k), val, sizeof(val));
	}
	is_int(rc, -ENOSPC, "a put into a full map: -ENOSPC");
	ok(i > 10, "after some puts went in");
	is_int(meta_get(t, META_T_INODES, "key0", 4, &v, &n), -ENOSPC,
	       "the transaction is aborted: later calls get -ENOSPC");
	is_int(meta_txn_commit(t, &ws), -ENOSPC, "and commit returns it");
	ok(!ws.buf && !ws.len, "no write set");
	is_int(meta_db_seq(db), seq, "nothing committed");
	ok(!meta_txn_begin(db, true, &t), "the db is still usable");
	is_int(meta_get(t, META_T_INODES, "key0", 4, &v, &n), -ENOENT,
	       "the aborted puts are not there");
	is_int(put_s(t, META_T_INODES, "small", "v"), 0, "a small put");
	is_int(meta_txn_commit(t, NULL), 0, "commits");
	meta_db_close(db);
}

/* ---- syncing, reopening -------------------------------------------------- */

static int commit_syncs(struct meta_db *db)
{
	struct meta_txn *t;
	int before;

	meta_txn_begin(db, true, &t);
	put_s(t, META_T_INODES, "durable", "yes");
	before = atomic_load(&nsyncs);
	meta_txn_commit(t, NULL);
	return atomic_load(&nsyncs) - before;
}

static void test_sync(void)
{
	struct meta_db *s = open_db("synced", 0, 0);
	struct meta_db *ns = open_db("nosync", 0, META_DB_NOSYNC);
	struct meta_db *again;
	char err[256], *dir = path("synced");
	struct meta_txn *t;

	ok(s && ns, "a synced and a NOSYNC db");
	if (!s || !ns)
		return;
	ok(commit_syncs(s) > 0, "a commit is synced");
	is_int(commit_syncs(ns), 0, "with META_DB_NOSYNC it is not");
	is_int(meta_db_open(dir, 0, 0, &again, err, sizeof(err)), -EBUSY,
	       "a second open of one dir: -EBUSY");
	ok(strstr(err, dir) != NULL, "the message names the directory");
	is_int(meta_db_open(dir, 0, 0x10, &again, err, sizeof(err)), -EINVAL,
	       "unknown flags: -EINVAL");
	meta_db_close(s);
	s = open_db("synced", 0, 0);
	ok(s != NULL, "reopened");
	if (s) {
		is_int(meta_db_seq(s), 1, "the sequence number survives");
		meta_txn_begin(s, false, &t);
		is_str(get_s(t, META_T_INODES, "durable"), "yes",
		       "and the data");
		meta_txn_abort(t);
		meta_db_close(s);
	}
	meta_db_close(ns);
	free(dir);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

struct touched {
	uint64_t ino[16];
	int n;
};

static void touched_one(void *arg, uint64_t ino)
{
	struct touched *t = arg;

	if (t->n < 16)
		t->ino[t->n++] = ino;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The requests table, meta_ws_touched() and meta_db_copy(). */
static void test_touched_copy(void)
{
	struct meta_db *a = open_db("tc", 0, META_DB_NOSYNC), *c;
	uint8_t k[20], d1[32], d2[32];
	struct touched tt = { { 0 }, 0 };
	char err[256], *dir;
	struct meta_txn *t;
	struct meta_ws ws;
	uint64_t seq;

	ok(a != NULL, "a db for the requests table and copies");
	if (!a)
		return;
	meta_txn_begin(a, true, &t);
	be64(k, 7);
	memcpy(k + 8, "name", 4);
	meta_put(t, META_T_INODES, k, 8, "i", 1);
	be64(k, 9);
	meta_put(t, META_T_DIRENTS, k, 12, "d", 1);
	be64(k, 11);
	meta_put(t, META_T_XATTRS, k, 12, "x", 1);
	put_s(t, META_T_SESSIONS, "s", "1");
	be64(k, 5);
	be64(k + 8, 1);
	is_int(meta_put(t, META_T_REQUESTS, k, 16, "reply", 5), 0,
	       "a put into the requests table");
	put_s(t, META_T_COUNTERS, "next", "2");
	is_int(meta_txn_touched(t, &seq, touched_one, &tt), 0,
	       "meta_txn_touched before the commit");
	ok(seq == meta_db_seq(a) + 1 && tt.n == 5 && tt.ino[0] == 7 &&
		   tt.ino[1] == 9 && tt.ino[2] == 11 && tt.ino[3] == 0,
	   "... gives the seq it will take and the same inodes");
	tt.n = 0;
	is_int(meta_txn_commit(t, &ws), 0, "committed");
	is_int(meta_ws_touched(ws.buf, ws.len, &seq, touched_one, &tt), 0,
	       "meta_ws_touched");
	is_int(seq, ws.seq, "... gives the write set's seq");
	ok(tt.n == 5 && tt.ino[0] == 7 && tt.ino[1] == 9 && tt.ino[2] == 11 &&
		   tt.ino[3] == 0 && tt.ino[4] == 0,
	   "... the inode of the inodes, dirents (parent) and xattrs "
	   "entries, 0 for sessions and counters, nothing for requests");
	ws.buf[0] = 9;
	is_int(meta_ws_touched(ws.buf, ws.len, &seq, touched_one, &tt),
	       -FFFS_EBADFRAME, "a malformed write set is refused");
	meta_ws_release(&ws);

	dir = path("tc-copy");
	ok(mkdir(dir, 0700) == 0, "an empty directory for the copy");
	is_int(meta_db_copy(a, dir, &seq, err, sizeof(err)), 0, "meta_db_copy");
	is_int(seq, meta_db_seq(a), "... at the db's seq");
	is_int(meta_db_copy(a, dir, &seq, err, sizeof(err)) < 0, 1,
	       "a second copy into the same directory fails");
	ok(strstr(err, "tc-copy") != NULL, "... naming it");
	c = NULL;
	is_int(meta_db_open(dir, 0, META_DB_NOSYNC, &c, err, sizeof(err)), 0,
	       "the copy opens as a db");
	if (c) {
		is_int(meta_db_seq(c), meta_db_seq(a), "... at the same seq");
		meta_db_digest(a, d1);
		meta_db_digest(c, d2);
		ok(!memcmp(d1, d2, 32), "... with the same digest");
		meta_txn_begin(c, false, &t);
		be64(k, 5);
		be64(k + 8, 1);
		{
			const void *v;
			size_t vlen;

			ok(meta_get(t, META_T_REQUESTS, k, 16, &v, &vlen) ==
					   0 &&
				   vlen == 5 && !memcmp(v, "reply", 5),
			   "... holding the requests table");
		}
		meta_txn_abort(t);
		meta_db_close(c);
	}
	free(dir);
	meta_db_close(a);
}

struct seal_seen {
	struct meta_db *db;
	int calls, syncs;
	uint64_t seq, db_seq;
	uint8_t *buf;
	size_t len;
};

static void seal_cb(void *arg, const struct meta_ws *ws)
{
	struct seal_seen *s = arg;

	s->calls++;
	s->syncs = atomic_load(&nsyncs);
	s->seq = ws->seq;
	s->db_seq = meta_db_seq(s->db);
	s->buf = xmalloc(ws->len);
	memcpy(s->buf, ws->buf, ws->len);
	s->len = ws->len;
}

/* meta_txn_commit_sealed: the write set is handed over final, before the
 * synced commit, and is the one the commit records. */
static void test_sealed(void)
{
	struct meta_db *a = open_db("sa", 0, 0), *b = open_db("sb", 0, 0);
	struct seal_seen seen = { .db = a };
	struct meta_txn *t;
	struct meta_ws ws;

	ok(a && b, "two synced dbs");
	if (!a || !b)
		return;
	is_int(meta_txn_begin(a, true, &t), 0, "begin");
	put_s(t, META_T_INODES, "k1", "v1");
	put_s(t, META_T_DIRENTS, "k2", "v2");
	is_int(meta_txn_commit_sealed(t, &ws, seal_cb, &seen), 0,
	       "commit_sealed");
	is_int(seen.calls, 1, "sealed() ran once");
	is_int((long long)seen.seq, 1, "... with the write set of seq 1");
	is_int((long long)seen.db_seq, 0, "... before the commit recorded it");
	ok(atomic_load(&nsyncs) > seen.syncs, "... and before the sync");
	ok(ws.len == seen.len && !memcmp(ws.buf, seen.buf, ws.len),
	   "the committed write set is the sealed one");
	is_int((long long)meta_db_seq(a), 1, "the db is at seq 1");
	is_int(meta_db_apply(b, seen.buf, seen.len), 0,
	       "the sealed write set applies on another db");
	ok(digest_eq(a, b), "... to the same contents");
	is_int(meta_txn_begin(a, false, &t), 0, "a read-only transaction");
	seen.calls = 0;
	is_int(meta_txn_commit_sealed(t, NULL, seal_cb, &seen), 0, "... ends");
	is_int(seen.calls, 0, "... without a write set to seal");
	free(seen.buf);
	meta_ws_release(&ws);
	meta_db_close(a);
	meta_db_close(b);
}

int main(void)
{
	struct meta_db *a, *b;

	log_level_cur = LOGL_ERROR - 1; /* the tests provoke errors */
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	a = open_db("a", 0, META_DB_NOSYNC);
	b = open_db("b", 0, META_DB_NOSYNC);
	ok(a && b, "meta_db_open");
	if (a && b) {
		is_int(meta_db_seq(a), 0, "a new db is at seq 0");
		test_basic(a);
		test_get_lifetime(a);
		test_ws(a, b);
		meta_db_close(a);
		meta_db_close(b);
	}
	test_apply();
	test_apply_many();
	test_full();
	test_sync();
	test_touched_copy();
	test_sealed();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
