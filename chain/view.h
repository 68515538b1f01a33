/* chain/view.h - a replica's view of its chain: the one reading of a
 * routing snapshot that every chain member uses, for the data chains of
 * storage targets (chain/craq_srv.c) and for the meta chain (meta/msrv.c)
 * alike. Both kinds of member therefore agree on who is the head, who
 * gets a write next, who answers for reads, whom to sync, when a request
 * is fenced and what local state to report to mgmtd.
 *
 *	chain_view_compute(&v, routing, my_target);   // each new snapshot
 *	rc = chain_view_check(&v, chain, chain_ver, CHAIN_IN_WRITE_SET);
 *	ls = chain_local_state(v.pstate, v.chain_ver, synced_ver, failed);
 *
 * The write set of a chain is its serving and syncing members, in chain
 * order: a write enters at the head (the first member, serving), goes to
 * each of them in turn and is committed by the last. Reads are answered
 * by serving members; the query tail (the last serving member) decides
 * which version a read may see. The last serving member feeds a syncing
 * member right after it (recovery).
 *
 * Fencing (invariant I1 of chain/craq_srv.h, the same for meta): a member
 * takes a request only for its own chain at its own chain version, while
 * its lease holds (agent_serving_allowed()), and only in a state that may
 * take it; otherwise the sender refreshes its routing info and retries.
 *
 * Pure functions of their arguments and of the agent's lease; no locks
 * (the caller owns the view).
 */
#ifndef CHAIN_VIEW_H
#define CHAIN_VIEW_H

#include "mgmt/routing.h"

struct chain_view {
	uint32_t chain, chain_ver; /* chain 0: in no chain */
	int pstate;		   /* enum rt_pstate; -1: in no chain */
	bool head;		   /* the first member, and serving */
	bool tail;		   /* no serving member after this one */
	uint64_t succ;		   /* next member of the write set, 0: none */
	bool succ_syncing;	   /* ... and it is syncing */
	uint64_t qtail;		   /* the last serving member, 0: none */
	uint64_t next_syncing;	   /* the member this one syncs, 0: none */
	char succ_addr[RT_ADDR_MAX];
	char qtail_addr[RT_ADDR_MAX];
	char next_addr[RT_ADDR_MAX];
};

/* The states a request may find its member in. */
enum chain_accept {
	CHAIN_ANY_STATE,    /* a member of the chain, whatever its state */
	CHAIN_IN_WRITE_SET, /* serving or syncing */
	CHAIN_SERVING,	    /* serving */
};

/* In the write set: serving or syncing. */
static inline bool chain_in_write_set(int pstate)
{
	return pstate == RT_SERVING || pstate == RT_SYNCING;
}

/* target's view of its chain in r (a target in no chain: chain 0). */
void chain_view_compute(struct chain_view *v, const struct routing *r,
			uint64_t target);

/* Whether a request for chain at chain_ver may be taken (I1): 0, or
 * -FFFS_ENOTSERVING (another chain, no chain, or a state outside
 * `accept`), -FFFS_EFENCED (no lease), -FFFS_ECHAINVER. */
int chain_view_check(const struct chain_view *v, uint32_t chain,
		     uint32_t chain_ver, enum chain_accept accept);

/* The local state a member reports to mgmtd (enum rt_lstate): offline
 * when failed; up to date when serving with its lease, or syncing and told
 * at its current chain version that the sync is done (synced_ver, 0:
 * never); else online. pstate -1: in no chain. */
uint8_t chain_local_state(int pstate, uint32_t chain_ver, uint32_t synced_ver,
			  bool failed);

#endif /* CHAIN_VIEW_H */
