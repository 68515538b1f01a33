/* roles/bench_replicas.c - `fffs bench chunk --replication 1,2,3`: a
 * cluster of its own (mgmtd, 3 storage servers of 2 targets), a chain of
 * each replication, the three chunk phases through chain replication on
 * each, and fio on the same file system as the baseline. */
#define LOG_SUBSYS "bench"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/craq_cli.h"
#include "mgmt/agent.h"
#include "roles/bench_proc.h"

#define NODES	 3
#define TARGETS	 2 /* per node */
#define MAX_REPL 3
#define SEQ_BS	 MIB
#define READY_MS 60000 /* for the chains to serve */

struct rslot {
	struct rdrv *d;
	struct craq_write w;
	struct craq_read r;
	uint8_t *buf;
	uint64_t t0;
};

struct rdrv {
	const struct bench_args *a;
	struct craq_client cl;
	struct loop_msg start;
	struct loop_timer timer;
	uint64_t deadline;
	int nrepl;
	int repl[MAX_REPL];
	uint32_t chain[MAX_REPL]; /* of each replication */
	int cur, phase;		  /* running: replication index, phase */
	uint64_t nchunks, next, t_start, t_end, rng;
	unsigned inflight;
	struct rslot *slots;
	unsigned nslots;
	struct bench_lat lat;
	struct bench_result res[MAX_REPL][PH__COUNT];
	int exit_code;
	bool finished;
};

static void drv_finish(struct rdrv *d, int code)
{
	if (d->finished)
		return;
	d->finished = true;
	d->exit_code = code;
	loop_request_stop();
}

/* ---- the phases ---------------------------------------------------------- */

static void phase_start(struct core *c, struct rdrv *d);
static void fire(struct core *c, struct rslot *s);

static void op_done(struct core *c, struct rslot *s, int status, uint32_t n)
{
	struct rdrv *d = s->d;
	struct bench_result *r = &d->res[d->cur][d->phase];
	uint64_t now = now_ns();

	d->inflight--;
	if (status) {
		if (r->errors++ < 5)
			log_error("%s over %d replicas failed: %s",
				  bench_phase_names[d->phase], d->repl[d->cur],
				  fffs_strerror(status));
	} else {
		r->ops++;
		r->bytes += n;
		bench_lat_add(&d->lat, now - s->t0);
	}
	if (d->finished || loop_stopping(c))
		return;
	if (d->phase == PH_RAND ? now < d->t_end : d->next < d->nchunks)
		return fire(c, s);
	if (d->inflight)
		return;
	r->name = bench_phase_names[d->phase];
	r->secs = (double)(now - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, r);
	if (++d->phase == PH__COUNT) {
		d->phase = 0;
		if (++d->cur == d->nrepl)
			return drv_finish(d, 0);
	}
	phase_start(c, d);
}

static void write_done(struct core *c, struct craq_write *w)
{
	op_done(c, fffs_container_of(w, struct rslot, w), w->status, w->length);
}

static void read_done(struct core *c, struct craq_read *r, const uint8_t *p)
{
	int st = r->status;

	if (!st && r->out_length != r->length)
		st = -ENODATA;
	op_done(c, fffs_container_of(r, struct rslot, r), st, r->out_length);
}

static void fire(struct core *c, struct rslot *s)
{
	struct rdrv *d = s->d;
	struct chunk_id id = { d->a->inode, 0 };
	uint32_t off = 0, len = SEQ_BS;
	int rc;

	s->t0 = now_ns();
	if (d->phase == PH_RAND) {
		id.index = (uint32_t)bench_rng_below(&d->rng, d->nchunks);
		off = (uint32_t)bench_rng_below(&d->rng, SEQ_BS / RAND_BS) *
		      RAND_BS;
		len = RAND_BS;
	} else {
		id.index = (uint32_t)d->next++;
	}
	if (d->phase == PH_WRITE) {
		memcpy(s->buf, &d->next, 8);
		s->w = (struct craq_write){ .kind = CRAQ_CLI_WRITE,
					    .chain = d->chain[d->cur],
					    .chunk = id,
					    .length = SEQ_BS,
					    .chunk_size = SEQ_BS,
					    .data = s->buf,
					    .done = write_done };
		rc = craq_write_start(&d->cl, &s->w);
	} else {
		s->r = (struct craq_read){ .chain = d->chain[d->cur],
					   .chunk = id,
					   .offset = off,
					   .length = len,
					   .done = read_done };
		rc = craq_read_start(&d->cl, &s->r);
	}
	if (rc)
		return drv_finish(d, 1);
	d->inflight++;
}

static void phase_start(struct core *c, struct rdrv *d)
{
	uint64_t n = d->phase == PH_RAND ? d->a->rand_depth : d->a->depth;

	d->next = 0;
	d->t_start = now_ns();
	d->t_end = d->t_start + d->a->duration_s * 1000000000ull;
	for (uint64_t i = 0; i < n && i < d->nslots; i++) {
		if (d->phase != PH_RAND && d->next >= d->nchunks)
			break;
		fire(c, &d->slots[i]);
	}
}

/* ---- waiting for the chains ---------------------------------------------- */

/* The chain of each table (tables 1..n were made in replication order),
 * once every target of it serves. */
static bool chains_ready(struct rdrv *d)
{
	struct routing *r = agent_routing();
	bool ok = r != NULL;

	for (int i = 0; ok && i < d->nrepl; i++) {
		const struct rt_table *t = routing_table(r, (uint32_t)i + 1);
		const struct rt_chain *ch =
			t && t->n ? routing_chain(r, t->chains[0]) : NULL;
		uint64_t m[RT_CHAIN_MAX];

		ok = ch && routing_chain_serving(r, ch, m) == ch->n &&
		     ch->n == d->repl[i];
		if (ok)
			d->chain[i] = ch->id;
	}
	routing_unref(r);
	return ok;
}

static void wait_ready(struct core *c, struct loop_timer *t)
{
	struct rdrv *d = fffs_container_of(t, struct rdrv, timer);

	if (chains_ready(d))
		return phase_start(c, d);
	if (now_ms() > d->deadline) {
		fprintf(stderr,
			"fffs bench: the chains did not serve within "
			"%d s\n",
			READY_MS / 1000);
		return drv_finish(d, 1);
	}
	core_timer_add(c, t, 50000000);
}

static void drv_start(struct core *c, struct loop_msg *m)
{
	struct rdrv *d = fffs_container_of(m, struct rdrv, start);
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd) };

	craq_client_init(&d->cl, c);
	if (agent_start(c, &p))
		return drv_finish(d, 1);
	d->deadline = now_ms() + READY_MS;
	core_timer_add(c, &d->timer, 0);
}

/* ---- the cluster --------------------------------------------------------- */

struct cluster {
	char *tmp;
	struct bench_child mgmtd, node[NODES];
};

static int node_spawn(struct cluster *cl, const struct bench_args *a, int n)
{
	struct args g = { .n = 0 };

	args_add(&g, "fffs");
	args_add(&g, "storage");
	for (int t = 1; t <= TARGETS; t++)
		args_addf(&g, "--target=%s/t%d.%d.img,size=%llu", cl->tmp, n, t,
			  (unsigned long long)bench_target_bytes(a->size));
	args_addf(&g, "--state-dir=%s/state%d", cl->tmp, n);
	args_add(&g, "--listen=tcp://127.0.0.1:0");
	args_addf(&g, "--node-id=%d", n);
	args_addf(&g, "--mgmtd=tcp://127.0.0.1:%d", cl->mgmtd.port);
	args_add(&g, "--cores=1");
	child_common_args(&g);
	return child_spawn(&cl->node[n - 1], &g);
}

/* One table of one chain of r replicas, through `fffs admin`. */
static int table_create(struct cluster *cl, int r)
{
	struct args g = { .n = 0 };
	char *out = NULL;
	int rc;

	args_add(&g, "/proc/self/exe");
	args_add(&g, "admin");
	args_add(&g, "table");
	args_add(&g, "create");
	args_add(&g, "--chains=1");
	args_addf(&g, "--replicas=%d", r);
	args_addf(&g, "--mgmtd=tcp://127.0.0.1:%d", cl->mgmtd.port);
	child_common_args(&g);
	rc = run_capture(g.v, &out, NULL);
	if (rc)
		fprintf(stderr, "fffs bench: cannot create a chain of %d: %s\n",
			r, out ? out : "");
	free(out);
	args_free(&g);
	return rc;
}

static int cluster_start(struct cluster *cl, const struct bench_args *a,
			 const struct rdrv *d)
{
	struct args g = { .n = 0 };
	char uri[64];

	cl->tmp = xasprintf("%s/fffs-bench.XXXXXX", a->dir);
	if (!mkdtemp(cl->tmp)) {
		fprintf(stderr,
			"fffs bench: cannot create a directory in '%s': "
			"%s\n",
			a->dir, strerror(errno));
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
		if (node_spawn(cl, a, n))
			return -1;
	for (int i = 0; i < d->nrepl; i++)
		if (table_create(cl, d->repl[i]))
			return -1;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", cl->mgmtd.port);
	return config_set("mgmtd", uri, NULL, 0) ? -1 : 0;
}

static void cluster_stop(struct cluster *cl)
{
	for (int n = 0; n < NODES; n++)
		child_stop(&cl->node[n]);
	child_stop(&cl->mgmtd); /* and the directory */
}

/* ---- the report ---------------------------------------------------------- */

static double rate(const struct bench_result *r, bool bytes)
{
	double v = bytes ? (double)r->bytes : (double)r->ops;

	return r->secs > 0 ? v / r->secs : 0;
}

static void report(const struct rdrv *d, const struct bench_result *fio)
{
	printf("fffs bench chunk: %" PRIu64 " chunks of 1 MiB at depth %" PRIu64
	       ", 4 KiB random reads at depth %" PRIu64 " for %" PRIu64
	       " s, through chains of replication",
	       d->nchunks, d->a->depth, d->a->rand_depth, d->a->duration_s);
	for (int i = 0; i < d->nrepl; i++)
		printf(" %d", d->repl[i]);
	printf(" (reads spread over the replicas); fio on %s\n", d->a->dir);
	printf("%-10s %-8s %-14s %-10s %-10s %-14s %s\n", "phase", "replicas",
	       "fffs", "p50 us", "p99 us", "fio", "ratio");
	for (int p = 0; p < PH__COUNT; p++)
		for (int i = 0; i < d->nrepl; i++) {
			const struct bench_result *r = &d->res[i][p];
			bool bytes = p != PH_RAND;
			double f = rate(r, bytes), b = rate(&fio[p], bytes);
			char fs[32], bs[32];

			snprintf(fs, sizeof(fs),
				 bytes ? "%.0f MB/s" : "%.0f IOPS",
				 f / (bytes ? 1e6 : 1));
			snprintf(bs, sizeof(bs),
				 bytes ? "%.0f MB/s" : "%.0f IOPS",
				 b / (bytes ? 1e6 : 1));
			printf("%-10s %-8d %-14s %-10.1f %-10.1f %-14s "
			       "%.2f%s\n",
			       bench_phase_names[p], d->repl[i], fs, r->p50_us,
			       r->p99_us, bs, b > 0 ? f / b : 0,
			       r->errors ? "  (requests failed)" : "");
		}
}

/* ---- the run ------------------------------------------------------------- */

static int repl_parse(struct rdrv *d, const char *s)
{
	char *end;

	while (*s && d->nrepl < MAX_REPL) {
		long r = strtol(s, &end, 10);

		if (end == s || r < 1 || r > NODES || (*end && *end != ','))
			break;
		d->repl[d->nrepl++] = (int)r;
		s = *end ? end + 1 : end;
	}
	if (*s || !d->nrepl) {
		fprintf(stderr,
			"fffs bench: --replication wants up to %d "
			"numbers of 1 to %d, like 1,2,3\n",
			MAX_REPL, NODES);
		return -1;
	}
	return 0;
}

static int fio_phases(const struct bench_args *a, struct bench_result *fio)
{
	char *file = fio_file(a);
	int rc = 0;

	for (int p = 0; p < PH__COUNT && !rc; p++)
		rc = fio_run(a, file, p, FIO_PLAIN, &fio[p], NULL);
	fio_file_remove(a);
	free(file);
	return rc;
}

int bench_replicas(const struct bench_args *a)
{
	struct bench_result fio[PH__COUNT] = { { 0 } };
	struct cluster cl = { .tmp = NULL };
	struct rdrv d = { .a = a };
	int rc = 1;

	if (repl_parse(&d, a->replication))
		return 2;
	if (!fio_present()) {
		fprintf(stderr,
			"fffs bench chunk: fio is not installed (Debian "
			"package fio); it is the baseline\n");
		return 1;
	}
	for (int n = 0; n < NODES; n++)
		cl.node[n].fd = -1;
	cl.mgmtd.fd = -1;
	d.nchunks = a->size / SEQ_BS;
	d.nslots =
		(unsigned)(a->depth > a->rand_depth ? a->depth : a->rand_depth);
	d.slots = xcalloc(d.nslots, sizeof(*d.slots));
	for (unsigned i = 0; i < d.nslots; i++) {
		d.slots[i].d = &d;
		d.slots[i].buf = xaligned_alloc(4096, SEQ_BS);
		bench_gen_fill(bench_mix64(a->seed + i), 0, d.slots[i].buf,
			       SEQ_BS);
	}
	d.rng = bench_mix64(a->seed);
	d.start.cb = drv_start;
	core_timer_init(&d.timer, wait_ready);
	if (cluster_start(&cl, a, &d) || loop_start(1, NULL, NULL))
		goto out;
	core_post(core_get(0), &d.start);
	loop_main();
	cluster_stop(&cl);
	rc = d.exit_code;
	if (!rc && !fio_phases(a, fio))
		report(&d, fio);
	else if (!rc)
		rc = 1;
out:
	cluster_stop(&cl);
	for (unsigned i = 0; i < d.nslots; i++)
		free(d.slots[i].buf);
	free(d.slots);
	free(d.lat.ns);
	return rc;
}
