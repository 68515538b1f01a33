/* roles/meta.c - `fffs meta`: open the namespace db, serve it as one
 * replica of the meta chain (meta/msrv.h), with the mgmtd agent. Glue
 * only. */
#define LOG_SUBSYS "main"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "meta/msrv.h"
#include "mgmt/agent.h"
#include "roles/roles.h"

const struct cli_opt meta_opts[] = {
	{ "state-dir", "DIR",
	  "Directory of this replica's namespace db (created, and formatted "
	  "when empty)." },
	{ "listen", "URI", "Address to serve on, tcp://HOST:PORT." },
	{ "target-id", "N",
	  "This replica's target id (default: node id << 16)." },
	{ NULL, NULL, NULL },
};

struct meta_args {
	const char *state_dir, *listen;
	uint64_t target;
};

static int parse(const struct cli_cmd *cmd, int argc, char **argv,
		 struct meta_args *a)
{
	struct cli_parse p;
	char *end;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "state-dir")) {
			a->state_dir = p.val;
		} else if (cli_is(&p, "listen")) {
			a->listen = p.val;
		} else if (cli_is(&p, "target-id")) {
			a->target = strtoull(p.val, &end, 0);
			if (!*p.val || *end || !a->target) {
				fprintf(stderr,
					"fffs meta: bad --target-id '%s': "
					"expected a positive number\n",
					p.val);
				return -1;
			}
		} else {
			fprintf(stderr, "fffs meta: unexpected argument '%s'\n",
				p.val);
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (!a->state_dir || !a->listen) {
		fprintf(stderr, "fffs meta: --state-dir and --listen are "
				"required\n");
		cli_usage_cmd(stderr, cmd);
		return -1;
	}
	return 0;
}

/* The agent on core 0, which also runs the forwarder (meta/msrv.h). */
static void launch(const char *listen, struct msrv *s)
{
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd),
				  .heartbeat = true,
				  .node_id = (uint32_t)config_int(CFG_node_id),
				  .role = ROLE_META,
				  .report = msrv_report,
				  .changed = msrv_routing,
				  .arg = s };

	agent_served_addr(&p, listen);
	agent_launch(&p);
}

static int serve(struct meta_args *a, struct msrv *s)
{
	char err[512];
	int rc;

	rc = loop_start((int)config_int(CFG_cores), NULL, NULL);
	if (rc) {
		fprintf(stderr, "fffs meta: cannot start event loops: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	rc = rpc_serve(a->listen, msrv_handlers, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "fffs meta: %s\n", err);
		loop_request_stop();
	} else {
		launch(a->listen, s);
		printf("meta serving target %llu on port %d\n",
		       (unsigned long long)a->target, rpc_serve_port());
		fflush(stdout);
	}
	loop_main();
	return rc ? 1 : 0;
}

int cmd_meta(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct meta_args a = { 0 };
	struct msrv_params mp;
	struct msrv *s = NULL;
	char err[1024];
	int rc;

	if (parse(cmd, argc, argv, &a))
		return 2;
	if (!config_str(CFG_mgmtd)[0] || !config_int(CFG_node_id)) {
		fprintf(stderr, "fffs meta: --mgmtd URI and --node-id N are "
				"required (a meta server is a member of a "
				"chain mgmtd manages)\n");
		return 2;
	}
	if (!a.target)
		a.target = (uint64_t)config_int(CFG_node_id) << 16;
	rc = role_net_setup("meta", ROLE_META);
	if (rc)
		return rc;
	mp = (struct msrv_params){ a.state_dir, a.target,
				   (uint64_t)config_int(CFG_meta_map_size),
				   config_str(CFG_cluster_id),
				   (uint32_t)config_int(CFG_node_id) };
	if (msrv_open(&mp, &s, err, sizeof(err))) {
		fprintf(stderr, "fffs meta: %s\n", err);
		return 1;
	}
	rc = serve(&a, s);
	msrv_close(s);
	return rc;
}
