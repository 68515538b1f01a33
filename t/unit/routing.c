/* t/unit/routing.c - routing info: sorted lists, the strict encoding, every
 * row of the chain updater's state table, and the placement generator. */
#define LOG_SUBSYS "t-routing"
#include "mgmt/routing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/auth.h"
#include "net/pack.h"
#include "t/unit/tap.h"

/* ---- random numbers (splitmix64, fixed seeds) --------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- building snapshots -------------------------------------------------- */

static void add_node(struct routing *r, uint32_t id, uint8_t role,
		     uint8_t status, const char *addr)
{
	struct rt_node n = { .id = id, .role = role, .status = status };

	snprintf(n.addr, sizeof(n.addr), "%s", addr);
	routing_node_upsert(r, &n);
}

static void add_target(struct routing *r, uint64_t id, uint32_t node,
		       uint32_t chain, uint8_t ps, uint8_t ls)
{
	struct rt_target t = {
		.id = id,
		.node = node,
		.chain = chain,
		.pstate = ps,
		.lstate = ls,
		.capacity = 1ull << 40,
		.used = id * 4096,
	};

	routing_target_upsert(r, &t);
}

static void add_chain(struct routing *r, uint32_t id, uint32_t version,
		      uint32_t table, const uint64_t *targets, int n)
{
	struct rt_chain ch = { .id = id, .version = version, .table = table };

	ch.n = (uint8_t)n;
	if (n)
		memcpy(ch.targets, targets, (size_t)n * sizeof(*targets));
	routing_chain_add(r, &ch);
}

/* Nodes, targets (one in no chain, one with a 64-bit id), three chains
 * (one empty) and two tables (one empty), every field non-zero. */
static struct routing *populated(void)
{
	struct routing *r = routing_new("lab-a");
	struct rt_target *t;
	uint32_t chains[] = { 9, 3 };

	r->version = 0x0102030405060708ull;
	add_node(r, 7, ROLE_STORAGE, RT_NODE_DOWN, "tcp://10.0.0.7:8000");
	add_node(r, 1, ROLE_MGMTD, RT_NODE_UP, "tcp://10.0.0.1:9000");
	add_node(r, 3, ROLE_STORAGE, RT_NODE_UP, "rdma://[fe80::1]:8000");
	add_target(r, 0x100000001ull, 3, 3, RT_SERVING, RT_L_UPTODATE);
	add_target(r, 5, 7, 3, RT_SYNCING, RT_L_ONLINE);
	add_target(r, 6, 7, 9, RT_LASTSRV, RT_L_OFFLINE);
	add_target(r, 8, 3, 0, RT_OFFLINE, RT_L_ONLINE);
	t = routing_target_mut(r, 8);
	t->flags = RT_TF_ADMIN_OFFLINE;
	add_chain(r, 9, 0xfeedf00d, 2, (uint64_t[]){ 6 }, 1);
	add_chain(r, 3, 77, 2, (uint64_t[]){ 0x100000001ull, 5 }, 2);
	add_chain(r, 4, 1, 0, NULL, 0);
	routing_table_add(r, 2, 2, chains, 2);
	routing_table_add(r, 1, 3, NULL, 0);
	r->tables[1].version = 0xabcdef01;
	return r;
}

/* Every field of a and b equal; names the first difference. */
static bool routing_equal(const struct routing *a, const struct routing *b)
{
	const char *what = NULL;

	if (a->version != b->version || strcmp(a->cluster, b->cluster) ||
	    a->nnodes != b->nnodes || a->ntargets != b->ntargets ||
	    a->nchains != b->nchains || a->ntables != b->ntables)
		what = "header or counts";
	for (uint32_t i = 0; !what && i < a->nnodes; i++) {
		const struct rt_node *x = &a->nodes[i], *y = &b->nodes[i];

		if (x->id != y->id || x->role != y->role ||
		    x->status != y->status || strcmp(x->addr, y->addr))
			what = "a node";
	}
	for (uint32_t i = 0; !what && i < a->ntargets; i++) {
		const struct rt_target *x = &a->targets[i], *y = &b->targets[i];

		if (x->id != y->id || x->node != y->node ||
		    x->chain != y->chain || x->pstate != y->pstate ||
		    x->lstate != y->lstate || x->flags != y->flags ||
		    x->capacity != y->capacity || x->used != y->used)
			what = "a target";
	}
	for (uint32_t i = 0; !what && i < a->nchains; i++) {
		const struct rt_chain *x = &a->chains[i], *y = &b->chains[i];

		if (x->id != y->id || x->version != y->version ||
		    x->table != y->table || x->n != y->n ||
		    memcmp(x->targets, y->targets, x->n * sizeof(uint64_t)))
			what = "a chain";
	}
	for (uint32_t i = 0; !what && i < a->ntables; i++) {
		const struct rt_table *x = &a->tables[i], *y = &b->tables[i];

		if (x->id != y->id || x->version != y->version ||
		    x->replicas != y->replicas || x->n != y->n ||
		    (x->n && memcmp(x->chains, y->chains, x->n * 4)))
			what = "a table";
	}
	if (what)
		printf("# snapshots differ in %s\n", what);
	return !what;
}

/* ---- names ----------------------------------------------------------------
 */

static void test_names(void)
{
	static const char *const ps[] = { "serving", "syncing", "waiting",
					  "lastsrv", "offline" };
	static const char *const ls[] = { "uptodate", "online", "offline" };
	int bad = 0;

	for (int i = 0; i < RT_PSTATE__COUNT; i++)
		bad += strcmp(rt_pstate_name(i), ps[i]) ||
		       rt_pstate_parse(ps[i]) != i;
	for (int i = 0; i < RT_LSTATE__COUNT; i++)
		bad += strcmp(rt_lstate_name(i), ls[i]) ||
		       rt_lstate_parse(ls[i]) != i;
	is_int(bad, 0, "state names and parsers agree with the enums");
	is_str(rt_node_status_name(RT_NODE_UP), "up", "node status up");
	is_str(rt_node_status_name(RT_NODE_DOWN), "down", "node status down");
	is_str(rt_pstate_name(RT_PSTATE__COUNT), "?", "pstate out of range");
	is_str(rt_pstate_name(-1), "?", "negative pstate");
	is_str(rt_lstate_name(RT_LSTATE__COUNT), "?", "lstate out of range");
	is_str(rt_node_status_name(RT_NODE__COUNT), "?", "status out of range");
	is_int(rt_pstate_parse("Serving"), -EINVAL, "parse is exact");
	is_int(rt_pstate_parse(""), -EINVAL, "empty pstate name");
	is_int(rt_lstate_parse("serving"), -EINVAL, "a pstate is no lstate");
}

/* ---- lists --------------------------------------------------------------- */

static bool nodes_sorted(const struct routing *r)
{
	for (uint32_t i = 1; i < r->nnodes; i++)
		if (r->nodes[i - 1].id >= r->nodes[i].id)
			return false;
	return true;
}

static bool targets_sorted(const struct routing *r)
{
	for (uint32_t i = 1; i < r->ntargets; i++)
		if (r->targets[i - 1].id >= r->targets[i].id)
			return false;
	return true;
}

static void test_nodes(void)
{
	struct routing *r = routing_new("c");
	struct rt_node n = { .id = 3, .role = ROLE_STORAGE };
	const uint32_t ids[] = { 5, 1, 3, 4, 2, 0xffffffff, 0 };

	for (size_t i = 0; i < FFFS_ARRAY_LEN(ids); i++)
		add_node(r, ids[i], ROLE_STORAGE, RT_NODE_UP, "tcp://h:1");
	is_int(r->nnodes, FFFS_ARRAY_LEN(ids), "every node inserted");
	ok(nodes_sorted(r), "nodes kept sorted by id");
	ok(routing_node(r, 0xffffffff) && routing_node(r, 0) &&
		   routing_node(r, 4)->id == 4,
	   "nodes found by id");
	ok(!routing_node(r, 6) && !routing_node(r, 0xfffffffe),
	   "absent nodes are NULL");
	snprintf(n.addr, sizeof(n.addr), "tcp://h:1");
	is_int(routing_node_upsert(r, &n), 0, "same node again: no change");
	n.status = RT_NODE_DOWN;
	is_int(routing_node_upsert(r, &n), 1, "status change is a change");
	snprintf(n.addr, sizeof(n.addr), "tcp://h:2");
	is_int(routing_node_upsert(r, &n), 1, "address change is a change");
	is_int(r->nnodes, FFFS_ARRAY_LEN(ids), "replacing adds nothing");
	is_str(routing_node(r, 3)->addr, "tcp://h:2", "node replaced");
	routing_node_mut(r, 3)->status = RT_NODE_UP;
	is_int(routing_node(r, 3)->status, RT_NODE_UP, "node_mut writes");
	is_int(r->version, 0, "upserts do not bump the version");
	routing_destroy(r);
}

static void test_targets(void)
{
	struct routing *r = routing_new("c");
	struct rt_target t;
	uint64_t ids[300];
	int missing = 0;

	rng_state = 1;
	for (size_t i = 0; i < FFFS_ARRAY_LEN(ids); i++) {
		ids[i] = i % 3 ? rng() : i * 7; /* distinct */
		add_target(r, ids[i], 1, 0, RT_OFFLINE, RT_L_ONLINE);
	}
	is_int(r->ntargets, FFFS_ARRAY_LEN(ids), "every target inserted");
	ok(targets_sorted(r), "targets kept sorted by (64-bit) id");
	for (size_t i = 0; i < FFFS_ARRAY_LEN(ids); i++)
		missing += !routing_target(r, ids[i]) ||
			   routing_target(r, ids[i])->id != ids[i];
	is_int(missing, 0, "every target found by id");
	ok(!routing_target(r, 1000) && !routing_target(r, UINT64_MAX),
	   "absent targets are NULL");
	t = *routing_target(r, ids[7]);
	is_int(routing_target_upsert(r, &t), 0, "same target: no change");
	t.used++;
	is_int(routing_target_upsert(r, &t), 1, "used changed: a change");
	t.lstate = RT_L_UPTODATE;
	is_int(routing_target_upsert(r, &t), 1, "lstate changed: a change");
	ok(routing_target(r, ids[7])->used == t.used &&
		   routing_target(r, ids[7])->lstate == RT_L_UPTODATE,
	   "target replaced");
	routing_target_mut(r, ids[7])->flags = RT_TF_ADMIN_OFFLINE;
	is_int(routing_target(r, ids[7])->flags, RT_TF_ADMIN_OFFLINE,
	       "target_mut writes");
	is_int(r->ntargets, FFFS_ARRAY_LEN(ids), "replacing adds nothing");
	is_int(r->version, 0, "upserts do not bump the version");
	routing_destroy(r);
}

static void test_chains_tables(void)
{
	struct routing *r = routing_new("c");
	uint64_t serving[RT_CHAIN_MAX];
	const struct rt_chain *ch;
	uint32_t cids[] = { 30, 10 };

	add_target(r, 11, 1, 20, RT_SERVING, RT_L_UPTODATE);
	add_target(r, 12, 2, 20, RT_WAITING, RT_L_ONLINE);
	add_target(r, 13, 3, 20, RT_SERVING, RT_L_UPTODATE);
	add_chain(r, 30, 1, 0, (uint64_t[]){ 11 }, 1);
	add_chain(r, 10, 1, 0, NULL, 0);
	add_chain(r, 20, 4, 0, (uint64_t[]){ 13, 12, 11 }, 3);
	ok(r->nchains == 3 && r->chains[0].id == 10 && r->chains[1].id == 20 &&
		   r->chains[2].id == 30,
	   "chains kept sorted by id");
	ch = routing_chain(r, 20);
	ok(ch && ch->version == 4 && ch->n == 3, "chain found by id");
	ok(!routing_chain(r, 15) && !routing_chain(r, 0), "absent chain NULL");
	ok(rt_chain_pos(ch, 13) == 0 && rt_chain_pos(ch, 11) == 2 &&
		   rt_chain_pos(ch, 14) == -1,
	   "rt_chain_pos: head 0, tail 2, absent -1");
	is_int(routing_chain_serving(r, ch, serving), 2, "two serving");
	ok(serving[0] == 13 && serving[1] == 11, "serving in chain order");
	routing_chain_mut(r, 20)->version = 5;
	is_int(routing_chain(r, 20)->version, 5, "chain_mut writes");
	routing_table_add(r, 8, 2, cids, 2);
	routing_table_add(r, 3, 1, NULL, 0);
	ok(r->ntables == 2 && r->tables[0].id == 3 && r->tables[1].id == 8,
	   "tables kept sorted by id");
	cids[0] = 0;
	ok(routing_table(r, 8) && routing_table(r, 8)->n == 2 &&
		   routing_table(r, 8)->chains[0] == 30 &&
		   routing_table(r, 8)->replicas == 2,
	   "table found, its chain list copied");
	ok(!routing_table(r, 4), "absent table NULL");
	routing_destroy(r);
}

static void test_refs(void)
{
	struct routing *r =
		routing_new("a-cluster-name-that-is-far-too-long-"
			    "for-the-cluster-field-of-routing-info");
	struct routing *c;

	is_int(r->version, 0, "a new snapshot is version 0");
	is_int(strlen(r->cluster), RT_CLUSTER_MAX - 1,
	       "a long cluster name is cut to the field");
	ok(routing_ref(r) == r, "ref returns the snapshot");
	routing_unref(r);
	routing_unref(r); /* the last: ASan reports a leak if not freed */
	routing_unref(NULL);
	ok(1, "unref to zero destroys; unref(NULL) is fine");
	r = populated();
	c = routing_copy(r);
	ok(routing_equal(r, c), "a copy equals its original");
	c->tables[1].chains[0] = 4;
	c->nodes[0].addr[0] = 'x';
	ok(r->tables[1].chains[0] == 9 && r->nodes[0].addr[0] == 't',
	   "a copy is deep");
	routing_unref(c);
	routing_destroy(r);
}

/* ---- encoding ------------------------------------------------------------ */

static void test_round_trip(void)
{
	struct routing *r = populated(), *back = NULL, *e = routing_new("");
	uint8_t *buf, *buf2;
	size_t len, len2;

	routing_encode(r, &buf, &len);
	is_int(routing_decode(buf, len, &back), 0, "a populated one decodes");
	ok(back && routing_equal(r, back), "every field survives");
	ok(back && routing_table(back, 2) && routing_chain(back, 9) &&
		   routing_target(back, 0x100000001ull) &&
		   routing_node(back, 7),
	   "lookups work on the decoded copy");
	routing_encode(back, &buf2, &len2);
	ok(len2 == len && !memcmp(buf, buf2, len), "re-encoding is identical");
	ok(buf[0] == ROUTING_FORMAT && buf[1] == 0x08 && buf[8] == 0x01,
	   "format byte, then the version little-endian");
	routing_unref(back);
	free(buf);
	free(buf2);
	routing_encode(e, &buf, &len);
	is_int(len, 1 + 8 + 2 + 16, "an empty one is 27 bytes");
	is_int(routing_decode(buf, len, &back), 0, "an empty one decodes");
	ok(back && routing_equal(e, back), "and equals the original");
	routing_unref(back);
	free(buf);
	routing_destroy(e);
	routing_destroy(r);
}

/* The decoder refuses it, leaving *out NULL. */
static bool refused(const void *buf, size_t len)
{
	static struct routing dummy;
	struct routing *r = &dummy; /* must come back NULL */
	int rc = routing_decode(buf, len, &r);

	if (rc == 0)
		routing_unref(r);
	return rc == -FFFS_EBADFRAME && r == NULL;
}

/* Encode r (broken on purpose by the caller), check it is refused. */
static void refuses(struct routing *r, const char *name)
{
	uint8_t *buf;
	size_t len;

	routing_encode(r, &buf, &len);
	ok(refused(buf, len), name);
	free(buf);
	routing_destroy(r);
}

static void test_truncations(void)
{
	struct routing *r = populated();
	uint8_t *buf, *big;
	size_t len;
	int accepted = 0;

	routing_encode(r, &buf, &len);
	for (size_t n = 0; n < len; n++)
		accepted += !refused(buf, n);
	is_int(accepted, 0, "every truncation is refused");
	big = malloc(len + 1);
	memcpy(big, buf, len);
	big[len] = 0;
	ok(refused(big, len + 1), "a trailing byte is refused");
	big[0] = ROUTING_FORMAT + 1;
	ok(refused(big, len), "an unknown format is refused");
	big[0] = 0;
	ok(refused(big, len), "format 0 is refused");
	free(big);
	free(buf);
	routing_destroy(r);
}

static void test_bad_fields(void)
{
	struct routing *r;

	r = populated();
	r->nodes[1].role = ROLE__COUNT;
	refuses(r, "a node role out of range is refused");
	r = populated();
	r->nodes[0].status = RT_NODE__COUNT;
	refuses(r, "a node status out of range is refused");
	r = populated();
	r->targets[2].pstate = RT_PSTATE__COUNT;
	refuses(r, "a pstate out of range is refused");
	r = populated();
	r->targets[0].lstate = RT_LSTATE__COUNT;
	refuses(r, "an lstate out of range is refused");
	r = populated();
	r->nodes[1].id = r->nodes[0].id;
	refuses(r, "duplicate node ids are refused");
	r = populated();
	r->nodes[2].id = 2;
	refuses(r, "node ids out of order are refused");
	r = populated();
	r->targets[1].id = r->targets[0].id;
	refuses(r, "duplicate target ids are refused");
	r = populated();
	r->chains[1].id = r->chains[0].id;
	refuses(r, "duplicate chain ids are refused");
	r = populated();
	r->tables[1].id = r->tables[0].id;
	refuses(r, "duplicate table ids are refused");
}

static void test_bad_references(void)
{
	struct routing *r;

	r = populated();
	routing_chain_mut(r, 9)->targets[0] = 4242;
	refuses(r, "a chain naming an unknown target is refused");
	r = populated();
	routing_target_mut(r, 6)->chain = 3;
	refuses(r, "a chain member naming another chain is refused");
	r = populated();
	routing_chain_mut(r, 3)->targets[1] = 0x100000001ull;
	refuses(r, "a target twice in one chain is refused");
	r = populated();
	routing_table_add(r, 7, 1, (uint32_t[]){ 5 }, 1);
	refuses(r, "a table naming an unknown chain is refused");
	r = populated();
	routing_table_add(r, 7, 1, (uint32_t[]){ 3, 4, 3 }, 3);
	refuses(r, "a chain twice in one table is refused");
}

/* A snapshot of one node and one chain of `members` targets, by hand. */
static size_t hand_encode(uint8_t *buf, size_t cap, const char *cluster,
			  const char *addr, int members)
{
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u8(&pk, ROUTING_FORMAT);
	pack_u64(&pk, 1);
	pack_str(&pk, cluster);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u8(&pk, ROLE_STORAGE);
	pack_u8(&pk, RT_NODE_UP);
	pack_str(&pk, addr);
	pack_u32(&pk, (uint32_t)members);
	for (int i = 0; i < members; i++) {
		pack_u64(&pk, (uint64_t)i + 1);
		pack_u32(&pk, 1);
		pack_u32(&pk, 1);
		pack_u8(&pk, RT_SERVING);
		pack_u8(&pk, RT_L_UPTODATE);
		pack_u8(&pk, 0);
		pack_u64(&pk, 100);
		pack_u64(&pk, 0);
	}
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u8(&pk, (uint8_t)members);
	for (int i = 0; i < members; i++)
		pack_u64(&pk, (uint64_t)i + 1);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	pack_u8(&pk, (uint8_t)members);
	pack_u32(&pk, 1);
	pack_u32(&pk, 1);
	FFFS_ASSERT(!pk.err);
	return pack_len(&pk);
}

static void test_limits(void)
{
	char c63[64], c64[65], a127[128], a128[129];
	uint8_t buf[1024];
	struct routing *r;
	struct pack pk;
	size_t len;

	memset(c63, 'c', 63);
	c63[63] = 0;
	memset(c64, 'c', 64);
	c64[64] = 0;
	memset(a127, 'a', 127);
	a127[127] = 0;
	memset(a128, 'a', 128);
	a128[128] = 0;
	len = hand_encode(buf, sizeof(buf), c63, a127, RT_CHAIN_MAX);
	is_int(routing_decode(buf, len, &r), 0,
	       "longest cluster, longest address, longest chain decode");
	ok(r && !strcmp(r->cluster, c63) && !strcmp(r->nodes[0].addr, a127) &&
		   r->chains[0].n == RT_CHAIN_MAX,
	   "and come back whole");
	routing_unref(r);
	len = hand_encode(buf, sizeof(buf), c64, a127, 1);
	ok(refused(buf, len), "a cluster name too long is refused");
	len = hand_encode(buf, sizeof(buf), c63, a128, 1);
	ok(refused(buf, len), "an address too long is refused");
	len = hand_encode(buf, sizeof(buf), "c", "a", RT_CHAIN_MAX + 1);
	ok(refused(buf, len), "a chain longer than RT_CHAIN_MAX is refused");
	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, ROUTING_FORMAT);
	pack_u64(&pk, 1);
	pack_str(&pk, "c");
	pack_u32(&pk, UINT32_MAX);
	pack_bytes(&pk, c64, 64);
	ok(refused(buf, pack_len(&pk)),
	   "a node count beyond the bytes left is refused");
}

/* Random buffers, and random damage to a valid encoding: no crash, no
 * leak, *out set exactly when 0; what decodes re-encodes to the input. */
static void test_garbage(void)
{
	struct routing *r = populated(), *d;
	uint8_t *good, junk[512];
	size_t len, glen;
	int odd = 0, decoded = 0;

	routing_encode(r, &good, &glen);
	rng_state = 42;
	for (int i = 0; i < 10000; i++) {
		uint8_t *re;
		size_t relen;
		int rc;

		if (i < 5000) {
			len = rng() % sizeof(junk);
			for (size_t j = 0; j < len; j++)
				junk[j] = (uint8_t)rng();
			if (i % 2)
				junk[0] = ROUTING_FORMAT;
		} else {
			len = glen;
			memcpy(junk, good, glen);
			for (int k = 1 + (int)(rng() % 3); k > 0; k--)
				junk[rng() % glen] ^=
					(uint8_t)(1 + rng() % 255);
		}
		d = NULL;
		rc = routing_decode(junk, len, &d);
		if ((rc == 0) != (d != NULL) || (rc && rc != -FFFS_EBADFRAME)) {
			odd++;
			continue;
		}
		if (rc)
			continue;
		decoded++;
		routing_encode(d, &re, &relen);
		odd += relen != len || memcmp(re, junk, len);
		free(re);
		routing_unref(d);
	}
	is_int(odd, 0, "10000 damaged buffers: refused, or decoded exactly");
	printf("# %d of the damaged buffers were still valid\n", decoded);
	free(good);
	routing_destroy(r);
}

/* ---- the chain updater --------------------------------------------------- */

/* "1:serving 2:waiting": the chain's members and their states, in order. */
static const char *render(const struct routing *r, uint32_t chain)
{
	static char out[256];
	const struct rt_chain *ch = routing_chain(r, chain);
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; ch && i < ch->n; i++) {
		const struct rt_target *t = routing_target(r, ch->targets[i]);

		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%llu:%s",
				      i ? " " : "",
				      (unsigned long long)ch->targets[i],
				      t ? rt_pstate_name(t->pstate) : "none");
	}
	return out;
}

static int spec_pstate(char c)
{
	const char *s = strchr("SYWLO", c);

	FFFS_ASSERT(s);
	return (int)(s - "SYWLO");
}

static int spec_lstate(char c)
{
	const char *s = strchr("uox", c);

	FFFS_ASSERT(s);
	return (int)(s - "uox");
}

/* Chain `id` (version 10, table id, version 20) from a spec "S/u W/o":
 * member i (id base+i+1 on node i+1) with pstate S(erving) Y (syncing)
 * W(aiting) L(astsrv) O(ffline) and lstate u(ptodate) o(nline)
 * (offline) x. */
static void spec_chain(struct routing *r, uint32_t id, uint64_t base,
		       const char *spec)
{
	uint64_t ids[RT_CHAIN_MAX];
	int n = 0;

	for (const char *p = spec; *p; p += p[3] ? 4 : 3) {
		ids[n] = base + (uint64_t)n + 1;
		add_node(r, (uint32_t)n + 1, ROLE_STORAGE, RT_NODE_UP, "x");
		add_target(r, ids[n], (uint32_t)n + 1, id, spec_pstate(p[0]),
			   spec_lstate(p[2]));
		n++;
	}
	add_chain(r, id, 10, id, ids, n);
	routing_table_add(r, id, (uint8_t)n, &id, 1);
	for (uint32_t i = 0; i < r->ntables; i++)
		if (r->tables[i].id == id)
			r->tables[i].version = 20;
}

struct row {
	const char *what, *from, *want, *want2;
};

static const struct row rows[] = {
	{ "uptodate: serving stays serving", "S/u", "1:serving", NULL },
	{ "uptodate: syncing becomes serving", "S/u Y/u", "1:serving 2:serving",
	  NULL },
	{ "uptodate: waiting stays waiting", "S/u W/u", "1:serving 2:waiting",
	  NULL },
	{ "uptodate: lastsrv becomes serving", "L/u", "1:serving", NULL },
	{ "uptodate: offline becomes serving", "S/u O/u", "1:serving 2:serving",
	  NULL },
	{ "online: serving stays serving", "S/o", "1:serving", NULL },
	{ "online: syncing stays syncing behind a serving one", "S/u Y/o",
	  "1:serving 2:syncing", NULL },
	{ "online: syncing with no serving predecessor waits", "L/x Y/o",
	  "1:lastsrv 2:waiting", NULL },
	{ "online: waiting starts syncing behind a serving one", "S/u W/o",
	  "1:serving 2:syncing", NULL },
	{ "online: waiting with no serving predecessor waits", "L/x W/o",
	  "1:lastsrv 2:waiting", NULL },
	{ "online: lastsrv becomes serving", "L/o", "1:serving", NULL },
	{ "online: lastsrv serving again is a predecessor at once", "L/o W/o",
	  "1:serving 2:syncing", NULL },
	{ "online: offline becomes waiting, then syncing", "S/u O/o",
	  "1:serving 2:waiting", "1:serving 2:syncing" },
	{ "offline: the only serving one becomes lastsrv", "S/x", "1:lastsrv",
	  NULL },
	{ "offline: serving with another serving becomes offline", "S/x S/u",
	  "2:serving 1:offline", NULL },
	{ "offline: syncing becomes offline", "S/u Y/x", "1:serving 2:offline",
	  NULL },
	{ "offline: waiting becomes offline", "S/u W/x", "1:serving 2:offline",
	  NULL },
	{ "offline: lastsrv stays lastsrv", "L/x", "1:lastsrv", NULL },
	{ "offline: offline stays offline", "S/u O/x", "1:serving 2:offline",
	  NULL },
	{ "offline: of two serving ones both lost, the first is lastsrv",
	  "S/x S/x", "1:lastsrv 2:offline", NULL },
	{ "offline: not lastsrv when another serves after this pass", "S/x L/o",
	  "2:serving 1:offline", NULL },
	{ "offline: lastsrv also beside an old lastsrv", "L/x S/x",
	  "1:lastsrv 2:lastsrv", NULL },
	{ "the syncing one's serving predecessor fails: it waits", "S/x Y/o",
	  "1:lastsrv 2:waiting", NULL },
	{ "one syncing: the first waiting one starts", "S/u W/o W/o",
	  "1:serving 2:syncing 3:waiting", NULL },
	{ "one syncing: a second syncing one goes back to waiting",
	  "S/u Y/o Y/o", "1:serving 2:syncing 3:waiting", NULL },
	{ "one syncing: none starts while one keeps syncing", "S/u Y/o W/o",
	  "1:serving 2:syncing 3:waiting", NULL },
	{ "one syncing: a finished sync frees the slot in the same pass",
	  "S/u Y/u W/o", "1:serving 2:serving 3:syncing", NULL },
	{ "order: groups, stable within each", "O/x W/o S/u Y/u L/x",
	  "3:serving 4:serving 5:lastsrv 2:waiting 1:offline",
	  "3:serving 4:serving 5:lastsrv 2:syncing 1:offline" },
	{ "order: states unchanged, members out of order", "W/u S/u O/x S/o",
	  "2:serving 4:serving 1:waiting 3:offline", NULL },
};

static void test_row(const struct row *row)
{
	struct routing *r = routing_new("c");
	char before[256], name[200];
	int changed, want2_changed;
	const char *want2 = row->want2 ? row->want2 : row->want;

	spec_chain(r, 1, 0, row->from);
	r->version = 30;
	snprintf(before, sizeof(before), "%s", render(r, 1));
	changed = strcmp(before, row->want) != 0;
	snprintf(name, sizeof(name), "%s: returns %d", row->what, changed);
	is_int(routing_update_chains(r), changed, name);
	is_str(render(r, 1), row->want, row->what);
	ok(routing_chain(r, 1)->version == 10u + changed &&
		   routing_table(r, 1)->version == 20u + changed &&
		   r->version == 30u + changed,
	   "  chain, table, routing versions bumped only on a change");
	want2_changed = strcmp(row->want, want2) != 0;
	is_int(routing_update_chains(r), want2_changed, "  second pass");
	is_str(render(r, 1), want2, "  after the second pass");
	routing_destroy(r);
}

static void test_rows(void)
{
	for (size_t i = 0; i < FFFS_ARRAY_LEN(rows); i++)
		test_row(&rows[i]);
}

static void set_lstate(struct routing *r, uint64_t target, uint8_t ls)
{
	routing_target_mut(r, target)->lstate = ls;
}

/* One pass: how many chains it bumped, and the chain afterwards. */
static void pass(struct routing *r, int want_n, const char *want,
		 const char *name)
{
	int n = routing_update_chains(r);

	if (!tap_ok(n == want_n && !strcmp(render(r, 1), want), __FILE__,
		    __LINE__, name))
		printf("#   got %d '%s', want %d '%s'\n", n, render(r, 1),
		       want_n, want);
}

static void test_recovery(void)
{
	struct routing *r = routing_new("c");
	uint64_t s[RT_CHAIN_MAX];

	spec_chain(r, 1, 0, "S/u S/u S/u");
	set_lstate(r, 1, RT_L_OFFLINE);
	pass(r, 1, "2:serving 3:serving 1:offline", "the head fails");
	pass(r, 0, "2:serving 3:serving 1:offline", "nothing new: no change");
	is_int(routing_chain(r, 1)->version, 11, "one bump for one change");
	set_lstate(r, 1, RT_L_ONLINE);
	pass(r, 1, "2:serving 3:serving 1:waiting", "it returns: waiting");
	pass(r, 1, "2:serving 3:serving 1:syncing", "next pass: syncing");
	pass(r, 0, "2:serving 3:serving 1:syncing", "syncing while online");
	set_lstate(r, 1, RT_L_UPTODATE);
	pass(r, 1, "2:serving 3:serving 1:serving", "uptodate: serving");
	pass(r, 0, "2:serving 3:serving 1:serving", "and stays");
	is_int(routing_chain(r, 1)->version, 14, "four changes, four bumps");
	is_int(r->version, 4, "routing version: once per changing pass");
	is_int(routing_chain_serving(r, routing_chain(r, 1), s), 3,
	       "all three serve again");
	routing_destroy(r);
}

static void test_lastsrv(void)
{
	struct routing *r = routing_new("c");
	uint64_t s[RT_CHAIN_MAX];

	spec_chain(r, 1, 0, "S/u S/u O/x");
	set_lstate(r, 1, RT_L_OFFLINE);
	pass(r, 1, "2:serving 1:offline 3:offline",
	     "one of two serving fails: offline");
	set_lstate(r, 2, RT_L_OFFLINE);
	pass(r, 1, "2:lastsrv 1:offline 3:offline",
	     "the last serving one fails: lastsrv");
	is_int(routing_chain_serving(r, routing_chain(r, 1), s), 0,
	       "no head: writes wait");
	set_lstate(r, 1, RT_L_ONLINE);
	set_lstate(r, 3, RT_L_ONLINE);
	pass(r, 1, "2:lastsrv 1:waiting 3:waiting",
	     "others return: they wait for the last serving one");
	pass(r, 0, "2:lastsrv 1:waiting 3:waiting", "and keep waiting");
	set_lstate(r, 2, RT_L_ONLINE);
	pass(r, 1, "2:serving 1:syncing 3:waiting",
	     "it returns: serving, and one starts syncing");
	routing_destroy(r);
}

static void test_versions(void)
{
	struct routing *r = routing_new("c");

	spec_chain(r, 1, 0, "S/u S/u");
	spec_chain(r, 2, 10, "S/u S/u");
	add_target(r, 99, 1, 0, RT_OFFLINE, RT_L_UPTODATE);
	r->version = 5;
	is_int(routing_update_chains(r), 0, "a settled snapshot: nothing");
	ok(r->version == 5 && routing_chain(r, 1)->version == 10 &&
		   routing_table(r, 1)->version == 20,
	   "and no version moves");
	is_int(routing_target(r, 99)->pstate, RT_OFFLINE,
	       "a target in no chain is not touched");
	set_lstate(r, 12, RT_L_OFFLINE);
	is_int(routing_update_chains(r), 1, "one chain changes");
	ok(routing_chain(r, 2)->version == 11 &&
		   routing_table(r, 2)->version == 21 &&
		   routing_chain(r, 1)->version == 10 &&
		   routing_table(r, 1)->version == 20 && r->version == 6,
	   "its chain and table move, the other ones do not");
	set_lstate(r, 1, RT_L_OFFLINE);
	set_lstate(r, 11, RT_L_OFFLINE);
	is_int(routing_update_chains(r), 2, "both chains change");
	is_int(r->version, 7, "the routing version moves once");
	routing_destroy(r);
}

static void test_unknown_member(void)
{
	struct routing *r = routing_new("c");

	spec_chain(r, 1, 0, "S/u S/u");
	routing_chain_mut(r, 1)->targets[0] = 77;
	pass(r, 1, "2:serving 77:none",
	     "a member not in the target list "
	     "drifts to the tail");
	pass(r, 0, "2:serving 77:none", "and stays there");
	routing_destroy(r);
}

/* ---- placement ----------------------------------------------------------- */

/* nodes storage nodes 1..nodes with per targets each (id node*100+j),
 * inserted in reverse. */
static struct routing *cluster(uint32_t nodes, uint32_t per)
{
	struct routing *r = routing_new("c");

	for (uint32_t n = nodes; n >= 1; n--) {
		add_node(r, n, ROLE_STORAGE, RT_NODE_UP, "tcp://s");
		for (uint32_t j = per; j >= 1; j--)
			add_target(r, n * 100 + j, n, 0, RT_OFFLINE,
				   RT_L_ONLINE);
	}
	return r;
}

static uint32_t node_of(const struct routing *r, uint64_t target)
{
	return routing_target(r, target)->node;
}

/* The table's chains are well formed: distinct nodes, chain fields set,
 * head serving, the rest waiting, version 1. */
static bool table_sane(const struct routing *r, uint32_t tid, uint32_t nchains,
		       uint32_t replicas)
{
	const struct rt_table *t = routing_table(r, tid);
	bool good = t && t->n == nchains && t->replicas == replicas;

	for (uint32_t c = 0; good && c < t->n; c++) {
		const struct rt_chain *ch = routing_chain(r, t->chains[c]);

		good = ch && ch->n == replicas && ch->version == 1 &&
		       ch->table == tid;
		for (int i = 0; good && i < ch->n; i++) {
			const struct rt_target *x =
				routing_target(r, ch->targets[i]);

			good = x->chain == ch->id &&
			       x->pstate == (i ? RT_WAITING : RT_SERVING);
			for (int j = 0; good && j < i; j++)
				good = node_of(r, ch->targets[j]) != x->node;
		}
	}
	return good;
}

static bool decodes(const struct routing *r)
{
	struct routing *d;
	uint8_t *buf;
	size_t len;
	int rc;

	routing_encode(r, &buf, &len);
	rc = routing_decode(buf, len, &d);
	free(buf);
	routing_unref(d);
	return rc == 0;
}

static void test_place_small(void)
{
	struct routing *r = cluster(3, 2);
	const struct rt_chain *a, *b;
	uint32_t tid = 0;
	char err[200];

	is_int(routing_place(r, 2, 3, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "3 nodes x 2 targets: 2 chains of 3 fit");
	is_int(tid, 1, "the first table is 1");
	ok(table_sane(r, 1, 2, 3), "each chain on 3 distinct nodes");
	a = routing_chain(r, 1);
	b = routing_chain(r, 2);
	ok(a && b, "chain ids start at 1");
	ok(a && b && node_of(r, a->targets[0]) != node_of(r, b->targets[0]),
	   "heads on different nodes");
	ok(a && a->targets[0] == 101 && a->targets[1] == 201 &&
		   a->targets[2] == 301,
	   "each node gives its lowest free target first");
	is_int(r->version, 1, "placing bumps the routing version");
	ok(decodes(r), "the result is a valid snapshot");
	is_int(routing_update_chains(r), 2, "the updater starts syncing");
	is_str(render(r, 1), "101:serving 201:syncing 301:waiting",
	       "one member at a time");
	routing_destroy(r);
}

static void test_place_balance(void)
{
	struct routing *r = cluster(6, 4);
	uint32_t shared[7][7] = { { 0 } }, heads[7] = { 0 }, tid = 0;
	uint32_t hmin = UINT32_MAX, hmax = 0, far = 0;
	char err[200];

	is_int(routing_place(r, 8, 3, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "6 nodes x 4 targets: 8 chains of 3 fit");
	ok(table_sane(r, tid, 8, 3), "every chain on 3 distinct nodes");
	for (uint32_t c = 0; c < r->nchains; c++) {
		const struct rt_chain *ch = &r->chains[c];

		heads[node_of(r, ch->targets[0])]++;
		for (int i = 0; i < ch->n; i++)
			for (int j = 0; j < ch->n; j++)
				shared[node_of(r, ch->targets[i])]
				      [node_of(r, ch->targets[j])] += i != j;
	}
	/* 8 chains x 3 pairs over 15 pairs: the mean is 24/15 */
	for (int a = 1; a <= 6; a++)
		for (int b = a + 1; b <= 6; b++)
			far += shared[a][b] * 15 > 24 + 15 ||
			       shared[a][b] * 15 + 15 < 24;
	is_int(far, 0, "every pair of nodes shares within one of the mean");
	for (int n = 1; n <= 6; n++) {
		hmin = heads[n] < hmin ? heads[n] : hmin;
		hmax = heads[n] > hmax ? heads[n] : hmax;
	}
	ok(hmax - hmin <= 1, "heads spread over the nodes (max - min <= 1)");
	ok(decodes(r), "the result is a valid snapshot");
	routing_destroy(r);
}

/* A meta table takes only meta nodes' targets, a data table only
 * storage nodes'. */
static void test_place_roles(void)
{
	struct routing *r = cluster(3, 2);
	const struct rt_chain *ch;
	const struct rt_table *t;
	uint32_t tid = 0;
	char err[200] = "";
	bool meta_only = true;

	is_int(routing_place(r, 1, 3, ROLE_META, &tid, err, sizeof(err)),
	       -ENOSPC, "a meta chain without meta nodes: -ENOSPC");
	ok(strstr(err, "on 0 meta nodes") != NULL, "err names the role");
	for (uint32_t n = 13; n >= 11; n--) {
		add_node(r, n, ROLE_META, RT_NODE_UP, "tcp://m");
		add_target(r, (uint64_t)n << 16, n, 0, RT_OFFLINE, RT_L_ONLINE);
	}
	is_int(routing_place(r, 1, 3, ROLE_META, &tid, err, sizeof(err)), 0,
	       "a meta chain of 3 on 3 meta nodes");
	t = routing_table(r, tid);
	ch = t && t->n == 1 ? routing_chain(r, t->chains[0]) : NULL;
	for (int i = 0; ch && i < ch->n; i++)
		meta_only = meta_only &&
			    routing_node(r, node_of(r, ch->targets[i]))->role ==
				    ROLE_META;
	ok(ch && ch->n == 3 && meta_only, "its targets are the meta nodes'");
	is_int(routing_place(r, 1, 3, ROLE_META, &tid, err, sizeof(err)),
	       -ENOSPC, "no second meta chain: the meta targets are taken");
	is_int(routing_place(r, 2, 3, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "the storage targets are all still free for data chains");
	routing_destroy(r);
}

static void test_place_refusals(void)
{
	struct routing *r = cluster(3, 2);
	uint8_t *before, *after;
	size_t blen, alen;
	uint32_t tid = 77;
	char err[200] = "";

	routing_encode(r, &before, &blen);
	is_int(routing_place(r, 3, 3, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -ENOSPC, "3 chains of 3 on 3 x 2 targets: -ENOSPC");
	ok(strstr(err, "only 2 of 3 chains") && strstr(err, "6 free targets"),
	   "err says how many fit");
	printf("# %s\n", err);
	routing_encode(r, &after, &alen);
	ok(alen == blen && !memcmp(before, after, blen) && tid == 77,
	   "and nothing changed");
	free(after);
	is_int(routing_place(r, 1, 4, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -ENOSPC, "4 distinct nodes of 3: -ENOSPC");
	ok(strstr(err, "only 0 of 1"), "none fit");
	err[0] = 0;
	is_int(routing_place(r, 0, 3, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -EINVAL, "no chains: -EINVAL");
	ok(err[0], "with a message");
	err[0] = 0;
	is_int(routing_place(r, 1, 0, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -EINVAL, "no replicas: -EINVAL");
	ok(err[0], "with a message");
	is_int(routing_place(r, 1, RT_CHAIN_MAX + 1, ROLE_STORAGE, &tid, err,
			     sizeof(err)),
	       -EINVAL, "more replicas than RT_CHAIN_MAX: -EINVAL");
	is_int(routing_place(r, 1, 1, ROLE_STORAGE, &tid, NULL, 0), 0,
	       "err may be NULL; a chain of 1 fits");
	routing_encode(r, &after, &alen);
	ok(r->ntables == 1 && r->version == 1, "only the success changed it");
	free(after);
	free(before);
	routing_destroy(r);
}

/* Storage nodes 1..n with caps[i] targets each (id node*100+j). */
static struct routing *uneven(const uint32_t *caps, uint32_t n)
{
	struct routing *r = routing_new("c");

	for (uint32_t k = 1; k <= n; k++) {
		add_node(r, k, ROLE_STORAGE, RT_NODE_UP, "tcp://s");
		for (uint32_t j = 1; j <= caps[k - 1]; j++)
			add_target(r, k * 100 + j, k, 0, RT_OFFLINE,
				   RT_L_ONLINE);
	}
	return r;
}

/* Every chain that fits is placed, even when the greedy choice alone would
 * strand targets on too few nodes; chains already there count. */
static void test_place_uneven(void)
{
	static const uint32_t star[] = { 3, 1, 1, 1 },
			      odd[] = { 6, 4, 6, 4, 6 };
	struct routing *r = uneven(star, 4);
	uint32_t tid;
	char err[200];

	is_int(routing_place(r, 3, 2, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "3 + 1 + 1 + 1 targets: 3 chains of 2");
	ok(table_sane(r, tid, 3, 2), "each on 2 distinct nodes");
	is_int(routing_place(r, 1, 1, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -ENOSPC, "and no target is left");
	routing_destroy(r);
	r = uneven(odd, 5);
	is_int(routing_place(r, 7, 4, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -ENOSPC, "6 + 4 + 6 + 4 + 6 targets: not 7 chains of 4");
	ok(strstr(err, "only 6 of 7"), "but 6 would fit");
	is_int(routing_place(r, 6, 4, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "and 6 are placed");
	ok(table_sane(r, tid, 6, 4), "each on 4 distinct nodes");
	routing_destroy(r);
	r = uneven((const uint32_t[]){ 2, 2, 1, 1 }, 4);
	routing_target_mut(r, 102)->chain = 5;
	routing_target_mut(r, 202)->chain = 5;
	add_chain(r, 5, 1, 5, (uint64_t[]){ 102, 202 }, 2);
	routing_table_add(r, 5, 2, (uint32_t[]){ 5 }, 1);
	is_int(routing_place(r, 1, 2, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "a table next to an existing one");
	ok(tid == 6 && routing_chain(r, 6) &&
		   routing_chain(r, 6)->targets[0] == 301 &&
		   routing_chain(r, 6)->targets[1] == 101,
	   "it avoids the pair and the head the existing chain has");
	routing_destroy(r);
}

/* Only free targets of storage nodes count, and ids follow those in use. */
static void test_place_free_only(void)
{
	struct routing *r = cluster(2, 2);
	uint32_t tid = 0;
	char err[200];

	add_node(r, 9, ROLE_META, RT_NODE_UP, "tcp://m");
	add_target(r, 901, 9, 0, RT_OFFLINE, RT_L_UPTODATE);
	add_target(r, 902, 9, 0, RT_OFFLINE, RT_L_UPTODATE);
	routing_target_mut(r, 201)->flags = RT_TF_ADMIN_OFFLINE;
	routing_target_mut(r, 101)->chain = 7;
	add_chain(r, 7, 3, 5, (uint64_t[]){ 101 }, 1);
	routing_table_add(r, 5, 1, (uint32_t[]){ 7 }, 1);
	is_int(routing_place(r, 2, 2, ROLE_STORAGE, &tid, err, sizeof(err)),
	       -ENOSPC,
	       "admin-offline, chained and non-storage targets are not free");
	is_int(routing_place(r, 1, 2, ROLE_STORAGE, &tid, err, sizeof(err)), 0,
	       "the one chain that fits");
	is_int(tid, 6, "table id one past the highest");
	ok(routing_chain(r, 8) && table_sane(r, 6, 1, 2),
	   "chain id one past the highest");
	ok(rt_chain_pos(routing_chain(r, 8), 102) >= 0 &&
		   rt_chain_pos(routing_chain(r, 8), 202) >= 0,
	   "built from the free targets");
	ok(routing_chain(r, 8)->targets[0] == 202,
	   "the node that headed no chain yet is head");
	ok(routing_chain(r, 7)->version == 3 &&
		   routing_target(r, 201)->chain == 0,
	   "nothing else touched");
	routing_destroy(r);
}

int main(void)
{
	test_names();
	test_nodes();
	test_targets();
	test_chains_tables();
	test_refs();
	test_round_trip();
	test_truncations();
	test_bad_fields();
	test_bad_references();
	test_limits();
	test_garbage();
	test_rows();
	test_recovery();
	test_lastsrv();
	test_versions();
	test_unknown_member();
	test_place_small();
	test_place_balance();
	test_place_refusals();
	test_place_roles();
	test_place_uneven();
	test_place_free_only();
	return done_testing();
}
