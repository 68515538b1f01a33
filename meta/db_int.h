/* meta/db_int.h - what meta/db.c and meta/db_journal.c share: the
 * struct meta_db and the helpers each calls in the other. Private to
 * them: the only two files of meta/ that include <lmdb.h>.
 *
 * db.c gives: db_err() (LMDB's codes as -errno), db_seq_read() and
 * db_seq_write() (the applied seq in a transaction; write: an LMDB code),
 * db_ws_parse() (a whole write set checked), db_ws_apply() (a checked
 * write set's entries into a transaction: an LMDB code), db_copy_seq()
 * (the applied seq of a copy, a directory or with file a data file).
 * db_journal.c gives, for a journaled db (db_journaled()): db_prepare()
 * (before LMDB opens: the state file, and the snapshot in place of
 * data.mdb after a power loss), db_journal_start() (after it opens:
 * replay, a new journal file, a snapshot if needed, the snapshot thread),
 * db_journal() (jmu held, after an LMDB commit: its records; 0 once
 * durable or handed to the syncer), db_room() (before a write
 * transaction of up to entries writes of bytes in all, 0 0: an ordinary
 * one: disk for its pages and records, or -ENOSPC), db_reserve() (the
 * same for data.mdb, allocated ahead with MDB_WRITEMAP; -EOPNOTSUPP: the
 * file system cannot), db_journal_close() (threads stopped, synced, the state
 * file says clean).
 */
#ifndef META_DB_INT_H
#define META_DB_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "meta/db.h"

#define BOOT_ID_LEN 64

struct journal;

struct meta_db {
	char *dir;
	int lock_fd; /* flock()ed: one process per db */
	unsigned flags;
	MDB_env *env;
	MDB_dbi dbi[META_T__COUNT];
	_Atomic uint64_t seq;
	_Atomic bool failed; /* the journal broke: no more writes */
	bool writemap, no_writemap;
	uint64_t reserved; /* bytes of data.mdb allocated (MDB_WRITEMAP) */
	/* journaled only: */
	struct journal *jr;
	pthread_mutex_t jmu; /* jr, jbytes; held from an LMDB commit to the
				sync of its record, so records go in order */
	uint64_t jbytes;     /* appended since the last snapshot began */
	uint64_t snap_min;
	char boot[BOOT_ID_LEN];
	/* meta_db_async(): a thread syncs the journal and says so */
	void (*durable)(void *arg, uint64_t seq, int rc);
	void *durable_arg;
	uint64_t written, synced; /* jmu: seqs whose records are written, and
				     durable (async only) */
	pthread_mutex_t dur_mu;	  /* durable() calls, one at a time */
	uint64_t reported;	  /* dur_mu: the last seq durable() got */
	pthread_mutex_t sync_mu;  /* the syncer's sync against a rotation */
	pthread_cond_t sync_cv;	  /* with jmu: written moved, or stop */
	bool sync_stop, syncer_up;
	pthread_t syncer;
	pthread_mutex_t snap_run; /* one snapshot at a time */
	pthread_mutex_t snap_mu;  /* snap_want, snap_stop */
	pthread_cond_t snap_cv;
	bool snap_want, snap_stop, snapper_up;
	pthread_t snapper;
};

int db_err(int rc);
int db_seq_read(struct meta_db *db, MDB_txn *txn, uint64_t *seq);
int db_seq_write(struct meta_db *db, MDB_txn *txn, uint64_t seq);
int db_ws_parse(const void *buf, size_t len, uint64_t *seq, uint32_t *n);
int db_ws_apply(struct meta_db *db, MDB_txn *txn, const void *buf, size_t len);
int db_copy_seq(const char *path, bool file, uint64_t *seq);

bool db_journaled(const struct meta_db *db);
int db_prepare(struct meta_db *db, bool *recover, char *err, size_t errlen);
int db_journal_start(struct meta_db *db, bool recover, char *err,
		     size_t errlen);
int db_journal(struct meta_db *db, const struct iovec *v, int n,
	       uint64_t first);
/* An async journal (meta_db_async): the records of write sets about to
 * be applied, written before their transaction runs so that their sync
 * overlaps it; false when the db has no syncer (db_journal() after the
 * commit then). Once true, the transaction's commit must be followed by
 * db_journal_done(db, last seq): LMDB's seq, and durable() when the
 * syncer already synced them; a commit that fails must fail the db. */
bool db_journal_ahead(struct meta_db *db, const struct iovec *v, int n,
		      uint64_t first);
int db_journal_done(struct meta_db *db, uint64_t seq);
int db_room(struct meta_db *db, uint64_t entries, uint64_t bytes);
int db_reserve(struct meta_db *db, uint64_t entries, uint64_t bytes);
void db_journal_close(struct meta_db *db);

#endif /* META_DB_INT_H */
