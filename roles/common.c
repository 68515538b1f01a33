/* roles/common.c - start-up shared by the roles, and the commands that are
 * not roles: version and the roles of later milestones. */
#define LOG_SUBSYS "main"
#include <stdio.h>

#include "base/config.h"
#include "base/fault.h"
#include "base/metrics.h"
#include "net/conn.h"
#include "net/metrics_http.h"
#include "roles/roles.h"

const struct cli_opt no_opts[] = { { NULL, NULL, NULL } };

/* Lives as long as the process: connections borrow it. */
static struct auth_secret secret;

/* --metrics: the HTTP endpoint, and fffs_info naming the role. */
static int metrics_setup(const char *role_name)
{
	const char *uri = config_str(CFG_metrics);
	char err[512];
	int port;

	metrics_set(metrics_get(metrics_family("fffs_info", METRIC_GAUGE,
					       "This process: its role and "
					       "version (always 1).",
					       "role,version"),
				role_name, FFFS_VERSION),
		    1);
	if (!uri[0])
		return 0;
	port = metrics_http_start(uri, err, sizeof(err));
	if (port < 0) {
		fprintf(stderr, "fffs %s: %s\n", role_name, err);
		return 2;
	}
	log_info("metrics on port %d", port);
	return 0;
}

int role_net_setup(const char *role_name, int role)
{
	struct auth_self self = { .node_id = (uint32_t)config_int(CFG_node_id),
				  .role = (uint8_t)role };
	char err[512];

	log_set_role(role_name);
	if (fault_setup(err, sizeof(err))) {
		fprintf(stderr, "fffs %s: %s\n", role_name, err);
		return 2;
	}
	if (auth_secret_load(config_str(CFG_secret_file), &secret, err,
			     sizeof(err))) {
		fprintf(stderr, "fffs %s: %s\n", role_name, err);
		return 1;
	}
	snprintf(self.cluster, sizeof(self.cluster), "%s",
		 config_str(CFG_cluster_id));
	conn_identity_set(&secret, &self);
	return metrics_setup(role_name);
}

int cmd_version(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parse p;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		fprintf(stderr, "fffs version: unexpected argument '%s'\n",
			p.val);
		return 2;
	}
	if (rc < 0)
		return 2;
	printf("fffs %s\n", FFFS_VERSION);
	return 0;
}

int cmd_not_built(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_parse p;

	cli_parse_init(&p, cmd, argc, argv);
	while (cli_next(&p) > 0) {
		/* parse for --help and usage errors only */
	}
	fprintf(stderr,
		"fffs %s: not built yet in fffs %s; it arrives with a later "
		"milestone\n",
		cmd->name, FFFS_VERSION);
	return 2;
}
