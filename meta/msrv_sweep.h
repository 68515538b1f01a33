/* meta/msrv_sweep.h - removing the chunks a file has on storage, from a
 * given index on, at the meta head (gc of a removed file, the trim of a
 * shrinking one).
 *
 * A sweep asks each distinct chain of the file's stripe which chunks of
 * the inode it holds (CLI_STOR_DUMP pages from the chain's head target,
 * starting at the first index concerned), and removes those at or past
 * `from` through the chain (chain/craq_cli.h), `window` at a time and at
 * most one every gap_ns when that is set. With cut_len set, chunk `cut`
 * (which is from - 1) is truncated to cut_len instead, if it exists. So
 * the work is bounded by the chunks that exist, not by the file's length:
 * a file grown to petabytes by ftruncate costs one page of listing per
 * chain.
 *
 *	sw->cl = &cl; sw->ino = a.ino; sw->layout = a.layout;
 *	sw->chains = tb->chains; sw->nchains = tb->n;   // copied at start
 *	sw->from = 0; sw->window = 16; sw->done = my_done;
 *	msrv_sweep_start(c, sw);     // my_done(c, sw) later, on c
 *
 * done() runs exactly once, on the caller's core, never inside
 * msrv_sweep_start(). status is 0 when every chunk is gone (a remove that
 * finds no chunk counts as done), else the first error: the chain's
 * (chain/craq_cli.h retries through failovers), or the listing's. A
 * listing that fails as a chain write would retry (stale routing, a head
 * that is away, no serving head: stor_retryable()) is asked again every
 * craq_retry_ms with fresh routing, until craq_write_timeout_ms after
 * its first failure. removed counts the chunks removed. The caller keeps
 * sw until done() runs.
 *
 * A chunk being written while the sweep runs may survive it (the caller
 * guarantees there is no writer: the file is in gc, or the head orders the
 * truncate after the writes it knows). Chunks are listed at the head,
 * which has every chunk any member has.
 */
#ifndef META_MSRV_SWEEP_H
#define META_MSRV_SWEEP_H

#include "chain/craq_cli.h"
#include "meta/ns.h"

#define MSRV_SWEEP_WINDOW 16   /* removes in flight at most */
#define MSRV_SWEEP_CHAINS 1024 /* a table's chains at most */

struct msrv_sweep {
	/* set by the caller */
	struct craq_client *cl;
	uint64_t ino;
	struct ns_layout layout;
	const uint32_t *chains; /* the table's chains (read at start) */
	uint32_t nchains;
	uint64_t from;	  /* chunks at or past this index go */
	uint32_t cut_len; /* 0: none; else chunk from - 1 is cut to it */
	unsigned window;  /* 1..MSRV_SWEEP_WINDOW */
	uint64_t gap_ns;  /* 0: no rate limit */
	void (*done)(struct core *c, struct msrv_sweep *sw);
	/* results */
	int status;
	uint64_t removed;
	/* private */
	struct core *c;
	uint32_t dchains[MSRV_SWEEP_CHAINS], ndchains, ci;
	struct stor_dump dump;
	bool listing, more;
	struct chunk_id next_key;
	uint32_t *idx; /* the page's indexes still to do */
	uint32_t nidx, pos;
	unsigned inflight;
	uint64_t next_ns;
	uint64_t deadline_ns; /* of a failing listing's retries, 0: none */
	bool relist;	      /* the timer lists again (else it issues) */
	struct loop_timer timer;
	struct loop_msg msg;
	struct craq_write w[MSRV_SWEEP_WINDOW];
};

void msrv_sweep_start(struct core *c, struct msrv_sweep *sw);

#endif /* META_MSRV_SWEEP_H */
