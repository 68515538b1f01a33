/* t/unit/mcli.c - the meta client without a cluster: client ids, refusal
 * of malformed ops, request ids (changes count up, reads carry 0), the
 * list of changes in flight that gives the ack floor, done() exactly once
 * and never inside mcli_start(), the retry deadline when there is no
 * routing, the blocking wrapper, and finding the meta chain. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/config.h"
#include "meta/mcli.h"
#include "net/auth.h"
#include "t/unit/tap.h"

#define NASYNC 3

static struct mcli acl;
static struct mcli_op aops[NASYNC];
static int adone[NASYNC], inside_start, order_ok = 1, floor_ok = 1;
static uint64_t first_oldest;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;
static bool in_start;

static void async_done(struct core *c, struct mcli_op *op)
{
	int i = (int)(op - aops);

	inside_start += in_start;
	adone[i]++;
	/* every change still in flight has a higher id than this one's
	 * successors' floor: the oldest is the lowest id in flight */
	if (acl.oldest && acl.oldest->q.req_id <= op->q.req_id)
		floor_ok = 0;
	pthread_mutex_lock(&mu);
	finished++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void async_start(struct core *c, struct loop_msg *m)
{
	for (int i = 0; i < NASYNC; i++) {
		aops[i].q.op = MOP_MKDIR;
		aops[i].q.parent = NS_ROOT;
		snprintf(aops[i].q.name, sizeof(aops[i].q.name), "d%d", i);
		aops[i].done = async_done;
		in_start = true;
		if (mcli_start(&acl, &aops[i]))
			order_ok = 0;
		in_start = false;
		if (i && aops[i].q.req_id != aops[i - 1].q.req_id + 1)
			order_ok = 0;
	}
	first_oldest = acl.oldest ? acl.oldest->q.req_id : 0;
	if (acl.newest != &aops[NASYNC - 1] || acl.inflight != NASYNC)
		order_ok = 0;
}

static void test_async(void)
{
	static struct loop_msg m = { .cb = async_start };

	mcli_init(&acl, core_get(0), 5);
	core_post(core_get(0), &m);
	pthread_mutex_lock(&mu);
	while (finished < NASYNC)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	ok(order_ok, "changes get consecutive request ids and queue in order");
	is_int(first_oldest, 1,
	       "the oldest change in flight is the first (the "
	       "ack floor)");
	ok(floor_ok, "  ... and stays the lowest id in flight as they end");
	ok(adone[0] == 1 && adone[1] == 1 && adone[2] == 1,
	   "done() runs exactly once for each");
	is_int(inside_start, 0, "  ... never inside mcli_start()");
	ok(!acl.inflight && !acl.oldest && !acl.newest,
	   "nothing is left in flight");
	is_int(aops[0].r.status, -FFFS_ENOTSERVING,
	       "without routing info: not serving, once the deadline passed");
	mcli_release(&acl);
}

static void test_call(void)
{
	struct mcli cl, cl2;
	struct mcli_op op = { .q.op = 200 };
	uint64_t t0;
	int rc;

	mcli_init(&cl, core_get(0), 0);
	mcli_init(&cl2, core_get(0), 0);
	ok(cl.client && cl.client != cl2.client,
	   "client id 0 draws a random one");
	mcli_init(&cl2, core_get(0), 77);
	is_int(cl2.client, 77, "a given client id is kept");

	is_int(mcli_call(&cl, &op), -EINVAL, "an unknown op is -EINVAL");
	op.q.op = MOP_MKDIR;
	memset(op.q.name, 'x', sizeof(op.q.name));
	is_int(mcli_call(&cl, &op), -EINVAL, "an unterminated name is -EINVAL");
	op.q.name[0] = 0;
	op.q.op = MOP_SETXATTR;
	op.q.data = (uint8_t *)"v";
	op.q.data_len = NS_XATTR_SIZE_MAX + 1;
	is_int(mcli_call(&cl, &op), -EINVAL, "an oversized value is -EINVAL");
	is_int(cl.inflight, 0, "  ... and nothing was started");

	memset(&op, 0, sizeof(op));
	op.q.op = MOP_MKDIR;
	op.q.parent = NS_ROOT;
	snprintf(op.q.name, sizeof(op.q.name), "a");
	t0 = now_ns();
	rc = mcli_call(&cl, &op);
	t0 = (now_ns() - t0) / 1000000;
	is_int(rc, -FFFS_ENOTSERVING, "no routing info: -FFFS_ENOTSERVING");
	ok(t0 >= 300 && t0 < 2000, "  ... after mcli_timeout_ms (300 ms)");
	is_int(op.attempts, 0, "  ... without a send");
	is_int(op.q.req_id, 1, "a change gets request id 1");
	ok(op.q.client == cl.client, "  ... and the client's id");
	op.q.op = MOP_GETATTR;
	mcli_call(&cl, &op);
	is_int(op.q.req_id, 0, "a read carries request id 0");
	op.q.op = MOP_UNLINK;
	mcli_call(&cl, &op);
	is_int(op.q.req_id, 2, "the next change gets request id 2");
	mcli_release(&cl);
}

static void test_meta_chain(void)
{
	struct routing *r = routing_new("t");
	struct rt_node n1 = { .id = 1, .role = ROLE_STORAGE },
		       n2 = { .id = 2, .role = ROLE_META };
	struct rt_target t1 = { .id = 65536, .node = 1, .chain = 1 },
			 t2 = { .id = 131072, .node = 2, .chain = 2 };
	struct rt_chain
		c1 = { .id = 1, .version = 1, .n = 1, .targets = { 65536 } },
		c2 = { .id = 2, .version = 1, .n = 1, .targets = { 131072 } };

	ok(!mcli_meta_chain(NULL), "no routing: no meta chain");
	routing_node_upsert(r, &n1);
	routing_target_upsert(r, &t1);
	routing_chain_add(r, &c1);
	ok(!mcli_meta_chain(r), "a storage chain is not the meta chain");
	routing_node_upsert(r, &n2);
	routing_target_upsert(r, &t2);
	routing_chain_add(r, &c2);
	ok(mcli_meta_chain(r) && mcli_meta_chain(r)->id == 2,
	   "the chain on a meta node is");
	routing_unref(r);
}

int main(void)
{
	char err[256];

	config_reset();
	config_set("mcli_timeout_ms", "300", err, sizeof(err));
	config_set("mcli_retry_ms", "20", err, sizeof(err));
	config_set("log_level", "error", err, sizeof(err));
	test_meta_chain();
	if (loop_start(1, NULL, NULL)) {
		ok(0, "the loop starts");
		return done_testing();
	}
	test_call();
	test_async();
	loop_request_stop();
	loop_main();
	return done_testing();
}
