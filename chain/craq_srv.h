/* chain/craq_srv.h - chain replication with apportioned queries (CRAQ) on
 * a storage server: writes enter at the chain's head, travel down the
 * chain as pending versions, commit at the tail first and then at every
 * member on the way back; reads are answered by any serving member.
 *
 *	craq_srv_init(store);              // before the loops
 *	craq_srv_routing(r);               // any thread, each new snapshot
 *	craq_submit(owner, target, &o);    // on the target's owner core
 *	  o.done(owner, &o)                // results in o.op (store.h)
 *
 * A target's view of its chain (head, successor, query tail, the member
 * it syncs) and the fencing of I1 are chain/view.h, which the meta chain
 * (meta/msrv.h) uses too.
 *
 * Invariants (asserted where they apply):
 *  I1 a member serves a request only when its lease holds
 *     (agent_serving_allowed()) and the request's chain version is its
 *     own; otherwise -FFFS_EFENCED or -FFFS_ECHAINVER (the sender
 *     refreshes its routing info and retries);
 *  I2 writes to one chunk are serialised at every member: one chain
 *     operation per chunk at a time holds the chunk (a lock per chunk id);
 *  I3 the head gives a write version committed + 1 of its chunk; every
 *     member applies it as pending on base committed, the tail commits it
 *     at once; a member commits only once its successor has answered, so
 *     a version committed anywhere is committed at the tail;
 *  I4 reads never return a version that may be rolled back, nor one
 *     older than a version already shown: a member with a pending
 *     version asks the query tail (the last serving member) which version
 *     is visible; the query tail shows its committed version, or the
 *     pending one of a write that was under way when it became the query
 *     tail (a tail before it may have shown that one, and it cannot be
 *     dropped: it is forwarded only to a syncing successor, which holds
 *     the chain up rather than fail it); a syncing successor is told it
 *     is synced only once no such inherited write is left, so a version
 *     shown is always on the next query tail;
 *  I5 a write is answered to its client only once every member of the
 *     write set (serving and syncing targets, in chain order) has it; a
 *     member upstream of the query tail that has its successor's answer
 *     may answer before its own commit of the version (craq_op.answer):
 *     every member has the version durably as pending by then, the tail
 *     and the query tail (which answers only after its commit) have
 *     committed it, and reads that find it pending ask the query tail
 *     (I4);
 *  I6 a member with a successor forwards a write (or a truncate that
 *     grows) as soon as its own store has passed every check of the chunk
 *     and begins the data write (store_op.started), so the members store
 *     it in parallel rather than one after the other; it acts on the
 *     successor's answer (commits, answers upstream, or aborts) only once
 *     its own write ended. Until then a read of the chunk here waits: the
 *     tail may already show the version this member does not have yet as
 *     pending, and I4 needs it pending here. A member whose own write
 *     fails after the forward went out (its device or metadata store:
 *     everything else was checked first) may lack a version the chain
 *     has, so it marks its target failed, which takes it out of the
 *     chain until a sync, and answers -FFFS_ENOTSERVING (the sender
 *     retries on the new chain).
 *
 * Failures. A forward that fails because the successor died, disagrees
 * about the chain version, or is not serving is parked until the routing
 * info changes (and retried every craq_retry_ms meanwhile), then sent to
 * whoever is the successor now; a member that has become the tail commits
 * itself. A successor without the write's base version (a replica being
 * synced) gets the whole chunk. A successor that cannot apply the write
 * (ENOSPC, EIO, a checksum error) fails it: every member drops its pending
 * version and the client gets the error. A retry of a write (same client
 * and request id) is answered from the chunk's metadata, or completes the
 * pending version the first attempt left.
 *
 * Recovery. The last serving member of a chain whose next target is
 * syncing runs the sync (chain/craq_sync.c): it compares the two targets'
 * chunk lists and sends whole chunks (and removes) under the chunk locks
 * while writes go on, then STOR_STOR_SYNC_DONE. Writes that start once
 * the target is its successor are forwarded to it; a chunk locked when
 * the sync starts (a write from before, which will not be forwarded and
 * whose metadata may not be in the list yet) is sent again once the lists
 * are done. The synced target then
 * reports itself up to date and mgmtd makes it serving. Targets report
 * their local state through craq_srv_report(): offline when failed, up to
 * date when serving with a lease or synced, else online.
 *
 * Caveats: without routing info (no mgmtd) no target is in a chain and
 * only chain-less requests (chain 0) are served; a remove travels down the
 * chain and is applied on the way back, so a read racing it at an upstream
 * member may still see the chunk.
 */
#ifndef CHAIN_CRAQ_SRV_H
#define CHAIN_CRAQ_SRV_H

#include "chain/store.h"
#include "mgmt/agent.h"
#include "mgmt/routing.h"
#include "net/rpc.h"

enum craq_fwd {
	CRAQ_CLIENT = 0, /* a client's request at the head (or any member) */
	CRAQ_FWD_WRITE = 1,
	CRAQ_FWD_TRUNCATE = 2,
	CRAQ_FWD_REMOVE = 3,
	CRAQ_FWD_WHOLE = 4, /* the whole chunk as version `version` */
};

#define CRAQ_FWD_BODY 78 /* STOR_STOR_FORWARD body bytes */

struct craq_tgt;

struct craq_op {
	/* set by the caller: op as for store_submit() (kind SOP_WRITE,
	 * SOP_TRUNCATE, SOP_REMOVE or SOP_READ; a forward of a whole chunk
	 * is SOP_WRITE at offset 0 with fwd CRAQ_FWD_WHOLE) */
	struct store_op op;
	uint32_t chain, chain_ver;
	uint8_t fwd; /* enum craq_fwd */
	bool sync;   /* forwarded by recovery: apply, do not pass on */
	uint64_t version, base; /* forwarded: the version to make, on base */
	void (*done)(struct core *c, struct craq_op *o);
	/* optional (a write or truncate): called once the outcome is
	 * final, success, with o.op's results, when the version is committed
	 * at the tail but this member's own commit is still to run; done
	 * follows once that commit ended (its error, if any, in o.op.status,
	 * is this member's alone: the chain has the version) */
	void (*answer)(struct core *c, struct craq_op *o);
	/* private */
	struct craq_tgt *ct;
	int stage;
	bool locked, applied_committed;
	uint64_t u; /* the version being made */
	uint32_t tries;
	uint64_t deadline_ns;
	uint8_t cur_fwd; /* what the forward sends (WHOLE after EVERSION) */
	int fwd_status;	 /* a remove: the successor's answer */
	bool resolving, had_succ;
	bool inherited; /* under way when its target became the query tail */
	/* a parallel write (I6): its forward went out once the local write
	 * began; what the forward's end (or fwd_send) would do waits for
	 * local_done, and so do reads of the chunk (readers) */
	bool par, local_done, fwd_waits;
	int local_status, fwd_wait_status;
	struct craq_op *readers, *reader_next;
	/* a sync action (chain/craq_sync.c): called holding the chunk */
	void (*sync_cb)(struct core *c, struct craq_op *o);
	void *sync_arg;
	struct store_op rd; /* reads of the whole chunk, commits, aborts */
	bool have_whole;    /* rd holds the whole chunk (out_buf) */
	struct craq_op *lock_next; /* waiting for the chunk after this one */
	struct craq_op *park_next; /* the target's parked forwards */
	struct rpc_call call;
	uint8_t body[CRAQ_FWD_BODY];
	struct loop_timer timer;
};

void craq_srv_init(struct store *s);
/* Any thread: a new routing snapshot (borrowed; referenced inside). */
void craq_srv_routing(struct routing *r);
/* agent_params.report: each target's local state and space. */
int craq_srv_report(void *arg, struct agent_report *out, int max);

/* On store_target_core(t). */
void craq_submit(struct core *c, struct store_target *t, struct craq_op *o);

/* True when target is in a chain (for refusing chain-less writes to it);
 * any loop core. */
bool craq_target_chained(struct core *c, uint64_t target);

/* Handlers of STOR_STOR_COMMITTED and STOR_STOR_SYNC_DONE (answered on the
 * connection's core). */
int craq_h_sync_done(struct core *c, struct rpc_req *req);

/* The version of a chunk that reads may see, at the query tail (I4):
 * o->op.id; the answer in o->op.version (0: none). A STOR_STOR_COMMITTED
 * runs this on the target's owner core. */
void craq_query_submit(struct core *c, struct store_target *t,
		       struct craq_op *o);

#endif /* CHAIN_CRAQ_SRV_H */
