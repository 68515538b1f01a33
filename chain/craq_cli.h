/* chain/craq_cli.h - the client side of chain replication: chunk writes,
 * truncates and removes at a chain's head, reads spread over its serving
 * members, following the routing info and retrying through failures.
 *
 *	craq_client_init(&cl, c);            // one per core that uses it
 *	w->chain = 3; w->chunk = ...; w->data = buf; w->length = n;
 *	w->done = my_write_done;
 *	craq_write_start(&cl, w);            // my_write_done(c, w) later
 *	r->chain = 3; r->chunk = ...; r->length = 4096;
 *	r->done = my_read_done;
 *	craq_read_start(&cl, r);             // my_read_done(c, r, data)
 *	craq_client_release(&cl);            // nothing in flight any more
 *
 * Routing comes from the process's agent (mgmt/agent.h), which must run;
 * every operation looks up its chain in the newest snapshot. A write goes
 * to the chain's head with the chain version it knows. When the answer
 * says the routing was stale (-FFFS_ECHAINVER, -FFFS_ENOTHEAD,
 * -FFFS_ENOTSERVING, -FFFS_EFENCED) or the head is unreachable (a lost
 * connection, a timeout), the client asks the agent for fresh routing
 * info and sends the same request again (same request id: a server that
 * applied it answers with the first answer) every craq_retry_ms, until it
 * succeeds or craq_write_timeout_ms passed since the start (then that
 * error). Other errors (-ENOSPC, -EIO, -FFFS_ECRC...) end the operation.
 * A chain with no serving target (all down, or a lastsrv one) is waited
 * for the same way. done() runs exactly once, on the client's core, never
 * inside the start function.
 *
 * Reads go to the chain's serving members in turn (read load spreads over
 * the replicas), or to `target` when set (to compare replicas); a member
 * that fails a read is skipped for the next try. The data is verified
 * against the CRC the member sends (chain/storage_cli.h).
 *
 * Results carry attempts (sends it took) and, for reads, served_by (the
 * target that answered).
 */
#ifndef CHAIN_CRAQ_CLI_H
#define CHAIN_CRAQ_CLI_H

#include "chain/storage_cli.h"
#include "mgmt/routing.h"

struct craq_client {
	struct stor_client sc;
	struct core *c;
	struct routing *r; /* the newest snapshot seen */
	uint32_t rr;	   /* read spreading */
	unsigned inflight;
};

void craq_client_init(struct craq_client *cl, struct core *c);
unsigned craq_client_inflight(const struct craq_client *cl);
void craq_client_release(struct craq_client *cl);

enum craq_cli_kind { CRAQ_CLI_WRITE, CRAQ_CLI_TRUNCATE, CRAQ_CLI_REMOVE };

struct craq_write {
	/* set by the caller */
	uint8_t kind; /* enum craq_cli_kind */
	uint32_t chain;
	struct chunk_id chunk;
	uint32_t offset, length; /* truncate: length is the new length */
	uint32_t chunk_size;	 /* the chunk's capacity; 0: CHUNK_MAX_LEN */
	const void *data;	 /* write: length bytes */
	void (*done)(struct core *c, struct craq_write *w);
	/* results */
	int status;
	uint64_t version;
	uint32_t chunk_length, chunk_crc;
	uint32_t attempts;
	/* private */
	struct craq_client *cl;
	union {
		struct stor_write w;
		struct stor_truncate t;
		struct stor_remove x;
	} u;
	bool sent_once;
	uint64_t deadline_ns;
	struct loop_timer timer;
};

/* 0, or -EINVAL for a malformed request (done() will not run). */
int craq_write_start(struct craq_client *cl, struct craq_write *w);

struct craq_read {
	/* set by the caller */
	uint32_t chain;
	struct chunk_id chunk;
	uint32_t offset, length;
	uint64_t target; /* 0: any serving member */
	void (*done)(struct core *c, struct craq_read *r, const uint8_t *data);
	/* results: data valid during done() only */
	int status;
	uint32_t out_length, crc;
	uint64_t version, served_by;
	uint32_t attempts;
	/* private */
	struct craq_client *cl;
	struct stor_read sr;
	uint64_t deadline_ns, skip;
	struct loop_timer timer;
};

int craq_read_start(struct craq_client *cl, struct craq_read *r);

/* The chain's serving members in chain order (the head first), from the
 * client's newest routing info; returns how many (0: none, or no such
 * chain). */
int craq_chain_members(struct craq_client *cl, uint32_t chain,
		       uint64_t *targets);

#endif /* CHAIN_CRAQ_CLI_H */
