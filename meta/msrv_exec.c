/* meta/msrv_exec.c - the meta server's executor thread, the only writer of
 * its db: group commit of the head's changes (with the requests table
 * that makes retries idempotent), applying forwarded write sets, the
 * admin digest and fsck, the dirty table of reads (meta/msrv.h).
 *
 * A batch is the changes queued together (at most MSRV_BATCH, and about
 * MSRV_BATCH_DATA bytes of request data so that its write set fits a
 * message body), run in one write transaction and one synced commit. An
 * op that leaves the transaction broken (-ENOSPC, -EIO, -FFFS_EBADFRAME)
 * makes the batch run again op by op, so that only that op fails. The
 * replies wait for committed_seq to reach the batch's seq (msrv.c). */
#define LOG_SUBSYS "msrv"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/msrv_int.h"
#include "net/pack.h"

#define REQ_KEY_LEN	16
#define REQ_VAL_HDR	5 /* u8 format, i32 status */
#define FORGET_MAX	256
#define FSCK_REPORT_MAX (256u << 10)

/* ---- dirty inodes (s->mu held) ------------------------------------------- */

static void dirty_mark(struct msrv *s, uint64_t ino, uint64_t seq)
{
	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty[i].ino == ino) {
			if (s->dirty[i].seq < seq)
				s->dirty[i].seq = seq;
			return;
		}
	if (s->ndirty == s->dirty_cap) {
		s->dirty_cap = s->dirty_cap ? 2 * s->dirty_cap : 64;
		s->dirty = xrealloc(s->dirty, s->dirty_cap * sizeof(*s->dirty));
	}
	s->dirty[s->ndirty++] = (struct msrv_dirty){ ino, seq };
}

bool msrv_dirty_locked(struct msrv *s, uint64_t ino)
{
	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty[i].ino == ino)
			return s->dirty[i].seq > s->committed;
	return false;
}

void msrv_dirty_prune(struct msrv *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->ndirty; i++)
		if (s->dirty[i].seq > s->committed)
			s->dirty[k++] = s->dirty[i];
	s->ndirty = k;
}

struct touch {
	struct msrv *s;
	uint64_t seq;
};

static void touched(void *arg, uint64_t ino)
{
	struct touch *t = arg;

	dirty_mark(t->s, ino, t->seq);
}

static int mark_ws(struct msrv *s, const void *ws, size_t len, uint64_t seq)
{
	struct touch t = { s, seq };
	uint64_t got;
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = meta_ws_touched(ws, len, &got, touched, &t);
	pthread_mutex_unlock(&s->mu);
	if (!rc && got != seq) {
		log_warn("target %llu: a write set of seq %llu came as seq "
			 "%llu; refused",
			 (unsigned long long)s->target, (unsigned long long)got,
			 (unsigned long long)seq);
		rc = -FFFS_EBADFRAME;
	}
	return rc;
}

/* ---- the queue ----------------------------------------------------------- */

void msrv_exec_push(struct msrv *s, struct msrv_job *j)
{
	/* a stop drains it like an operation: its answer comes back here */
	core_hold(j->c);
	j->next = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->qtail)
		s->qtail->next = j;
	else
		s->qhead = j;
	s->qtail = j;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

static void fail_db(struct msrv *s, int rc)
{
	if (rc == -EIO || rc == -FFFS_EBADFRAME) {
		if (!atomic_exchange(&s->db_failed, true))
			log_error("target %llu: namespace db '%s' failed: %s; "
				  "reporting the target offline",
				  (unsigned long long)s->target, s->db_dir,
				  fffs_strerror(rc));
	}
}

/* ---- changes ------------------------------------------------------------- */

static bool fatal(int st)
{
	return st == -ENOSPC || st == -EIO || st == -FFFS_EBADFRAME;
}

static void be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void req_key(uint8_t *k, uint64_t client, uint64_t req_id)
{
	be64(k, client);
	be64(k + 8, req_id);
}

/* A remembered answer: j->val, j->out into it. */
static int answered(struct msrv_job *j, const void *v, size_t vlen)
{
	struct unpack up;
	uint8_t format;

	unpack_init(&up, v, vlen);
	format = unpack_u8(&up);
	j->status = unpack_i32(&up);
	if (up.err || format != MSRV_REQ_FORMAT)
		return -FFFS_EBADFRAME;
	j->val = xmalloc(vlen);
	memcpy(j->val, v, vlen);
	j->out = j->val + REQ_VAL_HDR;
	j->out_len = vlen - REQ_VAL_HDR;
	return 0;
}

/* Run j on t: 0 (j->status is the op's answer, recorded), or an error
 * that broke t. */
static int exec_one(struct msrv *s, struct meta_txn *t, struct msrv_job *j,
		    uint64_t now)
{
	uint8_t key[REQ_KEY_LEN];
	struct mres r = { 0 };
	const void *v;
	struct pack pk;
	size_t vlen, len;
	int rc;

	req_key(key, j->q.client, j->q.req_id);
	if (j->q.req_id) {
		rc = meta_get(t, META_T_REQUESTS, key, sizeof(key), &v, &vlen);
		if (!rc)
			return answered(j, v, vlen);
		if (rc != -ENOENT)
			return rc;
	}
	mres_exec(t, &j->q, now, s->capacity, s->used, &r);
	if (fatal(r.status)) {
		mres_release(&r);
		return r.status;
	}
	len = r.status ? 0 : mres_size(j->q.op, &r);
	j->val = xmalloc(REQ_VAL_HDR + len);
	pack_init(&pk, j->val, REQ_VAL_HDR + len);
	pack_u8(&pk, MSRV_REQ_FORMAT);
	pack_i32(&pk, r.status);
	if (!r.status)
		mres_pack(&pk, j->q.op, &r);
	FFFS_ASSERT(!pk.err);
	mres_release(&r);
	j->status = r.status;
	j->out = j->val + REQ_VAL_HDR;
	j->out_len = pack_len(&pk) - REQ_VAL_HDR;
	if (!j->q.req_id)
		return 0;
	return meta_put(t, META_T_REQUESTS, key, sizeof(key), j->val,
			pack_len(&pk));
}

struct forget {
	uint64_t floor;
	uint8_t keys[FORGET_MAX][REQ_KEY_LEN];
	int n;
};

static int forget_one(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct forget *f = arg;

	if (klen != REQ_KEY_LEN ||
	    get_be64((const uint8_t *)key + 8) >= f->floor ||
	    f->n == FORGET_MAX)
		return 1;
	memcpy(f->keys[f->n++], key, REQ_KEY_LEN);
	return 0;
}

/* The client's answers below its ack floor are not needed any more. */
static void forget(struct meta_txn *t, const struct mreq *q)
{
	static __thread struct forget f;
	uint8_t start[REQ_KEY_LEN];

	if (!q->client || q->ack_floor < 2)
		return;
	req_key(start, q->client, 0);
	f.floor = q->ack_floor;
	f.n = 0;
	if (meta_scan(t, META_T_REQUESTS, start, sizeof(start), start, 8,
		      forget_one, &f) < 0)
		return;
	for (int i = 0; i < f.n; i++)
		meta_del(t, META_T_REQUESTS, f.keys[i], REQ_KEY_LEN);
}

bool msrv_still_head(struct msrv *s, uint32_t chain_ver)
{
	bool ok;

	pthread_mutex_lock(&s->mu);
	ok = s->v.head && !s->fresh && chain_ver == s->v.chain_ver &&
	     agent_serving_allowed();
	pthread_mutex_unlock(&s->mu);
	return ok;
}

void msrv_answer_now(struct msrv_job *j, int status)
{
	if (status) {
		free(j->val);
		j->val = NULL;
		j->out = NULL;
		j->out_len = 0;
		j->status = status;
	}
	j->wait = false;
	msrv_job_reply(NULL, j);
}

/* Committed at seq: the jobs wait for committed_seq to reach it. */
static void batch_wait(struct msrv *s, struct msrv_job **jobs, int n,
		       uint64_t seq)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < n; i++) {
		if (!jobs[i])
			continue;
		jobs[i]->seq = seq;
		jobs[i]->wait = true;
		jobs[i]->next = s->waiters;
		s->waiters = jobs[i];
	}
	msrv_commit_update(s);
	pthread_mutex_unlock(&s->mu);
}

/* The write set is final: the successor may have it while this replica
 * makes it durable, so that the chain's synced commits overlap instead of
 * running one after the other. committed_seq still waits for this one's
 * own commit (s->applied). */
static void sealed(void *arg, const struct meta_ws *ws)
{
	struct msrv *s = arg;

	msrv_log_append(s, ws->buf, ws->len, ws->seq);
}

/* A commit failed after its write set went into the log (and maybe on to
 * the successor): this db can no longer follow the chain's sequence. */
static void db_lost(struct msrv *s, uint64_t seq, int rc)
{
	if (!atomic_exchange(&s->db_failed, true))
		log_error("target %llu: write set %llu was logged but its "
			  "commit in '%s' failed: %s; reporting the target "
			  "offline (it catches up from a copy)",
			  (unsigned long long)s->target,
			  (unsigned long long)seq, s->db_dir,
			  fffs_strerror(rc));
}

int msrv_exec_commit(struct msrv *s, struct meta_txn *t, struct meta_ws *ws)
{
	struct touch tc = { s, 0 };
	int rc;

	/* dirty before a reader can see it (meta/msrv.h, Reads); tc.seq is
	 * set before touched() runs */
	pthread_mutex_lock(&s->mu);
	rc = meta_txn_touched(t, &tc.seq, touched, &tc);
	pthread_mutex_unlock(&s->mu);
	if (rc) {
		meta_txn_abort(t);
		return rc;
	}
	rc = meta_txn_commit_sealed(t, ws, sealed, s);
	if (rc) {
		db_lost(s, tc.seq, rc);
		return rc;
	}
	atomic_store(&s->written, ws->seq);
	return 0;
}

void msrv_durable(void *arg, uint64_t seq, int rc)
{
	struct msrv *s = arg;

	if (rc) {
		db_lost(s, seq, rc);
		return;
	}
	pthread_mutex_lock(&s->mu);
	if (seq > atomic_load(&s->applied))
		atomic_store(&s->applied, seq);
	msrv_commit_update(s);
	pthread_mutex_unlock(&s->mu);
}

static void run_batch(struct msrv *s, struct msrv_job **jobs, int n, bool split)
{
	uint64_t now = msrv_realtime_ns();
	struct meta_txn *t;
	struct meta_ws ws;
	int rc, live = 0;

	pthread_rwlock_rdlock(&s->db_lock);
	rc = meta_txn_begin(s->db, true, &t);
	if (rc)
		goto out_fail;
	for (int i = 0; i < n; i++) {
		if (!msrv_still_head(s, jobs[i]->chain_ver)) {
			msrv_answer_now(jobs[i], -FFFS_ENOTHEAD);
			jobs[i] = NULL;
			continue;
		}
		rc = exec_one(s, t, jobs[i], now);
		if (rc) {
			meta_txn_abort(t);
			if (!split)
				goto out_fail;
			pthread_rwlock_unlock(&s->db_lock);
			for (int k = 0; k < n; k++)
				if (jobs[k]) {
					free(jobs[k]->val);
					jobs[k]->val = NULL;
					run_batch(s, &jobs[k], 1, false);
				}
			return;
		}
		forget(t, &jobs[i]->q);
		live++;
	}
	rc = msrv_exec_commit(s, t, &ws);
	if (rc)
		goto out_fail;
	pthread_rwlock_unlock(&s->db_lock);
	log_debug("batch of %d changes committed as seq %llu (%zu bytes)", live,
		  (unsigned long long)ws.seq, ws.len);
	batch_wait(s, jobs, n, ws.seq);
	meta_ws_release(&ws);
	return;
out_fail:
	pthread_rwlock_unlock(&s->db_lock);
	fail_db(s, rc);
	if (rc != -ENOSPC)
		log_warn("target %llu: a batch of %d changes failed: %s",
			 (unsigned long long)s->target, n, fffs_strerror(rc));
	for (int i = 0; i < n; i++)
		if (jobs[i])
			msrv_answer_now(jobs[i], rc);
}

/* ---- forwarded write sets ------------------------------------------------ */

static void set_seq_out(struct msrv_job *j, uint64_t seq)
{
	struct pack pk;

	j->out = xmalloc(8);
	j->out_len = 8;
	pack_init(&pk, j->out, 8);
	pack_u64(&pk, seq);
}

/* Applied (or had) up to cur: j is answered once committed_seq reaches its
 * seq. */
static void apply_wait(struct msrv *s, struct msrv_job *j, uint64_t cur)
{
	set_seq_out(j, cur);
	j->status = 0;
	pthread_mutex_lock(&s->mu);
	j->wait = true;
	j->next = s->waiters;
	s->waiters = j;
	msrv_commit_update(s);
	pthread_mutex_unlock(&s->mu);
}

static void run_apply(struct msrv *s, struct msrv_job *j)
{
	uint64_t cur;
	int rc = 0;

	pthread_rwlock_rdlock(&s->db_lock);
	cur = meta_db_seq(s->db);
	if (j->seq == cur + 1) {
		/* dirty before a reader can see it; a well-formed write set
		 * of this seq goes on to the successor while it is applied
		 * here (see sealed()) */
		rc = mark_ws(s, j->in, j->in_len, j->seq);
		if (!rc) {
			msrv_log_append(s, j->in, j->in_len, j->seq);
			rc = meta_db_apply(s->db, j->in, j->in_len);
			/* a full map: the predecessor sends the same seq
			 * again, which replaces it in the log */
			if (rc && rc != -ENOSPC)
				db_lost(s, j->seq, rc);
		}
		cur = meta_db_seq(s->db);
		atomic_store(&s->written, cur);
	} else if (j->seq > cur) {
		rc = -FFFS_EVERSION;
	}
	pthread_rwlock_unlock(&s->db_lock);
	if (rc) {
		set_seq_out(j, cur);
		j->status = rc;
		return msrv_answer_now(j, 0);
	}
	apply_wait(s, j, cur);
}

/* Forwarded write sets queued together. Those that extend the applied seq
 * (the usual case: a replica whose predecessor commits faster than it
 * does falls behind by a few) are applied in one commit, so that it
 * catches up in one step instead of one synced commit each; the others,
 * and all of them when that commit fails (a full map may still take them
 * one at a time), go one by one. */
static void run_applies(struct msrv *s, struct msrv_job **jobs, int n)
{
	struct iovec v[MSRV_BATCH];
	uint64_t cur;
	int k = 0, rc;

	pthread_rwlock_rdlock(&s->db_lock);
	cur = meta_db_seq(s->db);
	while (n > 1 && k < n && jobs[k]->seq == cur + 1 + (uint64_t)k &&
	       !mark_ws(s, jobs[k]->in, jobs[k]->in_len, jobs[k]->seq)) {
		v[k].iov_base = jobs[k]->in;
		v[k].iov_len = jobs[k]->in_len;
		k++;
	}
	rc = -EAGAIN;
	if (k > 1) {
		for (int i = 0; i < k; i++)
			msrv_log_append(s, jobs[i]->in, jobs[i]->in_len,
					jobs[i]->seq);
		rc = meta_db_apply_many(s->db, v, k);
		if (!rc)
			log_debug("write sets %llu..%llu applied in one commit",
				  (unsigned long long)jobs[0]->seq,
				  (unsigned long long)jobs[k - 1]->seq);
		cur = meta_db_seq(s->db);
		atomic_store(&s->written, cur);
	}
	pthread_rwlock_unlock(&s->db_lock);
	if (rc)
		k = 0;
	for (int i = 0; i < k; i++)
		apply_wait(s, jobs[i], cur);
	for (int i = k; i < n; i++)
		run_apply(s, jobs[i]);
}

/* ---- admin --------------------------------------------------------------- */

static void run_digest(struct msrv *s, struct msrv_job *j)
{
	uint8_t d[32];
	struct pack pk;
	int rc;

	pthread_rwlock_rdlock(&s->db_lock);
	j->out = xmalloc(40);
	pack_init(&pk, j->out, 40);
	pack_u64(&pk, meta_db_seq(s->db));
	rc = meta_db_digest(s->db, d);
	pack_bytes(&pk, d, sizeof(d));
	pthread_rwlock_unlock(&s->db_lock);
	j->out_len = rc ? 0 : 40;
	msrv_answer_now(j, rc);
}

struct report {
	char *buf;
	size_t len, cap;
};

static void problem(void *arg, const char *p)
{
	struct report *r = arg;
	size_t n = strlen(p);

	if (r->len + n + 1 > FSCK_REPORT_MAX)
		return;
	if (r->len + n + 1 > r->cap) {
		r->cap = 2 * (r->len + n + 1);
		r->buf = xrealloc(r->buf, r->cap);
	}
	memcpy(r->buf + r->len, p, n);
	r->buf[r->len + n] = '\n';
	r->len += n + 1;
}

static void run_fsck(struct msrv *s, struct msrv_job *j)
{
	struct report rep = { 0 };
	struct meta_txn *t;
	struct pack pk;
	int rc, n = 0;

	pthread_rwlock_rdlock(&s->db_lock);
	rc = meta_txn_begin(s->db, false, &t);
	if (!rc) {
		n = ns_fsck(t, problem, &rep);
		meta_txn_abort(t);
	}
	j->out_len = 8 + 4 + 4 + rep.len;
	j->out = xmalloc(j->out_len);
	pack_init(&pk, j->out, j->out_len);
	pack_u64(&pk, meta_db_seq(s->db));
	pthread_rwlock_unlock(&s->db_lock);
	pack_u32(&pk, n < 0 ? 0 : (uint32_t)n);
	pack_blob(&pk, rep.buf, (uint32_t)rep.len);
	free(rep.buf);
	if (n < 0)
		rc = n;
	msrv_answer_now(j, rc);
}

/* ---- the thread ---------------------------------------------------------- */

static void run_list(struct msrv *s, struct msrv_job *j)
{
	struct msrv_job *batch[MSRV_BATCH], *next;
	int n = 0;
	size_t data = 0;

	for (; j; j = next) {
		next = j->next;
		if (j->kind == JOB_CHANGE || j->kind == JOB_APPLY) {
			batch[n++] = j;
			data += j->kind == JOB_CHANGE ? j->q.data_len : 0;
			if (next && next->kind == j->kind && n < MSRV_BATCH &&
			    data < MSRV_BATCH_DATA)
				continue;
			if (j->kind == JOB_CHANGE)
				run_batch(s, batch, n, n > 1);
			else
				run_applies(s, batch, n);
			n = 0;
			data = 0;
			continue;
		}
		if (j->kind == JOB_SNAP_MAKE)
			msrv_snap_make(s, j);
		else if (j->kind == JOB_SNAP_PIECE)
			msrv_snap_piece(s, j);
		else if (j->kind == JOB_DIGEST)
			run_digest(s, j);
		else if (j->kind == JOB_GC_NEXT || j->kind == JOB_GC_DONE ||
			 j->kind == JOB_PRUNE)
			msrv_gc_run(s, j);
		else
			run_fsck(s, j);
	}
}

static void *exec_main(void *arg)
{
	struct msrv *s = arg;
	struct msrv_job *list;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->qhead && !s->stop)
			pthread_cond_wait(&s->cond, &s->mu);
		if (s->stop)
			break;
		list = s->qhead;
		s->qhead = s->qtail = NULL;
		pthread_mutex_unlock(&s->mu);
		run_list(s, list);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int msrv_exec_start(struct msrv *s)
{
	int rc = fffs_thread_start(&s->exec, "fffs-mexec", exec_main, s);

	if (!rc)
		s->exec_started = true;
	return rc;
}

/* After the loops stopped: what is still queued is dropped. */
void msrv_exec_stop(struct msrv *s)
{
	if (!s->exec_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->exec, NULL);
	s->exec_started = false;
	while (s->qhead) {
		struct msrv_job *j = s->qhead;

		s->qhead = j->next;
		msrv_job_free(j);
	}
	s->qtail = NULL;
}
