/* roles/mount.c - `fffs mount MOUNTPOINT`: a FUSE client of the cluster
 * (fuse/fclient.h). Glue: options, the loops and the agent, the FUSE
 * session on its own thread, and a clean unmount on SIGTERM or when the
 * kernel side goes away (fusermount3 -u).
 *
 * Threads: the main thread waits for signals; the FUSE thread runs
 * libfuse's multi-threaded loop; the loop cores carry every RPC. A stop
 * unmounts first (so no new FUSE request comes), waits for the FUSE
 * workers, then stops the cores. */
#define LOG_SUBSYS "main"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/config.h"
#include "fuse/fclient.h"
#include "mgmt/agent.h"
#include "net/auth.h"
#include "roles/roles.h"

const struct cli_opt mount_opts[] = {
	{ "options", "OPTIONS",
	  "Also -o OPTIONS. Mount options, comma-separated: attr_timeout=S and "
	  "entry_timeout=S (seconds the kernel caches attributes and names, "
	  "default 1), direct_io (no page cache: every read and write goes "
	  "to the chains), ro, allow_other, default_permissions (on by "
	  "default), fsname=NAME, and any other FUSE option." },
	{ "foreground", NULL,
	  "Accepted for mount(8) helpers; fffs mount always stays in the "
	  "foreground." },
	{ NULL, NULL, NULL },
};

struct mount_args {
	const char *mountpoint;
	struct fclient_opts fo;
	char fuse_o[1024]; /* options for libfuse */
};

static int add_fuse_o(struct mount_args *a, const char *o, size_t n)
{
	size_t len = strlen(a->fuse_o);

	if (len + n + 2 > sizeof(a->fuse_o))
		return -1;
	if (len)
		a->fuse_o[len++] = ',';
	memcpy(a->fuse_o + len, o, n);
	a->fuse_o[len + n] = 0;
	return 0;
}

static int seconds(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return errno || *end || end == v || *out < 0 || *out > 86400 ? -1 : 0;
}

/* -o a,b=c,...: ours into a->fo, the rest for libfuse. */
static int parse_o(struct mount_args *a, const char *list)
{
	const char *p = list;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char o[256];

		if (n >= sizeof(o)) {
			fprintf(stderr, "fffs mount: -o: option too long\n");
			return -1;
		}
		memcpy(o, p, n);
		o[n] = 0;
		if (!strncmp(o, "attr_timeout=", 13)) {
			if (seconds(o + 13, &a->fo.attr_timeout))
				goto bad;
		} else if (!strncmp(o, "entry_timeout=", 14)) {
			if (seconds(o + 14, &a->fo.entry_timeout))
				goto bad;
		} else if (!strcmp(o, "direct_io")) {
			a->fo.direct_io = true;
		} else if (!strcmp(o, "ro")) {
			a->fo.read_only = true;
			if (add_fuse_o(a, o, n))
				goto bad;
		} else if (!strcmp(o, "rw") || !strcmp(o, "dev") ||
			   !strcmp(o, "suid") || !strcmp(o, "nosuid") ||
			   !strcmp(o, "nodev") || !strcmp(o, "exec") ||
			   !strcmp(o, "noexec") || !strcmp(o, "auto") ||
			   !strcmp(o, "noauto") || !strcmp(o, "_netdev") ||
			   !strcmp(o, "nofail") || !strcmp(o, "user") ||
			   !strcmp(o, "nouser") || !strncmp(o, "x-", 2)) {
			/* mount(8) and fstab words: not FUSE options */
		} else if (n && add_fuse_o(a, o, n)) {
			goto bad;
		}
		p += n + (e ? 1 : 0);
		continue;
	bad:
		fprintf(stderr, "fffs mount: -o %s: bad option value\n", o);
		return -1;
	}
	return 0;
}

static int parse(const struct cli_cmd *cmd, int argc, char **argv,
		 struct mount_args *a)
{
	struct cli_parse p;
	bool want_o = false;
	int rc;

	a->fo.attr_timeout = a->fo.entry_timeout = 1.0;
	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "options") || want_o) {
			want_o = false;
			if (parse_o(a, p.val))
				return -1;
		} else if (!p.opt && !strcmp(p.val, "-o")) {
			want_o = true; /* mount(8) style */
		} else if (cli_is(&p, "foreground") ||
			   (!p.opt && !strcmp(p.val, "-f"))) {
			continue;
		} else if (!p.opt && !a->mountpoint) {
			a->mountpoint = p.val;
		} else {
			fprintf(stderr,
				"fffs mount: unexpected argument '%s'\n",
				p.val);
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (want_o) {
		fprintf(stderr, "fffs mount: -o needs a value\n");
		return -1;
	}
	if (!a->mountpoint || !config_str(CFG_mgmtd)[0]) {
		fprintf(stderr, "fffs mount: MOUNTPOINT and --mgmtd URI are "
				"required\n");
		cli_usage_cmd(stderr, cmd);
		return -1;
	}
	return 0;
}

/* ---- the agent ----------------------------------------------------------- */

static int no_targets(void *arg, struct agent_report *out, int max)
{
	return 0;
}

static void launch(uint32_t node, const char *mountpoint)
{
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd),
				  .heartbeat = true,
				  .node_id = node,
				  .role = ROLE_CLIENT,
				  .report = no_targets };
	char host[64] = "localhost";

	gethostname(host, sizeof(host) - 1);
	snprintf(p.addr, sizeof(p.addr), "fuse://%.40s%.70s", host, mountpoint);
	agent_launch(&p);
}

/* ---- the FUSE thread ----------------------------------------------------- */

static struct fuse_session *se;

static void *fuse_thread(void *arg)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int rc;

	fuse_loop_cfg_set_max_threads(cfg, 64);
	rc = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (rc)
		log_warn("the FUSE session ended: %s", fffs_strerror(-abs(rc)));
	/* unmounted from outside, or a fatal error: stop the process */
	kill(getpid(), SIGUSR1);
	return NULL;
}

static int wait_routing(int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (agent_routing_version())
			return 0;
		if (loop_stopping(core_get(0)))
			break;
		usleep(50000);
	}
	return -1;
}

static int session_start(struct mount_args *a)
{
	char *argv[4] = { "fffs", "-o", a->fuse_o, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);

	if (add_fuse_o(a, "default_permissions", 19) ||
	    (!strstr(a->fuse_o, "fsname=") &&
	     add_fuse_o(a, "fsname=fffs", 11)) ||
	    add_fuse_o(a, "subtype=fffs", 12)) {
		fprintf(stderr, "fffs mount: too many options\n");
		return -1;
	}
	se = fuse_session_new(&args, fclient_ops(),
			      sizeof(struct fuse_lowlevel_ops), NULL);
	if (!se) {
		fprintf(stderr,
			"fffs mount: libfuse refused the options "
			"'%s'\n",
			a->fuse_o);
		return -1;
	}
	fclient_session(se);
	if (fuse_session_mount(se, a->mountpoint)) {
		fprintf(stderr, "fffs mount: cannot mount on '%s'\n",
			a->mountpoint);
		fuse_session_destroy(se);
		se = NULL;
		return -1;
	}
	return 0;
}

int cmd_mount(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct mount_args *a = xcalloc(1, sizeof(*a));
	uint32_t node = (uint32_t)config_int(CFG_node_id);
	char idbuf[16];
	pthread_t ft;
	sigset_t set;
	int rc, sig = 0;

	if (parse(cmd, argc, argv, a)) {
		free(a);
		return 2;
	}
	while (!node) /* a random client node id, out of the servers' way */
		if (getrandom(&node, sizeof(node), 0) == sizeof(node))
			node = (node & 0x3fffffff) | 0x40000000;
	snprintf(idbuf, sizeof(idbuf), "%u", node);
	if (config_set("node_id", idbuf, NULL, 0)) {
		rc = 2;
		goto out;
	}
	rc = role_net_setup("mount", ROLE_CLIENT);
	if (rc)
		goto out;
	rc = 1;
	a->fo.client = (uint64_t)node << 16;
	fclient_setup(&a->fo);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (loop_start((int)config_int(CFG_cores), fclient_core_init, NULL)) {
		fprintf(stderr, "fffs mount: cannot start the event loops\n");
		goto out;
	}
	launch(node, a->mountpoint);
	if (wait_routing(10000)) {
		fprintf(stderr,
			"fffs mount: no routing info from mgmtd %s after "
			"10 s: is it running, with this cluster's secret?\n",
			config_str(CFG_mgmtd));
		loop_request_stop();
		loop_main();
		goto out;
	}
	if (session_start(a)) {
		loop_request_stop();
		loop_main();
		goto out;
	}
	if (fffs_thread_start(&ft, "fffs-fuse", fuse_thread, NULL)) {
		fprintf(stderr, "fffs mount: cannot start the FUSE thread\n");
		fuse_session_unmount(se);
		fuse_session_destroy(se);
		loop_request_stop();
		loop_main();
		goto out;
	}
	printf("mounted on %s (node %u)\n", a->mountpoint, node);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	if (sigwait(&set, &sig))
		sig = 0;
	log_info("unmounting %s (%s)", a->mountpoint,
		 sig == SIGUSR1 ? "the session ended" : strsignal(sig));
	fuse_session_exit(se);
	fuse_session_unmount(se);
	pthread_join(ft, NULL);
	fuse_session_destroy(se);
	fclient_stop();
	loop_request_stop();
	loop_main();
	rc = 0;
out:
	free(a);
	return rc;
}
