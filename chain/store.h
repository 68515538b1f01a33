/* chain/store.h - the chunk store of one storage server: its targets and
 * the operations on their chunks.
 *
 * Each target is a device or file (chain/target.h) with its chunk metadata
 * in LMDB (chain/metastore.h) and an in-memory allocator (chain/alloc.h)
 * rebuilt from that metadata at open. A target belongs to one core (its
 * owner); every operation on it runs there, so chunk locks, the allocator
 * and read holds need no locking.
 *
 *	store_open(&params, &s, err, errlen);   // before the loops start
 *	t = store_target_find(s, id);
 *	op->kind = SOP_WRITE; ...; op->done = cb;
 *	store_submit(store_target_core(t), t, op);   // on the owner core
 *	  cb(owner, op) with op->status and results, on the owner core
 *
 * Writes. data holds `length` bytes in a 4 KiB aligned buffer zero-padded
 * to a multiple of 4 KiB (as rpc request bulk is); crc is the CRC32C of the
 * payload and is checked first (-FFFS_ECRC). offset + length must fit in
 * the chunk (CHUNK_MAX_LEN, and chunk_size when given; -EINVAL otherwise).
 * Writes to one chunk are serialised. The new content goes to a new block
 * (copy-on-write: the committed data is read, checked, merged), is made
 * durable, then the metadata is committed in a group commit, then the old
 * block is freed once no read holds it. An append at a page-aligned end of
 * a chunk whose block has room is written in place: the committed bytes are
 * not touched, so a crash leaves the old or the new version either way.
 * A write whose (client, req_id) equals the chunk's last applied request is
 * not applied again: it gets the answer the first one got.
 *
 * Reads return [offset, offset + length) clipped to the chunk's length, in
 * out_data (inside out_buf, which the caller frees with iobuf_free_any on a
 * loop thread), with out_crc the CRC32C of those bytes and version the
 * committed version. Every page read is checked against its stored CRC; a
 * mismatch is -FFFS_ECRC, logged naming target and chunk, never data.
 *
 * Truncate sets the chunk's length (zero-filling when it grows); remove
 * deletes it (-ENOENT when there is none). An I/O error from the device
 * marks the target failed (logged); a failed target answers -EIO.
 *
 * Versions (chain replication, chain/craq_srv.c). A chunk has a committed
 * version and at most one pending one (chain/chunkmeta.h). Plain writes
 * and truncates commit at once as committed + 1 and refuse a chunk with a
 * pending version (-EBUSY). With `versioned` set, a write or truncate
 * applies to the committed version base_ver (0: no committed content;
 * another committed version is -FFFS_EVERSION) and
 *	- with set_pending: the result becomes the pending version
 *	  set_pending (replacing a pending version the chunk had), the
 *	  committed version stays readable;
 *	- without: it is committed as set_version.
 * The new version records chain_ver and (client, req_id). A versioned
 * write whose (client, req_id) is that of the chunk's pending version
 * set_pending, or of its committed version, is not applied again (the
 * result tells which: out_pending or version).
 * SOP_COMMIT makes pending version set_version the committed one (done
 * already when the committed version is at least that: 0; no such pending
 * version: -ENOENT) and frees the old committed block. SOP_REPLACE stores
 * data (offset 0, length bytes, the whole chunk) as committed version
 * set_version with chain_ver, dropping any pending version, or, with
 * set_pending, as that pending version (the committed one stays): recovery
 * and forwards to a replica that lacks the base send whole chunks.
 * SOP_ABORT drops pending version set_version (a write the chain could
 * not complete): the committed version stays, a chunk that had no other
 * is removed; no such pending version: -ENOENT.
 * Reads with want_version read that version, committed or pending
 * (neither: -FFFS_EVERSION); without, the committed one (-ENOENT when the
 * chunk has only a pending version). Every operation but a failed one
 * returns the chunk's versions after it in version (committed) and
 * out_pending (0: none).
 */
#ifndef CHAIN_STORE_H
#define CHAIN_STORE_H

#include "chain/chunkmeta.h"
#include "chain/metastore.h"
#include "chain/target.h"
#include "net/loop.h"

struct store;
struct store_target;

enum store_tstate { TGT_SERVING = 0, TGT_FAILED = 1 };

struct store_params {
	const struct target_spec *specs;
	int nspecs;
	const char *state_dir; /* holds a directory per target id */
	const char *cluster;
	uint32_t node_id; /* default target ids: node_id << 16 | (i + 1) */
	uint64_t map_size;
	int ncores;
};

int store_open(const struct store_params *p, struct store **out, char *err,
	       size_t errlen);
/* After the loops have stopped. */
void store_close(struct store *s);

int store_target_count(const struct store *s);
struct store_target *store_target_at(struct store *s, int i);
struct store_target *store_target_find(struct store *s, uint64_t id);
struct core *store_target_core(const struct store_target *t);
uint64_t store_target_id(const struct store_target *t);
const char *store_target_path(const struct store_target *t);

struct store_space {
	uint64_t id;
	int state; /* enum store_tstate */
	uint64_t capacity, used, free, chunks;
};

/* Any thread; figures as of the last completed operation. */
void store_target_space(const struct store_target *t, struct store_space *sp);
/* Mark t failed (it serves no more requests; logged once, naming t, what
 * failed, the chunk and err). */
void store_target_fail(struct store_target *t, const struct chunk_id *id,
		       const char *what, int err);

enum store_op_kind {
	SOP_WRITE,
	SOP_READ,
	SOP_REMOVE,
	SOP_TRUNCATE,
	SOP_COMMIT,
	SOP_REPLACE,
	SOP_ABORT
};

struct store_op {
	/* set by the caller */
	enum store_op_kind kind;
	struct chunk_id id;
	uint32_t offset, length; /* truncate: length is the new length */
	uint32_t chunk_size;	 /* write, truncate: the chunk's capacity */
	uint32_t crc;		 /* write: CRC32C of data */
	uint64_t client, req_id; /* write, truncate: 0 = no de-duplication */
	const uint8_t *data;	 /* write */
	/* read: optional buffer of the caller's (4 KiB aligned, at least
	 * the pages covering [offset, offset + length)); the store reads into
	 * it and never frees it */
	uint8_t *rbuf;
	size_t rbuf_len;
	/* versions (see above); all 0 / false for plain operations */
	bool versioned;
	uint64_t base_ver, set_pending, set_version, want_version;
	uint32_t chain_ver;
	void (*done)(struct core *c, struct store_op *op);
	/* optional (write, replace, truncate that grows): called once, when
	 * the op has passed every check of the chunk (its lookup, version,
	 * space and payload CRC) and its data write begins; from then on it
	 * fails only with the target, its device or its metadata store */
	void (*started)(struct core *c, struct store_op *op);
	/* results */
	int status;
	uint64_t version, out_pending;
	uint32_t out_length, out_crc;
	uint8_t *out_data; /* read */
	void *out_buf;	   /* read without rbuf: free with iobuf_free_any */
	/* private */
	struct store_target *t;
	struct store_op *next;
	struct loop_op io;
	struct metastore_op ms;
	struct chunk_meta old, nu;
	bool have_rec, have_old, cow, locked; /* have_old: committed content */
	bool fresh;			      /* replace: nothing of the old */
	uint32_t woff, wlen;  /* the range written (truncate: the zero fill) */
	const uint8_t *wdata; /* NULL: zeroes */
	uint32_t seg, seg_len;
	uint64_t nblock; /* the block a copy-on-write allocated */
	uint8_t nclass;
	uint8_t *buf;
	size_t buf_len;
};

void store_submit(struct core *c, struct store_target *t, struct store_op *op);

/* Any thread (LMDB reads). store_meta: 0 and *m (release it), -ENOENT. */
int store_meta(struct store_target *t, const struct chunk_id *id,
	       struct chunk_meta *m);
int store_last(struct store_target *t, uint64_t inode, uint32_t *index,
	       uint32_t *length);
int store_scan(struct store_target *t, const struct chunk_id *start,
	       int (*fn)(void *arg, const struct chunk_id *id,
			 const struct chunk_meta *m),
	       void *arg);

#endif /* CHAIN_STORE_H */
