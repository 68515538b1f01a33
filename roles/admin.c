/* roles/admin.c - `fffs admin`: the operator's commands against mgmtd,
 * each printing a table, or JSON with --json. */
#define LOG_SUBSYS "admin"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "mgmt/routing.h"
#include "net/pack.h"
#include "net/rpc.h"
#include "roles/admin_meta.h"
#include "roles/roles.h"

#define MAX_WORDS 6

const struct cli_opt admin_opts[] = {
	{ "json", NULL, "Print the answer as JSON." },
	{ "chains", "N", "table create: number of chains (default 1)." },
	{ "replicas", "R", "table create: targets per chain (default 3)." },
	{ "role", "ROLE",
	  "table create: whose targets the chains take: storage (default) or "
	  "meta (the meta chain)." },
	{ "server", "URI",
	  "fsck: ask this meta server (default: the meta chain's tail)." },
	{ "all", NULL, "fsck: ask every serving replica of the meta chain." },
	{ "table", "T", "layout set: the chain table of new files." },
	{ "chunk-size", "S",
	  "layout set: chunk size (a power of two, 64K..64M)." },
	{ "stripe", "N", "layout set: chains each new file spreads over." },
	{ "mode", "OCTAL",
	  "ns mkdir / create: permission bits (default 755 / 644)." },
	{ "page", "N", "ns ls: entries per readdir request (default 1024)." },
	{ "clients", "N", "ns load: concurrent workers (default 4)." },
	{ "ops", "M", "ns load: operations in all (default 1000)." },
	{ "seed", "S", "ns load: random seed (default 1)." },
	{ "log", "FILE",
	  "ns load: append one line per acknowledged operation (default: "
	  "stdout)." },
	{ NULL, NULL, NULL },
};

struct admin {
	const char *words[MAX_WORDS];
	int nwords;
	bool json;
	uint64_t chains, replicas;
	uint8_t role;	     /* table create: ROLE_STORAGE or ROLE_META */
	struct ameta_args m; /* fsck, meta, layout, ns */
	/* the request */
	uint16_t type;
	uint8_t body[64];
	uint32_t body_len;
	struct rpc_call call;
	struct loop_msg start;
	int exit_code;
	/* a status answer */
	struct routing *r;
	uint32_t lease_ms, nages;
	uint32_t (*ages)[2];
	/* an answer to a change */
	uint64_t version;
	uint32_t table;
};

/* ---- printing ------------------------------------------------------------ */

static uint32_t node_age(const struct admin *a, uint32_t node)
{
	for (uint32_t i = 0; i < a->nages; i++)
		if (a->ages[i][0] == node)
			return a->ages[i][1];
	return UINT32_MAX;
}

static const char *chain_health(const struct routing *r,
				const struct rt_chain *ch)
{
	uint64_t serving[RT_CHAIN_MAX];
	int n = routing_chain_serving(r, ch, serving);

	return n == ch->n ? "ok" : n ? "degraded" : "no head";
}

static void print_nodes(const struct admin *a)
{
	printf("%-6s %-8s %-6s %-28s %s\n", "NODE", "ROLE", "STATUS", "ADDRESS",
	       "HEARTBEAT");
	for (uint32_t i = 0; i < a->r->nnodes; i++) {
		const struct rt_node *n = &a->r->nodes[i];
		uint32_t age = node_age(a, n->id);
		char hb[32] = "never";

		if (age != UINT32_MAX)
			snprintf(hb, sizeof(hb), "%.1f s ago", age / 1000.0);
		printf("%-6u %-8s %-6s %-28s %s\n", n->id,
		       node_role_name(n->role), rt_node_status_name(n->status),
		       n->addr, hb);
	}
}

static void print_targets(const struct admin *a)
{
	printf("%-10s %-6s %-6s %-8s %-9s %-12s %-12s %s\n", "TARGET", "NODE",
	       "CHAIN", "STATE", "LOCAL", "CAPACITY", "USED", "FLAGS");
	for (uint32_t i = 0; i < a->r->ntargets; i++) {
		const struct rt_target *t = &a->r->targets[i];

		printf("%-10llu %-6u %-6u %-8s %-9s %-12llu %-12llu %s\n",
		       (unsigned long long)t->id, t->node, t->chain,
		       rt_pstate_name(t->pstate), rt_lstate_name(t->lstate),
		       (unsigned long long)t->capacity,
		       (unsigned long long)t->used,
		       (t->flags & RT_TF_ADMIN_OFFLINE) ? "admin-offline"
							: "-");
	}
}

static void print_chains(const struct admin *a)
{
	printf("%-6s %-6s %-8s %-9s %s\n", "CHAIN", "TABLE", "VERSION",
	       "HEALTH", "TARGETS (head first)");
	for (uint32_t i = 0; i < a->r->nchains; i++) {
		const struct rt_chain *ch = &a->r->chains[i];

		printf("%-6u %-6u %-8u %-9s", ch->id, ch->table, ch->version,
		       chain_health(a->r, ch));
		for (int k = 0; k < ch->n; k++) {
			const struct rt_target *t =
				routing_target(a->r, ch->targets[k]);

			printf(" %llu(%s)", (unsigned long long)ch->targets[k],
			       t ? rt_pstate_name(t->pstate) : "?");
		}
		printf("\n");
	}
}

static void print_tables(const struct admin *a)
{
	printf("%-6s %-8s %-9s %s\n", "TABLE", "VERSION", "REPLICAS", "CHAINS");
	for (uint32_t i = 0; i < a->r->ntables; i++) {
		const struct rt_table *t = &a->r->tables[i];

		printf("%-6u %-8u %-9u", t->id, t->version, t->replicas);
		for (uint32_t k = 0; k < t->n; k++)
			printf(" %u", t->chains[k]);
		printf("\n");
	}
}

static void print_status(const struct admin *a)
{
	const struct routing *r = a->r;
	uint32_t up = 0, serving = 0, ok = 0;
	uint64_t cap = 0, used = 0;

	for (uint32_t i = 0; i < r->nnodes; i++)
		up += r->nodes[i].status == RT_NODE_UP;
	for (uint32_t i = 0; i < r->ntargets; i++) {
		serving += r->targets[i].pstate == RT_SERVING;
		cap += r->targets[i].capacity;
		used += r->targets[i].used;
	}
	for (uint32_t i = 0; i < r->nchains; i++)
		ok += !strcmp(chain_health(r, &r->chains[i]), "ok");
	printf("cluster %s: routing version %llu, lease %u ms\n", r->cluster,
	       (unsigned long long)r->version, a->lease_ms);
	printf("%u nodes (%u up), %u targets (%u serving), %u chains (%u "
	       "ok), %u tables; %llu of %llu bytes used\n\n",
	       r->nnodes, up, r->ntargets, serving, r->nchains, ok, r->ntables,
	       (unsigned long long)used, (unsigned long long)cap);
	print_nodes(a);
	printf("\n");
	print_targets(a);
	printf("\n");
	print_chains(a);
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *json_nodes(const struct admin *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (uint32_t i = 0; i < a->r->nnodes; i++) {
		const struct rt_node *n = &a->r->nodes[i];
		cJSON *o = cJSON_CreateObject();
		uint32_t age = node_age(a, n->id);

		cJSON_AddNumberToObject(o, "id", n->id);
		cJSON_AddStringToObject(o, "role", node_role_name(n->role));
		cJSON_AddStringToObject(o, "status",
					rt_node_status_name(n->status));
		cJSON_AddStringToObject(o, "address", n->addr);
		if (age == UINT32_MAX)
			cJSON_AddNullToObject(o, "heartbeat_age_ms");
		else
			cJSON_AddNumberToObject(o, "heartbeat_age_ms", age);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *json_targets(const struct admin *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (uint32_t i = 0; i < a->r->ntargets; i++) {
		const struct rt_target *t = &a->r->targets[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "id", (double)t->id);
		cJSON_AddNumberToObject(o, "node", t->node);
		cJSON_AddNumberToObject(o, "chain", t->chain);
		cJSON_AddStringToObject(o, "state", rt_pstate_name(t->pstate));
		cJSON_AddStringToObject(o, "local", rt_lstate_name(t->lstate));
		cJSON_AddNumberToObject(o, "capacity", (double)t->capacity);
		cJSON_AddNumberToObject(o, "used", (double)t->used);
		cJSON_AddBoolToObject(o, "admin_offline",
				      t->flags & RT_TF_ADMIN_OFFLINE);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *json_chains(const struct admin *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (uint32_t i = 0; i < a->r->nchains; i++) {
		const struct rt_chain *ch = &a->r->chains[i];
		cJSON *o = cJSON_CreateObject(), *ts = cJSON_CreateArray();

		cJSON_AddNumberToObject(o, "id", ch->id);
		cJSON_AddNumberToObject(o, "table", ch->table);
		cJSON_AddNumberToObject(o, "version", ch->version);
		cJSON_AddStringToObject(o, "health", chain_health(a->r, ch));
		for (int k = 0; k < ch->n; k++) {
			const struct rt_target *t =
				routing_target(a->r, ch->targets[k]);
			cJSON *x = cJSON_CreateObject();

			cJSON_AddNumberToObject(x, "id",
						(double)ch->targets[k]);
			cJSON_AddStringToObject(x, "state",
						t ? rt_pstate_name(t->pstate)
						  : "?");
			cJSON_AddItemToArray(ts, x);
		}
		cJSON_AddItemToObject(o, "targets", ts);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *json_tables(const struct admin *a)
{
	cJSON *arr = cJSON_CreateArray();

	for (uint32_t i = 0; i < a->r->ntables; i++) {
		const struct rt_table *t = &a->r->tables[i];
		cJSON *o = cJSON_CreateObject(), *cs = cJSON_CreateArray();

		cJSON_AddNumberToObject(o, "id", t->id);
		cJSON_AddNumberToObject(o, "version", t->version);
		cJSON_AddNumberToObject(o, "replicas", t->replicas);
		for (uint32_t k = 0; k < t->n; k++)
			cJSON_AddItemToArray(cs,
					     cJSON_CreateNumber(t->chains[k]));
		cJSON_AddItemToObject(o, "chains", cs);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void json_print(cJSON *o)
{
	char *s = cJSON_Print(o);

	printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

/* What a status-kind command prints: "status", "nodes", ... */
static void status_print(const struct admin *a, const char *what)
{
	cJSON *o;

	if (!a->json) {
		if (!strcmp(what, "status"))
			print_status(a);
		else if (!strcmp(what, "nodes"))
			print_nodes(a);
		else if (!strcmp(what, "targets"))
			print_targets(a);
		else if (!strcmp(what, "chains"))
			print_chains(a);
		else
			print_tables(a);
		return;
	}
	if (strcmp(what, "status")) {
		json_print(!strcmp(what, "nodes")     ? json_nodes(a)
			   : !strcmp(what, "targets") ? json_targets(a)
			   : !strcmp(what, "chains")  ? json_chains(a)
						      : json_tables(a));
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cluster", a->r->cluster);
	cJSON_AddNumberToObject(o, "routing_version", (double)a->r->version);
	cJSON_AddNumberToObject(o, "lease_ms", a->lease_ms);
	cJSON_AddItemToObject(o, "nodes", json_nodes(a));
	cJSON_AddItemToObject(o, "targets", json_targets(a));
	cJSON_AddItemToObject(o, "chains", json_chains(a));
	cJSON_AddItemToObject(o, "tables", json_tables(a));
	json_print(o);
}

/* ---- the request --------------------------------------------------------- */

static int status_decode(struct admin *a, const void *body, uint32_t len)
{
	const void *enc;
	struct unpack up;
	uint32_t elen;

	unpack_init(&up, body, len);
	unpack_blob(&up, &enc, &elen);
	a->lease_ms = unpack_u32(&up);
	a->nages = unpack_u32(&up);
	if (up.err || unpack_left(&up) != a->nages * 8ull ||
	    routing_decode(enc, elen, &a->r))
		return -FFFS_EBADFRAME;
	a->ages = xcalloc(a->nages ? a->nages : 1, sizeof(*a->ages));
	for (uint32_t i = 0; i < a->nages; i++) {
		a->ages[i][0] = unpack_u32(&up);
		a->ages[i][1] = unpack_u32(&up);
	}
	return 0;
}

/* The reason mgmtd gave with a refusal, or "". */
static void refusal_print(const struct admin *a, int status, const void *body,
			  uint32_t len)
{
	struct unpack up;
	const char *s = "";
	size_t n = 0;

	unpack_init(&up, body, len);
	unpack_str(&up, &s, &n);
	if (up.err)
		n = 0;
	fprintf(stderr, "fffs admin %s: %s%s%.*s\n", a->words[0],
		fffs_strerror(status), n ? ": " : "", (int)n, s);
}

static void change_print(const struct admin *a)
{
	cJSON *o;

	if (!a->json) {
		if (a->type == MSG_ADM_MGMT_TABLE_CREATE)
			printf("table %u created; routing version %llu\n",
			       a->table, (unsigned long long)a->version);
		else
			printf("done; routing version %llu\n",
			       (unsigned long long)a->version);
		return;
	}
	o = cJSON_CreateObject();
	if (a->type == MSG_ADM_MGMT_TABLE_CREATE)
		cJSON_AddNumberToObject(o, "table", a->table);
	cJSON_AddNumberToObject(o, "routing_version", (double)a->version);
	json_print(o);
}

static void answered(struct core *c, struct rpc_call *call, int status,
		     const void *body, uint32_t len)
{
	struct admin *a = fffs_container_of(call, struct admin, call);
	struct unpack up;

	a->exit_code = 1;
	if (status && a->type != MSG_ADM_MGMT_STATUS) {
		refusal_print(a, status, body, len);
	} else if (status) {
		fprintf(stderr, "fffs admin %s: cannot reach mgmtd %s: %s\n",
			a->words[0], config_str(CFG_mgmtd),
			fffs_strerror(status));
	} else if (a->type == MSG_ADM_MGMT_STATUS) {
		if (status_decode(a, body, len))
			fprintf(stderr, "fffs admin: malformed answer\n");
		else
			a->exit_code = 0;
	} else {
		unpack_init(&up, body, len);
		if (a->type == MSG_ADM_MGMT_TABLE_CREATE)
			a->table = unpack_u32(&up);
		a->version = unpack_u64(&up);
		a->exit_code = unpack_finish(&up) ? 1 : 0;
	}
	loop_request_stop();
}

static void start(struct core *c, struct loop_msg *m)
{
	struct admin *a = fffs_container_of(m, struct admin, start);
	struct rpc_peer *p;
	char err[256];

	p = rpc_peer_get(c, config_str(CFG_mgmtd), err, sizeof(err));
	if (!p) {
		fprintf(stderr, "fffs admin: --mgmtd: %s\n", err);
		a->exit_code = 2;
		loop_request_stop();
		return;
	}
	a->call.type = a->type;
	a->call.body = a->body;
	a->call.body_len = a->body_len;
	a->call.done = answered;
	rpc_call_start(c, p, &a->call);
}

static int request(struct admin *a)
{
	int rc;

	if (!config_str(CFG_mgmtd)[0]) {
		fprintf(stderr, "fffs admin %s: --mgmtd URI is required\n",
			a->words[0]);
		return 2;
	}
	rc = role_net_setup("admin", ROLE_ADMIN);
	if (rc)
		return rc;
	rc = loop_start(1, NULL, NULL);
	if (rc) {
		fprintf(stderr, "fffs admin: cannot start the event loop: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	a->start.cb = start;
	core_post(core_get(0), &a->start);
	loop_main();
	return a->exit_code;
}

/* ---- the commands -------------------------------------------------------- */

static int word_u64(const struct admin *a, int i, const char *what,
		    uint64_t max, uint64_t *out)
{
	char *end;

	if (i >= a->nwords) {
		fprintf(stderr, "fffs admin %s: %s is missing\n", a->words[0],
			what);
		return -1;
	}
	errno = 0;
	*out = strtoull(a->words[i], &end, 10);
	if (errno || *end || !*out || *out > max) {
		fprintf(stderr, "fffs admin %s: bad %s '%s'\n", a->words[0],
			what, a->words[i]);
		return -1;
	}
	return 0;
}

static int cmd_init(const struct admin *a)
{
	const char *cluster = config_str(CFG_cluster_id);
	const char *file = config_str(CFG_secret_file);
	char err[512];
	cJSON *o;

	if (auth_secret_create(file, err, sizeof(err))) {
		fprintf(stderr, "fffs admin init: %s\n", err);
		return 1;
	}
	if (!a->json) {
		printf("cluster %s: new secret in '%s'; start every daemon "
		       "with --cluster-id %s --secret-file %s\n",
		       cluster, file, cluster, file);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cluster", cluster);
	cJSON_AddStringToObject(o, "secret_file", file);
	json_print(o);
	return 0;
}

/* --role: storage or meta. */
static int role_arg(struct cli_parse *p, uint8_t *role)
{
	if (!strcmp(p->val, "storage") || !strcmp(p->val, "meta")) {
		*role = p->val[0] == 's' ? ROLE_STORAGE : ROLE_META;
		return 0;
	}
	fprintf(stderr, "fffs admin: --role %s: not storage or meta\n", p->val);
	return -1;
}

/* The request of a change command into a->type and a->body. */
static int change_build(struct admin *a)
{
	const char *w = a->words[0], *w1 = a->nwords > 1 ? a->words[1] : "";
	uint64_t x = 0, y = 0;
	struct pack pk;

	pack_init(&pk, a->body, sizeof(a->body));
	if (!strcmp(w, "table") && !strcmp(w1, "create")) {
		a->type = MSG_ADM_MGMT_TABLE_CREATE;
		pack_u32(&pk, (uint32_t)a->chains);
		pack_u8(&pk, (uint8_t)a->replicas);
		pack_u8(&pk, a->role);
	} else if (!strcmp(w, "target") && !strcmp(w1, "offline")) {
		if (word_u64(a, 2, "TARGET", UINT64_MAX, &x))
			return 2;
		a->type = MSG_ADM_MGMT_TARGET_OFFLINE;
		pack_u64(&pk, x);
	} else if (!strcmp(w, "chain") && (!strcmp(w1, "add-target") ||
					   !strcmp(w1, "remove-target"))) {
		if (word_u64(a, 2, "CHAIN", UINT32_MAX, &x) ||
		    word_u64(a, 3, "TARGET", UINT64_MAX, &y))
			return 2;
		a->type = w1[0] == 'a' ? MSG_ADM_MGMT_CHAIN_ADD_TARGET
				       : MSG_ADM_MGMT_CHAIN_REMOVE_TARGET;
		pack_u32(&pk, (uint32_t)x);
		pack_u64(&pk, y);
	} else {
		fprintf(stderr, "fffs admin: unknown command '%s%s%s'\n", w,
			*w1 ? " " : "", w1);
		return 2;
	}
	a->body_len = (uint32_t)pack_len(&pk);
	return 0;
}

static int run(struct admin *a)
{
	static const char *const views[] = { "status", "nodes", "targets",
					     "chains", "tables" };
	int rc;

	if (!strcmp(a->words[0], "init"))
		return cmd_init(a);
	if (ameta_is_cmd(a->words[0]))
		return ameta_run(&a->m, a->words, a->nwords, a->json);
	for (size_t i = 0; i < FFFS_ARRAY_LEN(views); i++) {
		if (strcmp(a->words[0], views[i]) || a->nwords != 1)
			continue;
		a->type = MSG_ADM_MGMT_STATUS;
		rc = request(a);
		if (!rc)
			status_print(a, views[i]);
		return rc;
	}
	rc = change_build(a);
	if (rc)
		return rc;
	rc = request(a);
	if (!rc)
		change_print(a);
	return rc;
}

int cmd_admin(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct admin a = { .chains = 1,
			   .replicas = 3,
			   .role = ROLE_STORAGE,
			   .m = AMETA_ARGS_INIT };
	struct cli_parse p;
	int rc;

	cli_parse_init(&p, cmd, argc, argv);
	while ((rc = cli_next(&p)) > 0) {
		if (cli_is(&p, "json"))
			a.json = true;
		else if (cli_is(&p, "chains"))
			rc = cli_u64(&p, 1, 100000, &a.chains);
		else if (cli_is(&p, "replicas"))
			rc = cli_u64(&p, 1, RT_CHAIN_MAX, &a.replicas);
		else if (cli_is(&p, "role"))
			rc = role_arg(&p, &a.role);
		else if (p.opt && (rc = ameta_opt(&p, &a.m)) != 1)
			; /* a metadata command's option */
		else if (a.nwords < MAX_WORDS)
			a.words[a.nwords++] = p.val;
		else
			rc = -1;
		if (rc < 0) {
			cli_usage_cmd(stderr, cmd);
			return 2;
		}
	}
	if (rc < 0)
		return 2;
	if (!a.nwords) {
		fprintf(stderr, "fffs admin: a command is required\n");
		cli_usage_cmd(stderr, cmd);
		return 2;
	}
	rc = run(&a);
	routing_unref(a.r);
	free(a.ages);
	return rc;
}
