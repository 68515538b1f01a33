/* t/unit/mcliwire.c - the meta client on the wire, against a scripted
 * meta server in this process (with mgmtd, in-process too, giving a meta
 * chain of one replica): a stale answer is retried with the same request
 * id and the new chain version, -FFFS_EDIRTY sends a read to the tail, a
 * final error ends the op after one send, every request carries the ack
 * floor (the lowest request id in flight), and a change whose answer is
 * late holds the floor down until it is answered. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "meta/mcli.h"
#include "mgmt/agent.h"
#include "mgmt/mgmtd.h"
#include "net/auth.h"
#include "net/pack.h"
#include "t/unit/tap.h"

#define TARGET	65536
#define MAXSEEN 64

enum mode { M_OK, M_STALE_ONCE, M_DIRTY_ONCE, M_ENOENT, M_HOLD_FIRST };

struct seen {
	uint8_t op;
	uint64_t client, req_id, ack_floor;
	uint32_t chain_ver;
};

static enum mode mode;
static struct seen seen[MAXSEEN];
static int nseen;
static struct rpc_req *held;
static struct rpc_handler tbl[MSG__MAX];

static int report(void *arg, struct agent_report *out, int max)
{
	out[0] = (struct agent_report){ .target = TARGET,
					.lstate = RT_L_UPTODATE,
					.capacity = 1 << 30 };
	return 1;
}

static void reply_ok(struct core *c, struct rpc_req *req, unsigned op)
{
	struct mres r = { .status = 0 };
	uint8_t buf[512];
	struct pack pk;

	r.res.n = 1;
	r.res.a[0].ino = 42;
	r.res.a[0].mode = 040755;
	pack_init(&pk, buf, sizeof(buf));
	mres_pack(&pk, op, &r);
	rpc_reply(c, req, 0, buf, (uint32_t)pack_len(&pk), NULL, 0, NULL, NULL);
}

/* Sends of req_id so far (this one included). */
static int sends_of(uint64_t req_id, uint8_t op)
{
	int n = 0;

	for (int i = 0; i < nseen; i++)
		n += seen[i].req_id == req_id && seen[i].op == op;
	return n;
}

static int fake_op(struct core *c, struct rpc_req *req)
{
	struct mreq q;
	int rc = mreq_unpack(req->body, req->body_len, &q);

	if (rc)
		return rc;
	if (nseen < MAXSEEN)
		seen[nseen++] = (struct seen){ q.op, q.client, q.req_id,
					       q.ack_floor, q.chain_ver };
	mreq_release(&q);
	switch (mode) {
	case M_STALE_ONCE:
		if (sends_of(q.req_id, q.op) == 1)
			return -FFFS_ECHAINVER;
		break;
	case M_DIRTY_ONCE:
		if (sends_of(q.req_id, q.op) == 1)
			return -FFFS_EDIRTY;
		break;
	case M_ENOENT:
		return -ENOENT;
	case M_HOLD_FIRST:
		if (!held) {
			held = req; /* answered later */
			return 0;
		}
		break;
	default:
		break;
	}
	reply_ok(c, req, q.op);
	return 0;
}

/* ---- set-up -------------------------------------------------------------- */

static char uri[64];
static struct auth_secret secret;

static void up(struct core *c, struct loop_msg *m)
{
	struct agent_params p = { .mgmtd = uri,
				  .heartbeat = true,
				  .node_id = 1,
				  .role = ROLE_META,
				  .report = report };

	snprintf(p.addr, sizeof(p.addr), "%s", uri);
	mgmtd_start(c);
	agent_start(c, &p);
}

struct call {
	struct loop_msg m;
	struct rpc_call call;
	uint8_t body[8];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int status;
	bool done;
};

static void call_done(struct core *c, struct rpc_call *rc, int status,
		      const void *body, uint32_t len)
{
	struct call *x = fffs_container_of(rc, struct call, call);

	pthread_mutex_lock(&x->mu);
	x->status = status;
	x->done = true;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

static void call_go(struct core *c, struct loop_msg *m)
{
	struct call *x = fffs_container_of(m, struct call, m);
	char err[128];
	struct pack pk;

	pack_init(&pk, x->body, sizeof(x->body));
	pack_u32(&pk, 1);
	pack_u8(&pk, 1);
	pack_u8(&pk, ROLE_META);
	x->call.type = MSG_ADM_MGMT_TABLE_CREATE;
	x->call.body = x->body;
	x->call.body_len = (uint32_t)pack_len(&pk);
	x->call.done = call_done;
	rpc_call_start(c, rpc_peer_get(c, uri, err, sizeof(err)), &x->call);
}

static int table_create(void)
{
	static struct call x = { .mu = PTHREAD_MUTEX_INITIALIZER,
				 .cv = PTHREAD_COND_INITIALIZER };

	x.m.cb = call_go;
	core_post(core_get(0), &x.m);
	pthread_mutex_lock(&x.mu);
	while (!x.done)
		pthread_cond_wait(&x.cv, &x.mu);
	pthread_mutex_unlock(&x.mu);
	return x.status;
}

/* The routing has the target (want_chain: and a serving meta chain). */
static bool routing_has(bool want_chain)
{
	struct routing *r = agent_routing();
	const struct rt_chain *ch = mcli_meta_chain(r);
	uint64_t m[RT_CHAIN_MAX];
	bool ok = r && routing_target(r, TARGET) &&
		  (!want_chain || (ch && routing_chain_serving(r, ch, m) == 1));

	routing_unref(r);
	return ok;
}

static bool wait_routing(bool want_chain)
{
	for (int i = 0; i < 400; i++) {
		if (routing_has(want_chain))
			return true;
		usleep(25000);
	}
	return false;
}

static uint32_t chain_ver(void)
{
	struct routing *r = agent_routing();
	const struct rt_chain *ch = mcli_meta_chain(r);
	uint32_t v = ch ? ch->version : 0;

	routing_unref(r);
	return v;
}

static int setup(char *dir)
{
	struct auth_self self = { .node_id = 1, .role = ROLE_META };
	struct mgmtd_params mp = { .state_dir = NULL,
				   .cluster = "t",
				   .map_size = 64 << 20 };
	char err[512], path[256], state[256];
	static struct loop_msg m = { .cb = up };

	snprintf(path, sizeof(path), "%s/secret", dir);
	snprintf(state, sizeof(state), "%s/mgmtd", dir);
	if (auth_secret_create(path, err, sizeof(err)) ||
	    auth_secret_load(path, &secret, err, sizeof(err)))
		return diag(err), -1;
	snprintf(self.cluster, sizeof(self.cluster), "t");
	conn_identity_set(&secret, &self);
	mp.state_dir = state;
	if (mgmtd_open(&mp, err, sizeof(err)))
		return diag(err), -1;
	memcpy(tbl, mgmtd_handlers, sizeof(tbl));
	tbl[MSG_CLI_META_OP] = (struct rpc_handler){ fake_op, "CLI_META_OP" };
	if (loop_start(1, NULL, NULL) ||
	    rpc_serve("tcp://127.0.0.1:0", tbl, err, sizeof(err)))
		return diag(err), -1;
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", rpc_serve_port());
	config_set("mgmtd", uri, NULL, 0);
	core_post(core_get(0), &m);
	return 0;
}

/* ---- the tests ----------------------------------------------------------- */

static struct mcli cl;

static void test_basic(void)
{
	struct mcli_op op = { .q.op = MOP_MKDIR, .q.parent = 1 };
	uint32_t ver = chain_ver();

	snprintf(op.q.name, sizeof(op.q.name), "a");
	mode = M_OK;
	nseen = 0;
	is_int(mcli_call(&cl, &op), 0, "a change is answered");
	ok(op.r.res.n == 1 && op.r.res.a[0].ino == 42, "  ... with its reply");
	is_int(op.attempts, 1, "  ... in one send");
	is_int(op.served_by, TARGET, "  ... by the head");
	ok(nseen == 1 && seen[0].req_id == op.q.req_id &&
		   seen[0].client == cl.client && seen[0].chain_ver == ver,
	   "the server saw the client, the request id and the chain version");
	is_int(seen[0].ack_floor, op.q.req_id,
	       "the ack floor of a lone change is its own id");
	mres_release(&op.r);
}

static void test_stale(void)
{
	struct mcli_op op = { .q.op = MOP_CREATE, .q.parent = 1 };

	snprintf(op.q.name, sizeof(op.q.name), "f");
	mode = M_STALE_ONCE;
	nseen = 0;
	is_int(mcli_call(&cl, &op), 0, "a change refused as stale is retried");
	is_int(op.attempts, 2, "  ... in two sends");
	ok(nseen == 2 && seen[0].req_id == seen[1].req_id &&
		   seen[1].req_id == op.q.req_id,
	   "  ... both with the same request id");
	mres_release(&op.r);
}

static void test_dirty(void)
{
	struct mcli_op op = { .q.op = MOP_GETATTR, .q.ino = 42 };

	mode = M_DIRTY_ONCE;
	nseen = 0;
	is_int(mcli_call(&cl, &op), 0,
	       "a read answered -FFFS_EDIRTY is retried");
	is_int(op.attempts, 2, "  ... at the tail, at once");
	ok(nseen == 2 && !seen[0].req_id && !seen[1].req_id,
	   "  ... a read carries request id 0");
	is_int(op.served_by, TARGET, "  ... served by the tail");
	mres_release(&op.r);
}

static void test_final(void)
{
	struct mcli_op op = { .q.op = MOP_UNLINK, .q.parent = 1 };

	snprintf(op.q.name, sizeof(op.q.name), "nope");
	mode = M_ENOENT;
	nseen = 0;
	is_int(mcli_call(&cl, &op), -ENOENT, "a final error ends the op");
	is_int(op.attempts, 1, "  ... after one send");
	mres_release(&op.r);
}

/* ack floor: A held at the server, B and C answered meanwhile. */
static struct mcli_op hops[4];
static int hdone;
static pthread_mutex_t hmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hcv = PTHREAD_COND_INITIALIZER;

static void hold_done(struct core *c, struct mcli_op *op)
{
	pthread_mutex_lock(&hmu);
	hdone++;
	pthread_cond_signal(&hcv);
	pthread_mutex_unlock(&hmu);
}

static void hold_start(struct core *c, struct loop_msg *m)
{
	for (int i = 0; i < 3; i++) {
		hops[i].q.op = MOP_MKDIR;
		hops[i].q.parent = 1;
		snprintf(hops[i].q.name, sizeof(hops[i].q.name), "h%d", i);
		hops[i].done = hold_done;
		mcli_start(&cl, &hops[i]);
	}
}

static void release_held(struct core *c, struct loop_msg *m)
{
	reply_ok(c, held, MOP_MKDIR);
	held = NULL;
}

static void wait_hdone(int n)
{
	pthread_mutex_lock(&hmu);
	while (hdone < n)
		pthread_cond_wait(&hcv, &hmu);
	pthread_mutex_unlock(&hmu);
}

static void test_ack_floor(void)
{
	static struct loop_msg start = { .cb = hold_start },
			       rel = { .cb = release_held };
	struct mcli_op d = { .q.op = MOP_RMDIR, .q.parent = 1 };
	uint64_t a;
	bool floors = true;

	mode = M_HOLD_FIRST;
	nseen = 0;
	held = NULL;
	core_post(core_get(0), &start);
	wait_hdone(2);
	a = hops[0].q.req_id;
	for (int i = 0; i < nseen; i++)
		floors &= seen[i].ack_floor == a;
	ok(nseen == 3 && floors,
	   "while the first change waits, every request's ack floor is its id");
	ok(hdone == 2 && hops[1].r.status == 0 && hops[2].r.status == 0,
	   "  ... and the later changes are answered meanwhile");
	core_post(core_get(0), &rel);
	wait_hdone(3);
	is_int(hops[0].r.status, 0, "the late answer arrives");
	mode = M_OK;
	snprintf(d.q.name, sizeof(d.q.name), "h0");
	mcli_call(&cl, &d);
	is_int(seen[nseen - 1].ack_floor, d.q.req_id,
	       "then the floor moves up to the next change");
	ok(d.q.req_id == hops[2].q.req_id + 1, "  ... ids still count up");
	for (int i = 0; i < 3; i++)
		mres_release(&hops[i].r);
	mres_release(&d.r);
}

int main(void)
{
	char dir[] = "/tmp/fffs-mcliwire.XXXXXX", cmd[128], err[256];

	config_reset();
	config_set("log_level", "error", err, sizeof(err));
	config_set("cluster_id", "t", err, sizeof(err));
	config_set("heartbeat_interval_ms", "50", err, sizeof(err));
	config_set("chain_update_ms", "20", err, sizeof(err));
	config_set("mcli_retry_ms", "20", err, sizeof(err));
	config_set("mcli_timeout_ms", "5000", err, sizeof(err));
	if (!mkdtemp(dir) || setup(dir)) {
		ok(0, "mgmtd and the fake meta server start");
		return done_testing();
	}
	ok(wait_routing(false), "the fake meta node registers");
	is_int(table_create(), 0, "a meta chain of one replica is created");
	ok(wait_routing(true), "  ... and serves");
	mcli_init(&cl, core_get(0), 0);
	test_basic();
	test_stale();
	test_dirty();
	test_final();
	test_ack_floor();
	mcli_release(&cl);
	loop_request_stop();
	loop_main();
	mgmtd_close();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		diag("cannot remove the test directory");
	return done_testing();
}
