/* chain/metastore.h - the chunk metadata of one target, in LMDB, with group
 * commit.
 *
 * One LMDB environment per target, in a directory of the state dir. It holds
 * two databases: "info" (target id, uuid, cluster id: the store refuses to
 * open for another target) and "chunks" (chunk key -> chunk_meta value, see
 * chain/chunkmeta.h).
 *
 * Reads run on any thread in a short read-only transaction (a loop core
 * keeps one per store, reset between reads and renewed for the next).
 * Writes are submitted as ops and applied by the store's committer thread:
 * it takes every op queued so far, calls the barrier (the engine passes a
 * function that makes the data writes durable, fdatasync of the target),
 * applies the batch in one write transaction and commits it, then posts each
 * op's msg to op->core (net/loop.h). If the barrier or the commit fails,
 * every op of the batch gets the error and nothing of it is applied.
 *
 *	metastore_open(dir, &info, &ms, err, errlen);
 *	op->core = c; op->msg.cb = my_done; op->id = ...; op->meta = ...;
 *	metastore_submit(ms, op);        // my_done(c, &op->msg) later, on c
 *
 * An op's meta is copied at submit time; the caller keeps ownership of its
 * own page_crc array.
 *
 * Caveats:
 *  - group commit: ops submitted while a barrier runs are queued and all
 *    go into the next batch together, and batches whose barriers passed
 *    while a commit ran share the next transaction (should it fail, each
 *    is committed alone: a batch still fails or succeeds on its own);
 *    completions are posted in submission order;
 *  - metastore_submit() may be called from any thread; an op belongs to the
 *    store from submit until its msg.cb runs;
 *  - close the store before the loop stops: completions are core_post()s;
 *  - errors: LMDB's MDB_NOTFOUND is -ENOENT, MDB_MAP_FULL -ENOSPC (the
 *    batch is dropped, the store stays usable), a system error LMDB passes
 *    up is -errno, any other LMDB error -EIO; a record that does not
 *    decode is -FFFS_EBADFRAME (logged, naming the chunk);
 *  - deleting a chunk that is not there succeeds.
 */
#ifndef CHAIN_METASTORE_H
#define CHAIN_METASTORE_H

#include "chain/chunkmeta.h"
#include "net/loop.h"

struct metastore;

struct metastore_info {
	uint64_t target_id;
	uint8_t uuid[16];
	char cluster[64];
};

enum metastore_op_kind { MSOP_PUT, MSOP_DEL };

struct metastore_op {
	/* set by the caller */
	enum metastore_op_kind kind;
	struct chunk_id id;
	struct chunk_meta meta; /* MSOP_PUT */
	struct core *core;
	struct loop_msg msg; /* msg.cb runs on core when committed */
	/* set before msg.cb runs */
	int result; /* 0 or a negative error */
	/* private */
	struct metastore_op *next;
	uint8_t *val;
	size_t val_len;
};

/* Open (creating dir, mode 0700, with its parents, and the environment
 * if needed: dir holds data.mdb and lock.mdb). A store created now
 * records info; an existing one must match info's target id and uuid, else
 * -EINVAL with err naming the directory and both ids:
 *	state dir '/x' belongs to target 7 (uuid 0001...), not target 9
 *	(uuid 0001...)
 * map_size is the LMDB map size in bytes. barrier(arg) runs on the
 * committer thread before each commit; NULL for none; its error fails the
 * batch. *created tells whether the store is new. On failure *out is NULL
 * and err says why. */
int metastore_open(const char *dir, const struct metastore_info *info,
		   uint64_t map_size, int (*barrier)(void *arg),
		   void *barrier_arg, bool *created, struct metastore **out,
		   char *err, size_t errlen);
/* Stops the committer after the ops already submitted. */
void metastore_close(struct metastore *ms);

/* 0 and *m (release it), -ENOENT, or another negative error. On an error
 * *m is all zero (releasing it is harmless), in metastore_last too. */
int metastore_get(struct metastore *ms, const struct chunk_id *id,
		  struct chunk_meta *m);
/* The chunk with the highest index of inode: 0 with *id and *m, -ENOENT. */
int metastore_last(struct metastore *ms, uint64_t inode, struct chunk_id *id,
		   struct chunk_meta *m);
/* Call fn for every chunk from start (inclusive) in key order, until fn
 * returns non-zero (that value is returned) or the chunks end (0). m is
 * valid only during the call. */
int metastore_scan(struct metastore *ms, const struct chunk_id *start,
		   int (*fn)(void *arg, const struct chunk_id *id,
			     const struct chunk_meta *m),
		   void *arg);
/* Number of chunks stored (0 after an error, which is logged). */
uint64_t metastore_count(struct metastore *ms);
/* Write transactions committed since open (metrics and tests). */
uint64_t metastore_commits(struct metastore *ms);

void metastore_submit(struct metastore *ms, struct metastore_op *op);

#endif /* CHAIN_METASTORE_H */
