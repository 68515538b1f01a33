/* t/unit/metastore.c - chunk metadata in LMDB: group commit from a loop
 * core, reads, deletes, failing batches, reopening, and a full map. */
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "chain/metastore.h"
#include "net/loop.h"
#include "t/unit/tap.h"

#define NPUT  10000
#define BURST 100
#define NBIG  40

struct top {
	struct metastore_op op;
	int seq;
};

static struct metastore *ms;
static char tmpdir[] = "/tmp/fffs-metastore-XXXXXX";
static char *storedir;
static const struct metastore_info info = {
	.target_id = 7,
	.uuid = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	.cluster = "testcluster",
};

/* ---- the barrier: counts calls, can sleep, block, or fail ---------------- */

static atomic_int barrier_calls, barrier_sleep_us, fail_call, fail_err;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed, gate_waiting;

static int barrier(void *arg)
{
	int n = atomic_fetch_add(&barrier_calls, 1) + 1;

	if (atomic_load(&barrier_sleep_us))
		usleep((useconds_t)atomic_load(&barrier_sleep_us));
	pthread_mutex_lock(&gate_lock);
	if (gate_closed) {
		gate_waiting = true;
		pthread_cond_broadcast(&gate_cond);
		while (gate_closed)
			pthread_cond_wait(&gate_cond, &gate_lock);
		gate_waiting = false;
	}
	pthread_mutex_unlock(&gate_lock);
	return n == atomic_load(&fail_call) ? atomic_load(&fail_err) : 0;
}

/* Wait (up to 10 s) until the committer is held in the closed gate. */
static bool gate_hold(void)
{
	struct timespec until;
	bool held;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&gate_lock);
	while (!gate_waiting &&
	       pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
		;
	held = gate_waiting;
	pthread_mutex_unlock(&gate_lock);
	return held;
}

static void gate_set(bool closed)
{
	pthread_mutex_lock(&gate_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

/* ---- ops and their completions on core 0 --------------------------------- */

static atomic_int ndone, expect_seq, out_of_order, wrong_core;

static void op_done(struct core *c, struct loop_msg *m)
{
	struct top *t = fffs_container_of(m, struct top, op.msg);

	if (core_self() != c || core_id(c) != 0)
		atomic_fetch_add(&wrong_core, 1);
	if (t->seq != atomic_load(&expect_seq))
		atomic_fetch_add(&out_of_order, 1);
	atomic_store(&expect_seq, t->seq + 1);
	atomic_fetch_add(&ndone, 1);
}

static void op_init(struct top *t, int seq, enum metastore_op_kind kind,
		    struct chunk_id id)
{
	memset(t, 0, sizeof(*t));
	t->op.kind = kind;
	t->op.id = id;
	t->op.core = core_get(0);
	t->op.msg.cb = op_done;
	t->op.result = 1;
	t->seq = seq;
}

static void phase_reset(void)
{
	atomic_store(&ndone, 0);
	atomic_store(&expect_seq, 0);
}

static bool wait_until(atomic_int *v, int want, int ms_max)
{
	for (int i = 0; i < ms_max && atomic_load(v) < want; i++)
		usleep(1000);
	return atomic_load(v) >= want;
}

/* Ops [0, n) whose result is not want. */
static int results_not(const struct top *t, int n, int want)
{
	int bad = 0;

	for (int i = 0; i < n; i++)
		bad += t[i].op.result != want;
	return bad;
}

/* ---- the data: chunk i of the 10,000 ------------------------------------- */

/* Ten inodes 1, 8, ..., 64 of 1000 chunks each, indexes 0, 3, ..., 2997. */
static struct chunk_id id_for(int i)
{
	return (struct chunk_id){ 1 + (uint64_t)(i / 1000) * 7,
				  (uint32_t)(i % 1000) * 3 };
}

static void meta_for(int i, struct chunk_meta *m, uint32_t crcs[4])
{
	memset(m, 0, sizeof(*m));
	m->class = 16;
	m->length = (uint32_t)i * 4099u % (4 * 4096 + 1);
	m->block = (uint64_t)i << 16;
	m->committed = (uint64_t)i + 1;
	m->chain_ver = 3;
	m->crc = (uint32_t)i * 2654435761u;
	m->req_client = 7;
	m->req_id = (uint64_t)i;
	m->req_status = -(i % 3);
	m->req_version = (uint64_t)i + 1;
	m->npages = chunk_pages(m->length);
	m->page_crc = m->npages ? crcs : NULL;
	for (uint32_t j = 0; j < m->npages; j++)
		crcs[j] = m->crc ^ j;
}

static bool meta_is(const struct chunk_meta *m, int i)
{
	struct chunk_meta want;
	uint32_t crcs[4];

	meta_for(i, &want, crcs);
	if (m->class != want.class || m->length != want.length ||
	    m->block != want.block || m->committed != want.committed ||
	    m->pending != want.pending || m->chain_ver != want.chain_ver ||
	    m->crc != want.crc || m->req_client != want.req_client ||
	    m->req_id != want.req_id || m->req_status != want.req_status ||
	    m->req_version != want.req_version || m->npages != want.npages)
		return false;
	return !m->npages || !memcmp(m->page_crc, crcs, m->npages * 4);
}

/* get(id_for(i)) is chunk i. */
static bool has(int i)
{
	struct chunk_id id = id_for(i);
	struct chunk_meta m;
	bool good;

	if (metastore_get(ms, &id, &m))
		return false;
	good = meta_is(&m, i);
	chunk_meta_release(&m);
	return good;
}

static int get_rc(uint64_t inode, uint32_t index)
{
	struct chunk_id id = { inode, index };
	struct chunk_meta m;
	int rc = metastore_get(ms, &id, &m);

	if (!rc)
		chunk_meta_release(&m);
	return rc;
}

/* metastore_last: its index, or the negative error. */
static int64_t last_index(uint64_t inode)
{
	struct chunk_id id = { 0, 0 };
	struct chunk_meta m;
	int rc = metastore_last(ms, inode, &id, &m);

	if (rc)
		return rc;
	chunk_meta_release(&m);
	return id.inode == inode ? (int64_t)id.index : -1000;
}

/* ---- 10,000 puts from core 0, in bursts ---------------------------------- */

static struct top *tops;
static struct loop_timer feed_timer;
static struct loop_msg feed_msg;
static int fed;

static void feed(struct core *c)
{
	struct chunk_meta m;
	uint32_t crcs[4];

	for (int k = 0; k < BURST && fed < NPUT; k++, fed++) {
		op_init(&tops[fed], fed, MSOP_PUT, id_for(fed));
		meta_for(fed, &m, crcs);
		tops[fed].op.meta = m;
		metastore_submit(ms, &tops[fed].op);
		crcs[0] = 0xbad; /* the store must have copied it */
	}
	if (fed < NPUT)
		core_timer_add(c, &feed_timer, 200000);
}

static void feed_timer_cb(struct core *c, struct loop_timer *t)
{
	feed(c);
}

static void feed_msg_cb(struct core *c, struct loop_msg *m)
{
	feed(c);
}

static void test_group_commit(void)
{
	char msg[96];
	int bad = 0;

	tops = calloc(NPUT, sizeof(*tops));
	phase_reset();
	atomic_store(&barrier_calls, 0);
	atomic_store(&barrier_sleep_us, 1000); /* like an fdatasync */
	core_timer_init(&feed_timer, feed_timer_cb);
	feed_msg.cb = feed_msg_cb;
	core_post(core_get(0), &feed_msg);
	ok(wait_until(&ndone, NPUT, 60000), "10,000 puts complete");
	atomic_store(&barrier_sleep_us, 0);
	is_int(results_not(tops, NPUT, 0), 0, "every put succeeded");
	is_int(atomic_load(&out_of_order), 0,
	       "completions arrive in submission order");
	is_int(atomic_load(&wrong_core), 0, "completions run on op->core");
	snprintf(msg, sizeof(msg), "10,000 puts in %d commits",
		 atomic_load(&barrier_calls));
	diag(msg);
	ok(atomic_load(&barrier_calls) >= 1 &&
		   atomic_load(&barrier_calls) <= NPUT / 10,
	   "puts were grouped: at most 1,000 barriers (commits)");
	for (int i = 0; i < NPUT; i++)
		bad += !has(i);
	is_int(bad, 0, "get returns every chunk as put");
	free(tops);
}

/* ---- reads ----------------------------------------------------------------
 */

struct scan_st {
	int next, seen, bad, stop_after;
};

static int scan_fn(void *arg, const struct chunk_id *id,
		   const struct chunk_meta *m)
{
	struct scan_st *st = arg;
	struct chunk_id want = id_for(st->next);

	if (id->inode != want.inode || id->index != want.index ||
	    !meta_is(m, st->next))
		st->bad++;
	st->next++;
	st->seen++;
	return st->seen == st->stop_after ? 42 : 0;
}

static bool all_zero(const struct chunk_meta *m)
{
	static const struct chunk_meta zero;

	return !memcmp(m, &zero, sizeof(zero));
}

static void test_reads(void)
{
	struct scan_st st = { .next = 1500 };
	struct chunk_id start = { 8, 1500 }, id;
	struct chunk_meta m;

	is_int(metastore_count(ms), NPUT, "count is 10,000");
	is_int(get_rc(2, 0), -ENOENT, "get of an absent inode: -ENOENT");
	is_int(get_rc(1, 1), -ENOENT, "get of an absent index: -ENOENT");
	memset(&m, 0xab, sizeof(m));
	start.inode = 2;
	ok(metastore_get(ms, &start, &m) == -ENOENT && all_zero(&m),
	   "a failed get leaves *m all zero");
	memset(&m, 0xab, sizeof(m));
	ok(metastore_last(ms, 2, &id, &m) == -ENOENT && all_zero(&m),
	   "a failed last leaves *m all zero");
	start.inode = 8;
	is_int(last_index(1), 2997, "last of inode 1");
	is_int(last_index(8), 2997, "last of inode 8");
	is_int(last_index(64), 2997, "last of inode 64, the last inode");
	is_int(last_index(0), -ENOENT, "last of inode 0 (before all): -ENOENT");
	is_int(last_index(2), -ENOENT, "last of inode 2 (a gap): -ENOENT");
	is_int(last_index(65), -ENOENT, "last of inode 65 (past all): -ENOENT");
	is_int(last_index(UINT64_MAX), -ENOENT,
	       "last of inode 2^64-1 (past all): -ENOENT");

	/* id 1500 is inode 8 index 1500 */
	is_int(metastore_scan(ms, &start, scan_fn, &st), 0,
	       "scan to the end returns 0");
	is_int(st.seen, NPUT - 1500, "scan from (8, 1500) sees 8,500 chunks");
	is_int(st.bad, 0, "scan sees them in key order, as put");
	st = (struct scan_st){ .next = 1500, .stop_after = 10 };
	is_int(metastore_scan(ms, &start, scan_fn, &st), 42,
	       "scan returns what fn returned to stop it");
	is_int(st.seen, 10, "scan stops when fn returns non-zero");
	st = (struct scan_st){ .next = 1501 };
	start.index = 1501; /* between two chunks: starts at the next one */
	metastore_scan(ms, &start, scan_fn, &st);
	ok(st.seen == NPUT - 1501 && !st.bad, "scan from a gap");
	st = (struct scan_st){ 0 };
	start = (struct chunk_id){ 65, 0 };
	is_int(metastore_scan(ms, &start, scan_fn, &st), 0,
	       "scan past the end returns 0");
	is_int(st.seen, 0, "  ... and calls fn for nothing");
}

/* ---- deletes and edge keys, submitted from this thread --------------------
 */

/* Submit ops [0, n) and wait for their completions. */
static bool run(struct top *t, int n)
{
	phase_reset();
	for (int i = 0; i < n; i++)
		metastore_submit(ms, &t[i].op);
	return wait_until(&ndone, n, 20000);
}

static void test_deletes(void)
{
	static struct top t[503];
	struct chunk_meta m;
	uint32_t crcs[4];
	int n = 0, bad = 0;

	/* inode 8 (chunks 1000..1999): delete every even one */
	for (int i = 1000; i < 2000; i += 2, n++)
		op_init(&t[n], n, MSOP_DEL, id_for(i));
	op_init(&t[n], n, MSOP_DEL, id_for(9999)); /* last of inode 64 */
	n++;
	op_init(&t[n], n, MSOP_DEL, (struct chunk_id){ 2, 0 }); /* absent */
	n++;
	ok(run(t, n), "502 deletes complete");
	is_int(results_not(t, n, 0), 0,
	       "deletes succeed, also of a missing key");
	is_int(metastore_count(ms), NPUT - 501, "count drops by 501");
	for (int i = 1000; i < 2000; i++)
		bad += (i % 2 == 0) == has(i);
	is_int(bad, 0, "even chunks of inode 8 are gone, odd ones remain");
	is_int(last_index(64), 2994, "last of inode 64 after deleting it");

	op_init(&t[0], 0, MSOP_PUT, (struct chunk_id){ UINT64_MAX, 3 });
	op_init(&t[1], 1, MSOP_PUT,
		(struct chunk_id){ UINT64_MAX, UINT32_MAX });
	meta_for(7, &m, crcs);
	t[0].op.meta = t[1].op.meta = m;
	ok(run(t, 2) && results_not(t, 2, 0) == 0, "puts at inode 2^64-1");
	is_int(last_index(UINT64_MAX), UINT32_MAX,
	       "last of inode 2^64-1 is index 2^32-1");
	is_int(last_index(UINT64_MAX - 1), -ENOENT,
	       "last of inode 2^64-2 (before it): -ENOENT");
	is_int(last_index(64), 2994, "last of inode 64 is still 2994");
}

/* ---- batches held in the barrier ------------------------------------------
 */

/* A plug op holds the committer in the barrier while t[0, n) queue up;
 * then barrier call `fail` (relative: 1 is the plug's) returns err. They
 * must commit as one batch. Returns false if they did not complete. */
static bool run_gated(struct top *t, int n, int fail, int err)
{
	static struct top plug; /* static: it may complete after a failure */
	int calls;

	op_init(&plug, -1, MSOP_PUT, (struct chunk_id){ 3, 0 });
	meta_for(3, &plug.op.meta, (uint32_t[4]){ 0 });
	gate_set(true);
	calls = atomic_load(&barrier_calls);
	atomic_store(&fail_call, fail ? calls + fail : 0);
	atomic_store(&fail_err, err);
	phase_reset();
	atomic_store(&expect_seq, -1); /* the plug completes first */
	metastore_submit(ms, &plug.op);
	if (!gate_hold()) {
		gate_set(false);
		return false;
	}
	for (int i = 0; i < n; i++)
		metastore_submit(ms, &t[i].op);
	gate_set(false);
	if (!wait_until(&ndone, n + 1, 20000))
		return false;
	atomic_store(&fail_call, 0);
	return plug.op.result == 0 && atomic_load(&barrier_calls) == calls + 2;
}

static void test_barrier_fail(void)
{
	static struct top t[12];
	struct chunk_meta m;
	uint32_t crcs[4];
	uint64_t count = metastore_count(ms);

	for (int i = 0; i < 10; i++) {
		op_init(&t[i], i, MSOP_PUT,
			(struct chunk_id){ 100, (uint32_t)i });
		meta_for(i, &m, crcs);
		t[i].op.meta = m;
	}
	op_init(&t[10], 10, MSOP_PUT, id_for(5)); /* overwrite chunk 5 */
	meta_for(6, &m, crcs);
	t[10].op.meta = m;
	op_init(&t[11], 11, MSOP_DEL, id_for(7));
	ok(run_gated(t, 12, 2, -EROFS),
	   "ops queued during a commit form the next batch, one barrier");
	is_int(results_not(t, 12, -EROFS), 0,
	       "a failing barrier fails every op of the batch with its error");
	is_int(get_rc(100, 0), -ENOENT, "no put of the batch was applied");
	ok(has(5), "an overwrite of the batch was not applied");
	ok(has(7), "a delete of the batch was not applied");
	is_int(metastore_count(ms), count + 1, "only the plug was committed");

	ok(run_gated(t, 12, 0, 0), "the same batch again, barrier passing");
	is_int(results_not(t, 12, 0), 0, "now every op succeeds");
	ok(get_rc(100, 9) == 0 && !has(5) && !has(7), "  ... and is applied");
	is_int(atomic_load(&out_of_order), 0,
	       "completions stayed in submission order");
}

/* ---- batches merged behind a held commit ----------------------------------
 */

/* Wait (up to 10 s) for the barrier count to reach want, then let the
 * syncer queue the batch. */
static bool barriers_reach(int want)
{
	for (int i = 0; i < 1000 && atomic_load(&barrier_calls) < want; i++)
		usleep(10000);
	usleep(20000);
	return atomic_load(&barrier_calls) >= want;
}

/* Three ops, each past its own barrier while the committer is held on
 * the first: the two behind it share one transaction. */
static void test_merge(void)
{
	static struct top t[3];
	char hold[sizeof(tmpdir) + 8], err[256];
	uint64_t commits = metastore_commits(ms);
	int calls = atomic_load(&barrier_calls);
	bool queued = true;
	FILE *f;

	snprintf(hold, sizeof(hold), "%s/hold", tmpdir);
	f = fopen(hold, "w");
	if (f)
		fclose(f);
	ok(f && !config_set("debug_faults", "true", err, sizeof(err)) &&
		   !config_set("store_hold_file", hold, err, sizeof(err)),
	   "the committer is held");
	phase_reset();
	for (int i = 0; i < 3; i++) {
		op_init(&t[i], i, MSOP_PUT,
			(struct chunk_id){ 200, (uint32_t)i });
		meta_for(i, &t[i].op.meta, (uint32_t[4]){ 0 });
		metastore_submit(ms, &t[i].op);
		queued = queued && barriers_reach(calls + i + 1);
	}
	ok(queued, "each op passed a barrier of its own");
	unlink(hold);
	ok(wait_until(&ndone, 3, 20000), "all three complete once released");
	is_int(results_not(t, 3, 0), 0, "  ... successfully");
	is_int((int)(metastore_commits(ms) - commits), 2,
	       "the two behind the held commit shared one transaction");
	ok(get_rc(200, 0) == 0 && get_rc(200, 2) == 0, "  ... and are stored");
	is_int(atomic_load(&out_of_order), 0,
	       "completions stayed in submission order");
	config_set("store_hold_file", "", err, sizeof(err));
	config_set("debug_faults", "false", err, sizeof(err));
}

/* ---- reopening ------------------------------------------------------------
 */

static void test_reopen(void)
{
	char err[256], want[512];
	struct metastore *other = NULL;
	struct metastore_info bad = info;
	uint64_t count = metastore_count(ms);
	bool created = true;
	int rc;

	metastore_close(ms);
	ms = NULL;
	rc = metastore_open(storedir, &info, 64 << 20, barrier, NULL, &created,
			    &ms, err, sizeof(err));
	is_int(rc, 0, "reopen with the same info");
	ok(!created, "  ... is not a new store");
	is_int(ms ? metastore_count(ms) : 0, count, "  ... and kept its data");
	ok(ms && has(9998) && has(1001), "  ... chunk metadata persisted");

	err[0] = 0;
	rc = metastore_open(storedir, &info, 64 << 20, NULL, NULL, &created,
			    &other, err, sizeof(err));
	is_int(rc, -EBUSY, "a second open of an open store is refused");
	snprintf(want, sizeof(want),
		 "state dir '%s' is in use by another process", storedir);
	is_str(err, want, "  ... naming the directory");
	ok(ms && has(9998), "  ... and the open store is unaffected");

	/* The identity checks, on the store closed. */
	metastore_close(ms);
	ms = NULL;
	bad.target_id = 9;
	err[0] = 0;
	rc = metastore_open(storedir, &bad, 64 << 20, NULL, NULL, &created,
			    &other, err, sizeof(err));
	is_int(rc, -EINVAL, "another target id is refused");
	ok(other == NULL, "  ... with no store");
	snprintf(want, sizeof(want),
		 "state dir '%s' belongs to target 7 (uuid "
		 "00010203-0405-0607-0809-0a0b0c0d0e0f), not target 9 (uuid "
		 "00010203-0405-0607-0809-0a0b0c0d0e0f)",
		 storedir);
	is_str(err, want, "  ... naming the directory and both ids");

	bad = info;
	bad.uuid[15] = 0xff;
	rc = metastore_open(storedir, &bad, 64 << 20, NULL, NULL, &created,
			    &other, err, sizeof(err));
	is_int(rc, -EINVAL, "another uuid is refused");
	snprintf(want, sizeof(want),
		 "state dir '%s' belongs to target 7 (uuid "
		 "00010203-0405-0607-0809-0a0b0c0d0e0f), not target 7 (uuid "
		 "00010203-0405-0607-0809-0a0b0c0d0eff)",
		 storedir);
	is_str(err, want, "  ... naming both uuids");
	rc = metastore_open(storedir, &info, 64 << 20, barrier, NULL, &created,
			    &ms, err, sizeof(err));
	ok(rc == 0 && has(9998), "the store opens again, unaffected");
}

/* ---- a corrupt record ---------------------------------------------------- */

/* Write raw records into the chunks database of the closed store at dir. */
static int raw_put(const char *dir, const void *key, size_t klen,
		   const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc;

	rc = mdb_env_create(&env);
	if (rc)
		return rc;
	mdb_env_set_maxdbs(env, 4);
	rc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (!rc) {
		rc = mdb_dbi_open(txn, "chunks", 0, &dbi);
		if (!rc)
			rc = mdb_put(txn, dbi, &k, &v, 0);
		rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
	}
	mdb_env_close(env);
	return rc;
}

static int scan_count(void *arg, const struct chunk_id *id,
		      const struct chunk_meta *m)
{
	(*(int *)arg)++;
	return 0;
}

static void test_corrupt(const char *dir)
{
	static const uint8_t key[CHUNK_KEY_LEN] = { [7] = 9, [11] = 9 };
	struct chunk_id id = { 9, 9 }, from = { 0, 0 };
	uint8_t val[72] = { 1, 16 }; /* length 0, npages 0: valid */
	struct chunk_meta m;
	char err[256];
	bool created;
	int n = 0;

	val[2] = 1; /* flags */
	is_int(raw_put(dir, key, sizeof(key), val, sizeof(val)), 0,
	       "a corrupt value is written behind the store's back");
	is_int(metastore_open(dir, &info, 1 << 20, NULL, NULL, &created, &ms,
			      err, sizeof(err)),
	       0, "the store still opens");
	if (!ms)
		return;
	memset(&m, 0xab, sizeof(m));
	ok(metastore_get(ms, &id, &m) == -FFFS_EBADFRAME && all_zero(&m),
	   "get of the corrupt chunk: -FFFS_EBADFRAME, *m zero");
	is_int(metastore_scan(ms, &from, scan_count, &n), -FFFS_EBADFRAME,
	       "a scan reaching it fails with -FFFS_EBADFRAME");
	is_int(n, 3, "  ... after the chunks before it");
	metastore_close(ms);
	ms = NULL;
}

/* ---- a map too small ------------------------------------------------------
 */

static void test_map_full(void)
{
	static struct top t[NBIG + 1];
	static uint32_t big_crcs[CHUNK_MAX_PAGES];
	char *dir = NULL, err[256];
	struct chunk_meta m;
	uint32_t crcs[4];
	bool created = false;
	int rc;

	metastore_close(ms);
	dir = xasprintf("%s/small", tmpdir);
	rc = metastore_open(dir, &info, 1 << 20, barrier, NULL, &created, &ms,
			    err, sizeof(err));
	is_int(rc, 0, "a store with a 1 MiB map opens");
	ok(created, "  ... as a new store");
	if (rc)
		goto out;
	op_init(&t[0], 0, MSOP_PUT, id_for(1));
	meta_for(1, &t[0].op.meta, crcs);
	ok(run(t, 1) && t[0].op.result == 0, "a small put fits");

	op_init(&t[0], 0, MSOP_PUT, id_for(2));
	meta_for(2, &t[0].op.meta, crcs);
	for (int i = 1; i <= NBIG; i++) {
		op_init(&t[i], i, MSOP_PUT,
			(struct chunk_id){ 50, (uint32_t)i });
		meta_for(0, &m, crcs);
		m.class = 26;
		m.length = CHUNK_MAX_LEN;
		m.npages = CHUNK_MAX_PAGES;
		m.page_crc = big_crcs;
		t[i].op.meta = m;
	}
	ok(run_gated(t, NBIG + 1, 0, 0), "40 64 KiB values and a small one");
	is_int(results_not(t, NBIG + 1, -ENOSPC), 0,
	       "a batch that overfills the map fails with -ENOSPC");
	ok(!has(2), "  ... the small put in it is not applied");
	is_int(get_rc(50, 1), -ENOENT, "  ... nor the big ones");
	is_int(metastore_count(ms), 2,
	       "  ... the earlier put and the plug stay");

	op_init(&t[0], 0, MSOP_PUT, id_for(4));
	meta_for(4, &t[0].op.meta, crcs);
	ok(run(t, 1) && t[0].op.result == 0, "the store takes puts again");
	ok(has(1) && has(4), "  ... and reads them back");
	is_int(metastore_count(ms), 3, "  ... count is 3");
	metastore_close(ms);
	ms = NULL;
	test_corrupt(dir);
out:
	metastore_close(ms);
	ms = NULL;
	free(dir);
}

/* ---- set-up ----------------------------------------------------------------
 */

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static void test_open(void)
{
	struct metastore *other = NULL;
	char err[256];
	bool created = false;
	struct stat st;
	int rc;

	storedir = xasprintf("%s/a/b/t7", tmpdir);
	rc = metastore_open(storedir, &info, 64 << 20, barrier, NULL, &created,
			    &ms, err, sizeof(err));
	is_int(rc, 0, "open a new store (creating its directory)");
	if (rc)
		diag(err);
	ok(created, "  ... created");
	ok(stat(storedir, &st) == 0 && (st.st_mode & 0777) == 0700,
	   "  ... its directory has mode 0700");
	is_int(ms ? metastore_count(ms) : 1, 0, "  ... and is empty");
	rc = metastore_open("/proc/self/nope/x", &info, 64 << 20, NULL, NULL,
			    &created, &other, err, sizeof(err));
	ok(rc < 0 && !other && strstr(err, "'/proc/self/nope/x'"),
	   "a directory that cannot be created is an error naming it");
}

int main(void)
{
	config_reset();
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	is_int(loop_start(1, NULL, NULL), 0, "one core starts");
	test_open();
	if (!ms)
		goto out;
	test_group_commit();
	test_reads();
	test_deletes();
	test_barrier_fail();
	test_merge();
	test_reopen();
	test_map_full();
out:
	loop_request_stop();
	loop_main();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ok(access(tmpdir, F_OK) < 0, "temporary directory removed");
	free(storedir);
	return done_testing();
}
