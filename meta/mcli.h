/* meta/mcli.h - the meta client: namespace operations sent to the meta
 * chain (meta/msrv.h), retried idempotently through failovers.
 *
 *	mcli_init(&cl, c, client_id);          // one per core that uses it
 *	op->q.op = MOP_MKDIR; op->q.parent = 1; ... ; op->q.cred = cred;
 *	op->done = my_done;
 *	mcli_start(&cl, op);                   // my_done(c, op) later
 *	  op->r: status and the reply (meta/mproto.h); mres_release(&op->r)
 *	mcli_release(&cl);                     // nothing in flight any more
 *
 * Routing comes from the process's agent (mgmt/agent.h), which must run.
 * The meta chain is the chain whose targets are on ROLE_META nodes (the
 * first such chain by id). A change goes to the chain's head with the
 * chain version the client knows and a request id that grows with every
 * change of this client; reads go to the serving members in turn (load
 * spreads over the replicas) and to the tail when a member answers
 * -FFFS_EDIRTY. When an answer says the routing was stale (-FFFS_ECHAINVER,
 * -FFFS_ENOTHEAD, -FFFS_ENOTSERVING, -FFFS_EFENCED) or the server is
 * unreachable (a lost connection, a timeout) or the chain has no serving
 * member, the client asks the agent for fresh routing info and sends the
 * same request again (same request id: the server answers a change it
 * executed with its first answer) every mcli_retry_ms, until it succeeds
 * or mcli_timeout_ms (op->timeout_ms when set) passed since the start:
 * then -ETIMEDOUT (or the last error). Every request carries the client's ack
 *floor: the lowest request id still in flight (so the servers may forget older
 *answers).
 *
 * done() runs exactly once, on the client's core, never inside
 * mcli_start(). op->attempts counts the sends and op->served_by the
 * target that answered. The struct belongs to the library until done()
 * runs; done() may start it again (after mres_release) or free it.
 *
 * Synchronous use from a thread that is not a loop thread (tools, tests):
 * mcli_call() posts the op to core c and waits for it.
 */
#ifndef META_MCLI_H
#define META_MCLI_H

#include "meta/mproto.h"
#include "mgmt/routing.h"
#include "net/rpc.h"

struct mcli {
	struct core *c;
	uint64_t client;
	uint64_t next_req;
	uint32_t rr; /* read spreading */
	unsigned inflight;
	/* private: changes in flight, oldest first (the ack floor) */
	struct mcli_op *oldest, *newest;
};

struct mcli_op {
	/* set by the caller (q.client, q.req_id, q.ack_floor, q.chain_ver
	 * are filled by the library) */
	struct mreq q;
	void (*done)(struct core *c, struct mcli_op *op);
	void *arg;
	uint32_t timeout_ms; /* how long retries may go; 0: mcli_timeout_ms */
	/* results */
	struct mres r;
	uint32_t attempts;
	uint64_t served_by;
	/* private */
	struct mcli *cl;
	struct mcli_op *prev, *next;
	struct rpc_call call;
	uint8_t *body;
	size_t body_len;
	uint64_t deadline_ns, target;
	bool to_tail;
	struct loop_timer timer;
};

void mcli_init(struct mcli *cl, struct core *c, uint64_t client);
void mcli_release(struct mcli *cl);
/* 0, or -EINVAL for a malformed op (done() will not run). */
int mcli_start(struct mcli *cl, struct mcli_op *op);
/* Blocking, from a non-loop thread: runs op on cl's core; op->r. */
int mcli_call(struct mcli *cl, struct mcli_op *op);

/* The meta chain in r (NULL: none). */
const struct rt_chain *mcli_meta_chain(const struct routing *r);

#endif /* META_MCLI_H */
