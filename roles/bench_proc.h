/* roles/bench_proc.h - what the benchmarks run beside themselves: fffs
 * servers (started, waited for, stopped), fio, and commands whose output
 * they read.
 *
 *	struct args g = { .n = 0 };
 *	args_add(&g, "fffs"); args_add(&g, "storage"); args_addf(&g, ...);
 *	struct bench_child ch = { .fd = -1 };
 *	child_fork(&ch, g.v);         // /proc/self/exe, stdout to a pipe
 *	child_wait_port(&ch);         // its "... on port N" line
 *	args_free(&g);
 *	...
 *	child_stop(&ch);              // SIGTERM, then SIGKILL after 15 s
 *
 * A child started with child_fork() dies with the benchmark (SIGKILL on
 * the parent's death), whatever killed the benchmark. run_capture() runs a
 * command (searched in PATH) to its end and returns its stdout.
 */
#ifndef ROLES_BENCH_PROC_H
#define ROLES_BENCH_PROC_H

#include <stdatomic.h>
#include <sys/types.h>

#include "roles/bench_chunk.h"

struct bench_child {
	pid_t pid;
	int fd;	   /* its stdout, -1 when none */
	char *tmp; /* a directory removed (with its contents) at the stop */
	int port;
};

/* An argument vector being built; strings made by args_addf are owned. */
struct args {
	char *v[32];
	int n;
	char *own[24];
	int nown;
};

void args_add(struct args *g, const char *s);
void args_addf(struct args *g, const char *fmt, ...) FFFS_PRINTF(2, 3);
void args_free(struct args *g);

/* Fork and exec this binary with argv; 0 or -1 (said why on stderr). */
int child_fork(struct bench_child *ch, char *const argv[]);
/* Wait for the child's "... on port N" line: 0 and ch->port, or -1. */
int child_wait_port(struct bench_child *ch);
void child_stop(struct bench_child *ch);
/* The arguments every fffs server of a benchmark's own cluster gets: our
 * secret file, cluster id and log level (warn unless ours is finer). */
void child_common_args(struct args *g);
/* child_fork() and child_wait_port() of g, which is freed; 0 or -1. */
int child_spawn(struct bench_child *ch, struct args *g);

/* Run argv (PATH searched) with its stdout into *out (NUL-terminated;
 * free it); *pidp (optional) is its pid while it runs. The exit status,
 * 127 when it could not be run, -1 on error. */
int run_capture(char *const argv[], char **out, _Atomic pid_t *pidp);

bool fio_present(void);
/* How fio's writes become durable. */
enum fio_sync {
	FIO_PLAIN, /* not at all: O_DIRECT, done when the device has them */
	FIO_DSYNC, /* each write, before it completes (O_DSYNC) */
	FIO_END,   /* once, with an fdatasync at the end, which is timed */
};

/* fio with phase's pattern on file, its writes made durable as sync says,
 * into r. */
int fio_run(const struct bench_args *a, const char *file, int phase,
	    enum fio_sync sync, struct bench_result *r, _Atomic pid_t *pid);
char *fio_file(const struct bench_args *a);
void fio_file_remove(const struct bench_args *a);

#endif /* ROLES_BENCH_PROC_H */
