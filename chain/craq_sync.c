/* chain/craq_sync.c - recovery: the last serving member of a chain makes
 * the syncing target after it equal to itself while writes go on. */
#define LOG_SUBSYS "sync"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/craq_int.h"
#include "chain/storage_cli.h"
#include "net/iobuf.h"

#define PAGE	     1024 /* chunks per page of either list */
#define SYNC_DEPTH   8	  /* chunks being sent at once */
#define SYNC_BACKOFF 1000 /* ms before a failed sync starts over */

/* A chunk list, a page at a time, in key order. */
struct list {
	struct stor_dump_ent *e;
	uint32_t n, i;
	bool more, done;
	struct chunk_id next; /* where the next page starts */
};

/* One chunk being reconciled: made equal to ours, under its lock. */
struct action {
	struct craq_op o;
	struct craq_sync *job;
};

struct craq_sync {
	struct craq_tgt *ct;
	struct core *c;
	uint64_t target;
	uint32_t chain, chain_ver;
	char addr[RT_ADDR_MAX];
	bool stop, failed, waiting;
	struct stor_client cl;
	struct stor_dump dump;
	struct list remote, local;
	/* chunks locked when the job started: writes that began before the
	 * target was our successor; they may miss the local list and are
	 * not forwarded to it, so each is reconciled after the merge */
	struct chunk_id *held;
	size_t nheld, iheld;
	unsigned inflight;
	uint64_t sent, removed, same;
	uint64_t t0;
	struct rpc_call done_call;
	uint8_t done_body[16];
	struct loop_timer timer;
};

static void step(struct craq_sync *j);

/* ---- the local list ------------------------------------------------------ */

static int local_one(void *arg, const struct chunk_id *id,
		     const struct chunk_meta *m)
{
	struct list *l = arg;

	if (l->n == PAGE) {
		l->more = true;
		l->next = *id;
		return 1;
	}
	l->e[l->n++] =
		(struct stor_dump_ent){ *id,	m->length,    m->chain_ver,
					m->crc, m->committed, m->pending };
	return 0;
}

static int local_page(struct craq_sync *j)
{
	struct list *l = &j->local;
	struct chunk_id start = l->next;
	int rc;

	l->n = l->i = 0;
	l->more = false;
	rc = store_scan(j->ct->st, &start, local_one, l);
	if (rc < 0)
		return rc;
	l->done = !l->n;
	return 0;
}

/* ---- the remote list ----------------------------------------------------- */

static void dump_done(struct core *c, struct stor_dump *d)
{
	struct craq_sync *j = fffs_container_of(d, struct craq_sync, dump);
	struct list *l = &j->remote;

	j->inflight--;
	if (d->status) {
		log_warn("sync of target %llu: cannot list its chunks: %s",
			 (unsigned long long)j->target,
			 fffs_strerror(d->status));
		j->failed = true;
		return step(j);
	}
	memcpy(l->e, d->ents, d->n * sizeof(*l->e));
	l->n = d->n;
	l->i = 0;
	l->more = d->more;
	l->done = !d->n;
	if (d->more && d->n &&
	    !stor_dump_next(&d->ents[d->n - 1].chunk, &l->next))
		l->more = false;
	step(j);
}

static void remote_page(struct craq_sync *j)
{
	char err[128];

	j->dump = (struct stor_dump){
		.peer = rpc_peer_get(j->c, j->addr, err, sizeof(err)),
		.target = j->target,
		.start = j->remote.next,
		.max = PAGE,
		.done = dump_done,
	};
	if (!j->dump.peer || stor_dump_start(&j->cl, &j->dump)) {
		j->failed = true;
		return;
	}
	j->inflight++;
}

/* ---- reconciling one chunk ---------------------------------------------- */

static void action_end(struct core *c, struct craq_op *o)
{
	struct action *a = fffs_container_of(o, struct action, o);
	struct craq_sync *j = a->job;

	if (o->op.status && o->op.status != -ENOENT) {
		if (!j->failed)
			log_warn("sync of target %llu: chunk inode 0x%llx "
				 "index %u: %s",
				 (unsigned long long)j->target,
				 (unsigned long long)o->op.id.inode,
				 o->op.id.index, fffs_strerror(o->op.status));
		j->failed = true;
	} else if (o->cur_fwd == CRAQ_FWD_REMOVE) {
		j->removed++;
	} else {
		j->sent++;
	}
	free(a);
	j->inflight--;
	step(j);
}

static void action_fwd_done(struct core *c, struct rpc_call *call, int status,
			    const void *body, uint32_t len);

static void action_send(struct core *c, struct craq_op *o)
{
	struct craq_sync *j = fffs_container_of(o, struct action, o)->job;
	struct rpc_peer *peer;
	char err[128];

	peer = rpc_peer_get(c, j->addr, err, sizeof(err));
	if (!peer || j->stop)
		return craq_finish(c, o, -FFFS_ENOTSERVING);
	craq_fwd_prepare(o, j->target);
	o->call.done = action_fwd_done;
	rpc_call_start(c, peer, &o->call);
}

static void action_fwd_done(struct core *c, struct rpc_call *call, int status,
			    const void *body, uint32_t len)
{
	struct craq_op *o = fffs_container_of(call, struct craq_op, call);

	craq_finish(c, o, status);
}

static void action_loaded(struct core *c, struct store_op *op)
{
	struct craq_op *o = fffs_container_of(op, struct craq_op, rd);

	if (op->status == -ENOENT) { /* gone meanwhile: remove it there */
		o->cur_fwd = CRAQ_FWD_REMOVE;
		return action_send(c, o);
	}
	if (op->status)
		return craq_finish(c, o, op->status);
	o->have_whole = true;
	o->cur_fwd = CRAQ_FWD_WHOLE;
	o->u = op->version;
	action_send(c, o);
}

/* Holding the chunk: send our committed version whole, or a remove. */
static void action_locked(struct core *c, struct craq_op *o)
{
	memset(&o->rd, 0, sizeof(o->rd));
	o->rd.kind = SOP_READ;
	o->rd.id = o->op.id;
	o->rd.length = CHUNK_MAX_LEN;
	o->rd.done = action_loaded;
	store_submit(c, o->ct->st, &o->rd);
}

static void action_start(struct craq_sync *j, const struct chunk_id *id)
{
	struct action *a = xcalloc(1, sizeof(*a));
	struct craq_op *o = &a->o;

	a->job = j;
	o->ct = j->ct;
	o->op.id = *id;
	o->sync = true;
	o->chain = j->chain;
	o->chain_ver = j->chain_ver;
	o->done = action_end;
	o->sync_cb = action_locked;
	j->inflight++;
	if (craq_lock(j->ct, o, id))
		action_locked(j->c, o);
}

/* ---- the merge ----------------------------------------------------------- */

static bool same(const struct stor_dump_ent *l, const struct stor_dump_ent *r)
{
	return l->committed && l->committed == r->committed && !r->pending &&
	       l->length == r->length && l->crc == r->crc;
}

/* The next chunk to reconcile, or false when a list needs a new page (or
 * both are done). */
static bool merge_next(struct craq_sync *j, struct chunk_id *id, bool *act)
{
	struct list *l = &j->local, *r = &j->remote;
	bool lh = l->i < l->n, rh = r->i < r->n;
	int cmp;

	if ((!lh && l->more) || (!rh && r->more))
		return false;
	if (!lh && !rh)
		return false;
	cmp = !lh   ? 1
	      : !rh ? -1
		    : chunk_id_cmp(&l->e[l->i].chunk, &r->e[r->i].chunk);
	*id = cmp <= 0 ? l->e[l->i].chunk : r->e[r->i].chunk;
	*act = cmp != 0 || !same(&l->e[l->i], &r->e[r->i]);
	if (cmp == 0 && !*act)
		j->same++;
	if (cmp <= 0)
		l->i++;
	if (cmp >= 0)
		r->i++;
	return true;
}

static void sync_free(struct craq_sync *j)
{
	if (j->ct->sync == j)
		j->ct->sync = NULL;
	core_timer_del(j->c, &j->timer);
	stor_client_release(&j->cl);
	free(j->remote.e);
	free(j->local.e);
	free(j->held);
	free(j);
}

static void done_answered(struct core *c, struct rpc_call *call, int status,
			  const void *body, uint32_t len)
{
	struct craq_sync *j =
		fffs_container_of(call, struct craq_sync, done_call);

	j->inflight--;
	if (status) {
		log_warn("sync of target %llu: sync-done refused: %s",
			 (unsigned long long)j->target, fffs_strerror(status));
		j->failed = true;
	} else {
		log_info("sync of target %llu (chain %u) done in %.1f s: %llu "
			 "chunks sent, %llu removed, %llu the same",
			 (unsigned long long)j->target, j->chain,
			 (now_ns() - j->t0) / 1e9, (unsigned long long)j->sent,
			 (unsigned long long)j->removed,
			 (unsigned long long)j->same);
		j->stop = true;
	}
	step(j);
}

static void send_done(struct craq_sync *j)
{
	struct rpc_peer *peer;
	struct pack pk;
	char err[128];

	peer = rpc_peer_get(j->c, j->addr, err, sizeof(err));
	if (!peer) {
		j->failed = true;
		return;
	}
	pack_init(&pk, j->done_body, sizeof(j->done_body));
	pack_u32(&pk, j->chain);
	pack_u32(&pk, j->chain_ver);
	pack_u64(&pk, j->target);
	memset(&j->done_call, 0, sizeof(j->done_call));
	j->done_call.type = MSG_STOR_STOR_SYNC_DONE;
	j->done_call.body = j->done_body;
	j->done_call.body_len = (uint32_t)pack_len(&pk);
	j->done_call.done = done_answered;
	j->inflight++;
	rpc_call_start(j->c, peer, &j->done_call);
}

static void job_timer(struct core *c, struct loop_timer *t)
{
	struct craq_sync *j = fffs_container_of(t, struct craq_sync, timer);
	struct craq_tgt *ct = j->ct;

	if (j->waiting) { /* for inherited writes: look again */
		j->waiting = false;
		return step(j);
	}
	sync_free(j);
	craq_sync_check(c, ct);
}

/* Keep up to SYNC_DEPTH chunks going; pages when a list runs dry; the
 * end when both are done. */
static void step(struct craq_sync *j)
{
	struct chunk_id id;
	bool act;

	if (j->failed || j->stop) {
		if (j->inflight)
			return;
		if (j->failed && !j->stop && j->ct->sync == j) {
			log_warn("sync of target %llu failed; it starts over "
				 "in %d ms",
				 (unsigned long long)j->target, SYNC_BACKOFF);
			j->stop = true;
			return core_timer_add(j->c, &j->timer,
					      SYNC_BACKOFF * 1000000ull);
		}
		if (!core_timer_armed(&j->timer))
			sync_free(j);
		return;
	}
	while (j->inflight < SYNC_DEPTH && merge_next(j, &id, &act))
		if (act)
			action_start(j, &id);
	if (j->inflight)
		return;
	if (j->local.i == j->local.n && j->local.more) {
		if (local_page(j))
			j->failed = true;
		return step(j);
	}
	if (j->remote.i == j->remote.n && j->remote.more)
		return remote_page(j);
	while (j->inflight < SYNC_DEPTH && j->iheld < j->nheld)
		action_start(j, &j->held[j->iheld++]);
	if (j->inflight)
		return;
	if (craq_inherited_left(j->ct)) { /* I4: those must reach it first */
		j->waiting = true;
		return core_timer_add(j->c, &j->timer, 10000000);
	}
	send_done(j);
}

/* The chunks of ct locked now (before the first local page is read). */
static void held_take(struct craq_sync *j)
{
	size_t cap = 0;

	for (int b = 0; b < CRAQ_NLOCK; b++)
		for (struct craq_lock *e = j->ct->locks[b]; e; e = e->next) {
			if (j->nheld == cap)
				j->held = xrealloc(j->held,
						   (cap = cap * 2 + 16) *
							   sizeof(*j->held));
			j->held[j->nheld++] = e->id;
		}
}

static void job_start(struct core *c, struct craq_tgt *ct)
{
	struct craq_sync *j = xcalloc(1, sizeof(*j));

	j->ct = ct;
	j->c = c;
	j->target = ct->v.next_syncing;
	j->chain = ct->v.chain;
	j->chain_ver = ct->v.chain_ver;
	snprintf(j->addr, sizeof(j->addr), "%s", ct->v.next_addr);
	j->t0 = now_ns();
	j->remote.e = xcalloc(PAGE, sizeof(*j->remote.e));
	j->local.e = xcalloc(PAGE, sizeof(*j->local.e));
	core_timer_init(&j->timer, job_timer);
	stor_client_init(&j->cl, c, 0);
	ct->sync = j;
	held_take(j);
	log_info("target %llu syncs target %llu of chain %u (version %u), "
		 "%zu chunks busy",
		 (unsigned long long)ct->id, (unsigned long long)j->target,
		 j->chain, j->chain_ver, j->nheld);
	if (local_page(j)) {
		j->failed = true;
		return step(j);
	}
	remote_page(j);
	if (j->failed)
		step(j);
}

void craq_sync_check(struct core *c, struct craq_tgt *ct)
{
	struct craq_sync *j = ct->sync;

	if (j && (j->target != ct->v.next_syncing ||
		  j->chain_ver != ct->v.chain_ver)) {
		j->stop = true; /* it ends when its last chunk is back */
		ct->sync = NULL;
		step(j);
		j = NULL;
	}
	if (!j && ct->v.next_syncing && agent_serving_allowed())
		job_start(c, ct);
}

void craq_sync_done(struct store_target *st, uint32_t chain_ver)
{
	struct craq_tgt *ct = craq_tgt_of(st);

	atomic_store(&ct->synced_ver, chain_ver);
	log_info("target %llu is synced (chain version %u)",
		 (unsigned long long)ct->id, chain_ver);
}
