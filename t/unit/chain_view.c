/* t/unit/chain_view.c - a replica's view of its chain (chain/view.h): the
 * head, the successor in the write set, the query tail, the member to
 * sync and the tail flag for every position and state mix of a chain;
 * refusals outside the chain and without a lease; the reported local
 * state. (With no mgmtd agent here the lease never holds.) */
#define LOG_SUBSYS "t-chain-view"
#include "chain/view.h"

#include <stdio.h>
#include <string.h>

#include "net/auth.h"
#include "t/unit/tap.h"

static void add_node(struct routing *r, uint32_t id)
{
	struct rt_node n = { .id = id, .role = ROLE_STORAGE };

	snprintf(n.addr, sizeof(n.addr), "tcp://127.0.0.%u:9000", id);
	routing_node_upsert(r, &n);
}

static void add_target(struct routing *r, uint64_t id, uint32_t chain,
		       uint8_t ps)
{
	struct rt_target t = {
		.id = id, .node = (uint32_t)id, .chain = chain, .pstate = ps
	};

	routing_target_upsert(r, &t);
}

/* Chain 5 at version 7 of targets 1..n in that order, states ps[]; target
 * 9 is in no chain. */
static struct routing *chain_of(const uint8_t *ps, int n)
{
	struct routing *r = routing_new("lab-a");
	struct rt_chain ch = { .id = 5, .version = 7, .table = 1 };

	for (int i = 0; i < n; i++) {
		add_node(r, (uint32_t)i + 1);
		add_target(r, (uint64_t)i + 1, 5, ps[i]);
		ch.targets[i] = (uint64_t)i + 1;
	}
	ch.n = (uint8_t)n;
	routing_chain_add(r, &ch);
	add_node(r, 9);
	add_target(r, 9, 0, RT_OFFLINE);
	return r;
}

static void test_serving_chain(void)
{
	const uint8_t ps[] = { RT_SERVING, RT_SERVING, RT_SERVING };
	struct routing *r = chain_of(ps, 3);
	struct chain_view v;

	chain_view_compute(&v, r, 1);
	is_int(v.chain, 5, "head: its chain");
	is_int(v.chain_ver, 7, "head: its chain version");
	is_int(v.pstate, RT_SERVING, "head: serving");
	ok(v.head && !v.tail, "the first serving member is the head");
	is_int(v.succ, 2, "head: the second member is next");
	ok(!v.succ_syncing, "head: a serving successor");
	is_str(v.succ_addr, "tcp://127.0.0.2:9000", "head: successor address");
	is_int(v.qtail, 3, "head: the last member answers for reads");
	is_str(v.qtail_addr, "tcp://127.0.0.3:9000", "query tail address");
	is_int(v.next_syncing, 0, "head: nobody to sync");

	chain_view_compute(&v, r, 2);
	ok(!v.head && !v.tail, "middle: neither head nor tail");
	is_int(v.succ, 3, "middle: the third is next");

	chain_view_compute(&v, r, 3);
	ok(!v.head && v.tail, "last: the tail");
	is_int(v.succ, 0, "tail: nobody next");
	is_str(v.succ_addr, "", "tail: no successor address");
	is_int(v.qtail, 3, "tail: it is the query tail");
	routing_unref(r);
}

static void test_mixed_chain(void)
{
	/* a failed head, a serving middle, a syncing member, a waiting one */
	const uint8_t ps[] = { RT_OFFLINE, RT_SERVING, RT_SYNCING, RT_WAITING };
	struct routing *r = chain_of(ps, 4);
	struct chain_view v;

	chain_view_compute(&v, r, 1);
	is_int(v.pstate, RT_OFFLINE, "offline first member: its state");
	ok(!v.head, "an offline first member is not the head");
	is_int(v.succ, 2,
	       "offline member: successor is the next in the "
	       "write set");

	chain_view_compute(&v, r, 2);
	ok(!v.head, "the first serving member is head only at position 0");
	ok(v.tail, "no serving member after it: the tail");
	is_int(v.succ, 3, "a syncing member is in the write set");
	ok(v.succ_syncing, "... and marked syncing");
	is_int(v.qtail, 2, "it is the query tail");
	is_int(v.next_syncing, 3, "the last serving member syncs the next");
	is_str(v.next_addr, "tcp://127.0.0.3:9000", "... at its address");

	chain_view_compute(&v, r, 3);
	is_int(v.pstate, RT_SYNCING, "syncing member: its state");
	is_int(v.succ, 0, "a waiting member is not in the write set");
	is_int(v.next_syncing, 0, "a syncing member syncs nobody");
	is_int(v.qtail, 2, "reads go to the last serving member");
	routing_unref(r);
}

static void test_outside(void)
{
	const uint8_t ps[] = { RT_SERVING };
	struct routing *r = chain_of(ps, 1);
	struct chain_view v;

	chain_view_compute(&v, r, 9);
	is_int(v.chain, 0, "a target in no chain: chain 0");
	is_int(v.pstate, -1, "... and state -1");
	ok(!v.head && !v.succ && !v.qtail, "... and no members");
	is_int(chain_view_check(&v, 5, 7, CHAIN_ANY_STATE), -FFFS_ENOTSERVING,
	       "in no chain: not serving");

	chain_view_compute(&v, r, 77);
	is_int(v.chain, 0, "an unknown target: in no chain");

	chain_view_compute(&v, r, 1);
	ok(v.head && v.tail, "a chain of one: head and tail");
	is_int(chain_view_check(&v, 6, 7, CHAIN_ANY_STATE), -FFFS_ENOTSERVING,
	       "another chain: not serving");
	is_int(chain_view_check(&v, 5, 7, CHAIN_SERVING), -FFFS_EFENCED,
	       "without a lease: fenced");
	is_int(chain_view_check(&v, 5, 8, CHAIN_SERVING), -FFFS_EFENCED,
	       "without a lease, fenced before the version is looked at");
	routing_unref(r);
}

static void test_local_state(void)
{
	is_int(chain_local_state(RT_SERVING, 7, 0, true), RT_L_OFFLINE,
	       "failed: offline");
	is_int(chain_local_state(RT_SERVING, 7, 0, false), RT_L_ONLINE,
	       "serving without a lease: online, not up to date");
	is_int(chain_local_state(RT_SYNCING, 7, 7, false), RT_L_UPTODATE,
	       "synced at the current chain version: up to date");
	is_int(chain_local_state(RT_SYNCING, 8, 7, false), RT_L_ONLINE,
	       "synced at an older chain version: online");
	is_int(chain_local_state(RT_SYNCING, 7, 0, false), RT_L_ONLINE,
	       "syncing: online");
	is_int(chain_local_state(-1, 0, 0, false), RT_L_ONLINE,
	       "in no chain: online");
}

int main(void)
{
	test_serving_chain();
	test_mixed_chain();
	test_outside();
	test_local_state();
	return done_testing();
}
