/* roles/storage.c - `fffs storage`: open the targets, serve the chunk
 * store over RPC. Glue only. */
#define LOG_SUBSYS "main"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "chain/craq_srv.h"
#include "chain/storage_srv.h"
#include "mgmt/agent.h"
#include "net/iobuf.h"
#include "roles/roles.h"

#define MAX_TARGETS 64

const struct cli_opt storage_opts[] = {
	{ "target", "PATH[,size=BYTES][,id=N]",
	  "A target to serve: a block device or a file (created with size "
	  "when missing). Repeatable." },
	{ "state-dir", "DIR",
	  "Directory for the chunk metadata of the targets (one "
	  "subdirectory per target id)." },
	{ "listen", "URI", "Address to serve on, tcp://HOST:PORT." },
	{ NULL, NULL, NULL },
};

struct storage_args {
	struct target_spec specs[MAX_TARGETS];
	int n;
	const char *state_dir, *listen;
};

static int parse(const struct cli_cmd *cmd, int argc, char **argv,
		 struct storage_args *a)
{
	struct cli_parse p;
	char err[512];
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "target")) {
			if (a->n == MAX_TARGETS ||
			    target_spec_parse(p.val, &a->specs[a->n], err,
					      sizeof(err))) {
				fprintf(stderr, "fffs storage: %s\n",
					a->n == MAX_TARGETS ? "too many targets"
							    : err);
				return -1;
			}
			a->n++;
		} else if (cli_is(&p, "state-dir")) {
			a->state_dir = p.val;
		} else if (cli_is(&p, "listen")) {
			a->listen = p.val;
		} else {
			fprintf(stderr,
				"fffs storage: unexpected argument "
				"'%s'\n",
				p.val);
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (!a->n || !a->state_dir || !a->listen) {
		fprintf(stderr, "fffs storage: --target, --state-dir and "
				"--listen are required\n");
		cli_usage_cmd(stderr, cmd);
		return -1;
	}
	return 0;
}

static void core_init(struct core *c, void *arg)
{
	iobuf_register(c);
}

static void routing_changed(void *arg, struct routing *r)
{
	craq_srv_routing(r);
}

/* With a mgmtd: register, heartbeat, follow the routing info; the agent
 * runs on core 0. The address is the one served on, with its real port. */
static void launch(const char *listen)
{
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd),
				  .heartbeat = true,
				  .node_id = (uint32_t)config_int(CFG_node_id),
				  .role = ROLE_STORAGE,
				  .report = craq_srv_report,
				  .changed = routing_changed };

	agent_served_addr(&p, listen);
	agent_launch(&p);
}

static int serve(struct storage_args *a, struct store *s)
{
	char err[512];
	int rc;

	rc = loop_start((int)config_int(CFG_cores), core_init, NULL);
	if (rc) {
		fprintf(stderr, "fffs storage: cannot start event loops: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	storage_srv_init(s);
	rpc_use_iobuf(true);
	rc = rpc_serve(a->listen, storage_handlers, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "fffs storage: %s\n", err);
		loop_request_stop();
	} else {
		if (config_str(CFG_mgmtd)[0])
			launch(a->listen);
		printf("storage serving %d targets on port %d\n",
		       store_target_count(s), rpc_serve_port());
		fflush(stdout);
	}
	loop_main();
	return rc ? 1 : 0;
}

int cmd_storage(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct storage_args *a = xcalloc(1, sizeof(*a));
	struct store_params sp = { 0 };
	struct store *s = NULL;
	char err[1024];
	int rc = 2;

	if (parse(cmd, argc, argv, a))
		goto out;
	rc = role_net_setup("storage", ROLE_STORAGE);
	if (rc)
		goto out;
	rc = 1;
	if (iobuf_setup((int)config_int(CFG_cores),
			(size_t)config_int(CFG_io_buffer_size))) {
		fprintf(stderr, "fffs storage: cannot allocate I/O buffers\n");
		goto out;
	}
	sp = (struct store_params){ a->specs,
				    a->n,
				    a->state_dir,
				    config_str(CFG_cluster_id),
				    (uint32_t)config_int(CFG_node_id),
				    (uint64_t)config_int(
					    CFG_chunk_meta_map_size),
				    (int)config_int(CFG_cores) };
	if (config_str(CFG_mgmtd)[0] && !config_int(CFG_node_id)) {
		fprintf(stderr, "fffs storage: --mgmtd needs --node-id N (a "
				"number unique in the cluster)\n");
		rc = 2;
		goto out;
	}
	if (store_open(&sp, &s, err, sizeof(err))) {
		fprintf(stderr, "fffs storage: %s\n", err);
		goto out;
	}
	craq_srv_init(s);
	rc = serve(a, s);
	storage_srv_release();
	store_close(s);
out:
	free(a);
	return rc;
}
