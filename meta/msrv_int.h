/* meta/msrv_int.h - the meta server's private state, shared by its files:
 * msrv.c (opening, the chain view, reports, the request handlers, commit
 * waiters), msrv_exec.c (the executor thread: group commit, the requests
 * table, applying forwarded write sets, dirty tracking), msrv_repl.c (the
 * write set log and the forwarder), msrv_sync.c (catching a syncing
 * successor up: db copy, install, SYNC_DONE) and msrv_gc.c (gc, the trim
 * of a shrinking file, pruning sessions of down clients).
 *
 * Threads. Loop cores run the handlers and reply; core 0 also runs the
 * agent (routing changes) and the forwarder. The executor thread is the
 * only writer of the db. s->mu guards the view, the seqs, the log, the
 * waiters and the dirty table (short critical sections, no I/O under it).
 * s->db_lock is taken shared by every user of s->db and exclusively by
 * the snapshot install, which replaces s->db.
 */
#ifndef META_MSRV_INT_H
#define META_MSRV_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "chain/view.h"
#include "meta/mproto.h"
#include "meta/msrv.h"
#include "net/pack.h"

#define MSRV_FWD_WINDOW 8	     /* FORWARDs in flight to the successor */
#define MSRV_BATCH_DATA (256u << 10) /* request data per batch at most */
#define MSRV_REQ_FORMAT 1	     /* a requests table value */

enum msrv_job_kind {
	JOB_CHANGE,	/* a client's change (head) */
	JOB_APPLY,	/* a forwarded write set */
	JOB_SNAP_MAKE,	/* copy the db for a syncing successor */
	JOB_SNAP_PIECE, /* a piece of a copy coming in */
	JOB_DIGEST,
	JOB_FSCK,
	JOB_GC_NEXT, /* the next inode due for gc (head) */
	JOB_GC_DONE, /* its chunks are gone */
	JOB_PRUNE,   /* sessions of clients on nodes mgmtd shows down */
};

/* One unit of work for the executor; it comes back to core c (a reply to
 * req, or done()). */
struct msrv_job {
	struct loop_msg m;
	struct msrv_job *next;
	enum msrv_job_kind kind;
	struct core *c;
	struct rpc_req *req;
	void (*done)(struct core *c, struct msrv_job *j);
	struct mreq q; /* JOB_CHANGE */
	uint8_t *in;   /* APPLY: the write set; SNAP_PIECE: the bulk */
	size_t in_len;
	uint64_t seq;	     /* the write set's (APPLY), the batch's (CHANGE) */
	uint64_t off, total; /* SNAP_PIECE */
	uint32_t chain_ver;  /* the view it was accepted under */
	int status;
	uint8_t *out; /* the reply body (CHANGE: inside val) */
	size_t out_len;
	uint8_t *val;	     /* CHANGE: the requests table value */
	bool wait;	     /* reply once committed_seq >= seq */
	struct ns_attr attr; /* GC_NEXT: the inode; GC_DONE: attr.ino, then
			      * the next inode */
	int next_status;     /* GC_DONE: ns_gc_next() after it */
	unsigned dropped;    /* GC_DONE: inodes dropped (it, and chunkless
				ones picked after it) */
};

/* Write sets kept for the successor, seq first..first+n-1. */
struct msrv_log_ent {
	uint64_t seq;
	uint8_t *buf;
	size_t len;
};

struct msrv_dirty {
	uint64_t ino, seq;
};

/* The forwarder (core 0 only). */
enum fwd_state { FWD_IDLE, FWD_QUERY, FWD_SNAP, FWD_RUN, FWD_WAIT };

struct msrv_fwd {
	enum fwd_state state;
	uint64_t epoch; /* bumped when the successor or chain version changes */
	uint64_t to;	/* the successor it feeds */
	char addr[RT_ADDR_MAX];
	uint32_t chain, chain_ver;
	bool syncing;	/* the successor is syncing */
	uint64_t next;	/* the next seq to send */
	uint64_t acked; /* the highest seq the successor answered */
	bool snap_done; /* the syncing successor got its copy */
	bool gap_logged;
	unsigned inflight;
	bool synced_sent;   /* SYNC_DONE answered in this epoch */
	bool sync_inflight; /* SYNC_DONE or SNAPSHOT pieces under way */
	uint8_t *snap;	    /* the copy being sent */
	size_t snap_len, snap_off;
	uint64_t snap_seq;
	struct loop_timer timer;
	struct loop_msg kick;
	atomic_bool kick_posted;
};

struct msrv {
	char *state_dir, *db_dir;
	uint64_t target, map_size;
	uint32_t node_id;
	char cluster[RT_CLUSTER_MAX];

	pthread_rwlock_t db_lock;
	struct meta_db *db;
	atomic_bool db_failed;
	/* the last seq durable here (the db's durable() calls, msrv_durable)
	 * and the last in the db (meta_db_seq(db): readers may see it), for
	 * every thread */
	_Atomic uint64_t applied, written;

	pthread_mutex_t mu;
	/* the chain view (msrv_routing) */
	struct chain_view v;
	bool fresh; /* just started: not serving until mgmtd saw us go */
	uint64_t capacity, used; /* of the storage targets */
	uint32_t synced_ver;	 /* SYNC_DONE got at this chain version */
	/* replication */
	uint64_t committed;  /* see msrv.h */
	uint64_t succ_acked; /* highest seq the serving successor answered */
	struct msrv_log_ent *log; /* [log_off, log_n) are kept */
	size_t log_off, log_n, log_cap, log_bytes;
	struct msrv_job *waiters;
	struct msrv_dirty *dirty;
	size_t ndirty, dirty_cap;
	/* the executor */
	pthread_t exec;
	bool exec_started;
	pthread_cond_t cond;
	struct msrv_job *qhead, *qtail;
	bool stop;
	/* a snapshot coming in */
	int snap_fd;
	uint64_t snap_expect;

	struct msrv_fwd fwd;
	struct msrv_gc *gc; /* core 0 */
};

extern struct msrv *msrv_g;

/* msrv.c */
void msrv_job_reply(struct core *c, struct msrv_job *j);
void msrv_job_free(struct msrv_job *j);
/* With s->mu held: committed_seq may have grown; answer the waiters. */
void msrv_commit_update(struct msrv *s);
uint64_t msrv_realtime_ns(void);

/* msrv_exec.c */
int msrv_exec_start(struct msrv *s);
void msrv_exec_stop(struct msrv *s);
void msrv_exec_push(struct msrv *s, struct msrv_job *j);
/* The db's durable() (meta_db_async): seq is durable here, so
 * committed_seq may move; rc: the db failed. */
void msrv_durable(void *arg, uint64_t seq, int rc);
/* Executor thread, s->db_lock held: commit t, mark what it touched
 * dirty, log its write set; 0 or the commit's error. */
int msrv_exec_commit(struct msrv *s, struct meta_txn *t, struct meta_ws *ws);
/* Executor thread: still the head at chain_ver, lease held. */
bool msrv_still_head(struct msrv *s, uint32_t chain_ver);
/* Executor thread: reply (status when non-zero replaces the answer). */
void msrv_answer_now(struct msrv_job *j, int status);
/* With s->mu held. */
bool msrv_dirty_locked(struct msrv *s, uint64_t ino);
void msrv_dirty_prune(struct msrv *s);

/* msrv_repl.c */
/* Executor thread: keep ws (copied) for the successor; kicks it. */
void msrv_log_append(struct msrv *s, const void *ws, size_t len, uint64_t seq);
/* With s->mu held. */
void msrv_log_clear(struct msrv *s);
void msrv_fwd_kick(struct msrv *s);
/* Core 0: the view changed. */
void msrv_fwd_view(struct core *c, struct msrv *s);
/* The successor's peer (NULL: a bad address, logged). */
struct rpc_peer *msrv_fwd_peer(struct core *c, struct msrv *s);
/* The header of every META_META_* request: u32 chain, u32 chain_ver,
 * u64 target (the successor f feeds). */
void msrv_hdr_pack(struct pack *pk, const struct msrv_fwd *f);
void msrv_hdr_unpack(struct unpack *up, uint32_t *chain, uint32_t *ver,
		     uint64_t *target);
int msrv_h_forward(struct core *c, struct rpc_req *req);
int msrv_h_seq(struct core *c, struct rpc_req *req);
/* The request names this replica at our chain version, in state ok. */
int msrv_member_check(struct msrv *s, uint32_t chain, uint32_t chain_ver,
		      uint64_t target, bool syncing_ok);

/* msrv_gc.c */
/* Core 0: start (once) the gc task. */
void msrv_gc_start(struct core *c, struct msrv *s);
/* The request's core: a shrinking SETATTR (j, accepted at the head)
 * first has its chunks trimmed: 1 when that started (j is queued or
 * answered once it is done), 0 when there is nothing to trim, or an
 * error to answer. */
int msrv_trim_start(struct core *c, struct msrv *s, struct msrv_job *j);
/* Executor thread: JOB_GC_NEXT, JOB_GC_DONE, JOB_PRUNE. */
void msrv_gc_run(struct msrv *s, struct msrv_job *j);

/* msrv_sync.c */
void msrv_sync_start(struct core *c, struct msrv *s);
void msrv_sync_check(struct core *c, struct msrv *s);
int msrv_h_snapshot(struct core *c, struct rpc_req *req);
int msrv_h_sync_done(struct core *c, struct rpc_req *req);
/* Executor thread. */
void msrv_snap_make(struct msrv *s, struct msrv_job *j);
void msrv_snap_piece(struct msrv *s, struct msrv_job *j);
/* Opening: finish or drop an install a crash interrupted. */
int msrv_snap_recover(const char *state_dir, char *err, size_t errlen);

#endif /* META_MSRV_INT_H */
