/* meta/db.c - the namespace's LMDB environment: its tables, write
 * transactions that record their write set, applying a write set on a
 * replica, scans and the digest of the contents. A journaled db's
 * durability (journal, snapshots, recovery, syncer) is meta/db_journal.c. */
#define LOG_SUBSYS "metadb"
#include <lmdb.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dirs.h"
#include "fffs.h"
#include "meta/db.h"
#include "meta/db_int.h"
#include "meta/journal.h"
#include "net/pack.h"

#define WS_FORMAT     1
#define WS_HDR_LEN    13 /* u8 format, u64 seq, u32 n */
#define WS_OP_PUT     1
#define WS_OP_DEL     2
#define SEQ_KEY	      "seq"
#define SEQ_FORMAT    1
#define SEQ_VAL_LEN   9
#define ARENA_BLOCK   65536
#define ARENA_ALIGN   8
#define TABLE_END_LEN 0xffffffffu /* digest: ends a table (no key has it) */
static const char *const table_names[META_T__COUNT] = {
	"inodes", "dirents", "xattrs", "sessions", "gc", "counters", "requests",
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

/* LMDB's codes as negative errno-style codes; LMDB passes system errors
 * through as positive errno values. */
int db_err(int rc)
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

int db_seq_read(struct meta_db *db, MDB_txn *txn, uint64_t *seq)
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
int db_seq_write(struct meta_db *db, MDB_txn *txn, uint64_t seq)
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
	if (db_journaled(db) && !db->no_writemap)
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
		res = db_reserve(db, 0, 0);
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
	rc = db_seq_read(db, txn, &seq);
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
	pthread_mutex_destroy(&db->dur_mu);
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
	pthread_mutex_init(&db->dur_mu, NULL);
	pthread_cond_init(&db->sync_cv, NULL);
	pthread_mutex_init(&db->snap_run, NULL);
	pthread_mutex_init(&db->snap_mu, NULL);
	pthread_cond_init(&db->snap_cv, NULL);
	rc = dir_own(db->dir, &db->lock_fd, err, errlen);
	if (rc)
		goto out_free;
	if (db_journaled(db))
		rc = db_prepare(db, &recover, err, errlen);
	if (!rc)
		rc = db_env_open(db, map_size, flags, err, errlen);
	if (rc)
		goto out_unlock;
	rc = db_setup(db, err, errlen);
	if (!rc && db_journaled(db))
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
	db_journal_close(db);
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
		rc = db_room(db, 0, 0);
		if (rc) {
			mdb_txn_abort(t->txn);
			free(t);
			return rc;
		}
		rc = db_seq_read(db, t->txn, &t->seq);
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
	mrc = db_seq_write(db, t->txn, t->seq + 1);
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
int db_ws_parse(const void *buf, size_t len, uint64_t *seq, uint32_t *n)
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

/* A write set db_ws_parse() checked: its header gives the entries' count. */
int db_ws_apply(struct meta_db *db, MDB_txn *txn, const void *buf, size_t len)
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
		FFFS_ASSERT(ws_next(&up, &e)); /* db_ws_parse() checked it */
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
	uint64_t seq = 0, first = 0, cur, entries = 0, bytes = 0;
	MDB_txn *txn;
	uint32_t cnt;
	bool ahead;
	int rc, mrc;

	if (n < 1)
		return -EINVAL;
	if (atomic_load(&db->failed))
		return -EIO;
	for (int i = 0; i < n; i++) {
		rc = db_ws_parse(ws[i].iov_base, ws[i].iov_len, &seq, &cnt);
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
		entries += cnt;
		bytes += ws[i].iov_len;
	}
	mrc = mdb_txn_begin(db->env, NULL, 0, &txn);
	if (mrc)
		goto out_err;
	/* many write sets of a replica catching up can add more pages than
	 * an ordinary transaction */
	rc = db_room(db, entries, bytes);
	if (!rc)
		rc = db_seq_read(db, txn, &cur);
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
	/* the write sets are final: their records first, so that the sync
	 * runs while LMDB applies them */
	ahead = db->jr && db_journal_ahead(db, ws, n, first);
	for (int i = 0; i < n && !mrc; i++)
		mrc = db_ws_apply(db, txn, ws[i].iov_base, ws[i].iov_len);
	if (!mrc)
		mrc = db_seq_write(db, txn, seq);
	if (mrc)
		mdb_txn_abort(txn);
	else if (ahead)
		mrc = mdb_txn_commit(txn);
	if (ahead) {
		if (!mrc)
			return db_journal_done(db, seq);
		/* the journal has records LMDB does not: no more writes; a
		 * replay at the next open applies them */
		atomic_store(&db->failed, true);
		log_error("cannot apply write sets %llu..%llu in '%s': %s; "
			  "it takes no more writes",
			  (unsigned long long)first, (unsigned long long)seq,
			  db->dir, mdb_strerror(mrc));
		return -EIO;
	}
	if (mrc)
		goto out_err;
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

	if (db_ws_parse(ws, len, seq, &n))
		return -FFFS_EBADFRAME;
	unpack_init(&up, ws, len);
	unpack_take(&up, WS_HDR_LEN);
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *k;
		uint64_t ino = 0;

		FFFS_ASSERT(ws_next(&up, &e)); /* db_ws_parse() checked it */
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
int db_copy_seq(const char *path, bool file, uint64_t *seq)
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
	rc = mrc ? db_err(mrc) : db_seq_read(&tmp, txn, seq);
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
	rc = db_copy_seq(dir, false, seq);
	if (rc)
		snprintf(err, errlen,
			 "cannot read the sequence number of the copy '%s': %s",
			 dir, fffs_strerror(rc));
	return rc;
}
