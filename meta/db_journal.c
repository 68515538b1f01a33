/* meta/db_journal.c - a journaled namespace db (meta/db.h, Durability):
 * the state file, recovery after a power loss (the snapshot in place of
 * data.mdb, the journal replayed), snapshots and their thread, the
 * journal record of each commit, the syncer of meta_db_async(), and the
 * disk kept allocated ahead of data.mdb and the journal. */
#define LOG_SUBSYS "metadb"
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <lmdb.h>
#include <pthread.h>
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

#define SNAP_MIN     (256ull << 20) /* journal bytes before a snapshot */
#define SNAP_RATIO   2 /* ... and at least this many times the data */
#define SNAP_FILE    "snapshot.mdb"
#define SNAP_TMP     "snapshot.tmp"
#define STATE_FILE   "state"
#define STATE_MAGIC  "fffs-meta-state 1"
#define RESERVE_STEP (64ull << 20) /* data.mdb allocated ahead (WRITEMAP) */
#define ENTRY_PAGES \
	3 /* pages a write may add: its leaf copied, split, branches */
#define JOURNAL_FILES_MAX 16 /* more at an open: a snapshot prunes them */
#define JOURNAL_AHEAD	  (1ull << 20) /* journal file allocated ahead */

static int state_write(struct meta_db *db, bool clean);

/* ---- disk allocated ahead ------------------------------------------------ */

/* With MDB_WRITEMAP LMDB writes new pages straight into the map: before
 * a write transaction starts, the file is kept allocated past its last
 * page by as much as the transaction can add (at least half of
 * RESERVE_STEP, and the end rounded to it), so that no page it writes
 * can need a block the disk does not have. 0, -ENOSPC (logged),
 * -EOPNOTSUPP or -errno. */
int db_reserve(struct meta_db *db, uint64_t entries, uint64_t bytes)
{
	uint64_t need, end, ahead;
	MDB_envinfo info;
	MDB_stat st;
	int fd;

	if (!db->writemap)
		return 0;
	if (mdb_env_info(db->env, &info) || mdb_env_stat(db->env, &st) ||
	    mdb_env_get_fd(db->env, &fd))
		return -EIO;
	ahead = entries * ENTRY_PAGES * st.ms_psize + 2 * bytes;
	if (ahead < RESERVE_STEP / 2)
		ahead = RESERVE_STEP / 2;
	need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize + ahead;
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
int db_room(struct meta_db *db, uint64_t entries, uint64_t bytes)
{
	int rc = db_reserve(db, entries, bytes);

	if (rc == -EOPNOTSUPP)
		rc = -EIO; /* it worked when the db opened */
	if (!rc && db->jr) {
		pthread_mutex_lock(&db->jmu);
		rc = journal_reserve(db->jr, JOURNAL_AHEAD > bytes
						     ? JOURNAL_AHEAD
						     : 2 * bytes);
		pthread_mutex_unlock(&db->jmu);
	}
	return rc;
}

/* ---- journaled: the state file, snapshots, recovery ---------------------- */

bool db_journaled(const struct meta_db *db)
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

/* A copy of from at to: its descriptor (for file_commit()), or -errno. */
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
	return rc ? rc : out;
}

/* Before LMDB opens a journaled db: whether it may be torn (power was
 * lost while it had unsynced commits), and if so, its snapshot in its
 * place. */
int db_prepare(struct meta_db *db, bool *recover, char *err, size_t errlen)
{
	char last[BOOT_ID_LEN] = "", *snap, *tmp, *data, *lock;
	bool clean = false;
	int rc, fd;

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
	fd = file_copy(snap, tmp);
	rc = fd < 0 ? fd : 0;
	if (rc) {
		snprintf(err, errlen,
			 "cannot rebuild the namespace db '%s' from its "
			 "snapshot '%s': %s",
			 db->dir, snap, fffs_strerror(rc));
	} else {
		rc = file_commit(db, fd, tmp, data);
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

/* Replaying the journal: the records after LMDB's seq, unsynced (the
 * journal keeps them durable), in transactions of up to REPLAY_ENTRIES
 * writes and REPLAY_BYTES (a larger write set alone), so that each fits
 * in what db_reserve() allocated for it. */
#define REPLAY_ENTRIES 4096
#define REPLAY_BYTES   (8u << 20)

struct replay {
	struct meta_db *db;
	MDB_txn *txn;
	uint64_t cur, n;
	uint64_t entries, bytes; /* in txn */
	int mrc;
};

static int replay_end(struct replay *r)
{
	int mrc;

	if (!r->txn)
		return 0;
	mrc = db_seq_write(r->db, r->txn, r->cur);
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

	if (db_ws_parse(p, len, &wseq, &cnt) || wseq != seq)
		return -FFFS_EBADFRAME;
	if (seq != r->cur + 1)
		return -FFFS_EVERSION;
	if (r->txn && (r->entries + cnt > REPLAY_ENTRIES ||
		       r->bytes + len > REPLAY_BYTES)) {
		mrc = replay_end(r);
		if (mrc)
			return mrc;
	}
	if (!r->txn) {
		mrc = mdb_txn_begin(r->db->env, NULL, 0, &r->txn);
		if (mrc) {
			r->txn = NULL;
			r->mrc = mrc;
			return db_err(mrc);
		}
		mrc = db_reserve(r->db,
				 cnt > REPLAY_ENTRIES ? cnt : REPLAY_ENTRIES,
				 len > REPLAY_BYTES ? len : REPLAY_BYTES);
		if (mrc) {
			mdb_txn_abort(r->txn);
			r->txn = NULL;
			return mrc;
		}
		r->entries = r->bytes = 0;
	}
	mrc = db_ws_apply(r->db, r->txn, p, len);
	if (mrc) {
		mdb_txn_abort(r->txn);
		r->txn = NULL;
		r->mrc = mrc;
		return db_err(mrc);
	}
	r->cur = seq;
	r->n++;
	r->entries += cnt;
	r->bytes += len;
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
		rc = db_copy_seq(fin, true, seq);
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
	uint64_t seq = 0, first;
	int rc;

	pthread_mutex_lock(&db->snap_run);
	pthread_mutex_lock(&db->sync_mu);
	pthread_mutex_lock(&db->jmu);
	/* the journal's next seq: records may be ahead of LMDB's commit
	 * (db_journal_ahead) */
	first = journal_next(db->jr);
	rc = journal_rotate(db->jr, first, err, errlen);
	if (!rc)
		db->jbytes = 0;
	pthread_mutex_unlock(&db->jmu);
	pthread_mutex_unlock(&db->sync_mu);
	if (!rc)
		rc = snapshot_write(db, &seq, err, errlen);
	if (!rc && seq + 1 >= first) {
		/* the records before the new file's first are in the copy */
		pthread_mutex_lock(&db->jmu);
		journal_prune(db->jr);
		pthread_mutex_unlock(&db->jmu);
		log_info("namespace db '%s': a snapshot at write set %" PRIu64,
			 db->dir, seq);
	} else if (!rc) {
		/* a record was ahead of its commit: the next snapshot prunes */
		log_info("namespace db '%s': a snapshot at write set %" PRIu64
			 ", before journal file %" PRIu64 "; kept the files",
			 db->dir, seq, first);
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

/* The journal failed (rc): LMDB synced instead makes every commit so far
 * durable, and the db takes no more writes. 0, or -EIO when that sync
 * fails too. */
static int journal_lost(struct meta_db *db, int rc)
{
	int mrc = mdb_env_sync(db->env, 1);

	atomic_store(&db->failed, true);
	log_error("namespace db '%s' takes no more writes: its journal "
		  "failed (%s), %s",
		  db->dir, fffs_strerror(rc),
		  mrc ? "and so did syncing LMDB" : "its commits are synced");
	return mrc ? -EIO : 0;
}

/* jmu held: records of a committed transaction; 0 once durable. */
static void journal_account(struct meta_db *db, int64_t w);

int db_journal(struct meta_db *db, const struct iovec *v, int n, uint64_t first)
{
	int64_t w;

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
	if (w < 0)
		return journal_lost(db, (int)w);
	journal_account(db, w);
	return 0;
}

/* jmu held: w more bytes in the journal; a snapshot once there is enough. */
static void journal_account(struct meta_db *db, int64_t w)
{
	MDB_envinfo info;
	MDB_stat st;

	db->jbytes += (uint64_t)w;
	if (db->jbytes < db->snap_min || mdb_env_info(db->env, &info) ||
	    mdb_env_stat(db->env, &st) ||
	    db->jbytes < SNAP_RATIO * ((uint64_t)info.me_last_pgno + 1) *
				 st.ms_psize)
		return;
	/* twice as much journal as data: a snapshot keeps the replay after a
	 * power loss short, and costs one copy of the data */
	pthread_mutex_lock(&db->snap_mu);
	if (!db->snap_want) {
		db->snap_want = true;
		pthread_cond_signal(&db->snap_cv);
	}
	pthread_mutex_unlock(&db->snap_mu);
}

/* durable() for seq, unless a later seq was reported already; a failure
 * is always reported. */
static void report(struct meta_db *db, uint64_t seq, int rc)
{
	pthread_mutex_lock(&db->dur_mu);
	if (seq > db->reported || rc) {
		if (seq > db->reported)
			db->reported = seq;
		db->durable(db->durable_arg, db->reported, rc);
	}
	pthread_mutex_unlock(&db->dur_mu);
}

bool db_journal_ahead(struct meta_db *db, const struct iovec *v, int n,
		      uint64_t first)
{
	int64_t w;

	if (!db->syncer_up)
		return false;
	pthread_mutex_lock(&db->jmu);
	w = journal_write(db->jr, v, n, first);
	if (w < 0) {
		/* db_journal_done() falls back to syncing LMDB */
		atomic_store(&db->failed, true);
	} else {
		db->written = first + (uint64_t)n - 1;
		pthread_cond_signal(&db->sync_cv);
		journal_account(db, w);
	}
	pthread_mutex_unlock(&db->jmu);
	return true;
}

int db_journal_done(struct meta_db *db, uint64_t seq)
{
	bool synced;

	/* jmu: the syncer reads LMDB's seq and sets synced under it */
	pthread_mutex_lock(&db->jmu);
	atomic_store(&db->seq, seq);
	synced = db->synced >= seq;
	pthread_mutex_unlock(&db->jmu);
	if (atomic_load(&db->failed)) {
		int rc = journal_lost(db, -EIO);

		report(db, seq, rc);
		return rc;
	}
	if (synced)
		report(db, seq, 0);
	return 0;
}

/* After LMDB opened a journaled db: the records it misses (all of them
 * after its snapshot when recovering), a new journal file, a snapshot if
 * the journal could not rebuild the db as it is now, the state file, and
 * the snapshot thread. */
int db_journal_start(struct meta_db *db, bool recover, char *err, size_t errlen)
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
	       db_copy_seq(snap, true, &snap_seq) || res.first > snap_seq + 1;
	free(snap);
	rc = journal_open(db->dir, seq + 1, &db->jr, err, errlen);
	if (!rc && need)
		rc = snapshot_take(db, err, errlen);
	if (rc)
		return rc;
	rc = -fffs_thread_start(&db->snapper, "fffs-msnap", snapper_main, db);
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
		uint64_t w, c;
		int rc;

		while (db->written == db->synced && !db->sync_stop)
			pthread_cond_wait(&db->sync_cv, &db->jmu);
		if (db->written == db->synced)
			break; /* stopping, and nothing is left */
		w = db->written;
		pthread_mutex_unlock(&db->jmu);
		pthread_mutex_lock(&db->sync_mu);
		rc = atomic_load(&db->failed) ? -EIO : journal_sync(db->jr);
		pthread_mutex_unlock(&db->sync_mu);
		pthread_mutex_lock(&db->jmu);
		db->synced = w;
		/* durable here means in LMDB too: a record written ahead of
		 * its commit is reported by db_journal_done() */
		c = atomic_load(&db->seq);
		pthread_mutex_unlock(&db->jmu);
		if (rc) /* LMDB synced has every commit up to c */
			rc = journal_lost(db, rc);
		report(db, c < w ? c : w, rc);
		pthread_mutex_lock(&db->jmu);
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
	db->written = db->synced = db->reported = atomic_load(&db->seq);
	rc = -fffs_thread_start(&db->syncer, "fffs-jsync", syncer_main, db);
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

/* Tell a thread waiting on cv under mu to stop, and wait for it. */
static void thread_stop(pthread_mutex_t *mu, pthread_cond_t *cv, bool *stop,
			pthread_t t)
{
	pthread_mutex_lock(mu);
	*stop = true;
	pthread_cond_signal(cv);
	pthread_mutex_unlock(mu);
	pthread_join(t, NULL);
}

void db_journal_close(struct meta_db *db)
{
	if (db->snapper_up)
		thread_stop(&db->snap_mu, &db->snap_cv, &db->snap_stop,
			    db->snapper);
	/* the syncer syncs what is written and says so before it ends */
	if (db->syncer_up)
		thread_stop(&db->jmu, &db->sync_cv, &db->sync_stop, db->syncer);
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
		db->jr = NULL;
	}
}
