/* fuse/fdata.h - the bytes of a file on its storage chains: reads and
 * writes of a byte range split into chunk operations that run in
 * parallel, and the exact length of a file from its chains.
 *
 *	io->ino = a.ino; io->layout = a.layout; io->size = a.size;
 *	io->write = false; io->offset = off; io->length = n; io->buf = buf;
 *	io->done = my_done;
 *	fdata_start(&craq_client, io);         // my_done(c, io) later
 *
 *	q->ino = a.ino; q->layout = a.layout; q->done = my_len_done;
 *	fdata_length_start(&craq_client, q);   // q->length
 *
 * Where the bytes are: chunk i of a file holds bytes [i * chunk_size,
 * (i + 1) * chunk_size) and is chunk {ino, i} of chain
 * table.chains[ns_chunk_chain(&layout, table.n, i)] (meta/ns.h), table
 * being layout.table in the newest routing info (mgmt/agent.h). The meta
 * server's gc and truncation use the same rule.
 *
 * Reads stop at io->size (the file's length as the caller knows it):
 * io->done_bytes is what was read, short only at the end of the file. A
 * chunk that does not exist, or ends before the range does, reads as
 * zeros (a hole). Writes write every byte (io->size is not looked at)
 * and give, in io->end, the offset after the last byte written, which the
 * caller reports to meta. Chunk operations are those of chain/craq_cli.h
 * (retried through failovers up to craq_write_timeout_ms); the first
 * error of any chunk is io->status (the others still run to their end
 * before done()). A file without a chain table (layout.table 0) has no
 * data: reads give zeros up to size, writes are -ENOSPC. An io spans at
 * most FDATA_MAX_CHUNKS chunks (-EINVAL: done() will not run).
 *
 * fdata_length_start() asks the tail of each chain of the file's stripe
 * for the file's last chunk on it (CLI_STOR_QUERY_LAST): length is the end
 * of the last chunk of all (0 when there is none). done() runs once, on
 * the client's core, never inside the start function.
 */
#ifndef FUSE_FDATA_H
#define FUSE_FDATA_H

#include "chain/craq_cli.h"
#include "meta/ns.h"

#define FDATA_MAX_CHUNKS 256

struct fdata_piece;

struct fdata_io {
	/* set by the caller */
	uint64_t ino;
	struct ns_layout layout;
	uint64_t size; /* reads: the file's length */
	bool write;
	uint64_t offset;
	uint32_t length;
	uint8_t *buf; /* length bytes; a write's is borrowed until done() */
	void (*done)(struct core *c, struct fdata_io *io);
	void *arg;
	/* results */
	int status;
	uint32_t done_bytes;
	uint64_t end; /* writes: offset + length once written */
	/* private */
	struct craq_client *cl;
	struct fdata_piece *pieces;
	unsigned npieces, pending;
	struct loop_msg msg; /* done() of an io without chunk operations */
};

int fdata_start(struct craq_client *cl, struct fdata_io *io);

struct fdata_len_q;

struct fdata_length {
	/* set by the caller */
	uint64_t ino;
	struct ns_layout layout;
	void (*done)(struct core *c, struct fdata_length *q);
	void *arg;
	/* results */
	int status;
	uint64_t length;
	/* private */
	struct craq_client *cl;
	struct fdata_len_q *qs;
	unsigned nq, pending;
	struct loop_msg msg;
};

int fdata_length_start(struct craq_client *cl, struct fdata_length *q);

/* Blocking, from a thread that is not a loop thread (tools, the FUSE
 * workers): run io (or q) on cl's core and wait for it; its status. The
 * caller's done and arg are not used. */
int fdata_call(struct craq_client *cl, struct fdata_io *io);
int fdata_length_call(struct craq_client *cl, struct fdata_length *q);

/* The chain of chunk index of a file with layout l in routing r (0: the
 * table is unknown or empty). */
uint32_t fdata_chunk_chain(const struct routing *r, const struct ns_layout *l,
			   uint64_t index);

#endif /* FUSE_FDATA_H */
