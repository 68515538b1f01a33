/* mgmt/routing.c - the routing info snapshot: sorted lists, its strict
 * encoding, the chain updater and the placement of new chain tables. */
#define LOG_SUBSYS "routing"
#include "mgmt/routing.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fffs.h"
#include "net/auth.h"
#include "net/pack.h"

/* Least encoded size of each list entry (a node with an empty address, a
 * chain or table with no members): decode checks counts against it. */
#define RT_NODE_MIN   (4 + 1 + 1 + 2)
#define RT_TARGET_MIN (8 + 4 + 4 + 1 + 1 + 1 + 8 + 8)
#define RT_CHAIN_MIN  (4 + 4 + 4 + 1)
#define RT_TABLE_MIN  (4 + 4 + 1 + 4)

/* ---- sorted lists ------------------------------------------------------ */

/* Where the id sits in an entry of one of the lists. */
struct rt_kind {
	size_t size, off;
	bool wide; /* u64 id, else u32 */
};

static const struct rt_kind rt_kind_node = { sizeof(struct rt_node),
					     offsetof(struct rt_node, id),
					     false };
static const struct rt_kind rt_kind_target = { sizeof(struct rt_target),
					       offsetof(struct rt_target, id),
					       true };
static const struct rt_kind rt_kind_chain = { sizeof(struct rt_chain),
					      offsetof(struct rt_chain, id),
					      false };
static const struct rt_kind rt_kind_table = { sizeof(struct rt_table),
					      offsetof(struct rt_table, id),
					      false };

static uint64_t rt_id_at(const void *base, const struct rt_kind *k, uint32_t i)
{
	const uint8_t *p = (const uint8_t *)base + (size_t)i * k->size + k->off;
	uint64_t v64;
	uint32_t v32;

	if (k->wide) {
		memcpy(&v64, p, sizeof(v64));
		return v64;
	}
	memcpy(&v32, p, sizeof(v32));
	return v32;
}

/* Index of the first entry whose id is not below id. */
static uint32_t rt_lower(const void *base, uint32_t n, const struct rt_kind *k,
			 uint64_t id)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (rt_id_at(base, k, mid) < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *rt_find(const void *base, uint32_t n, const struct rt_kind *k,
		     uint64_t id)
{
	uint32_t at = rt_lower(base, n, k, id);

	if (at == n || rt_id_at(base, k, at) != id)
		return NULL;
	return (uint8_t *)base + (size_t)at * k->size;
}

/* Insert *e at index at of the list base[*n]; returns the new base. */
static void *rt_insert(void *base, uint32_t *n, size_t size, uint32_t at,
		       const void *e)
{
	uint8_t *b = xrealloc(base, ((size_t)*n + 1) * size);

	memmove(b + ((size_t)at + 1) * size, b + (size_t)at * size,
		(size_t)(*n - at) * size);
	memcpy(b + (size_t)at * size, e, size);
	(*n)++;
	return b;
}

/* ---- lifecycle --------------------------------------------------------- */

struct routing *routing_new(const char *cluster)
{
	struct routing *r = xcalloc(1, sizeof(*r));

	snprintf(r->cluster, sizeof(r->cluster), "%s", cluster ? cluster : "");
	atomic_init(&r->refs, 1);
	return r;
}

static void *rt_dup(const void *p, size_t bytes)
{
	void *q;

	if (!bytes)
		return NULL;
	q = xmalloc(bytes);
	memcpy(q, p, bytes);
	return q;
}

struct routing *routing_copy(const struct routing *r)
{
	struct routing *c = routing_new(r->cluster);

	c->version = r->version;
	c->nnodes = r->nnodes;
	c->ntargets = r->ntargets;
	c->nchains = r->nchains;
	c->ntables = r->ntables;
	c->nodes = rt_dup(r->nodes, r->nnodes * sizeof(*r->nodes));
	c->targets = rt_dup(r->targets, r->ntargets * sizeof(*r->targets));
	c->chains = rt_dup(r->chains, r->nchains * sizeof(*r->chains));
	c->tables = rt_dup(r->tables, r->ntables * sizeof(*r->tables));
	for (uint32_t i = 0; i < r->ntables; i++)
		c->tables[i].chains =
			rt_dup(r->tables[i].chains,
			       (size_t)r->tables[i].n * sizeof(uint32_t));
	return c;
}

void routing_destroy(struct routing *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < r->ntables; i++)
		free(r->tables[i].chains);
	free(r->nodes);
	free(r->targets);
	free(r->chains);
	free(r->tables);
	free(r);
}

struct routing *routing_ref(struct routing *r)
{
	int was = atomic_fetch_add(&r->refs, 1);

	FFFS_ASSERT(was > 0);
	return r;
}

void routing_unref(struct routing *r)
{
	int was;

	if (!r)
		return;
	was = atomic_fetch_sub(&r->refs, 1);
	FFFS_ASSERT(was > 0);
	if (was == 1)
		routing_destroy(r);
}

/* ---- lookups and changes ----------------------------------------------- */

const struct rt_node *routing_node(const struct routing *r, uint32_t id)
{
	return rt_find(r->nodes, r->nnodes, &rt_kind_node, id);
}

const struct rt_target *routing_target(const struct routing *r, uint64_t id)
{
	return rt_find(r->targets, r->ntargets, &rt_kind_target, id);
}

const struct rt_chain *routing_chain(const struct routing *r, uint32_t id)
{
	return rt_find(r->chains, r->nchains, &rt_kind_chain, id);
}

const struct rt_table *routing_table(const struct routing *r, uint32_t id)
{
	return rt_find(r->tables, r->ntables, &rt_kind_table, id);
}

struct rt_node *routing_node_mut(struct routing *r, uint32_t id)
{
	return rt_find(r->nodes, r->nnodes, &rt_kind_node, id);
}

struct rt_target *routing_target_mut(struct routing *r, uint64_t id)
{
	return rt_find(r->targets, r->ntargets, &rt_kind_target, id);
}

struct rt_chain *routing_chain_mut(struct routing *r, uint32_t id)
{
	return rt_find(r->chains, r->nchains, &rt_kind_chain, id);
}

struct rt_table *routing_table_mut(struct routing *r, uint32_t id)
{
	return rt_find(r->tables, r->ntables, &rt_kind_table, id);
}

int rt_chain_pos(const struct rt_chain *ch, uint64_t target)
{
	for (int i = 0; i < ch->n && i < RT_CHAIN_MAX; i++)
		if (ch->targets[i] == target)
			return i;
	return -1;
}

int routing_chain_serving(const struct routing *r, const struct rt_chain *ch,
			  uint64_t *out)
{
	int n = 0;

	for (int i = 0; i < ch->n && i < RT_CHAIN_MAX; i++) {
		const struct rt_target *t = routing_target(r, ch->targets[i]);

		if (t && t->pstate == RT_SERVING)
			out[n++] = t->id;
	}
	return n;
}

static bool rt_node_eq(const struct rt_node *a, const struct rt_node *b)
{
	return a->id == b->id && a->role == b->role && a->status == b->status &&
	       !strcmp(a->addr, b->addr);
}

int routing_node_upsert(struct routing *r, const struct rt_node *n)
{
	uint32_t at = rt_lower(r->nodes, r->nnodes, &rt_kind_node, n->id);
	struct rt_node c = { .id = n->id,
			     .role = n->role,
			     .status = n->status };

	/* the caller's addr need not be terminated; ours always is */
	memcpy(c.addr, n->addr, strnlen(n->addr, sizeof(c.addr) - 1));
	if (at < r->nnodes && r->nodes[at].id == n->id) {
		if (rt_node_eq(&r->nodes[at], &c))
			return 0;
		r->nodes[at] = c;
		return 1;
	}
	r->nodes = rt_insert(r->nodes, &r->nnodes, sizeof(c), at, &c);
	return 1;
}

static bool rt_target_eq(const struct rt_target *a, const struct rt_target *b)
{
	return a->id == b->id && a->node == b->node && a->chain == b->chain &&
	       a->pstate == b->pstate && a->lstate == b->lstate &&
	       a->flags == b->flags && a->capacity == b->capacity &&
	       a->used == b->used;
}

int routing_target_upsert(struct routing *r, const struct rt_target *t)
{
	uint32_t at = rt_lower(r->targets, r->ntargets, &rt_kind_target, t->id);

	if (at < r->ntargets && r->targets[at].id == t->id) {
		if (rt_target_eq(&r->targets[at], t))
			return 0;
		r->targets[at] = *t;
		return 1;
	}
	r->targets = rt_insert(r->targets, &r->ntargets, sizeof(*t), at, t);
	return 1;
}

void routing_chain_add(struct routing *r, const struct rt_chain *ch)
{
	uint32_t at = rt_lower(r->chains, r->nchains, &rt_kind_chain, ch->id);

	FFFS_ASSERT(ch->n <= RT_CHAIN_MAX);
	FFFS_ASSERT(at == r->nchains || r->chains[at].id != ch->id);
	r->chains = rt_insert(r->chains, &r->nchains, sizeof(*ch), at, ch);
}

void routing_table_add(struct routing *r, uint32_t id, uint8_t replicas,
		       const uint32_t *chains, uint32_t n)
{
	uint32_t at = rt_lower(r->tables, r->ntables, &rt_kind_table, id);
	struct rt_table t = {
		.id = id,
		.version = 1,
		.replicas = replicas,
		.n = n,
		.chains = rt_dup(chains, (size_t)n * sizeof(*chains)),
	};

	FFFS_ASSERT(at == r->ntables || r->tables[at].id != id);
	r->tables = rt_insert(r->tables, &r->ntables, sizeof(t), at, &t);
}

/* ---- encoding ---------------------------------------------------------- */

static size_t rt_encoded_size(const struct routing *r)
{
	size_t n = 1 + 8 + 2 + strnlen(r->cluster, RT_CLUSTER_MAX - 1) + 4 * 4;

	for (uint32_t i = 0; i < r->nnodes; i++)
		n += RT_NODE_MIN + strnlen(r->nodes[i].addr, RT_ADDR_MAX - 1);
	n += (size_t)r->ntargets * RT_TARGET_MIN;
	for (uint32_t i = 0; i < r->nchains; i++)
		n += RT_CHAIN_MIN + 8 * (size_t)r->chains[i].n;
	for (uint32_t i = 0; i < r->ntables; i++)
		n += RT_TABLE_MIN + 4 * (size_t)r->tables[i].n;
	return n;
}

static void rt_pack_nodes(struct pack *pk, const struct routing *r)
{
	pack_u32(pk, r->nnodes);
	for (uint32_t i = 0; i < r->nnodes; i++) {
		const struct rt_node *n = &r->nodes[i];

		pack_u32(pk, n->id);
		pack_u8(pk, n->role);
		pack_u8(pk, n->status);
		pack_strn(pk, n->addr, strnlen(n->addr, RT_ADDR_MAX - 1));
	}
}

static void rt_pack_targets(struct pack *pk, const struct routing *r)
{
	pack_u32(pk, r->ntargets);
	for (uint32_t i = 0; i < r->ntargets; i++) {
		const struct rt_target *t = &r->targets[i];

		pack_u64(pk, t->id);
		pack_u32(pk, t->node);
		pack_u32(pk, t->chain);
		pack_u8(pk, t->pstate);
		pack_u8(pk, t->lstate);
		pack_u8(pk, t->flags);
		pack_u64(pk, t->capacity);
		pack_u64(pk, t->used);
	}
}

static void rt_pack_chains(struct pack *pk, const struct routing *r)
{
	pack_u32(pk, r->nchains);
	for (uint32_t i = 0; i < r->nchains; i++) {
		const struct rt_chain *ch = &r->chains[i];

		FFFS_ASSERT(ch->n <= RT_CHAIN_MAX);
		pack_u32(pk, ch->id);
		pack_u32(pk, ch->version);
		pack_u32(pk, ch->table);
		pack_u8(pk, ch->n);
		for (int j = 0; j < ch->n; j++)
			pack_u64(pk, ch->targets[j]);
	}
}

static void rt_pack_tables(struct pack *pk, const struct routing *r)
{
	pack_u32(pk, r->ntables);
	for (uint32_t i = 0; i < r->ntables; i++) {
		const struct rt_table *t = &r->tables[i];

		pack_u32(pk, t->id);
		pack_u32(pk, t->version);
		pack_u8(pk, t->replicas);
		pack_u32(pk, t->n);
		pack_u32_array(pk, t->chains, t->n);
	}
}

void routing_encode(const struct routing *r, uint8_t **out, size_t *len)
{
	size_t size = rt_encoded_size(r);
	struct pack pk;

	*out = xmalloc(size);
	pack_init(&pk, *out, size);
	pack_u8(&pk, ROUTING_FORMAT);
	pack_u64(&pk, r->version);
	pack_strn(&pk, r->cluster, strnlen(r->cluster, RT_CLUSTER_MAX - 1));
	rt_pack_nodes(&pk, r);
	rt_pack_targets(&pk, r);
	rt_pack_chains(&pk, r);
	rt_pack_tables(&pk, r);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == size);
	*len = size;
}

/* ---- decoding ---------------------------------------------------------- */

/* A list count, refused when the bytes left cannot hold that many entries
 * of at least min bytes each (so garbage cannot make us allocate much). */
static int rt_unpack_count(struct unpack *up, size_t min, uint32_t *n)
{
	uint32_t v = unpack_u32(up);

	if (up->err || v > unpack_left(up) / min)
		return -FFFS_EBADFRAME;
	*n = v;
	return 0;
}

static int rt_unpack_nodes(struct unpack *up, struct routing *r)
{
	if (rt_unpack_count(up, RT_NODE_MIN, &r->nnodes))
		return -FFFS_EBADFRAME;
	r->nodes = xcalloc(r->nnodes, sizeof(*r->nodes));
	for (uint32_t i = 0; i < r->nnodes; i++) {
		struct rt_node *n = &r->nodes[i];

		n->id = unpack_u32(up);
		n->role = unpack_u8(up);
		n->status = unpack_u8(up);
		unpack_cstr(up, n->addr, sizeof(n->addr));
		if (up->err || n->role >= ROLE__COUNT ||
		    n->status >= RT_NODE__COUNT || (i && n->id <= n[-1].id))
			return -FFFS_EBADFRAME;
	}
	return 0;
}

static int rt_unpack_targets(struct unpack *up, struct routing *r)
{
	if (rt_unpack_count(up, RT_TARGET_MIN, &r->ntargets))
		return -FFFS_EBADFRAME;
	r->targets = xcalloc(r->ntargets, sizeof(*r->targets));
	for (uint32_t i = 0; i < r->ntargets; i++) {
		struct rt_target *t = &r->targets[i];

		t->id = unpack_u64(up);
		t->node = unpack_u32(up);
		t->chain = unpack_u32(up);
		t->pstate = unpack_u8(up);
		t->lstate = unpack_u8(up);
		t->flags = unpack_u8(up);
		t->capacity = unpack_u64(up);
		t->used = unpack_u64(up);
		if (up->err || t->pstate >= RT_PSTATE__COUNT ||
		    t->lstate >= RT_LSTATE__COUNT || (i && t->id <= t[-1].id))
			return -FFFS_EBADFRAME;
	}
	return 0;
}

/* Every member of the chain is a known target that names this chain, and
 * appears once. */
static bool rt_chain_valid(const struct routing *r, const struct rt_chain *ch)
{
	for (int i = 0; i < ch->n; i++) {
		const struct rt_target *t = routing_target(r, ch->targets[i]);

		if (!t || t->chain != ch->id ||
		    rt_chain_pos(ch, ch->targets[i]) != i)
			return false;
	}
	return true;
}

static int rt_unpack_chains(struct unpack *up, struct routing *r)
{
	if (rt_unpack_count(up, RT_CHAIN_MIN, &r->nchains))
		return -FFFS_EBADFRAME;
	r->chains = xcalloc(r->nchains, sizeof(*r->chains));
	for (uint32_t i = 0; i < r->nchains; i++) {
		struct rt_chain *ch = &r->chains[i];

		ch->id = unpack_u32(up);
		ch->version = unpack_u32(up);
		ch->table = unpack_u32(up);
		ch->n = unpack_u8(up);
		if (up->err || ch->n > RT_CHAIN_MAX ||
		    (i && ch->id <= ch[-1].id))
			return -FFFS_EBADFRAME;
		for (int j = 0; j < ch->n; j++)
			ch->targets[j] = unpack_u64(up);
		if (up->err || !rt_chain_valid(r, ch))
			return -FFFS_EBADFRAME;
	}
	return 0;
}

/* Every chain of the table is a known chain, listed once; seen[] holds a
 * stamp per chain index (the table's index + 1 once seen in it). */
static bool rt_table_valid(const struct routing *r, const struct rt_table *t,
			   uint32_t stamp, uint32_t *seen)
{
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t at = rt_lower(r->chains, r->nchains, &rt_kind_chain,
				       t->chains[i]);

		if (at == r->nchains || r->chains[at].id != t->chains[i] ||
		    seen[at] == stamp)
			return false;
		seen[at] = stamp;
	}
	return true;
}

static int rt_unpack_table(struct unpack *up, struct rt_table *t)
{
	t->id = unpack_u32(up);
	t->version = unpack_u32(up);
	t->replicas = unpack_u8(up);
	if (rt_unpack_count(up, 4, &t->n))
		return -FFFS_EBADFRAME;
	if (t->n)
		t->chains = xmalloc((size_t)t->n * sizeof(*t->chains));
	unpack_u32_array(up, t->chains, t->n);
	return up->err;
}

static int rt_unpack_tables(struct unpack *up, struct routing *r)
{
	uint32_t *seen;
	int err = 0;

	if (rt_unpack_count(up, RT_TABLE_MIN, &r->ntables))
		return -FFFS_EBADFRAME;
	r->tables = xcalloc(r->ntables, sizeof(*r->tables));
	seen = xcalloc(r->nchains, sizeof(*seen));
	for (uint32_t i = 0; i < r->ntables && !err; i++) {
		struct rt_table *t = &r->tables[i];

		if (rt_unpack_table(up, t) || (i && t->id <= t[-1].id) ||
		    !rt_table_valid(r, t, i + 1, seen))
			err = -FFFS_EBADFRAME;
	}
	free(seen);
	return err;
}

int routing_decode(const void *in, size_t len, struct routing **out)
{
	struct routing *r = routing_new("");
	struct unpack up;
	int err;

	*out = NULL;
	unpack_init(&up, in, len);
	err = unpack_u8(&up) == ROUTING_FORMAT ? 0 : -FFFS_EBADFRAME;
	r->version = unpack_u64(&up);
	unpack_cstr(&up, r->cluster, sizeof(r->cluster));
	if (!err)
		err = up.err;
	if (!err)
		err = rt_unpack_nodes(&up, r);
	if (!err)
		err = rt_unpack_targets(&up, r);
	if (!err)
		err = rt_unpack_chains(&up, r);
	if (!err)
		err = rt_unpack_tables(&up, r);
	if (!err)
		err = unpack_finish(&up);
	if (err) {
		routing_destroy(r);
		return -FFFS_EBADFRAME;
	}
	*out = r;
	return 0;
}

/* ---- the chain updater ------------------------------------------------- */

/* A pass settles a chain in three steps, each needing only what the ones
 * before it decided: first the rows of the state table that depend on the
 * target alone (every way to become serving is among them), then serving
 * targets that lost their server (lastsrv or offline, from who is serving
 * after this pass), then online syncing and waiting targets (from the
 * serving predecessors after this pass, in the chain order the pass
 * started with). So a second pass over unchanged local states changes
 * nothing, except that the reorder may give a waiting target a serving
 * predecessor it did not have before. */

/* Why a target's next state is not settled by its own states alone. */
enum rt_pending {
	RT_P_NONE = 0,
	RT_P_LASTSRV, /* serving, lstate offline: lastsrv or offline */
	RT_P_SYNC,    /* syncing or waiting, lstate online: predecessors */
};

/* One chain member during a pass. */
struct rt_slot {
	uint64_t id;
	struct rt_target *t; /* NULL: not in the target list */
	uint8_t old, ps, ls, pend;
};

/* The rows of the state table that need nothing but the target itself. */
static void rt_slot_own(struct rt_slot *s)
{
	s->ps = s->old;
	s->pend = RT_P_NONE;
	if (s->ls == RT_L_UPTODATE) {
		if (s->old != RT_WAITING)
			s->ps = RT_SERVING;
	} else if (s->ls == RT_L_ONLINE) {
		if (s->old == RT_LASTSRV)
			s->ps = RT_SERVING;
		else if (s->old == RT_OFFLINE)
			s->ps = RT_WAITING;
		else if (s->old == RT_SYNCING || s->old == RT_WAITING)
			s->pend = RT_P_SYNC;
	} else if (s->old == RT_SERVING) {
		s->pend = RT_P_LASTSRV;
	} else if (s->old == RT_SYNCING || s->old == RT_WAITING) {
		s->ps = RT_OFFLINE;
	}
}

static void rt_slots_load(struct routing *r, const struct rt_chain *ch,
			  struct rt_slot *s)
{
	for (int i = 0; i < ch->n; i++) {
		s[i].id = ch->targets[i];
		s[i].t = routing_target_mut(r, s[i].id);
		/* a member mgmtd does not know is treated as failed */
		s[i].old = s[i].t ? s[i].t->pstate : RT_OFFLINE;
		s[i].ls = s[i].t ? s[i].t->lstate : RT_L_OFFLINE;
		if (s[i].old >= RT_PSTATE__COUNT)
			s[i].old = RT_OFFLINE;
		rt_slot_own(&s[i]);
	}
}

/* Serving targets whose server went away: the first becomes lastsrv when
 * nothing else of the chain is serving after this pass, the rest offline. */
static void rt_slots_lastsrv(struct rt_slot *s, int n)
{
	bool serving = false;

	for (int i = 0; i < n; i++)
		if (s[i].pend == RT_P_NONE && s[i].ps == RT_SERVING)
			serving = true;
	for (int i = 0; i < n; i++) {
		if (s[i].pend != RT_P_LASTSRV)
			continue;
		s[i].ps = serving ? RT_OFFLINE : RT_LASTSRV;
		s[i].pend = RT_P_NONE;
		serving = true; /* later ones are not the last */
	}
}

/* Online syncing and waiting targets, from the serving predecessors after
 * this pass; then at most one syncing, and a waiting target starts only
 * when no other target keeps syncing. */
static void rt_slots_sync(struct rt_slot *s, int n)
{
	int first = n, keep = -1, start = -1;

	for (int i = n - 1; i >= 0; i--)
		if (s[i].pend == RT_P_NONE && s[i].ps == RT_SERVING)
			first = i;
	for (int i = 0; i < n; i++) {
		if (s[i].pend != RT_P_SYNC)
			continue;
		s[i].ps = RT_WAITING;
		if (i > first && s[i].old == RT_SYNCING && keep < 0)
			keep = i;
		else if (i > first && s[i].old == RT_WAITING && start < 0)
			start = i;
		s[i].pend = RT_P_NONE;
	}
	if (keep >= 0)
		s[keep].ps = RT_SYNCING;
	else if (start >= 0)
		s[start].ps = RT_SYNCING;
}

static int rt_rank(uint8_t ps)
{
	static const int rank[RT_PSTATE__COUNT] = {
		[RT_SERVING] = 0, [RT_LASTSRV] = 1, [RT_SYNCING] = 2,
		[RT_WAITING] = 3, [RT_OFFLINE] = 4,
	};

	return rank[ps];
}

/* Stable insertion sort by group; true when the order changed. */
static bool rt_slots_sort(struct rt_slot *s, int n)
{
	bool moved = false;

	for (int i = 1; i < n; i++) {
		struct rt_slot x = s[i];
		int j = i;

		for (; j > 0 && rt_rank(s[j - 1].ps) > rt_rank(x.ps); j--)
			s[j] = s[j - 1];
		if (j != i)
			moved = true;
		s[j] = x;
	}
	return moved;
}

/* One chain; true when its version was bumped. */
static bool rt_chain_update(struct routing *r, struct rt_chain *ch)
{
	struct rt_slot s[RT_CHAIN_MAX];
	struct rt_table *tab;
	bool changed;

	FFFS_ASSERT(ch->n <= RT_CHAIN_MAX);
	rt_slots_load(r, ch, s);
	rt_slots_lastsrv(s, ch->n);
	rt_slots_sync(s, ch->n);
	changed = rt_slots_sort(s, ch->n);
	for (int i = 0; i < ch->n; i++) {
		ch->targets[i] = s[i].id;
		if (s[i].t && s[i].t->pstate != s[i].ps) {
			s[i].t->pstate = s[i].ps;
			changed = true;
		}
	}
	if (!changed)
		return false;
	ch->version++;
	tab = ch->table ? routing_table_mut(r, ch->table) : NULL;
	if (tab)
		tab->version++;
	return true;
}

int routing_update_chains(struct routing *r)
{
	int bumped = 0;

	for (uint32_t i = 0; i < r->nchains; i++)
		bumped += rt_chain_update(r, &r->chains[i]);
	if (bumped)
		r->version++;
	return bumped;
}

/* ---- placement --------------------------------------------------------- */

/* Scratch model of the nodes of one role for one routing_place() call. */
struct rt_place {
	uint32_t ns;	  /* nodes of the role */
	uint32_t *node;	  /* their ids, ascending */
	uint32_t *start;  /* free[start[i] .. start[i + 1]): node i's */
	uint32_t *next;	  /* node i's next untaken entry of free[] */
	uint32_t *free;	  /* free target indices (into r->targets) */
	uint32_t *shared; /* ns x ns: chains both nodes are in */
	uint32_t *heads;  /* chains headed by node i */
	uint32_t nfree;
};

/* Storage node index of a target's node, or -1. */
static int rt_place_node(const struct rt_place *p, uint32_t node)
{
	uint32_t lo = 0, hi = p->ns;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->node[mid] < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->ns && p->node[lo] == node ? (int)lo : -1;
}

static bool rt_target_free(const struct rt_target *t)
{
	return t->chain == 0 && !(t->flags & RT_TF_ADMIN_OFFLINE);
}

/* Free targets grouped by node (counting sort; ids stay ascending). */
static void rt_place_free(struct rt_place *p, const struct routing *r)
{
	uint32_t *pos = xcalloc(p->ns + 1, sizeof(*pos));

	p->start = xcalloc(p->ns + 1, sizeof(*p->start));
	p->next = xcalloc(p->ns + 1, sizeof(*p->next));
	for (uint32_t i = 0; i < r->ntargets; i++) {
		int k = rt_place_node(p, r->targets[i].node);

		if (k >= 0 && rt_target_free(&r->targets[i]))
			p->start[k + 1]++;
	}
	for (uint32_t k = 0; k < p->ns; k++)
		p->start[k + 1] += p->start[k];
	p->nfree = p->start[p->ns];
	p->free = xcalloc(p->nfree, sizeof(*p->free));
	memcpy(pos, p->start, (p->ns + 1) * sizeof(*pos));
	memcpy(p->next, p->start, (p->ns + 1) * sizeof(*pos));
	for (uint32_t i = 0; i < r->ntargets; i++) {
		int k = rt_place_node(p, r->targets[i].node);

		if (k >= 0 && rt_target_free(&r->targets[i]))
			p->free[pos[k]++] = i;
	}
	free(pos);
}

/* Count what the chains already in r share and which nodes they head. */
static void rt_place_existing(struct rt_place *p, const struct routing *r)
{
	for (uint32_t c = 0; c < r->nchains; c++) {
		const struct rt_chain *ch = &r->chains[c];
		int k[RT_CHAIN_MAX], m = 0;

		for (int i = 0; i < ch->n; i++) {
			const struct rt_target *t =
				routing_target(r, ch->targets[i]);
			int x = t ? rt_place_node(p, t->node) : -1;
			bool dup = false;

			for (int j = 0; j < m; j++)
				dup = dup || k[j] == x;
			if (i == 0 && x >= 0)
				p->heads[x]++;
			if (x >= 0 && !dup)
				k[m++] = x;
		}
		for (int i = 0; i < m; i++)
			for (int j = 0; j < m; j++)
				p->shared[(size_t)k[i] * p->ns + k[j]] +=
					i != j;
	}
}

static void rt_place_init(struct rt_place *p, const struct routing *r,
			  uint8_t role)
{
	memset(p, 0, sizeof(*p));
	for (uint32_t i = 0; i < r->nnodes; i++)
		p->ns += r->nodes[i].role == role;
	p->node = xcalloc(p->ns ? p->ns : 1, sizeof(*p->node));
	p->ns = 0;
	for (uint32_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i].role == role)
			p->node[p->ns++] = r->nodes[i].id;
	p->shared = xcalloc((size_t)p->ns * p->ns, sizeof(*p->shared));
	p->heads = xcalloc(p->ns, sizeof(*p->heads));
	rt_place_free(p, r);
	rt_place_existing(p, r);
}

static void rt_place_release(struct rt_place *p)
{
	free(p->node);
	free(p->start);
	free(p->next);
	free(p->free);
	free(p->shared);
	free(p->heads);
}

static uint32_t rt_place_left(const struct rt_place *p, uint32_t k)
{
	return p->start[k + 1] - p->next[k];
}

/* How a candidate node would join the nodes a chain has picked so far. */
struct rt_score {
	uint64_t sum; /* chains it shares with them, summed */
	uint32_t max; /* chains it shares with the one it shares most with */
};

static struct rt_score rt_place_score(const struct rt_place *p, uint32_t k,
				      const uint32_t *pick, uint32_t m)
{
	struct rt_score s = { 0, 0 };

	for (uint32_t j = 0; j < m; j++) {
		uint32_t n = p->shared[(size_t)k * p->ns + pick[j]];

		s.sum += n;
		s.max = n > s.max ? n : s.max;
	}
	return s;
}

/* Is a a better pick than b? A chain's first node is the one with the most
 * free targets (then the lowest id). Each next one shares the fewest chains
 * with the picks: the sum, then the most with any one of them; then it has
 * headed the fewest chains, then the lowest id. (Preferring more free
 * targets here instead of the heads pairs some nodes more often than
 * others; running out of targets is prevented by rt_place_feasible.) */
static bool rt_place_better(const struct rt_place *p, uint32_t m, uint32_t a,
			    struct rt_score sa, uint32_t b, struct rt_score sb)
{
	if (m == 0 && rt_place_left(p, a) != rt_place_left(p, b))
		return rt_place_left(p, a) > rt_place_left(p, b);
	if (sa.sum != sb.sum)
		return sa.sum < sb.sum;
	if (sa.max != sb.max)
		return sa.max < sb.max;
	if (m && p->heads[a] != p->heads[b])
		return p->heads[a] < p->heads[b];
	return p->node[a] < p->node[b];
}

static bool rt_picked(const uint32_t *pick, uint32_t m, uint32_t k)
{
	for (uint32_t j = 0; j < m; j++)
		if (pick[j] == k)
			return true;
	return false;
}

/* Free targets of each node when the picks have given one each. */
static uint32_t rt_place_after(const struct rt_place *p, const uint32_t *pick,
			       uint32_t m, uint32_t k)
{
	return rt_place_left(p, k) - rt_picked(pick, m, k);
}

/* Keep the need largest values in top[] (descending). */
static void rt_top_add(uint32_t *top, uint32_t *ntop, uint32_t need, uint32_t v)
{
	uint32_t i = *ntop < need ? (*ntop)++ : need;

	for (; i > 0 && top[i - 1] < v; i--)
		if (i < need)
			top[i] = top[i - 1];
	if (i < need)
		top[i] = v;
}

/* Can the chain with picks pick[0..m) still be completed with need more
 * nodes, and crem more chains of replicas placed after it? crem chains of
 * r targets on distinct nodes fit exactly when the sum over nodes of
 * min(free, crem) is at least crem * r; the chain is best completed from
 * the nodes with the most free targets. */
static bool rt_place_feasible(const struct rt_place *p, const uint32_t *pick,
			      uint32_t m, uint32_t need, uint32_t crem,
			      uint32_t replicas)
{
	uint32_t top[RT_CHAIN_MAX], ntop = 0;
	uint64_t fit = 0;

	for (uint32_t k = 0; k < p->ns; k++) {
		uint32_t f = rt_place_after(p, pick, m, k);

		fit += f < crem ? f : crem;
		if (f && need && !rt_picked(pick, m, k))
			rt_top_add(top, &ntop, need, f);
	}
	if (ntop < need)
		return false;
	for (uint32_t i = 0; i < ntop; i++)
		fit -= top[i] <= crem;
	return fit >= (uint64_t)crem * replicas;
}

/* The best node not yet picked, with a free target and not in skip[]. */
static int rt_place_best(const struct rt_place *p, const uint32_t *pick,
			 uint32_t m, const uint8_t *skip)
{
	struct rt_score bs = { 0, 0 };
	int best = -1;

	for (uint32_t k = 0; k < p->ns; k++) {
		struct rt_score s;

		if (skip[k] || !rt_place_left(p, k) || rt_picked(pick, m, k))
			continue;
		s = rt_place_score(p, k, pick, m);
		if (best < 0 ||
		    rt_place_better(p, m, k, s, (uint32_t)best, bs)) {
			best = (int)k;
			bs = s;
		}
	}
	return best;
}

/* pick[m]: the best node that keeps the rest of the plan (this chain and
 * crem more) placeable. One exists while the plan is placeable, which
 * routing_place() checks before it starts. */
static void rt_place_pick(struct rt_place *p, uint32_t *pick, uint32_t m,
			  uint32_t replicas, uint32_t crem, uint8_t *skip)
{
	memset(skip, 0, p->ns);
	for (;;) {
		int k = rt_place_best(p, pick, m, skip);

		FFFS_ASSERT(k >= 0);
		pick[m] = (uint32_t)k;
		if (rt_place_feasible(p, pick, m + 1, replicas - m - 1, crem,
				      replicas))
			return;
		skip[k] = 1;
	}
}

/* How many chains of replicas targets on distinct nodes fit the free
 * targets: the largest c with sum(min(free, c)) >= c * replicas. */
static uint32_t rt_place_fit(const struct rt_place *p, uint32_t replicas)
{
	uint32_t lo = 0, hi = p->nfree / replicas;

	while (lo < hi) {
		uint32_t c = lo + (hi - lo + 1) / 2;
		uint64_t fit = 0;

		for (uint32_t k = 0; k < p->ns; k++)
			fit += rt_place_left(p, k) < c ? rt_place_left(p, k)
						       : c;
		if (fit >= (uint64_t)c * replicas)
			lo = c;
		else
			hi = c - 1;
	}
	return lo;
}

/* Rotate the picks so that the node that has headed fewest chains (then
 * the lowest id) leads, then take each node's lowest free target into
 * out[]. */
static void rt_place_take(struct rt_place *p, const uint32_t *pick, uint32_t m,
			  uint32_t *out)
{
	uint32_t h = 0;

	for (uint32_t j = 1; j < m; j++)
		if (p->heads[pick[j]] < p->heads[pick[h]] ||
		    (p->heads[pick[j]] == p->heads[pick[h]] &&
		     p->node[pick[j]] < p->node[pick[h]]))
			h = j;
	p->heads[pick[h]]++;
	for (uint32_t j = 0; j < m; j++) {
		uint32_t k = pick[(h + j) % m];

		out[j] = p->free[p->next[k]++];
		for (uint32_t i = 0; i < m; i++)
			p->shared[(size_t)k * p->ns + pick[i]] += pick[i] != k;
	}
}

/* Plan nchains chains (they fit) into plan[nchains * replicas]. */
static void rt_place_plan(struct rt_place *p, uint32_t nchains,
			  uint32_t replicas, uint32_t *plan)
{
	uint8_t *skip = xcalloc(p->ns, 1);
	uint32_t pick[RT_CHAIN_MAX];

	for (uint32_t c = 0; c < nchains; c++) {
		for (uint32_t m = 0; m < replicas; m++)
			rt_place_pick(p, pick, m, replicas, nchains - c - 1,
				      skip);
		rt_place_take(p, pick, replicas, plan + (size_t)c * replicas);
	}
	free(skip);
}

static void rt_err(char *err, size_t errlen, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

static void rt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Add the planned chains and their table to r. */
static void rt_place_commit(struct routing *r, uint32_t nchains,
			    uint32_t replicas, const uint32_t *plan,
			    uint32_t table)
{
	uint32_t first = r->nchains ? r->chains[r->nchains - 1].id + 1 : 1;
	uint32_t *ids = xcalloc(nchains, sizeof(*ids));

	for (uint32_t c = 0; c < nchains; c++) {
		struct rt_chain ch = { .id = first + c,
				       .version = 1,
				       .table = table,
				       .n = (uint8_t)replicas };

		for (uint32_t j = 0; j < replicas; j++) {
			struct rt_target *t =
				&r->targets[plan[c * replicas + j]];

			t->chain = ch.id;
			t->pstate = j ? RT_WAITING : RT_SERVING;
			ch.targets[j] = t->id;
		}
		routing_chain_add(r, &ch);
		ids[c] = ch.id;
	}
	routing_table_add(r, table, (uint8_t)replicas, ids, nchains);
	free(ids);
	r->version++;
}

/* Room for nchains more chain ids and one more table id. */
static bool rt_place_ids_left(const struct routing *r, uint32_t nchains)
{
	uint32_t last_chain = r->nchains ? r->chains[r->nchains - 1].id : 0;
	uint32_t last_table = r->ntables ? r->tables[r->ntables - 1].id : 0;

	return last_chain <= UINT32_MAX - nchains && last_table < UINT32_MAX;
}

int routing_place(struct routing *r, uint32_t nchains, uint32_t replicas,
		  uint8_t role, uint32_t *table_id, char *err, size_t errlen)
{
	struct rt_place p;
	uint32_t *plan, fit, nodes = 0;

	if (!nchains || !replicas || replicas > RT_CHAIN_MAX) {
		rt_err(err, errlen,
		       "cannot place %u chains of %u targets: need at least "
		       "1 chain of 1 to %d targets",
		       nchains, replicas, RT_CHAIN_MAX);
		return -EINVAL;
	}
	if (!rt_place_ids_left(r, nchains)) {
		rt_err(err, errlen, "no free chain or table ids left");
		return -ENOSPC;
	}
	rt_place_init(&p, r, role);
	fit = rt_place_fit(&p, replicas);
	if (fit < nchains) {
		for (uint32_t k = 0; k < p.ns; k++)
			nodes += rt_place_left(&p, k) > 0;
		rt_err(err, errlen,
		       "only %u of %u chains of %u targets on distinct nodes "
		       "fit the free targets (%u free targets on %u %s "
		       "nodes)",
		       fit, nchains, replicas, p.nfree, nodes,
		       node_role_name(role));
		rt_place_release(&p);
		return -ENOSPC;
	}
	plan = xcalloc((size_t)nchains * replicas, sizeof(*plan));
	rt_place_plan(&p, nchains, replicas, plan);
	*table_id = r->ntables ? r->tables[r->ntables - 1].id + 1 : 1;
	rt_place_commit(r, nchains, replicas, plan, *table_id);
	rt_err(err, errlen, "%s", "");
	free(plan);
	rt_place_release(&p);
	return 0;
}

/* ---- names ------------------------------------------------------------- */

static const char *const rt_pstate_names[RT_PSTATE__COUNT] = {
	[RT_SERVING] = "serving", [RT_SYNCING] = "syncing",
	[RT_WAITING] = "waiting", [RT_LASTSRV] = "lastsrv",
	[RT_OFFLINE] = "offline",
};

static const char *const rt_lstate_names[RT_LSTATE__COUNT] = {
	[RT_L_UPTODATE] = "uptodate",
	[RT_L_ONLINE] = "online",
	[RT_L_OFFLINE] = "offline",
};

static const char *const rt_node_status_names[RT_NODE__COUNT] = {
	[RT_NODE_UP] = "up",
	[RT_NODE_DOWN] = "down",
};

const char *rt_pstate_name(int s)
{
	return s >= 0 && s < RT_PSTATE__COUNT ? rt_pstate_names[s] : "?";
}

const char *rt_lstate_name(int s)
{
	return s >= 0 && s < RT_LSTATE__COUNT ? rt_lstate_names[s] : "?";
}

const char *rt_node_status_name(int s)
{
	return s >= 0 && s < RT_NODE__COUNT ? rt_node_status_names[s] : "?";
}

static int rt_parse(const char *const *names, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (!strcmp(names[i], name))
			return i;
	return -EINVAL;
}

int rt_pstate_parse(const char *name)
{
	return rt_parse(rt_pstate_names, RT_PSTATE__COUNT, name);
}

int rt_lstate_parse(const char *name)
{
	return rt_parse(rt_lstate_names, RT_LSTATE__COUNT, name);
}
