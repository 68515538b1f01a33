/* roles/bench_proc.c - the child processes of the benchmarks: fffs
 * servers they start and stop, fio, and commands whose output they read. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "roles/bench_proc.h"

#define SPAWN_WAIT_MS 60000
#define STOP_WAIT_MS  15000

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

int child_wait_port(struct bench_child *sc)
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

void child_common_args(struct args *g)
{
	args_addf(g, "--secret-file=%s", config_str(CFG_secret_file));
	args_addf(g, "--cluster-id=%s", config_str(CFG_cluster_id));
	args_addf(g, "--log-level=%s",
		  log_level_cur > LOGL_INFO ? config_str(CFG_log_level)
					    : "warn");
}

int child_spawn(struct bench_child *ch, struct args *g)
{
	int rc = child_fork(ch, g->v);

	if (!rc)
		rc = child_wait_port(ch);
	args_free(g);
	return rc;
}

void child_stop(struct bench_child *sc)
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
			log_warn("child process %d ignored SIGTERM for %d "
				 "s; killing it",
				 (int)sc->pid, STOP_WAIT_MS / 1000);
			kill(sc->pid, SIGKILL);
			waitpid(sc->pid, &st, 0);
		} else if (r > 0 && !(WIFEXITED(st) && !WEXITSTATUS(st))) {
			log_warn("child process %d exited with status %d",
				 (int)sc->pid,
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

void args_add(struct args *g, const char *s)
{
	FFFS_ASSERT(g->n + 1 < (int)FFFS_ARRAY_LEN(g->v));
	g->v[g->n++] = (char *)s;
	g->v[g->n] = NULL;
}

void args_addf(struct args *g, const char *fmt, ...)
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

void args_free(struct args *g)
{
	for (int i = 0; i < g->nown; i++)
		free(g->own[i]);
}

int child_fork(struct bench_child *sc, char *const argv[])
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

/* Run argv with its stdout captured into *out (NUL-terminated; free it).
 * Returns the exit status, 127 when it could not be run, -1 on error. */
int run_capture(char *const argv[], char **out, _Atomic pid_t *pidp)
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
	if (pidp)
		atomic_store(pidp, pid);
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
	if (pidp)
		atomic_store(pidp, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool fio_present(void)
{
	char *const argv[] = { "fio", "--version", NULL };
	char *out;
	int rc = run_capture(argv, &out, NULL);

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

/* One fio run of a phase's pattern on file; FIO_DSYNC: each write
 * completes only once it is durable (as an acknowledged fffs write is);
 * FIO_END: the whole file is made durable once, at the end, the least a
 * durable sequential write can cost. *pid is fio's while it runs. */
int fio_run(const struct bench_args *a, const char *file, int phase,
	    enum fio_sync sync, struct bench_result *r, _Atomic pid_t *pid)
{
	static const char *const with[] = { "", " with O_DSYNC",
					    " with an fdatasync at the end" };
	bool rnd = phase == PH_RAND;
	struct args g = { .n = 0 };
	char *out;
	int rc;

	args_add(&g, "fio");
	args_add(&g, "--name=fffs-bench-chunk");
	args_add(&g, "--ioengine=io_uring");
	args_add(&g, "--direct=1");
	if (sync == FIO_DSYNC)
		args_add(&g, "--sync=dsync");
	else if (sync == FIO_END)
		args_add(&g, "--end_fsync=1");
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
	rc = run_capture(g.v, &out, pid);
	args_free(&g);
	if (rc == 0)
		rc = fio_parse(out, phase == PH_WRITE, r);
	if (rc)
		fprintf(stderr, "fffs bench: fio %s%s failed (status %d)%s%s\n",
			bench_phase_names[phase], with[sync], rc,
			out ? ": " : "", out ? out : "");
	free(out);
	return rc;
}

char *fio_file(const struct bench_args *a)
{
	return xasprintf("%s/fio.dat", a->dir);
}

void fio_file_remove(const struct bench_args *a)
{
	char *file = fio_file(a);

	if (unlink(file) && errno != ENOENT)
		log_warn("cannot remove '%s': %s", file, strerror(errno));
	free(file);
}
