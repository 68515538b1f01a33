/* roles/mgmtd.c - `fffs mgmtd`: open the cluster state, run the updater,
 * serve the cluster manager's RPCs. Glue only. */
#define LOG_SUBSYS "main"
#include <stdio.h>

#include "base/config.h"
#include "mgmt/mgmtd.h"
#include "roles/roles.h"

const struct cli_opt mgmtd_opts[] = {
	{ "state-dir", "DIR",
	  "Directory of the cluster state (LMDB); created when missing." },
	{ "listen", "URI", "Address to serve on, tcp://HOST:PORT." },
	{ NULL, NULL, NULL },
};

static void core_init(struct core *c, void *arg)
{
	mgmtd_start(c);
}

static int serve(const char *listen)
{
	char err[512];
	int rc = loop_start(1, core_init, NULL);

	if (rc) {
		fprintf(stderr, "fffs mgmtd: cannot start the event loop: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	rc = rpc_serve(listen, mgmtd_handlers, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "fffs mgmtd: %s\n", err);
		loop_request_stop();
	} else {
		printf("mgmtd serving on port %d\n", rpc_serve_port());
		fflush(stdout);
	}
	loop_main();
	return rc ? 1 : 0;
}

int cmd_mgmtd(const struct cli_cmd *cmd, int argc, char **argv)
{
	const char *state_dir = NULL, *listen = NULL;
	struct mgmtd_params mp;
	struct cli_parse p;
	char err[1024];
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "state-dir")) {
			state_dir = p.val;
		} else if (cli_is(&p, "listen")) {
			listen = p.val;
		} else {
			fprintf(stderr,
				"fffs mgmtd: unexpected argument '%s'\n",
				p.val);
			return 2;
		}
	}
	if (rc < 0)
		return 2;
	if (!state_dir || !listen) {
		fprintf(stderr, "fffs mgmtd: --state-dir and --listen are "
				"required\n");
		cli_usage_cmd(stderr, cmd);
		return 2;
	}
	rc = role_net_setup("mgmtd", ROLE_MGMTD);
	if (rc)
		return rc;
	if (config_int(CFG_cores) != 1)
		log_info("mgmtd runs on one core (--cores %lld ignored)",
			 (long long)config_int(CFG_cores));
	mp = (struct mgmtd_params){ state_dir, config_str(CFG_cluster_id),
				    1ull << 30 };
	if (mgmtd_open(&mp, err, sizeof(err))) {
		fprintf(stderr, "fffs mgmtd: %s\n", err);
		return 1;
	}
	rc = serve(listen);
	mgmtd_close();
	return rc;
}
