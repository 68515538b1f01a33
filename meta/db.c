/* meta/db.c - the namespace's LMDB environment: its tables, write
 * transactions that record their write set, applying a write set on a
 * replica, scans and the digest of the contents; for a journaled db, the
 * journal, its snapshots and the recovery after a power loss. */
#define LOG_SUBSYS "metadb"
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/dirs.h"
#include "fffs.h"
#include "meta/db.h"
#include "meta/journal.h"
#include "net/pack.h"

#define WS_FORMAT	  1
#define WS_HDR_LEN	  13 /* u8 format, u64 seq, u32 n */
#define WS_OP_PUT	  1
#define WS_OP_DEL	  2
#define SEQ_KEY		  "seq"
#define SEQ_FORMAT	  1
#define SEQ_VAL_LEN	  9
#define ARENA_BLOCK	  65536
#define ARENA_ALIGN	  8
#define TABLE_END_LEN	  0xffffffffu /* digest: ends a table (no key has it) */
#define SNAP_MIN	  (256ull << 20) /* journal bytes before a snapshot */
#define SNAP_RATIO	  2 /* ... and at least this many times the data */
#define SNAP_FILE	  "snapshot.mdb"
#define SNAP_TMP	  "snapshot.tmp"
#define STATE_FILE	  "state"
#define STATE_MAGIC	  "fffs-meta-state 1"
#define BOOT_ID_LEN	  64
#define RESERVE_STEP	  (64ull << 20) /* data.mdb allocated ahead (WRITEMAP) */
#define JOURNAL_FILES_MAX 16 /* more at an open: a snapshot prunes them */
#define JOURNAL_AHEAD	  (1ull << 20) /* journal file allocated ahead */

static const char *const table_names[META_T__COUNT] = {
	"inodes", "dirents", "xattrs", "sessions", "gc", "counters", "requests",
};

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

/* Copies of values read in a write transaction: LMDB's pointers into
 * dirty pages move on the next write, the contract says "until the
 * transaction ends". */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	uint8_t data[];
};

struct meta_txn {
	struct meta_db *db;
	MDB_txn *txn; /* NULL once an error aborted it */
	bool write;
	int scanning; /* nested meta_scan() calls: no writes meanwhile */
	int err;      /* why it was aborted */
	uint64_t seq; /* the sequence number when it began */
	uint8_t *ws;  /* the write set so far: header, then entries */
	size_t len, cap;
	uint32_t n;
	struct arena_block *arena;
};

static bool journaled(const struct meta_db *db);
static int db_prepare(struct meta_db *db, bool *recover, char *err,
		      size_t errlen);
static int db_journal_start(struct meta_db *db, bool recover, char *err,
			    size_t errlen);
static int db_journal(struct meta_db *db, const struct iovec *v, int n,
		      uint64_t first);
static int state_write(struct meta_db *db, bool clean);
static int ws_parse(const void *buf, size_t len, uint64_t *seq, uint32_t *n);
static int ws_apply_entries(struct meta_db *db, MDB_txn *txn, const void *buf,
			    size_t len);

/* LMDB's codes as negative errno-style codes; LMDB passes system errors
 * through as positive errno values. */
static int db_err(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc == MDB_MAP_FULL)
		return -ENOSPC;
	if (rc > 0)
		return -rc;
	return -EIO;
}

static bool table_ok(enum meta_table tb)
{
	return (unsigned)tb < META_T__COUNT;
}

static bool is_seq_key(enum meta_table tb, const void *key, size_t klen)
{
	return tb == META_T_COUNTERS && klen == strlen(SEQ_KEY) &&
	       !memcmp(key, SEQ_KEY, klen);
}

/* ---- the sequence number ------------------------------------------------ */

static int seq_read(struct meta_db *db, MDB_txn *txn, uint64_t *seq)
{
	MDB_val k = { strlen(SEQ_KEY), SEQ_KEY }, v;
	struct unpack up;
	uint8_t format;
	int rc;

	*seq = 0;
	rc = mdb_get(txn, db->dbi[META_T_COUNTERS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc) {
		log_error("cannot read the sequence number in '%s': %s",
			  db->dir, mdb_strerror(rc));
		return db_err(rc);
	}
	unpack_init(&up, v.mv_data, v.mv_size);
	format = unpack_u8(&up);
	*seq = unpack_u64(&up);
	if (unpack_finish(&up) || format != SEQ_FORMAT) {
		log_error("corrupt sequence number record in '%s'", db->dir);
		return -FFFS_EBADFRAME;
	}
	return 0;
}

/* An LMDB code. */
static int seq_write(struct meta_db *db, MDB_txn *txn, uint64_t seq)
{
	uint8_t buf[SEQ_VAL_LEN];
	MDB_val k = { strlen(SEQ_KEY), SEQ_KEY }, v = { sizeof(buf), buf };
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_u8(&pk, SEQ_FORMAT);
	pack_u64(&pk, seq);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == sizeof(buf));
	return mdb_put(txn, db->dbi[META_T_COUNTERS], &k, &v, 0);
}

/* ---- opening ------------------------------------------------------------- */

/* With MDB_WRITEMAP LMDB writes new pages straight into the map: the
 * file is kept allocated RESERVE_STEP (rounded) past its last page before
 * a write transaction starts, so that no page it writes can need a block
 * the disk does not have. 0, -ENOSPC (logged), -EOPNOTSUPP or -errno. */
static int db_reserve(struct meta_db *db)
{
	uint64_t need, end;
	MDB_envinfo info;
	MDB_stat st;
	int fd;

	if (!db->writemap)
		return 0;
	if (mdb_env_info(db->env, &info) || mdb_env_stat(db->env, &st) ||
	    mdb_env_get_fd(db->env, &fd))
		return -EIO;
	need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize +
	       RESERVE_STEP / 2;
	if (need <= db->reserved)
		return 0;
	end = (need + RESERVE_STEP - 1) / RESERVE_STEP * RESERVE_STEP;
	if (end > info.me_mapsize)
		end = info.me_mapsize;
	if (end <= db->reserved)
		return 0;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)db->reserved,
		      (off_t)(end - db->reserved))) {
		int rc = -errno;

		if (rc != -EOPNOTSUPP)
			log_warn("namespace db '%s': cannot allocate %llu "
				 "bytes of its data file: %s",
				 db->dir,
				 (unsigned long long)(end - db->reserved),
				 strerror(errno));
		return rc;
	}
	db->reserved = end;
	return 0;
}

/* Before a write transaction: room for its pages and its journal
 * records, so that a full disk is -ENOSPC before anything commits. */
static int db_room(struct meta_db *db)
{
	int rc = db_reserve(db);

	if (rc == -EOPNOTSUPP)
		rc = -EIO; /* it worked when the db opened */
	if (!rc && db->jr) {
		pthread_mutex_lock(&db->jmu);
		rc = journal_reserve(db->jr, JOURNAL_AHEAD);
		pthread_mutex_unlock(&db->jmu);
	}
	return rc;
}

static int db_env_open(struct meta_db *db, uint64_t map_size, unsigned flags,
		       char *err, size_t errlen)
{
	unsigned env_flags = MDB_NOTLS;
	int rc;

	/* a journaled db's commits are made durable by the journal */
	if (!(flags & META_DB_SYNCED))
		env_flags |= MDB_NOSYNC;
	/* a journaled db writes its pages in the map (no pwrite() copy of
	 * every dirty page); db_reserve() keeps the file allocated ahead of
	 * them, so that a full disk is -ENOSPC and not SIGBUS */
	if (journaled(db) && !db->no_writemap)
		env_flags |= MDB_WRITEMAP;
	rc = mdb_env_create(&db->env);
	if (rc)
		goto out_err;
	rc = mdb_env_set_maxdbs(db->env, META_T__COUNT);
	if (!rc && map_size)
		rc = mdb_env_set_mapsize(db->env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(db->env, db->dir, env_flags, 0600);
	if (!rc && (env_flags & MDB_WRITEMAP)) {
		int res;

		db->writemap = true;
		db->reserved = 0;
		res = db_reserve(db);
		if (res == -EOPNOTSUPP) {
			/* no fallocate(): pages go through pwrite() */
			mdb_env_close(db->env);
			db->env = NULL;
			db->writemap = false;
			db->no_writemap = true;
			return db_env_open(db, map_size, flags, err, errlen);
		}
		if (res) {
			mdb_env_close(db->env);
			db->env = NULL;
			snprintf(err, errlen,
				 "cannot allocate space for the namespace db "
				 "in '%s': %s",
				 db->dir, fffs_strerror(res));
			return res;
		}
	}
	if (!rc)
		return 0;
	mdb_env_close(db->env);
	db->env = NULL;
out_err:
	snprintf(err, errlen, "cannot open the namespace db in '%s': %s",
		 db->dir, mdb_strerror(rc));
	return db_err(rc);
}

/* Open (create) every table and read the sequence number, in one write
 * transaction: the dbi handles last only if it commits. */
static int db_setup(struct meta_db *db, char *err, size_t errlen)
{
	uint64_t seq;
	MDB_txn *txn;
	int rc, mrc;

	mrc = mdb_txn_begin(db->env, NULL, 0, &txn);
	if (mrc)
		goto out_err;
	for (int i = 0; i < META_T__COUNT && !mrc; i++)
		mrc = mdb_dbi_open(txn, table_names[i], MDB_CREATE,
				   &db->dbi[i]);
	if (mrc)
		goto out_abort_err;
	rc = seq_read(db, txn, &seq);
	if (rc) {
		mdb_txn_abort(txn);
		snprintf(err, errlen,
			 "cannot read the sequence number in '%s': %s", db->dir,
			 fffs_strerror(rc));
		return rc;
	}
	mrc = mdb_txn_commit(txn);
	if (mrc)
		goto out_err;
	atomic_store(&db->seq, seq);
	return 0;
out_abort_err:
	mdb_txn_abort(txn);
out_err:
	snprintf(err, errlen, "cannot set up the namespace db in '%s': %s",
		 db->dir, mdb_strerror(mrc));
	return db_err(mrc);
}

static void db_free(struct meta_db *db)
{
	pthread_mutex_destroy(&db->jmu);
	pthread_mutex_destroy(&db->sync_mu);
	pthread_cond_destroy(&db->sync_cv);
	pthread_mutex_destroy(&db->snap_run);
	pthread_mutex_destroy(&db->snap_mu);
	pthread_cond_destroy(&db->snap_cv);
	free(db->dir);
	free(db);
}

int meta_db_open(const char *dir, uint64_t map_size, unsigned flags,
		 struct meta_db **out, char *err, size_t errlen)
{
	struct meta_db *db;
	bool recover = false;
	int rc;

	*out = NULL;
	if (flags & ~(META_DB_NOSYNC | META_DB_SYNCED)) {
		snprintf(err, errlen, "namespace db '%s': unknown flags %#x",
			 dir, flags);
		return -EINVAL;
	}
	rc = dir_make(dir, err, errlen);
	if (rc)
		return rc;
	db = xcalloc(1, sizeof(*db));
	db->dir = xstrdup(dir);
	db->flags = flags;
	pthread_mutex_init(&db->jmu, NULL);
	pthread_mutex_init(&db->sync_mu, NULL);
	pthread_cond_init(&db->sync_cv, NULL);
	pthread_mutex_init(&db->snap_run, NULL);
	pthread_mutex_init(&db->snap_mu, NULL);
	pthread_cond_init(&db->snap_cv, NULL);
	rc = dir_own(db->dir, &db->lock_fd, err, errlen);
	if (rc)
		goto out_free;
	if (journaled(db))
		rc = db_prepare(db, &recover, err, errlen);
	if (!rc)
		rc = db_env_open(db, map_size, flags, err, errlen);
	if (rc)
		goto out_unlock;
	rc = db_setup(db, err, errlen);
	if (!rc && journaled(db))
		rc = db_journal_start(db, recover, err, errlen);
	if (rc)
		goto out_env;
	*out = db;
	return 0;
out_env:
	journal_close(db->jr);
	mdb_env_close(db->env);
out_unlock:
	close(db->lock_fd);
out_free:
	db_free(db);
	return rc;
}

void meta_db_close(struct meta_db *db)
{
	if (!db)
		return;
	if (db->snapper_up) {
		pthread_mutex_lock(&db->snap_mu);
		db->snap_stop = true;
		pthread_cond_signal(&db->snap_cv);
		pthread_mutex_unlock(&db->snap_mu);
		pthread_join(db->snapper, NULL);
	}
	if (db->syncer_up) {
		/* it syncs what is written and says so before it ends */
		pthread_mutex_lock(&db->jmu);
		db->sync_stop = true;
		pthread_cond_signal(&db->sync_cv);
		pthread_mutex_unlock(&db->jmu);
		pthread_join(db->syncer, NULL);
	}
	if (db->jr) {
		/* synced now: the next open need not look at the journal */
		int mrc = atomic_load(&db->failed) ? EIO
						   : mdb_env_sync(db->env, 1);

		if (mrc)
			log_error("cannot sync the namespace db '%s': %s",
				  db->dir, mdb_strerror(mrc));
		else
			state_write(db, true);
		journal_close(db->jr);
	}
	mdb_env_close(db->env);
	close(db->lock_fd);
	db_free(db);
}

uint64_t meta_db_seq(struct meta_db *db)
{
	return atomic_load(&db->seq);
}

/* ---- transactions -------------------------------------------------------- */

static void arena_free(struct arena_block *b)
{
	struct arena_block *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
}

static void *arena_copy(struct meta_txn *t, const void *p, size_t n)
{
	struct arena_block *b = t->arena;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	uint8_t *q;

	if (!b || b->cap - b->used < need) {
		size_t cap = need > ARENA_BLOCK ? need : ARENA_BLOCK;

		b = xmalloc(sizeof(*b) + cap);
		b->cap = cap;
		b->used = 0;
		b->next = t->arena;
		t->arena = b;
	}
	q = b->data + b->used;
	b->used += need;
	if (n)
		memcpy(q, p, n);
	return q;
}

static void txn_free(struct meta_txn *t)
{
	arena_free(t->arena);
	free(t->ws);
	free(t);
}

int meta_txn_begin(struct meta_db *db, bool write, struct meta_txn **out)
{
	struct meta_txn *t;
	int rc;

	*out = NULL;
	if (write && atomic_load(&db->failed))
		return -EIO;
	t = xcalloc(1, sizeof(*t));
	t->db = db;
	t->write = write;
	rc = mdb_txn_begin(db->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
	if (rc) {
		log_error("cannot begin a transaction in '%s': %s", db->dir,
			  mdb_strerror(rc));
		free(t);
		return db_err(rc);
	}
	if (write) {
		rc = db_room(db);
		if (rc) {
			mdb_txn_abort(t->txn);
			free(t);
			return rc;
		}
		rc = seq_read(db, t->txn, &t->seq);
		if (rc) {
			mdb_txn_abort(t->txn);
			free(t);
			return rc;
		}
		t->cap = 4096;
		t->ws = xmalloc(t->cap);
		t->len = WS_HDR_LEN;
	}
	*out = t;
	return 0;
}

/* An LMDB error in a write: the transaction is aborted, every later call
 * gets the same error. */
static int txn_fail(struct meta_txn *t, int mrc, const char *what,
		    enum meta_table tb)
{
	int rc = db_err(mrc);

	if (mrc == MDB_MAP_FULL)
		log_warn("namespace db '%s' is full: cannot %s %s", t->db->dir,
			 what, table_names[tb]);
	else
		log_error("cannot %s %s in '%s': %s", what, table_names[tb],
			  t->db->dir, mdb_strerror(mrc));
	mdb_txn_abort(t->txn);
	t->txn = NULL;
	t->err = rc;
	return rc;
}

int meta_txn_commit_sealed(struct meta_txn *t, struct meta_ws *ws,
			   void (*sealed)(void *arg, const struct meta_ws *ws),
			   void *arg)
{
	struct meta_db *db = t->db;
	struct meta_ws mine;
	struct pack pk;
	int rc = 0, mrc;

	if (ws)
		memset(ws, 0, sizeof(*ws));
	if (t->err) {
		rc = t->err;
		goto out_free;
	}
	if (!t->write) {
		mdb_txn_abort(t->txn);
		goto out_free;
	}
	mrc = seq_write(db, t->txn, t->seq + 1);
	if (mrc) {
		mdb_txn_abort(t->txn);
		goto out_err;
	}
	pack_init(&pk, t->ws, WS_HDR_LEN);
	pack_u8(&pk, WS_FORMAT);
	pack_u64(&pk, t->seq + 1);
	pack_u32(&pk, t->n);
	FFFS_ASSERT(!pk.err);
	mine = (struct meta_ws){ .buf = t->ws,
				 .len = t->len,
				 .seq = t->seq + 1 };
	if (sealed)
		sealed(arg, &mine);
	if (db->jr)
		pthread_mutex_lock(&db->jmu);
	mrc = mdb_txn_commit(t->txn);
	if (!mrc) {
		atomic_store(&db->seq, t->seq + 1);
		if (db->jr)
			rc = db_journal(db,
					&(struct iovec){ mine.buf, mine.len },
					1, mine.seq);
	}
	if (db->jr)
		pthread_mutex_unlock(&db->jmu);
	if (mrc)
		goto out_err;
	if (db->durable && !db->jr)
		db->durable(db->durable_arg, mine.seq, 0);
	if (ws && !rc) {
		*ws = mine;
		t->ws = NULL;
	}
	goto out_free;
out_err:
	log_error("cannot commit a transaction in '%s': %s", db->dir,
		  mdb_strerror(mrc));
	rc = db_err(mrc);
out_free:
	t->txn = NULL;
	txn_free(t);
	return rc;
}

int meta_txn_commit(struct meta_txn *t, struct meta_ws *ws)
{
	return meta_txn_commit_sealed(t, ws, NULL, NULL);
}

void meta_txn_abort(struct meta_txn *t)
{
	if (!t)
		return;
	if (t->txn)
		mdb_txn_abort(t->txn);
	txn_free(t);
}

void meta_ws_release(struct meta_ws *ws)
{
	free(ws->buf);
	memset(ws, 0, sizeof(*ws));
}

/* ---- reads and writes ---------------------------------------------------- */

int meta_get(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen, const void **val, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc;

	*val = NULL;
	*vlen = 0;
	FFFS_ASSERT(table_ok(tb));
	if (t->err)
		return t->err;
	if (!klen || klen > META_KEY_MAX)
		return -EINVAL;
	rc = mdb_get(t->txn, t->db->dbi[tb], &k, &v);
	if (rc) {
		if (rc != MDB_NOTFOUND)
			log_error("cannot read %s in '%s': %s", table_names[tb],
				  t->db->dir, mdb_strerror(rc));
		return db_err(rc);
	}
	*val = t->write ? arena_copy(t, v.mv_data, v.mv_size) : v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

static void ws_reserve(struct meta_txn *t, size_t n)
{
	if (t->cap - t->len >= n)
		return;
	while (t->cap - t->len < n)
		t->cap *= 2;
	t->ws = xrealloc(t->ws, t->cap);
}

static void ws_record(struct meta_txn *t, uint8_t op, enum meta_table tb,
		      const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	size_t n = 4 + klen + (op == WS_OP_PUT ? 4 + vlen : 0);
	struct pack pk;

	ws_reserve(t, n);
	pack_init(&pk, t->ws + t->len, n);
	pack_u8(&pk, op);
	pack_u8(&pk, (uint8_t)tb);
	pack_u16(&pk, (uint16_t)klen);
	pack_bytes(&pk, key, klen);
	if (op == WS_OP_PUT)
		pack_blob(&pk, val, (uint32_t)vlen);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == n);
	t->len += n;
	t->n++;
}

static int write_check(struct meta_txn *t, enum meta_table tb, const void *key,
		       size_t klen)
{
	FFFS_ASSERT(table_ok(tb));
	FFFS_ASSERT(!t->scanning); /* a write would move the scan's pointers */
	if (!t->write)
		return -EROFS;
	if (t->err)
		return t->err;
	if (!klen || klen > META_KEY_MAX || is_seq_key(tb, key, klen))
		return -EINVAL;
	return 0;
}

int meta_put(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen, const void *val, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
	int rc = write_check(t, tb, key, klen);

	if (rc)
		return rc;
	if (vlen > UINT32_MAX)
		return -EINVAL;
	rc = mdb_put(t->txn, t->db->dbi[tb], &k, &v, 0);
	if (rc)
		return txn_fail(t, rc, "write", tb);
	ws_record(t, WS_OP_PUT, tb, key, klen, val, vlen);
	return 0;
}

int meta_del(struct meta_txn *t, enum meta_table tb, const void *key,
	     size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int rc = write_check(t, tb, key, klen);

	if (rc)
		return rc;
	rc = mdb_del(t->txn, t->db->dbi[tb], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return 0; /* nothing changed: nothing to replay */
	if (rc)
		return txn_fail(t, rc, "delete from", tb);
	ws_record(t, WS_OP_DEL, tb, key, klen, NULL, 0);
	return 0;
}

static int scan_cursor(struct meta_txn *t, enum meta_table tb, MDB_cursor *c,
		       const void *start, size_t slen, const void *prefix,
		       size_t plen,
		       int (*fn)(void *arg, const void *key, size_t klen,
				 const void *val, size_t vlen),
		       void *arg)
{
	MDB_val k = { slen, (void *)start }, v;
	int rc = 0, mrc;

	mrc = mdb_cursor_get(c, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST);
	for (; mrc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen ||
		    (plen && memcmp(k.mv_data, prefix, plen)))
			break;
		rc = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
		if (rc)
			return rc;
	}
	if (mrc && mrc != MDB_NOTFOUND) {
		log_error("cannot scan %s in '%s': %s", table_names[tb],
			  t->db->dir, mdb_strerror(mrc));
		return db_err(mrc);
	}
	return 0;
}

int meta_scan(struct meta_txn *t, enum meta_table tb, const void *start,
	      size_t slen, const void *prefix, size_t plen,
	      int (*fn)(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen),
	      void *arg)
{
	MDB_cursor *c;
	int rc;

	FFFS_ASSERT(table_ok(tb));
	if (t->err)
		return t->err;
	if (slen > META_KEY_MAX)
		return -EINVAL;
	rc = mdb_cursor_open(t->txn, t->db->dbi[tb], &c);
	if (rc) {
		log_error("cannot scan %s in '%s': %s", table_names[tb],
			  t->db->dir, mdb_strerror(rc));
		return db_err(rc);
	}
	t->scanning++;
	rc = scan_cursor(t, tb, c, start, slen, prefix, plen, fn, arg);
	t->scanning--;
	mdb_cursor_close(c);
	return rc;
}

/* ---- applying a write set ------------------------------------------------ */

struct ws_entry {
	uint8_t op, table;
	const void *key, *val;
	size_t klen;
	uint32_t vlen;
};

/* The next entry of a write set; false once up->err is set. */
static bool ws_next(struct unpack *up, struct ws_entry *e)
{
	e->op = unpack_u8(up);
	e->table = unpack_u8(up);
	e->klen = unpack_u16(up);
	e->key = unpack_take(up, e->klen);
	e->val = NULL;
	e->vlen = 0;
	if (e->op == WS_OP_PUT)
		unpack_blob(up, &e->val, &e->vlen);
	if (up->err)
		return false;
	if ((e->op != WS_OP_PUT && e->op != WS_OP_DEL) ||
	    e->table >= META_T__COUNT || !e->klen || e->klen > META_KEY_MAX ||
	    is_seq_key(e->table, e->key, e->klen))
		up->err = -FFFS_EBADFRAME;
	return !up->err;
}

/* Check the whole write set before anything is applied. */
static int ws_parse(const void *buf, size_t len, uint64_t *seq, uint32_t *n)
{
	struct ws_entry e;
	struct unpack up;
	uint8_t format;

	unpack_init(&up, buf, len);
	format = unpack_u8(&up);
	*seq = unpack_u64(&up);
	*n = unpack_u32(&up);
	if (!up.err && format != WS_FORMAT)
		up.err = -FFFS_EBADFRAME;
	for (uint32_t i = 0; i < *n && ws_next(&up, &e); i++)
		;
	return unpack_finish(&up) ? -FFFS_EBADFRAME : 0;
}

/* A write set ws_parse() checked: its header gives the entries' count. */
static int ws_apply_entries(struct meta_db *db, MDB_txn *txn, const void *buf,
			    size_t len)
{
	struct ws_entry e;
	struct unpack up;
	MDB_val k, v;
	uint32_t n;
	int rc = 0;

	unpack_init(&up, buf, len);
	unpack_u8(&up);	 /* format */
	unpack_u64(&up); /* seq */
	n = unpack_u32(&up);
	for (uint32_t i = 0; i < n && !rc; i++) {
		FFFS_ASSERT(ws_next(&up, &e)); /* ws_parse() checked it */
		k.mv_size = e.klen;
		k.mv_data = (void *)e.key;
		v.mv_size = e.vlen;
		v.mv_data = (void *)e.val;
		if (e.op == WS_OP_PUT)
			rc = mdb_put(txn, db->dbi[e.table], &k, &v, 0);
		else
			rc = mdb_del(txn, db->dbi[e.table], &k, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	return rc;
}

int meta_db_apply_many(struct meta_db *db, const struct iovec *ws, int n)
{
	uint64_t seq = 0, first = 0, cur;
	MDB_txn *txn;
	uint32_t cnt;
	int rc, mrc;

	if (n < 1)
		return -EINVAL;
	if (atomic_load(&db->failed))
		return -EIO;
	for (int i = 0; i < n; i++) {
		rc = ws_parse(ws[i].iov_base, ws[i].iov_len, &seq, &cnt);
		if (rc) {
			log_warn("malformed write set of %zu bytes refused by "
				 "'%s'",
				 ws[i].iov_len, db->dir);
			return rc;
		}
		if (!i)
			first = seq;
		else if (seq != first + (uint64_t)i)
			return -EINVAL;
	}
	mrc = mdb_txn_begin(db->env, NULL, 0, &txn);
	if (mrc)
		goto out_err;
	rc = db_room(db);
	if (!rc)
		rc = seq_read(db, txn, &cur);
	if (!rc && first != cur + 1) {
		log_warn("write set %llu refused by '%s': %llu is the last "
			 "applied",
			 (unsigned long long)first, db->dir,
			 (unsigned long long)cur);
		rc = -FFFS_EVERSION;
	}
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (int i = 0; i < n && !mrc; i++)
		mrc = ws_apply_entries(db, txn, ws[i].iov_base, ws[i].iov_len);
	if (!mrc)
		mrc = seq_write(db, txn, seq);
	if (mrc) {
		mdb_txn_abort(txn);
		goto out_err;
	}
	if (db->jr)
		pthread_mutex_lock(&db->jmu);
	mrc = mdb_txn_commit(txn);
	if (!mrc) {
		atomic_store(&db->seq, seq);
		if (db->jr)
			rc = db_journal(db, ws, n, first);
	}
	if (db->jr)
		pthread_mutex_unlock(&db->jmu);
	if (mrc)
		goto out_err;
	if (db->durable && !db->jr)
		db->durable(db->durable_arg, seq, 0);
	return rc;
out_err:
	log_error("cannot apply write sets %llu..%llu in '%s': %s",
		  (unsigned long long)first, (unsigned long long)seq, db->dir,
		  mdb_strerror(mrc));
	return db_err(mrc);
}

int meta_db_apply(struct meta_db *db, const void *ws, size_t len)
{
	struct iovec v = { (void *)ws, len };

	return meta_db_apply_many(db, &v, 1);
}

/* ---- digest -------------------------------------------------------------- */

static void digest_len(crypto_generichash_state *st, uint32_t n)
{
	uint8_t b[4];
	struct pack pk;

	pack_init(&pk, b, sizeof(b));
	pack_u32(&pk, n);
	crypto_generichash_update(st, b, sizeof(b));
}

static int digest_one(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	crypto_generichash_state *st = arg;

	digest_len(st, (uint32_t)klen);
	crypto_generichash_update(st, key, klen);
	digest_len(st, (uint32_t)vlen);
	crypto_generichash_update(st, val, vlen);
	return 0;
}

int meta_db_digest(struct meta_db *db, uint8_t out[32])
{
	crypto_generichash_state st;
	struct meta_txn *t;
	int rc;

	memset(out, 0, 32);
	rc = meta_txn_begin(db, false, &t);
	if (rc)
		return rc;
	crypto_generichash_init(&st, NULL, 0, 32);
	for (int tb = 0; tb < META_T__COUNT && !rc; tb++) {
		uint8_t id = (uint8_t)tb;

		crypto_generichash_update(&st, &id, 1);
		rc = meta_scan(t, tb, NULL, 0, NULL, 0, digest_one, &st);
		digest_len(&st, TABLE_END_LEN);
	}
	meta_txn_abort(t);
	if (!rc)
		crypto_generichash_final(&st, out, 32);
	return rc;
}

/* ---- what a write set touches; copies ------------------------------------ */

int meta_ws_touched(const void *ws, size_t len, uint64_t *seq,
		    void (*fn)(void *arg, uint64_t ino), void *arg)
{
	struct ws_entry e;
	struct unpack up;
	uint32_t n;

	if (ws_parse(ws, len, seq, &n))
		return -FFFS_EBADFRAME;
	unpack_init(&up, ws, len);
	unpack_take(&up, WS_HDR_LEN);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint64_t ino = 0;

		FFFS_ASSERT(ws_next(&up, &e)); /* ws_parse() checked it */
		k = e.key;
		if (e.table == META_T_REQUESTS)
			continue;
		if ((e.table == META_T_INODES || e.table == META_T_DIRENTS ||
		     e.table == META_T_XATTRS) &&
		    e.klen >= 8)
			for (int b = 0; b < 8; b++)
				ino = ino << 8 | k[b];
		fn(arg, ino);
	}
	return 0;
}

int meta_txn_touched(struct meta_txn *t, uint64_t *seq,
		     void (*fn)(void *arg, uint64_t ino), void *arg)
{
	struct pack pk;

	if (!t->write || t->err)
		return t->err ? t->err : -EINVAL;
	pack_init(&pk, t->ws, WS_HDR_LEN);
	pack_u8(&pk, WS_FORMAT);
	pack_u64(&pk, t->seq + 1);
	pack_u32(&pk, t->n);
	FFFS_ASSERT(!pk.err);
	return meta_ws_touched(t->ws, t->len, seq, fn, arg);
}

/* The applied sequence number of the copy at path (a directory, or with
 * file a data file), opened read-only, without a lock file: nobody else
 * has it yet. */
static int copy_seq(const char *path, bool file, uint64_t *seq)
{
	struct meta_db tmp = { .dir = (char *)path };
	unsigned fl = MDB_RDONLY | MDB_NOLOCK | (file ? MDB_NOSUBDIR : 0);
	MDB_txn *txn = NULL;
	int mrc, rc;

	mrc = mdb_env_create(&tmp.env);
	if (!mrc)
		mrc = mdb_env_set_maxdbs(tmp.env, META_T__COUNT);
	if (!mrc)
		mrc = mdb_env_open(tmp.env, path, fl, 0600);
	if (!mrc)
		mrc = mdb_txn_begin(tmp.env, NULL, MDB_RDONLY, &txn);
	if (!mrc)
		mrc = mdb_dbi_open(txn, table_names[META_T_COUNTERS], 0,
				   &tmp.dbi[META_T_COUNTERS]);
	rc = mrc ? db_err(mrc) : seq_read(&tmp, txn, seq);
	if (txn)
		mdb_txn_abort(txn);
	mdb_env_close(tmp.env);
	return rc;
}

int meta_db_copy(struct meta_db *db, const char *dir, uint64_t *seq, char *err,
		 size_t errlen)
{
	int mrc, rc;

	*seq = 0;
	mrc = mdb_env_copy2(db->env, dir, MDB_CP_COMPACT);
	if (mrc) {
		snprintf(err, errlen,
			 "cannot copy the namespace db '%s' to '%s': %s",
			 db->dir, dir, mdb_strerror(mrc));
		return db_err(mrc);
	}
	rc = copy_seq(dir, false, seq);
	if (rc)
		snprintf(err, errlen,
			 "cannot read the sequence number of the copy '%s': %s",
			 dir, fffs_strerror(rc));
	return rc;
}

/* ---- journaled: the state file, snapshots, recovery ---------------------- */

static bool journaled(const struct meta_db *db)
{
	return !(db->flags & (META_DB_NOSYNC | META_DB_SYNCED));
}

static char *db_path(const struct meta_db *db, const char *name)
{
	return xasprintf("%s/%s", db->dir, name);
}

/* This boot's id ("" when unknown: never the same as the last one). */
static void boot_id(char out[BOOT_ID_LEN])
{
	const char *test = getenv("FFFS_TEST_BOOT_ID");
	FILE *f;

	out[0] = 0;
	if (test && *test) {
		snprintf(out, BOOT_ID_LEN, "%s", test);
		return;
	}
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return;
	if (!fgets(out, BOOT_ID_LEN, f))
		out[0] = 0;
	out[strcspn(out, "\n ")] = 0;
	fclose(f);
}

static int write_all(int fd, const void *p, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = write(fd, (const uint8_t *)p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w ? -errno : -EIO;
		done += (size_t)w;
	}
	return 0;
}

/* tmp's bytes are durable: then it takes final's name, durably. */
static int file_commit(const struct meta_db *db, int fd, const char *tmp,
		       const char *final)
{
	int rc = fdatasync(fd) ? -errno : 0;

	if (close(fd) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, final))
		rc = -errno;
	if (!rc)
		rc = dir_sync(db->dir);
	if (rc)
		unlink(tmp);
	return rc;
}

/* The state file says which boot last wrote the db unsynced, and whether
 * it was closed synced (clean). */
static int state_write(struct meta_db *db, bool clean)
{
	char *tmp = db_path(db, STATE_FILE ".tmp"),
	     *fin = db_path(db, STATE_FILE);
	char *text = xasprintf(STATE_MAGIC "\nboot %s\nclean %d\n",
			       *db->boot ? db->boot : "-", clean ? 1 : 0);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = fd < 0 ? -errno : write_all(fd, text, strlen(text));

	if (fd >= 0 && rc)
		close(fd);
	if (fd >= 0 && !rc)
		rc = file_commit(db, fd, tmp, fin);
	if (rc)
		log_error("cannot write '%s': %s", fin, fffs_strerror(rc));
	free(text);
	free(tmp);
	free(fin);
	return rc;
}

/* 0, the boot id and the clean flag of the state file; -ENOENT: none. */
static int state_read(struct meta_db *db, char boot[BOOT_ID_LEN], bool *clean)
{
	char *p = db_path(db, STATE_FILE), line[3][128];
	FILE *f = fopen(p, "re");
	int c = -1, rc = 0;

	free(p);
	if (!f)
		return -errno;
	for (int i = 0; i < 3 && !rc; i++)
		if (!fgets(line[i], sizeof(line[i]), f))
			rc = -FFFS_EBADFRAME;
	fclose(f);
	if (!rc && (strncmp(line[0], STATE_MAGIC "\n", sizeof(STATE_MAGIC)) ||
		    sscanf(line[1], "boot %63s", boot) != 1 ||
		    sscanf(line[2], "clean %d", &c) != 1 || (c != 0 && c != 1)))
		rc = -FFFS_EBADFRAME;
	*clean = c == 1;
	return rc;
}

/* Before the first unsynced commit: the state file says this boot wrote
 * the db, unsynced. */
static int state_mark(struct meta_db *db, char *err, size_t errlen)
{
	int rc = state_write(db, false);

	if (rc)
		snprintf(err, errlen, "cannot write '%s/" STATE_FILE "': %s",
			 db->dir, fffs_strerror(rc));
	return rc;
}

/* A copy of from at to (the caller syncs it). */
static int file_copy(const char *from, const char *to)
{
	size_t cap = 1 << 20;
	uint8_t *buf = xmalloc(cap);
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;

	if (in < 0)
		rc = -errno;
	if (!rc && (out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			       0600)) < 0)
		rc = -errno;
	while (!rc) {
		ssize_t r = read(in, buf, cap);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r ? -errno : 0;
			break;
		}
		rc = write_all(out, buf, (size_t)r);
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && rc)
		close(out);
	free(buf);
	return rc;
}

/* Before LMDB opens a journaled db: whether it may be torn (power was
 * lost while it had unsynced commits), and if so, its snapshot in its
 * place. */
static int db_prepare(struct meta_db *db, bool *recover, char *err,
		      size_t errlen)
{
	char last[BOOT_ID_LEN] = "", *snap, *tmp, *data, *lock;
	bool clean = false;
	int rc;

	*recover = false;
	boot_id(db->boot);
	if (!*db->boot)
		log_warn("cannot tell this boot from the last one: the "
			 "namespace db '%s' is rebuilt from its snapshot",
			 db->dir);
	rc = state_read(db, last, &clean);
	if (rc && rc != -ENOENT) {
		snprintf(err, errlen, "cannot read '%s/" STATE_FILE "': %s",
			 db->dir, fffs_strerror(rc));
		return rc;
	}
	/* no state: new, or from before the journal (synced); clean: synced
	 * when closed; the same boot: the page cache still has it all */
	if (rc || clean || (*db->boot && !strcmp(last, db->boot)))
		return state_mark(db, err, errlen);
	*recover = true;
	log_warn("namespace db '%s' was not synced when the system went "
		 "down: rebuilding it from its snapshot and journal",
		 db->dir);
	snap = db_path(db, SNAP_FILE);
	tmp = db_path(db, "data.mdb.tmp");
	data = db_path(db, "data.mdb");
	lock = db_path(db, "lock.mdb");
	rc = file_copy(snap, tmp);
	if (rc)
		snprintf(err, errlen,
			 "cannot rebuild the namespace db '%s' from its "
			 "snapshot '%s': %s",
			 db->dir, snap, fffs_strerror(rc));
	else {
		int fd = open(tmp, O_WRONLY | O_CLOEXEC);

		rc = fd < 0 ? -errno : file_commit(db, fd, tmp, data);
		if (rc)
			snprintf(err, errlen, "cannot put '%s' in place: %s",
				 tmp, fffs_strerror(rc));
	}
	if (!rc && unlink(lock) && errno != ENOENT) {
		rc = -errno;
		snprintf(err, errlen, "cannot remove '%s': %s", lock,
			 strerror(errno));
	}
	if (rc)
		unlink(tmp);
	free(snap);
	free(tmp);
	free(data);
	free(lock);
	return rc ? rc : state_mark(db, err, errlen);
}

/* Replaying the journal: the records after LMDB's seq, in transactions
 * of up to REPLAY_TXN write sets, unsynced (the caller syncs). */
#define REPLAY_TXN 1024

struct replay {
	struct meta_db *db;
	MDB_txn *txn;
	uint64_t cur, n;
	int mrc;
};

static int replay_end(struct replay *r)
{
	int mrc;

	if (!r->txn)
		return 0;
	mrc = seq_write(r->db, r->txn, r->cur);
	if (mrc)
		mdb_txn_abort(r->txn);
	else
		mrc = mdb_txn_commit(r->txn);
	r->txn = NULL;
	if (!mrc)
		atomic_store(&r->db->seq, r->cur);
	r->mrc = mrc;
	return mrc ? db_err(mrc) : 0;
}

static int replay_one(void *arg, uint64_t seq, const void *p, size_t len)
{
	struct replay *r = arg;
	uint64_t wseq;
	uint32_t cnt;
	int mrc;

	if (ws_parse(p, len, &wseq, &cnt) || wseq != seq)
		return -FFFS_EBADFRAME;
	if (seq != r->cur + 1)
		return -FFFS_EVERSION;
	if (!r->txn) {
		mrc = mdb_txn_begin(r->db->env, NULL, 0, &r->txn);
		if (mrc) {
			r->txn = NULL;
			r->mrc = mrc;
			return db_err(mrc);
		}
		mrc = db_reserve(r->db);
		if (mrc) {
			mdb_txn_abort(r->txn);
			r->txn = NULL;
			return mrc;
		}
	}
	mrc = ws_apply_entries(r->db, r->txn, p, len);
	if (mrc) {
		mdb_txn_abort(r->txn);
		r->txn = NULL;
		r->mrc = mrc;
		return db_err(mrc);
	}
	r->cur = seq;
	if (++r->n % REPLAY_TXN == 0)
		return replay_end(r);
	return 0;
}

/* A compacted copy of the db as the new snapshot, synced; *seq is its
 * applied seq. */
static int snapshot_write(struct meta_db *db, uint64_t *seq, char *err,
			  size_t errlen)
{
	char *tmp = db_path(db, SNAP_TMP), *fin = db_path(db, SNAP_FILE);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0, mrc = 0;

	if (fd < 0)
		rc = -errno;
	if (!rc && (mrc = mdb_env_copyfd2(db->env, fd, MDB_CP_COMPACT)))
		rc = db_err(mrc);
	if (!rc) {
		rc = file_commit(db, fd, tmp, fin);
		fd = -1;
	}
	if (!rc)
		rc = copy_seq(fin, true, seq);
	if (rc)
		snprintf(err, errlen, "cannot write the snapshot '%s': %s", fin,
			 mrc ? mdb_strerror(mrc) : fffs_strerror(rc));
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(fin);
	return rc;
}

static int snapshot_take(struct meta_db *db, char *err, size_t errlen)
{
	uint64_t seq = 0;
	int rc;

	pthread_mutex_lock(&db->snap_run);
	pthread_mutex_lock(&db->sync_mu);
	pthread_mutex_lock(&db->jmu);
	rc = journal_rotate(db->jr, atomic_load(&db->seq) + 1, err, errlen);
	if (!rc)
		db->jbytes = 0;
	pthread_mutex_unlock(&db->jmu);
	pthread_mutex_unlock(&db->sync_mu);
	if (!rc)
		rc = snapshot_write(db, &seq, err, errlen);
	if (!rc) {
		/* the records up to the new file's first are in the copy */
		pthread_mutex_lock(&db->jmu);
		journal_prune(db->jr);
		pthread_mutex_unlock(&db->jmu);
		log_info("namespace db '%s': a snapshot at write set %" PRIu64,
			 db->dir, seq);
	}
	pthread_mutex_unlock(&db->snap_run);
	return rc;
}

int meta_db_snapshot(struct meta_db *db, char *err, size_t errlen)
{
	if (!db->jr) {
		snprintf(err, errlen, "namespace db '%s' has no journal",
			 db->dir);
		return -EINVAL;
	}
	return snapshot_take(db, err, errlen);
}

static void *snapper_main(void *arg)
{
	struct meta_db *db = arg;
	char err[1024];

	pthread_mutex_lock(&db->snap_mu);
	for (;;) {
		while (!db->snap_want && !db->snap_stop)
			pthread_cond_wait(&db->snap_cv, &db->snap_mu);
		if (db->snap_stop)
			break;
		pthread_mutex_unlock(&db->snap_mu);
		if (snapshot_take(db, err, sizeof(err)))
			log_error("%s", err);
		pthread_mutex_lock(&db->snap_mu);
		db->snap_want = false;
	}
	pthread_mutex_unlock(&db->snap_mu);
	return NULL;
}

/* jmu held: records of a committed transaction; 0 once durable. */
static int db_journal(struct meta_db *db, const struct iovec *v, int n,
		      uint64_t first)
{
	int64_t w;
	MDB_envinfo info;
	MDB_stat st;
	int mrc;

	if (db->syncer_up) {
		/* the syncer makes it durable and says so */
		w = journal_write(db->jr, v, n, first);
		if (w < 0)
			atomic_store(&db->failed, true);
		db->written = first + (uint64_t)n - 1;
		pthread_cond_signal(&db->sync_cv);
		if (w < 0)
			return 0;
	} else {
		w = journal_append(db->jr, v, n, first);
	}
	if (w < 0) {
		/* no more writes here; this one is durable if LMDB syncs */
		atomic_store(&db->failed, true);
		mrc = mdb_env_sync(db->env, 1);
		log_error("namespace db '%s' takes no more writes: its journal "
			  "failed (%s), %s",
			  db->dir, fffs_strerror((int)w),
			  mrc ? "and so did syncing it"
			      : "the last commit is synced");
		return mrc ? -EIO : 0;
	}
	db->jbytes += (uint64_t)w;
	if (db->jbytes < db->snap_min || mdb_env_info(db->env, &info) ||
	    mdb_env_stat(db->env, &st) ||
	    db->jbytes < SNAP_RATIO * ((uint64_t)info.me_last_pgno + 1) *
				 st.ms_psize)
		return 0;
	/* twice as much journal as data: a snapshot keeps the replay after a
	 * power loss short, and costs one copy of the data */
	pthread_mutex_lock(&db->snap_mu);
	if (!db->snap_want) {
		db->snap_want = true;
		pthread_cond_signal(&db->snap_cv);
	}
	pthread_mutex_unlock(&db->snap_mu);
	return 0;
}

/* After LMDB opened a journaled db: the records it misses (all of them
 * after its snapshot when recovering), a new journal file, a snapshot if
 * the journal could not rebuild the db as it is now, the state file, and
 * the snapshot thread. */
static int db_journal_start(struct meta_db *db, bool recover, char *err,
			    size_t errlen)
{
	struct replay r = { .db = db, .cur = atomic_load(&db->seq) };
	struct journal_scan_res res;
	uint64_t from = r.cur, snap_seq = 0, seq;
	const char *test = getenv("FFFS_TEST_SNAPSHOT_BYTES");
	char *snap = db_path(db, SNAP_FILE), why[1024] = "";
	bool need;
	int rc;

	db->snap_min = test && *test ? strtoull(test, NULL, 0) : SNAP_MIN;
	rc = journal_scan(db->dir, from, replay_one, &r, &res, why,
			  sizeof(why));
	if (!rc && recover && !res.files) {
		rc = -ENOENT;
		snprintf(why, sizeof(why), "its journal files are missing");
	} else if (rc == -FFFS_EVERSION)
		snprintf(why, sizeof(why),
			 "its journal starts at write set %" PRIu64
			 ", after %" PRIu64 ": write sets are missing",
			 res.first, from + 1);
	else if (rc && !*why)
		snprintf(why, sizeof(why), "cannot replay its journal: %s",
			 r.mrc ? mdb_strerror(r.mrc) : fffs_strerror(rc));
	if (rc) {
		if (r.txn)
			mdb_txn_abort(r.txn);
		r.txn = NULL;
	} else {
		rc = replay_end(&r);
		if (rc)
			snprintf(why, sizeof(why),
				 "cannot replay its journal: %s",
				 mdb_strerror(r.mrc));
	}
	if (rc && recover) {
		snprintf(err, errlen,
			 "cannot recover the namespace db '%s': %s", db->dir,
			 why);
		free(snap);
		return rc;
	}
	if (rc)
		log_warn("namespace db '%s': %s; LMDB is whole, a new snapshot "
			 "replaces the journal",
			 db->dir, why);
	seq = atomic_load(&db->seq);
	if (r.n)
		log_info("namespace db '%s': replayed write sets %" PRIu64
			 "..%" PRIu64 " from its journal",
			 db->dir, from + 1, seq);
	/* also when restarts (a new file each) left many files behind */
	need = rc || res.torn || !res.files || res.last != seq ||
	       res.files > JOURNAL_FILES_MAX ||
	       copy_seq(snap, true, &snap_seq) || res.first > snap_seq + 1;
	free(snap);
	rc = journal_open(db->dir, seq + 1, &db->jr, err, errlen);
	if (!rc && need)
		rc = snapshot_take(db, err, errlen);
	if (rc)
		return rc;
	rc = pthread_create(&db->snapper, NULL, snapper_main, db);
	if (rc) {
		snprintf(err, errlen,
			 "namespace db '%s': cannot start its snapshot thread: "
			 "%s",
			 db->dir, strerror(rc));
		return -rc;
	}
	db->snapper_up = true;
	return 0;
}

/* ---- asynchronous durability --------------------------------------------- */

/* The syncer: syncs the journal whenever records were written since the
 * last sync (all that were written meanwhile share one fdatasync), then
 * reports the last seq it made durable. */
static void *syncer_main(void *arg)
{
	struct meta_db *db = arg;

	pthread_mutex_lock(&db->jmu);
	for (;;) {
		uint64_t w;
		int rc, mrc;

		while (db->written == db->synced && !db->sync_stop)
			pthread_cond_wait(&db->sync_cv, &db->jmu);
		if (db->written == db->synced)
			break; /* stopping, and nothing is left */
		w = db->written;
		pthread_mutex_unlock(&db->jmu);
		pthread_mutex_lock(&db->sync_mu);
		rc = atomic_load(&db->failed) ? -EIO : journal_sync(db->jr);
		pthread_mutex_unlock(&db->sync_mu);
		if (rc) {
			/* LMDB has every commit up to w (and maybe more):
			 * synced, they are durable without the journal */
			bool first = !atomic_exchange(&db->failed, true);

			mrc = mdb_env_sync(db->env, 1);
			if (first || mrc)
				log_error("namespace db '%s' takes no more "
					  "writes: its journal failed, %s",
					  db->dir,
					  mrc ? "and so did syncing it"
					      : "its commits are synced");
			rc = mrc ? -EIO : 0;
		}
		db->durable(db->durable_arg, w, rc);
		pthread_mutex_lock(&db->jmu);
		db->synced = w;
	}
	pthread_mutex_unlock(&db->jmu);
	return NULL;
}

int meta_db_async(struct meta_db *db,
		  void (*durable)(void *arg, uint64_t seq, int rc), void *arg)
{
	int rc;

	FFFS_ASSERT(durable && !db->durable);
	db->durable = durable;
	db->durable_arg = arg;
	if (!db->jr)
		return 0;
	db->written = db->synced = atomic_load(&db->seq);
	rc = pthread_create(&db->syncer, NULL, syncer_main, db);
	if (rc) {
		log_error("namespace db '%s': cannot start its journal syncer: "
			  "%s",
			  db->dir, strerror(rc));
		db->durable = NULL;
		return -rc;
	}
	db->syncer_up = true;
	return 0;
}
