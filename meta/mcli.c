/* meta/mcli.c - the meta client: namespace operations routed to the meta
 * chain's head (changes) or spread over its serving members (reads), and
 * resent with the same request id until they succeed or time out. */
#define LOG_SUBSYS "mcli"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/config.h"
#include "chain/storage_cli.h"
#include "meta/mcli.h"
#include "mgmt/agent.h"
#include "net/auth.h"

/* Fixed part of a request body at most (mreq_pack), without data. */
#define MREQ_FIXED_MAX (64 + 4 * NS_NGROUPS_MAX + 2 * (4 + NS_NAME_MAX) + 96)

void mcli_init(struct mcli *cl, struct core *c, uint64_t client)
{
	memset(cl, 0, sizeof(*cl));
	cl->c = c;
	/* A fresh id per client: a restarted process reusing an id (its
	 * request ids start at 1 again) would be given old answers. */
	while (!client &&
	       getrandom(&client, sizeof(client), 0) != (ssize_t)sizeof(client))
		client = now_ns() ^ ((uint64_t)getpid() << 32);
	cl->client = client;
	cl->rr = (uint32_t)(client ^ client >> 32); /* short-lived clients
						      spread too */
}

void mcli_release(struct mcli *cl)
{
	FFFS_ASSERT(!cl->inflight && !cl->oldest);
}

const struct rt_chain *mcli_meta_chain(const struct routing *r)
{
	for (uint32_t i = 0; r && i < r->nchains; i++) {
		const struct rt_chain *ch = &r->chains[i];
		const struct rt_target *t =
			ch->n ? routing_target(r, ch->targets[0]) : NULL;
		const struct rt_node *n = t ? routing_node(r, t->node) : NULL;

		if (n && n->role == ROLE_META)
			return ch;
	}
	return NULL;
}

static uint64_t retry_ns(void)
{
	return (uint64_t)config_int(CFG_mcli_retry_ms) * 1000000;
}

/* The lowest request id of this client still in flight; with none, every
 * id given so far has been answered. */
static uint64_t ack_floor(const struct mcli *cl)
{
	return cl->oldest ? cl->oldest->q.req_id : cl->next_req + 1;
}

static void changes_unlink(struct mcli *cl, struct mcli_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		cl->oldest = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		cl->newest = op->prev;
	op->prev = op->next = NULL;
}

static void finish(struct core *c, struct mcli_op *op, int status)
{
	struct mcli *cl = op->cl;

	op->r.status = status;
	if (op->q.req_id)
		changes_unlink(cl, op);
	free(op->body);
	op->body = NULL;
	cl->inflight--;
	op->done(c, op);
}

/* The member to send op to: the head for a change, the tail after a
 * -FFFS_EDIRTY, else the serving members in turn (skipping the one that
 * just failed when there is another). 0: none serving. */
static uint64_t pick(struct mcli_op *op, const struct routing *r,
		     const struct rt_chain *ch)
{
	uint64_t m[RT_CHAIN_MAX];
	int n = routing_chain_serving(r, ch, m), k;

	if (!n)
		return 0;
	if (!mop_is_read(op->q.op))
		return m[0];
	if (op->to_tail)
		return m[n - 1];
	k = (int)(op->cl->rr++ % (uint32_t)n);
	if (n > 1 && m[k] == op->target)
		k = (k + 1) % n;
	return m[k];
}

static void try_again(struct core *c, struct mcli_op *op, int status,
		      uint64_t delay)
{
	uint64_t now = now_ns();

	if (loop_stopping(c) || now >= op->deadline_ns)
		return finish(c, op, status);
	if (now + delay > op->deadline_ns) /* a last try at the deadline */
		delay = op->deadline_ns - now;
	core_timer_add(c, &op->timer, delay);
}

static void answered(struct core *c, struct rpc_call *call, int status,
		     const void *body, uint32_t len)
{
	struct mcli_op *op = fffs_container_of(call, struct mcli_op, call);
	bool was_tail = op->to_tail;
	int rc;

	if (status == -FFFS_EDIRTY && !was_tail) {
		op->to_tail = true; /* the tail has every committed change */
		return try_again(c, op, status, 0);
	}
	if (stor_retryable(status) || status == -FFFS_EDIRTY) {
		/* The tail we knew was not the tail: routing is stale. */
		op->to_tail = false;
		agent_refresh();
		return try_again(c, op, status, retry_ns());
	}
	op->served_by = op->target;
	op->r.status = status;
	rc = mres_unpack(op->q.op, body, len, &op->r);
	if (rc) {
		log_warn("malformed %s answer from target %llu",
			 mop_name(op->q.op), (unsigned long long)op->target);
		status = rc;
	}
	finish(c, op, status);
}

/* One send: to the member the newest routing info gives. */
static int send_once(struct core *c, struct mcli_op *op)
{
	struct routing *r = agent_routing();
	const struct rt_chain *ch = mcli_meta_chain(r);
	const struct rt_target *t;
	const struct rt_node *n;
	struct rpc_peer *p = NULL;
	uint64_t left, now, target = ch ? pick(op, r, ch) : 0;
	struct pack pk;
	char err[128];

	t = target ? routing_target(r, target) : NULL;
	n = t ? routing_node(r, t->node) : NULL;
	if (n)
		p = rpc_peer_get(c, n->addr, err, sizeof(err));
	if (!p) {
		routing_unref(r);
		return -FFFS_ENOTSERVING;
	}
	op->target = target;
	op->q.chain_ver = ch->version;
	routing_unref(r);
	op->q.ack_floor = ack_floor(op->cl);
	pack_init(&pk, op->body, op->body_len);
	mreq_pack(&pk, &op->q);
	FFFS_ASSERT(!pk.err);
	/* Within the deadline, but a last try still gets a retry interval
	 * to be answered in. */
	now = now_ns();
	left = now < op->deadline_ns ? (op->deadline_ns - now) / 1000000 : 0;
	if (left < (uint64_t)config_int(CFG_mcli_retry_ms))
		left = (uint64_t)config_int(CFG_mcli_retry_ms);
	op->call = (struct rpc_call){
		.type = MSG_CLI_META_OP,
		.body = op->body,
		.body_len = (uint32_t)pack_len(&pk),
		.done = answered,
	};
	if (left < (uint64_t)config_int(CFG_rpc_timeout_ms))
		op->call.timeout_ms = (uint32_t)left;
	op->attempts++;
	return rpc_call_start(c, p, &op->call);
}

static void try_send(struct core *c, struct loop_timer *t)
{
	struct mcli_op *op = fffs_container_of(t, struct mcli_op, timer);
	int rc = send_once(c, op);

	/* answered() may have run inside rpc_call_start(): op is not ours
	 * then unless rc says it never started. */
	if (!rc)
		return;
	if (rc == -FFFS_ENOTSERVING) /* no head, or no routing yet */
		agent_refresh();
	if (stor_retryable(rc))
		return try_again(c, op, rc, retry_ns());
	finish(c, op, rc);
}

static bool op_ok(const struct mcli_op *op)
{
	const struct mreq *q = &op->q;
	uint32_t max = q->op == MOP_SETXATTR ? NS_XATTR_SIZE_MAX : NS_PATH_MAX;

	return op->done && mop_valid(q->op) &&
	       q->cred.ngroups <= NS_NGROUPS_MAX &&
	       memchr(q->name, 0, sizeof(q->name)) &&
	       memchr(q->name2, 0, sizeof(q->name2)) &&
	       (!q->data || q->data_len <= max);
}

int mcli_start(struct mcli *cl, struct mcli_op *op)
{
	struct mcli_op *tail = cl->newest;

	FFFS_ASSERT(core_self() == cl->c);
	if (!op_ok(op))
		return -EINVAL;
	op->cl = cl;
	op->attempts = 0;
	op->served_by = op->target = 0;
	op->to_tail = false;
	memset(&op->r, 0, sizeof(op->r));
	op->q.client = cl->client;
	op->q.req_id = mop_is_read(op->q.op) ? 0 : ++cl->next_req;
	op->prev = op->next = NULL;
	if (op->q.req_id) { /* ids grow: the list stays sorted */
		op->prev = tail;
		if (tail)
			tail->next = op;
		else
			cl->oldest = op;
		cl->newest = op;
	}
	op->body_len = MREQ_FIXED_MAX + (op->q.data ? op->q.data_len : 0);
	op->body = xmalloc(op->body_len);
	op->deadline_ns =
		now_ns() +
		(uint64_t)(op->timeout_ms ? op->timeout_ms
					  : config_int(CFG_mcli_timeout_ms)) *
			1000000;
	cl->inflight++;
	core_timer_init(&op->timer, try_send);
	core_timer_add(cl->c, &op->timer, 0); /* done() never runs in here */
	return 0;
}

/* ---- blocking use -------------------------------------------------------- */

struct mcli_wait {
	struct loop_msg msg;
	struct mcli *cl;
	struct mcli_op *op;
	void (*done)(struct core *c, struct mcli_op *op);
	void *arg;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
	int rc;
};

static void wait_wake(struct mcli_wait *w, int rc)
{
	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->finished = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu); /* w may be gone from here on */
}

static void wait_done(struct core *c, struct mcli_op *op)
{
	wait_wake(op->arg, op->r.status);
}

static void wait_start(struct core *c, struct loop_msg *m)
{
	struct mcli_wait *w = fffs_container_of(m, struct mcli_wait, msg);
	int rc = mcli_start(w->cl, w->op);

	if (rc)
		wait_wake(w, rc);
}

int mcli_call(struct mcli *cl, struct mcli_op *op)
{
	struct mcli_wait w = {
		.cl = cl, .op = op, .done = op->done, .arg = op->arg
	};

	FFFS_ASSERT(!core_self());
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	op->done = wait_done;
	op->arg = &w;
	w.msg.cb = wait_start;
	core_post(cl->c, &w.msg);
	pthread_mutex_lock(&w.mu);
	while (!w.finished)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	op->done = w.done;
	op->arg = w.arg;
	return w.rc;
}
