/* chain/storage_cli.h - the client side of the storage RPCs (CLI_STOR_* in
 * net/proto.h): chunk writes, batched reads and removes, truncate, last
 * chunk, space and dump, on a loop core.
 *
 * Calling sequence. One struct stor_client per core that talks to storage
 * servers, used only on that core:
 *
 *	stor_client_init(&cl, c, 0);          // 0: a random client id
 *	struct rpc_peer *p = rpc_peer_get(c, "tcp://10.0.0.2:8000", ...);
 *
 *	w->peer = p; w->target = 1; w->chunk = (struct chunk_id){ ino, 7 };
 *	w->offset = 0; w->length = n; w->chunk_size = 1 << 20;
 *	w->data = buf; w->done = my_write_done;
 *	stor_write_start(&cl, w);             // my_write_done(c, w) later
 *
 *	r->peer = p; r->target = 1; r->chunk = ...; r->offset = 0;
 *	r->length = 4096; r->done = my_read_done;
 *	stor_read_start(&cl, r);              // my_read_done(c, r, data)
 *
 *	stor_client_release(&cl);             // nothing in flight any more
 *
 * Chains. A write, truncate, read or remove names a target; with chain
 * (and the sender's chain_ver) set it goes through chain replication
 * (chain/craq_srv.h): the target must be that chain's head for writes,
 * truncates and removes, and a serving member of it for reads, and the
 * server answers -FFFS_ECHAINVER when its chain version differs,
 * -FFFS_ENOTHEAD, -FFFS_ENOTSERVING, -FFFS_EFENCED (its lease lapsed) or
 * -FFFS_EVERSION as the case may be. chain 0 addresses the target alone;
 * writes to a target that is in a chain are refused then (-EPERM).
 *
 * Every operation is a struct the caller embeds in its own object and
 * fills; its done() runs exactly once, on the client's core, with status 0
 * or a negative error: the server's (-ENOENT: no such chunk, -ENODEV: the
 * target is not on that server, -FFFS_ECRC, -EINVAL, -ENOSPC, -EIO for a
 * failed target), or a local one from net/rpc.h (-ETIMEDOUT,
 * -ECONNRESET..., -FFFS_ESHUTDOWN), or -FFFS_EBADFRAME for a malformed
 * reply. fffs_strerror() names each. A start function that returns an
 * error did not start anything and done() will not run. The struct and
 * the buffers it points to belong to the library until done() runs; done()
 * may start the same struct again, or free it.
 *
 * Writes carry the CRC32C of the payload (computed at start), the client
 * id and a request id that grows with every write or truncate of the
 * client. stor_write_retry() sends the same request again (same request
 * id and CRC, the data must not have changed): a server that already
 * applied it answers with the first answer instead of applying it twice.
 * The server only remembers the last request applied to each chunk, so
 * retry a write before sending the next one to the same chunk.
 *
 * Reads and removes are batched: those started in the same loop iteration
 * for the same peer leave as one CLI_STOR_READ (or CLI_STOR_REMOVE) of up
 * to STOR_BATCH_MAX ranges, sent at the end of the iteration (a message
 * the client posts to its own core). The reply's bulk lands in one buffer;
 * each read's done() gets a pointer to its bytes in it, valid only during
 * the callback, with out_length (the range clipped to the chunk's length:
 * 0 past the end), crc and version. The library checks every range's
 * bytes against the CRC32C the server sent: a mismatch is -FFFS_ECRC
 * (logged, naming chunk, target and server) and data is NULL. A failed
 * batch (a timeout, a lost connection) fails each of its reads or removes
 * with the same status; otherwise the ranges of a batch are independent.
 *
 * A read batch also asks for at most batch_bytes (STOR_BATCH_BYTES unless
 * set, never more than rpc_max_bulk, which the server refuses); a single
 * read may ask for up to rpc_max_bulk. Why a cap: the server answers a
 * batch once its slowest range is read, as one frame, so large reads in
 * one batch wait for each other and then for the whole transfer while the
 * disk idles, and since the reads of a batch complete together and are
 * re-issued together, the whole queue moves in lockstep. 1 MiB reads at
 * depth 8 did 1.2 GB/s (p99 29 ms) in one batch per iteration, 1.7 GB/s
 * (p99 14 ms) capped at 1 MiB per batch. Small reads still go by the
 * hundred.
 *
 * Caveats: done() of a write, truncate, last-chunk, space or dump request
 * may run before its start function returns, when the connection to the
 * peer failed just then (as with rpc_call_start()); a read's or remove's
 * done() never runs inside stor_read_start()/stor_remove_start(). A server
 * whose rpc_max_bulk is below the client's refuses large read batches
 * (-EINVAL). A chunk is at most CHUNK_MAX_LEN bytes; offset + length of a
 * write must fit in chunk_size (when given) too. Writes to one chunk are
 * applied in the order the server receives them; to know the order, wait
 * for one write's done() before starting the next to the same chunk.
 */
#ifndef CHAIN_STORAGE_CLI_H
#define CHAIN_STORAGE_CLI_H

#include "chain/chunkmeta.h"
#include "net/rpc.h"

struct stor_queue;

/* Default batch_bytes: small reads still leave by the hundred; large ones
 * do not wait for each other (see above). */
#define STOR_BATCH_BYTES (1u << 20)

struct stor_client {
	struct core *c;
	uint64_t id;	      /* carried by writes and truncates; never 0 */
	uint32_t timeout_ms;  /* deadline of each request; 0: rpc_timeout_ms */
	uint64_t batch_bytes; /* requested bytes per read batch (one read
				 alone may ask for more); 0: rpc_max_bulk */
	/* private */
	uint64_t last_req;
	struct stor_queue *queues; /* reads and removes not yet sent */
	struct loop_msg flush_msg;
	bool flush_posted;
	unsigned inflight;
};

/* True for the failures after which the same request may go again, to
 * the same server or (after fresh routing info) another: stale routing
 * (-FFFS_ECHAINVER, -FFFS_ENOTHEAD, -FFFS_ENOTSERVING, -FFFS_EFENCED,
 * -ENODEV), a server going away or not there (-FFFS_ESHUTDOWN, lost or
 * refused connections, timeouts), -EAGAIN. */
bool stor_retryable(int status);

/* id 0 picks a random client id. */
void stor_client_init(struct stor_client *cl, struct core *c, uint64_t id);
/* Operations started and not yet done (a caller that releases the client
 * waits for 0). */
unsigned stor_client_inflight(const struct stor_client *cl);
void stor_client_release(struct stor_client *cl);

/* ---- write and truncate: one request each ------------------------------ */

#define STOR_WRITE_BODY 60
#define STOR_TRUNC_BODY 52

struct stor_write {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target;
	uint32_t chain, chain_ver; /* 0: the target alone (see above) */
	struct chunk_id chunk;
	uint32_t offset, length;
	uint32_t chunk_size; /* the chunk's capacity; 0: CHUNK_MAX_LEN */
	const void *data;    /* length bytes */
	void (*done)(struct core *c, struct stor_write *w);
	/* set by stor_write_start(), kept by stor_write_retry() */
	uint64_t req_id;
	uint32_t crc;
	/* results, for done() */
	int status;
	uint64_t version;		  /* the chunk's committed version */
	uint32_t chunk_length, chunk_crc; /* the whole chunk after it */
	/* private */
	struct stor_client *cl;
	struct rpc_call call;
	uint8_t body[STOR_WRITE_BODY];
};

int stor_write_start(struct stor_client *cl, struct stor_write *w);
/* After done() with an error: the same request again. */
int stor_write_retry(struct stor_client *cl, struct stor_write *w);

struct stor_truncate {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target;
	uint32_t chain, chain_ver; /* 0: the target alone (see above) */
	struct chunk_id chunk;
	uint32_t length; /* the new length (zero-filled when it grows) */
	uint32_t chunk_size;
	void (*done)(struct core *c, struct stor_truncate *t);
	/* set by stor_truncate_start(), kept by stor_truncate_retry() */
	uint64_t req_id;
	/* results */
	int status;
	uint64_t version;
	uint32_t chunk_length, chunk_crc;
	/* private */
	struct stor_client *cl;
	struct rpc_call call;
	uint8_t body[STOR_TRUNC_BODY];
};

int stor_truncate_start(struct stor_client *cl, struct stor_truncate *t);
int stor_truncate_retry(struct stor_client *cl, struct stor_truncate *t);

/* ---- read and remove: batched per peer and loop iteration -------------- */

struct stor_read {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target;
	uint32_t chain, chain_ver; /* 0: the target alone (see above) */
	struct chunk_id chunk;
	uint32_t offset, length;
	/* data: out_length bytes, valid during the call; NULL on error */
	void (*done)(struct core *c, struct stor_read *r, const uint8_t *data);
	/* results */
	int status;
	uint32_t out_length, crc;
	uint64_t version;
	/* private */
	struct stor_read *next;
};

/* -EMSGSIZE for a length above rpc_max_bulk. */
int stor_read_start(struct stor_client *cl, struct stor_read *r);

struct stor_remove {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target;
	uint32_t chain, chain_ver; /* 0: the target alone (see above) */
	struct chunk_id chunk;
	void (*done)(struct core *c, struct stor_remove *x);
	/* result: 0, or -ENOENT when there was no such chunk, ... */
	int status;
	/* private */
	struct stor_remove *next;
};

int stor_remove_start(struct stor_client *cl, struct stor_remove *x);

/* ---- last chunk, space, dump ------------------------------------------- */

struct stor_query_last {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target, inode;
	void (*done)(struct core *c, struct stor_query_last *q);
	/* results: -ENOENT when the inode has no chunk on the target */
	int status;
	uint32_t index, length;
	/* private */
	struct stor_client *cl;
	struct rpc_call call;
	uint8_t body[16];
};

int stor_query_last_start(struct stor_client *cl, struct stor_query_last *q);

struct stor_space_ent {
	uint64_t target;
	uint8_t state; /* STOR_STATE_* */
	uint64_t capacity, used, free, chunks;
};

enum { STOR_STATE_SERVING = 0, STOR_STATE_FAILED = 1 };
/* "serving", "failed", or "unknown". */
const char *stor_state_name(unsigned state);

struct stor_space {
	/* set by the caller */
	struct rpc_peer *peer;
	void (*done)(struct core *c, struct stor_space *s);
	/* results: every target of the server, valid during done() */
	int status;
	uint32_t n;
	const struct stor_space_ent *ents;
	/* private */
	struct stor_client *cl;
	struct rpc_call call;
};

int stor_space_start(struct stor_client *cl, struct stor_space *s);

struct stor_dump_ent {
	struct chunk_id chunk;
	uint32_t length, chain_ver, crc;
	uint64_t committed, pending;
};

/* One page of a target's chunk list, in key order (inode, then index)
 * from start on. With more set, the next page starts at
 * stor_dump_next(last entry's chunk). */
struct stor_dump {
	/* set by the caller */
	struct rpc_peer *peer;
	uint64_t target;
	struct chunk_id start; /* inclusive */
	uint32_t max;	       /* entries; 0 or too many: the server's limit */
	void (*done)(struct core *c, struct stor_dump *d);
	/* results, valid during done() */
	int status;
	uint32_t n;
	bool more;
	const struct stor_dump_ent *ents;
	/* private */
	struct stor_client *cl;
	struct rpc_call call;
	uint8_t body[24];
};

int stor_dump_start(struct stor_client *cl, struct stor_dump *d);
/* The key right after id (false when id is the very last one). */
bool stor_dump_next(const struct chunk_id *id, struct chunk_id *next);

#endif /* CHAIN_STORAGE_CLI_H */
