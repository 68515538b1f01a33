/* meta/msrv_sweep.c - removing a file's chunks from storage, listed per
 * chain (meta/msrv_sweep.h). */
#define LOG_SUBSYS "msrv"
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "meta/msrv_sweep.h"
#include "mgmt/agent.h"

#define PAGE_MAX 1024 /* chunks listed per request */

static void list_next(struct core *c, struct msrv_sweep *sw);
static void issue(struct core *c, struct msrv_sweep *sw);

static uint64_t first_index(const struct msrv_sweep *sw)
{
	return sw->cut_len && sw->from ? sw->from - 1 : sw->from;
}

static void finish(struct core *c, struct msrv_sweep *sw)
{
	free(sw->idx);
	sw->idx = NULL;
	core_timer_del(c, &sw->timer);
	sw->done(c, sw);
}

static void fail(struct msrv_sweep *sw, int status)
{
	if (!sw->status)
		sw->status = status;
}

/* A listing that failed: again later with fresh routing when a chain
 * write would retry too (true), else the sweep fails. The time allowed
 * counts from this listing's first failure, not from the sweep's start,
 * which a long rate-limited sweep may have left far behind. */
static bool list_later(struct core *c, struct msrv_sweep *sw, int status)
{
	uint64_t now = now_ns();

	if (!sw->deadline_ns)
		sw->deadline_ns =
			now + (uint64_t)config_int(CFG_craq_write_timeout_ms) *
				      1000000;
	if (!stor_retryable(status) || now >= sw->deadline_ns ||
	    loop_stopping(c))
		return false;
	agent_refresh();
	sw->relist = true;
	core_timer_del(c, &sw->timer);
	core_timer_add(c, &sw->timer,
		       (uint64_t)config_int(CFG_craq_retry_ms) * 1000000);
	return true;
}

/* The chain's listing is exhausted, or failed: the next chain. */
static void chain_next(struct core *c, struct msrv_sweep *sw)
{
	sw->ci++;
	sw->next_key = (struct chunk_id){ sw->ino, (uint32_t)first_index(sw) };
	list_next(c, sw);
}

static void dump_done(struct core *c, struct stor_dump *d)
{
	struct msrv_sweep *sw = fffs_container_of(d, struct msrv_sweep, dump);
	bool other = false;
	uint32_t i;

	sw->listing = false;
	sw->nidx = sw->pos = 0;
	sw->more = false;
	if (d->status && list_later(c, sw, d->status))
		return;
	if (d->status) {
		log_warn("inode %llu: cannot list its chunks on chain %u "
			 "(target %llu): %s",
			 (unsigned long long)sw->ino, sw->dchains[sw->ci],
			 (unsigned long long)d->target,
			 fffs_strerror(d->status));
		fail(sw, d->status);
		return issue(c, sw);
	}
	sw->deadline_ns = 0; /* listed: the next failure starts afresh */
	for (i = 0; i < d->n && sw->nidx < PAGE_MAX; i++) {
		if (d->ents[i].chunk.inode != sw->ino) {
			other = true; /* past the inode: its chunks are done */
			break;
		}
		sw->idx[sw->nidx++] = d->ents[i].chunk.index;
	}
	/* more of this inode only when the page ended inside it */
	sw->more = !other && sw->nidx && (d->more || i < d->n) &&
		   stor_dump_next(&d->ents[i - 1].chunk, &sw->next_key) &&
		   sw->next_key.inode == sw->ino;
	issue(c, sw);
}

/* List the next page of the current chain, or move on. */
static void list_next(struct core *c, struct msrv_sweep *sw)
{
	uint64_t members[RT_CHAIN_MAX];
	const struct rt_target *t;
	const struct rt_node *nd;
	struct routing *r;
	uint32_t chain;
	char err[128];
	int m;

	if (sw->status || sw->ci >= sw->ndchains) {
		if (!sw->inflight)
			finish(c, sw);
		return;
	}
	chain = sw->dchains[sw->ci];
	m = craq_chain_members(sw->cl, chain, members);
	r = agent_routing();
	t = m > 0 && r ? routing_target(r, members[0]) : NULL;
	nd = t ? routing_node(r, t->node) : NULL;
	memset(&sw->dump, 0, sizeof(sw->dump));
	sw->dump.peer = nd ? rpc_peer_get(c, nd->addr, err, sizeof(err)) : NULL;
	sw->dump.target = m > 0 ? members[0] : 0;
	routing_unref(r);
	if (!sw->dump.peer && list_later(c, sw, -FFFS_ENOTSERVING))
		return;
	if (!sw->dump.peer) {
		log_warn("inode %llu: chain %u has no serving head to list "
			 "its chunks",
			 (unsigned long long)sw->ino, chain);
		fail(sw, -FFFS_ENOTSERVING);
		return list_next(c, sw);
	}
	sw->dump.start = sw->next_key;
	sw->dump.max = PAGE_MAX;
	sw->dump.done = dump_done;
	sw->listing = true;
	if (stor_dump_start(&sw->cl->sc, &sw->dump)) {
		sw->listing = false;
		fail(sw, -EINVAL);
		list_next(c, sw);
	}
}

static void one_done(struct core *c, struct craq_write *w)
{
	struct msrv_sweep *sw = (struct msrv_sweep *)(uintptr_t)w->data;

	w->done = NULL;
	sw->inflight--;
	if (w->status && w->status != -ENOENT) {
		log_warn("inode %llu: cannot %s chunk %u on chain %u: %s",
			 (unsigned long long)sw->ino,
			 w->kind == CRAQ_CLI_TRUNCATE ? "truncate" : "remove",
			 w->chunk.index, w->chain, fffs_strerror(w->status));
		fail(sw, w->status);
	} else if (!w->status && w->kind == CRAQ_CLI_REMOVE) {
		sw->removed++;
	}
	issue(c, sw);
}

static struct craq_write *free_slot(struct msrv_sweep *sw)
{
	for (unsigned i = 0; i < sw->window; i++)
		if (!sw->w[i].done)
			return &sw->w[i];
	return NULL;
}

/* Start removes while the window and the rate allow; at the page's end,
 * list the next one. */
static void issue(struct core *c, struct msrv_sweep *sw)
{
	struct craq_write *w;

	while (!sw->status && sw->pos < sw->nidx && (w = free_slot(sw))) {
		uint32_t idx = sw->idx[sw->pos];
		uint64_t now = now_ns();

		if (sw->gap_ns && now < sw->next_ns) {
			core_timer_del(c, &sw->timer);
			core_timer_add(c, &sw->timer, sw->next_ns - now);
			return;
		}
		if (sw->gap_ns)
			sw->next_ns =
				(sw->next_ns > now - sw->gap_ns ? sw->next_ns
								: now) +
				sw->gap_ns;
		sw->pos++;
		memset(w, 0, sizeof(*w));
		w->chain = sw->dchains[sw->ci];
		w->chunk = (struct chunk_id){ sw->ino, idx };
		w->chunk_size = sw->layout.chunk_size;
		if (sw->cut_len && idx + 1ull == sw->from) {
			w->kind = CRAQ_CLI_TRUNCATE;
			w->length = sw->cut_len;
		} else {
			w->kind = CRAQ_CLI_REMOVE;
		}
		w->data =
			(const void *)sw; /* a remove or truncate sends none */
		w->done = one_done;
		sw->inflight++;
		if (craq_write_start(sw->cl, w)) {
			w->done = NULL;
			sw->inflight--;
			fail(sw, -EINVAL);
		}
	}
	if (sw->inflight || sw->listing)
		return;
	if (sw->status || sw->pos >= sw->nidx) {
		if (sw->status || !sw->more)
			return chain_next(c, sw);
		list_next(c, sw);
	}
}

static void sweep_timer(struct core *c, struct loop_timer *t)
{
	struct msrv_sweep *sw = fffs_container_of(t, struct msrv_sweep, timer);

	if (sw->relist) {
		sw->relist = false;
		return list_next(c, sw);
	}
	issue(c, sw);
}

static void sweep_begin(struct core *c, struct loop_msg *m)
{
	struct msrv_sweep *sw = fffs_container_of(m, struct msrv_sweep, msg);

	list_next(c, sw);
}

void msrv_sweep_start(struct core *c, struct msrv_sweep *sw)
{
	uint64_t n = sw->layout.stripe ? sw->layout.stripe : 1;

	FFFS_ASSERT(sw->window >= 1 && sw->window <= MSRV_SWEEP_WINDOW);
	sw->c = c;
	sw->status = 0;
	sw->removed = 0;
	sw->ndchains = sw->ci = 0;
	sw->inflight = 0;
	sw->listing = sw->more = false;
	sw->nidx = sw->pos = 0;
	sw->next_ns = 0;
	sw->relist = false;
	sw->deadline_ns = 0;
	sw->idx = xcalloc(PAGE_MAX, sizeof(*sw->idx));
	memset(sw->w, 0, sizeof(sw->w));
	core_timer_init(&sw->timer, sweep_timer);
	/* the distinct chains the stripe puts chunks on */
	for (uint64_t i = 0;
	     first_index(sw) <= UINT32_MAX && i < n &&
	     sw->ndchains < sw->nchains && sw->ndchains < MSRV_SWEEP_CHAINS;
	     i++) {
		uint32_t ch =
			sw->chains[ns_chunk_chain(&sw->layout, sw->nchains, i)];
		bool seen = false;

		for (uint32_t k = 0; k < sw->ndchains; k++)
			seen = seen || sw->dchains[k] == ch;
		if (!seen)
			sw->dchains[sw->ndchains++] = ch;
	}
	sw->next_key = (struct chunk_id){ sw->ino, (uint32_t)first_index(sw) };
	sw->msg.cb = sweep_begin;
	core_post(c, &sw->msg);
}
