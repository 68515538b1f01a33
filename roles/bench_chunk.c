/* roles/bench_chunk.c - `fffs bench chunk`: chunk writes and reads through
 * the storage RPCs next to fio on the same file system, and the driver that
 * also runs the test-driver modes of roles/bench_chunk_check.c. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "roles/bench_proc.h"

#define SEQ_BS	     MIB	     /* chunk size and I/O size, sequential */
#define TARGET_HEAD  MIB	     /* superblock area of a target */
#define TARGET_GROUP (64u << 20)     /* allocation group of a target */
#define ROWS	     (PH__COUNT + 2) /* and writes: O_DSYNC, end sync */

const char *const bench_phase_names[PH__COUNT] = { "seq-write", "seq-read",
						   "rand-read" };

void bench_drv_finish(struct bench_drv *d, int code)
{
	if (d->finished)
		return;
	d->finished = true;
	d->exit_code = code;
	loop_request_stop();
}

/* ---- the storage server it starts ------------------------------------- */

/* Big enough for --size bytes of 1 MiB chunks: whole allocation groups
 * after the superblock area, and one more. */
uint64_t bench_target_bytes(uint64_t size)
{
	uint64_t groups = (size + TARGET_GROUP - 1) / TARGET_GROUP;

	return TARGET_HEAD + (groups + 1) * TARGET_GROUP;
}

/* `fffs storage` on a new target in a new directory under --dir, port 0,
 * with our secret and cluster id, and two cores. The target file is
 * bigger than --size: the superblock area and whole 64 MiB allocation
 * groups, so --size bytes of chunks fit. */
static int server_spawn(const struct bench_args *a, uint64_t target,
			struct bench_child *sc)
{
	struct args g = { .n = 0 };
	int rc;

	sc->tmp = xasprintf("%s/fffs-bench.XXXXXX", a->dir);
	if (!mkdtemp(sc->tmp)) {
		fprintf(stderr,
			"fffs bench: cannot create a directory in "
			"'%s': %s\n",
			a->dir, strerror(errno));
		free(sc->tmp);
		sc->tmp = NULL;
		return -1;
	}
	args_add(&g, "fffs");
	args_add(&g, "storage");
	args_addf(&g, "--target=%s/target.img,size=%llu,id=%llu", sc->tmp,
		  (unsigned long long)bench_target_bytes(a->size),
		  (unsigned long long)target);
	args_addf(&g, "--state-dir=%s/state", sc->tmp);
	args_add(&g, "--listen=tcp://127.0.0.1:0");
	args_addf(&g, "--secret-file=%s", config_str(CFG_secret_file));
	args_addf(&g, "--cluster-id=%s", config_str(CFG_cluster_id));
	/* its start and stop lines would only clutter the report */
	args_addf(&g, "--log-level=%s",
		  log_level_cur > LOGL_INFO ? config_str(CFG_log_level)
					    : "warn");
	args_add(&g, "--cores=2");
	rc = child_fork(sc, g.v);
	if (!rc)
		rc = child_wait_port(sc);
	args_free(&g);
	return rc;
}

/* ---- the benchmark ------------------------------------------------------- */

struct bslot {
	struct bench_drv *d;
	struct stor_write w;
	struct stor_read r;
	uint8_t *buf;
	uint64_t t0;
};

/* A remove of the clean-up after a run against a --connect server. */
struct bremove {
	struct stor_remove x;
	struct bench_drv *d;
};

enum step_kind { ST_FFFS, ST_FIO, ST_FIO_SYNC, ST_FIO_END };

struct bench_step {
	uint8_t kind, phase;
	uint16_t round;
};

/* fio runs on a thread of its own, so that the driver's loop keeps
 * running; its end is a message to the driver's core. */
struct fio_job {
	struct bench_drv *d;
	struct core *core;
	char *file;
	int phase, rc;
	enum fio_sync sync;
	struct bench_result *r;
	_Atomic pid_t pid;
	pthread_t thread;
	struct loop_msg done;
};

static void step_next(struct core *c, struct bench_drv *d);

static void bench_phase_start(struct core *c, struct bench_drv *d);
static void bench_write_done(struct core *c, struct stor_write *w);
static void bench_read_done(struct core *c, struct stor_read *r,
			    const uint8_t *data);

static void bench_fire(struct core *c, struct bench_drv *d, struct bslot *s)
{
	const struct bench_args *a = d->a;
	struct chunk_id id = { a->inode, 0 };
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
		memcpy(s->buf, &d->next, 8); /* chunks differ a little */
		s->w = (struct stor_write){ .peer = d->peer,
					    .target = d->target,
					    .chunk = id,
					    .length = SEQ_BS,
					    .chunk_size = SEQ_BS,
					    .data = s->buf,
					    .done = bench_write_done };
		rc = stor_write_start(&d->cl, &s->w);
	} else {
		s->r = (struct stor_read){ .peer = d->peer,
					   .target = d->target,
					   .chunk = id,
					   .offset = off,
					   .length = len,
					   .done = bench_read_done };
		rc = stor_read_start(&d->cl, &s->r);
	}
	if (rc) {
		log_error("cannot start a request: %s", fffs_strerror(rc));
		return bench_drv_finish(d, 1);
	}
	d->inflight++;
}

static void remove_done(struct core *c, struct stor_remove *x)
{
	struct bench_drv *d = fffs_container_of(x, struct bremove, x)->d;

	if (x->status && x->status != -ENOENT && d->cleanup_errors++ < 5)
		log_error("cannot remove chunk %u: %s", x->chunk.index,
			  fffs_strerror(x->status));
	if (--d->inflight == 0)
		bench_drv_finish(d, 0);
}

/* Against a server of somebody else's, leave no chunks behind. */
static void bench_cleanup(struct core *c, struct bench_drv *d)
{
	struct bremove *rm = xcalloc(d->nchunks, sizeof(*rm));

	d->removes = &rm[0].x;
	for (uint64_t i = 0; i < d->nchunks; i++) {
		rm[i].d = d;
		rm[i].x = (struct stor_remove){
			.peer = d->peer,
			.target = d->target,
			.chunk = { d->a->inode, (uint32_t)i },
			.done = remove_done,
		};
		if (stor_remove_start(&d->cl, &rm[i].x) == 0)
			d->inflight++;
	}
	if (!d->inflight)
		bench_drv_finish(d, 0);
}

static void bench_phase_end(struct core *c, struct bench_drv *d)
{
	struct bench_result *r = d->cur;

	r->name = bench_phase_names[d->phase];
	r->secs = (double)(now_ns() - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, r);
	d->step++;
	step_next(c, d);
}

static void *fio_thread(void *arg)
{
	struct fio_job *j = arg;

	j->rc = fio_run(j->d->a, j->file, j->phase, j->sync, j->r, &j->pid);
	core_post(j->core, &j->done);
	return NULL;
}

static void fio_job_done(struct core *c, struct loop_msg *m)
{
	struct fio_job *j = fffs_container_of(m, struct fio_job, done);
	struct bench_drv *d = j->d;
	int rc = j->rc;

	pthread_join(j->thread, NULL);
	core_unhold(c);
	free(j->file);
	free(j);
	d->job = NULL;
	if (rc)
		return bench_drv_finish(d, 1);
	d->step++;
	step_next(c, d);
}

static void fio_start(struct core *c, struct bench_drv *d,
		      const struct bench_step *st)
{
	struct fio_job *j = xcalloc(1, sizeof(*j));
	int rc;

	j->d = d;
	j->core = c;
	j->file = fio_file(d->a);
	j->phase = st->phase;
	j->sync = st->kind == ST_FIO_SYNC  ? FIO_DSYNC
		  : st->kind == ST_FIO_END ? FIO_END
					   : FIO_PLAIN;
	j->r = j->sync == FIO_DSYNC ? &d->fio_sync[st->round]
	       : j->sync == FIO_END
		       ? &d->fio_end[st->round]
		       : &d->fio[st->round * PH__COUNT + st->phase];
	j->r->name = bench_phase_names[st->phase];
	j->done.cb = fio_job_done;
	core_hold(c); /* a stop waits for fio (the stop hook ends it) */
	d->job = j;
	rc = fffs_thread_start(&j->thread, "fffs-fio", fio_thread, j);
	if (!rc)
		return;
	fprintf(stderr, "fffs bench: cannot start a thread for fio: %s\n",
		fffs_strerror(rc));
	core_unhold(c);
	free(j->file);
	free(j);
	d->job = NULL;
	bench_drv_finish(d, 1);
}

/* A stop (SIGINT, or the driver finishing) ends a fio run early. */
static void bench_on_stop(struct core *c, void *arg)
{
	struct bench_drv *d = arg;
	pid_t pid = d->job ? atomic_load(&d->job->pid) : 0;

	if (pid > 0)
		kill(pid, SIGTERM);
}

/* Run the next step: an fffs phase here, or fio on its thread. */
static void step_next(struct core *c, struct bench_drv *d)
{
	const struct bench_step *st;

	if (d->finished || loop_stopping(c))
		return;
	if (d->step == d->nsteps) {
		if (d->a->connect)
			return bench_cleanup(c, d);
		return bench_drv_finish(d, 0);
	}
	st = &d->steps[d->step];
	if (st->kind != ST_FFFS)
		return fio_start(c, d, st);
	d->phase = st->phase;
	d->cur = &d->res[st->round * PH__COUNT + st->phase];
	bench_phase_start(c, d);
}

static void bench_done(struct core *c, struct bslot *s, int status,
		       uint32_t bytes)
{
	struct bench_drv *d = s->d;
	struct bench_result *r = d->cur;
	uint64_t now = now_ns();

	d->inflight--;
	if (status) {
		if (r->errors++ < 5)
			log_error("%s request failed: %s",
				  bench_phase_names[d->phase],
				  fffs_strerror(status));
	} else {
		r->ops++;
		r->bytes += bytes;
		bench_lat_add(&d->lat, now - s->t0);
	}
	if (d->finished || loop_stopping(c))
		return;
	if (d->phase == PH_RAND ? now < d->t_end : d->next < d->nchunks)
		return bench_fire(c, d, s);
	if (d->inflight == 0)
		bench_phase_end(c, d);
}

static void bench_write_done(struct core *c, struct stor_write *w)
{
	bench_done(c, fffs_container_of(w, struct bslot, w), w->status,
		   w->length);
}

static void bench_read_done(struct core *c, struct stor_read *r,
			    const uint8_t *data)
{
	int status = r->status;

	if (!status && r->out_length != r->length)
		status = -ENODATA; /* the chunk is shorter than written */
	bench_done(c, fffs_container_of(r, struct bslot, r), status,
		   r->out_length);
}

static void bench_phase_start(struct core *c, struct bench_drv *d)
{
	uint64_t n = d->phase == PH_RAND ? d->a->rand_depth : d->a->depth;

	d->next = 0;
	d->t_start = now_ns();
	d->t_end = d->t_start + d->a->duration_s * 1000000000ull;
	for (uint64_t i = 0; i < n && !d->finished; i++) {
		if (d->phase != PH_RAND && d->next >= d->nchunks)
			break;
		bench_fire(c, d, &d->slots[i]);
	}
}

/* Per round and phase, fffs and fio take turns (fio three times for
 * writes: plain, O_DSYNC, and one fdatasync at the end); who goes first
 * alternates from round to round, so that neither always meets the
 * caches the other left. */
static void steps_init(struct bench_drv *d)
{
	unsigned rounds = (unsigned)d->a->rounds, n = 0;

	d->steps = xcalloc((size_t)rounds * (2 * PH__COUNT + 2),
			   sizeof(*d->steps));
	for (unsigned r = 0; r < rounds; r++) {
		for (int p = 0; p < PH__COUNT; p++) {
			uint8_t order[4] = { ST_FFFS, ST_FIO, ST_FIO_SYNC,
					     ST_FIO_END };
			int k = p == PH_WRITE ? 4 : 2;

			if (r % 2) {
				order[0] = order[k - 1];
				order[k - 1] = ST_FFFS;
			}
			for (int i = 0; i < k; i++)
				d->steps[n++] = (struct bench_step){
					order[i], (uint8_t)p, (uint16_t)r
				};
		}
	}
	d->nsteps = n;
	d->res = xcalloc((size_t)rounds * PH__COUNT, sizeof(*d->res));
	d->fio = xcalloc((size_t)rounds * PH__COUNT, sizeof(*d->fio));
	d->fio_sync = xcalloc(rounds, sizeof(*d->fio_sync));
	d->fio_end = xcalloc(rounds, sizeof(*d->fio_end));
}

static void bench_init(struct bench_drv *d)
{
	const struct bench_args *a = d->a;

	steps_init(d);
	d->nchunks = a->size / SEQ_BS;
	d->nslots =
		(unsigned)(a->depth > a->rand_depth ? a->depth : a->rand_depth);
	d->slots = xcalloc(d->nslots, sizeof(*d->slots));
	for (unsigned i = 0; i < d->nslots; i++) {
		d->slots[i].d = d;
		if (i < a->depth) {
			d->slots[i].buf = xaligned_alloc(4096, SEQ_BS);
			bench_gen_fill(bench_mix64(a->seed + i), 0,
				       d->slots[i].buf, SEQ_BS);
		}
	}
}

/* ---- the driver: connect, find the target, run the mode ------------------ */

static void mode_start(struct core *c, struct bench_drv *d)
{
	switch (d->mode) {
	case M_BENCH:
		core_on_stop(c, bench_on_stop, d);
		d->step = 0;
		return step_next(c, d);
	default:
		return bench_chunk_mode_start(c, d);
	}
}

/* The first request of every mode: is the server there, and the target
 * on it? */
static void drv_space_done(struct core *c, struct stor_space *s)
{
	struct bench_drv *d = fffs_container_of(s, struct bench_drv, space);
	const struct stor_space_ent *t = NULL;

	if (s->status) {
		fprintf(stderr, "fffs bench: cannot reach %s: %s\n", d->uri,
			fffs_strerror(s->status));
		return bench_drv_finish(d, 1);
	}
	if (d->mode == M_SPACE)
		return bench_chunk_space_print(d, s);
	for (uint32_t i = 0; i < s->n; i++)
		if (s->ents[i].target == d->target)
			t = &s->ents[i];
	if (!t) {
		fprintf(stderr, "fffs bench: %s has no target %llu\n", d->uri,
			(unsigned long long)d->target);
		return bench_drv_finish(d, 1);
	}
	if (t->state != STOR_STATE_SERVING)
		log_warn("target %llu on %s is %s",
			 (unsigned long long)d->target, d->uri,
			 stor_state_name(t->state));
	mode_start(c, d);
}

static void drv_start(struct core *c, struct loop_msg *m)
{
	struct bench_drv *d = fffs_container_of(m, struct bench_drv, start_msg);
	char err[512];
	int rc;

	d->peer = rpc_peer_get(c, d->uri, err, sizeof(err));
	if (!d->peer) {
		fprintf(stderr, "fffs bench: %s\n", err);
		return bench_drv_finish(d, 2);
	}
	stor_client_init(&d->cl, c, 0);
	d->cl.timeout_ms = (uint32_t)d->a->timeout_ms;
	d->space =
		(struct stor_space){ .peer = d->peer, .done = drv_space_done };
	rc = stor_space_start(&d->cl, &d->space);
	if (rc)
		bench_drv_finish(d, 1);
}

static enum bench_mode mode_of(const struct bench_args *a)
{
	if (a->verify_n)
		return M_VERIFY;
	if (a->storm)
		return M_STORM;
	if (a->fill)
		return M_FILL;
	if (a->check)
		return M_CHECK;
	if (a->space)
		return M_SPACE;
	if (a->read_chunk_set)
		return M_READ_CHUNK;
	return M_BENCH;
}

static int drv_init(struct bench_drv *d, const struct bench_args *a)
{
	d->a = a;
	d->mode = mode_of(a);
	d->target = a->target ? a->target : 1;
	d->rng = bench_mix64(a->seed);
	d->start_msg.cb = drv_start;
	if (d->mode != M_BENCH)
		return bench_chunk_mode_init(d);
	bench_init(d);
	return 0;
}

static void drv_release(struct bench_drv *d)
{
	for (unsigned i = 0; i < d->nslots; i++)
		free(d->slots[i].buf);
	free(d->slots);
	if (d->removes)
		free(fffs_container_of(d->removes, struct bremove, x));
	free(d->lat.ns);
	free(d->steps);
	free(d->res);
	free(d->fio);
	free(d->fio_sync);
	free(d->fio_end);
	bench_chunk_mode_release(d);
	if (d->cl.c && !stor_client_inflight(&d->cl) && !d->cl.flush_posted)
		stor_client_release(&d->cl);
}

/* ---- reports ------------------------------------------------------------- */

static double rate(const struct bench_result *r, bool bytes)
{
	double v = bytes ? (double)r->bytes : (double)r->ops;

	return r->secs > 0 ? v / r->secs : 0;
}

/* A row of the report: fffs against one baseline, over the rounds. */
struct row {
	const char *name, *base_name;
	bool bytes;
	const struct bench_result *f[BENCH_MAX_ROUNDS], *b[BENCH_MAX_ROUNDS];
	int n; /* rounds */
};

static int by_rate_bytes(const void *x, const void *y)
{
	double a = rate(*(const struct bench_result *const *)x, true),
	       b = rate(*(const struct bench_result *const *)y, true);

	return (a > b) - (a < b);
}

static int by_rate_ops(const void *x, const void *y)
{
	double a = rate(*(const struct bench_result *const *)x, false),
	       b = rate(*(const struct bench_result *const *)y, false);

	return (a > b) - (a < b);
}

/* The round with the median rate (the lower middle one of an even
 * count). */
static const struct bench_result *median(const struct bench_result *const *v,
					 int n, bool bytes)
{
	const struct bench_result *s[BENCH_MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), bytes ? by_rate_bytes : by_rate_ops);
	return s[(n - 1) / 2];
}

static double ratio(const struct bench_result *f, const struct bench_result *b,
		    bool bytes)
{
	return rate(b, bytes) > 0 ? rate(f, bytes) / rate(b, bytes) : 0;
}

/* The rows: each phase against fio, then the writes again against fio
 * with O_DSYNC, and with one fdatasync at the end. */
static int rows_make(const struct bench_drv *d, struct row *rows)
{
	int rounds = (int)d->a->rounds;

	for (int p = 0; p < ROWS; p++) {
		struct row *w = &rows[p];
		bool dsync = p == PH__COUNT, end = p == PH__COUNT + 1;
		int ph = dsync || end ? PH_WRITE : p;

		w->name = bench_phase_names[ph];
		w->base_name = dsync ? "fio O_DSYNC"
			       : end ? "fio end sync"
				     : "fio";
		w->bytes = ph != PH_RAND;
		for (int r = 0; r < rounds; r++) {
			w->f[r] = &d->res[r * PH__COUNT + ph];
			w->b[r] = dsync ? &d->fio_sync[r]
				  : end ? &d->fio_end[r]
					: &d->fio[r * PH__COUNT + ph];
		}
		w->n = rounds;
	}
	return ROWS;
}

static void result_text(char *buf, size_t len, const struct bench_result *r,
			bool bytes)
{
	char v[32];

	snprintf(v, sizeof(v), bytes ? "%.0f MB/s" : "%.0f IOPS",
		 rate(r, bytes) / (bytes ? 1e6 : 1));
	snprintf(buf, len, "%-11s p50 %8.1fus p99 %8.1fus", v, r->p50_us,
		 r->p99_us);
}

static void report_text(const struct bench_args *a, const struct bench_drv *d)
{
	struct row rows[ROWS];
	int n = rows_make(d, rows);
	uint64_t errors = 0;

	printf("fffs bench chunk: %llu chunks of 1 MiB at depth %llu, 4 KiB "
	       "random reads at depth %llu for %llu s; %s server %s, target "
	       "%llu; fio on %s\n",
	       (unsigned long long)d->nchunks, (unsigned long long)a->depth,
	       (unsigned long long)a->rand_depth,
	       (unsigned long long)a->duration_s, a->connect ? "the" : "own",
	       d->uri, (unsigned long long)d->target, a->dir);
	printf("%llu round(s), fffs and fio taking turns; the median of each, "
	       "then each round's ratio\n",
	       (unsigned long long)a->rounds);
	printf("%-10s %-38s %-12s %-38s %-6s %s\n", "phase", "fffs", "baseline",
	       "", "ratio", "rounds");
	for (int i = 0; i < n; i++) {
		const struct row *w = &rows[i];
		const struct bench_result *f = median(w->f, w->n, w->bytes),
					  *b = median(w->b, w->n, w->bytes);
		char fs[64], bs[64];

		result_text(fs, sizeof(fs), f, w->bytes);
		result_text(bs, sizeof(bs), b, w->bytes);
		printf("%-10s %-38s %-12s %-38s %-6.2f", w->name, fs,
		       w->base_name, bs, ratio(f, b, w->bytes));
		for (int r = 0; r < w->n; r++)
			printf(" %.2f", ratio(w->f[r], w->b[r], w->bytes));
		printf("\n");
	}
	for (unsigned i = 0; i < a->rounds * PH__COUNT; i++)
		errors += d->res[i].errors;
	if (errors)
		printf("%llu fffs requests failed\n",
		       (unsigned long long)errors);
	printf("fio O_DSYNC: each write completes once it is durable, as each "
	       "acknowledged fffs write is; fio end sync: the file made "
	       "durable once, by an fdatasync at the end that is timed\n");
}

static cJSON *result_json(const struct bench_result *r, bool bytes)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "ops", (double)r->ops);
	cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	cJSON_AddNumberToObject(o, "seconds", r->secs);
	cJSON_AddNumberToObject(o, bytes ? "bytes_per_s" : "ops_per_s",
				rate(r, bytes));
	cJSON_AddNumberToObject(o, "p50_us", r->p50_us);
	cJSON_AddNumberToObject(o, "p99_us", r->p99_us);
	return o;
}

static cJSON *row_json(const struct row *w)
{
	const struct bench_result *f = median(w->f, w->n, w->bytes),
				  *b = median(w->b, w->n, w->bytes);
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "phase", w->name);
	cJSON_AddStringToObject(o, "baseline", w->base_name);
	cJSON_AddItemToObject(o, "fffs", result_json(f, w->bytes));
	cJSON_AddItemToObject(o, "fio", result_json(b, w->bytes));
	cJSON_AddNumberToObject(o, "ratio", ratio(f, b, w->bytes));
	for (int r = 0; r < w->n; r++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddItemToObject(x, "fffs",
				      result_json(w->f[r], w->bytes));
		cJSON_AddItemToObject(x, "fio", result_json(w->b[r], w->bytes));
		cJSON_AddNumberToObject(x, "ratio",
					ratio(w->f[r], w->b[r], w->bytes));
		cJSON_AddItemToArray(arr, x);
	}
	cJSON_AddItemToObject(o, "rounds", arr);
	return o;
}

static void report_json(const struct bench_args *a, const struct bench_drv *d)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	struct row rows[ROWS];
	int n = rows_make(d, rows);
	char *s;

	cJSON_AddStringToObject(root, "benchmark", "chunk");
	cJSON_AddStringToObject(root, "server", d->uri);
	cJSON_AddBoolToObject(root, "own_server", !a->connect);
	cJSON_AddNumberToObject(root, "target", (double)d->target);
	cJSON_AddNumberToObject(root, "size", (double)a->size);
	cJSON_AddNumberToObject(root, "depth", (double)a->depth);
	cJSON_AddNumberToObject(root, "rand_depth", (double)a->rand_depth);
	cJSON_AddNumberToObject(root, "duration", (double)a->duration_s);
	cJSON_AddNumberToObject(root, "rounds", (double)a->rounds);
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, row_json(&rows[i]));
	cJSON_AddItemToObject(root, "phases", arr);
	s = cJSON_Print(root);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(root);
}

/* After the run: the report; status 1 when an fffs request failed. */
static int bench_finish(const struct bench_args *a, const struct bench_drv *d)
{
	int rc = 0;

	if (a->json)
		report_json(a, d);
	else
		report_text(a, d);
	for (unsigned i = 0; i < a->rounds * PH__COUNT; i++)
		if (d->res[i].errors)
			rc = 1;
	return rc;
}

const char *bench_chunk_check_args(const struct bench_args *a)
{
	int modes = (a->verify_n != 0) + a->storm + a->fill +
		    (a->check != NULL) + a->space + a->read_chunk_set;

	if (a->verify && !a->verify_n)
		return "--verify needs a number of chunks (--verify N)";
	if (a->server || a->probe)
		return "--server and --probe are for rpc";
	if (modes > 1)
		return "--verify, --storm, --fill, --check, --space and "
		       "--read-chunk exclude each other";
	if (modes && !a->connect)
		return "--verify, --storm, --fill, --check, --space and "
		       "--read-chunk need --connect";
	if (modes && !a->space && !a->target)
		return "--verify, --storm, --fill, --check and --read-chunk "
		       "need --target";
	if ((a->storm || a->fill) && !a->journal)
		return "--storm and --fill need --journal FILE";
	if (a->journal && !a->storm && !a->fill)
		return "--journal goes with --storm or --fill";
	if (a->chunk_size && !a->verify_n)
		return "--chunk-size goes with --verify";
	if (a->storm && a->depth > a->chunks)
		return "--depth may not exceed --chunks";
	if (modes)
		return NULL;
	if (!a->dir)
		return "--dir DIR is required (the fio file goes there, and "
		       "the target of the server it starts)";
	if (a->connect && !a->target)
		return "--connect needs --target";
	if (a->size < SEQ_BS || a->size % SEQ_BS ||
	    a->size / SEQ_BS > UINT32_MAX)
		return "--size must be a multiple of 1M";
	return NULL;
}

/* Start the loops and drive from the last core; *sig: what stopped it. */
static int drv_run(struct bench_drv *d, int *sig)
{
	int rc = loop_start((int)config_int(CFG_cores), NULL, NULL);

	if (rc) {
		fprintf(stderr, "fffs bench: cannot start event loops: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	core_post(core_get(core_count() - 1), &d->start_msg);
	*sig = loop_main();
	return 0;
}

int bench_chunk(const struct bench_args *a)
{
	struct bench_child sc = { .fd = -1 };
	struct bench_drv d = { 0 };
	char uri[64];
	int rc = 1, sig = 0;

	if (mode_of(a) == M_BENCH && !fio_present()) {
		fprintf(stderr,
			"fffs bench chunk: fio is not installed (Debian "
			"package fio); it is the baseline\n");
		return 1;
	}
	if (drv_init(&d, a))
		goto out;
	if (!a->connect && server_spawn(a, d.target, &sc))
		goto out;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", sc.port);
	d.uri = a->connect ? a->connect : uri;
	if (drv_run(&d, &sig))
		goto out;
	child_stop(&sc);
	rc = d.exit_code;
	bench_chunk_mode_summary(&d);
	if (d.mode != M_STORM && sig && !d.finished)
		rc = 1;
	if (d.mode == M_BENCH && !rc)
		rc = bench_finish(a, &d);
out:
	child_stop(&sc);
	if (d.mode == M_BENCH && a->dir)
		fio_file_remove(a);
	drv_release(&d);
	return rc;
}
