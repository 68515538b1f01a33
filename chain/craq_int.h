/* chain/craq_int.h - what chain/craq_srv.c and chain/craq_sync.c share:
 * a target's chain view, its chunk locks, and the sync job's hooks. Only
 * those two files (and tests) include it. */
#ifndef CHAIN_CRAQ_INT_H
#define CHAIN_CRAQ_INT_H

#include <stdatomic.h>

#include "chain/craq_srv.h"
#include "chain/view.h"

#define CRAQ_NLOCK 256

struct craq_lock {
	struct chunk_id id;
	struct craq_op *head, **tailp;
	struct craq_lock *next;
};

struct craq_sync;

/* A target's chain view; all but the atomics belong to its owner core. */
struct craq_tgt {
	struct store_target *st;
	uint64_t id;
	struct chain_view v;	/* succ 0: the tail; qtail: asked by reads */
	_Atomic int rep_pstate; /* -1 outside chains (any thread) */
	_Atomic uint32_t rep_chain_ver;
	_Atomic uint32_t synced_ver; /* SYNC_DONE came at this version */
	struct craq_lock *locks[CRAQ_NLOCK];
	struct craq_op *parked; /* forwards waiting for the chain */
	unsigned inherited_n;	/* ops with inherited set, running */
	struct craq_sync *sync; /* the sync job we run, or NULL */
};

struct craq_tgt *craq_tgt_of(const struct store_target *st);

/* Take the chunk for o (true), or queue o: the holder's unlock hands it
 * over and resumes o (its sync_cb when set). */
bool craq_lock(struct craq_tgt *ct, struct craq_op *o,
	       const struct chunk_id *id);
struct craq_op *craq_unlock(struct craq_tgt *ct, struct craq_op *o,
			    const struct chunk_id *id);
/* Resume a queued op that now holds its chunk. */
void craq_resume(struct core *c, struct craq_op *o);
/* Writes inherited by the query tail (I4) still under way. */
static inline bool craq_inherited_left(const struct craq_tgt *ct)
{
	return ct->inherited_n > 0;
}

/* The end of an op: its status, the chunk to the next waiter, done(). */
void craq_finish(struct core *c, struct craq_op *o, int status);
/* o->call as a STOR_STOR_FORWARD of what o->cur_fwd says to target `to`
 * (the caller sets call.done and starts it). */
void craq_fwd_prepare(struct craq_op *o, uint64_t to);

/* chain/craq_sync.c: start, stop or keep the sync job after a view
 * change; a SYNC_DONE for target at chain_ver. */
void craq_sync_check(struct core *c, struct craq_tgt *ct);
void craq_sync_done(struct store_target *st, uint32_t chain_ver);

#endif /* CHAIN_CRAQ_INT_H */
