/* roles/lab.c - `fffs lab up|status|down`: a whole cluster on this host,
 * on 127.0.0.1, under one directory.
 *
 * DIR (default /tmp/fffs-lab) holds: secret, mgmtd.uri, log/NAME.log,
 * run/NAME.pid, and the state of every process (mgmtd/, meta-N/, storage-N/
 * with its file targets). Processes are mgmtd, meta-101.., storage-1..,
 * and mount; each runs in its own session (it outlives `lab up`) with its
 * output in its log. `lab up` on a directory that holds a cluster starts
 * the same cluster again (tables and layout are made only once). `lab
 * down` unmounts, sends SIGTERM to every process (SIGKILL after 20 s) and
 * keeps the data; `lab down --purge` also removes DIR. */
#define LOG_SUBSYS "lab"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "roles/roles.h"

const struct cli_opt lab_opts[] = {
	{ "dir", "DIR", "Where the cluster lives (default /tmp/fffs-lab)." },
	{ "storage", "N", "up: storage servers (default 3)." },
	{ "targets", "M", "up: file targets per storage server (default 2)." },
	{ "target-size", "BYTES", "up: size of each target (default 1G)." },
	{ "replicas", "R", "up: targets per data chain (default 3)." },
	{ "meta", "R",
	  "up: meta servers, the meta chain's length (default 3)." },
	{ "mount", "DIR", "up: mount point (default DIR/mnt)." },
	{ "chunk-size", "BYTES", "up: chunk size of new files (default 1M)." },
	{ "json", NULL, "status: print JSON." },
	{ "purge", NULL, "down: also remove DIR." },
	{ NULL, NULL, NULL },
};

struct lab {
	const char *verb;
	char dir[416], mnt[512], exe[512], uri[128];
	uint64_t storage, targets, target_size, replicas, meta, chunk_size;
	bool json, purge;
};

#define MGMTD_WAIT_S 15

/* ---- small helpers ------------------------------------------------------- */

/* DIR/pre name post into out. */
static int lab_path(const struct lab *l, char *out, size_t cap, const char *pre,
		    const char *name, const char *post)
{
	int n = snprintf(out, cap, "%s/%s%s%s", l->dir, pre, name, post);

	return n >= 0 && (size_t)n < cap ? 0 : -1;
}

static int mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

static pid_t pid_of(const struct lab *l, const char *name)
{
	char p[600];
	FILE *f;
	long pid = 0;

	lab_path(l, p, sizeof(p), "run/", name, ".pid");
	f = fopen(p, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 && !kill((pid_t)pid, 0) ? (pid_t)pid : 0;
}

/* Start this binary with argv[1..] as NAME, detached, logging to
 * log/NAME.log; its pid goes to run/NAME.pid. */
static int spawn(const struct lab *l, const char *name, char **argv)
{
	char logp[600], pidp[600];
	pid_t pid;
	FILE *f;
	int fd;

	if (pid_of(l, name)) {
		printf("  %-12s already running (pid %d)\n", name,
		       pid_of(l, name));
		return 0;
	}
	lab_path(l, logp, sizeof(logp), "log/", name, ".log");
	lab_path(l, pidp, sizeof(pidp), "run/", name, ".pid");
	fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "fffs lab: cannot open %s: %s\n", logp,
			strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fffs lab: fork: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	if (!pid) {
		int nul = open("/dev/null", O_RDONLY);

		setsid();
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		argv[0] = "fffs";
		execv(l->exe, argv);
		fprintf(stderr, "fffs lab: cannot run %s: %s\n", l->exe,
			strerror(errno));
		_exit(127);
	}
	close(fd);
	f = fopen(pidp, "w");
	if (f) {
		fprintf(f, "%d\n", pid);
		fclose(f);
	}
	return 0;
}

/* Run this binary with argv[1..] to its end, stdout into out (cap bytes,
 * NUL-terminated); its exit status, -1 on error. */
static int run(const struct lab *l, char **argv, char *out, size_t cap,
	       bool quiet)
{
	int p[2], st = 0;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(p[1], 1);
		if (quiet) {
			int nul = open("/dev/null", O_WRONLY);

			dup2(nul, 2);
		}
		argv[0] = "fffs";
		execv(l->exe, argv);
		_exit(127);
	}
	close(p[1]);
	while (cap && (k = read(p[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	if (cap)
		out[n] = 0;
	close(p[0]);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The common options of every process of the lab. */
#define COMMON(l, sec)                                          \
	"--cluster-id", "lab", "--secret-file", (sec), "--set", \
		"heartbeat_timeout_ms=5000", "--set",           \
		"heartbeat_interval_ms=500", "--log-level", "info"

/* fffs admin with the words of extra (NULL-terminated, at most 12). */
static int admin_v(const struct lab *l, char *out, size_t cap, bool quiet,
		   const char *const *extra)
{
	char sec[600];
	char *argv[32] = { "fffs", "admin", "--mgmtd", (char *)l->uri };
	int n = 4;
	const char *com[] = { COMMON(l, sec) };

	lab_path(l, sec, sizeof(sec), "", "secret", "");
	for (size_t i = 0; i < FFFS_ARRAY_LEN(com); i++)
		argv[n++] = (char *)com[i];
	for (size_t i = 0; i < 12 && extra[i]; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	return run(l, argv, out, cap, quiet);
}

#define admin(l, out, cap, quiet, ...) \
	admin_v(l, out, cap, quiet, (const char *const[]){ __VA_ARGS__, NULL })

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- up ------------------------------------------------------------------ */

static int write_secret(const struct lab *l)
{
	char p[600];
	unsigned char b[32];
	FILE *f;
	int fd;

	lab_path(l, p, sizeof(p), "", "secret", "");
	if (!access(p, R_OK))
		return 0;
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		fprintf(stderr, "fffs lab: cannot read /dev/urandom\n");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		fprintf(stderr, "fffs lab: cannot create %s: %s\n", p,
			strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		fprintf(f, "%02x", b[i]);
	fprintf(f, "\n");
	return fclose(f) ? -1 : 0;
}

/* mgmtd's port from its log ("... serving on port N"), the newest. */
static int mgmtd_port(const struct lab *l)
{
	char p[600], line[512];
	int port = 0;
	FILE *f;

	lab_path(l, p, sizeof(p), "log/", "mgmtd", ".log");
	f = fopen(p, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = strstr(line, "serving on port ");

		if (s)
			port = (int)strtol(s + 16, NULL, 10);
	}
	fclose(f);
	return port;
}

static int start_mgmtd(struct lab *l)
{
	char sec[600], st[600], port[32] = "0", listen[64];
	FILE *f;
	int p;

	lab_path(l, sec, sizeof(sec), "", "secret", "");
	lab_path(l, st, sizeof(st), "", "mgmtd", "");
	/* the same port as last time, so the other processes find it */
	p = mgmtd_port(l);
	if (p)
		snprintf(port, sizeof(port), "%d", p);
	snprintf(listen, sizeof(listen), "tcp://127.0.0.1:%s", port);
	{
		char *argv[] = { "fffs",     "mgmtd", "--state-dir",  st,
				 "--listen", listen,  COMMON(l, sec), NULL };

		if (spawn(l, "mgmtd", argv))
			return -1;
	}
	for (int i = 0; i < MGMTD_WAIT_S * 10; i++) {
		p = mgmtd_port(l);
		if (p && pid_of(l, "mgmtd"))
			break;
		p = 0;
		sleep_ms(100);
	}
	if (!p) {
		fprintf(stderr,
			"fffs lab: mgmtd did not start; see %s/log/"
			"mgmtd.log\n",
			l->dir);
		return -1;
	}
	snprintf(l->uri, sizeof(l->uri), "tcp://127.0.0.1:%d", p);
	lab_path(l, st, sizeof(st), "", "mgmtd.uri", "");
	f = fopen(st, "w");
	if (f) {
		fprintf(f, "%s\n", l->uri);
		fclose(f);
	}
	return 0;
}

static int start_meta(const struct lab *l, int node)
{
	char sec[600], st[600], name[32], id[16];

	snprintf(name, sizeof(name), "meta-%d", node);
	snprintf(id, sizeof(id), "%d", node);
	lab_path(l, sec, sizeof(sec), "", "secret", "");
	lab_path(l, st, sizeof(st), "", name, "");
	char *argv[] = { "fffs",	 "meta",
			 "--state-dir",	 st,
			 "--listen",	 "tcp://127.0.0.1:0",
			 "--node-id",	 id,
			 "--mgmtd",	 (char *)l->uri,
			 "--cores",	 "1",
			 COMMON(l, sec), NULL };

	return spawn(l, name, argv);
}

static int start_storage(const struct lab *l, int node)
{
	char sec[600], st[600], name[32], id[16], tg[8][700];
	char *argv[48] = {
		"fffs",	    "storage",		 "--state-dir", st,
		"--listen", "tcp://127.0.0.1:0", "--node-id",	id,
		"--mgmtd",  (char *)l->uri,	 "--cores",	"1"
	};
	const char *com[] = { COMMON(l, sec) };
	int n = 12;

	snprintf(name, sizeof(name), "storage-%d", node);
	snprintf(id, sizeof(id), "%d", node);
	lab_path(l, sec, sizeof(sec), "", "secret", "");
	lab_path(l, st, sizeof(st), "", name, "");
	if (mkdirs(st))
		return -1;
	for (uint64_t i = 0; i < l->targets && i < 8; i++) {
		snprintf(tg[i], sizeof(tg[i]), "%s/t%llu.img,size=%llu", st,
			 (unsigned long long)i + 1,
			 (unsigned long long)l->target_size);
		argv[n++] = "--target";
		argv[n++] = tg[i];
	}
	for (size_t i = 0; i < FFFS_ARRAY_LEN(com); i++)
		argv[n++] = (char *)com[i];
	argv[n] = NULL;
	return spawn(l, name, argv);
}

static int start_mount(const struct lab *l)
{
	char sec[600];

	lab_path(l, sec, sizeof(sec), "", "secret", "");
	if (mkdirs(l->mnt)) {
		fprintf(stderr, "fffs lab: cannot create %s: %s\n", l->mnt,
			strerror(errno));
		return -1;
	}
	/* allow_other: every user of the host may use the lab's mount
	 * (with the permission checks of default_permissions) */
	char *argv[] = { "fffs",
			 "mount",
			 (char *)l->mnt,
			 "--mgmtd",
			 (char *)l->uri,
			 "--cores",
			 "2",
			 "-o",
			 "allow_other",
			 COMMON(l, sec),
			 NULL };

	return spawn(l, "mount", argv);
}

/* Count of "word" lines in the JSON of admin status: cheap checks with
 * strstr on `admin ... --json` output. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static bool wait_until(const struct lab *l, int secs, const char *what,
		       bool (*fn)(const struct lab *l))
{
	for (int i = 0; i < secs * 5; i++) {
		if (fn(l))
			return true;
		sleep_ms(200);
	}
	fprintf(stderr, "fffs lab: %s after %d s; logs in %s/log\n", what, secs,
		l->dir);
	return false;
}

static bool nodes_up(const struct lab *l)
{
	static char out[65536];

	if (admin(l, out, sizeof(out), true, "nodes", "--json"))
		return false;
	return count_of(out, "\"up\"") >= (int)(l->storage + l->meta);
}

static bool chains_ok(const struct lab *l)
{
	static char out[65536];

	if (admin(l, out, sizeof(out), true, "chains", "--json"))
		return false;
	return count_of(out, "\"health\"") > 0 &&
	       count_of(out, "\"health\"") == count_of(out, "\"ok\"");
}

static bool mounted(const struct lab *l)
{
	struct stat a, b;
	char parent[600];

	snprintf(parent, sizeof(parent), "%s/..", l->mnt);
	return pid_of(l, "mount") && !stat(l->mnt, &a) && !stat(parent, &b) &&
	       a.st_dev != b.st_dev;
}

static int tables(struct lab *l)
{
	static char out[65536];
	char chains[16], reps[16], cs[32], stripe[16];
	uint64_t nchains = l->storage * l->targets / l->replicas;

	if (admin(l, out, sizeof(out), false, "tables", "--json"))
		return -1;
	if (count_of(out, "\"id\"") >= 2)
		return 0; /* made by an earlier lab up */
	snprintf(reps, sizeof(reps), "%llu", (unsigned long long)l->meta);
	if (admin(l, out, sizeof(out), false, "table", "create", "--chains",
		  "1", "--replicas", reps, "--role", "meta"))
		return -1;
	snprintf(chains, sizeof(chains), "%llu", (unsigned long long)nchains);
	snprintf(reps, sizeof(reps), "%llu", (unsigned long long)l->replicas);
	if (admin(l, out, sizeof(out), false, "table", "create", "--chains",
		  chains, "--replicas", reps))
		return -1;
	if (!wait_until(l, 60, "the chains are not all serving", chains_ok))
		return -1;
	snprintf(cs, sizeof(cs), "%llu", (unsigned long long)l->chunk_size);
	snprintf(stripe, sizeof(stripe), "%llu", (unsigned long long)nchains);
	return admin(l, out, sizeof(out), false, "layout", "set", "/",
		     "--table", "2", "--chunk-size", cs, "--stripe", stripe)
		       ? -1
		       : 0;
}

static int lab_up(struct lab *l)
{
	char p[600];

	if (l->replicas > l->storage || !l->targets || !l->storage ||
	    !l->meta || l->storage * l->targets < l->replicas) {
		fprintf(stderr,
			"fffs lab up: --replicas %llu needs at least "
			"that many storage servers\n",
			(unsigned long long)l->replicas);
		return 2;
	}
	lab_path(l, p, sizeof(p), "", "log", "");
	if (mkdirs(p) || lab_path(l, p, sizeof(p), "", "run", "") ||
	    mkdirs(p)) {
		fprintf(stderr, "fffs lab: cannot create %s: %s\n", l->dir,
			strerror(errno));
		return 1;
	}
	if (write_secret(l) || start_mgmtd(l))
		return 1;
	printf("mgmtd        %s\n", l->uri);
	for (uint64_t i = 0; i < l->meta; i++)
		if (start_meta(l, 101 + (int)i))
			return 1;
	for (uint64_t i = 0; i < l->storage; i++)
		if (start_storage(l, 1 + (int)i))
			return 1;
	if (!wait_until(l, 60, "not every server registered with mgmtd",
			nodes_up) ||
	    tables(l) ||
	    !wait_until(l, 60, "the chains are not all serving", chains_ok) ||
	    start_mount(l) ||
	    !wait_until(l, 30, "the mount did not come up", mounted))
		return 1;
	printf("meta         %llu servers, one chain of %llu\n",
	       (unsigned long long)l->meta, (unsigned long long)l->meta);
	printf("storage      %llu servers x %llu targets of %llu MiB, chains "
	       "of %llu\n",
	       (unsigned long long)l->storage, (unsigned long long)l->targets,
	       (unsigned long long)(l->target_size >> 20),
	       (unsigned long long)l->replicas);
	printf("mounted on   %s\n", l->mnt);
	printf("state, logs  %s\n", l->dir);
	printf("admin        fffs admin --mgmtd %s --cluster-id lab "
	       "--secret-file %s/secret status\n",
	       l->uri, l->dir);
	printf("stop         fffs lab down%s%s\n", l->dir[0] ? " --dir " : "",
	       l->dir);
	return 0;
}

/* ---- status and down ----------------------------------------------------- */

static int read_uri(struct lab *l)
{
	char p[600];
	FILE *f;

	lab_path(l, p, sizeof(p), "", "mgmtd.uri", "");
	f = fopen(p, "r");
	if (!f || !fgets(l->uri, sizeof(l->uri), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	l->uri[strcspn(l->uri, "\n")] = 0;
	return 0;
}

static int lab_status(struct lab *l)
{
	static char out[1 << 20];
	int rc;

	if (read_uri(l)) {
		fprintf(stderr, "fffs lab status: no cluster in %s\n", l->dir);
		return 1;
	}
	rc = admin(l, out, sizeof(out), false, "status",
		   l->json ? "--json" : NULL);
	fputs(out, stdout);
	if (!l->json) {
		DIR *d;
		struct dirent *e;
		char p[600];

		printf("\nPROCESS      PID\n");
		lab_path(l, p, sizeof(p), "", "run", "");
		d = opendir(p);
		while (d && (e = readdir(d))) {
			char *dot = strstr(e->d_name, ".pid");

			if (!dot || dot[4])
				continue;
			*dot = 0;
			printf("%-12s %d%s\n", e->d_name, pid_of(l, e->d_name),
			       pid_of(l, e->d_name) ? "" : " (not running)");
		}
		if (d)
			closedir(d);
		printf("mount        %s %s\n", l->mnt,
		       mounted(l) ? "mounted" : "not mounted");
	}
	return rc ? 1 : 0;
}

/* SIGTERM to every running process of names (n of them), then wait for
 * all of them (SIGKILL after 20 s). */
static void stop_all(const struct lab *l, char (*names)[256], int n)
{
	pid_t pids[64];

	for (int i = 0; i < n; i++) {
		pids[i] = pid_of(l, names[i]);
		if (pids[i])
			kill(pids[i], SIGTERM);
	}
	for (int i = 0; i < n; i++) {
		if (!pids[i])
			continue;
		for (int k = 0; k < 200 && !kill(pids[i], 0); k++)
			sleep_ms(50);
		if (!kill(pids[i], 0)) {
			fprintf(stderr,
				"fffs lab: %s (pid %d) did not stop "
				"in 10 s: SIGKILL\n",
				names[i], pids[i]);
			kill(pids[i], SIGKILL);
			sleep_ms(200);
		}
		printf("stopped      %s\n", names[i]);
	}
}

static int rm_tree(const char *path)
{
	char *argv[] = { "rm", "-rf", "--one-file-system", (char *)path, NULL };
	pid_t pid = fork();
	int st = 0;

	if (!pid) {
		execvp("rm", argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &st, 0) > 0 && !st ? 0 : -1;
}

static int lab_down(struct lab *l)
{
	char p[600], names[64][256];
	int n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(names[0], sizeof(names[0]), "mount");
	stop_all(l, names, 1);
	if (mounted(l))
		umount2(l->mnt, MNT_DETACH);
	/* the servers together, then mgmtd, so nothing waits for it */
	lab_path(l, p, sizeof(p), "", "run", "");
	d = opendir(p);
	while (d && (e = readdir(d)) && n < 63) {
		char *dot;

		snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
		dot = strstr(names[n], ".pid");
		if (dot && !dot[4] && (*dot = 0, strcmp(names[n], "mgmtd")) &&
		    strcmp(names[n], "mount"))
			n++;
	}
	if (d)
		closedir(d);
	stop_all(l, names, n);
	snprintf(names[0], sizeof(names[0]), "mgmtd");
	stop_all(l, names, 1);
	if (l->purge) {
		if (rm_tree(l->dir)) {
			fprintf(stderr, "fffs lab down: cannot remove %s\n",
				l->dir);
			return 1;
		}
		printf("removed      %s\n", l->dir);
	}
	return 0;
}

/* The mount point: --mount, else the one `lab up` recorded, else DIR/mnt;
 * `lab up` records it in DIR/mount.path for status and down. */
static int mnt_path(struct lab *l, const char *mnt)
{
	char p[600];
	FILE *f;

	lab_path(l, p, sizeof(p), "", "mount.path", "");
	if (mnt) {
		if (mnt[0] != '/' || strlen(mnt) > 400) {
			fprintf(stderr, "fffs lab: --mount must be an absolute "
					"path\n");
			return -1;
		}
		snprintf(l->mnt, sizeof(l->mnt), "%s", mnt);
	} else if ((f = fopen(p, "r"))) {
		if (!fgets(l->mnt, sizeof(l->mnt), f))
			l->mnt[0] = 0;
		fclose(f);
		l->mnt[strcspn(l->mnt, "\n")] = 0;
	}
	if (!l->mnt[0])
		lab_path(l, l->mnt, sizeof(l->mnt), "", "mnt", "");
	if (strcmp(l->verb, "up"))
		return 0;
	if (mkdirs(l->dir)) {
		fprintf(stderr, "fffs lab: cannot create %s: %s\n", l->dir,
			strerror(errno));
		return -1;
	}
	f = fopen(p, "w");
	if (f) {
		fprintf(f, "%s\n", l->mnt);
		fclose(f);
	}
	return 0;
}

int cmd_lab(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct lab l = { .storage = 3,
			 .targets = 2,
			 .target_size = 1ull << 30,
			 .replicas = 3,
			 .meta = 3,
			 .chunk_size = 1u << 20 };
	const char *dir = "/tmp/fffs-lab", *mnt = NULL;
	struct cli_parse p;
	ssize_t n;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "dir"))
			dir = p.val;
		else if (cli_is(&p, "mount"))
			mnt = p.val;
		else if (cli_is(&p, "storage"))
			rc = cli_u64(&p, 1, 64, &l.storage);
		else if (cli_is(&p, "targets"))
			rc = cli_u64(&p, 1, 8, &l.targets);
		else if (cli_is(&p, "target-size"))
			rc = cli_u64(&p, 64ull << 20, 1ull << 40,
				     &l.target_size);
		else if (cli_is(&p, "replicas"))
			rc = cli_u64(&p, 1, 8, &l.replicas);
		else if (cli_is(&p, "meta"))
			rc = cli_u64(&p, 1, 8, &l.meta);
		else if (cli_is(&p, "chunk-size"))
			rc = cli_u64(&p, 64 << 10, 64 << 20, &l.chunk_size);
		else if (cli_is(&p, "json"))
			l.json = true;
		else if (cli_is(&p, "purge"))
			l.purge = true;
		else if (!p.opt && !l.verb)
			l.verb = p.val;
		else
			rc = -1;
		if (rc < 0) {
			if (rc == -1 && p.val)
				fprintf(stderr, "fffs lab: bad argument '%s'\n",
					p.val);
			return 2;
		}
	}
	if (rc < 0)
		return 2;
	if (!l.verb || (strcmp(l.verb, "up") && strcmp(l.verb, "down") &&
			strcmp(l.verb, "status"))) {
		cli_usage_cmd(stderr, cmd);
		return 2;
	}
	if (dir[0] != '/' || strlen(dir) > 400) {
		fprintf(stderr, "fffs lab: --dir must be an absolute path\n");
		return 2;
	}
	snprintf(l.dir, sizeof(l.dir), "%s", dir);
	if (mnt_path(&l, mnt))
		return 2;
	n = readlink("/proc/self/exe", l.exe, sizeof(l.exe) - 1);
	if (n <= 0) {
		fprintf(stderr, "fffs lab: cannot find my own executable\n");
		return 1;
	}
	l.exe[n] = 0;
	if (!strcmp(l.verb, "up"))
		return lab_up(&l);
	if (!strcmp(l.verb, "status"))
		return lab_status(&l);
	return lab_down(&l);
}
