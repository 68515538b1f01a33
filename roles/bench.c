/* roles/bench.c - `fffs bench`: load generators that run their baseline in
 * the same invocation and print the ratio. */
#define LOG_SUBSYS "bench"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "net/rpc.h"
#include "roles/bench.h"
#include "roles/roles.h"

const struct cli_opt bench_opts[] = {
	{ "server", "URI", "Only serve the bench protocol at URI." },
	{ "connect", "URI", "Only drive the server at URI." },
	{ "concurrency", "N", "Small requests in flight (default 64)." },
	{ "size", "BYTES", "Small request and response size (default 64)." },
	{ "bulk-size", "BYTES", "Bulk message size (default 1M)." },
	{ "bulk-depth", "N", "Bulk messages in flight (default 4)." },
	{ "duration", "SECONDS", "Length of each phase (default 3)." },
	{ "verify", NULL,
	  "Send --requests echo requests with varied payloads and check "
	  "that each is answered exactly once, correctly." },
	{ "requests", "N", "Requests sent by --verify (default 10000)." },
	{ "probe", NULL,
	  "Send --count pings one at a time and report each outcome." },
	{ "count", "N", "Pings sent by --probe (default 10)." },
	{ "interval-ms", "MS",
	  "Pause between pings of --probe (default 100)." },
	{ "timeout-ms", "MS", "Deadline of each request (default: config)." },
	{ "json", NULL, "Print the report as JSON." },
	{ NULL, NULL, NULL },
};

static int parse_opt(struct cli_parse *p, struct bench_args *a)
{
	static const struct {
		const char *name;
		size_t off;
		uint64_t min, max;
	} nums[] = {
		{ "concurrency", offsetof(struct bench_args, concurrency), 1,
		  65536 },
		{ "size", offsetof(struct bench_args, size), 1, 1 << 20 },
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
	};

	for (size_t i = 0; i < FFFS_ARRAY_LEN(nums); i++)
		if (cli_is(p, nums[i].name))
			return cli_u64(p, nums[i].min, nums[i].max,
				       (uint64_t *)((char *)a + nums[i].off));
	if (cli_is(p, "server"))
		a->server = p->val;
	else if (cli_is(p, "connect"))
		a->connect = p->val;
	else if (cli_is(p, "verify"))
		a->verify = true;
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

static int check_args(const struct bench_args *a)
{
	const char *why = NULL;

	if (!a->what)
		why = "which benchmark? (rpc)";
	else if (strcmp(a->what, "rpc"))
		why = "unknown benchmark (this build has: rpc)";
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
				.size = 64,
				.bulk_size = 1 << 20,
				.bulk_depth = 4,
				.duration_s = 3,
				.requests = 10000,
				.count = 10,
				.interval_ms = 100 };
	struct cli_parse p;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0)
		if (parse_opt(&p, &a)) {
			cli_usage_cmd(stderr, cmd);
			return 2;
		}
	if (rc < 0 || check_args(&a))
		return 2;
	rc = role_net_setup("bench", ROLE_BENCH);
	if (rc)
		return rc;
	if (a.server)
		return bench_rpc_server(&a);
	return bench_rpc_client(&a);
}
