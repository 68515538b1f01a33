/* fffs.c - main(), usage() and the subcommand table. Nothing else. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "base/config.h"
#include "fffs.h"
#include "roles/roles.h"

static int cmd_help(const struct cli_cmd *cmd, int argc, char **argv);

static const struct cli_opt help_opts[] = {
	{ "man-commands", NULL, "Print the COMMANDS section of the manual." },
	{ "man-config", NULL,
	  "Print the CONFIGURATION section of the manual." },
	{ NULL, NULL, NULL },
};

static const struct cli_cmd commands[] = {
	{ "mgmtd", cmd_mgmtd, NULL,
	  "Run the cluster manager: membership, leases, routing info, chains.",
	  "Storage and metadata servers register with mgmtd and heartbeat; "
	  "a heartbeat renews the server's lease (heartbeat_timeout_ms). mgmtd "
	  "keeps the routing info (nodes, targets, chains, chain tables and "
	  "every target's state) in LMDB under --state-dir, makes each new "
	  "version durable before anybody sees it, and answers routing "
	  "requests as soon as a newer version exists. Every chain_update_ms "
	  "it marks the servers whose lease ran out as down and runs the "
	  "chain state machine: failed targets move to the end of their "
	  "chain, returning ones sync from their predecessor and serve again. "
	  "It runs on one core.",
	  mgmtd_opts, CLI_DAEMON },
	{ "meta", cmd_meta, NULL,
	  "Run a metadata server, one replica of the namespace.",
	  "The namespace lives in LMDB under --state-dir (db/). A commit "
	  "is made durable by appending its write sets to a synced journal "
	  "(db/journal.*) instead of syncing LMDB; a snapshot "
	  "(db/snapshot.mdb) is taken once the journal is twice as large as "
	  "the "
	  "data, and after a power loss the db is rebuilt from the snapshot "
	  "and the journal after it. An empty namespace is "
	  "formatted (the root, 0755 root:root, no layout) identically on "
	  "every replica. The server is the target --target-id (default "
	  "node id << 16) of a meta chain that mgmtd manages (fffs admin "
	  "table create --role meta): the chain's head executes changes in "
	  "group commits and sends their write sets down the chain; a change "
	  "is answered once every serving replica has it; any serving "
	  "replica answers reads of inodes with no change pending there. A "
	  "restarted replica waits until mgmtd has seen it go, then gets a "
	  "copy of the db from its predecessor and the changes since.",
	  meta_opts, CLI_DAEMON },
	{ "storage", cmd_storage, NULL,
	  "Run a storage server serving chunk targets.",
	  "Each target is a block device or a regular file holding chunks in "
	  "blocks of 64 KiB to 64 MiB; its chunk metadata lives in LMDB under "
	  "--state-dir. A new target is formatted with a superblock (cluster "
	  "id, target id, format version); a target of another cluster, of an "
	  "unknown format, in use by another process, or holding data that is "
	  "not fffs's is refused and left untouched. Writes are verified "
	  "against the writer's CRC32C, copied on write, made durable and "
	  "committed in groups; reads check every page's CRC32C.",
	  storage_opts, CLI_DAEMON },
	{ "mount", cmd_mount, "MOUNTPOINT", "Mount the file system with FUSE.",
	  "A FUSE client (libfuse3 low-level API, multi-threaded): metadata "
	  "through the meta chain, file data straight to the storage chains, "
	  "many chunks in parallel. Writes are gathered per chunk and sent "
	  "behind; close() and fsync() return once they are on every serving "
	  "replica, and close() makes the length visible to every other "
	  "client's next open() (close-to-open). Sequential reads are read "
	  "ahead: by the kernel's page cache, and by the client itself for "
	  "O_DIRECT opens. It stays in the foreground "
	  "and unmounts on SIGTERM or when unmounted with fusermount3 -u.",
	  mount_opts, CLI_DAEMON },
	{ "admin", cmd_admin, "COMMAND [ARGS]",
	  "Operate the cluster: status, nodes, targets, chains, tables.",
	  "Commands: init (a new cluster secret in --secret-file for "
	  "--cluster-id; needs no mgmtd); status (the whole cluster at a "
	  "glance), nodes, targets, chains, tables; table create --chains N "
	  "--replicas R (N chains of R targets on distinct storage nodes, "
	  "placed so that every pair of nodes shares about as many chains); "
	  "target offline TARGET; chain add-target CHAIN TARGET (joins at the "
	  "tail, syncs, then serves); chain remove-target CHAIN TARGET (only "
	  "an offline target). Each prints a table, or JSON with --json; "
	  "a refused command prints mgmtd's reason and exits 1. Metadata: "
	  "fsck (checks the namespace on the meta chain's tail, every "
	  "replica with --all, or --server URI; exit 1 on any problem); meta "
	  "digest (each replica's seq and namespace digest); layout get PATH, "
	  "layout set PATH [--table T] [--chunk-size S] [--stripe N]; ns OP "
	  "ARGS, a namespace shell on absolute paths: mkdir, create, stat, "
	  "ls, rm, rmdir, mv, ln, symlink, readlink, setxattr PATH NAME "
	  "VALUE, getxattr PATH NAME, rmtree, statfs, and ns load --clients N "
	  "--ops M --seed S --log FILE (concurrent creates, renames and "
	  "removes under /load, one log line per acknowledged operation: "
	  "'create STATUS PATH', 'rename STATUS FROM TO', 'unlink STATUS "
	  "PATH'). Errors name the path.",
	  admin_opts, CLI_DAEMON },
	{ "bench", cmd_bench, "rpc|chunk|meta",
	  "Measure fffs against a baseline run in the same invocation.",
	  "fffs bench rpc measures the RPC layer over loopback: small "
	  "requests (rate and p50/p99 latency at a concurrency) and bulk "
	  "throughput, each next to a plain blocking TCP exchange of the same "
	  "sizes, and prints both and their ratio. With --server it only "
	  "serves; with --connect it only drives a server elsewhere (then "
	  "--verify checks every reply, and --probe sends one ping at a time "
	  "and reports each outcome). fffs bench chunk writes and reads 1 MiB "
	  "chunks through the storage RPCs (on a storage server it starts on "
	  "a file under --dir, or one given with --connect) next to fio on the "
	  "same file system (its writes also next to fio with O_DSYNC, and "
	  "with one timed fdatasync at the end: durable writes); with "
	  "--connect its --verify, --storm, --check, "
	  "--space and --read-chunk modes drive a storage server for tests. "
	  "fffs bench meta starts mgmtd and 3 meta servers under --dir (or "
	  "uses the cluster --mgmtd names), creates, looks up, lists and "
	  "removes --ops files with --clients operations in flight through "
	  "the meta chain, and prints each rate beside two ceilings measured "
	  "in the same run: the same operations straight on LMDB in one "
	  "process (64 per synced commit, each client's files together) "
	  "and an echo RPC of the same request size; a last line gives "
	  "LMDB's create and unlink rates in arrival order (one file of "
	  "each client in turn, as the concurrent requests reach the head) "
	  "and fffs's ratio to them. "
	  "Exit status 1 when a request failed or a reply was wrong.",
	  bench_opts, CLI_DAEMON },
	{ "lab", cmd_lab, "up|down|status",
	  "Start, stop or show a whole cluster on this host.",
	  "lab up starts mgmtd, a meta chain (3 meta servers), storage "
	  "servers with file targets in chains of 3, and a FUSE mount, all on "
	  "127.0.0.1 under --dir, waits until every chain serves and the "
	  "mount answers, and prints where everything is. Run again on the "
	  "same directory it starts the same cluster. lab status shows the "
	  "cluster and its processes; lab down unmounts and stops everything "
	  "(keeping the data unless --purge).",
	  lab_opts, 0 },
	{ "version", cmd_version, NULL, "Print the version.", NULL, no_opts,
	  0 },
	{ "help", cmd_help, "[COMMAND|config]",
	  "Show usage of fffs, of a command, or the configuration keys.", NULL,
	  help_opts, 0 },
};

static const struct cli_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < FFFS_ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	cli_usage_all(f, commands, FFFS_ARRAY_LEN(commands));
}

static int cmd_help(const struct cli_cmd *cmd, int argc, char **argv)
{
	const struct cli_cmd *c;
	struct cli_parse p;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "man-commands"))
			cli_man_commands(stdout, commands,
					 FFFS_ARRAY_LEN(commands));
		else if (cli_is(&p, "man-config"))
			config_print_troff(stdout);
		else if (!strcmp(p.val, "config"))
			config_print_help(stdout);
		else if ((c = find_cmd(p.val)))
			cli_usage_cmd(stdout, c);
		else {
			fprintf(stderr, "fffs help: unknown command '%s'\n",
				p.val);
			usage(stderr);
			return 2;
		}
		if (argc == 2)
			return 0;
	}
	if (rc < 0)
		return 2;
	if (argc == 1)
		usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const struct cli_cmd *cmd;

	/* Reuse large buffers instead of mapping fresh pages for each one:
	 * a page fault per 4 KiB of every 1 MiB payload costs more than the
	 * copy into it. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	config_reset();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		argv[1] = "version";
	cmd = find_cmd(argv[1]);
	if (!cmd) {
		fprintf(stderr, "fffs: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	log_set_role(cmd->name);
	return cmd->fn(cmd, argc - 1, argv + 1);
}
