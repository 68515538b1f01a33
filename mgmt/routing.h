/* mgmt/routing.h - routing info: the cluster's nodes, targets, chains and
 * chain tables as one versioned snapshot, its encoding, the chain updater
 * (the target state machine of DESIGN.md section 4) and the placement of
 * new chain tables.
 *
 * mgmtd owns the one authoritative snapshot, changes it (heartbeats, the
 * updater, operator commands), bumps routing->version on every change that
 * others must see, and serves it encoded. Every other process holds a
 * decoded copy that it never changes; a new version replaces it whole.
 *
 *	struct routing *r = routing_new("cluster-a");
 *	routing_node_upsert(r, &node);            // mgmtd: a heartbeat
 *	routing_target_upsert(r, &target);
 *	routing_place(r, 2, 3, ROLE_STORAGE, &table, err, errlen); // a table
 *	n = routing_update_chains(r);             // once a second
 *	routing_encode(r, &buf, &len);            // to the wire or to LMDB
 *	routing_decode(buf, len, &copy);          // the other side
 *	routing_destroy(r);
 *
 * Snapshots shared between threads are reference counted: routing_ref()
 * and routing_unref() (the last unref destroys it). A snapshot is
 * immutable once shared.
 *
 * Encoding (little-endian, net/pack.h; ROUTING_FORMAT 1):
 *	u8 format, u64 version, str cluster,
 *	u32 n, n x node (u32 id, u8 role, u8 status, str addr),
 *	u32 n, n x target (u64 id, u32 node, u32 chain, u8 pstate, u8 lstate,
 *		u8 flags, u64 capacity, u64 used),
 *	u32 n, n x chain (u32 id, u32 version, u32 table, u8 n, n x u64
 *		target),
 *	u32 n, n x table (u32 id, u32 version, u8 replicas, u32 n, n x u32
 *		chain)
 * routing_decode() refuses (-FFFS_EBADFRAME, nothing allocated) anything
 * truncated, with trailing bytes, an unknown format, a state or role out
 * of range, a chain longer than RT_CHAIN_MAX, duplicate ids, a target of a
 * chain that is not in the target list (or whose chain field differs), a
 * chain of a table that is not in the chain list, a string too long for its
 * field. Lists are kept sorted by id; lookups are binary searches.
 *
 * The chain updater, per chain, from each target's local state (lstate,
 * as mgmtd knows it: what its server last reported, or RT_L_OFFLINE when
 * the server's lease expired or an operator took the target offline) and
 * its current public state; "a serving predecessor exists" means the chain
 * has a serving target before it in chain order:
 *	lstate uptodate: serving; but waiting stays waiting;
 *	lstate online:   serving stays serving; syncing stays syncing while
 *			 a serving predecessor exists, else waiting; waiting
 *			 becomes syncing when a serving predecessor exists;
 *			 lastsrv becomes serving; offline becomes waiting;
 *	lstate offline:  serving becomes lastsrv if no other target of the
 *			 chain is serving (after this pass), else offline;
 *			 syncing and waiting become offline; lastsrv stays.
 * Then at most one target is syncing (the first in chain order; others go
 * back to waiting), and a target may only become syncing when no other
 * target of the chain is syncing. Last, the chain is reordered, stably
 * within each group: serving..., lastsrv, syncing..., waiting...,
 * offline.... Any change of a state or of the order bumps the chain's
 * version (and the table's and the routing version). A chain with a
 * lastsrv target and no serving one has no head: writes wait.
 *
 * Placement (routing_place): nchains new chains of `replicas` targets each
 * from the targets that are in no chain yet, each chain on `replicas`
 * distinct nodes of the given role (ROLE_STORAGE for data chains,
 * ROLE_META for the meta chain; others' targets are not looked at). Greedy and
 *deterministic, counting the chains that exist already: a chain's first node is
 *the one with the fewest chains shared with others (ties: most free targets,
 *lowest id); each further node the one sharing the fewest chains with the nodes
 *picked so far (ties: the most shared with any one of them, fewest heads,
 *lowest id), never one that would leave the remaining chains without room
 * (chains of r fit exactly when the sum over nodes of min(free, chains)
 * is at least chains x r). The chain's order is rotated so that the node
 * that has been head the fewest times is head. Pairs of nodes end up
 * sharing about the same number of chains (within one of the mean where
 * such a placement exists, in the cases t/unit/routing checks). Not
 * enough free targets on distinct nodes: -ENOSPC, nothing placed, with
 * err saying how many chains could be placed.
 */
#ifndef MGMT_ROUTING_H
#define MGMT_ROUTING_H

#include "fffs.h"

#define ROUTING_FORMAT 1
#define RT_CHAIN_MAX   8   /* targets per chain */
#define RT_ADDR_MAX    128 /* "tcp://host:port" and its NUL */
#define RT_CLUSTER_MAX 64

/* Public state of a target (in routing info). Numbers are on the wire. */
enum rt_pstate {
	RT_SERVING = 0,
	RT_SYNCING = 1,
	RT_WAITING = 2,
	RT_LASTSRV = 3,
	RT_OFFLINE = 4,
	RT_PSTATE__COUNT
};

/* Local state of a target, as its server reports it. */
enum rt_lstate {
	RT_L_UPTODATE = 0,
	RT_L_ONLINE = 1,
	RT_L_OFFLINE = 2,
	RT_LSTATE__COUNT
};

enum rt_node_status { RT_NODE_UP = 0, RT_NODE_DOWN = 1, RT_NODE__COUNT };

/* Target flags (set by operators, kept by mgmtd). */
#define RT_TF_ADMIN_OFFLINE 0x01 /* `fffs admin target offline` */

struct rt_node {
	uint32_t id;
	uint8_t role;	/* enum node_role (net/auth.h) */
	uint8_t status; /* enum rt_node_status */
	char addr[RT_ADDR_MAX];
};

struct rt_target {
	uint64_t id;
	uint32_t node;
	uint32_t chain; /* 0: in no chain */
	uint8_t pstate; /* enum rt_pstate; RT_OFFLINE while in no chain */
	uint8_t lstate; /* enum rt_lstate */
	uint8_t flags;	/* RT_TF_* */
	uint64_t capacity, used;
};

struct rt_chain {
	uint32_t id;
	uint32_t version;
	uint32_t table;
	uint8_t n;
	uint64_t targets[RT_CHAIN_MAX]; /* in chain order: head first */
};

struct rt_table {
	uint32_t id;
	uint32_t version;
	uint8_t replicas;
	uint32_t n;
	uint32_t *chains; /* owned */
};

struct routing {
	uint64_t version;
	char cluster[RT_CLUSTER_MAX];
	uint32_t nnodes, ntargets, nchains, ntables;
	struct rt_node *nodes; /* sorted by id; all arrays owned */
	struct rt_target *targets;
	struct rt_chain *chains;
	struct rt_table *tables;
	/* private */
	_Atomic int refs;
};

/* An empty snapshot (version 0) of cluster, one reference. */
struct routing *routing_new(const char *cluster);
/* A deep copy with one reference. */
struct routing *routing_copy(const struct routing *r);
void routing_destroy(struct routing *r);
struct routing *routing_ref(struct routing *r);
void routing_unref(struct routing *r); /* NULL is fine */

/* Encode into a new buffer (*out, free it). */
void routing_encode(const struct routing *r, uint8_t **out, size_t *len);
/* 0 and *out (one reference), or -FFFS_EBADFRAME and *out NULL. */
int routing_decode(const void *in, size_t len, struct routing **out);

/* Lookups; NULL when there is none. */
const struct rt_node *routing_node(const struct routing *r, uint32_t id);
const struct rt_target *routing_target(const struct routing *r, uint64_t id);
const struct rt_chain *routing_chain(const struct routing *r, uint32_t id);
const struct rt_table *routing_table(const struct routing *r, uint32_t id);
/* The same, writable (mgmtd's own snapshot only). */
struct rt_node *routing_node_mut(struct routing *r, uint32_t id);
struct rt_target *routing_target_mut(struct routing *r, uint64_t id);
struct rt_chain *routing_chain_mut(struct routing *r, uint32_t id);
struct rt_table *routing_table_mut(struct routing *r, uint32_t id);

/* Position of target in its chain (0 = head), or -1. */
int rt_chain_pos(const struct rt_chain *ch, uint64_t target);
/* Targets of the chain whose public state is serving, in chain order,
 * into out (RT_CHAIN_MAX); returns how many. */
int routing_chain_serving(const struct routing *r, const struct rt_chain *ch,
			  uint64_t *out);

/* Insert, or replace the entry with the same id (keeps lists sorted).
 * Return 1 when something changed, else 0. Neither bumps the version. */
int routing_node_upsert(struct routing *r, const struct rt_node *n);
int routing_target_upsert(struct routing *r, const struct rt_target *t);
/* Add a chain or a table (the id must be new: FFFS_ASSERT). */
void routing_chain_add(struct routing *r, const struct rt_chain *ch);
void routing_table_add(struct routing *r, uint32_t id, uint8_t replicas,
		       const uint32_t *chains, uint32_t n);

/* Run the chain updater over every chain; returns the number of chains
 * whose version it bumped (and bumps r->version once if any). */
int routing_update_chains(struct routing *r);

/* Place nchains chains of replicas targets (see above) and add them as a
 * new table: ids are the next free table id and chain ids, the table id in
 * *table_id. New chains start at version 1 with every target waiting and
 * the first one serving (an empty chain has nothing to sync). Bumps
 * r->version. 0, or -EINVAL (bad counts) / -ENOSPC with err. */
int routing_place(struct routing *r, uint32_t nchains, uint32_t replicas,
		  uint8_t role, uint32_t *table_id, char *err, size_t errlen);

/* Names for tables and JSON: "serving", ..., "uptodate", ..., "up",
 * "down"; "?" out of range. Parsers return the value or -EINVAL. */
const char *rt_pstate_name(int s);
const char *rt_lstate_name(int s);
const char *rt_node_status_name(int s);
int rt_pstate_parse(const char *name);
int rt_lstate_parse(const char *name);

#endif /* MGMT_ROUTING_H */
