/* meta/db.h - the namespace's LMDB environment: transactions that record
 * what they write (the write set), and applying a write set elsewhere.
 *
 * db.c and db_journal.c (a journaled db's durability; what they share is
 * meta/db_int.h) are the only files of meta/ that include <lmdb.h>.
 * Everything the namespace stores is a key and a value in one of a few
 * tables; the operations of meta/ns.h read and write them through a
 * struct meta_txn.
 * A write transaction records every put and delete, in order, as its
 * write set: a meta chain's head executes operations, and its replicas
 * apply the write set byte for byte (meta_db_apply) instead of executing
 * them again, so every replica ends with the same bytes.
 *
 *	meta_db_open(dir, map_size, 0, &db, err, errlen);
 *	meta_txn_begin(db, true, &t);          // a write transaction
 *	ns_mkdir(t, &cred, 1, "a", 0755, now, &out);   // meta/ns.h
 *	meta_txn_commit(t, &ws);               // durable (synced) when 0
 *	...send ws.buf/ws.len down the chain...
 *	meta_ws_release(&ws);
 *	meta_db_apply(replica_db, buf, len);   // on a replica (seq inside)
 *	meta_db_close(db);
 *
 * Tables (META_T_*): inodes (key: u64 ino big-endian), dirents (key: u64
 * parent big-endian, u64 hash of the name big-endian, then the name
 * bytes; a directory's entries are one range), xattrs (key: u64 ino
 * big-endian, then the name), sessions (key: u64 session id), gc (key:
 * u64 due time in ns big-endian, u64 ino), the counters (next inode
 * id, next session id, the layout cursor, the applied sequence number),
 * and the requests (key: u64 client big-endian, u64 request id
 * big-endian; the value is the encoded reply a meta server gave to that
 * change, so that a retry is answered, not executed again: meta/msrv.h).
 * Values are encoded by meta/ns.c with net/pack.h; db.c treats them as
 * bytes. The hash in a dirent key puts a directory's entries in hash
 * order, so that a 64-bit readdir cookie can be a stable position
 * (meta/ns.h). The counter key "seq" is db.c's own (the applied sequence
 * number): meta_put() and meta_del() of it are -EINVAL.
 *
 * Write set (little-endian): u8 format (1), u64 seq, u32 n, n x (u8 op:
 * 1 put, 2 del; u8 table; u16 key length, key; for a put u32 value
 * length, value). meta_db_apply() refuses a malformed one
 * (-FFFS_EBADFRAME, nothing applied) and one whose seq is not the next
 * after the applied sequence number (-FFFS_EVERSION, nothing applied); it
 * applies a whole write set in one synced transaction and records its seq.
 * meta_txn_commit() gives the write set of a write transaction the next
 * seq and records it the same way, so the head and its replicas agree on
 * the sequence; a write transaction that wrote nothing still takes a seq
 * (its write set has n = 0), so that every commit is a step of the chain.
 * A read-only transaction has no write set, and writing in it is -EROFS.
 * Keys are 1..META_KEY_MAX bytes (else -EINVAL).
 *
 * Errors: -ENOENT (no such key), -ENOSPC (the map is full: the
 * transaction is aborted; every later call on it gets -ENOSPC, and
 * meta_txn_commit() returns it), -EIO and -errno from LMDB otherwise,
 * logged naming the directory. A meta_txn belongs to one thread at a time.
 *
 * Durability. By default a db is journaled (meta/journal.h): LMDB
 * commits without syncing, and each commit's write sets are appended to
 * the journal in dir and synced before the commit returns, one
 * sequential write instead of LMDB's scattered page writes. A thread
 * takes a snapshot (a compacted copy, dir/snapshot.mdb) once the journal
 * since the last one is twice as large as the data (at least 256 MiB;
 * FFFS_TEST_SNAPSHOT_BYTES sets that minimum for tests), and then removes
 * the journal files before it. dir/state records the boot that last
 * wrote the db and whether it was closed synced. A process killed at any
 * point loses nothing that was committed: the page cache has LMDB's
 * writes. When the state file names another boot (power was lost, or the
 * host rebooted, while the db had unsynced commits; FFFS_TEST_BOOT_ID
 * stands in for this boot's id in tests), meta_db_open() does not trust
 * data.mdb: it puts the snapshot in its place and replays the journal
 * after it (a torn last record is a commit that never returned). A
 * journal that cannot rebuild it (missing write sets, a damaged record
 * with more after it) makes the open fail, saying why; with a whole
 * data.mdb it only means a new snapshot. If the journal cannot be written
 * or synced, the db syncs LMDB instead for that commit and takes no more
 * writes (meta_txn_begin() of a write transaction and meta_db_apply()
 * are -EIO): it is failed, and says so in the log.
 * A journaled db writes its pages in LMDB's map (MDB_WRITEMAP) and keeps
 * data.mdb and the journal allocated ahead of what they hold, so that a
 * full disk is -ENOSPC from meta_txn_begin() of a write transaction and
 * from meta_db_apply*() before anything commits (never SIGBUS, never a
 * broken journal); the db reads meanwhile, and writes again once there is
 * room. data.mdb is as large as the map (sparse).
 * META_DB_SYNCED: no journal, every commit is a synced LMDB commit (the
 * benchmark's ceiling). META_DB_NOSYNC: no journal, nothing synced
 * (tests, benchmarks).
 */
#ifndef META_DB_H
#define META_DB_H

#include <sys/uio.h>

#include "fffs.h"

enum meta_table {
	META_T_INODES = 0,
	META_T_DIRENTS,
	META_T_XATTRS,
	META_T_SESSIONS,
	META_T_GC,
	META_T_COUNTERS,
	META_T_REQUESTS,
	META_T__COUNT
};

#define META_DB_NOSYNC 0x1 /* flags of meta_db_open() */
#define META_DB_SYNCED 0x2
#define META_KEY_MAX   511 /* the longest key LMDB takes by default */

struct meta_db;
struct meta_txn;

/* An encoded write set (owned buffer). */
struct meta_ws {
	uint8_t *buf;
	size_t len;
	uint64_t seq;
};

/* map_size 0: LMDB's default (10 MiB); flags: META_DB_NOSYNC,
 * META_DB_SYNCED or 0 (journaled). It
 * creates dir if needed and holds its owner.lock (base/dirs.h): a second
 * open of dir is -EBUSY. */
int meta_db_open(const char *dir, uint64_t map_size, unsigned flags,
		 struct meta_db **out, char *err, size_t errlen);
void meta_db_close(struct meta_db *db);
/* The sequence number of the last write set committed or applied. */
uint64_t meta_db_seq(struct meta_db *db);

int meta_txn_begin(struct meta_db *db, bool write, struct meta_txn **out);
/* A write transaction: commit (durably) and hand back its write set
 * (ws may be NULL); a read-only one: just end it. On an error nothing
 * was committed and the transaction is gone, except -EIO from a failed
 * journal: committed, but maybe not durable, and the db is failed. */
int meta_txn_commit(struct meta_txn *t, struct meta_ws *ws);
/* The same, calling sealed(arg, ws) once the write set is final (its seq
 * and contents are what the commit records) and before the synced commit
 * starts: a replica may send it on while this one makes it durable. If
 * the commit then fails, the write set was not recorded here. */
int meta_txn_commit_sealed(struct meta_txn *t, struct meta_ws *ws,
			   void (*sealed)(void *arg, const struct meta_ws *ws),
			   void *arg);
void meta_txn_abort(struct meta_txn *t);
void meta_ws_release(struct meta_ws *ws);

/* Reads: 0 and a pointer valid until the transaction ends, or -ENOENT. */
int meta_get(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen, const void **val, size_t *vlen);
/* Writes (recorded in the write set). A delete of a missing key is 0
 * (and not recorded: it changed nothing). */
int meta_put(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen, const void *val, size_t vlen);
int meta_del(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen);
/* Visit the keys of tb from start (inclusive; slen 0: the first) in key
 * order while they begin with prefix (plen bytes), until fn returns
 * non-zero (returned) or they end (0). The pointers are valid during the
 * call only; fn may read t (meta_get, meta_scan) but not write it (a
 * write during a scan is a broken invariant: it aborts). */
int meta_scan(struct meta_txn *t, enum meta_table tb, const void *start,
	      size_t slen, const void *prefix, size_t plen,
	      int (*fn)(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen),
	      void *arg);

int meta_db_apply(struct meta_db *db, const void *ws, size_t len);
/* Write sets ws[0..n-1] of consecutive seqs applied together, in one
 * synced transaction: all of them (0) or none (meta_db_apply's errors;
 * -EINVAL when n < 1 or their seqs are not consecutive). A replica that
 * fell behind catches up with one commit instead of n. */
int meta_db_apply_many(struct meta_db *db, const struct iovec *ws, int n);

/* The inodes a write set touches, for a replica's dirty tracking: fn(arg,
 * ino) for the first 8 key bytes (big-endian) of each entry of the
 * inodes, dirents and xattrs tables (a dirent: its parent), fn(arg, 0)
 * for entries of the sessions, gc and counters tables ("the counters":
 * statfs and friends), nothing for the requests table. The same inode may
 * be given more than once. 0 and *seq, or -FFFS_EBADFRAME (malformed:
 * fn was not called). */
int meta_ws_touched(const void *ws, size_t len, uint64_t *seq,
		    void (*fn)(void *arg, uint64_t ino), void *arg);

/* The same for a write transaction before it commits (its write set so
 * far, *seq the one it will take): a replica marks what it is about to
 * publish before readers can see it. -EINVAL for a read-only one; the
 * error of an aborted one. */
int meta_txn_touched(struct meta_txn *t, uint64_t *seq,
		     void (*fn)(void *arg, uint64_t ino), void *arg);

/* A consistent copy of the whole environment (compacted: LMDB's
 * mdb_env_copy2 with MDB_CP_COMPACT) into dir, which must exist and hold
 * no data.mdb yet: dir/data.mdb. *seq is the applied sequence number of
 * the copy (read back from it). Writers may go on meanwhile. 0, or
 * -errno with err naming the directory. */
int meta_db_copy(struct meta_db *db, const char *dir, uint64_t *seq, char *err,
		 size_t errlen);

/* Commits that return before they are durable: afterwards a journaled
 * db's meta_txn_commit*() and meta_db_apply*() return once the commit is
 * in LMDB (readers see it) and its record is written, and a thread syncs
 * the journal, one fdatasync() for every record written meanwhile, and
 * calls durable(arg, seq, 0) with the last seq it made durable (seqs only
 * grow; seq is in LMDB too). meta_db_apply*() writes the records before
 * LMDB applies them, so that their sync overlaps the transaction: the
 * applying thread may then make the call itself, once its commit is in
 * (the calls never overlap). If the journal fails, the db syncs LMDB instead
 * and takes no more writes; durable() gets rc -EIO when that fails too (then
 * seq may not be durable). A db without a journal calls durable() from the
 * committing thread after each commit, which is synced (META_DB_SYNCED)
 * or not (META_DB_NOSYNC). Call it once, before the first commit; the
 * last durable() call happens before meta_db_close() returns. 0, or
 * -errno (cannot start the thread: nothing changed). */
int meta_db_async(struct meta_db *db,
		  void (*durable)(void *arg, uint64_t seq, int rc), void *arg);

/* A snapshot of a journaled db now (what the snapshot thread does): 0,
 * or -errno with err naming the file; -EINVAL without a journal. */
int meta_db_snapshot(struct meta_db *db, char *err, size_t errlen);

/* Every table's keys and values, in order, into one SHA-256-like digest
 * (crypto_generichash of libsodium, 32 bytes): replicas with the same
 * contents have the same digest. */
int meta_db_digest(struct meta_db *db, uint8_t out[32]);

#endif /* META_DB_H */
