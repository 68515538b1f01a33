/* chain/metastore.c - a target's chunk metadata in LMDB, written in
 * group-committed batches by a pipeline of two threads: the syncer makes a
 * batch's data durable (the barrier) while the committer commits the
 * batch before it. */
#define LOG_SUBSYS "metastore"
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/dirs.h"
#include "chain/chunkmeta.h"
#include "chain/metastore.h"
#include "fffs.h"
#include "net/loop.h"
#include "net/pack.h"

#define INFO_FORMAT  1
#define INFO_KEY     "info"
#define UUID_STRLEN  37
#define MS_CORE_TXNS 64 /* cores with a cached read transaction */

/* A batch between the two stages, with its barrier's result. */
struct ms_batch {
	struct metastore_op *ops;
	int rc;
	struct ms_batch *next;
};

struct metastore {
	char *dir;
	int lock_fd; /* flock()ed: one process per state dir */
	MDB_env *env;
	MDB_dbi info_dbi, chunks_dbi;
	int (*barrier)(void *arg);
	void *barrier_arg;
	pthread_t thread, syncer;
	pthread_mutex_t lock;
	pthread_cond_t cond, synced_cond;
	struct metastore_op *head, *tail;	    /* queued, not yet taken */
	struct ms_batch *synced_head, *synced_tail; /* past the barrier */
	bool stop, syncer_done;
	_Atomic uint64_t commits;
	/* a read-only transaction per loop core, reset between reads and
	 * renewed for the next: beginning one takes LMDB's reader lock and
	 * a malloc, renewing one does not */
	MDB_txn *rtxn[MS_CORE_TXNS];
};

/* LMDB's own codes as negative errno-style codes; LMDB passes system
 * errors through as positive errno values. */
static int ms_err(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	if (rc > 0)
		return -rc;
	return -EIO;
}

/* ---- opening ------------------------------------------------------------- */

static const char *uuid_str(const uint8_t u[16], char buf[UUID_STRLEN])
{
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		snprintf(p, 3, "%02x", u[i]);
		p += 2;
	}
	return buf;
}

/* mkdir -p with mode 0700 for what is created. */

static size_t info_encode(const struct metastore_info *info, uint8_t *buf,
			  size_t cap)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, INFO_FORMAT);
	pack_u64(&pk, info->target_id);
	pack_bytes(&pk, info->uuid, sizeof(info->uuid));
	pack_strn(&pk, info->cluster,
		  strnlen(info->cluster, sizeof(info->cluster) - 1));
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

static int info_decode(const MDB_val *v, struct metastore_info *info)
{
	struct unpack up;
	uint8_t format;

	unpack_init(&up, v->mv_data, v->mv_size);
	format = unpack_u8(&up);
	info->target_id = unpack_u64(&up);
	unpack_bytes(&up, info->uuid, sizeof(info->uuid));
	unpack_cstr(&up, info->cluster, sizeof(info->cluster));
	if (unpack_finish(&up) || format != INFO_FORMAT)
		return -FFFS_EBADFRAME;
	return 0;
}

/* Compare the recorded info with the caller's; -EINVAL naming both. */
static int info_check(struct metastore *ms, const MDB_val *v,
		      const struct metastore_info *want, char *err,
		      size_t errlen)
{
	char have_uuid[UUID_STRLEN], want_uuid[UUID_STRLEN];
	struct metastore_info have;

	if (info_decode(v, &have) < 0) {
		snprintf(err, errlen, "state dir '%s': corrupt info record",
			 ms->dir);
		return -FFFS_EBADFRAME;
	}
	if (have.target_id == want->target_id &&
	    !memcmp(have.uuid, want->uuid, sizeof(have.uuid)))
		return 0;
	snprintf(err, errlen,
		 "state dir '%s' belongs to target %llu (uuid %s), not target "
		 "%llu (uuid %s)",
		 ms->dir, (unsigned long long)have.target_id,
		 uuid_str(have.uuid, have_uuid),
		 (unsigned long long)want->target_id,
		 uuid_str(want->uuid, want_uuid));
	return -EINVAL;
}

static int ms_dbs_open(struct metastore *ms, MDB_txn *txn)
{
	int rc = mdb_dbi_open(txn, "info", MDB_CREATE, &ms->info_dbi);

	if (!rc)
		rc = mdb_dbi_open(txn, "chunks", MDB_CREATE, &ms->chunks_dbi);
	return rc;
}

/* A new store: record info. Returns an LMDB code. */
static int ms_info_put(struct metastore *ms, MDB_txn *txn, MDB_val *k,
		       const struct metastore_info *info)
{
	uint8_t buf[128];
	MDB_val v = { 0, buf };

	v.mv_size = info_encode(info, buf, sizeof(buf));
	return mdb_put(txn, ms->info_dbi, k, &v, 0);
}

/* Open both databases, then check or record info, in one write txn (the
 * dbi handles last only if it commits). */
static int ms_setup(struct metastore *ms, const struct metastore_info *info,
		    bool *created, char *err, size_t errlen)
{
	MDB_val k = { strlen(INFO_KEY), INFO_KEY }, v;
	MDB_txn *txn;
	int rc, mrc;

	mrc = mdb_txn_begin(ms->env, NULL, 0, &txn);
	if (mrc)
		goto out_err;
	mrc = ms_dbs_open(ms, txn);
	if (!mrc)
		mrc = mdb_get(txn, ms->info_dbi, &k, &v);
	*created = mrc == MDB_NOTFOUND;
	if (*created)
		mrc = ms_info_put(ms, txn, &k, info);
	if (mrc)
		goto out_abort_err;
	rc = *created ? 0 : info_check(ms, &v, info, err, errlen);
	if (rc)
		goto out_abort;
	mrc = mdb_txn_commit(txn);
	if (mrc)
		goto out_err;
	return 0;
out_abort:
	mdb_txn_abort(txn);
	return rc;
out_abort_err:
	mdb_txn_abort(txn);
out_err:
	snprintf(err, errlen, "cannot set up chunk metadata in '%s': %s",
		 ms->dir, mdb_strerror(mrc));
	return ms_err(mrc);
}

static int ms_env_open(struct metastore *ms, uint64_t map_size, char *err,
		       size_t errlen)
{
	int rc;

	rc = mdb_env_create(&ms->env);
	if (rc)
		goto out_err;
	rc = mdb_env_set_maxdbs(ms->env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(ms->env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(ms->env, ms->dir, MDB_NOTLS, 0600);
	if (!rc)
		return 0;
	mdb_env_close(ms->env);
	ms->env = NULL;
out_err:
	snprintf(err, errlen, "cannot open chunk metadata in '%s': %s", ms->dir,
		 mdb_strerror(rc));
	return ms_err(rc);
}

static void *ms_committer(void *arg);
static void *ms_syncer(void *arg);
static void ms_stop_committer(struct metastore *ms);

int metastore_open(const char *dir, const struct metastore_info *info,
		   uint64_t map_size, int (*barrier)(void *arg),
		   void *barrier_arg, bool *created, struct metastore **out,
		   char *err, size_t errlen)
{
	struct metastore *ms;
	int rc;

	*out = NULL;
	rc = dir_make(dir, err, errlen);
	if (rc)
		return rc;
	ms = xcalloc(1, sizeof(*ms));
	ms->dir = xstrdup(dir);
	ms->barrier = barrier;
	ms->barrier_arg = barrier_arg;
	rc = dir_own(ms->dir, &ms->lock_fd, err, errlen);
	if (rc)
		goto out_free;
	rc = ms_env_open(ms, map_size, err, errlen);
	if (rc)
		goto out_unlock;
	rc = ms_setup(ms, info, created, err, errlen);
	if (rc)
		goto out_env;
	pthread_mutex_init(&ms->lock, NULL);
	pthread_cond_init(&ms->cond, NULL);
	pthread_cond_init(&ms->synced_cond, NULL);
	rc = fffs_thread_start(&ms->thread, "fffs-metastore", ms_committer, ms);
	if (!rc) {
		rc = fffs_thread_start(&ms->syncer, "fffs-msync", ms_syncer,
				       ms);
		if (rc)
			ms_stop_committer(ms);
	}
	if (rc) {
		snprintf(err, errlen, "cannot start the committer of '%s': %s",
			 dir, fffs_strerror(rc));
		goto out_sync;
	}
	*out = ms;
	return 0;
out_sync:
	pthread_cond_destroy(&ms->synced_cond);
	pthread_cond_destroy(&ms->cond);
	pthread_mutex_destroy(&ms->lock);
out_env:
	mdb_env_close(ms->env);
out_unlock:
	close(ms->lock_fd);
out_free:
	free(ms->dir);
	free(ms);
	return rc;
}

void metastore_close(struct metastore *ms)
{
	if (!ms)
		return;
	pthread_mutex_lock(&ms->lock);
	ms->stop = true;
	pthread_cond_signal(&ms->cond);
	pthread_mutex_unlock(&ms->lock);
	pthread_join(ms->syncer, NULL);
	pthread_join(ms->thread, NULL);
	FFFS_ASSERT(!ms->head && !ms->synced_head);
	pthread_cond_destroy(&ms->synced_cond);
	pthread_cond_destroy(&ms->cond);
	pthread_mutex_destroy(&ms->lock);
	for (int i = 0; i < MS_CORE_TXNS; i++)
		if (ms->rtxn[i])
			mdb_txn_abort(ms->rtxn[i]);
	mdb_env_close(ms->env);
	close(ms->lock_fd);
	free(ms->dir);
	free(ms);
}

/* ---- reads ----------------------------------------------------------------
 */

static int ms_read_begin(struct metastore *ms, MDB_txn **txn)
{
	struct core *c = core_self();
	int id = c ? core_id(c) : -1, rc;

	if (id >= 0 && id < MS_CORE_TXNS && ms->rtxn[id]) {
		*txn = ms->rtxn[id];
		ms->rtxn[id] = NULL; /* in use: a nested read begins its own */
		rc = mdb_txn_renew(*txn);
		if (rc)
			mdb_txn_abort(*txn);
	} else {
		rc = mdb_txn_begin(ms->env, NULL, MDB_RDONLY, txn);
	}
	if (rc)
		log_error("cannot read chunk metadata in '%s': %s", ms->dir,
			  mdb_strerror(rc));
	return ms_err(rc);
}

/* The end of a read: a loop core keeps its transaction for the next. */
static void ms_read_end(struct metastore *ms, MDB_txn *txn)
{
	struct core *c = core_self();
	int id = c ? core_id(c) : -1;

	if (id >= 0 && id < MS_CORE_TXNS && !ms->rtxn[id]) {
		mdb_txn_reset(txn);
		ms->rtxn[id] = txn;
		return;
	}
	mdb_txn_abort(txn);
}

/* Key and value of a record into id and m; logs a corrupt one. */
static int ms_record(struct metastore *ms, const MDB_val *k, const MDB_val *v,
		     struct chunk_id *id, struct chunk_meta *m)
{
	char idbuf[CHUNK_ID_STRLEN];
	int rc;

	rc = chunk_key_decode(k->mv_data, k->mv_size, id);
	if (rc) {
		log_error("corrupt chunk key of %zu bytes in '%s'", k->mv_size,
			  ms->dir);
		return rc;
	}
	rc = chunk_meta_decode(v->mv_data, v->mv_size, m);
	if (rc)
		log_error("corrupt metadata of chunk %s in '%s'",
			  chunk_id_str(id, idbuf, sizeof(idbuf)), ms->dir);
	return rc;
}

int metastore_get(struct metastore *ms, const struct chunk_id *id,
		  struct chunk_meta *m)
{
	uint8_t key[CHUNK_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	struct chunk_id got;
	MDB_txn *txn;
	int rc;

	memset(m, 0, sizeof(*m));
	chunk_key_encode(id, key);
	rc = ms_read_begin(ms, &txn);
	if (rc)
		return rc;
	rc = mdb_get(txn, ms->chunks_dbi, &k, &v);
	if (rc == 0) {
		rc = ms_record(ms, &k, &v, &got, m);
	} else {
		if (rc != MDB_NOTFOUND)
			log_error("cannot read chunk metadata in '%s': %s",
				  ms->dir, mdb_strerror(rc));
		rc = ms_err(rc);
	}
	ms_read_end(ms, txn);
	return rc;
}

/* Position c on the last record whose key is below (inode + 1, 0). */
static int ms_seek_last(MDB_cursor *c, uint64_t inode, MDB_val *k, MDB_val *v)
{
	struct chunk_id next = { inode + 1, 0 };
	uint8_t key[CHUNK_KEY_LEN];
	int rc;

	if (inode == UINT64_MAX)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	chunk_key_encode(&next, key);
	k->mv_size = sizeof(key);
	k->mv_data = key;
	rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return mdb_cursor_get(c, k, v, MDB_LAST);
	if (rc)
		return rc;
	return mdb_cursor_get(c, k, v, MDB_PREV);
}

int metastore_last(struct metastore *ms, uint64_t inode, struct chunk_id *id,
		   struct chunk_meta *m)
{
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = ms_read_begin(ms, &txn);
	if (rc)
		return rc;
	rc = ms_err(mdb_cursor_open(txn, ms->chunks_dbi, &c));
	if (rc)
		goto out_txn;
	rc = ms_err(ms_seek_last(c, inode, &k, &v));
	if (rc)
		goto out_cursor;
	rc = ms_record(ms, &k, &v, id, m);
	if (!rc && id->inode != inode) {
		chunk_meta_release(m);
		memset(m, 0, sizeof(*m));
		rc = -ENOENT;
	}
out_cursor:
	mdb_cursor_close(c);
out_txn:
	ms_read_end(ms, txn);
	return rc;
}

/* One record of a scan: decode, call fn, release. */
static int ms_scan_one(struct metastore *ms, const MDB_val *k, const MDB_val *v,
		       int (*fn)(void *arg, const struct chunk_id *id,
				 const struct chunk_meta *m),
		       void *arg)
{
	struct chunk_meta m;
	struct chunk_id id;
	int rc;

	rc = ms_record(ms, k, v, &id, &m);
	if (rc)
		return rc;
	rc = fn(arg, &id, &m);
	chunk_meta_release(&m);
	return rc;
}

int metastore_scan(struct metastore *ms, const struct chunk_id *start,
		   int (*fn)(void *arg, const struct chunk_id *id,
			     const struct chunk_meta *m),
		   void *arg)
{
	uint8_t key[CHUNK_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	MDB_cursor *c;
	MDB_txn *txn;
	int rc, mrc;

	chunk_key_encode(start, key);
	rc = ms_read_begin(ms, &txn);
	if (rc)
		return rc;
	rc = ms_err(mdb_cursor_open(txn, ms->chunks_dbi, &c));
	if (rc)
		goto out_txn;
	for (mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); mrc == 0 && !rc;
	     mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		rc = ms_scan_one(ms, &k, &v, fn, arg);
	if (!rc && mrc != MDB_NOTFOUND) {
		log_error("cannot scan chunk metadata in '%s': %s", ms->dir,
			  mdb_strerror(mrc));
		rc = ms_err(mrc);
	}
	mdb_cursor_close(c);
out_txn:
	ms_read_end(ms, txn);
	return rc;
}

uint64_t metastore_count(struct metastore *ms)
{
	MDB_stat st;
	MDB_txn *txn;
	int rc;

	if (ms_read_begin(ms, &txn))
		return 0;
	rc = mdb_stat(txn, ms->chunks_dbi, &st);
	ms_read_end(ms, txn);
	if (rc) {
		log_error("cannot count chunks in '%s': %s", ms->dir,
			  mdb_strerror(rc));
		return 0;
	}
	return st.ms_entries;
}

/* ---- writes: the committer ----------------------------------------------- */

uint64_t metastore_commits(struct metastore *ms)
{
	return atomic_load(&ms->commits);
}

void metastore_submit(struct metastore *ms, struct metastore_op *op)
{
	FFFS_ASSERT(op->core && op->msg.cb);
	op->next = NULL;
	op->val = NULL;
	op->val_len = 0;
	if (op->kind == MSOP_PUT) {
		op->val_len = chunk_meta_size(&op->meta);
		op->val = xmalloc(op->val_len);
		chunk_meta_encode(&op->meta, op->val);
	}
	pthread_mutex_lock(&ms->lock);
	FFFS_ASSERT(!ms->stop);
	if (ms->tail)
		ms->tail->next = op;
	else
		ms->head = op;
	ms->tail = op;
	pthread_cond_signal(&ms->cond);
	pthread_mutex_unlock(&ms->lock);
}

static int ms_apply_one(struct metastore *ms, MDB_txn *txn,
			struct metastore_op *op)
{
	uint8_t key[CHUNK_KEY_LEN];
	MDB_val k = { sizeof(key), key };
	MDB_val v = { op->val_len, op->val };
	int rc;

	chunk_key_encode(&op->id, key);
	if (op->kind == MSOP_PUT)
		return mdb_put(txn, ms->chunks_dbi, &k, &v, 0);
	FFFS_ASSERT(op->kind == MSOP_DEL);
	rc = mdb_del(txn, ms->chunks_dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Every op of a run of batches (linked by next) in one write txn; 0 or a
 * negative error. */
static int ms_apply(struct metastore *ms, const struct ms_batch *run)
{
	MDB_txn *txn;
	int rc;

	rc = mdb_txn_begin(ms->env, NULL, 0, &txn);
	if (rc)
		return ms_err(rc);
	for (const struct ms_batch *b = run; b && !rc; b = b->next)
		for (struct metastore_op *op = b->ops; op && !rc; op = op->next)
			rc = ms_apply_one(ms, txn, op);
	if (rc) {
		mdb_txn_abort(txn);
		return ms_err(rc);
	}
	rc = mdb_txn_commit(txn);
	if (!rc)
		atomic_fetch_add(&ms->commits, 1);
	return ms_err(rc);
}

/* Completions in submission order; an op may be reused once posted. */
static void ms_complete(struct metastore_op *batch, int result)
{
	struct metastore_op *next;

	for (struct metastore_op *op = batch; op; op = next) {
		next = op->next;
		op->result = result;
		free(op->val);
		op->val = NULL;
		core_post(op->core, &op->msg);
	}
}

static size_t ms_batch_len(const struct metastore_op *batch)
{
	size_t n = 0;

	for (; batch; batch = batch->next)
		n++;
	return n;
}

/* Wait for work; the whole queue, or NULL once stopped and drained. */
static struct metastore_op *ms_take(struct metastore *ms)
{
	struct metastore_op *batch;

	pthread_mutex_lock(&ms->lock);
	while (!ms->head && !ms->stop)
		pthread_cond_wait(&ms->cond, &ms->lock);
	batch = ms->head;
	ms->head = ms->tail = NULL;
	pthread_mutex_unlock(&ms->lock);
	return batch;
}

/* Stage 1: make the data of each batch durable, then pass it on, with
 * the barrier's result: batches are answered in submission order, so a
 * failed one waits for those before it in the committer. */
static void *ms_syncer(void *arg)
{
	struct metastore *ms = arg;
	struct metastore_op *ops;
	struct ms_batch *b;

	while ((ops = ms_take(ms))) {
		b = xmalloc(sizeof(*b));
		b->ops = ops;
		b->rc = ms->barrier ? ms->barrier(ms->barrier_arg) : 0;
		b->next = NULL;
		pthread_mutex_lock(&ms->lock);
		if (ms->synced_tail)
			ms->synced_tail->next = b;
		else
			ms->synced_head = b;
		ms->synced_tail = b;
		pthread_cond_signal(&ms->synced_cond);
		pthread_mutex_unlock(&ms->lock);
	}
	pthread_mutex_lock(&ms->lock);
	ms->syncer_done = true;
	pthread_cond_signal(&ms->synced_cond);
	pthread_mutex_unlock(&ms->lock);
	return NULL;
}

/* The next synced batch, or NULL once the syncer ended and all is done.
 * If its barrier succeeded, so does the run of batches after it whose
 * barriers succeeded too (linked by next): the committer commits them in
 * one transaction. The syncer's barrier (one sync) is quicker than a
 * commit (two), so it runs ahead, and a commit per barrier would leave
 * writes queued behind commits of one or two ops each. */
static struct ms_batch *ms_take_synced(struct metastore *ms)
{
	struct ms_batch *b, *last;

	pthread_mutex_lock(&ms->lock);
	while (!ms->synced_head && !ms->syncer_done)
		pthread_cond_wait(&ms->synced_cond, &ms->lock);
	b = last = ms->synced_head;
	if (b) {
		while (!last->rc && last->next && !last->next->rc)
			last = last->next;
		ms->synced_head = last->next;
		if (!ms->synced_head)
			ms->synced_tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&ms->lock);
	return b;
}

/* Testing: hold batches while store_hold_file exists (and the store is
 * not closing). */
static void ms_hold(struct metastore *ms)
{
	const char *f = config_str(CFG_store_hold_file);
	bool stop = false;

	if (!*f || !config_bool(CFG_debug_faults) || access(f, F_OK))
		return;
	log_info("'%s' exists: chunk metadata in '%s' waits", f, ms->dir);
	while (!stop && access(f, F_OK) == 0) {
		usleep(10000);
		pthread_mutex_lock(&ms->lock);
		stop = ms->stop;
		pthread_mutex_unlock(&ms->lock);
	}
	log_info("chunk metadata in '%s' goes on", ms->dir);
}

/* Answer the batches of a run with rc (each batch's own if it failed its
 * barrier) and free them. */
static void ms_run_done(struct metastore *ms, struct ms_batch *run, int rc)
{
	struct ms_batch *next;

	for (struct ms_batch *b = run; b; b = next) {
		int brc = b->rc ? b->rc : rc;

		next = b->next;
		if (brc)
			log_warn("chunk metadata batch of %zu ops in '%s' "
				 "failed: %s",
				 ms_batch_len(b->ops), ms->dir,
				 fffs_strerror(brc));
		ms_complete(b->ops, brc);
		free(b);
	}
}

/* Stage 2: commit each run of synced batches in one transaction, while
 * the syncer works on the next batch. A batch fails or succeeds whole, on
 * its own: if the run's transaction fails, each batch of it is committed
 * alone, so one that overfills the map fails only itself. */
static void *ms_committer(void *arg)
{
	struct metastore *ms = arg;
	struct ms_batch *run, *b, *next;
	int rc;

	while ((run = ms_take_synced(ms))) {
		ms_hold(ms);
		rc = run->rc ? run->rc : ms_apply(ms, run);
		if (!rc || run->rc || !run->next) {
			ms_run_done(ms, run, rc);
			continue;
		}
		for (b = run; b; b = next) {
			next = b->next;
			b->next = NULL;
			ms_run_done(ms, b, ms_apply(ms, b));
		}
	}
	return NULL;
}

/* Only when the syncer could not start: end the committer. */
static void ms_stop_committer(struct metastore *ms)
{
	pthread_mutex_lock(&ms->lock);
	ms->syncer_done = true;
	pthread_cond_signal(&ms->synced_cond);
	pthread_mutex_unlock(&ms->lock);
	pthread_join(ms->thread, NULL);
}
