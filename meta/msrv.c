/* meta/msrv.c - a meta server replica: opening its db, its view of the
 * meta chain, the reports to mgmtd, the CLI_META_OP and admin handlers,
 * reads, and the changes waiting for committed_seq (meta/msrv.h). */
#define LOG_SUBSYS "msrv"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "meta/msrv_int.h"
#include "net/pack.h"

struct msrv *msrv_g;

uint64_t msrv_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- opening ------------------------------------------------------------- */

/* Every replica formats its own empty db the same way, at time 0, so
 * that all start byte-identical at seq 1 (meta/msrv.h). */
static int db_format(struct meta_db *db, char *err, size_t errlen)
{
	struct ns_layout l = { 0 };
	struct meta_txn *t;
	int rc;

	if (meta_db_seq(db))
		return 0;
	rc = meta_txn_begin(db, true, &t);
	if (rc)
		goto out_err;
	rc = ns_format(t, 0, 0, &l, 0);
	if (rc) {
		meta_txn_abort(t);
		goto out_err;
	}
	rc = meta_txn_commit(t, NULL);
	if (!rc)
		return 0;
out_err:
	snprintf(err, errlen, "cannot format the namespace db: %s",
		 fffs_strerror(rc));
	return rc;
}

int msrv_open(const struct msrv_params *p, struct msrv **out, char *err,
	      size_t errlen)
{
	struct msrv *s = xcalloc(1, sizeof(*s));
	size_t n = strlen(p->state_dir) + 8;
	int rc;

	*out = NULL;
	s->state_dir = xstrdup(p->state_dir);
	s->db_dir = xmalloc(n);
	snprintf(s->db_dir, n, "%s/db", p->state_dir);
	s->target = p->target;
	s->map_size = p->map_size;
	s->node_id = p->node_id;
	snprintf(s->cluster, sizeof(s->cluster), "%s", p->cluster);
	s->v.pstate = -1;
	s->fresh = true;
	s->snap_fd = -1;
	pthread_rwlock_init(&s->db_lock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	rc = msrv_snap_recover(s->state_dir, err, errlen);
	if (!rc)
		rc = meta_db_open(s->db_dir, s->map_size, 0, &s->db, err,
				  errlen);
	if (!rc)
		rc = db_format(s->db, err, errlen);
	atomic_store(&s->applied, s->db ? meta_db_seq(s->db) : 0);
	atomic_store(&s->written, atomic_load(&s->applied));
	if (!rc) {
		rc = meta_db_async(s->db, msrv_durable, s);
		if (rc)
			snprintf(err, errlen,
				 "namespace db '%s': cannot start its journal "
				 "syncer: %s",
				 s->db_dir, fffs_strerror(rc));
	}
	if (!rc)
		rc = msrv_exec_start(s);
	if (rc) {
		msrv_close(s);
		return rc;
	}
	msrv_g = s;
	*out = s;
	log_info("target %llu: namespace db '%s' at seq %llu",
		 (unsigned long long)s->target, s->db_dir,
		 (unsigned long long)atomic_load(&s->applied));
	return 0;
}

void msrv_close(struct msrv *s)
{
	if (!s)
		return;
	msrv_exec_stop(s);
	pthread_mutex_lock(&s->mu);
	msrv_log_clear(s);
	while (s->waiters) {
		struct msrv_job *j = s->waiters;

		s->waiters = j->next;
		msrv_job_free(j);
	}
	pthread_mutex_unlock(&s->mu);
	meta_db_close(s->db);
	free(s->dirty);
	free(s->log);
	free(s->fwd.snap);
	free(s->state_dir);
	free(s->db_dir);
	if (msrv_g == s)
		msrv_g = NULL;
	free(s);
}

/* ---- the chain view ------------------------------------------------------ */

/* Capacity and use of the storage targets (statfs). */
static void space_of(struct msrv *s, const struct routing *r)
{
	s->capacity = s->used = 0;
	for (uint32_t i = 0; i < r->ntargets; i++) {
		const struct rt_target *t = &r->targets[i];
		const struct rt_node *n = routing_node(r, t->node);

		if (n && n->role == ROLE_STORAGE) {
			s->capacity += t->capacity;
			s->used += t->used;
		}
	}
}

void msrv_routing(void *arg, struct routing *r)
{
	struct msrv *s = arg;
	uint32_t chain, ver;
	uint64_t succ;
	int ps;

	pthread_mutex_lock(&s->mu);
	chain = s->v.chain;
	ver = s->v.chain_ver;
	ps = s->v.pstate;
	succ = s->v.succ;
	space_of(s, r);
	chain_view_compute(&s->v, r, s->target);
	/* a restarted replica may have lost write sets (or hold some nobody
	 * else has): it serves only after mgmtd has seen it go and sync */
	if (s->fresh && s->v.pstate != RT_SERVING)
		s->fresh = false;
	if (succ != s->v.succ)
		s->succ_acked = 0;
	msrv_commit_update(s);
	if (chain != s->v.chain || ver != s->v.chain_ver || ps != s->v.pstate)
		log_info("target %llu: chain %u version %u, %s%s%s%s",
			 (unsigned long long)s->target, s->v.chain,
			 s->v.chain_ver,
			 s->v.pstate < 0 ? "in no chain"
					 : rt_pstate_name(s->v.pstate),
			 s->v.head ? ", head" : "",
			 s->v.tail && s->v.pstate == RT_SERVING ? ", tail" : "",
			 s->fresh ? ", restarted: waiting to sync" : "");
	pthread_mutex_unlock(&s->mu);
	msrv_fwd_view(core_self(), s);
	msrv_gc_start(core_self(), s);
}

int msrv_report(void *arg, struct agent_report *out, int max)
{
	struct msrv *s = arg;
	uint8_t ls;

	if (max < 1)
		return 0;
	pthread_mutex_lock(&s->mu);
	ls = chain_local_state(s->v.pstate, s->v.chain_ver, s->synced_ver,
			       atomic_load(&s->db_failed) || s->fresh);
	pthread_mutex_unlock(&s->mu);
	out[0] = (struct agent_report){ s->target, ls, 0, 0 };
	return 1;
}

/* ---- answering ----------------------------------------------------------- */

void msrv_job_free(struct msrv_job *j)
{
	mreq_release(&j->q);
	free(j->in);
	if (j->val)
		free(j->val); /* out points into it */
	else
		free(j->out);
	free(j);
}

static void job_reply_cb(struct core *c, struct loop_msg *m)
{
	struct msrv_job *j = fffs_container_of(m, struct msrv_job, m);

	core_unhold(c);
	if (j->done)
		return j->done(c, j);
	if (j->req)
		rpc_reply(c, j->req, j->status, j->out, (uint32_t)j->out_len,
			  NULL, 0, NULL, NULL);
	msrv_job_free(j);
}

void msrv_job_reply(struct core *c, struct msrv_job *j)
{
	j->m.cb = job_reply_cb;
	core_post(j->c, &j->m);
}

/* committed_seq: our applied seq when no serving member follows us, else
 * what the serving successor answered. Never goes back. */
void msrv_commit_update(struct msrv *s)
{
	uint64_t applied = atomic_load(&s->applied), c = s->committed;
	struct msrv_job **pp = &s->waiters, *j;

	if (s->v.tail)
		c = applied;
	else if (s->succ_acked > c)
		c = s->succ_acked < applied ? s->succ_acked : applied;
	if (c > s->committed)
		s->committed = c;
	while ((j = *pp)) {
		bool gone =
			s->v.pstate != RT_SERVING && s->v.pstate != RT_SYNCING;

		if (j->seq > s->committed && !gone) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (j->seq > s->committed) {
			/* out of the chain: its replacement takes the retry */
			j->status = -FFFS_ENOTSERVING;
			j->out_len = 0;
		}
		msrv_job_reply(NULL, j);
	}
	msrv_dirty_prune(s);
}

/* ---- reads --------------------------------------------------------------- */

static bool read_dirty(struct msrv *s, const struct mreq *q,
		       const struct mres *r)
{
	bool d = false;

	pthread_mutex_lock(&s->mu);
	if (!s->v.tail) {
		if (q->op == MOP_RESOLVE)
			d = s->ndirty > 0; /* every component: no finer */
		else if (q->op == MOP_STATFS)
			d = msrv_dirty_locked(s, 0);
		else
			d = msrv_dirty_locked(s, q->ino) ||
			    msrv_dirty_locked(s, q->parent);
		for (int i = 0; !d && i < r->res.n; i++)
			d = msrv_dirty_locked(s, r->res.a[i].ino);
	}
	pthread_mutex_unlock(&s->mu);
	return d;
}

/* The replica may answer a request made at chain_ver: a read anywhere
 * serving, a change only at the head. */
static int serve_check(struct msrv *s, uint32_t chain_ver, bool change)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	if (atomic_load(&s->db_failed))
		rc = -EIO;
	else if (!s->v.chain || s->v.pstate != RT_SERVING || s->fresh)
		rc = -FFFS_ENOTSERVING;
	else if (change && !s->v.head)
		rc = -FFFS_ENOTHEAD;
	else if (!agent_serving_allowed())
		rc = -FFFS_EFENCED;
	else if (chain_ver != s->v.chain_ver)
		rc = -FFFS_ECHAINVER;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int do_read(struct core *c, struct rpc_req *req, struct mreq *q)
{
	struct msrv *s = msrv_g;
	struct mres r = { 0 };
	struct meta_txn *t;
	struct pack pk;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = serve_check(s, q->chain_ver, false);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&s->db_lock);
	rc = meta_txn_begin(s->db, false, &t);
	if (rc)
		goto out_unlock;
	mres_exec(t, q, msrv_realtime_ns(), s->capacity, s->used, &r);
	if (read_dirty(s, q, &r)) {
		rc = -FFFS_EDIRTY;
	} else if (!r.status) {
		len = mres_size(q->op, &r);
		buf = xmalloc(len ? len : 1);
		pack_init(&pk, buf, len);
		mres_pack(&pk, q->op, &r);
		FFFS_ASSERT(!pk.err);
		len = pack_len(&pk);
	}
	meta_txn_abort(t);
	if (!rc)
		rpc_reply(c, req, r.status, buf, (uint32_t)len, NULL, 0, NULL,
			  NULL);
	free(buf);
	mres_release(&r);
out_unlock:
	pthread_rwlock_unlock(&s->db_lock);
	return rc;
}

/* ---- CLI_META_OP --------------------------------------------------------- */

static int h_op(struct core *c, struct rpc_req *req)
{
	struct msrv_job *j = xcalloc(1, sizeof(*j));
	int rc;

	rc = mreq_unpack(req->body, req->body_len, &j->q);
	if (rc) {
		log_debug("malformed CLI_META_OP from %s: %s",
			  rpc_req_peer(req), fffs_strerror(rc));
		free(j);
		return rc;
	}
	if (mop_is_read(j->q.op)) {
		rc = do_read(c, req, &j->q);
		msrv_job_free(j);
		return rc;
	}
	rc = serve_check(msrv_g, j->q.chain_ver, true);
	if (rc) {
		msrv_job_free(j);
		return rc;
	}
	j->kind = JOB_CHANGE;
	j->c = c;
	j->req = req;
	j->chain_ver = j->q.chain_ver;
	rc = msrv_trim_start(c, msrv_g, j);
	if (rc < 0) {
		msrv_job_free(j);
		return rc;
	}
	if (!rc)
		msrv_exec_push(msrv_g, j);
	return 0;
}

/* ---- admin --------------------------------------------------------------- */

static int h_admin(struct core *c, struct rpc_req *req, enum msrv_job_kind k)
{
	struct msrv_job *j;

	if (req->body_len)
		return -FFFS_EBADFRAME;
	j = xcalloc(1, sizeof(*j));
	j->kind = k;
	j->c = c;
	j->req = req;
	msrv_exec_push(msrv_g, j);
	return 0;
}

static int h_digest(struct core *c, struct rpc_req *req)
{
	return h_admin(c, req, JOB_DIGEST);
}

static int h_fsck(struct core *c, struct rpc_req *req)
{
	return h_admin(c, req, JOB_FSCK);
}

const struct rpc_handler msrv_handlers[MSG__MAX] = {
	RPC_HANDLER(PEER_SRV_PING, rpc_handle_ping),
	RPC_HANDLER(BENCH_SRV_ECHO, rpc_handle_echo), /* bench meta's ceiling */
	RPC_HANDLER(CLI_META_OP, h_op),
	RPC_HANDLER(META_META_FORWARD, msrv_h_forward),
	RPC_HANDLER(META_META_SEQ, msrv_h_seq),
	RPC_HANDLER(META_META_SNAPSHOT, msrv_h_snapshot),
	RPC_HANDLER(META_META_SYNC_DONE, msrv_h_sync_done),
	RPC_HANDLER(ADM_META_FSCK, h_fsck),
	RPC_HANDLER(ADM_META_DIGEST, h_digest),
};
