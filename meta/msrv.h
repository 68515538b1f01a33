/* meta/msrv.h - a meta server: one replica of the meta chain. It executes
 * namespace operations at the head with group commit, replicates their
 * write sets down the chain, answers reads at any serving replica for
 * clean inodes, catches a returning replica up, and runs gc.
 *
 *	msrv_open(&params, &s, err, errlen);    // opens the LMDB (meta/db.h)
 *	loop_start(...); rpc_serve(uri, msrv_handlers, ...);
 *	agent: .report = msrv_report, .changed = msrv_routing, .arg = s
 *	loop_main(); msrv_close(s);
 *
 * The replica is the target params.target (a meta chain's member: mgmtd
 * manages it like a data chain, same states and leases, mgmt/routing.h).
 * Its chain is the one the routing info puts the target in, read by
 * chain/view.h as every data chain member reads its own: head, successor,
 * tail, fencing and the local state it reports are the data chains' rules.
 *
 * Executing (head only: the first serving member, lease held, the
 * request's chain_ver equal to ours, else -FFFS_ENOTHEAD / -FFFS_EFENCED /
 * -FFFS_ECHAINVER). CLI_META_OP changes are queued to one executor thread
 * (off the event loop). It takes every queued op (up to MSRV_BATCH), runs
 * each with mres_exec() in one LMDB write transaction (an op that fails
 * costs nothing; one that leaves the transaction broken makes the batch
 * run again op by op), records each op's reply under (client, req_id) in
 * the requests table (META_T_REQUESTS) in the same transaction, forgets
 * the client's replies below its ack_floor, and commits: one commit, one
 * write set with the next seq, for the whole batch. A retry
 * (same client and req_id) is answered from the requests table, never
 * executed twice, wherever it lands after a failover.
 *
 * Replicating. Every replica keeps the write sets it committed or applied
 * in a log (memory, bounded by msrv_log_bytes) and, for its successor in
 * the chain, a forwarder on the core of the chain: it asks the successor's
 * applied seq (META_META_SEQ), then sends each write set after it, in
 * order, several in flight (META_META_FORWARD). A replica applies a
 * forwarded write set when it is the next seq (meta_db_apply(), on its
 * executor thread; a run of them queued together that extends its applied
 * seq in one commit, meta_db_apply_many()), ignores one it has (seq <=
 * applied), and answers a gap with -FFFS_EVERSION and its applied seq
 * (the sender resumes there).
 * A replica's applied seq is the last one durable there: commits return
 * once in LMDB and written to the db's journal, and the journal's syncer
 * (meta_db_async(), msrv_durable()) moves the applied seq, one sync for
 * every commit written meanwhile, while the executor goes on with the
 * next batch. committed_seq of a replica is its applied seq when it is
 * the last serving member, else the highest seq its serving successor
 * answered, if it is not above the applied seq. A
 * FORWARD is answered once committed_seq >= its seq; a client's change is
 * answered once the head's committed_seq reaches the batch's seq. So an
 * answered change is on every serving replica. A syncing successor is fed
 * from the log too, but is not waited for. A routing change restarts the
 * forwarder toward the new successor (from its applied seq), and a
 * replica that became the last serving member answers its waiting
 * FORWARDs at once.
 *
 * Reads. CLI_META_OP reads are answered by any serving member from a
 * read-only transaction unless an inode the read depends on (ino, parent;
 * statfs: the counters) is dirty here: touched by a write set newer than
 * committed_seq. Then -FFFS_EDIRTY unless we are the tail (the last
 * serving member): the client asks the tail.
 *
 * Catching up. A target mgmtd shows syncing gets from its predecessor (the
 * last serving member) a consistent copy of its LMDB (mdb_env_copy,
 * META_META_SNAPSHOT pieces of MSRV_SNAP_PIECE bytes, installed at the
 * end in place of its own db, atomically: written to a new directory,
 * renamed), then the write sets after the copy's seq from the log, then
 * META_META_SYNC_DONE once it has everything up to the predecessor's
 * committed_seq. It then reports itself up to date (msrv_report) and
 * mgmtd makes it serving. A syncing target always gets a copy: a replica
 * that comes back may hold write sets nobody else has (it was a head that
 * died before forwarding them).
 *
 * GC and truncation (head only; each ns_gc_next() / ns_gc_done() step is
 * a job of the executor thread, queued between batches, and replicated
 * like a batch): ns_gc_next() inodes get their chunks removed on storage
 * (the file's chains from its layout, every index up to its size, through
 * chain/craq_cli.h on core 0, at most msrv_gc_rate chunks per second),
 * retried until done, then ns_gc_done(). A setattr that shrinks a file
 * trims its chunks past the new size (on the request's core) before it is
 * queued, so before the change commits; a failed trim fails the setattr.
 * Sessions of clients mgmtd no longer lists are pruned
 * (ns_sessions_prune).
 *
 * Admin: ADM_META_FSCK runs ns_fsck() on a read transaction,
 * ADM_META_DIGEST gives meta_db_digest() and the applied seq (replicas
 * compare equal at the same seq).
 *
 * Decisions. Formatting: every replica formats its own empty db the same
 * way (ns_format: root 0755 root:root, layout table 0, time 0), so that
 * all start byte-identical at seq 1; the LMDB directory is
 * state_dir/db. Restarts: a replica that starts and finds itself serving
 * in the routing info (it came back within its lease) reports itself
 * offline and serves nothing until mgmtd has shown it in another state:
 * it may have lost write sets, or hold some nobody else has, so it
 * always comes back through a copy. The copy is made on the executor
 * thread (so it is at one seq; changes wait meanwhile) and held in memory
 * by the sender while it is sent. Requests table entries of a client
 * that never comes back stay (ack_floor is the only pruning).
 *
 * Sessions are pruned for clients whose node (client id >> 16, the way
 * fffs mount numbers its clients) mgmtd lists as a client node that is
 * down; a client id that names no listed node is left alone. A
 * shrinking setattr trims the chunks up to the size meta knows (a
 * writer's chunks past it that it has not reported stay until gc).
 */
#ifndef META_MSRV_H
#define META_MSRV_H

#include "meta/db.h"
#include "mgmt/agent.h"
#include "mgmt/routing.h"
#include "net/rpc.h"

#define MSRV_BATCH	64	   /* changes per transaction at most */
#define MSRV_SNAP_PIECE (1u << 20) /* bytes per META_META_SNAPSHOT */

struct msrv_params {
	const char *state_dir; /* holds the LMDB directory */
	uint64_t target;       /* this replica's target id */
	uint64_t map_size;     /* LMDB map size (bytes) */
	const char *cluster;
	uint32_t node_id;
};

struct msrv;

int msrv_open(const struct msrv_params *p, struct msrv **out, char *err,
	      size_t errlen);
void msrv_close(struct msrv *s);

/* The handler table for rpc_serve (CLI_META_OP, META_META_*, ADM_META_*,
 * PEER_SRV_PING). */
extern const struct rpc_handler msrv_handlers[MSG__MAX];

/* agent_params.report / .changed, arg = the struct msrv. */
int msrv_report(void *arg, struct agent_report *out, int max);
void msrv_routing(void *arg, struct routing *r);

#endif /* META_MSRV_H */
