/* roles/bench.c - `fffs bench`: load generators that run their baseline in
 * the same invocation and print the ratio. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/chunkmeta.h"
#include "net/rpc.h"
#include "roles/bench.h"
#include "roles/roles.h"

const struct cli_opt bench_opts[] = {
	{ "server", "URI", "Only serve the bench protocol at URI." },
	{ "connect", "URI",
	  "Only drive the server at URI (chunk: a running storage server)." },
	{ "concurrency", "N", "Small requests in flight (default 64)." },
	{ "size", "BYTES",
	  "rpc: small request and response size (default 64). chunk: bytes "
	  "written and read, 1 MiB per chunk (default 1G)." },
	{ "bulk-size", "BYTES", "Bulk message size (default 1M)." },
	{ "bulk-depth", "N", "Bulk messages in flight (default 4)." },
	{ "duration", "SECONDS",
	  "Length of each phase (default 3; chunk: of the random reads, "
	  "default 5; --storm: stop after it, default never)." },
	{ "verify", NULL,
	  "rpc: send --requests echo requests with varied payloads and check "
	  "that each is answered exactly once, correctly. chunk: --verify N "
	  "writes chunks 0..N-1 of --inode (random sizes up to --chunk-size, "
	  "1-4 writes each at random offsets: holes, overwrites, appends), "
	  "reads every byte back in batched ranges and compares it with a "
	  "model, prints 'verified N chunks, B bytes, E mismatches'; exit 0 "
	  "only when E is 0 and no request failed." },
	{ "chunk-size", "BYTES",
	  "chunk --verify: the capacity of every chunk (default 4M); the "
	  "server reserves a block of that size for each." },
	{ "requests", "N", "Requests sent by --verify (default 10000)." },
	{ "probe", NULL,
	  "Send --count pings one at a time and report each outcome." },
	{ "count", "N", "Pings sent by --probe (default 10)." },
	{ "interval-ms", "MS",
	  "Pause between pings of --probe (default 100)." },
	{ "timeout-ms", "MS", "Deadline of each request (default: config)." },
	{ "json", NULL, "Print the report as JSON." },
	{ "dir", "DIR",
	  "chunk: directory for the storage target (when fffs starts its "
	  "own server) and the fio file; required by the benchmark." },
	{ "target", "ID",
	  "chunk: target id on the --connect server (own server: 1)." },
	{ "inode", "N", "chunk: inode id of the chunks used (default 1)." },
	{ "depth", "N",
	  "chunk: writes and sequential reads in flight (default 8)." },
	{ "rand-depth", "N",
	  "chunk: random 4 KiB reads in flight (default 32)." },
	{ "seed", "N", "chunk: seed of the random choices (default 1)." },
	{ "rounds", "N",
	  "chunk: rounds of the three phases (default 3); in each phase fffs "
	  "and fio take turns, the first to go alternating, and the report "
	  "gives the median of each and every round's ratio." },
	{ "chunks", "N", "chunk --storm: chunk indexes used (default 256)." },
	{ "storm", NULL,
	  "chunk: write whole chunks (offset 0, 4 KiB..1 MiB, content from "
	  "index and sequence number) to random indexes until killed or "
	  "--duration, logging 'issue INDEX SEQ LEN' before and 'ack INDEX "
	  "SEQ LEN' after each write to --journal. A write that timed out "
	  "or lost its connection is retried with the same request id; any "
	  "other error stops the storm (exit 1)." },
	{ "fill", NULL,
	  "chunk: write chunks 0, 1, 2... of --inode whole (1 MiB, content "
	  "and journal as with --storm) until a write fails, then print "
	  "'filled N chunks, then: ERROR'; exit 0 only when ERROR is that "
	  "there is no space left." },
	{ "journal", "FILE",
	  "chunk --storm, --fill: the journal (appended to)." },
	{ "check", "FILE",
	  "chunk: read every chunk a --storm journal names and check it "
	  "holds what the acknowledged writes (and maybe the unacknowledged "
	  "ones after them) left, prints 'checked K chunks, M mismatches, X "
	  "checksum errors'; exit 0 only when both are 0." },
	{ "space", NULL,
	  "chunk: print each target of the server: id, state, capacity, "
	  "used, free, chunks." },
	{ "read-chunk", "INDEX",
	  "chunk: read chunk INDEX of --inode whole, print 'ok LENGTH CRC' or "
	  "'error: MESSAGE' (exit 1)." },
	{ "table", "ID",
	  "chunk: run over the chains of chain table ID of the cluster "
	  "--mgmtd names, through chain replication (writes at each chain's "
	  "head, reads spread over its serving members)." },
	{ "workload", NULL,
	  "chunk --table: --writers and --readers go on until SIGTERM or "
	  "--duration; writers write --chunks chunks whole (64 KiB: a header "
	  "naming chunk and sequence number, then data made from both), "
	  "each chunk by one writer in turn; readers read random chunks and "
	  "check what they got; every write's issue and answer and every "
	  "read go to --history." },
	{ "write-chunk", "INDEX",
	  "chunk --table: write chunk INDEX of --inode once (as --workload "
	  "does, sequence number --seed), print 'ok version V attempts A' or "
	  "'error: MESSAGE' (exit 1). With --table, --read-chunk reads it and "
	  "prints 'ok LENGTH VERSION SEQ target T'." },
	{ "replication", "R[,R...]",
	  "chunk: start a cluster under --dir (mgmtd and 3 storage servers "
	  "of 2 targets), a chain for each replication R (1 to 3), and run "
	  "the three phases through chain replication on each (reads spread "
	  "over the replicas), then fio as the baseline." },
	{ "writers", "N", "chunk --workload: writers (default 8)." },
	{ "readers", "N", "chunk --workload: readers (default 4)." },
	{ "history", "FILE",
	  "chunk --workload: the history (appended to): 'I CHUNK SEQ T', "
	  "'A CHUNK SEQ T VERSION', 'F CHUNK SEQ T ERRNO' for writes, "
	  "'R CHUNK SEQ T0 T1 VERSION TARGET' for reads (SEQ 0: nothing "
	  "written yet; BAD: content that no write wrote); T in ns since "
	  "the epoch." },
	{ "verify-replicas", NULL,
	  "chunk --table: read every chunk of every chain of the table from "
	  "every serving member and compare them byte for byte; prints a "
	  "line per chain, exit 1 on any difference or pending version." },
	{ "clients", "N",
	  "meta: namespace operations in flight, each client in its own "
	  "directory (default 64)." },
	{ "ops", "N",
	  "meta: files created, looked up, listed and removed (default "
	  "20000)." },
	{ NULL, NULL, NULL },
};

/* chunk --verify N: N is the word after --verify. */
static int parse_verify_n(struct cli_parse *p, struct bench_args *a)
{
	return cli_u64(p, 1, 100000000, &a->verify_n);
}

static int parse_opt(struct cli_parse *p, struct bench_args *a)
{
	static const struct {
		const char *name;
		size_t off;
		uint64_t min, max;
	} nums[] = {
		{ "concurrency", offsetof(struct bench_args, concurrency), 1,
		  65536 },
		{ "size", offsetof(struct bench_args, size), 1, 1ull << 40 },
		{ "bulk-size", offsetof(struct bench_args, bulk_size), 1,
		  64 << 20 },
		{ "bulk-depth", offsetof(struct bench_args, bulk_depth), 1,
		  1024 },
		{ "duration", offsetof(struct bench_args, duration_s), 1,
		  3600 },
		{ "requests", offsetof(struct bench_args, requests), 1,
		  100000000 },
		{ "count", offsetof(struct bench_args, count), 1, 1000000 },
		{ "interval-ms", offsetof(struct bench_args, interval_ms), 0,
		  3600000 },
		{ "timeout-ms", offsetof(struct bench_args, timeout_ms), 1,
		  3600000 },
		{ "target", offsetof(struct bench_args, target), 1,
		  UINT64_MAX },
		{ "inode", offsetof(struct bench_args, inode), 0, UINT64_MAX },
		{ "depth", offsetof(struct bench_args, depth), 1, 1024 },
		{ "rand-depth", offsetof(struct bench_args, rand_depth), 1,
		  4096 },
		{ "seed", offsetof(struct bench_args, seed), 0, UINT64_MAX },
		{ "rounds", offsetof(struct bench_args, rounds), 1,
		  BENCH_MAX_ROUNDS },
		{ "chunks", offsetof(struct bench_args, chunks), 1, 1 << 24 },
		{ "read-chunk", offsetof(struct bench_args, read_chunk), 0,
		  UINT32_MAX },
		{ "chunk-size", offsetof(struct bench_args, chunk_size), 1,
		  CHUNK_MAX_LEN },
		{ "table", offsetof(struct bench_args, table), 1, UINT32_MAX },
		{ "write-chunk", offsetof(struct bench_args, write_chunk), 0,
		  UINT32_MAX },
		{ "writers", offsetof(struct bench_args, writers), 0, 1024 },
		{ "readers", offsetof(struct bench_args, readers), 0, 1024 },
		{ "clients", offsetof(struct bench_args, clients), 1, 4096 },
		{ "ops", offsetof(struct bench_args, ops), 1, 100000000 },
	};
	bool takes_n = a->verify_takes_n;

	a->verify_takes_n = false;
	if (takes_n && !p->opt)
		return parse_verify_n(p, a);
	a->read_chunk_set |= cli_is(p, "read-chunk");
	a->write_chunk_set |= cli_is(p, "write-chunk");

	for (size_t i = 0; i < FFFS_ARRAY_LEN(nums); i++)
		if (cli_is(p, nums[i].name))
			return cli_u64(p, nums[i].min, nums[i].max,
				       (uint64_t *)((char *)a + nums[i].off));
	if (cli_is(p, "server"))
		a->server = p->val;
	else if (cli_is(p, "dir"))
		a->dir = p->val;
	else if (cli_is(p, "journal"))
		a->journal = p->val;
	else if (cli_is(p, "check"))
		a->check = p->val;
	else if (cli_is(p, "storm"))
		a->storm = true;
	else if (cli_is(p, "workload"))
		a->workload = true;
	else if (cli_is(p, "verify-replicas"))
		a->verify_replicas = true;
	else if (cli_is(p, "history"))
		a->history = p->val;
	else if (cli_is(p, "replication"))
		a->replication = p->val;
	else if (cli_is(p, "fill"))
		a->fill = true;
	else if (cli_is(p, "space"))
		a->space = true;
	else if (cli_is(p, "connect"))
		a->connect = p->val;
	else if (cli_is(p, "verify"))
		a->verify = a->verify_takes_n = true;
	else if (cli_is(p, "probe"))
		a->probe = true;
	else if (cli_is(p, "json"))
		a->json = true;
	else if (!p->opt && !a->what)
		a->what = p->val;
	else {
		fprintf(stderr, "fffs bench: unexpected argument '%s'\n",
			p->val);
		return -EINVAL;
	}
	return 0;
}

/* --size and --duration default per benchmark (0: not given). */
static void set_defaults(struct bench_args *a)
{
	bool chunk = a->what && !strcmp(a->what, "chunk");

	if (!a->size)
		a->size = chunk ? 1ull << 30 : 64;
	if (!a->duration_s && !(chunk && (a->storm || a->fill || a->workload)))
		a->duration_s = chunk ? 5 : 3;
}

static int check_args(const struct bench_args *a)
{
	const char *why = NULL;

	if (!a->what)
		why = "which benchmark? (rpc, chunk, meta)";
	else if (!strcmp(a->what, "meta"))
		why = NULL;
	else if (!strcmp(a->what, "chunk") && a->table)
		why = bench_chain_check_args(a);
	else if (!strcmp(a->what, "chunk"))
		why = bench_chunk_check_args(a);
	else if (strcmp(a->what, "rpc"))
		why = "unknown benchmark (this build has: rpc, chunk, meta)";
	else if (a->size > 1 << 20 || a->verify_n)
		why = a->verify_n ? "--verify takes no number (see --requests)"
				  : "--size is at most 1M";
	else if (a->server && a->connect)
		why = "--server and --connect exclude each other";
	else if ((a->verify || a->probe) && !a->connect)
		why = "--verify and --probe need --connect";
	else if (a->verify && a->probe)
		why = "--verify and --probe exclude each other";
	if (!why)
		return 0;
	fprintf(stderr, "fffs bench: %s%s%s\n", a->what ? a->what : "",
		a->what ? ": " : "", why);
	return -EINVAL;
}

int cmd_bench(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct bench_args a = { .concurrency = 64,
				.inode = 1,
				.depth = 8,
				.rand_depth = 32,
				.seed = 1,
				.rounds = 3,
				.writers = 8,
				.readers = 4,
				.chunks = 256,
				.bulk_size = 1 << 20,
				.bulk_depth = 4,
				.requests = 10000,
				.count = 10,
				.interval_ms = 100,
				.clients = 64,
				.ops = 20000 };
	struct cli_parse p;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0)
		if (parse_opt(&p, &a)) {
			cli_usage_cmd(stderr, cmd);
			return 2;
		}
	if (rc < 0)
		return 2;
	set_defaults(&a);
	if (check_args(&a))
		return 2;
	rc = role_net_setup("bench", ROLE_BENCH);
	if (rc)
		return rc;
	if (!strcmp(a.what, "meta"))
		return bench_meta(&a);
	if (!strcmp(a.what, "chunk") && a.table)
		return bench_chain(&a);
	if (!strcmp(a.what, "chunk") && a.replication)
		return bench_replicas(&a);
	if (!strcmp(a.what, "chunk"))
		return bench_chunk(&a);
	if (a.server)
		return bench_rpc_server(&a);
	return bench_rpc_client(&a);
}
