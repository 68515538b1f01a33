/* roles/bench_chunk.c - `fffs bench chunk`: chunk writes and reads through
 * the storage RPCs next to fio on the same file system, plus the
 * test-driver modes of the cluster tests (verify, storm, check, space,
 * read-chunk). */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "base/crc32c.h"
#include "chain/storage_cli.h"
#include "roles/bench.h"

#define MIB	      (1u << 20)
#define SEQ_BS	      MIB	  /* chunk size and I/O size, sequential */
#define RAND_BS	      4096u	  /* random reads */
#define TARGET_HEAD   MIB	  /* superblock area of a target */
#define TARGET_GROUP  (64u << 20) /* allocation group of a target */
#define VERIFY_CHUNK  (4u << 20)
#define VERIFY_RANGES 64
#define STORM_CHUNK   MIB
#define STORM_MIN     4096u
#define STORM_RETRY   100000000ull /* ns between retries of a write */
#define CHECK_BUDGET  1000000	   /* comparisons per chunk, at most */
#define SPAWN_WAIT_MS 60000
#define STOP_WAIT_MS  15000

enum mode { M_BENCH, M_VERIFY, M_STORM, M_CHECK, M_SPACE, M_READ_CHUNK };
enum phase { PH_WRITE, PH_READ, PH_RAND, PH__COUNT };
static const char *const phase_names[PH__COUNT] = { "seq-write", "seq-read",
						    "rand-read" };

struct drv;
struct bslot;
struct verify;
struct storm;
struct check;

/* The client: one per invocation, on the last loop core. */
struct drv {
	const struct bench_args *a;
	enum mode mode;
	const char *uri;
	uint64_t target;
	struct rpc_peer *peer;
	struct stor_client cl;
	struct stor_space space;
	struct loop_msg start_msg;
	int exit_code;
	bool finished;
	uint64_t rng;
	/* the benchmark */
	int phase;
	uint64_t nchunks, next, t_start, t_end;
	unsigned inflight, nslots;
	struct bslot *slots;
	struct bench_result res[PH__COUNT];
	struct bench_lat lat;
	struct stor_remove *removes;
	uint64_t cleanup_errors;
	/* the test modes */
	struct verify *v;
	struct storm *s;
	struct check *k;
	struct stor_read one;
};

static void drv_finish(struct drv *d, int code)
{
	if (d->finished)
		return;
	d->finished = true;
	d->exit_code = code;
	loop_request_stop();
}

/* ---- deterministic data -------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t rng_next(uint64_t *s)
{
	*s += 0x9E3779B97F4A7C15ull;
	return mix64(*s);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

/* Bytes [pos, pos + len) of the stream named key: byte x is byte x % 8 of
 * mix64(key + x / 8), so any range can be made without the rest. */
static void gen_fill(uint64_t key, uint64_t pos, uint8_t *dst, size_t len)
{
	while (len) {
		uint64_t w = mix64(key + pos / 8);
		unsigned k = (unsigned)(pos % 8);

		if (k == 0 && len >= 8) {
			memcpy(dst, &w, 8); /* little-endian, like the loop */
			dst += 8;
			pos += 8;
			len -= 8;
			continue;
		}
		for (; k < 8 && len; k++, len--, pos++)
			*dst++ = (uint8_t)(w >> (8 * k));
	}
}

static bool gen_equal(uint64_t key, uint64_t pos, const uint8_t *p, size_t len)
{
	uint8_t buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		gen_fill(key, pos, buf, n);
		if (memcmp(buf, p, n))
			return false;
		p += n;
		pos += n;
		len -= n;
	}
	return true;
}

/* ---- child processes: the storage server and fio ------------------------- */

struct server_child {
	pid_t pid;
	int fd; /* its stdout */
	char *tmp;
	int port;
};

/* In a forked child: default signals, then exec. Never returns. */
static void child_exec(const char *path, char *const argv[], int out_fd,
		       bool search)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	if (search)
		execvp(path, argv);
	else
		execv(path, argv);
	_exit(127);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	if (remove(path))
		log_warn("cannot remove '%s': %s", path, strerror(errno));
	return 0;
}

/* The port from "storage serving N targets on port P"; 0 while the line
 * has not arrived, -1 at end of output. */
static int port_read(int fd, char *buf, size_t cap, size_t *len)
{
	const char *p;
	ssize_t n;

	n = read(fd, buf + *len, cap - 1 - *len);
	if (n <= 0)
		return n < 0 && errno == EINTR ? 0 : -1;
	*len += (size_t)n;
	buf[*len] = 0;
	p = strstr(buf, " on port ");
	if (!p || !strchr(p, '\n'))
		return *len + 1 >= cap ? -1 : 0;
	return (int)strtol(p + 9, NULL, 10);
}

static int server_wait_port(struct server_child *sc)
{
	uint64_t deadline = now_ms() + SPAWN_WAIT_MS;
	char buf[4096];
	size_t len = 0;
	int rc = 0;

	while (rc == 0 && now_ms() < deadline) {
		struct pollfd pfd = { .fd = sc->fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) > 0)
			rc = port_read(sc->fd, buf, sizeof(buf), &len);
	}
	if (rc > 0 && rc < 65536) {
		sc->port = rc;
		return 0;
	}
	fprintf(stderr, "fffs bench: the storage server did not start%s\n",
		rc == 0 ? " in time" : "");
	return -1;
}

static void server_stop(struct server_child *sc)
{
	uint64_t deadline = now_ms() + STOP_WAIT_MS;
	int st = 0;
	pid_t r = 0;

	if (sc->pid > 0) {
		kill(sc->pid, SIGTERM);
		while ((r = waitpid(sc->pid, &st, WNOHANG)) == 0 &&
		       now_ms() < deadline)
			usleep(10000);
		if (r == 0) {
			log_warn("storage server %d ignored SIGTERM for %d "
				 "s; killing it",
				 (int)sc->pid, STOP_WAIT_MS / 1000);
			kill(sc->pid, SIGKILL);
			waitpid(sc->pid, &st, 0);
		} else if (r > 0 && !(WIFEXITED(st) && !WEXITSTATUS(st))) {
			log_warn("storage server exited with status %d",
				 WIFEXITED(st) ? WEXITSTATUS(st)
					       : 128 + WTERMSIG(st));
		}
		sc->pid = 0;
	}
	if (sc->fd >= 0)
		close(sc->fd);
	sc->fd = -1;
	if (sc->tmp)
		nftw(sc->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(sc->tmp);
	sc->tmp = NULL;
}

/* Big enough for --size bytes of 1 MiB chunks: whole allocation groups
 * after the superblock area, and one more. */
static uint64_t target_bytes(uint64_t size)
{
	uint64_t groups = (size + TARGET_GROUP - 1) / TARGET_GROUP;

	return TARGET_HEAD + (groups + 1) * TARGET_GROUP;
}

/* An argument vector being built; strings made by args_addf are owned. */
struct args {
	char *v[24];
	int n;
	char *own[12];
	int nown;
};

static void args_add(struct args *g, const char *s)
{
	FFFS_ASSERT(g->n + 1 < (int)FFFS_ARRAY_LEN(g->v));
	g->v[g->n++] = (char *)s;
	g->v[g->n] = NULL;
}

static void args_addf(struct args *g, const char *fmt, ...) FFFS_PRINTF(2, 3);

static void args_addf(struct args *g, const char *fmt, ...)
{
	char buf[4400];
	va_list ap;

	FFFS_ASSERT(g->nown < (int)FFFS_ARRAY_LEN(g->own));
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	g->own[g->nown] = xstrdup(buf);
	args_add(g, g->own[g->nown++]);
}

static void args_free(struct args *g)
{
	for (int i = 0; i < g->nown; i++)
		free(g->own[i]);
}

static int server_fork(struct server_child *sc, char *const argv[])
{
	pid_t parent = getpid();
	int fds[2];

	if (pipe2(fds, O_CLOEXEC)) {
		fprintf(stderr, "fffs bench: pipe: %s\n", strerror(errno));
		return -1;
	}
	sc->pid = fork();
	if (sc->pid == 0) {
		/* the server must not outlive us, even after a SIGKILL */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		child_exec("/proc/self/exe", argv, fds[1], false);
	}
	close(fds[1]);
	sc->fd = fds[0];
	if (sc->pid < 0) {
		fprintf(stderr, "fffs bench: fork: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* `fffs storage` on a new target in a new directory under --dir, port 0,
 * with our secret and cluster id, and two cores. The target file is
 * bigger than --size: the superblock area and whole 64 MiB allocation
 * groups, so --size bytes of chunks fit. */
static int server_spawn(const struct bench_args *a, uint64_t target,
			struct server_child *sc)
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
		  (unsigned long long)target_bytes(a->size),
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
	rc = server_fork(sc, g.v);
	if (!rc)
		rc = server_wait_port(sc);
	args_free(&g);
	return rc;
}

/* Run argv with its stdout captured into *out (NUL-terminated; free it).
 * Returns the exit status, 127 when it could not be run, -1 on error. */
static int run_capture(char *const argv[], char **out)
{
	size_t len = 0, cap = 65536;
	int fds[2], st = 0;
	ssize_t n;
	pid_t pid;

	*out = NULL;
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0)
		child_exec(argv[0], argv, fds[1], true);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	*out = xmalloc(cap);
	while ((n = read(fds[0], *out + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
		if (len + 1 == cap)
			*out = xrealloc(*out, cap *= 2);
	}
	(*out)[len] = 0;
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool fio_present(void)
{
	char *const argv[] = { "fio", "--version", NULL };
	char *out;
	int rc = run_capture(argv, &out);

	free(out);
	return rc == 0;
}

static double json_num(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* jobs[0].read or .write of fio's JSON into r. */
static int fio_parse(const char *text, bool write, struct bench_result *r)
{
	const char *start = strchr(text, '{');
	cJSON *root = start ? cJSON_Parse(start) : NULL;
	const cJSON *job, *io, *pct;
	int rc = -1;

	job = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "jobs"), 0);
	io = cJSON_GetObjectItem(job, write ? "write" : "read");
	if (!io || json_num(job, "error"))
		goto out;
	r->ops = (uint64_t)json_num(io, "total_ios");
	r->bytes = (uint64_t)json_num(io, "io_bytes");
	r->secs = json_num(io, "runtime") / 1e3;
	pct = cJSON_GetObjectItem(cJSON_GetObjectItem(io, "clat_ns"),
				  "percentile");
	r->p50_us = json_num(pct, "50.000000") / 1e3;
	r->p99_us = json_num(pct, "99.000000") / 1e3;
	rc = r->ops && r->secs > 0 ? 0 : -1;
out:
	cJSON_Delete(root);
	return rc;
}

static int fio_run(const struct bench_args *a, const char *file, int phase,
		   struct bench_result *r)
{
	bool rnd = phase == PH_RAND;
	struct args g = { .n = 0 };
	char *out;
	int rc;

	args_add(&g, "fio");
	args_add(&g, "--name=fffs-bench-chunk");
	args_add(&g, "--ioengine=io_uring");
	args_add(&g, "--direct=1");
	args_addf(&g, "--filename=%s", file);
	args_add(&g, phase == PH_WRITE ? "--rw=write"
		     : rnd	       ? "--rw=randread"
				       : "--rw=read");
	args_add(&g, rnd ? "--bs=4k" : "--bs=1M");
	args_addf(&g, "--iodepth=%llu",
		  (unsigned long long)(rnd ? a->rand_depth : a->depth));
	args_addf(&g, "--size=%llu", (unsigned long long)a->size);
	if (rnd) {
		args_add(&g, "--time_based");
		args_addf(&g, "--runtime=%llu",
			  (unsigned long long)a->duration_s);
	}
	args_add(&g, "--output-format=json");
	rc = run_capture(g.v, &out);
	args_free(&g);
	if (rc == 0)
		rc = fio_parse(out, phase == PH_WRITE, r);
	if (rc)
		fprintf(stderr, "fffs bench: fio %s failed (status %d)%s%s\n",
			phase_names[phase], rc, out ? ": " : "",
			out ? out : "");
	free(out);
	return rc;
}

static int fio_all(const struct bench_args *a, struct bench_result *base)
{
	char *file = xasprintf("%s/fio.dat", a->dir);
	int rc = 0;

	for (int i = 0; i < PH__COUNT && !rc; i++)
		rc = fio_run(a, file, i, &base[i]);
	if (unlink(file) && errno != ENOENT)
		log_warn("cannot remove '%s': %s", file, strerror(errno));
	free(file);
	return rc;
}

/* ---- the benchmark ------------------------------------------------------- */

struct bslot {
	struct drv *d;
	struct stor_write w;
	struct stor_read r;
	uint8_t *buf;
	uint64_t t0;
};

/* A remove of the clean-up after a run against a --connect server. */
struct bremove {
	struct stor_remove x;
	struct drv *d;
};

static void bench_phase_start(struct core *c, struct drv *d);
static void bench_write_done(struct core *c, struct stor_write *w);
static void bench_read_done(struct core *c, struct stor_read *r,
			    const uint8_t *data);

static void bench_fire(struct core *c, struct drv *d, struct bslot *s)
{
	const struct bench_args *a = d->a;
	struct chunk_id id = { a->inode, 0 };
	uint32_t off = 0, len = SEQ_BS;
	int rc;

	s->t0 = now_ns();
	if (d->phase == PH_RAND) {
		id.index = (uint32_t)rng_below(&d->rng, d->nchunks);
		off = (uint32_t)rng_below(&d->rng, SEQ_BS / RAND_BS) * RAND_BS;
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
		return drv_finish(d, 1);
	}
	d->inflight++;
}

static void remove_done(struct core *c, struct stor_remove *x)
{
	struct drv *d = fffs_container_of(x, struct bremove, x)->d;

	if (x->status && x->status != -ENOENT && d->cleanup_errors++ < 5)
		log_error("cannot remove chunk %u: %s", x->chunk.index,
			  fffs_strerror(x->status));
	if (--d->inflight == 0)
		drv_finish(d, 0);
}

/* Against a server of somebody else's, leave no chunks behind. */
static void bench_cleanup(struct core *c, struct drv *d)
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
		drv_finish(d, 0);
}

static void bench_phase_end(struct core *c, struct drv *d)
{
	struct bench_result *r = &d->res[d->phase];

	r->name = phase_names[d->phase];
	r->secs = (double)(now_ns() - d->t_start) / 1e9;
	bench_lat_finish(&d->lat, r);
	if (++d->phase < PH__COUNT)
		return bench_phase_start(c, d);
	if (d->a->connect)
		return bench_cleanup(c, d);
	drv_finish(d, 0);
}

static void bench_done(struct core *c, struct bslot *s, int status,
		       uint32_t bytes)
{
	struct drv *d = s->d;
	struct bench_result *r = &d->res[d->phase];
	uint64_t now = now_ns();

	d->inflight--;
	if (status) {
		if (r->errors++ < 5)
			log_error("%s request failed: %s",
				  phase_names[d->phase], fffs_strerror(status));
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

static void bench_phase_start(struct core *c, struct drv *d)
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

static void bench_init(struct drv *d)
{
	const struct bench_args *a = d->a;

	d->nchunks = a->size / SEQ_BS;
	d->nslots =
		(unsigned)(a->depth > a->rand_depth ? a->depth : a->rand_depth);
	d->slots = xcalloc(d->nslots, sizeof(*d->slots));
	for (unsigned i = 0; i < d->nslots; i++) {
		d->slots[i].d = d;
		if (i < a->depth) {
			d->slots[i].buf = xaligned_alloc(4096, SEQ_BS);
			gen_fill(mix64(a->seed + i), 0, d->slots[i].buf,
				 SEQ_BS);
		}
	}
}

/* ---- verify: write chunks by a plan, read every byte back ---------------- */

/* How chunk `index` is written: nw writes in this order; one of them
 * ends at size, so size is the chunk's final length. */
struct vplan {
	uint32_t size;
	int nw;
	uint32_t off[4], len[4];
	uint64_t key[4];
};

struct vslot;

struct vread {
	struct stor_read r;
	struct vslot *s;
};

struct vslot {
	struct drv *d;
	uint32_t index;
	struct vplan plan;
	int step;
	uint32_t length; /* the chunk's length so far */
	struct stor_write w;
	uint8_t *buf;	/* the write's payload */
	uint8_t *model; /* the chunk's expected bytes */
	struct vread reads[VERIFY_RANGES];
	uint32_t nreads, pending;
};

struct verify {
	struct drv *d;
	struct vslot *slots;
	unsigned nslots, busy;
	uint64_t n, next, bytes, failed, extra_bad;
	bool reading;
	uint8_t *bad;	/* per chunk: a mismatch was seen */
	uint32_t *crcs; /* per chunk: CRC32C of the model */
	struct stor_dump dump;
	struct stor_query_last last;
	uint64_t dumped;
};

static void vplan_make(uint64_t seed, uint32_t index, struct vplan *p)
{
	uint64_t s = mix64(seed ^ mix64((uint64_t)index + 1));
	unsigned bits = (unsigned)rng_below(&s, 23);
	int last;

	p->size = 1 + (uint32_t)rng_below(&s, 1ull << bits);
	p->nw = 1 + (int)rng_below(&s, 4);
	last = (int)rng_below(&s, (uint64_t)p->nw);
	for (int k = 0; k < p->nw; k++) {
		uint32_t off = (uint32_t)rng_below(&s, p->size);

		/* one in four page-aligned: the in-place append paths */
		if (rng_below(&s, 4) == 0)
			off &= ~(RAND_BS - 1);
		p->off[k] = off;
		p->len[k] =
			k == last ? p->size - off
				  : 1 + (uint32_t)rng_below(&s, p->size - off);
		p->key[k] = rng_next(&s);
	}
}

static void vplan_model(const struct vplan *p, uint8_t *buf)
{
	memset(buf, 0, p->size);
	for (int k = 0; k < p->nw; k++)
		gen_fill(p->key[k], p->off[k], buf + p->off[k], p->len[k]);
}

static void verify_bad(struct verify *v, uint32_t index, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

static void verify_bad(struct verify *v, uint32_t index, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (v->bad[index])
		return;
	v->bad[index] = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("chunk %u: %s", index, msg);
}

static void verify_failed(struct verify *v, uint32_t index, const char *what,
			  int status)
{
	if (v->failed++ < 10)
		log_error("%s of chunk %u failed: %s", what, index,
			  fffs_strerror(status));
}

static void verify_next(struct core *c, struct drv *d, struct vslot *s);
static void verify_write_done(struct core *c, struct stor_write *w);
static void verify_read_done(struct core *c, struct stor_read *r,
			     const uint8_t *data);

static void verify_write(struct core *c, struct drv *d, struct vslot *s)
{
	int k = s->step;
	int rc;

	gen_fill(s->plan.key[k], s->plan.off[k], s->buf, s->plan.len[k]);
	s->w = (struct stor_write){ .peer = d->peer,
				    .target = d->target,
				    .chunk = { d->a->inode, s->index },
				    .offset = s->plan.off[k],
				    .length = s->plan.len[k],
				    .chunk_size = VERIFY_CHUNK,
				    .data = s->buf,
				    .done = verify_write_done };
	rc = stor_write_start(&d->cl, &s->w);
	if (rc) {
		verify_failed(d->v, s->index, "write", rc);
		return drv_finish(d, 1);
	}
}

static void verify_write_done(struct core *c, struct stor_write *w)
{
	struct vslot *s = fffs_container_of(w, struct vslot, w);
	struct verify *v = s->d->v;
	uint32_t end = w->offset + w->length;

	if (w->status) {
		verify_failed(v, s->index, "write", w->status);
	} else {
		s->length = end > s->length ? end : s->length;
		if (w->chunk_length != s->length)
			verify_bad(v, s->index,
				   "write %d of [%u, +%u) left length %u, "
				   "not %u",
				   s->step, w->offset, w->length,
				   w->chunk_length, s->length);
	}
	if (++s->step < s->plan.nw && !s->d->finished)
		return verify_write(c, s->d, s);
	verify_next(c, s->d, s);
}

/* Split [0, size + slack) into ranges of 1 byte .. 1 MiB, and one range
 * wholly past the end (it must come back empty). */
static void verify_ranges(struct drv *d, struct vslot *s)
{
	uint64_t rs = mix64(d->a->seed ^ 0x5265616452616e67ull ^ s->index);
	uint32_t end = s->plan.size + (uint32_t)rng_below(&rs, 8192);
	uint32_t pos = 0;

	s->nreads = 0;
	while (pos < end) {
		uint32_t len = 1 + (uint32_t)rng_below(&rs, MIB);

		if (rng_below(&rs, 2))
			len = (len + RAND_BS - 1) & ~(RAND_BS - 1);
		if (len > end - pos || s->nreads == VERIFY_RANGES - 2)
			len = end - pos;
		s->reads[s->nreads].r.offset = pos;
		s->reads[s->nreads++].r.length = len;
		pos += len;
	}
	s->reads[s->nreads].r.offset = end + (uint32_t)rng_below(&rs, 4096);
	s->reads[s->nreads++].r.length = RAND_BS;
}

static void verify_read(struct core *c, struct drv *d, struct vslot *s)
{
	vplan_model(&s->plan, s->model);
	d->v->crcs[s->index] = crc32c(0, s->model, s->plan.size);
	verify_ranges(d, s);
	s->pending = s->nreads;
	for (uint32_t i = 0; i < s->nreads; i++) {
		struct stor_read *r = &s->reads[i].r;
		int rc;

		s->reads[i].s = s;
		r->peer = d->peer;
		r->target = d->target;
		r->chunk = (struct chunk_id){ d->a->inode, s->index };
		r->done = verify_read_done;
		rc = stor_read_start(&d->cl, r);
		if (rc) {
			verify_failed(d->v, s->index, "read", rc);
			return drv_finish(d, 1);
		}
	}
}

static void verify_read_done(struct core *c, struct stor_read *r,
			     const uint8_t *data)
{
	struct vslot *s = fffs_container_of(r, struct vread, r)->s;
	struct verify *v = s->d->v;
	uint32_t want;

	want = r->offset >= s->plan.size ? 0 : s->plan.size - r->offset;
	want = want < r->length ? want : r->length;
	if (r->status)
		verify_failed(v, s->index, "read", r->status);
	else if (r->out_length != want)
		verify_bad(v, s->index,
			   "read of [%u, +%u) returned %u bytes, "
			   "not %u",
			   r->offset, r->length, r->out_length, want);
	else if (memcmp(data, s->model + r->offset, want))
		verify_bad(v, s->index,
			   "read of [%u, +%u) returned other "
			   "bytes than were written",
			   r->offset, r->length);
	if (!r->status)
		v->bytes += r->out_length;
	if (--s->pending == 0)
		verify_next(c, s->d, s);
}

/* Start the slot on the next chunk of the phase. */
static void verify_take(struct core *c, struct drv *d, struct vslot *s)
{
	struct verify *v = d->v;

	s->index = (uint32_t)v->next++;
	vplan_make(d->a->seed, s->index, &s->plan);
	if (v->reading)
		return verify_read(c, d, s);
	s->step = 0;
	s->length = 0;
	verify_write(c, d, s);
}

static void verify_phase(struct core *c, struct drv *d, bool reading)
{
	struct verify *v = d->v;

	v->reading = reading;
	v->next = 0;
	v->busy = (unsigned)(v->n < v->nslots ? v->n : v->nslots);
	for (unsigned i = 0, n = v->busy; i < n && !d->finished; i++)
		verify_take(c, d, &v->slots[i]);
}

static void verify_end(struct drv *d)
{
	struct verify *v = d->v;
	uint64_t bad = v->extra_bad;

	for (uint64_t i = 0; i < v->n; i++)
		bad += v->bad[i] != 0;
	printf("verified %llu chunks, %llu bytes, %llu mismatches\n",
	       (unsigned long long)v->n, (unsigned long long)v->bytes,
	       (unsigned long long)bad);
	if (v->failed)
		printf("%llu requests failed\n", (unsigned long long)v->failed);
	fflush(stdout);
	drv_finish(d, bad || v->failed ? 1 : 0);
}

static void verify_last_done(struct core *c, struct stor_query_last *q)
{
	struct drv *d = fffs_container_of(q, struct verify, last)->d;
	struct verify *v = d->v;
	struct vplan p;

	vplan_make(d->a->seed, (uint32_t)(v->n - 1), &p);
	if (q->status) {
		verify_failed(v, (uint32_t)(v->n - 1), "last-chunk query",
			      q->status);
	} else if (q->index < v->n - 1 ||
		   (q->index == v->n - 1 && q->length != p.size)) {
		log_error("the last chunk of inode %llu is %u (%u bytes), "
			  "not %llu (%u bytes)",
			  (unsigned long long)d->a->inode, q->index, q->length,
			  (unsigned long long)(v->n - 1), p.size);
		v->extra_bad++;
	}
	verify_end(d);
}

static void verify_query_last(struct core *c, struct drv *d)
{
	struct stor_query_last *q = &d->v->last;
	int rc;

	*q = (struct stor_query_last){ .peer = d->peer,
				       .target = d->target,
				       .inode = d->a->inode,
				       .done = verify_last_done };
	rc = stor_query_last_start(&d->cl, q);
	if (rc) {
		verify_failed(d->v, 0, "last-chunk query", rc);
		verify_end(d);
	}
}

static void verify_dump_page(struct core *c, struct drv *d,
			     const struct chunk_id *start);

/* Check one dump entry of our inode against the plan and model CRC. */
static void verify_dump_ent(struct drv *d, const struct stor_dump_ent *e)
{
	struct verify *v = d->v;
	struct vplan p;

	if (e->chunk.index >= v->n)
		return; /* left by an earlier run with more chunks */
	v->dumped++;
	vplan_make(d->a->seed, e->chunk.index, &p);
	if (e->length != p.size || e->crc != v->crcs[e->chunk.index])
		verify_bad(v, e->chunk.index,
			   "dump lists %u bytes with crc %08x, not %u bytes "
			   "with crc %08x",
			   e->length, e->crc, p.size, v->crcs[e->chunk.index]);
}

static void verify_dump_done(struct core *c, struct stor_dump *dp)
{
	struct drv *d = fffs_container_of(dp, struct verify, dump)->d;
	struct verify *v = d->v;
	struct chunk_id next;
	bool ours = true;

	if (dp->status) {
		verify_failed(v, 0, "dump", dp->status);
		return verify_query_last(c, d);
	}
	for (uint32_t i = 0; i < dp->n && ours; i++) {
		ours = dp->ents[i].chunk.inode == d->a->inode;
		if (ours)
			verify_dump_ent(d, &dp->ents[i]);
	}
	if (ours && dp->more && dp->n &&
	    stor_dump_next(&dp->ents[dp->n - 1].chunk, &next))
		return verify_dump_page(c, d, &next);
	if (v->dumped != v->n) {
		log_error("the dump of target %llu lists %llu of the %llu "
			  "chunks",
			  (unsigned long long)d->target,
			  (unsigned long long)v->dumped,
			  (unsigned long long)v->n);
		v->extra_bad++;
	}
	verify_query_last(c, d);
}

static void verify_dump_page(struct core *c, struct drv *d,
			     const struct chunk_id *start)
{
	struct stor_dump *dp = &d->v->dump;
	int rc;

	*dp = (struct stor_dump){ .peer = d->peer,
				  .target = d->target,
				  .start = *start,
				  .done = verify_dump_done };
	rc = stor_dump_start(&d->cl, dp);
	if (rc) {
		verify_failed(d->v, 0, "dump", rc);
		verify_query_last(c, d);
	}
}

/* The slot's chunk is done: take the next, or end the phase when this
 * was the last busy slot. Written chunks are all read back only after
 * every write, so a write that lands in another chunk's block shows. */
static void verify_next(struct core *c, struct drv *d, struct vslot *s)
{
	struct verify *v = d->v;
	struct chunk_id first = { d->a->inode, 0 };

	if (!d->finished && !loop_stopping(c) && v->next < v->n)
		return verify_take(c, d, s);
	if (--v->busy || d->finished || loop_stopping(c))
		return;
	if (!v->reading)
		return verify_phase(c, d, true);
	verify_dump_page(c, d, &first);
}

static void verify_init(struct drv *d)
{
	struct verify *v = xcalloc(1, sizeof(*v));

	v->d = d;
	v->n = d->a->verify_n;
	v->nslots = (unsigned)d->a->depth;
	v->slots = xcalloc(v->nslots, sizeof(*v->slots));
	v->bad = xcalloc(v->n, 1);
	v->crcs = xcalloc(v->n, sizeof(*v->crcs));
	for (unsigned i = 0; i < v->nslots; i++) {
		v->slots[i].d = d;
		v->slots[i].buf = xmalloc(VERIFY_CHUNK);
		v->slots[i].model = xmalloc(VERIFY_CHUNK);
	}
	d->v = v;
}

static void verify_release(struct verify *v)
{
	for (unsigned i = 0; v && i < v->nslots; i++) {
		free(v->slots[i].buf);
		free(v->slots[i].model);
	}
	if (v) {
		free(v->slots);
		free(v->bad);
		free(v->crcs);
	}
	free(v);
}

/* ---- the journal of --storm and --check ---------------------------------- */

struct jline {
	uint32_t index, len;
	uint64_t seq, order;
	bool ack;
};

/* "issue INDEX SEQ LEN" or "ack INDEX SEQ LEN"; 0 or -EINVAL. */
static int jline_parse(const char *s, struct jline *j)
{
	unsigned long long v[3];
	char *end;

	j->ack = !strncmp(s, "ack ", 4);
	if (!j->ack && strncmp(s, "issue ", 6))
		return -EINVAL;
	s += j->ack ? 4 : 6;
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v[i] = strtoull(s, &end, 10);
		if (errno || (*end != ' ' && i < 2))
			return -EINVAL;
		s = end + (i < 2);
	}
	if ((*s && *s != '\n') || v[0] > UINT32_MAX || v[2] > STORM_CHUNK ||
	    v[2] == 0)
		return -EINVAL;
	j->index = (uint32_t)v[0];
	j->seq = v[1];
	j->len = (uint32_t)v[2];
	return 0;
}

/* Every well-formed line of the journal, in file order; a torn last
 * line (the writer was killed) is skipped. -errno if it cannot be read. */
static int journal_load(const char *path, struct jline **out, size_t *n,
			uint64_t *malformed)
{
	size_t cap = 0, lcap = 0;
	char *line = NULL;
	FILE *f = fopen(path, "re");

	*out = NULL;
	*n = 0;
	*malformed = 0;
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		struct jline j;

		if (jline_parse(line, &j)) {
			(*malformed)++;
			continue;
		}
		if (*n == cap)
			*out = xrealloc(*out, (cap = cap ? 2 * cap : 1024) *
						      sizeof(**out));
		j.order = *n;
		(*out)[(*n)++] = j;
	}
	free(line);
	fclose(f);
	return 0;
}

static uint64_t storm_key(uint32_t index, uint64_t seq)
{
	return mix64(mix64(0x53746f726d000000ull ^ index) ^ seq);
}

/* ---- storm: whole-chunk writes, journalled, until killed ----------------- */

struct sslot {
	struct drv *d;
	struct stor_write w;
	struct loop_timer retry;
	uint32_t index, len;
	uint64_t seq;
	uint8_t *buf;
	bool waiting; /* for its retry timer */
};

struct storm {
	struct drv *d;
	int fd;
	uint8_t *busy; /* per index: a write is in flight */
	uint64_t next_seq, acked, failures, unacked;
	struct sslot *slots;
	unsigned nslots, inflight;
	bool ending;
	struct loop_timer end_timer;
};

static int journal_put(struct drv *d, const char *what, const struct sslot *s)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %u %llu %u\n", what, s->index,
			 (unsigned long long)s->seq, s->len);

	if (write(d->s->fd, line, (size_t)n) == n)
		return 0;
	log_error("cannot write to journal '%s': %s", d->a->journal,
		  strerror(errno));
	return -EIO;
}

static void storm_maybe_end(struct drv *d)
{
	if (d->s->ending && d->s->inflight == 0)
		drv_finish(d, 0);
}

/* A write that will not be retried: it may or may not have landed. */
static void storm_give_up(struct drv *d, struct sslot *s)
{
	d->s->inflight--;
	d->s->unacked++;
	d->s->busy[s->index] = 0;
	storm_maybe_end(d);
}

static void storm_write_done(struct core *c, struct stor_write *w);

static void storm_fire(struct core *c, struct drv *d, struct sslot *s)
{
	struct storm *st = d->s;
	int rc;

	do
		s->index = (uint32_t)rng_below(&d->rng, d->a->chunks);
	while (st->busy[s->index]);
	st->busy[s->index] = 1;
	s->seq = st->next_seq++;
	s->len = STORM_MIN +
		 (uint32_t)rng_below(&d->rng, STORM_CHUNK - STORM_MIN + 1);
	gen_fill(storm_key(s->index, s->seq), 0, s->buf, s->len);
	st->inflight++;
	if (journal_put(d, "issue", s)) {
		storm_give_up(d, s);
		return drv_finish(d, 1);
	}
	s->w = (struct stor_write){ .peer = d->peer,
				    .target = d->target,
				    .chunk = { d->a->inode, s->index },
				    .length = s->len,
				    .chunk_size = STORM_CHUNK,
				    .data = s->buf,
				    .done = storm_write_done };
	rc = stor_write_start(&d->cl, &s->w);
	if (rc)
		storm_give_up(d, s);
}

static bool storm_over(struct core *c, struct drv *d)
{
	return d->s->ending || d->finished || loop_stopping(c);
}

/* Errors of the way to the server, not of the write: worth a retry (the
 * server was killed, is restarting, or shutting down). */
static bool storm_transient(int err)
{
	static const int retry[] = { ETIMEDOUT,	    ECONNRESET,	 ECONNREFUSED,
				     ECONNABORTED,  EPIPE,	 ENOTCONN,
				     EHOSTUNREACH,  ENETUNREACH, EMFILE,
				     FFFS_ESHUTDOWN };

	for (size_t i = 0; i < FFFS_ARRAY_LEN(retry); i++)
		if (err == -retry[i])
			return true;
	return false;
}

static void storm_write_done(struct core *c, struct stor_write *w)
{
	struct sslot *s = fffs_container_of(w, struct sslot, w);
	struct drv *d = s->d;
	struct storm *st = d->s;

	if (!w->status) {
		st->acked++;
		st->inflight--;
		st->busy[s->index] = 0;
		if (journal_put(d, "ack", s))
			return drv_finish(d, 1);
		if (!storm_over(c, d))
			return storm_fire(c, d, s);
		return storm_maybe_end(d);
	}
	if (!storm_transient(w->status)) {
		log_error("write of chunk %u (seq %llu) failed: %s; stopping",
			  s->index, (unsigned long long)s->seq,
			  fffs_strerror(w->status));
		storm_give_up(d, s);
		return drv_finish(d, 1);
	}
	if (st->failures++ % 1000 == 0)
		log_warn("write of chunk %u (seq %llu) failed: %s; retrying "
			 "(%llu failures so far)",
			 s->index, (unsigned long long)s->seq,
			 fffs_strerror(w->status),
			 (unsigned long long)st->failures);
	if (storm_over(c, d))
		return storm_give_up(d, s);
	s->waiting = true;
	core_timer_add(c, &s->retry, STORM_RETRY);
}

static void storm_retry(struct core *c, struct loop_timer *t)
{
	struct sslot *s = fffs_container_of(t, struct sslot, retry);

	s->waiting = false;
	if (storm_over(c, s->d) || stor_write_retry(&s->d->cl, &s->w))
		storm_give_up(s->d, s);
}

static void storm_end(struct core *c, struct loop_timer *t)
{
	struct storm *st = fffs_container_of(t, struct storm, end_timer);

	st->ending = true;
	for (unsigned i = 0; i < st->nslots; i++) {
		struct sslot *s = &st->slots[i];

		if (!s->waiting)
			continue;
		core_timer_del(c, &s->retry);
		s->waiting = false;
		storm_give_up(st->d, s);
	}
	storm_maybe_end(st->d);
}

static void storm_start(struct core *c, struct drv *d)
{
	struct storm *st = d->s;

	core_timer_init(&st->end_timer, storm_end);
	if (d->a->duration_s)
		core_timer_add(c, &st->end_timer,
			       d->a->duration_s * 1000000000ull);
	for (unsigned i = 0; i < st->nslots && !d->finished; i++)
		storm_fire(c, d, &st->slots[i]);
}

/* Open the journal for appending; sequence numbers go on from the
 * highest one it holds, so (index, seq) names one write forever. */
static int storm_init(struct drv *d)
{
	struct storm *st = xcalloc(1, sizeof(*st));
	struct jline *j;
	uint64_t bad;
	size_t n;
	int rc = journal_load(d->a->journal, &j, &n, &bad);

	d->s = st;
	st->d = d;
	st->next_seq = 1;
	for (size_t i = 0; i < n; i++)
		if (j[i].seq >= st->next_seq)
			st->next_seq = j[i].seq + 1;
	free(j);
	st->fd = open(d->a->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		      0644);
	if (st->fd < 0 || (rc && rc != -ENOENT)) {
		fprintf(stderr, "fffs bench: cannot open journal '%s': %s\n",
			d->a->journal, strerror(st->fd < 0 ? errno : -rc));
		return -1;
	}
	st->busy = xcalloc(d->a->chunks, 1);
	st->nslots = (unsigned)d->a->depth;
	st->slots = xcalloc(st->nslots, sizeof(*st->slots));
	for (unsigned i = 0; i < st->nslots; i++) {
		st->slots[i].d = d;
		st->slots[i].buf = xmalloc(STORM_CHUNK);
		core_timer_init(&st->slots[i].retry, storm_retry);
	}
	return 0;
}

static void storm_release(struct storm *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	for (unsigned i = 0; i < st->nslots; i++)
		free(st->slots[i].buf);
	free(st->slots);
	free(st->busy);
	free(st);
}

/* ---- check: what a storm left -------------------------------------------- */

/* One write of the journal to a chunk: issued, and maybe acknowledged. */
struct jent {
	uint64_t seq;
	uint32_t len;
	bool acked;
};

struct jchunk {
	uint32_t index, n;
	struct jent *e; /* in the order they were issued */
};

struct cslot {
	struct drv *d;
	struct stor_read r;
	struct jchunk *jc;
};

struct check {
	struct drv *d;
	struct jchunk *chunks;
	uint64_t n, next, checked, mismatches, crc_errors;
	struct cslot *slots;
	unsigned nslots, busy;
};

/* The chunk's content x[0, n) from position p on, as left by writes
 * among e[0, k): the layer at p is the last applied write longer than p,
 * which is the last acknowledged one or an unacknowledged one after it;
 * below that layer the same question repeats for the writes before it. */
struct explain {
	const uint8_t *x;
	uint32_t n, index;
	const struct jchunk *jc;
	long budget;
};

static bool explain(struct explain *ex, uint32_t p, uint32_t k)
{
	const struct jent *e = ex->jc->e;
	uint32_t a = k;

	for (uint32_t j = k; j-- > 0;)
		if (e[j].acked && e[j].len > p) {
			a = j;
			break;
		}
	if (a == k && p == ex->n)
		return true; /* nothing applied is longer: the chunk ends */
	for (uint32_t j = a == k ? 0 : a; j < k; j++) {
		if (e[j].len <= p || (j != a && e[j].acked))
			continue;
		if (--ex->budget < 0)
			return false;
		if (e[j].len > ex->n ||
		    !gen_equal(storm_key(ex->index, e[j].seq), p, ex->x + p,
			       e[j].len - p))
			continue;
		if (explain(ex, e[j].len, j))
			return true;
	}
	return false;
}

static bool jchunk_acked(const struct jchunk *jc)
{
	for (uint32_t i = 0; i < jc->n; i++)
		if (jc->e[i].acked)
			return true;
	return false;
}

static void check_next(struct core *c, struct drv *d, struct cslot *s);

static void check_mismatch(struct check *k, uint32_t index, const char *why)
{
	if (k->mismatches++ < 10)
		log_error("chunk %u: %s", index, why);
}

static void check_read_done(struct core *c, struct stor_read *r,
			    const uint8_t *data)
{
	struct cslot *s = fffs_container_of(r, struct cslot, r);
	struct check *k = s->d->k;
	struct explain ex = { data, r->out_length, r->chunk.index, s->jc,
			      CHECK_BUDGET };
	char why[128];

	k->checked++;
	if (r->status == -FFFS_ECRC) {
		k->crc_errors++;
	} else if (r->status == -ENOENT) {
		if (jchunk_acked(s->jc))
			check_mismatch(k, r->chunk.index,
				       "missing, but a write to it was "
				       "acknowledged");
	} else if (r->status) {
		snprintf(why, sizeof(why), "read failed: %s",
			 fffs_strerror(r->status));
		check_mismatch(k, r->chunk.index, why);
	} else if (!explain(&ex, 0, s->jc->n)) {
		snprintf(why, sizeof(why),
			 "its %u bytes are not what the journal's writes "
			 "left%s",
			 r->out_length, ex.budget < 0 ? " (gave up)" : "");
		check_mismatch(k, r->chunk.index, why);
	}
	check_next(c, s->d, s);
}

static void check_take(struct core *c, struct drv *d, struct cslot *s)
{
	struct check *k = d->k;
	int rc;

	s->jc = &k->chunks[k->next++];
	s->r = (struct stor_read){ .peer = d->peer,
				   .target = d->target,
				   .chunk = { d->a->inode, s->jc->index },
				   .length = 2 * STORM_CHUNK,
				   .done = check_read_done };
	rc = stor_read_start(&d->cl, &s->r);
	if (rc) {
		log_error("cannot start a read: %s", fffs_strerror(rc));
		drv_finish(d, 1);
	}
}

static void check_next(struct core *c, struct drv *d, struct cslot *s)
{
	struct check *k = d->k;

	if (!d->finished && !loop_stopping(c) && k->next < k->n)
		return check_take(c, d, s);
	if (--k->busy || d->finished)
		return;
	printf("checked %llu chunks, %llu mismatches, %llu checksum errors\n",
	       (unsigned long long)k->checked,
	       (unsigned long long)k->mismatches,
	       (unsigned long long)k->crc_errors);
	fflush(stdout);
	drv_finish(d, k->mismatches || k->crc_errors ? 1 : 0);
}

static void check_start(struct core *c, struct drv *d)
{
	struct check *k = d->k;

	k->busy = (unsigned)(k->n < k->nslots ? k->n : k->nslots);
	if (!k->busy) {
		printf("checked 0 chunks, 0 mismatches, 0 checksum errors\n");
		return drv_finish(d, 0);
	}
	for (unsigned i = 0, n = k->busy; i < n && !d->finished; i++)
		check_take(c, d, &k->slots[i]);
}

static int jline_cmp(const void *x, const void *y)
{
	const struct jline *a = x, *b = y;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Add a journal line to its chunk: an issue appends a write, an ack
 * marks the latest write with that seq. */
static void jchunk_add(struct jchunk *jc, const struct jline *l)
{
	for (uint32_t i = jc->n; l->ack && i-- > 0;)
		if (jc->e[i].seq == l->seq) {
			jc->e[i].acked = true;
			return;
		}
	jc->e = xrealloc(jc->e, (jc->n + 1) * sizeof(*jc->e));
	jc->e[jc->n++] = (struct jent){ l->seq, l->len, l->ack };
}

static int check_init(struct drv *d)
{
	struct check *k = xcalloc(1, sizeof(*k));
	uint64_t bad;
	struct jline *j;
	size_t n;
	int rc = journal_load(d->a->check, &j, &n, &bad);

	d->k = k;
	k->d = d;
	if (rc) {
		fprintf(stderr, "fffs bench: cannot read journal '%s': %s\n",
			d->a->check, fffs_strerror(rc));
		return -1;
	}
	if (bad)
		log_warn("journal '%s': %llu malformed lines skipped",
			 d->a->check, (unsigned long long)bad);
	qsort(j, n, sizeof(*j), jline_cmp);
	k->chunks = xcalloc(n ? n : 1, sizeof(*k->chunks));
	for (size_t i = 0; i < n; i++) {
		if (!k->n || k->chunks[k->n - 1].index != j[i].index)
			k->chunks[k->n++].index = j[i].index;
		jchunk_add(&k->chunks[k->n - 1], &j[i]);
	}
	free(j);
	k->nslots = (unsigned)d->a->depth;
	k->slots = xcalloc(k->nslots, sizeof(*k->slots));
	for (unsigned i = 0; i < k->nslots; i++)
		k->slots[i].d = d;
	return 0;
}

static void check_release(struct check *k)
{
	for (uint64_t i = 0; k && i < k->n; i++)
		free(k->chunks[i].e);
	if (k) {
		free(k->chunks);
		free(k->slots);
	}
	free(k);
}

/* ---- space and read-chunk ------------------------------------------------ */

static void space_print(struct drv *d, const struct stor_space *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct stor_space_ent *e = &s->ents[i];

		printf("target %llu state %s capacity %llu used %llu free %llu "
		       "chunks %llu\n",
		       (unsigned long long)e->target, stor_state_name(e->state),
		       (unsigned long long)e->capacity,
		       (unsigned long long)e->used, (unsigned long long)e->free,
		       (unsigned long long)e->chunks);
	}
	fflush(stdout);
	drv_finish(d, 0);
}

static void one_done(struct core *c, struct stor_read *r, const uint8_t *data)
{
	struct drv *d = fffs_container_of(r, struct drv, one);

	if (r->status)
		printf("error: %s\n", fffs_strerror(r->status));
	else
		printf("ok %u %08x\n", r->out_length, r->crc);
	fflush(stdout);
	drv_finish(d, r->status ? 1 : 0);
}

static void one_start(struct core *c, struct drv *d)
{
	int rc;

	d->one = (struct stor_read){ .peer = d->peer,
				     .target = d->target,
				     .chunk = { d->a->inode,
						(uint32_t)d->a->read_chunk },
				     .length = CHUNK_MAX_LEN,
				     .done = one_done };
	rc = stor_read_start(&d->cl, &d->one);
	if (rc) {
		printf("error: %s\n", fffs_strerror(rc));
		drv_finish(d, 1);
	}
}

/* ---- the driver: connect, find the target, run the mode ------------------ */

static void mode_start(struct core *c, struct drv *d)
{
	switch (d->mode) {
	case M_BENCH:
		d->phase = PH_WRITE;
		return bench_phase_start(c, d);
	case M_VERIFY:
		return verify_phase(c, d, false);
	case M_STORM:
		return storm_start(c, d);
	case M_CHECK:
		return check_start(c, d);
	case M_READ_CHUNK:
		return one_start(c, d);
	case M_SPACE:
		break;
	}
}

/* The first request of every mode: is the server there, and the target
 * on it? */
static void drv_space_done(struct core *c, struct stor_space *s)
{
	struct drv *d = fffs_container_of(s, struct drv, space);
	const struct stor_space_ent *t = NULL;

	if (s->status) {
		fprintf(stderr, "fffs bench: cannot reach %s: %s\n", d->uri,
			fffs_strerror(s->status));
		return drv_finish(d, 1);
	}
	if (d->mode == M_SPACE)
		return space_print(d, s);
	for (uint32_t i = 0; i < s->n; i++)
		if (s->ents[i].target == d->target)
			t = &s->ents[i];
	if (!t) {
		fprintf(stderr, "fffs bench: %s has no target %llu\n", d->uri,
			(unsigned long long)d->target);
		return drv_finish(d, 1);
	}
	if (t->state != STOR_STATE_SERVING)
		log_warn("target %llu on %s is %s",
			 (unsigned long long)d->target, d->uri,
			 stor_state_name(t->state));
	mode_start(c, d);
}

static void drv_start(struct core *c, struct loop_msg *m)
{
	struct drv *d = fffs_container_of(m, struct drv, start_msg);
	char err[512];
	int rc;

	d->peer = rpc_peer_get(c, d->uri, err, sizeof(err));
	if (!d->peer) {
		fprintf(stderr, "fffs bench: %s\n", err);
		return drv_finish(d, 2);
	}
	stor_client_init(&d->cl, c, 0);
	d->cl.timeout_ms = (uint32_t)d->a->timeout_ms;
	d->space =
		(struct stor_space){ .peer = d->peer, .done = drv_space_done };
	rc = stor_space_start(&d->cl, &d->space);
	if (rc)
		drv_finish(d, 1);
}

static enum mode mode_of(const struct bench_args *a)
{
	if (a->verify_n)
		return M_VERIFY;
	if (a->storm)
		return M_STORM;
	if (a->check)
		return M_CHECK;
	if (a->space)
		return M_SPACE;
	if (a->read_chunk_set)
		return M_READ_CHUNK;
	return M_BENCH;
}

static int drv_init(struct drv *d, const struct bench_args *a)
{
	d->a = a;
	d->mode = mode_of(a);
	d->target = a->target ? a->target : 1;
	d->rng = mix64(a->seed);
	d->start_msg.cb = drv_start;
	if (d->mode == M_BENCH)
		bench_init(d);
	else if (d->mode == M_VERIFY)
		verify_init(d);
	else if (d->mode == M_STORM)
		return storm_init(d);
	else if (d->mode == M_CHECK)
		return check_init(d);
	return 0;
}

static void drv_release(struct drv *d)
{
	for (unsigned i = 0; i < d->nslots; i++)
		free(d->slots[i].buf);
	free(d->slots);
	if (d->removes)
		free(fffs_container_of(d->removes, struct bremove, x));
	free(d->lat.ns);
	verify_release(d->v);
	storm_release(d->s);
	check_release(d->k);
	if (d->cl.c && !stor_client_inflight(&d->cl) && !d->cl.flush_posted)
		stor_client_release(&d->cl);
}

/* ---- reports ------------------------------------------------------------- */

static double rate(const struct bench_result *r, bool bytes)
{
	double v = bytes ? (double)r->bytes : (double)r->ops;

	return r->secs > 0 ? v / r->secs : 0;
}

static void report_text(const struct bench_args *a, const struct drv *d,
			const struct bench_result *base)
{
	printf("fffs bench chunk: %llu chunks of 1 MiB at depth %llu, 4 KiB "
	       "random reads at depth %llu for %llu s; %s server %s, target "
	       "%llu; fio on %s\n",
	       (unsigned long long)d->nchunks, (unsigned long long)a->depth,
	       (unsigned long long)a->rand_depth,
	       (unsigned long long)a->duration_s, a->connect ? "the" : "own",
	       d->uri, (unsigned long long)d->target, a->dir);
	printf("%-12s %-40s %-40s %s\n", "phase", "fffs", "fio", "ratio");
	for (int i = 0; i < PH__COUNT; i++) {
		const struct bench_result *f = &d->res[i], *t = &base[i];
		bool bytes = i != PH_RAND;
		char fs[64], ts[64];

		snprintf(fs, sizeof(fs), bytes ? "%.0f MB/s" : "%.0f IOPS",
			 rate(f, bytes) / (bytes ? 1e6 : 1));
		snprintf(ts, sizeof(ts), bytes ? "%.0f MB/s" : "%.0f IOPS",
			 rate(t, bytes) / (bytes ? 1e6 : 1));
		printf("%-12s %-14s p50 %7.1fus p99 %7.1fus %-14s p50 "
		       "%7.1fus p99 %7.1fus %.2f\n",
		       phase_names[i], fs, f->p50_us, f->p99_us, ts, t->p50_us,
		       t->p99_us,
		       rate(t, bytes) > 0 ? rate(f, bytes) / rate(t, bytes)
					  : 0);
		if (f->errors)
			printf("%-12s %llu requests failed\n", "",
			       (unsigned long long)f->errors);
	}
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

static void report_json(const struct bench_args *a, const struct drv *d,
			const struct bench_result *base)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *s;

	cJSON_AddStringToObject(root, "benchmark", "chunk");
	cJSON_AddStringToObject(root, "server", d->uri);
	cJSON_AddBoolToObject(root, "own_server", !a->connect);
	cJSON_AddNumberToObject(root, "target", (double)d->target);
	cJSON_AddNumberToObject(root, "size", (double)a->size);
	cJSON_AddNumberToObject(root, "depth", (double)a->depth);
	cJSON_AddNumberToObject(root, "rand_depth", (double)a->rand_depth);
	cJSON_AddNumberToObject(root, "duration", (double)a->duration_s);
	for (int i = 0; i < PH__COUNT; i++) {
		cJSON *o = cJSON_CreateObject();
		bool bytes = i != PH_RAND;
		double t = rate(&base[i], bytes);

		cJSON_AddStringToObject(o, "phase", phase_names[i]);
		cJSON_AddItemToObject(o, "fffs",
				      result_json(&d->res[i], bytes));
		cJSON_AddItemToObject(o, "fio", result_json(&base[i], bytes));
		cJSON_AddNumberToObject(
			o, "ratio", t > 0 ? rate(&d->res[i], bytes) / t : 0);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(root, "phases", arr);
	s = cJSON_Print(root);
	printf("%s\n", s);
	free(s);
	cJSON_Delete(root);
}

/* After the fffs phases: fio, then the report. */
static int bench_finish(const struct bench_args *a, const struct drv *d)
{
	struct bench_result base[PH__COUNT] = { { 0 } };
	int rc = 0;

	if (fio_all(a, base))
		return 1;
	if (a->json)
		report_json(a, d, base);
	else
		report_text(a, d, base);
	for (int i = 0; i < PH__COUNT; i++)
		if (d->res[i].errors)
			rc = 1;
	return rc;
}

static void storm_summary(const struct storm *st)
{
	printf("storm: %llu writes acknowledged, %llu failed attempts, %llu "
	       "not acknowledged\n",
	       (unsigned long long)st->acked, (unsigned long long)st->failures,
	       (unsigned long long)(st->unacked + st->inflight));
	fflush(stdout);
}

const char *bench_chunk_check_args(const struct bench_args *a)
{
	int modes = (a->verify_n != 0) + a->storm + (a->check != NULL) +
		    a->space + a->read_chunk_set;

	if (a->verify && !a->verify_n)
		return "--verify needs a number of chunks (--verify N)";
	if (a->server || a->probe)
		return "--server and --probe are for rpc";
	if (modes > 1)
		return "--verify, --storm, --check, --space and --read-chunk "
		       "exclude each other";
	if (modes && !a->connect)
		return "--verify, --storm, --check, --space and --read-chunk "
		       "need --connect";
	if (modes && !a->space && !a->target)
		return "--verify, --storm, --check and --read-chunk need "
		       "--target";
	if (a->storm && !a->journal)
		return "--storm needs --journal FILE";
	if (a->journal && !a->storm)
		return "--journal goes with --storm";
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
static int drv_run(struct drv *d, int *sig)
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
	struct server_child sc = { .fd = -1 };
	struct drv d = { 0 };
	char uri[64];
	int rc = 1, sig = 0;

	if (!a->verify_n && !a->storm && !a->check && !a->space &&
	    !a->read_chunk_set && !fio_present()) {
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
	server_stop(&sc);
	rc = d.exit_code;
	if (d.mode == M_STORM)
		storm_summary(d.s);
	else if (sig && !d.finished)
		rc = 1;
	if (d.mode == M_BENCH && !rc)
		rc = bench_finish(a, &d);
out:
	server_stop(&sc);
	drv_release(&d);
	return rc;
}
