/* chain/craq_srv.c - chain replication on a storage server: the chain
 * view of each target, chunk locks, the update path (apply pending,
 * forward, commit on the answer), reads with apportioned queries. */
#define LOG_SUBSYS "craq"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/craq_int.h"
#include "chain/storage_cli.h"
#include "net/iobuf.h"
#include "net/pack.h"

static struct {
	struct store *s;
	int n;
	struct craq_tgt *t;
} C;

/* A core's copy of the routing info. */
struct craq_core {
	struct routing *r;
};

#define finish craq_finish
static void update_locked(struct core *c, struct craq_op *o);
static void read_start(struct core *c, struct craq_op *o);
static void fwd_send(struct core *c, struct craq_op *o);

/* ---- targets and their chain view ---------------------------------------- */

void craq_srv_init(struct store *s)
{
	C.s = s;
	C.n = store_target_count(s);
	C.t = xcalloc((size_t)C.n, sizeof(*C.t));
	for (int i = 0; i < C.n; i++) {
		C.t[i].st = store_target_at(s, i);
		C.t[i].id = store_target_id(C.t[i].st);
		C.t[i].v.pstate = -1;
		atomic_store(&C.t[i].rep_pstate, -1);
	}
}

struct craq_tgt *craq_tgt_of(const struct store_target *st)
{
	for (int i = 0; i < C.n; i++)
		if (C.t[i].st == st)
			return &C.t[i];
	FFFS_ASSERT(!"target without a chain view");
	return NULL;
}

static struct craq_core *core_view(struct core *c)
{
	void **slot = core_local(c, CORE_SLOT_CRAQ);

	return *slot;
}

static void parked_wake(struct core *c, struct craq_tgt *ct)
{
	struct craq_op *o = ct->parked, *next;

	ct->parked = NULL;
	for (; o; o = next) {
		next = o->park_next;
		core_timer_del(c, &o->timer);
		fwd_send(c, o);
	}
}

/* The target has just become its chain's query tail: the writes under
 * way here may have been shown by the query tail before (I4). */
static void inherit(struct craq_tgt *ct)
{
	for (int b = 0; b < CRAQ_NLOCK; b++)
		for (struct craq_lock *e = ct->locks[b]; e; e = e->next)
			if (!e->head->inherited && !e->head->sync_cb) {
				e->head->inherited = true;
				ct->inherited_n++;
			}
}

static void view_update(struct core *c, struct craq_tgt *ct,
			const struct routing *r)
{
	uint32_t chain = ct->v.chain, ver = ct->v.chain_ver;
	bool was_qtail = ct->v.qtail == ct->id;
	int ps = ct->v.pstate;

	chain_view_compute(&ct->v, r, ct->id);
	if (ct->v.qtail == ct->id && !was_qtail)
		inherit(ct);
	atomic_store(&ct->rep_chain_ver, ct->v.chain_ver);
	atomic_store(&ct->rep_pstate, ct->v.pstate);
	if (chain == ct->v.chain && ver == ct->v.chain_ver &&
	    ps == ct->v.pstate)
		return;
	if (ct->v.chain)
		log_info("target %llu: chain %u version %u, %s%s",
			 (unsigned long long)ct->id, ct->v.chain,
			 ct->v.chain_ver, rt_pstate_name(ct->v.pstate),
			 ct->v.head ? ", head" : "");
	parked_wake(c, ct);
	craq_sync_check(c, ct);
}

struct rt_post {
	struct loop_msg m;
	struct routing *r;
};

static void core_exit(struct core *c, void *arg)
{
	struct craq_core *cc = core_view(c);

	routing_unref(cc->r);
	free(cc);
	*core_local(c, CORE_SLOT_CRAQ) = NULL;
}

static void rt_apply(struct core *c, struct loop_msg *m)
{
	struct rt_post *p = fffs_container_of(m, struct rt_post, m);
	struct craq_core *cc = core_view(c);

	if (!cc) {
		cc = xcalloc(1, sizeof(*cc));
		*core_local(c, CORE_SLOT_CRAQ) = cc;
		core_on_exit(c, core_exit, NULL);
	}
	if (cc->r && cc->r->version >= p->r->version) {
		routing_unref(p->r);
		free(p);
		return;
	}
	routing_unref(cc->r);
	cc->r = p->r;
	for (int i = 0; i < C.n; i++)
		if (store_target_core(C.t[i].st) == c)
			view_update(c, &C.t[i], cc->r);
	free(p);
}

void craq_srv_routing(struct routing *r)
{
	for (int i = 0; i < core_count(); i++) {
		struct rt_post *p = xcalloc(1, sizeof(*p));

		p->r = routing_ref(r);
		p->m.cb = rt_apply;
		core_post(core_get(i), &p->m);
	}
}

bool craq_target_chained(struct core *c, uint64_t target)
{
	struct craq_core *cc = core_view(c);
	const struct rt_target *t = cc ? routing_target(cc->r, target) : NULL;

	return t && t->chain;
}

int craq_srv_report(void *arg, struct agent_report *out, int max)
{
	int n = 0;

	for (int i = 0; i < C.n && n < max; i++) {
		struct craq_tgt *ct = &C.t[i];
		struct store_space sp;
		uint8_t ls;

		store_target_space(ct->st, &sp);
		ls = chain_local_state(atomic_load(&ct->rep_pstate),
				       atomic_load(&ct->rep_chain_ver),
				       atomic_load(&ct->synced_ver),
				       sp.state == TGT_FAILED);
		out[n++] = (struct agent_report){ ct->id, ls, sp.capacity,
						  sp.used };
	}
	return n;
}

/* ---- chunk locks (the target's owner core) ------------------------------ */

static unsigned lock_bucket(const struct chunk_id *id)
{
	uint64_t h = id->inode * 0x9E3779B97F4A7C15ull ^ id->index;

	return (unsigned)(h * 0xBF58476D1CE4E5B9ull >> 40) % CRAQ_NLOCK;
}

bool craq_lock(struct craq_tgt *ct, struct craq_op *o,
	       const struct chunk_id *id)
{
	struct craq_lock **pp = &ct->locks[lock_bucket(id)], *e;

	o->lock_next = NULL;
	for (e = *pp; e; e = e->next) {
		if (e->id.inode != id->inode || e->id.index != id->index)
			continue;
		*e->tailp = o;
		e->tailp = &o->lock_next;
		return false;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = *id;
	e->head = o;
	e->tailp = &o->lock_next;
	e->next = *pp;
	*pp = e;
	o->locked = true;
	return true;
}

/* Release o's chunk; the next waiter holds it now and is returned. */
struct craq_op *craq_unlock(struct craq_tgt *ct, struct craq_op *o,
			    const struct chunk_id *id)
{
	struct craq_lock **pp = &ct->locks[lock_bucket(id)], *e;
	struct craq_op *next;

	for (; (e = *pp); pp = &e->next)
		if (e->head == o)
			break;
	FFFS_ASSERT(e && o->locked); /* I2 */
	o->locked = false;
	next = o->lock_next;
	if (!next) {
		*pp = e->next;
		free(e);
		return NULL;
	}
	e->head = next;
	next->locked = true;
	return next;
}

/* ---- finishing ----------------------------------------------------------- */

void craq_resume(struct core *c, struct craq_op *o)
{
	if (o->sync_cb)
		return o->sync_cb(c, o);
	update_locked(c, o);
}

void craq_finish(struct core *c, struct craq_op *o, int status)
{
	struct craq_op *next = NULL;

	o->op.status = status;
	if (o->have_whole)
		iobuf_free_any(c, o->rd.out_buf);
	o->have_whole = false;
	if (o->inherited) {
		FFFS_ASSERT(o->ct->inherited_n > 0);
		o->ct->inherited_n--;
		o->inherited = false;
	}
	if (o->locked)
		next = craq_unlock(o->ct, o, &o->op.id);
	o->done(c, o);
	if (next)
		craq_resume(c, next);
}

/* ---- the update path ----------------------------------------------------- */

/* A store operation on the side (o->rd), then cb. */
static void side_op(struct core *c, struct craq_op *o, enum store_op_kind kind,
		    void (*cb)(struct core *c, struct store_op *op))
{
	if (o->have_whole)
		iobuf_free_any(c, o->rd.out_buf);
	o->have_whole = false;
	memset(&o->rd, 0, sizeof(o->rd));
	o->rd.kind = kind;
	o->rd.id = o->op.id;
	o->rd.set_version = o->u;
	o->rd.chain_ver = o->ct->v.chain_ver;
	o->rd.done = cb;
	store_submit(c, o->ct->st, &o->rd);
}

static struct craq_op *of_rd(struct store_op *op)
{
	return fffs_container_of(op, struct craq_op, rd);
}

static void committed(struct core *c, struct store_op *op)
{
	struct craq_op *o = of_rd(op);

	if (op->status)
		return finish(c, o, op->status);
	o->op.version = o->u;
	if (o->resolving)
		return update_locked(c, o); /* now the client's own write */
	finish(c, o, 0);
}

/* Commit version u here. succ_answered: the successor has answered, so u
 * is committed at the tail and at the query tail, which never answers
 * before its own commit (I5); a member upstream of the query tail may
 * then answer (o->answer) while its own commit runs: reads that find u
 * pending here ask the query tail. */
static void commit_step(struct core *c, struct craq_op *o, bool succ_answered)
{
	if (o->applied_committed)
		return finish(c, o, 0);
	if (succ_answered && o->answer && !o->resolving &&
	    o->ct->v.qtail != o->ct->id) {
		o->op.status = 0;
		o->op.version = o->u;
		o->answer(c, o);
	}
	side_op(c, o, SOP_COMMIT, committed);
}

static void aborted(struct core *c, struct store_op *op)
{
	struct craq_op *o = of_rd(op);

	if (op->status && op->status != -ENOENT)
		log_warn("target %llu: cannot drop pending version %llu of a "
			 "failed write: %s",
			 (unsigned long long)o->ct->id,
			 (unsigned long long)o->u, fffs_strerror(op->status));
	finish(c, o, o->fwd_status);
}

/* The chain cannot take the write: drop our pending version, fail it. */
static void abort_step(struct core *c, struct craq_op *o, int status)
{
	o->fwd_status = status;
	if (o->cur_fwd == CRAQ_FWD_REMOVE || o->applied_committed)
		return finish(c, o, status);
	side_op(c, o, SOP_ABORT, aborted);
}

static void remove_done(struct core *c, struct store_op *op)
{
	struct craq_op *o = fffs_container_of(op, struct craq_op, op);
	int st = op->status;

	/* past a successor, its answer (the tail's) is the answer */
	if (o->had_succ && (st == 0 || st == -ENOENT))
		st = o->fwd_status;
	finish(c, o, st);
}

static void remove_local(struct core *c, struct craq_op *o)
{
	o->op.done = remove_done;
	store_submit(c, o->ct->st, &o->op);
}

static void retry_timer(struct core *c, struct loop_timer *t)
{
	struct craq_op *o = fffs_container_of(t, struct craq_op, timer);
	struct craq_op **pp = &o->ct->parked;

	while (*pp && *pp != o)
		pp = &(*pp)->park_next;
	if (*pp)
		*pp = o->park_next;
	fwd_send(c, o);
}

/* The successor is gone or disagrees: try again on new routing info, or
 * after craq_retry_ms. */
static void park(struct core *c, struct craq_op *o)
{
	o->park_next = o->ct->parked;
	o->ct->parked = o;
	core_timer_init(&o->timer, retry_timer);
	core_timer_add(c, &o->timer,
		       (uint64_t)config_int(CFG_craq_retry_ms) * 1000000);
}

static void whole_loaded(struct core *c, struct store_op *op)
{
	struct craq_op *o = of_rd(op);

	if (op->status) {
		log_error("target %llu: cannot read version %llu of a chunk "
			  "to send it whole: %s",
			  (unsigned long long)o->ct->id,
			  (unsigned long long)o->u, fffs_strerror(op->status));
		return abort_step(c, o, op->status);
	}
	o->have_whole = true;
	o->cur_fwd = CRAQ_FWD_WHOLE;
	fwd_send(c, o);
}

/* The version being made, whole, into o->rd (for a successor without
 * its base). */
static void whole_load(struct core *c, struct craq_op *o)
{
	if (o->have_whole)
		iobuf_free_any(c, o->rd.out_buf);
	o->have_whole = false;
	memset(&o->rd, 0, sizeof(o->rd));
	o->rd.kind = SOP_READ;
	o->rd.id = o->op.id;
	o->rd.length = CHUNK_MAX_LEN;
	o->rd.want_version = o->u;
	o->rd.done = whole_loaded;
	store_submit(c, o->ct->st, &o->rd);
}

/* A parallel write whose own write failed after its forward went out
 * (I6): this member may lack a version the rest of the chain has. */
static void par_fail(struct core *c, struct craq_op *o)
{
	store_target_fail(o->ct->st, &o->op.id,
			  "a chain write already forwarded", o->local_status);
	finish(c, o, -FFFS_ENOTSERVING);
}

/* The successor's answer to a forward. */
static void fwd_result(struct core *c, struct craq_op *o, int status)
{
	if (o->par && o->local_status)
		return par_fail(c, o);
	if (!status && o->cur_fwd == CRAQ_FWD_REMOVE)
		o->fwd_status = 0;
	if (!status)
		return o->cur_fwd == CRAQ_FWD_REMOVE ? remove_local(c, o)
						     : commit_step(c, o, true);
	if (o->cur_fwd == CRAQ_FWD_REMOVE && status == -ENOENT) {
		o->fwd_status = -ENOENT;
		return remove_local(c, o);
	}
	if (status == -FFFS_EVERSION && o->cur_fwd != CRAQ_FWD_WHOLE)
		return whole_load(c, o);
	/* a syncing successor that fails a write holds the chain up rather
	 * than roll back a version the query tail may have shown (I4) */
	if ((stor_retryable(status) || o->ct->v.succ_syncing) &&
	    now_ns() < o->deadline_ns) {
		if (!o->tries++ || o->tries % 50 == 0)
			log_info("target %llu: forward of version %llu to "
				 "%llu failed: %s; waiting for the chain",
				 (unsigned long long)o->ct->id,
				 (unsigned long long)o->u,
				 (unsigned long long)o->ct->v.succ,
				 fffs_strerror(status));
		return park(c, o);
	}
	log_warn("target %llu: the chain cannot take version %llu: %s",
		 (unsigned long long)o->ct->id, (unsigned long long)o->u,
		 fffs_strerror(status));
	abort_step(c, o, status);
}

static void fwd_done(struct core *c, struct rpc_call *call, int status,
		     const void *body, uint32_t len)
{
	struct craq_op *o = fffs_container_of(call, struct craq_op, call);

	if (o->par && !o->local_done) { /* I6: act once our write ended */
		o->fwd_waits = true;
		o->fwd_wait_status = status;
		return;
	}
	fwd_result(c, o, status);
}

static void fwd_pack(struct craq_op *o, uint64_t to, struct pack *pk)
{
	const struct store_op *op = &o->op;
	bool whole = o->cur_fwd == CRAQ_FWD_WHOLE;

	pack_u32(pk, o->ct->v.chain);
	pack_u32(pk, o->ct->v.chain_ver);
	pack_u64(pk, to);
	pack_u8(pk, o->cur_fwd);
	pack_u8(pk, o->sync);
	pack_u64(pk, op->id.inode);
	pack_u32(pk, op->id.index);
	pack_u64(pk, o->u);
	pack_u64(pk, o->base);
	pack_u32(pk, whole ? 0 : op->offset);
	pack_u32(pk, whole ? o->rd.out_length : op->length);
	pack_u32(pk, op->chunk_size);
	pack_u32(pk, whole ? o->rd.out_crc : op->crc);
	pack_u64(pk, op->client);
	pack_u64(pk, op->req_id);
}

void craq_fwd_prepare(struct craq_op *o, uint64_t to)
{
	struct pack pk;

	pack_init(&pk, o->body, sizeof(o->body));
	fwd_pack(o, to, &pk);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == sizeof(o->body));
	memset(&o->call, 0, sizeof(o->call));
	o->call.type = MSG_STOR_STOR_FORWARD;
	o->call.body = o->body;
	o->call.body_len = sizeof(o->body);
	if (o->cur_fwd == CRAQ_FWD_WHOLE) {
		o->call.bulk = o->rd.out_data;
		o->call.bulk_len = o->rd.out_length;
	} else if (o->cur_fwd == CRAQ_FWD_WRITE) {
		o->call.bulk = o->op.data;
		o->call.bulk_len = o->op.length;
	}
}

/* The successor, or NULL (logged) if it cannot be reached. */
static struct rpc_peer *succ_peer(struct core *c, struct craq_tgt *ct)
{
	struct rpc_peer *peer;
	char err[128];

	peer = rpc_peer_get(c, ct->v.succ_addr, err, sizeof(err));
	if (!peer)
		log_error("target %llu: successor %llu: %s",
			  (unsigned long long)ct->id,
			  (unsigned long long)ct->v.succ, err);
	return peer;
}

static void fwd_call(struct core *c, struct craq_op *o, struct rpc_peer *peer)
{
	o->had_succ = true;
	craq_fwd_prepare(o, o->ct->v.succ);
	o->call.done = fwd_done;
	rpc_call_start(c, peer, &o->call);
}

static void fwd_send(struct core *c, struct craq_op *o)
{
	struct craq_tgt *ct = o->ct;
	struct rpc_peer *peer;

	/* out of the chain's write set, its replacement takes the client's
	 * retry, and this replica syncs before it serves again */
	if (!chain_in_write_set(ct->v.pstate))
		return abort_step(c, o, -FFFS_ENOTSERVING);
	if (now_ns() > o->deadline_ns)
		return abort_step(c, o, -ETIMEDOUT);
	if (!ct->v.succ || o->sync) /* we are the tail now */
		return o->cur_fwd == CRAQ_FWD_REMOVE ? remove_local(c, o)
						     : commit_step(c, o, false);
	o->had_succ = true; /* also when it cannot be reached */
	peer = succ_peer(c, ct);
	if (!peer)
		return park(c, o);
	fwd_call(c, o, peer);
}

/* The local write begins (I6): forward it now if nothing stands in the
 * way; anything else is left to applied's fwd_send. */
static void apply_started(struct core *c, struct store_op *op)
{
	struct craq_op *o = fffs_container_of(op, struct craq_op, op);
	struct craq_tgt *ct = o->ct;
	struct rpc_peer *peer;

	if (!chain_in_write_set(ct->v.pstate) || now_ns() > o->deadline_ns ||
	    !ct->v.succ || o->sync)
		return;
	peer = succ_peer(c, ct);
	if (!peer)
		return;
	o->par = true;
	fwd_call(c, o, peer);
}

/* A parallel write's own write ended: the reads that waited go on. */
static void readers_wake(struct core *c, struct craq_op *o)
{
	struct craq_op *r = o->readers, *next;

	o->readers = NULL;
	for (; r; r = next) {
		next = r->reader_next;
		read_start(c, r);
	}
}

static void applied(struct core *c, struct store_op *op)
{
	struct craq_op *o = fffs_container_of(op, struct craq_op, op);

	if (o->par) {
		o->local_done = true;
		o->local_status = op->status;
		if (!op->status)
			FFFS_ASSERT(op->out_pending == o->u); /* I3 */
		readers_wake(c, o);
		if (!o->fwd_waits)
			return; /* fwd_done goes on */
		o->fwd_waits = false;
		return fwd_result(c, o, o->fwd_wait_status);
	}
	if (op->status)
		return finish(c, o, op->status);
	if (op->version >= o->u) { /* committed: the tail, or a retry */
		o->applied_committed = true;
		return finish(c, o, 0);
	}
	FFFS_ASSERT(op->out_pending == o->u); /* I3 */
	fwd_send(c, o);
}

/* Apply version u on base as pending (or, with no successor, commit it:
 * the tail). */
static void apply(struct core *c, struct craq_op *o)
{
	struct store_op *op = &o->op;
	bool tail = !o->ct->v.succ || o->sync; /* a sync goes no further */

	op->kind = o->cur_fwd == CRAQ_FWD_WHOLE	     ? SOP_REPLACE
		   : o->cur_fwd == CRAQ_FWD_TRUNCATE ? SOP_TRUNCATE
						     : SOP_WRITE;
	op->versioned = true;
	op->base_ver = o->base;
	op->set_pending = tail ? 0 : o->u;
	op->set_version = tail ? o->u : 0;
	op->chain_ver = o->ct->v.chain_ver;
	op->done = applied;
	o->par = o->local_done = o->fwd_waits = false;
	o->local_status = 0;
	o->readers = NULL;
	op->started = !tail && !o->resolving &&
				      (o->cur_fwd == CRAQ_FWD_WRITE ||
				       o->cur_fwd == CRAQ_FWD_TRUNCATE)
			      ? apply_started
			      : NULL;
	store_submit(c, o->ct->st, op);
}

/* A client's write at the head, holding the chunk: decide its version. */
static void client_plan(struct core *c, struct craq_op *o)
{
	struct store_op *op = &o->op;
	struct chunk_meta m;
	int rc = store_meta(o->ct->st, &op->id, &m);
	bool same;

	o->resolving = o->applied_committed = false;
	o->cur_fwd =
		op->kind == SOP_TRUNCATE ? CRAQ_FWD_TRUNCATE : CRAQ_FWD_WRITE;
	if (rc && rc != -ENOENT)
		return finish(c, o, rc);
	if (!rc && op->client && m.req_client == op->client &&
	    m.req_id == op->req_id) { /* a retry, answered from the chunk */
		op->version = m.req_version;
		op->out_length = m.length;
		op->out_crc = m.crc;
		chunk_meta_release(&m);
		return finish(c, o, m.req_status);
	}
	o->base = rc ? 0 : m.committed;
	same = !rc && m.pending && op->client && m.p.req_client == op->client &&
	       m.p.req_id == op->req_id;
	if (!rc && m.pending) {
		/* the first attempt's (same) or a lost write's pending version
		 * (not ours: pass it on whole first, then ours) */
		o->u = m.pending;
		o->resolving = !same;
		chunk_meta_release(&m);
		if (o->resolving) {
			log_info("target %llu: completing pending version "
				 "%llu left by an earlier write",
				 (unsigned long long)o->ct->id,
				 (unsigned long long)o->u);
			return whole_load(c, o);
		}
		return fwd_send(c, o);
	}
	chunk_meta_release(&m);
	o->u = o->base + 1; /* I3 */
	apply(c, o);
}

static void update_locked(struct core *c, struct craq_op *o)
{
	if (o->fwd == CRAQ_CLIENT && o->op.kind == SOP_REMOVE)
		return fwd_send(c, o);
	if (o->fwd == CRAQ_FWD_REMOVE)
		return fwd_send(c, o);
	if (o->fwd == CRAQ_CLIENT)
		return client_plan(c, o);
	apply(c, o);
}

/* ---- reads --------------------------------------------------------------- */

static struct craq_op *holder(struct craq_tgt *ct, const struct chunk_id *id)
{
	for (struct craq_lock *e = ct->locks[lock_bucket(id)]; e; e = e->next)
		if (e->id.inode == id->inode && e->id.index == id->index)
			return e->head;
	return NULL;
}

/* At the query tail: the version reads may see (I4). */
static uint64_t visible(struct craq_tgt *ct, const struct chunk_id *id,
			uint64_t committed, uint64_t pending)
{
	struct craq_op *h = pending ? holder(ct, id) : NULL;

	return h && h->inherited && h->u == pending ? pending : committed;
}

static void read_done(struct core *c, struct store_op *op);

static void read_again(struct core *c, struct craq_op *o, uint64_t want)
{
	iobuf_free_any(c, o->op.out_buf);
	o->op.out_buf = NULL;
	o->op.want_version = want;
	o->op.done = read_done;
	store_submit(c, o->ct->st, &o->op);
}

static void query_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct craq_op *o = fffs_container_of(call, struct craq_op, call);
	uint64_t tail_committed = 0;
	struct unpack up;

	unpack_init(&up, body, len);
	if (!status) {
		tail_committed = unpack_u64(&up);
		status = unpack_finish(&up);
	}
	if (status || ++o->tries > 8) {
		iobuf_free_any(c, o->op.out_buf);
		o->op.out_buf = NULL;
		o->op.out_data = NULL;
		return finish(c, o, status ? status : -EAGAIN);
	}
	if (tail_committed == o->op.version)
		return finish(c, o, o->fwd_status); /* I4: that is committed */
	if (tail_committed == o->op.out_pending)
		return read_again(c, o, tail_committed);
	read_again(c, o, 0); /* it moved on meanwhile */
}

/* Our chunk has a pending version: which one has the tail committed? */
static void query_tail(struct core *c, struct craq_op *o)
{
	struct rpc_peer *peer;
	struct pack pk;
	char err[128];

	peer = rpc_peer_get(c, o->ct->v.qtail_addr, err, sizeof(err));
	if (!peer)
		return finish(c, o, -FFFS_ENOTSERVING);
	pack_init(&pk, o->body, sizeof(o->body));
	pack_u32(&pk, o->ct->v.chain);
	pack_u32(&pk, o->ct->v.chain_ver);
	pack_u64(&pk, o->ct->v.qtail);
	pack_u64(&pk, o->op.id.inode);
	pack_u32(&pk, o->op.id.index);
	memset(&o->call, 0, sizeof(o->call));
	o->call.type = MSG_STOR_STOR_COMMITTED;
	o->call.body = o->body;
	o->call.body_len = (uint32_t)pack_len(&pk);
	o->call.done = query_done;
	rpc_call_start(c, peer, &o->call);
}

static void read_done(struct core *c, struct store_op *op)
{
	struct craq_op *o = fffs_container_of(op, struct craq_op, op);

	if (op->status == -FFFS_EVERSION && op->want_version)
		return read_again(c, o, 0); /* committed since */
	/* a chunk with only a pending version reads as -ENOENT: whether
	 * that is so is the query tail's to say, as for any pending one */
	if ((op->status && (op->status != -ENOENT || !op->out_pending)) ||
	    !op->out_pending ||
	    (op->want_version && op->version == op->want_version))
		return finish(c, o, op->status);
	o->fwd_status = op->status;	   /* what the committed read got */
	if (o->ct->v.qtail == o->ct->id) { /* I4: we decide */
		if (visible(o->ct, &op->id, op->version, op->out_pending) ==
		    op->out_pending)
			return read_again(c, o, op->out_pending);
		/* nobody holds the chunk: the pending version was committed
		 * (or dropped) while we read; what we read may be old */
		if (!holder(o->ct, &op->id) && o->tries++ < 8)
			return read_again(c, o, 0);
		return finish(c, o, op->status);
	}
	query_tail(c, o);
}

static void read_start(struct core *c, struct craq_op *o)
{
	struct craq_op *h = holder(o->ct, &o->op.id);

	if (h && h->par && !h->local_done) { /* I6 */
		o->reader_next = h->readers;
		h->readers = o;
		return;
	}
	o->op.want_version = 0;
	o->op.done = read_done;
	store_submit(c, o->ct->st, &o->op);
}

/* ---- submission ---------------------------------------------------------- */

static int check(const struct craq_op *o)
{
	const struct craq_tgt *ct = o->ct;
	int rc = chain_view_check(&ct->v, o->chain, o->chain_ver,
				  CHAIN_ANY_STATE); /* I1 */

	if (rc)
		return rc;
	if (o->op.kind == SOP_READ)
		return ct->v.pstate == RT_SERVING ? 0 : -FFFS_ENOTSERVING;
	if (o->fwd == CRAQ_CLIENT)
		return ct->v.head ? 0 : -FFFS_ENOTHEAD;
	return chain_in_write_set(ct->v.pstate) ? 0 : -FFFS_ENOTSERVING;
}

void craq_submit(struct core *c, struct store_target *t, struct craq_op *o)
{
	int rc;

	o->ct = craq_tgt_of(t);
	o->locked = o->applied_committed = o->have_whole = false;
	o->resolving = o->had_succ = o->inherited = false;
	o->par = o->local_done = o->fwd_waits = false;
	o->readers = NULL;
	o->op.started = NULL;
	o->tries = 0;
	o->fwd_status = 0;
	o->cur_fwd = o->fwd			  ? o->fwd
		     : o->op.kind == SOP_TRUNCATE ? CRAQ_FWD_TRUNCATE
		     : o->op.kind == SOP_REMOVE	  ? CRAQ_FWD_REMOVE
						  : CRAQ_FWD_WRITE;
	o->u = o->version;
	o->deadline_ns =
		now_ns() +
		(uint64_t)config_int(CFG_craq_write_timeout_ms) * 1000000;
	o->sync_cb = NULL;
	rc = check(o);
	if (rc) {
		o->op.status = rc;
		return o->done(c, o);
	}
	if (o->op.kind == SOP_READ)
		return read_start(c, o);
	if (craq_lock(o->ct, o, &o->op.id))
		update_locked(c, o);
}

/* ---- the small handlers -------------------------------------------------- */

/* The connection core's routing info: is target in chain at chain_ver, in
 * state? */
static int member_check(struct core *c, uint32_t chain, uint32_t chain_ver,
			uint64_t target, bool serving)
{
	struct craq_core *cc = core_view(c);
	struct chain_view v;

	if (!cc || !store_target_find(C.s, target))
		return -FFFS_ENOTSERVING;
	chain_view_compute(&v, cc->r, target);
	return chain_view_check(&v, chain, chain_ver,
				serving ? CHAIN_IN_WRITE_SET : CHAIN_ANY_STATE);
}

void craq_query_submit(struct core *c, struct store_target *t,
		       struct craq_op *o)
{
	struct chunk_meta m = { 0 };
	int rc;

	o->ct = craq_tgt_of(t);
	o->locked = o->inherited = false;
	o->sync_cb = NULL;
	o->op.version = 0;
	rc = check(o);
	if (!rc && o->ct->v.qtail != o->ct->id)
		rc = -FFFS_ENOTSERVING; /* only the query tail knows */
	if (!rc)
		rc = store_meta(t, &o->op.id, &m);
	if (!rc) {
		o->op.version =
			visible(o->ct, &o->op.id, m.committed, m.pending);
		chunk_meta_release(&m);
	}
	o->op.status = rc == -ENOENT ? 0 : rc;
	o->done(c, o);
}

int craq_h_sync_done(struct core *c, struct rpc_req *req)
{
	uint32_t chain, chain_ver;
	struct unpack up;
	uint64_t target;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	chain = unpack_u32(&up);
	chain_ver = unpack_u32(&up);
	target = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	rc = member_check(c, chain, chain_ver, target, true);
	if (rc)
		return rc;
	craq_sync_done(store_target_find(C.s, target), chain_ver);
	rpc_reply(c, req, 0, NULL, 0, NULL, 0, NULL, NULL);
	return 0;
}
