/* roles/bench_meta.c - `fffs bench meta`: namespace operations (create,
 * stat, readdir, unlink) at a concurrency through the meta client and a
 * 3-replica meta chain (its own cluster, or the one --mgmtd names), each
 * beside two ceilings measured in the same run: the same keys written
 * and read straight on LMDB in this process (synced commits of 64
 * operations, each client's files together), and an echo RPC of the same
 * request size to the same meta servers over the same connections (spread
 * over the replicas as reads are). A third line gives LMDB's create and
 * unlink rates in arrival order (a commit holds one file of each of 64
 * clients, so it touches 64 directories), the order in which the
 * concurrent clients' requests reach the head. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "meta/mcli.h"
#include "mgmt/agent.h"
#include "net/pack.h"
#include "roles/bench_proc.h"

#define NODES	    3
#define READY_MS    60000 /* for the meta chain to serve */
#define REGISTER_MS 20000 /* for mgmtd to know every meta server */
#define LMDB_BATCH  64	  /* operations per synced commit (the ceiling) */
/* Stats and echoes are fast: both go on (stats over the same files
 * again) until this long has passed, so that a rate is not a few ms. */
#define READ_MIN_NS 1000000000ull

enum mph {
	MP_MKDIR,
	MP_CREATE,
	MP_STAT,
	MP_READDIR,
	MP_UNLINK,
	MP_RMDIR,
	MP__COUNT
};

static const char *const mph_names[MP__COUNT] = {
	"mkdir", "create", "stat", "readdir", "unlink", "rmdir",
};

static bool measured(int p)
{
	return p >= MP_CREATE && p <= MP_UNLINK;
}

struct mslot {
	struct mdrv *d;
	int k;
	struct mcli_op op;
	struct rpc_call call;
	uint64_t next, n, cookie, t0;
	bool eof;
};

struct mdrv {
	const struct bench_args *a;
	struct mcli cl;
	struct ns_cred cred;
	struct loop_msg start;
	struct loop_timer timer;
	uint64_t deadline, base, *dir;
	char base_name[64];
	uint32_t echo_rr;
	int phase; /* MP_* */
	bool echoed;
	unsigned active, nslots;
	struct mslot *slots;
	uint64_t t_start, echo_next;
	uint8_t *echo_body;
	uint32_t req_size, echo_len;
	struct bench_lat lat;
	struct bench_result res[MP__COUNT], echo, lmdb[MP__COUNT];
	struct bench_result lmdb_arr[MP__COUNT]; /* creates, unlinks */
	uint32_t replicas;
	bool own; /* our own cluster: wait for all of its replicas */
	int exit_code;
	bool finished;
};

static void drv_finish(struct mdrv *d, int code)
{
	if (d->finished)
		return;
	d->finished = true;
	d->exit_code = code;
	loop_request_stop();
}

/* ---- the namespace phases ------------------------------------------------ */

static void phase_start(struct core *c, struct mdrv *d);
static void slot_fire(struct core *c, struct mslot *s);
static void echo_start(struct core *c, struct mdrv *d);

static bool slot_more(const struct mslot *s)
{
	int p = s->d->phase;

	if (p == MP_MKDIR || p == MP_RMDIR)
		return s->next < 1;
	if (p == MP_READDIR)
		return !s->eof;
	return s->next < s->n;
}

static void phase_end(struct core *c, struct mdrv *d)
{
	struct bench_result *r = &d->res[d->phase];

	r->name = mph_names[d->phase];
	r->secs = (double)(now_ns() - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, r);
	if (r->errors && !measured(d->phase)) {
		fprintf(stderr, "fffs bench meta: %s failed\n", r->name);
		return drv_finish(d, 1);
	}
	/* the echo runs where the stats do: after the creates, on servers
	 * with nothing else to do */
	if (++d->phase == MP_STAT && !d->echoed)
		return echo_start(c, d);
	if (d->phase == MP__COUNT)
		return drv_finish(d, 0);
	phase_start(c, d);
}

static void slot_done(struct core *c, struct mcli_op *op)
{
	struct mslot *s = fffs_container_of(op, struct mslot, op);
	struct mdrv *d = s->d;
	struct bench_result *r = &d->res[d->phase];
	int st = op->r.status;

	if (st) {
		if (r->errors++ < 5)
			log_error("%s failed: %s", mph_names[d->phase],
				  fffs_strerror(st));
		s->eof = true;
	} else if (d->phase == MP_READDIR) {
		r->ops += op->r.nents;
		r->bytes++; /* requests */
		if (op->r.nents)
			s->cookie = op->r.ents[op->r.nents - 1].next;
		s->eof = op->r.eof || !op->r.nents;
		bench_lat_add(&d->lat, now_ns() - s->t0);
	} else {
		r->ops++;
		bench_lat_add(&d->lat, now_ns() - s->t0);
		if (d->phase == MP_MKDIR && op->r.res.n)
			d->dir[s->k] = op->r.res.a[op->r.res.n - 1].ino;
	}
	mres_release(&op->r);
	if (d->finished || loop_stopping(c))
		return;
	if (d->phase == MP_STAT && s->next == s->n && s->n && !s->eof &&
	    now_ns() - d->t_start < READ_MIN_NS)
		s->next = 0; /* another pass over its files */
	if (slot_more(s))
		return slot_fire(c, s);
	if (!--d->active)
		phase_end(c, d);
}

static void slot_fire(struct core *c, struct mslot *s)
{
	struct mdrv *d = s->d;
	struct mreq *q = &s->op.q;
	uint64_t i = s->next++;

	memset(q, 0, sizeof(*q));
	q->cred = d->cred;
	s->op.done = slot_done;
	switch (d->phase) {
	case MP_MKDIR:
	case MP_RMDIR:
		q->op = d->phase == MP_MKDIR ? MOP_MKDIR : MOP_RMDIR;
		q->parent = d->base;
		q->mode = 0755;
		snprintf(q->name, sizeof(q->name), "c%d", s->k);
		break;
	case MP_READDIR:
		q->op = MOP_READDIR;
		q->ino = d->dir[s->k];
		q->cookie = s->cookie;
		q->max = MREADDIR_MAX;
		break;
	default:
		q->op = d->phase == MP_CREATE ? MOP_CREATE
			: d->phase == MP_STAT ? MOP_LOOKUP
					      : MOP_UNLINK;
		q->parent = d->dir[s->k];
		q->mode = 0644;
		q->flags = O_RDONLY | O_EXCL;
		snprintf(q->name, sizeof(q->name), "f%" PRIu64, i);
		break;
	}
	s->t0 = now_ns();
	if (mcli_start(&d->cl, &s->op))
		drv_finish(d, 1);
}

static void phase_start(struct core *c, struct mdrv *d)
{
	d->t_start = now_ns();
	d->active = 0;
	for (unsigned i = 0; i < d->nslots; i++) {
		struct mslot *s = &d->slots[i];

		s->next = s->cookie = 0;
		s->eof = false;
		if (!slot_more(s))
			continue;
		d->active++;
		slot_fire(c, s);
	}
	if (!d->active)
		phase_end(c, d);
}

/* The run's own directory under the root, then the phases. */
static void base_done(struct core *c, struct mcli_op *op)
{
	struct mdrv *d = op->arg;
	int st = op->r.status;

	if (!st && op->r.res.n)
		d->base = op->r.res.a[op->r.res.n - 1].ino;
	mres_release(&op->r);
	if (st) {
		fprintf(stderr, "fffs bench meta: mkdir /%s: %s\n",
			d->base_name, fffs_strerror(st));
		return drv_finish(d, 1);
	}
	d->phase = MP_MKDIR;
	phase_start(c, d);
}

static void base_mkdir(struct core *c, struct mdrv *d)
{
	struct mcli_op *op = &d->slots[0].op;

	memset(&op->q, 0, sizeof(op->q));
	op->q.op = MOP_MKDIR;
	op->q.parent = NS_ROOT;
	op->q.mode = 0755;
	op->q.cred = d->cred;
	snprintf(op->q.name, sizeof(op->q.name), "%s", d->base_name);
	op->done = base_done;
	op->arg = d;
	if (mcli_start(&d->cl, op))
		drv_finish(d, 1);
}

/* ---- the echo ceiling ---------------------------------------------------- */

static void echo_fire(struct core *c, struct mslot *s);

static void echo_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len)
{
	struct mslot *s = fffs_container_of(call, struct mslot, call);
	struct mdrv *d = s->d;

	if (status)
		d->echo.errors++;
	else
		d->echo.ops++;
	bench_lat_add(&d->lat, now_ns() - s->t0);
	if (d->finished || loop_stopping(c))
		return;
	if (d->echo_next < d->a->ops || now_ns() - d->t_start < READ_MIN_NS)
		return echo_fire(c, s);
	if (--d->active)
		return;
	d->echo.name = "echo";
	d->echo.secs = (double)(now_ns() - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, &d->echo);
	d->echoed = true;
	phase_start(c, d);
}

/* The next serving replica of the meta chain, in turn, as the meta
 * client spreads reads: its connection is the one mcli uses. */
static struct rpc_peer *echo_peer(struct core *c, struct mdrv *d)
{
	struct routing *r = agent_routing();
	const struct rt_chain *ch = mcli_meta_chain(r);
	uint64_t m[RT_CHAIN_MAX];
	int n = ch ? routing_chain_serving(r, ch, m) : 0;
	const struct rt_target *t =
		n ? routing_target(r, m[d->echo_rr++ % (uint32_t)n]) : NULL;
	const struct rt_node *nd = t ? routing_node(r, t->node) : NULL;
	struct rpc_peer *p = NULL;
	char err[128];

	if (nd)
		p = rpc_peer_get(c, nd->addr, err, sizeof(err));
	routing_unref(r);
	if (!p)
		fprintf(stderr, "fffs bench meta: echo: no serving meta "
				"replica to send to\n");
	return p;
}

static void echo_fire(struct core *c, struct mslot *s)
{
	struct mdrv *d = s->d;
	struct rpc_peer *p = echo_peer(c, d);

	d->echo_next++;
	s->call = (struct rpc_call){ .type = MSG_BENCH_SRV_ECHO,
				     .body = d->echo_body,
				     .body_len = d->echo_len,
				     .done = echo_done };
	s->t0 = now_ns();
	if (!p || rpc_call_start(c, p, &s->call))
		drv_finish(d, 1);
}

/* The body of an echo as long as a create request of this run. */
static void echo_start(struct core *c, struct mdrv *d)
{
	struct mreq q = { .op = MOP_CREATE, .cred = d->cred };
	uint8_t buf[1024];
	struct pack pk;
	uint32_t n;

	snprintf(q.name, sizeof(q.name), "f%" PRIu64, d->a->ops / 2);
	pack_init(&pk, buf, sizeof(buf));
	mreq_pack(&pk, &q);
	d->req_size = (uint32_t)pack_len(&pk);
	n = d->req_size > 8 ? d->req_size - 8 : 0;
	d->echo_body = xcalloc(1, n + 8);
	pack_init(&pk, d->echo_body, n + 8);
	pack_u32(&pk, 0);
	pack_blob(&pk, buf, n);
	d->echo_len = (uint32_t)pack_len(&pk);
	d->t_start = now_ns();
	d->active = 0;
	for (unsigned i = 0; i < d->nslots && d->echo_next < d->a->ops; i++) {
		d->active++;
		echo_fire(c, &d->slots[i]);
	}
}

/* ---- waiting for the meta chain ------------------------------------------ */

static void wait_ready(struct core *c, struct loop_timer *t)
{
	struct mdrv *d = fffs_container_of(t, struct mdrv, timer);
	struct routing *r = agent_routing();
	const struct rt_chain *ch = mcli_meta_chain(r);
	uint64_t m[RT_CHAIN_MAX];
	int n = ch ? routing_chain_serving(r, ch, m) : 0;
	bool ok = n && (!d->own || n == ch->n);

	if (ok)
		d->replicas = (uint32_t)n;
	routing_unref(r);
	if (ok)
		return base_mkdir(c, d);
	if (now_ms() > d->deadline) {
		fprintf(stderr,
			"fffs bench meta: the meta chain did not serve "
			"within %d s\n",
			READY_MS / 1000);
		return drv_finish(d, 1);
	}
	core_timer_add(c, t, 50000000);
}

static void drv_start(struct core *c, struct loop_msg *m)
{
	struct mdrv *d = fffs_container_of(m, struct mdrv, start);
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd) };

	mcli_init(&d->cl, c, 0);
	if (agent_start(c, &p))
		return drv_finish(d, 1);
	d->deadline = now_ms() + READY_MS;
	core_timer_add(c, &d->timer, 0);
}

/* ---- the LMDB ceiling ---------------------------------------------------- */

struct lm {
	struct meta_db *db;
	struct ns_cred cred;
	uint64_t *dir, per, nents;
	unsigned clients;
	bool arrival; /* one operation of each client in turn */
};

static int lm_count(void *arg, const char *name, uint64_t ino, uint8_t type,
		    uint64_t next)
{
	uint64_t *cookie = arg;

	*cookie = next;
	return 0;
}

/* One operation of phase p on file i of client k, in t. */
static int lm_op(struct lm *l, struct meta_txn *t, int p, unsigned k,
		 uint64_t i)
{
	char name[32];
	struct ns_res res;
	struct ns_attr at;

	snprintf(name, sizeof(name), "f%" PRIu64, i);
	switch (p) {
	case MP_CREATE:
		return ns_create(t, &l->cred, l->dir[k], name, 0644,
				 O_RDONLY | O_EXCL, 1, now_ns(), &res);
	case MP_STAT:
		return ns_lookup(t, &l->cred, l->dir[k], name, &at);
	default:
		return ns_unlink(t, &l->cred, l->dir[k], name, now_ns(), &res);
	}
}

/* Every file of every client in transactions of LMDB_BATCH operations:
 * all of a client's files together (its directory's pages stay hot), or
 * in arrival order, one file of each client in turn, as operations of
 * concurrent clients reach a server. */
static int lm_phase(struct lm *l, int p, struct bench_result *r)
{
	uint64_t n = l->per * l->clients;
	bool write = p != MP_STAT;
	uint64_t t0 = now_ns();
	struct meta_txn *t = NULL;
	unsigned inbatch = 0;
	int rc = 0;

	for (uint64_t x = 0; x < n && !rc; x++) {
		unsigned k =
			(unsigned)(l->arrival ? x % l->clients : x / l->per);
		uint64_t i = l->arrival ? x / l->clients : x % l->per;

		if (!t && (rc = meta_txn_begin(l->db, write, &t)))
			break;
		rc = lm_op(l, t, p, k, i);
		r->ops += !rc;
		if (!rc && ++inbatch == LMDB_BATCH) {
			rc = meta_txn_commit(t, NULL);
			t = NULL;
			inbatch = 0;
		}
	}
	if (t && !rc)
		rc = meta_txn_commit(t, NULL);
	else if (t)
		meta_txn_abort(t);
	r->secs = (double)(now_ns() - t0) / 1e9;
	return rc;
}

static int lm_readdir(struct lm *l, struct bench_result *r)
{
	uint64_t t0 = now_ns();
	int rc = 0;

	for (unsigned k = 0; k < l->clients && !rc; k++) {
		uint64_t cookie = 0;
		int n;

		do {
			struct meta_txn *t;

			rc = meta_txn_begin(l->db, false, &t);
			if (rc)
				break;
			n = ns_readdir(t, &l->cred, l->dir[k], cookie,
				       MREADDIR_MAX, lm_count, &cookie);
			meta_txn_commit(t, NULL);
			if (n < 0)
				rc = n;
			else
				r->ops += (uint64_t)n;
		} while (!rc && n == MREADDIR_MAX);
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	return rc;
}

static int lm_setup(struct lm *l)
{
	struct ns_layout lay = { 0 };
	struct meta_txn *t;
	struct ns_res res;
	char name[32];
	int rc = meta_txn_begin(l->db, true, &t);

	if (rc)
		return rc;
	rc = ns_format(t, 0, 0, &lay, now_ns());
	for (unsigned k = 0; k < l->clients && !rc; k++) {
		snprintf(name, sizeof(name), "c%u", k);
		rc = ns_mkdir(t, &l->cred, NS_ROOT, name, 0755, now_ns(), &res);
		l->dir[k] = res.a[res.n - 1].ino;
	}
	if (rc) {
		meta_txn_abort(t);
		return rc;
	}
	return meta_txn_commit(t, NULL);
}

/* Every phase in client order, or (arrival) the creates and unlinks in
 * arrival order. */
static int lmdb_ceiling(const struct mdrv *d, const char *parent, bool arrival,
			struct bench_result *res)
{
	struct lm l = { .clients = d->nslots,
			.per = d->a->ops / d->nslots,
			.arrival = arrival };
	char *dir = xasprintf("%s/fffs-bench-lmdb.XXXXXX", parent), err[256];
	int rc = -1;

	if (!mkdtemp(dir)) {
		fprintf(stderr,
			"fffs bench meta: cannot create a directory "
			"in '%s': %s\n",
			parent, strerror(errno));
		free(dir);
		return -1;
	}
	l.dir = xcalloc(l.clients, sizeof(*l.dir));
	if (meta_db_open(dir, 1ull << 30, META_DB_SYNCED, &l.db, err,
			 sizeof(err))) {
		fprintf(stderr, "fffs bench meta: %s\n", err);
		goto out;
	}
	rc = lm_setup(&l);
	for (int p = MP_CREATE; p <= MP_UNLINK && !rc; p++) {
		if (arrival && p != MP_CREATE && p != MP_UNLINK)
			continue;
		res[p].name = mph_names[p];
		rc = p == MP_READDIR ? lm_readdir(&l, &res[p])
				     : lm_phase(&l, p, &res[p]);
	}
	if (rc)
		fprintf(stderr,
			"fffs bench meta: the LMDB ceiling failed: %s\n",
			fffs_strerror(rc));
	meta_db_close(l.db);
out : {
	struct args g = { .n = 0 };
	char *o = NULL;

	args_add(&g, "rm");
	args_add(&g, "-rf");
	args_add(&g, dir);
	run_capture(g.v, &o, NULL);
	free(o);
	args_free(&g);
}
	free(l.dir);
	free(dir);
	return rc;
}

/* ---- the cluster --------------------------------------------------------- */

struct mcluster {
	char *tmp;
	struct bench_child mgmtd, node[NODES];
};

static int meta_spawn(struct mcluster *cl, int n)
{
	struct args g = { .n = 0 };

	args_add(&g, "fffs");
	args_add(&g, "meta");
	args_addf(&g, "--state-dir=%s/meta%d", cl->tmp, n);
	args_add(&g, "--listen=tcp://127.0.0.1:0");
	args_addf(&g, "--node-id=%d", n);
	args_addf(&g, "--mgmtd=tcp://127.0.0.1:%d", cl->mgmtd.port);
	args_add(&g, "--cores=1");
	child_common_args(&g);
	return child_spawn(&cl->node[n - 1], &g);
}

/* The meta chain: one chain of NODES replicas on the meta nodes. A meta
 * server prints its port before mgmtd has its registration: until
 * REGISTER_MS have passed, a refusal (too few meta targets yet) is tried
 * again. */
static int meta_chain_create(struct mcluster *cl)
{
	struct args g = { .n = 0 };
	uint64_t deadline = now_ms() + REGISTER_MS;
	char *out = NULL;
	int rc;

	args_add(&g, "/proc/self/exe");
	args_add(&g, "admin");
	args_add(&g, "table");
	args_add(&g, "create");
	args_add(&g, "--chains=1");
	args_addf(&g, "--replicas=%d", NODES);
	args_add(&g, "--role=meta");
	args_addf(&g, "--mgmtd=tcp://127.0.0.1:%d", cl->mgmtd.port);
	child_common_args(&g);
	while ((rc = run_capture(g.v, &out, NULL)) && now_ms() < deadline) {
		free(out);
		out = NULL;
		usleep(100000);
	}
	if (rc)
		fprintf(stderr,
			"fffs bench meta: cannot create the meta "
			"chain: %s\n",
			out ? out : "");
	free(out);
	args_free(&g);
	return rc;
}

static int cluster_start(struct mcluster *cl, const struct bench_args *a)
{
	struct args g = { .n = 0 };
	char uri[64];

	cl->tmp = xasprintf("%s/fffs-bench.XXXXXX", a->dir ? a->dir : "/tmp");
	if (!mkdtemp(cl->tmp)) {
		fprintf(stderr,
			"fffs bench meta: cannot create a directory in '%s': "
			"%s\n",
			a->dir ? a->dir : "/tmp", strerror(errno));
		free(cl->tmp);
		cl->tmp = NULL;
		return -1;
	}
	cl->mgmtd.tmp = cl->tmp; /* removed with the last stop */
	args_add(&g, "fffs");
	args_add(&g, "mgmtd");
	args_addf(&g, "--state-dir=%s/mgmtd", cl->tmp);
	args_add(&g, "--listen=tcp://127.0.0.1:0");
	child_common_args(&g);
	if (child_spawn(&cl->mgmtd, &g))
		return -1;
	for (int n = 1; n <= NODES; n++)
		if (meta_spawn(cl, n))
			return -1;
	if (meta_chain_create(cl))
		return -1;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", cl->mgmtd.port);
	return config_set("mgmtd", uri, NULL, 0) ? -1 : 0;
}

static void cluster_stop(struct mcluster *cl)
{
	for (int n = 0; n < NODES; n++)
		child_stop(&cl->node[n]);
	child_stop(&cl->mgmtd); /* and the directory */
}

/* ---- the report ---------------------------------------------------------- */

static double rate(const struct bench_result *r)
{
	return r->secs > 0 ? (double)r->ops / r->secs : 0;
}

static double ratio(const struct bench_result *r, const struct bench_result *c)
{
	return rate(c) > 0 ? rate(r) / rate(c) : 0;
}

static void report_text(const struct mdrv *d, bool own)
{
	double e = rate(&d->echo);

	printf("fffs bench meta: %" PRIu64 " files by %u clients over a "
	       "%u-replica meta chain (%s); ceilings: LMDB in one process "
	       "(%d operations per synced commit), echo RPC of %u bytes at "
	       "the same concurrency\n",
	       d->a->ops, d->nslots, d->replicas,
	       own ? "own cluster" : config_str(CFG_mgmtd), LMDB_BATCH,
	       d->req_size);
	printf("%-8s %-14s %-9s %-9s %-14s %-7s %-14s %s\n", "op", "fffs",
	       "p50 us", "p99 us", "lmdb", "ratio", "echo rpc", "ratio");
	for (int p = MP_CREATE; p <= MP_UNLINK; p++) {
		const struct bench_result *r = &d->res[p];
		double f = rate(r), l = rate(&d->lmdb[p]);
		const char *u = p == MP_READDIR ? "ent/s" : "op/s";
		char fs[32], ls[32], es[32] = "-", er[16] = "-";

		snprintf(fs, sizeof(fs), "%.0f %s", f, u);
		snprintf(ls, sizeof(ls), "%.0f %s", l, u);
		if (p != MP_READDIR) { /* entries are not requests */
			snprintf(es, sizeof(es), "%.0f op/s", e);
			snprintf(er, sizeof(er), "%.3f", e > 0 ? f / e : 0);
		}
		printf("%-8s %-14s %-9.1f %-9.1f %-14s %-7.3f %-14s %s%s\n",
		       mph_names[p], fs, r->p50_us, r->p99_us, ls,
		       l > 0 ? f / l : 0, es, er,
		       r->errors ? "  (requests failed)" : "");
	}
	printf("readdir: entries per second, %llu requests of up to %d "
	       "entries; echo rpc p50 %.1f us p99 %.1f us\n",
	       (unsigned long long)d->res[MP_READDIR].bytes, MREADDIR_MAX,
	       d->echo.p50_us, d->echo.p99_us);
	printf("lmdb above commits each client's files together; in arrival "
	       "order (one file of each client in turn, as concurrent "
	       "requests reach a server) it makes create %.0f op/s (fffs "
	       "%.3f of it), unlink %.0f op/s (fffs %.3f)\n",
	       rate(&d->lmdb_arr[MP_CREATE]),
	       ratio(&d->res[MP_CREATE], &d->lmdb_arr[MP_CREATE]),
	       rate(&d->lmdb_arr[MP_UNLINK]),
	       ratio(&d->res[MP_UNLINK], &d->lmdb_arr[MP_UNLINK]));
}

static void report_json(const struct mdrv *d, bool own)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *s;

	cJSON_AddStringToObject(root, "benchmark", "meta");
	cJSON_AddBoolToObject(root, "own_cluster", own);
	cJSON_AddNumberToObject(root, "files", (double)d->a->ops);
	cJSON_AddNumberToObject(root, "clients", d->nslots);
	cJSON_AddNumberToObject(root, "replicas", d->replicas);
	cJSON_AddNumberToObject(root, "lmdb_batch", LMDB_BATCH);
	cJSON_AddNumberToObject(root, "request_bytes", d->req_size);
	cJSON_AddNumberToObject(root, "echo_ops_per_s", rate(&d->echo));
	for (int p = MP_CREATE; p <= MP_UNLINK; p++) {
		const struct bench_result *r = &d->res[p];
		cJSON *o = cJSON_CreateObject();
		double f = rate(r), l = rate(&d->lmdb[p]), e = rate(&d->echo);

		cJSON_AddStringToObject(o, "op", mph_names[p]);
		cJSON_AddNumberToObject(o, "ops", (double)r->ops);
		cJSON_AddNumberToObject(o, "errors", (double)r->errors);
		cJSON_AddNumberToObject(o, "seconds", r->secs);
		cJSON_AddNumberToObject(o, "per_s", f);
		cJSON_AddNumberToObject(o, "p50_us", r->p50_us);
		cJSON_AddNumberToObject(o, "p99_us", r->p99_us);
		cJSON_AddNumberToObject(o, "lmdb_per_s", l);
		cJSON_AddNumberToObject(o, "lmdb_ratio", l > 0 ? f / l : 0);
		if (p == MP_CREATE || p == MP_UNLINK) {
			cJSON_AddNumberToObject(o, "lmdb_arrival_per_s",
						rate(&d->lmdb_arr[p]));
			cJSON_AddNumberToObject(o, "lmdb_arrival_ratio",
						ratio(r, &d->lmdb_arr[p]));
		}
		if (p != MP_READDIR)
			cJSON_AddNumberToObject(o, "echo_ratio",
						e > 0 ? f / e : 0);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(root, "ops", arr);
	s = cJSON_Print(root);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(root);
}

/* ---- the run ------------------------------------------------------------- */

int bench_meta(const struct bench_args *a)
{
	bool own = !config_str(CFG_mgmtd)[0];
	struct mcluster cl = { .tmp = NULL };
	struct mdrv d = { .a = a, .own = own };
	int rc = 1;

	cl.mgmtd.fd = -1;
	for (int n = 0; n < NODES; n++)
		cl.node[n].fd = -1;
	d.nslots = (unsigned)(a->clients < a->ops ? a->clients : a->ops);
	d.slots = xcalloc(d.nslots, sizeof(*d.slots));
	d.dir = xcalloc(d.nslots, sizeof(*d.dir));
	for (unsigned i = 0; i < d.nslots; i++) {
		d.slots[i].d = &d;
		d.slots[i].k = (int)i;
		d.slots[i].n = a->ops / d.nslots + (i < a->ops % d.nslots);
	}
	snprintf(d.base_name, sizeof(d.base_name), "bench.%d.%llu",
		 (int)getpid(), (unsigned long long)now_ns());
	d.cred.uid = (uint32_t)geteuid();
	d.cred.gid = (uint32_t)getegid();
	d.start.cb = drv_start;
	core_timer_init(&d.timer, wait_ready);
	if ((own && cluster_start(&cl, a)) || loop_start(1, NULL, NULL))
		goto out;
	core_post(core_get(0), &d.start);
	loop_main();
	if (!d.cl.inflight)
		mcli_release(&d.cl);
	cluster_stop(&cl);
	rc = d.exit_code;
	if (!rc &&
	    (lmdb_ceiling(&d, a->dir ? a->dir : "/tmp", false, d.lmdb) ||
	     lmdb_ceiling(&d, a->dir ? a->dir : "/tmp", true, d.lmdb_arr)))
		rc = 1;
	if (!rc && a->json)
		report_json(&d, own);
	else if (!rc)
		report_text(&d, own);
	for (int p = MP_CREATE; p <= MP_UNLINK; p++)
		if (d.res[p].errors)
			rc = 1;
out:
	cluster_stop(&cl);
	free(d.echo_body);
	free(d.slots);
	free(d.dir);
	free(d.lat.ns);
	return rc;
}
