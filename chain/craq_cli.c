/* chain/craq_cli.c - chain writes at the head and reads over the serving
 * members, routed by the newest routing info and retried through
 * failures. */
#define LOG_SUBSYS "craqcli"
#include <string.h>

#include "base/config.h"
#include "base/fault.h"
#include "chain/craq_cli.h"
#include "mgmt/agent.h"

void craq_client_init(struct craq_client *cl, struct core *c)
{
	memset(cl, 0, sizeof(*cl));
	cl->c = c;
	stor_client_init(&cl->sc, c, 0);
}

unsigned craq_client_inflight(const struct craq_client *cl)
{
	return cl->inflight;
}

void craq_client_release(struct craq_client *cl)
{
	FFFS_ASSERT(!cl->inflight);
	stor_client_release(&cl->sc);
	routing_unref(cl->r);
	cl->r = NULL;
}

static const struct routing *cl_routing(struct craq_client *cl)
{
	struct routing *r;

	if (cl->r && agent_routing_version() <= cl->r->version)
		return cl->r;
	r = agent_routing();
	if (r) {
		routing_unref(cl->r);
		cl->r = r;
	}
	return cl->r;
}

int craq_chain_members(struct craq_client *cl, uint32_t chain,
		       uint64_t *targets)
{
	const struct routing *r = cl_routing(cl);
	const struct rt_chain *ch = r ? routing_chain(r, chain) : NULL;

	return ch ? routing_chain_serving(r, ch, targets) : 0;
}

/* The peer serving target, and the chain's version; NULL when unknown. */
static struct rpc_peer *peer_of(struct craq_client *cl, uint32_t chain,
				uint64_t target, uint32_t *chain_ver)
{
	const struct routing *r = cl_routing(cl);
	const struct rt_chain *ch = r ? routing_chain(r, chain) : NULL;
	const struct rt_target *t = r ? routing_target(r, target) : NULL;
	const struct rt_node *n = t ? routing_node(r, t->node) : NULL;
	char err[128];

	if (!ch || !n)
		return NULL;
	*chain_ver = ch->version;
	return rpc_peer_get(cl->c, n->addr, err, sizeof(err));
}

static uint64_t retry_ns(void)
{
	return (uint64_t)config_int(CFG_craq_retry_ms) * 1000000;
}

static uint64_t deadline(void)
{
	return now_ns() +
	       (uint64_t)config_int(CFG_craq_write_timeout_ms) * 1000000;
}

/* ---- writes -------------------------------------------------------------- */

static void write_try(struct core *c, struct loop_timer *t);

static void write_end(struct core *c, struct craq_write *w, int status)
{
	if (status && stor_retryable(status) && now_ns() < w->deadline_ns) {
		agent_refresh();
		core_timer_add(c, &w->timer, retry_ns());
		return;
	}
	w->status = status;
	w->cl->inflight--;
	w->done(c, w);
}

static void write_done(struct core *c, struct stor_write *sw)
{
	struct craq_write *w = fffs_container_of(sw, struct craq_write, u.w);

	w->version = sw->version;
	w->chunk_length = sw->chunk_length;
	w->chunk_crc = sw->chunk_crc;
	write_end(c, w, sw->status);
}

static void trunc_done(struct core *c, struct stor_truncate *st)
{
	struct craq_write *w = fffs_container_of(st, struct craq_write, u.t);

	w->version = st->version;
	w->chunk_length = st->chunk_length;
	w->chunk_crc = st->chunk_crc;
	write_end(c, w, st->status);
}

static void remove_done(struct core *c, struct stor_remove *x)
{
	struct craq_write *w = fffs_container_of(x, struct craq_write, u.x);

	write_end(c, w, x->status);
}

/* One send: to the chain's head as the newest routing info has it (the
 * same request id on every send). */
static int write_send(struct craq_write *w, struct rpc_peer *p, uint64_t head,
		      uint32_t ver)
{
	struct craq_client *cl = w->cl;
	bool again = w->sent_once;

	w->sent_once = true;
	switch (w->kind) {
	case CRAQ_CLI_WRITE:
		w->u.w.peer = p;
		w->u.w.target = head;
		w->u.w.chain_ver = ver;
		return again ? stor_write_retry(&cl->sc, &w->u.w)
			     : stor_write_start(&cl->sc, &w->u.w);
	case CRAQ_CLI_TRUNCATE:
		w->u.t.peer = p;
		w->u.t.target = head;
		w->u.t.chain_ver = ver;
		return again ? stor_truncate_retry(&cl->sc, &w->u.t)
			     : stor_truncate_start(&cl->sc, &w->u.t);
	default:
		w->u.x.peer = p;
		w->u.x.target = head;
		w->u.x.chain_ver = ver;
		return stor_remove_start(&cl->sc, &w->u.x);
	}
}

static void write_try(struct core *c, struct loop_timer *t)
{
	struct craq_write *w = fffs_container_of(t, struct craq_write, timer);
	uint64_t members[RT_CHAIN_MAX];
	struct rpc_peer *p = NULL;
	uint32_t ver = 0;
	int n, rc;

	n = craq_chain_members(w->cl, w->chain, members);
	if (n)
		p = peer_of(w->cl, w->chain, members[0], &ver);
	if (!p) /* no head now: wait for one */
		return write_end(c, w, -FFFS_ENOTSERVING);
	if (!w->sent_once && ver > 1 && FAULT(FP_CRAQ_CLI_STALE))
		ver--; /* testing: the stale-routing path */
	w->attempts++;
	rc = write_send(w, p, members[0], ver);
	if (rc)
		write_end(c, w, rc);
}

int craq_write_start(struct craq_client *cl, struct craq_write *w)
{
	if (!w->done || !w->chain || w->kind > CRAQ_CLI_REMOVE)
		return -EINVAL;
	w->cl = cl;
	w->attempts = 0;
	w->sent_once = false;
	w->status = 0;
	w->deadline_ns = deadline();
	memset(&w->u, 0, sizeof(w->u));
	if (w->kind == CRAQ_CLI_WRITE)
		w->u.w = (struct stor_write){ .chain = w->chain,
					      .chunk = w->chunk,
					      .offset = w->offset,
					      .length = w->length,
					      .chunk_size = w->chunk_size,
					      .data = w->data,
					      .done = write_done };
	else if (w->kind == CRAQ_CLI_TRUNCATE)
		w->u.t = (struct stor_truncate){ .chain = w->chain,
						 .chunk = w->chunk,
						 .length = w->length,
						 .chunk_size = w->chunk_size,
						 .done = trunc_done };
	else
		w->u.x = (struct stor_remove){ .chain = w->chain,
					       .chunk = w->chunk,
					       .done = remove_done };
	cl->inflight++;
	core_timer_init(&w->timer, write_try);
	core_timer_add(cl->c, &w->timer, 0); /* done() never runs in here */
	return 0;
}

/* ---- reads --------------------------------------------------------------- */

static void read_try(struct core *c, struct loop_timer *t);

static void read_done(struct core *c, struct stor_read *sr, const uint8_t *data)
{
	struct craq_read *r = fffs_container_of(sr, struct craq_read, sr);
	int st = sr->status;

	if (st && stor_retryable(st) && now_ns() < r->deadline_ns) {
		r->skip = sr->target;
		if (st != -ETIMEDOUT && st != -ECONNREFUSED &&
		    st != -ECONNRESET)
			agent_refresh();
		core_timer_add(c, &r->timer,
			       r->attempts % 3 ? retry_ns() / 10 : retry_ns());
		return;
	}
	r->status = st;
	r->out_length = sr->out_length;
	r->crc = sr->crc;
	r->version = sr->version;
	r->served_by = sr->target;
	r->cl->inflight--;
	r->done(c, r, data);
}

/* The member to ask: the one asked for, else the next serving one
 * (skipping the last that failed when there is another). */
static uint64_t read_member(struct craq_read *r)
{
	uint64_t m[RT_CHAIN_MAX];
	int n = craq_chain_members(r->cl, r->chain, m), k;

	if (r->target)
		return r->target;
	if (!n)
		return 0;
	k = (int)(r->cl->rr++ % (uint32_t)n);
	if (n > 1 && m[k] == r->skip)
		k = (k + 1) % n;
	return m[k];
}

static void read_try(struct core *c, struct loop_timer *t)
{
	struct craq_read *r = fffs_container_of(t, struct craq_read, timer);
	uint64_t target = read_member(r);
	struct rpc_peer *p = NULL;
	uint32_t ver = 0;
	int rc;

	if (target)
		p = peer_of(r->cl, r->chain, target, &ver);
	r->attempts++;
	r->sr = (struct stor_read){ .peer = p,
				    .target = target,
				    .chain = r->chain,
				    .chain_ver = ver,
				    .chunk = r->chunk,
				    .offset = r->offset,
				    .length = r->length,
				    .done = read_done };
	rc = p ? stor_read_start(&r->cl->sc, &r->sr) : -FFFS_ENOTSERVING;
	if (rc) {
		r->sr.status = rc;
		read_done(c, &r->sr, NULL);
	}
}

int craq_read_start(struct craq_client *cl, struct craq_read *r)
{
	if (!r->done || !r->chain)
		return -EINVAL;
	r->cl = cl;
	r->attempts = 0;
	r->skip = 0;
	r->deadline_ns = deadline();
	cl->inflight++;
	core_timer_init(&r->timer, read_try);
	core_timer_add(cl->c, &r->timer, 0);
	return 0;
}
