/* meta/msrv_repl.c - replication of the meta chain: the log of write sets
 * a replica committed or applied, the forwarder that feeds them in order
 * to its successor (core 0), and the META_META_FORWARD / META_META_SEQ
 * handlers of the receiving side (meta/msrv.h).
 *
 * The forwarder asks the successor's applied seq, then sends every write
 * set after it, MSRV_FWD_WINDOW in flight. A write set is in the log as
 * soon as it is final, while this replica still makes it durable, so the
 * replicas' synced commits overlap; an answer still means durable on
 * every replica after us, and committed_seq also waits for our own. An answer
 * for seq s means the successor's committed_seq reached s: for a serving
 * successor that is our committed_seq too. A gap (-FFFS_EVERSION) resumes after
 * the seq the successor names; any other failure waits craq_retry_ms and starts
 * over from a fresh META_META_SEQ. A routing change that gives another
 * successor or chain version starts a new epoch: answers of the old one
 * are ignored. A syncing successor first gets a copy of the db
 * (msrv_sync.c). */
#define LOG_SUBSYS "msrv"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "meta/msrv_int.h"
#include "net/pack.h"

#define FWD_HDR 28 /* u32 chain, u32 chain_ver, u64 target, u64 seq, u32 */

struct fwd_call {
	struct rpc_call call;
	uint64_t epoch, seq;
	uint8_t *body;
};

static void pump(struct core *c, struct msrv *s);
static void query(struct core *c, struct msrv *s);

/* ---- the log ------------------------------------------------------------- */

static void log_drop_front(struct msrv *s)
{
	struct msrv_log_ent *e = &s->log[s->log_off++];

	s->log_bytes -= e->len;
	free(e->buf);
	if (s->log_off == s->log_n) {
		s->log_off = s->log_n = 0;
	} else if (s->log_off > s->log_cap / 2) {
		memmove(s->log, s->log + s->log_off,
			(s->log_n - s->log_off) * sizeof(*s->log));
		s->log_n -= s->log_off;
		s->log_off = 0;
	}
}

void msrv_log_clear(struct msrv *s)
{
	while (s->log_off < s->log_n)
		log_drop_front(s);
}

void msrv_log_append(struct msrv *s, const void *ws, size_t len, uint64_t seq)
{
	uint64_t limit = (uint64_t)config_int(CFG_msrv_log_bytes);
	struct msrv_log_ent *e;

	pthread_mutex_lock(&s->mu);
	if (s->log_n > s->log_off && s->log[s->log_n - 1].seq + 1 != seq)
		msrv_log_clear(s); /* a copy was installed meanwhile */
	if (s->log_n == s->log_cap) {
		s->log_cap = s->log_cap ? 2 * s->log_cap : 256;
		s->log = xrealloc(s->log, s->log_cap * sizeof(*s->log));
	}
	e = &s->log[s->log_n++];
	e->seq = seq;
	e->len = len;
	e->buf = xmalloc(len);
	memcpy(e->buf, ws, len);
	s->log_bytes += len;
	/* only what every serving replica has may go */
	while (s->log_bytes > limit && s->log_n - s->log_off > 1 &&
	       s->log[s->log_off].seq <= s->committed)
		log_drop_front(s);
	pthread_mutex_unlock(&s->mu);
	msrv_fwd_kick(s);
}

/* With s->mu held: a copy of the FORWARD body for seq, or NULL when the
 * log does not have it (*gap: it is older than the log). */
static uint8_t *log_body(struct msrv *s, uint64_t seq, size_t *blen, bool *gap)
{
	struct msrv_fwd *f = &s->fwd;
	struct msrv_log_ent *e;
	struct pack pk;
	uint8_t *b;

	*gap = false;
	if (s->log_off == s->log_n) { /* not yet, or no longer, here */
		*gap = seq <= atomic_load(&s->applied);
		return NULL;
	}
	if (seq < s->log[s->log_off].seq) {
		*gap = true;
		return NULL;
	}
	if (seq > s->log[s->log_n - 1].seq)
		return NULL;
	e = &s->log[s->log_off + (seq - s->log[s->log_off].seq)];
	FFFS_ASSERT(e->seq == seq);
	*blen = FWD_HDR + e->len;
	b = xmalloc(*blen);
	pack_init(&pk, b, *blen);
	msrv_hdr_pack(&pk, f);
	pack_u64(&pk, seq);
	pack_blob(&pk, e->buf, (uint32_t)e->len);
	FFFS_ASSERT(!pk.err);
	return b;
}

/* ---- the forwarder (core 0) ---------------------------------------------- */

static void kick_cb(struct core *c, struct loop_msg *m)
{
	struct msrv *s = msrv_g;

	atomic_store(&s->fwd.kick_posted, false);
	if (s->fwd.state == FWD_RUN)
		pump(c, s);
}

void msrv_fwd_kick(struct msrv *s)
{
	if (atomic_exchange(&s->fwd.kick_posted, true))
		return;
	s->fwd.kick.cb = kick_cb;
	core_post(core_get(0), &s->fwd.kick);
}

static void fwd_timer(struct core *c, struct loop_timer *t)
{
	struct msrv *s = msrv_g;

	if (s->fwd.state == FWD_WAIT)
		query(c, s);
	else if (s->fwd.state == FWD_RUN)
		pump(c, s);
}

/* Something failed: start over (new epoch) after craq_retry_ms. */
static void fwd_wait(struct core *c, struct msrv *s, const char *what,
		     int status)
{
	struct msrv_fwd *f = &s->fwd;

	if (!f->gap_logged)
		log_info("target %llu: %s to %llu failed: %s; retrying",
			 (unsigned long long)s->target, what,
			 (unsigned long long)f->to, fffs_strerror(status));
	f->gap_logged = true;
	f->epoch++;
	f->inflight = 0;
	f->sync_inflight = false;
	f->state = FWD_WAIT;
	core_timer_del(c, &f->timer);
	core_timer_add(c, &f->timer,
		       (uint64_t)config_int(CFG_craq_retry_ms) * 1000000);
}

struct rpc_peer *msrv_fwd_peer(struct core *c, struct msrv *s)
{
	char err[256];
	struct rpc_peer *p = rpc_peer_get(c, s->fwd.addr, err, sizeof(err));

	if (!p)
		log_error("target %llu: successor %llu: %s",
			  (unsigned long long)s->target,
			  (unsigned long long)s->fwd.to, err);
	return p;
}

static void fwd_done(struct core *c, struct rpc_call *call, int status,
		     const void *body, uint32_t len)
{
	struct fwd_call *fc = fffs_container_of(call, struct fwd_call, call);
	struct msrv *s = msrv_g;
	struct msrv_fwd *f = &s->fwd;
	struct unpack up;
	uint64_t applied;

	if (fc->epoch != f->epoch)
		goto out;
	f->inflight--;
	if (!status) {
		f->gap_logged = false;
		if (fc->seq > f->acked)
			f->acked = fc->seq;
		pthread_mutex_lock(&s->mu);
		if (!f->syncing && f->to == s->v.succ &&
		    f->acked > s->succ_acked)
			s->succ_acked = f->acked;
		msrv_commit_update(s);
		pthread_mutex_unlock(&s->mu);
		pump(c, s);
		goto out;
	}
	unpack_init(&up, body, len);
	applied = unpack_u64(&up);
	if (status == -FFFS_EVERSION && !unpack_finish(&up)) {
		if (applied + 1 < f->next)
			f->next = applied + 1;
		pump(c, s);
		goto out;
	}
	fwd_wait(c, s, "forwarding write sets", status);
out:
	free(fc->body);
	free(fc);
}

static int send_one(struct core *c, struct msrv *s, uint64_t seq)
{
	struct fwd_call *fc;
	struct rpc_peer *p;
	uint8_t *b;
	size_t blen = 0;
	bool gap;

	pthread_mutex_lock(&s->mu);
	b = log_body(s, seq, &blen, &gap);
	pthread_mutex_unlock(&s->mu);
	if (!b)
		return gap ? -ENOENT : -EAGAIN;
	p = msrv_fwd_peer(c, s);
	if (!p) {
		free(b);
		return -EINVAL;
	}
	fc = xcalloc(1, sizeof(*fc));
	fc->epoch = s->fwd.epoch;
	fc->seq = seq;
	fc->body = b;
	fc->call.type = MSG_META_META_FORWARD;
	fc->call.body = b;
	fc->call.body_len = (uint32_t)blen;
	/* answered once the rest of the chain has it: as long as a chain
	 * write may wait for its chain to recover */
	fc->call.timeout_ms = (uint32_t)config_int(CFG_craq_write_timeout_ms);
	fc->call.done = fwd_done;
	s->fwd.inflight++;
	rpc_call_start(c, p, &fc->call);
	return 0;
}

static void pump(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	int rc;

	if (f->state != FWD_RUN)
		return;
	if (!agent_serving_allowed()) { /* fenced: look again later */
		core_timer_del(c, &f->timer);
		core_timer_add(c, &f->timer,
			       (uint64_t)config_int(CFG_craq_retry_ms) *
				       1000000);
		return;
	}
	/* everything logged, including a write set this replica is still
	 * making durable (msrv_exec.c, sealed()) */
	while (f->inflight < MSRV_FWD_WINDOW) {
		rc = send_one(c, s, f->next);
		if (rc == -EAGAIN)
			break;
		if (rc == -ENOENT && f->syncing) {
			log_info("target %llu: write set %llu is no longer in "
				 "the log: a new copy for %llu",
				 (unsigned long long)s->target,
				 (unsigned long long)f->next,
				 (unsigned long long)f->to);
			f->epoch++;
			f->inflight = 0;
			return msrv_sync_start(c, s);
		}
		if (rc)
			return fwd_wait(c, s, "forwarding write sets",
					rc == -ENOENT ? -FFFS_EVERSION : rc);
		f->next++;
	}
	if (f->syncing)
		msrv_sync_check(c, s);
}

static void seq_done(struct core *c, struct rpc_call *call, int status,
		     const void *body, uint32_t len)
{
	struct fwd_call *fc = fffs_container_of(call, struct fwd_call, call);
	struct msrv *s = msrv_g;
	struct msrv_fwd *f = &s->fwd;
	struct unpack up;
	uint64_t applied;

	if (fc->epoch != f->epoch)
		goto out;
	unpack_init(&up, body, len);
	applied = unpack_u64(&up);
	if (!status && unpack_finish(&up))
		status = -FFFS_EBADFRAME;
	if (status) {
		fwd_wait(c, s, "asking the applied seq", status);
		goto out;
	}
	f->gap_logged = false;
	if (applied > atomic_load(&s->written) + 1) /* + one being written */
		log_warn("target %llu: successor %llu is at seq %llu, past "
			 "ours (%llu)",
			 (unsigned long long)s->target,
			 (unsigned long long)f->to, (unsigned long long)applied,
			 (unsigned long long)atomic_load(&s->written));
	/* what the successor has but did not answer yet goes again: its
	 * answer says that its committed_seq got there (so that a restart
	 * after a timeout does not leave our committed_seq behind) */
	f->next = applied + 1;
	pthread_mutex_lock(&s->mu);
	if (!f->syncing && s->committed + 1 < f->next)
		f->next = s->committed + 1;
	pthread_mutex_unlock(&s->mu);
	f->state = FWD_RUN;
	pump(c, s);
out:
	free(fc->body);
	free(fc);
}

static void query(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	struct fwd_call *fc;
	struct rpc_peer *p;
	struct pack pk;

	if (f->syncing && !f->snap_done)
		return msrv_sync_start(c, s);
	p = msrv_fwd_peer(c, s);
	if (!p)
		return fwd_wait(c, s, "asking the applied seq", -EINVAL);
	f->state = FWD_QUERY;
	fc = xcalloc(1, sizeof(*fc));
	fc->epoch = f->epoch;
	fc->body = xmalloc(16);
	pack_init(&pk, fc->body, 16);
	msrv_hdr_pack(&pk, f);
	fc->call.type = MSG_META_META_SEQ;
	fc->call.body = fc->body;
	fc->call.body_len = 16;
	fc->call.done = seq_done;
	rpc_call_start(c, p, &fc->call);
}

void msrv_fwd_view(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	uint64_t to;
	uint32_t chain, ver;
	bool syncing, on;

	if (!f->timer.cb)
		core_timer_init(&f->timer, fwd_timer);
	pthread_mutex_lock(&s->mu);
	on = s->v.pstate == RT_SERVING && !s->fresh && s->v.succ;
	to = on ? s->v.succ : 0;
	chain = s->v.chain;
	ver = s->v.chain_ver;
	syncing = s->v.succ_syncing;
	if (on)
		snprintf(f->addr, sizeof(f->addr), "%s", s->v.succ_addr);
	pthread_mutex_unlock(&s->mu);
	if (to == f->to && chain == f->chain && ver == f->chain_ver &&
	    syncing == f->syncing && f->state != FWD_IDLE)
		return;
	if (to == f->to && chain == f->chain && ver == f->chain_ver &&
	    syncing == f->syncing && !to)
		return;
	f->epoch++;
	f->inflight = 0;
	f->sync_inflight = false;
	f->synced_sent = false;
	f->gap_logged = false;
	if (to != f->to || !syncing)
		f->snap_done = false;
	f->to = to;
	f->chain = chain;
	f->chain_ver = ver;
	f->syncing = syncing;
	f->acked = 0;
	free(f->snap);
	f->snap = NULL;
	core_timer_del(c, &f->timer);
	f->state = FWD_IDLE;
	if (to) {
		log_info("target %llu: feeding %s successor %llu (chain %u "
			 "version %u)",
			 (unsigned long long)s->target,
			 syncing ? "syncing" : "serving",
			 (unsigned long long)to, chain, ver);
		query(c, s);
	}
}

/* ---- the receiving side -------------------------------------------------- */

void msrv_hdr_pack(struct pack *pk, const struct msrv_fwd *f)
{
	pack_u32(pk, f->chain);
	pack_u32(pk, f->chain_ver);
	pack_u64(pk, f->to);
}

void msrv_hdr_unpack(struct unpack *up, uint32_t *chain, uint32_t *ver,
		     uint64_t *target)
{
	*chain = unpack_u32(up);
	*ver = unpack_u32(up);
	*target = unpack_u64(up);
}

int msrv_member_check(struct msrv *s, uint32_t chain, uint32_t chain_ver,
		      uint64_t target, bool syncing_ok)
{
	int rc = -FFFS_ENOTSERVING;

	pthread_mutex_lock(&s->mu);
	if (target == s->target)
		rc = chain_view_check(&s->v, chain, chain_ver,
				      syncing_ok ? CHAIN_IN_WRITE_SET
						 : CHAIN_SERVING);
	if (!rc && s->fresh) /* not serving until mgmtd saw it go */
		rc = -FFFS_ENOTSERVING;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int msrv_h_forward(struct core *c, struct rpc_req *req)
{
	struct msrv *s = msrv_g;
	struct msrv_job *j;
	uint32_t chain, ver, wlen;
	uint64_t target, seq;
	const void *ws;
	struct unpack up;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	msrv_hdr_unpack(&up, &chain, &ver, &target);
	seq = unpack_u64(&up);
	unpack_blob(&up, &ws, &wlen);
	if (unpack_finish(&up) || !wlen) {
		log_warn("malformed META_META_FORWARD from %s (%u bytes)",
			 rpc_req_peer(req), req->body_len);
		return -FFFS_EBADFRAME;
	}
	rc = msrv_member_check(s, chain, ver, target, true);
	if (rc) {
		log_debug("META_META_FORWARD of seq %llu from %s for target "
			  "%llu chain %u version %u refused: %s",
			  (unsigned long long)seq, rpc_req_peer(req),
			  (unsigned long long)target, chain, ver,
			  fffs_strerror(rc));
		return rc;
	}
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_APPLY;
	j->c = c;
	j->req = req;
	j->seq = seq;
	j->in = xmalloc(wlen);
	memcpy(j->in, ws, wlen);
	j->in_len = wlen;
	j->chain_ver = ver;
	msrv_exec_push(s, j);
	return 0;
}

int msrv_h_seq(struct core *c, struct rpc_req *req)
{
	struct msrv *s = msrv_g;
	uint32_t chain, ver;
	uint64_t target;
	uint8_t out[8];
	struct unpack up;
	struct pack pk;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	msrv_hdr_unpack(&up, &chain, &ver, &target);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	rc = msrv_member_check(s, chain, ver, target, true);
	if (rc)
		return rc;
	pack_init(&pk, out, sizeof(out));
	pack_u64(&pk, atomic_load(&s->applied));
	rpc_reply(c, req, 0, out, sizeof(out), NULL, 0, NULL, NULL);
	return 0;
}
