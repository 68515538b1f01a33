/* meta/msrv_gc.c - garbage collection at the meta chain's head
 * (meta/msrv.h): the inodes ns_gc_next() gives (on the executor thread,
 * each step a replicated commit; the drop of one inode and the pick of
 * the next share one) get their chunks removed on storage
 * through the chain client (core 0), at most msrv_gc_rate chunks a
 * second (meta/msrv_sweep.h: only the chunks the chains list are
 * visited), and then leave the db with ns_gc_done(). An inode whose chunks
 * cannot all be removed stays in gc and is tried again later. Only the
 * head, with its lease, collects; a new head picks up where the old one
 * stopped (gc state is in the db).
 *
 * Truncation: a SETATTR that shrinks a file of a chain table has, at
 * the head and before it is queued for the executor, the chunks past the
 * new size removed and the one the new size ends in truncated (every
 * chunk the chains list there, TRIM_WINDOW at a time, on the request's
 * core). If
 * that fails, the SETATTR fails with that error and nothing commits.
 *
 * Sessions: every PRUNE_NS the head closes (ns_sessions_prune) the write
 * sessions of clients whose node (client id >> 16, as fffs mount numbers
 * its clients) mgmtd lists as a client node that is down. A client whose
 * node is not listed at all (tools with random client ids) is left
 * alone. */
#define LOG_SUBSYS "msrv"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/craq_cli.h"
#include "meta/msrv_int.h"
#include "meta/msrv_sweep.h"
#include "meta/ns_int.h"
#include "net/auth.h"

#define GC_WINDOW   16		  /* chunk removes in flight */
#define GC_IDLE_NS  500000000ull  /* look for due inodes this often */
#define GC_RETRY_NS 2000000000ull /* after a failure */
#define GC_BATCH    256		  /* chunkless inodes dropped in one commit */
#define TRIM_WINDOW 8
#define PRUNE_NS    5000000000ull /* look for sessions to prune */
#define PRUNE_MAX   64		  /* clients pruned per step */
#define DOWN_MAX    1024	  /* down client nodes considered */

struct msrv_gc {
	struct craq_client cl;
	struct loop_timer timer;
	bool busy; /* a step is under way */
	struct ns_attr a;
	uint32_t chains[MSRV_SWEEP_CHAINS]; /* the table's, for this inode */
	uint32_t nchains;
	struct msrv_sweep sw;
	uint64_t removed, collected;
	struct loop_timer prune_timer;
	bool pruning;
};

static void gc_step(struct core *c, struct msrv *s);

/* ---- the executor side --------------------------------------------------- */

struct prune_scan {
	const uint32_t *down;
	size_t ndown;
	uint64_t clients[PRUNE_MAX];
	int n;
};

static int prune_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct prune_scan *p = arg;
	struct ns_session se;
	uint64_t node;

	if (ns_session_decode(val, vlen, &se))
		return 0; /* fsck's business */
	node = se.client >> 16;
	for (int i = 0; i < p->n; i++)
		if (p->clients[i] == se.client)
			return 0;
	for (size_t i = 0; i < p->ndown; i++)
		if (p->down[i] == node) {
			p->clients[p->n++] = se.client;
			return p->n == PRUNE_MAX;
		}
	return 0;
}

/* j->in: the down client nodes (u32 each). */
static void prune_run(struct msrv *s, struct msrv_job *j)
{
	struct prune_scan p = { .down = (const uint32_t *)(void *)j->in,
				.ndown = j->in_len / sizeof(uint32_t) };
	uint64_t now = msrv_realtime_ns();
	struct meta_ws ws = { 0 };
	struct meta_txn *t;
	int rc, total = 0;

	pthread_rwlock_rdlock(&s->db_lock);
	rc = meta_txn_begin(s->db, true, &t);
	if (!rc) {
		rc = meta_scan(t, META_T_SESSIONS, NULL, 0, NULL, 0, prune_one,
			       &p);
		rc = rc < 0 ? rc : 0;
		for (int i = 0; !rc && i < p.n; i++) {
			int n = ns_sessions_prune(t, p.clients[i], now);

			rc = n < 0 ? n : 0;
			total += n > 0 ? n : 0;
			if (n > 0)
				log_info("pruned %d sessions of client %llx: "
					 "mgmtd shows its node %llu down",
					 n, (unsigned long long)p.clients[i],
					 (unsigned long long)(p.clients[i] >>
							      16));
		}
		if (!rc && p.n)
			rc = msrv_exec_commit(s, t, &ws);
		else
			meta_txn_abort(t);
		meta_ws_release(&ws);
	}
	pthread_rwlock_unlock(&s->db_lock);
	if (rc)
		log_warn("cannot prune the sessions of down clients: %s",
			 fffs_strerror(rc));
	j->status = rc ? rc : total;
	msrv_answer_now(j, 0);
}

/* An inode with no chunks to remove: it needs no sweep. */
static bool gc_chunkless(const struct ns_attr *a)
{
	return !S_ISREG(a->mode) || !a->layout.table || !a->layout.chunk_size;
}

/* One gc step in one replicated commit. A drop (GC_DONE) also picks the
 * next inode due when with_next, so that an inode collected costs one
 * commit, not two, and drops the picked ones that have no chunks, up to
 * GC_BATCH in all: a removed tree of empty files or directories is not
 * one commit per inode competing with the clients' changes; *next_failed:
 * a pick failed (nothing committed). */
static int gc_txn(struct msrv *s, struct msrv_job *j, bool with_next,
		  bool *next_failed)
{
	uint64_t now = msrv_realtime_ns();
	struct meta_ws ws = { 0 };
	struct meta_txn *t;
	int rc = meta_txn_begin(s->db, true, &t), nrc;

	*next_failed = false;
	if (rc)
		return rc;
	if (j->kind == JOB_GC_NEXT) {
		rc = ns_gc_next(t, now, &j->attr);
	} else {
		rc = ns_gc_done(t, j->attr.ino);
		j->next_status = -ENOENT;
		j->dropped = rc ? 0 : 1;
		while (!rc && with_next) {
			nrc = ns_gc_next(t, now, &j->attr);
			j->next_status = nrc;
			if (nrc && nrc != -EAGAIN && nrc != -ENOENT) {
				*next_failed = true;
				rc = nrc;
			}
			if (nrc || !gc_chunkless(&j->attr) ||
			    j->dropped >= GC_BATCH)
				break;
			rc = ns_gc_done(t, j->attr.ino);
			j->dropped++;
			j->next_status = -ENOENT;
		}
	}
	if (rc == 0 || rc == -EAGAIN) {
		int crc = msrv_exec_commit(s, t, &ws);

		rc = crc ? crc : rc;
		meta_ws_release(&ws);
	} else {
		meta_txn_abort(t);
	}
	return rc;
}

void msrv_gc_run(struct msrv *s, struct msrv_job *j)
{
	uint64_t ino = j->attr.ino;
	bool next_failed;
	int rc;

	if (!msrv_still_head(s, j->chain_ver))
		return msrv_answer_now(j, -FFFS_ENOTHEAD);
	if (j->kind == JOB_PRUNE)
		return prune_run(s, j);
	pthread_rwlock_rdlock(&s->db_lock);
	rc = gc_txn(s, j, true, &next_failed);
	if (next_failed) { /* the drop alone (it frees space) */
		log_warn("gc: cannot take the inode after %llu: %s",
			 (unsigned long long)ino, fffs_strerror(rc));
		j->attr.ino = ino;
		rc = gc_txn(s, j, false, &next_failed);
	}
	pthread_rwlock_unlock(&s->db_lock);
	j->status = rc;
	msrv_answer_now(j, 0);
}

/* ---- core 0 -------------------------------------------------------------- */

static void gc_later(struct core *c, struct msrv *s, uint64_t ns)
{
	struct msrv_gc *g = s->gc;

	g->busy = false;
	core_timer_del(c, &g->timer);
	core_timer_add(c, &g->timer, ns);
}

static void gc_push(struct core *c, struct msrv *s, enum msrv_job_kind k,
		    void (*done)(struct core *c, struct msrv_job *j))
{
	struct msrv_job *j = xcalloc(1, sizeof(*j));

	pthread_mutex_lock(&s->mu);
	j->chain_ver = s->v.chain_ver;
	pthread_mutex_unlock(&s->mu);
	j->kind = k;
	j->c = c;
	j->done = done;
	j->attr = s->gc->a;
	msrv_exec_push(s, j);
}

static void gc_take(struct core *c, struct msrv *s);
static bool gc_may_run(struct core *c, struct msrv *s);

static void gc_done_done(struct core *c, struct msrv_job *j)
{
	struct msrv *s = msrv_g;
	struct msrv_gc *g = s->gc;
	int rc = j->status, next = j->next_status;
	unsigned dropped = j->dropped;
	struct ns_attr a = j->attr;

	msrv_job_free(j);
	if (rc) {
		log_warn("gc: inode %llu: cannot drop it: %s",
			 (unsigned long long)g->a.ino, fffs_strerror(rc));
		return gc_later(c, s, GC_RETRY_NS);
	}
	g->collected += dropped;
	log_debug("gc: inode %llu collected (%llu chunks removed), %u in all",
		  (unsigned long long)g->a.ino,
		  (unsigned long long)g->sw.removed, dropped);
	/* the same commit picked the next one: -EAGAIN, a directory gave up
	 * children (pick again now); -ENOENT, none is due */
	if (next || !gc_may_run(c, s))
		return gc_later(c, s, next == -EAGAIN ? 0 : GC_IDLE_NS);
	g->a = a;
	gc_take(c, s);
}

static void sweep_done(struct core *c, struct msrv_sweep *sw)
{
	struct msrv *s = msrv_g;
	struct msrv_gc *g = s->gc;

	g->removed += sw->removed;
	if (sw->status) {
		log_warn("gc: inode %llu: not all its chunks are removed: %s; "
			 "trying again later",
			 (unsigned long long)g->a.ino,
			 fffs_strerror(sw->status));
		return gc_later(c, s, GC_RETRY_NS);
	}
	gc_push(c, s, JOB_GC_DONE, gc_done_done);
}

/* The chains of the file's table, from the routing info; 0, or -ENOENT
 * when the table is unknown (the inode waits). */
static int table_chains(struct msrv_gc *g)
{
	struct routing *r = agent_routing();
	const struct rt_table *tb =
		r ? routing_table(r, g->a.layout.table) : NULL;
	int rc = 0;

	if (!tb || !tb->n || tb->n > FFFS_ARRAY_LEN(g->chains)) {
		rc = -ENOENT;
	} else {
		g->nchains = tb->n;
		memcpy(g->chains, tb->chains, tb->n * sizeof(*g->chains));
	}
	routing_unref(r);
	return rc;
}

static void gc_next_done(struct core *c, struct msrv_job *j)
{
	struct msrv *s = msrv_g;
	struct msrv_gc *g = s->gc;
	int rc = j->status;

	g->a = j->attr;
	msrv_job_free(j);
	log_debug("gc: the next inode: %s", rc ? fffs_strerror(rc) : "one");
	if (rc == -EAGAIN)
		return gc_later(c, s, 0);
	if (rc) {
		if (rc != -ENOENT && rc != -FFFS_ENOTHEAD)
			log_warn("gc: cannot take the next inode: %s",
				 fffs_strerror(rc));
		return gc_later(c, s, rc == -ENOENT ? GC_IDLE_NS : GC_RETRY_NS);
	}
	gc_take(c, s);
}

/* g->a is the inode to collect: remove its chunks, then drop it. */
static void gc_take(struct core *c, struct msrv *s)
{
	struct msrv_gc *g = s->gc;

	g->sw.removed = 0;
	if (gc_chunkless(&g->a))
		return gc_push(c, s, JOB_GC_DONE, gc_done_done);
	if (table_chains(g)) {
		log_warn("gc: inode %llu: chain table %u is not in the "
			 "routing info; its chunks wait",
			 (unsigned long long)g->a.ino, g->a.layout.table);
		return gc_later(c, s, GC_RETRY_NS);
	}
	g->sw.cl = &g->cl;
	g->sw.ino = g->a.ino;
	g->sw.layout = g->a.layout;
	g->sw.chains = g->chains;
	g->sw.nchains = g->nchains;
	g->sw.from = 0;
	g->sw.cut_len = 0;
	g->sw.window = GC_WINDOW;
	g->sw.gap_ns = 1000000000ull / (uint64_t)config_int(CFG_msrv_gc_rate);
	g->sw.done = sweep_done;
	msrv_sweep_start(c, &g->sw);
}

/* Only the head with its lease collects, and not while stopping. */
static bool gc_may_run(struct core *c, struct msrv *s)
{
	bool head;

	pthread_mutex_lock(&s->mu);
	head = s->v.head && !s->fresh;
	pthread_mutex_unlock(&s->mu);
	return head && agent_serving_allowed() && !loop_stopping(c);
}

static void gc_step(struct core *c, struct msrv *s)
{
	struct msrv_gc *g = s->gc;

	if (g->busy) /* the current inode is still being swept */
		return;
	if (!gc_may_run(c, s)) {
		log_trace("gc: not the head with a lease");
		return gc_later(c, s, GC_IDLE_NS);
	}
	g->busy = true;
	gc_push(c, s, JOB_GC_NEXT, gc_next_done);
}

static void gc_timer(struct core *c, struct loop_timer *t)
{
	gc_step(c, msrv_g);
}

/* ---- sessions of down clients (core 0) ---------------------------------- */

static void prune_done(struct core *c, struct msrv_job *j)
{
	struct msrv *s = msrv_g;

	s->gc->pruning = false;
	msrv_job_free(j);
}

static void prune_push(struct core *c, struct msrv *s, uint32_t *down, size_t n)
{
	struct msrv_job *j = xcalloc(1, sizeof(*j));

	pthread_mutex_lock(&s->mu);
	j->chain_ver = s->v.chain_ver;
	pthread_mutex_unlock(&s->mu);
	j->kind = JOB_PRUNE;
	j->c = c;
	j->done = prune_done;
	j->in = (uint8_t *)down;
	j->in_len = n * sizeof(*down);
	s->gc->pruning = true;
	msrv_exec_push(s, j);
}

static void prune_timer(struct core *c, struct loop_timer *t)
{
	struct msrv *s = msrv_g;
	struct msrv_gc *g = s->gc;
	struct routing *r = agent_routing();
	uint32_t *down = NULL;
	size_t n = 0;
	bool head;

	core_timer_add(c, &g->prune_timer, PRUNE_NS);
	pthread_mutex_lock(&s->mu);
	head = s->v.head && !s->fresh;
	pthread_mutex_unlock(&s->mu);
	for (uint32_t i = 0; r && head && i < r->nnodes && n < DOWN_MAX; i++)
		if (r->nodes[i].role == ROLE_CLIENT &&
		    r->nodes[i].status == RT_NODE_DOWN) {
			down = xrealloc(down, (n + 1) * sizeof(*down));
			down[n++] = r->nodes[i].id;
		}
	routing_unref(r);
	if (!n || g->pruning || !agent_serving_allowed() || loop_stopping(c))
		free(down);
	else
		prune_push(c, s, down, n);
}

/* ---- trimming a shrinking file (the request's core) -------------------- */

struct trim {
	struct msrv_job *j;
	uint32_t chains[MSRV_SWEEP_CHAINS];
	struct msrv_sweep sw;
};

static struct craq_client *trim_cl[256];

static void trim_cl_exit(struct core *c, void *arg)
{
	struct craq_client *cl = trim_cl[core_id(c)];

	if (cl)
		craq_client_release(cl);
	free(cl);
	trim_cl[core_id(c)] = NULL;
}

static struct craq_client *trim_client(struct core *c)
{
	int id = core_id(c);

	FFFS_ASSERT(id >= 0 && id < (int)FFFS_ARRAY_LEN(trim_cl));
	if (!trim_cl[id]) {
		trim_cl[id] = xcalloc(1, sizeof(*trim_cl[id]));
		craq_client_init(trim_cl[id], c);
		core_on_exit(c, trim_cl_exit, NULL);
	}
	return trim_cl[id];
}

static void trim_done(struct core *c, struct msrv_sweep *sw)
{
	struct trim *tr = fffs_container_of(sw, struct trim, sw);

	core_unhold(c);
	if (sw->status) {
		log_warn("truncate of inode %llu: %s",
			 (unsigned long long)sw->ino,
			 fffs_strerror(sw->status));
		rpc_reply(c, tr->j->req, sw->status, NULL, 0, NULL, 0, NULL,
			  NULL);
		msrv_job_free(tr->j);
	} else {
		msrv_exec_push(msrv_g, tr->j);
	}
	free(tr);
}

/* The file's size and layout as this head has them. */
static int trim_attr(struct msrv *s, uint64_t ino, struct ns_attr *a)
{
	struct meta_txn *t;
	int rc;

	pthread_rwlock_rdlock(&s->db_lock);
	rc = meta_txn_begin(s->db, false, &t);
	if (!rc) {
		rc = ns_getattr(t, ino, a);
		meta_txn_abort(t);
	}
	pthread_rwlock_unlock(&s->db_lock);
	return rc;
}

int msrv_trim_start(struct core *c, struct msrv *s, struct msrv_job *j)
{
	const struct mreq *q = &j->q;
	struct routing *r;
	const struct rt_table *tb;
	struct ns_attr a;
	struct trim *tr;
	uint64_t cs;

	if (q->op != MOP_SETATTR || !(q->set & NS_SET_SIZE) ||
	    trim_attr(s, q->ino, &a) || !S_ISREG(a.mode) || !a.layout.table ||
	    !a.layout.chunk_size || q->size >= a.size)
		return 0; /* nothing to trim (errors: the executor's) */
	tr = xcalloc(1, sizeof(*tr));
	cs = a.layout.chunk_size;
	tr->j = j;
	tr->sw.ino = a.ino;
	tr->sw.layout = a.layout;
	tr->sw.from = (q->size + cs - 1) / cs;
	tr->sw.cut_len = (uint32_t)(q->size % cs);
	r = agent_routing();
	tb = r ? routing_table(r, a.layout.table) : NULL;
	if (!tb || !tb->n || tb->n > FFFS_ARRAY_LEN(tr->chains)) {
		routing_unref(r);
		log_warn("truncate of inode %llu: chain table %u is not in "
			 "the routing info",
			 (unsigned long long)a.ino, a.layout.table);
		free(tr);
		return -FFFS_ENOTSERVING;
	}
	memcpy(tr->chains, tb->chains, tb->n * sizeof(*tr->chains));
	tr->sw.chains = tr->chains;
	tr->sw.nchains = tb->n;
	routing_unref(r);
	tr->sw.cl = trim_client(c);
	tr->sw.window = TRIM_WINDOW;
	tr->sw.done = trim_done;
	core_hold(c);
	msrv_sweep_start(c, &tr->sw);
	return 1;
}

static void gc_exit(struct core *c, void *arg)
{
	struct msrv *s = arg;

	core_timer_del(c, &s->gc->prune_timer);
	core_timer_del(c, &s->gc->timer);
	craq_client_release(&s->gc->cl);
	free(s->gc);
	s->gc = NULL;
}

void msrv_gc_start(struct core *c, struct msrv *s)
{
	struct msrv_gc *g;

	if (s->gc)
		return;
	g = s->gc = xcalloc(1, sizeof(*g));
	craq_client_init(&g->cl, c);
	core_timer_init(&g->timer, gc_timer);
	core_timer_init(&g->prune_timer, prune_timer);
	core_on_exit(c, gc_exit, s);
	core_timer_add(c, &g->timer, GC_IDLE_NS);
	core_timer_add(c, &g->prune_timer, PRUNE_NS);
}
