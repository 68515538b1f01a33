/* roles/admin_meta.c - `fffs admin fsck|meta digest|layout|ns`: the
 * metadata commands, run as a script of blocking calls on a thread beside
 * the one loop core (meta/mcli.h mcli_call, and direct RPCs to replicas). */
#define LOG_SUBSYS "admin"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "mgmt/agent.h"
#include "net/auth.h"
#include "net/pack.h"
#include "roles/admin_meta.h"
#include "roles/roles.h"

struct ameta {
	const struct ameta_args *args;
	const char *const *w;
	int nw;
	bool json;
	struct mcli cl;
	struct ns_cred cred;
	struct loop_msg start;
	pthread_t thread;
	int exit_code;
	/* the last call: sends it took, the target that answered */
	uint32_t attempts;
	uint64_t served_by;
};

/* ---- options ------------------------------------------------------------- */

static int mode_arg(const struct cli_parse *p, uint32_t *mode)
{
	char *end;
	unsigned long v = strtoul(p->val, &end, 8);

	if (!*p->val || *end || v > 07777) {
		fprintf(stderr, "fffs admin: --mode %s: not an octal mode\n",
			p->val);
		return -1;
	}
	*mode = (uint32_t)v;
	return 0;
}

int ameta_opt(struct cli_parse *p, struct ameta_args *m)
{
	if (cli_is(p, "server"))
		m->server = p->val;
	else if (cli_is(p, "all"))
		m->all = true;
	else if (cli_is(p, "table"))
		return m->table_set = true,
		       cli_u64(p, 0, UINT32_MAX, &m->table);
	else if (cli_is(p, "chunk-size"))
		return m->chunk_set = true,
		       cli_u64(p, 1, UINT32_MAX, &m->chunk_size);
	else if (cli_is(p, "stripe"))
		return m->stripe_set = true,
		       cli_u64(p, 1, UINT32_MAX, &m->stripe);
	else if (cli_is(p, "mode"))
		return mode_arg(p, &m->mode);
	else if (cli_is(p, "page"))
		return cli_u64(p, 1, MREADDIR_MAX, &m->page);
	else if (cli_is(p, "clients"))
		return cli_u64(p, 1, 4096, &m->clients);
	else if (cli_is(p, "ops"))
		return cli_u64(p, 1, UINT32_MAX, &m->ops);
	else if (cli_is(p, "seed"))
		return cli_u64(p, 0, UINT64_MAX, &m->seed);
	else if (cli_is(p, "log"))
		m->log = p->val;
	else
		return 1;
	return 0;
}

bool ameta_is_cmd(const char *word)
{
	return !strcmp(word, "fsck") || !strcmp(word, "meta") ||
	       !strcmp(word, "layout") || !strcmp(word, "ns");
}

void ameta_cred(struct ns_cred *cred)
{
	gid_t g[NS_NGROUPS_MAX];
	int n = getgroups(NS_NGROUPS_MAX, g);

	memset(cred, 0, sizeof(*cred));
	cred->uid = (uint32_t)geteuid();
	cred->gid = (uint32_t)getegid();
	for (int i = 0; i < n; i++)
		cred->groups[cred->ngroups++] = (uint32_t)g[i];
}

/* ---- blocking calls ------------------------------------------------------ */

static int sh_call(struct ameta *a, struct mcli_op *op)
{
	int rc;

	op->q.cred = a->cred;
	rc = mcli_call(&a->cl, op);
	a->attempts = op->attempts;
	a->served_by = op->served_by;
	return rc;
}

/* A direct request to one server (fsck, digest): the answer's body in
 * *body (free it). */
struct acall {
	struct loop_msg msg;
	const char *uri;
	uint16_t type;
	struct rpc_call call;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
	int status;
	void *body;
	uint32_t len;
};

static void acall_wake(struct acall *x, int status)
{
	pthread_mutex_lock(&x->mu);
	x->status = status;
	x->finished = true;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

static void acall_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct acall *x = fffs_container_of(call, struct acall, call);

	x->body = xmalloc(len ? len : 1);
	memcpy(x->body, body, len);
	x->len = len;
	acall_wake(x, status);
}

static void acall_start(struct core *c, struct loop_msg *m)
{
	struct acall *x = fffs_container_of(m, struct acall, msg);
	char err[256];
	struct rpc_peer *p = rpc_peer_get(c, x->uri, err, sizeof(err));
	int rc;

	if (!p) {
		fprintf(stderr, "fffs admin: %s: %s\n", x->uri, err);
		return acall_wake(x, -EINVAL);
	}
	x->call.type = x->type;
	x->call.done = acall_done;
	x->call.timeout_ms = (uint32_t)config_int(CFG_mcli_timeout_ms);
	rc = rpc_call_start(c, p, &x->call);
	if (rc)
		acall_wake(x, rc);
}

static int acall(struct ameta *a, const char *uri, uint16_t type, void **body,
		 uint32_t *len)
{
	struct acall x = { .uri = uri, .type = type };

	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.cv, NULL);
	x.msg.cb = acall_start;
	core_post(a->cl.c, &x.msg);
	pthread_mutex_lock(&x.mu);
	while (!x.finished)
		pthread_cond_wait(&x.cv, &x.mu);
	pthread_mutex_unlock(&x.mu);
	pthread_mutex_destroy(&x.mu);
	pthread_cond_destroy(&x.cv);
	*body = x.body;
	*len = x.len;
	return x.status;
}

/* The routing info, waiting for the agent's first answer (bounded by
 * mcli_timeout_ms). NULL after printing why. */
static struct routing *routing_wait(void)
{
	uint64_t end =
		now_ns() + (uint64_t)config_int(CFG_mcli_timeout_ms) * 1000000;
	struct routing *r;

	while (!(r = agent_routing()) && now_ns() < end)
		usleep(20000);
	if (!r)
		fprintf(stderr, "fffs admin: no routing info from mgmtd %s\n",
			config_str(CFG_mgmtd));
	return r;
}

/* ---- paths --------------------------------------------------------------- */

static int resolve(struct ameta *a, const char *path, bool follow,
		   struct ns_attr *out)
{
	struct mcli_op op = { .q.op = MOP_RESOLVE };
	int rc;

	if (path[0] != '/')
		return -EINVAL;
	op.q.data = (uint8_t *)path;
	op.q.data_len = (uint32_t)strlen(path);
	op.q.flags = follow;
	rc = sh_call(a, &op);
	if (!rc && op.r.res.n < 1)
		rc = -FFFS_EBADFRAME;
	if (!rc)
		*out = op.r.res.a[0];
	mres_release(&op.r);
	return rc;
}

/* path's parent directory (resolved) and last name. */
static int split(struct ameta *a, const char *path, uint64_t *parent,
		 char *name)
{
	char dir[NS_PATH_MAX];
	struct ns_attr at = { 0 };
	size_t n = strlen(path);
	const char *slash;
	int rc;

	if (path[0] != '/' || n >= NS_PATH_MAX)
		return path[0] != '/' ? -EINVAL : -ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = 0;
	slash = strrchr(dir, '/');
	if (!slash[1])
		return -EINVAL; /* the root has no name */
	if (strlen(slash + 1) > NS_NAME_MAX)
		return -ENAMETOOLONG;
	snprintf(name, NS_NAME_MAX + 1, "%s", slash + 1);
	dir[slash == dir ? 1 : slash - dir] = 0;
	rc = resolve(a, dir, true, &at);
	if (rc)
		return rc;
	if (!S_ISDIR(at.mode))
		return -ENOTDIR;
	*parent = at.ino;
	return 0;
}

static int fail(const struct ameta *a, const char *subject, int rc)
{
	bool away = rc == -FFFS_ENOTSERVING || rc == -ETIMEDOUT ||
		    rc == -ECONNREFUSED || rc == -ECONNRESET;

	fprintf(stderr, "fffs admin %s %s %s: %s%s\n", a->w[0],
		a->nw > 1 ? a->w[1] : "", subject,
		rc == -EINVAL && subject[0] != '/' ? "not an absolute path"
						   : fffs_strerror(rc),
		away ? " (no meta chain answered within mcli_timeout_ms)" : "");
	return 1;
}

static int need(const struct ameta *a, int n, const char *usage)
{
	if (a->nw == n)
		return 0;
	fprintf(stderr, "fffs admin %s %s: usage: fffs admin %s %s %s\n",
		a->w[0], a->w[1], a->w[0], a->w[1], usage);
	return 2;
}

/* ---- printing ------------------------------------------------------------ */

static const char *type_name(uint32_t mode)
{
	return S_ISDIR(mode)   ? "directory"
	       : S_ISREG(mode) ? "file"
	       : S_ISLNK(mode) ? "symlink"
			       : "other";
}

static const char *dt_name(uint8_t t)
{
	return t == DT_DIR   ? "directory"
	       : t == DT_REG ? "file"
	       : t == DT_LNK ? "symlink"
			     : "other";
}

static void json_print(cJSON *o)
{
	char *s = cJSON_Print(o);

	printf("%s\n", s);
	free(s);
	cJSON_Delete(o);
}

static cJSON *json_layout(const struct ns_layout *l)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "table", l->table);
	cJSON_AddNumberToObject(o, "chunk_size", l->chunk_size);
	cJSON_AddNumberToObject(o, "stripe", l->stripe);
	return o;
}

static void attr_print(const struct ameta *a, const char *path,
		       const struct ns_attr *at)
{
	cJSON *o, *l;

	if (!a->json) {
		printf("%s: inode %llu %s mode %04o uid %u gid %u nlink %u "
		       "size "
		       "%llu mtime %llu ctime %llu\n",
		       path, (unsigned long long)at->ino, type_name(at->mode),
		       at->mode & 07777, at->uid, at->gid, at->nlink,
		       (unsigned long long)at->size,
		       (unsigned long long)at->mtime,
		       (unsigned long long)at->ctime);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddNumberToObject(o, "ino", (double)at->ino);
	cJSON_AddStringToObject(o, "type", type_name(at->mode));
	cJSON_AddNumberToObject(o, "mode", at->mode & 07777);
	cJSON_AddNumberToObject(o, "uid", at->uid);
	cJSON_AddNumberToObject(o, "gid", at->gid);
	cJSON_AddNumberToObject(o, "nlink", at->nlink);
	cJSON_AddNumberToObject(o, "size", (double)at->size);
	cJSON_AddNumberToObject(o, "atime", (double)at->atime);
	cJSON_AddNumberToObject(o, "mtime", (double)at->mtime);
	cJSON_AddNumberToObject(o, "ctime", (double)at->ctime);
	cJSON_AddNumberToObject(o, "parent", (double)at->parent);
	cJSON_AddNumberToObject(o, "sessions", at->sessions);
	l = json_layout(&at->layout);
	cJSON_AddNumberToObject(l, "start", at->layout.start);
	cJSON_AddNumberToObject(l, "seed", (double)at->layout.seed);
	cJSON_AddItemToObject(o, "layout", l);
	/* which replica answered, in how many sends (a dirty inode takes
	 * two: the member, then the tail) */
	cJSON_AddNumberToObject(o, "served_by", (double)a->served_by);
	cJSON_AddNumberToObject(o, "attempts", a->attempts);
	json_print(o);
}

/* ---- ns: one change on PATH's parent and name ---------------------------- */

static int sh_change(struct ameta *a, const char *path, struct mcli_op *op)
{
	int rc = split(a, path, &op->q.parent, op->q.name);

	if (!rc)
		rc = sh_call(a, op);
	mres_release(&op->r);
	return rc ? fail(a, path, rc) : 0;
}

static int sh_mkdir(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_MKDIR };

	op.q.mode = a->args->mode ? a->args->mode : 0755;
	return need(a, 3, "PATH") ?: sh_change(a, a->w[2], &op);
}

static int sh_create(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_CREATE, .q.flags = O_RDONLY };

	op.q.mode = a->args->mode ? a->args->mode : 0644;
	return need(a, 3, "PATH") ?: sh_change(a, a->w[2], &op);
}

static int sh_unlink(struct ameta *a, uint8_t mop)
{
	struct mcli_op op = { .q.op = mop };

	return need(a, 3, "PATH") ?: sh_change(a, a->w[2], &op);
}

static int sh_symlink(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_SYMLINK };
	int rc = need(a, 4, "TARGET PATH");

	if (rc)
		return rc;
	op.q.data = (uint8_t *)a->w[2];
	op.q.data_len = (uint32_t)strlen(a->w[2]);
	return sh_change(a, a->w[3], &op);
}

static int sh_link(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_LINK };
	struct ns_attr at = { 0 };
	int rc = need(a, 4, "EXISTING NEWPATH");

	if (rc)
		return rc;
	rc = resolve(a, a->w[2], false, &at);
	if (rc)
		return fail(a, a->w[2], rc);
	op.q.ino = at.ino;
	rc = split(a, a->w[3], &op.q.newparent, op.q.name);
	if (!rc)
		rc = sh_call(a, &op);
	mres_release(&op.r);
	return rc ? fail(a, a->w[3], rc) : 0;
}

static int sh_rename(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_RENAME };
	int rc = need(a, 4, "FROM TO");

	if (rc)
		return rc;
	rc = split(a, a->w[2], &op.q.parent, op.q.name);
	if (rc)
		return fail(a, a->w[2], rc);
	rc = split(a, a->w[3], &op.q.newparent, op.q.name2);
	if (rc)
		return fail(a, a->w[3], rc);
	rc = sh_call(a, &op);
	mres_release(&op.r);
	return rc ? fail(a, a->w[2], rc) : 0;
}

/* ---- ns: reads ----------------------------------------------------------- */

static int sh_stat(struct ameta *a)
{
	struct ns_attr at = { 0 };
	int rc = need(a, 3, "PATH");

	if (rc)
		return rc;
	rc = resolve(a, a->w[2], false, &at);
	if (rc)
		return fail(a, a->w[2], rc);
	attr_print(a, a->w[2], &at);
	return 0;
}

static void ls_add(const struct ameta *a, cJSON *arr, const struct mdirent *e)
{
	cJSON *o;

	if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
		return;
	if (!a->json) {
		printf("%s\n", e->name);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", e->name);
	cJSON_AddNumberToObject(o, "ino", (double)e->ino);
	cJSON_AddStringToObject(o, "type", dt_name(e->type));
	cJSON_AddItemToArray(arr, o);
}

/* Every page of the directory. */
static int sh_ls(struct ameta *a)
{
	cJSON *arr = a->json ? cJSON_CreateArray() : NULL;
	struct mcli_op op = { .q.op = MOP_READDIR };
	struct ns_attr at = { 0 };
	int rc = need(a, 3, "DIR");
	bool eof = false;

	if (rc)
		goto out;
	rc = resolve(a, a->w[2], true, &at);
	op.q.ino = at.ino;
	op.q.max = a->args->page ? (uint32_t)a->args->page : MREADDIR_MAX;
	while (!rc && !eof) {
		rc = sh_call(a, &op);
		for (uint32_t i = 0; !rc && i < op.r.nents; i++)
			ls_add(a, arr, &op.r.ents[i]);
		if (!rc && op.r.nents)
			op.q.cookie = op.r.ents[op.r.nents - 1].next;
		eof = op.r.eof || !op.r.nents;
		mres_release(&op.r);
	}
	if (rc) {
		rc = fail(a, a->w[2], rc);
		goto out;
	}
	if (arr) {
		json_print(arr);
		arr = NULL;
	}
out:
	cJSON_Delete(arr);
	return rc;
}

static int sh_readlink(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_READLINK };
	struct ns_attr at = { 0 };
	int rc = need(a, 3, "PATH");

	if (rc)
		return rc;
	rc = resolve(a, a->w[2], false, &at);
	op.q.ino = at.ino;
	if (!rc)
		rc = sh_call(a, &op);
	if (!rc)
		printf("%.*s\n", (int)op.r.data_len,
		       op.r.data ? (char *)op.r.data : "");
	mres_release(&op.r);
	return rc ? fail(a, a->w[2], rc) : 0;
}

static int sh_xattr(struct ameta *a, bool set)
{
	struct mcli_op op = { .q.op = set ? MOP_SETXATTR : MOP_GETXATTR };
	struct ns_attr at = { 0 };
	int rc = need(a, set ? 5 : 4, set ? "PATH NAME VALUE" : "PATH NAME");

	if (rc)
		return rc;
	if (strlen(a->w[3]) > NS_NAME_MAX)
		return fail(a, a->w[3], -ENAMETOOLONG);
	rc = resolve(a, a->w[2], true, &at);
	op.q.ino = at.ino;
	snprintf(op.q.name2, sizeof(op.q.name2), "%s", a->w[3]);
	if (set) {
		op.q.data = (uint8_t *)a->w[4];
		op.q.data_len = (uint32_t)strlen(a->w[4]);
	} else {
		op.q.size = NS_XATTR_SIZE_MAX;
	}
	if (!rc)
		rc = sh_call(a, &op);
	if (!rc && !set)
		printf("%.*s\n", (int)op.r.data_len,
		       op.r.data ? (char *)op.r.data : "");
	mres_release(&op.r);
	return rc ? fail(a, a->w[2], rc) : 0;
}

static int sh_statfs(struct ameta *a)
{
	struct mcli_op op = { .q.op = MOP_STATFS };
	int rc = need(a, 2, "");
	cJSON *o;

	if (rc)
		return rc;
	rc = sh_call(a, &op);
	if (rc)
		return fail(a, "/", rc);
	if (!a->json) {
		printf("inodes %llu capacity %llu used %llu\n",
		       (unsigned long long)op.r.inodes,
		       (unsigned long long)op.r.capacity,
		       (unsigned long long)op.r.used);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "inodes", (double)op.r.inodes);
		cJSON_AddNumberToObject(o, "capacity", (double)op.r.capacity);
		cJSON_AddNumberToObject(o, "used", (double)op.r.used);
		json_print(o);
	}
	mres_release(&op.r);
	return 0;
}

static int sh_cmd(struct ameta *a)
{
	const char *v = a->nw > 1 ? a->w[1] : "";

	if (!strcmp(v, "mkdir"))
		return sh_mkdir(a);
	if (!strcmp(v, "create") || !strcmp(v, "touch"))
		return sh_create(a);
	if (!strcmp(v, "stat"))
		return sh_stat(a);
	if (!strcmp(v, "ls"))
		return sh_ls(a);
	if (!strcmp(v, "rm") || !strcmp(v, "unlink"))
		return sh_unlink(a, MOP_UNLINK);
	if (!strcmp(v, "rmdir"))
		return sh_unlink(a, MOP_RMDIR);
	if (!strcmp(v, "rmtree"))
		return sh_unlink(a, MOP_REMOVE_TREE);
	if (!strcmp(v, "mv") || !strcmp(v, "rename"))
		return sh_rename(a);
	if (!strcmp(v, "ln") || !strcmp(v, "link"))
		return sh_link(a);
	if (!strcmp(v, "symlink"))
		return sh_symlink(a);
	if (!strcmp(v, "readlink"))
		return sh_readlink(a);
	if (!strcmp(v, "setxattr") || !strcmp(v, "getxattr"))
		return sh_xattr(a, v[0] == 's');
	if (!strcmp(v, "statfs"))
		return sh_statfs(a);
	if (!strcmp(v, "load"))
		return a->nw == 2 ? ameta_load(a->args, &a->cl)
				  : need(a, 2, "--clients N --ops M");
	fprintf(stderr,
		"fffs admin ns: unknown operation '%s' (mkdir, create, stat, "
		"ls, rm, rmdir, mv, ln, symlink, readlink, setxattr, getxattr, "
		"rmtree, statfs, load)\n",
		v);
	return 2;
}

/* ---- layout -------------------------------------------------------------- */

/* A layout's chain table must exist (0: none). */
static int table_check(uint32_t table)
{
	struct routing *r = table ? routing_wait() : NULL;
	bool ok = !table || (r && routing_table(r, table));

	routing_unref(r);
	return ok ? 0 : -ENOENT;
}

static int layout_cmd(struct ameta *a)
{
	const char *v = a->nw > 1 ? a->w[1] : "";
	struct mcli_op op = { .q.op = MOP_LAYOUT_GET };
	const struct ameta_args *m = a->args;
	struct ns_attr at = { 0 };
	int rc;

	if (strcmp(v, "get") && strcmp(v, "set")) {
		fprintf(stderr, "fffs admin layout: get PATH or set PATH "
				"[--table T] [--chunk-size S] [--stripe N]\n");
		return 2;
	}
	rc = need(a, 3, v[0] == 'g' ? "PATH" : "PATH --table T ...");
	if (rc)
		return rc;
	rc = resolve(a, a->w[2], true, &at);
	op.q.ino = at.ino;
	if (!rc)
		rc = sh_call(a, &op);
	if (!rc && v[0] == 's') {
		op.q.op = MOP_LAYOUT_SET;
		op.q.layout = op.r.layout;
		if (m->table_set)
			op.q.layout.table = (uint32_t)m->table;
		if (m->chunk_set)
			op.q.layout.chunk_size = (uint32_t)m->chunk_size;
		if (m->stripe_set)
			op.q.layout.stripe = (uint32_t)m->stripe;
		mres_release(&op.r);
		if (table_check(op.q.layout.table)) {
			fprintf(stderr,
				"fffs admin layout set %s: no chain "
				"table %u\n",
				a->w[2], op.q.layout.table);
			return 1;
		}
		rc = sh_call(a, &op);
		op.q.op = MOP_LAYOUT_GET; /* print what it is now */
		mres_release(&op.r);
		if (!rc)
			rc = sh_call(a, &op);
	}
	if (rc) {
		mres_release(&op.r);
		return fail(a, a->w[2], rc);
	}
	if (a->json)
		json_print(json_layout(&op.r.layout));
	else
		printf("%s: table %u chunk_size %u stripe %u\n", a->w[2],
		       op.r.layout.table, op.r.layout.chunk_size,
		       op.r.layout.stripe);
	mres_release(&op.r);
	return 0;
}

/* ---- fsck and digest ----------------------------------------------------- */

struct replica {
	uint64_t target;
	uint32_t node;
	uint8_t pstate;
	char addr[RT_ADDR_MAX];
};

/* The meta chain's members (serving and syncing with want_syncing; only
 * the serving tail with tail_only). */
static int replicas(struct replica *out, bool want_syncing, bool tail_only)
{
	struct routing *r = routing_wait();
	const struct rt_chain *ch = mcli_meta_chain(r);
	int n = 0;

	for (int i = 0; ch && i < ch->n; i++) {
		const struct rt_target *t = routing_target(r, ch->targets[i]);
		const struct rt_node *nd = t ? routing_node(r, t->node) : NULL;

		if (!nd || (t->pstate != RT_SERVING &&
			    (!want_syncing || t->pstate != RT_SYNCING)))
			continue;
		if (tail_only)
			n = 0;
		out[n].target = t->id;
		out[n].node = t->node;
		out[n].pstate = t->pstate;
		snprintf(out[n].addr, sizeof(out[n].addr), "%s", nd->addr);
		n++;
	}
	if (r && !ch)
		fprintf(stderr, "fffs admin: the routing info has no meta "
				"chain\n");
	else if (r && !n)
		fprintf(stderr, "fffs admin: the meta chain has no serving "
				"replica\n");
	routing_unref(r);
	return n;
}

static int fsck_one(struct ameta *a, const struct replica *rp, cJSON *arr,
		    uint32_t *problems)
{
	const void *rep = NULL;
	uint32_t len, np, rlen = 0;
	struct unpack up;
	void *body;
	uint64_t seq;
	int rc = acall(a, rp->addr, MSG_ADM_META_FSCK, &body, &len);
	char *rtext;
	cJSON *o;

	unpack_init(&up, body, len);
	seq = unpack_u64(&up);
	np = unpack_u32(&up);
	unpack_blob(&up, &rep, &rlen);
	if (!rc && unpack_finish(&up))
		rc = -FFFS_EBADFRAME;
	if (rc) {
		fprintf(stderr, "fffs admin fsck: %s: %s\n", rp->addr,
			fffs_strerror(rc));
		free(body);
		return rc;
	}
	*problems += np;
	if (!arr) {
		printf("target %llu %s: seq %llu, %u problems\n",
		       (unsigned long long)rp->target, rp->addr,
		       (unsigned long long)seq, np);
		if (rlen)
			printf("%.*s%s", (int)rlen, (const char *)rep,
			       ((const char *)rep)[rlen - 1] == '\n' ? ""
								     : "\n");
	} else {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "target", (double)rp->target);
		cJSON_AddStringToObject(o, "address", rp->addr);
		cJSON_AddNumberToObject(o, "seq", (double)seq);
		cJSON_AddNumberToObject(o, "problems", np);
		rtext = xmalloc((size_t)rlen + 1);
		memcpy(rtext, rep, rlen);
		rtext[rlen] = 0;
		cJSON_AddStringToObject(o, "report", rtext);
		free(rtext);
		cJSON_AddItemToArray(arr, o);
	}
	free(body);
	return 0;
}

static int fsck_cmd(struct ameta *a)
{
	struct replica rp[RT_CHAIN_MAX];
	cJSON *arr = a->json ? cJSON_CreateArray() : NULL;
	uint32_t problems = 0;
	int n, bad = 0;

	if (a->nw != 1) {
		fprintf(stderr, "fffs admin fsck: usage: fffs admin fsck "
				"[--server URI | --all]\n");
		cJSON_Delete(arr);
		return 2;
	}
	if (a->args->server) {
		memset(rp, 0, sizeof(rp[0]));
		snprintf(rp[0].addr, sizeof(rp[0].addr), "%s", a->args->server);
		n = 1;
	} else {
		n = replicas(rp, false, !a->args->all);
	}
	for (int i = 0; i < n; i++)
		bad += fsck_one(a, &rp[i], arr, &problems) != 0;
	if (arr)
		json_print(arr);
	return !n || bad || problems ? 1 : 0;
}

static int digest_cmd(struct ameta *a)
{
	struct replica rp[RT_CHAIN_MAX];
	cJSON *arr = a->json ? cJSON_CreateArray() : NULL;
	int n, bad = 0;

	if (a->nw != 2 || strcmp(a->w[1], "digest")) {
		fprintf(stderr, "fffs admin meta: usage: fffs admin meta "
				"digest\n");
		cJSON_Delete(arr);
		return 2;
	}
	n = replicas(rp, true, false);
	if (!arr && n)
		printf("%-10s %-6s %-8s %-10s %s\n", "TARGET", "NODE", "STATE",
		       "SEQ", "DIGEST");
	for (int i = 0; i < n; i++) {
		struct unpack up;
		uint8_t d[32];
		char hex[65];
		uint64_t seq;
		uint32_t len;
		void *body;
		int rc = acall(a, rp[i].addr, MSG_ADM_META_DIGEST, &body, &len);

		unpack_init(&up, body, len);
		seq = unpack_u64(&up);
		unpack_bytes(&up, d, sizeof(d));
		if (!rc && unpack_finish(&up))
			rc = -FFFS_EBADFRAME;
		free(body);
		if (rc) {
			fprintf(stderr,
				"fffs admin meta digest: target %llu "
				"%s: %s\n",
				(unsigned long long)rp[i].target, rp[i].addr,
				fffs_strerror(rc));
			bad++;
			continue;
		}
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", d[k]);
		if (!arr) {
			printf("%-10llu %-6u %-8s %-10llu %s\n",
			       (unsigned long long)rp[i].target, rp[i].node,
			       rt_pstate_name(rp[i].pstate),
			       (unsigned long long)seq, hex);
		} else {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddNumberToObject(o, "target",
						(double)rp[i].target);
			cJSON_AddNumberToObject(o, "node", rp[i].node);
			cJSON_AddStringToObject(o, "state",
						rt_pstate_name(rp[i].pstate));
			cJSON_AddNumberToObject(o, "seq", (double)seq);
			cJSON_AddStringToObject(o, "digest", hex);
			cJSON_AddItemToArray(arr, o);
		}
	}
	if (arr)
		json_print(arr);
	return !n || bad ? 1 : 0;
}

/* ---- running ------------------------------------------------------------- */

static void *script(void *arg)
{
	struct ameta *a = arg;
	const char *w = a->w[0];

	if (!strcmp(w, "ns"))
		a->exit_code = sh_cmd(a);
	else if (!strcmp(w, "layout"))
		a->exit_code = layout_cmd(a);
	else if (!strcmp(w, "fsck"))
		a->exit_code = fsck_cmd(a);
	else
		a->exit_code = digest_cmd(a);
	loop_request_stop();
	return NULL;
}

static void agent_up(struct core *c, struct loop_msg *m)
{
	struct ameta *a = fffs_container_of(m, struct ameta, start);
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd) };
	int rc = agent_start(c, &p);

	if (rc) {
		fprintf(stderr, "fffs admin: --mgmtd %s: %s\n", p.mgmtd,
			fffs_strerror(rc));
		a->exit_code = 2;
		loop_request_stop();
		return;
	}
	if (pthread_create(&a->thread, NULL, script, a)) {
		fprintf(stderr, "fffs admin: cannot start a thread\n");
		a->exit_code = 1;
		loop_request_stop();
	}
}

int ameta_run(const struct ameta_args *m, const char *const *words, int nwords,
	      bool json)
{
	struct ameta a = { .args = m, .w = words, .nw = nwords, .json = json };
	int rc;

	if (!config_str(CFG_mgmtd)[0]) {
		fprintf(stderr, "fffs admin %s: --mgmtd URI is required\n",
			words[0]);
		return 2;
	}
	rc = role_net_setup("admin", ROLE_ADMIN);
	if (rc)
		return rc;
	ameta_cred(&a.cred);
	rc = loop_start(1, NULL, NULL);
	if (rc) {
		fprintf(stderr, "fffs admin: cannot start the event loop: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	mcli_init(&a.cl, core_get(0), 0);
	a.exit_code = -1;
	a.start.cb = agent_up;
	core_post(core_get(0), &a.start);
	loop_main();
	if (a.exit_code < 0) /* stopped by a signal: the script may hang */
		return 1;
	if (a.thread)
		pthread_join(a.thread, NULL);
	mcli_release(&a.cl);
	return a.exit_code < 0 ? 1 : a.exit_code;
}
