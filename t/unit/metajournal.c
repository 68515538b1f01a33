/* t/unit/metajournal.c - the write-set journal (meta/journal.h) and a
 * journaled namespace db (meta/db.h): records read back in order, a torn
 * tail, damage and gaps refused; a db killed without closing reopens
 * whole in the same boot; after a "power loss" (another boot id, data.mdb
 * overwritten with garbage, a torn last record) it is rebuilt from its
 * snapshot and journal with the same contents as a reference db; missing
 * journal files are a clear error; the snapshot thread takes snapshots
 * and removes the journal files before them. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "meta/db.h"
#include "meta/journal.h"
#include "t/unit/tap.h"

static char tmpdir[] = "/tmp/fffs-metajournal-XXXXXX";

static char *path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

/* ---- the journal alone --------------------------------------------------- */

struct seen {
	uint64_t seq[64];
	char text[64][32];
	int n;
	int stop_at; /* return 7 when seq reaches it */
};

static int seen_one(void *arg, uint64_t seq, const void *p, size_t len)
{
	struct seen *s = arg;

	if (s->n < 64) {
		s->seq[s->n] = seq;
		snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s", (int)len,
			 (const char *)p);
		s->n++;
	}
	return s->stop_at && seq == (uint64_t)s->stop_at ? 7 : 0;
}

static int64_t append_s(struct journal *j, uint64_t seq, const char *a,
			const char *b)
{
	struct iovec v[2] = { { (void *)a, strlen(a) },
			      { (void *)b, b ? strlen(b) : 0 } };

	return journal_append(j, v, b ? 2 : 1, seq);
}

static off_t file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) ? -1 : st.st_size;
}

static void test_journal(void)
{
	char *dir = path("j"), err[512] = "", *f1, *f5;
	struct journal_scan_res res;
	struct journal *j;
	struct seen s = { .n = 0 };
	int fd;

	mkdir(dir, 0700);
	is_int(journal_open(dir, 1, &j, err, sizeof(err)), 0, "journal_open");
	is_int(append_s(j, 1, "one", "two"), 2 * 24 + 6,
	       "two records appended: their bytes");
	is_int(append_s(j, 5, "x", NULL), -EINVAL,
	       "a record that does not follow: -EINVAL");
	is_int(append_s(j, 3, "three", NULL), 24 + 5, "a third");
	is_int(journal_rotate(j, 4, err, sizeof(err)), 0, "rotated at 4");
	is_int(append_s(j, 4, "four", NULL), 28, "a record in the new file");
	is_int(journal_rotate(j, 5, err, sizeof(err)), 0, "rotated at 5");
	is_int(journal_rotate(j, 5, err, sizeof(err)), 0,
	       "an empty newest file is kept by a rotate");
	is_int(append_s(j, 5, "five", NULL), 28, "a record in the third");
	is_int(journal_scan(dir, 0, seen_one, &s, &res, err, sizeof(err)), 0,
	       "journal_scan");
	is_int(s.n, 5, "every record came back");
	ok(s.seq[0] == 1 && s.seq[4] == 5, "in seq order");
	is_str(s.text[1], "two", "with its bytes");
	is_str(s.text[3], "four", "across files");
	ok(res.first == 1 && res.last == 5 && res.files == 3 && !res.torn,
	   "first 1, last 5, 3 files, no torn tail");
	memset(&s, 0, sizeof(s));
	journal_scan(dir, 3, seen_one, &s, &res, err, sizeof(err));
	ok(s.n == 2 && s.seq[0] == 4, "after 3: only 4 and 5");
	ok(res.first == 4 && res.files == 2,
	   "files ending before after+1 are not read");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	is_int(journal_scan(dir, 0, seen_one, &s, &res, err, sizeof(err)), 7,
	       "fn's non-zero stops the scan and is returned");
	is_int(s.n, 2, "at that record");

	/* a torn tail: half a record at the end of the newest file */
	f5 = xasprintf("%s/journal.%016x", dir, 5);
	fd = open(f5, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "FFJ1\x10\0\0\0", 8) == 8, "a torn record");
	close(fd);
	memset(&s, 0, sizeof(s));
	is_int(journal_scan(dir, 0, seen_one, &s, &res, err, sizeof(err)), 0,
	       "a torn tail is not an error");
	ok(res.torn && res.last == 5 && s.n == 5,
	   "it is reported, and the records before it are all there");

	/* damage in an older file, with newer ones after it */
	f1 = xasprintf("%s/journal.%016x", dir, 1);
	fd = open(f1, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 24 + 3 + 24 + 1) == 1,
	   "a byte of record 2 flipped");
	close(fd);
	is_int(journal_scan(dir, 0, seen_one, &s, &res, err, sizeof(err)),
	       -FFFS_EBADFRAME, "damage followed by more: -FFFS_EBADFRAME");
	ok(strstr(err, f1) && strstr(err, "CRC32C"),
	   "the message names the file and the damage");
	diag(err);
	journal_close(j);
	unlink(f1);
	is_int(journal_scan(dir, 0, seen_one, &s, &res, err, sizeof(err)), 0,
	       "without the oldest file the rest still reads");
	ok(res.first == 4, "from the next file");
	free(f1);
	free(f5);
	free(dir);
}

/* ---- a journaled db ------------------------------------------------------ */

static struct meta_db *open_db(const char *name, unsigned fl, char *err,
			       size_t errlen, int *rc)
{
	char *dir = path(name);
	struct meta_db *db = NULL;

	*rc = meta_db_open(dir, 64ull << 20, fl, &db, err, errlen);
	free(dir);
	return db;
}

/* Commit i of the workload: puts, a delete now and then. */
static int commit_one(struct meta_db *db, int i)
{
	struct meta_txn *t;
	char k[32], v[64];
	int rc = meta_txn_begin(db, true, &t);

	if (rc)
		return rc;
	for (int n = 0; n < 3 && !rc; n++) {
		snprintf(k, sizeof(k), "k%05d", (i * 7 + n * 13) % 500);
		snprintf(v, sizeof(v), "value %d.%d", i, n);
		rc = meta_put(t, META_T_INODES, k, strlen(k), v, strlen(v));
	}
	if (!rc && i % 5 == 0) {
		snprintf(k, sizeof(k), "k%05d", (i * 3) % 500);
		rc = meta_del(t, META_T_INODES, k, strlen(k));
	}
	if (rc) {
		meta_txn_abort(t);
		return rc;
	}
	return meta_txn_commit(t, NULL);
}

/* In a child: the workload on the journaled db and on a NOSYNC
 * reference, a snapshot after snap_at commits (0: none), then _exit()
 * without closing either, as kill -9 would leave them. */
static bool run_child(const char *name, const char *ref, int from, int to,
		      int snap_at)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char err[512];
		int rc;
		struct meta_db *db = open_db(name, 0, err, sizeof(err), &rc);
		struct meta_db *rf =
			open_db(ref, META_DB_NOSYNC, err, sizeof(err), &rc);

		if (!db || !rf)
			_exit(2);
		for (int i = from; i < to; i++) {
			if (commit_one(db, i) || commit_one(rf, i))
				_exit(3);
			if (i == snap_at &&
			    meta_db_snapshot(db, err, sizeof(err)))
				_exit(4);
		}
		_exit(0);
	}
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	       WEXITSTATUS(st) == 0;
}

static bool same(struct meta_db *a, struct meta_db *b)
{
	uint8_t x[32], y[32];

	return a && b && !meta_db_digest(a, x) && !meta_db_digest(b, y) &&
	       !memcmp(x, y, 32) && meta_db_seq(a) == meta_db_seq(b);
}

/* data.mdb overwritten with garbage (what a torn LMDB may hold): its
 * first 16 MiB, where every page of these small dbs is (with
 * MDB_WRITEMAP the file is as large as the map). */
static void clobber(const char *name)
{
	char *p = xasprintf("%s/%s/data.mdb", tmpdir, name);
	off_t n = file_size(p) < (16 << 20) ? file_size(p) : (16 << 20);
	int fd = open(p, O_WRONLY);
	char junk[4096];

	memset(junk, 0xa5, sizeof(junk));
	for (off_t o = 0; fd >= 0 && o < n; o += (off_t)sizeof(junk))
		if (pwrite(fd, junk, sizeof(junk), o) < 0)
			break;
	if (fd >= 0)
		close(fd);
	free(p);
}

/* Half a record after the newest journal file's last one. */
static void tear(const char *name)
{
	char *dir = path(name), best[300] = "", *p;
	struct dirent *e;
	DIR *d = opendir(dir);
	int fd;

	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "journal.", 8) &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	if (d)
		closedir(d);
	p = xasprintf("%s/%s", dir, best);
	fd = open(p, O_RDWR);
	if (fd >= 0) {
		/* after the last record: where the zeros written ahead are */
		off_t off = 0;
		uint8_t h[24];

		while (pread(fd, h, sizeof(h), off) == (ssize_t)sizeof(h) &&
		       !memcmp(h, "FFJ1", 4))
			off += 24 + (h[4] | h[5] << 8 | h[6] << 16 |
				     (off_t)h[7] << 24);
		if (pwrite(fd, "FFJ1\x40\0\0\0\x01\x02", 10, off) != 10)
			diag("cannot tear the journal");
		close(fd);
	}
	free(p);
	free(dir);
}

/* The state file of a db closed cleanly rewritten as if the system went
 * down with it open (unsynced commits of this boot). */
static void state_unclean(const char *name)
{
	char *p = xasprintf("%s/%s/state", tmpdir, name);
	FILE *f = fopen(p, "w");

	if (f) {
		fputs("fffs-meta-state 1\nboot boot-a\nclean 0\n", f);
		fclose(f);
	}
	free(p);
}

static int count_journals(const char *name)
{
	char *dir = path(name);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += !strncmp(e->d_name, "journal.", 8);
	if (d)
		closedir(d);
	free(dir);
	return n;
}

static void test_kill_same_boot(void)
{
	struct meta_db *db, *rf;
	char err[512];
	int rc;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	ok(run_child("kb", "kb-ref", 0, 300, 150),
	   "a child commits 300 times and dies without closing");
	db = open_db("kb", 0, err, sizeof(err), &rc);
	rf = open_db("kb-ref", META_DB_NOSYNC, err, sizeof(err), &rc);
	ok(same(db, rf), "in the same boot it reopens with every commit");
	is_int(meta_db_seq(db), 300, "at seq 300");
	meta_db_close(db);
	meta_db_close(rf);
}

static void test_power_loss(void)
{
	struct meta_db *db, *rf;
	char err[512] = "";
	int rc;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	ok(run_child("pl", "pl-ref", 0, 400, 120),
	   "a child commits 400 times, a snapshot after 121, and dies");
	clobber("pl");
	tear("pl");
	setenv("FFFS_TEST_BOOT_ID", "boot-b", 1);
	db = open_db("pl", 0, err, sizeof(err), &rc);
	is_int(rc, 0, "another boot, data.mdb garbage, a torn record: opens");
	if (rc)
		diag(err);
	rf = open_db("pl-ref", META_DB_NOSYNC, err, sizeof(err), &rc);
	ok(same(db, rf), "rebuilt from the snapshot and the journal: the same "
			 "contents as the reference");
	is_int(meta_db_seq(db), 400, "at seq 400");
	ok(db && !commit_one(db, 400) && !commit_one(rf, 400),
	   "and it takes commits");
	meta_db_close(db);
	meta_db_close(rf);

	/* closed cleanly: another boot trusts data.mdb, nothing replayed */
	setenv("FFFS_TEST_BOOT_ID", "boot-c", 1);
	db = open_db("pl", 0, err, sizeof(err), &rc);
	rf = open_db("pl-ref", META_DB_NOSYNC, err, sizeof(err), &rc);
	ok(same(db, rf), "after a clean close, another boot opens it as is");
	meta_db_close(db);
	meta_db_close(rf);

	/* a second loss right after the recovery */
	setenv("FFFS_TEST_BOOT_ID", "boot-c", 1);
	ok(run_child("pl", "pl-ref", 401, 450, 0), "50 more commits, killed");
	clobber("pl");
	setenv("FFFS_TEST_BOOT_ID", "boot-d", 1);
	db = open_db("pl", 0, err, sizeof(err), &rc);
	rf = open_db("pl-ref", META_DB_NOSYNC, err, sizeof(err), &rc);
	ok(same(db, rf), "a second power loss: rebuilt again");
	meta_db_close(db);
	meta_db_close(rf);
}

static void test_missing(void)
{
	char err[512] = "", *dir = path("ms"), *p;
	struct meta_db *db;
	DIR *d;
	struct dirent *e;
	int rc;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	ok(run_child("ms", "ms-ref", 0, 100, 10), "100 commits, killed");
	/* the journal after the snapshot is gone */
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (!strncmp(e->d_name, "journal.", 8)) {
			p = xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
	if (d)
		closedir(d);
	clobber("ms");
	setenv("FFFS_TEST_BOOT_ID", "boot-b", 1);
	db = open_db("ms", 0, err, sizeof(err), &rc);
	ok(!db && rc < 0, "without its journal a torn db does not open");
	ok(strstr(err, dir) && strstr(err, "journal"),
	   "the message names the db and the journal");
	diag(err);
	free(dir);
}

static void test_snapshot_thread(void)
{
	struct meta_db *db;
	char err[512];
	int rc, n = 0;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	setenv("FFFS_TEST_SNAPSHOT_BYTES", "20000", 1);
	db = open_db("st", 0, err, sizeof(err), &rc);
	ok(db != NULL, "a db that snapshots every 20000 journal bytes");
	for (int i = 0; db && i < 2000 && !rc; i++)
		rc = commit_one(db, i);
	is_int(rc, 0, "2000 commits");
	/* the thread removes the journal before each snapshot */
	for (int tries = 0; tries < 200; tries++) {
		n = count_journals("st");
		if (n <= 2)
			break;
		usleep(10000);
	}
	ok(n >= 1 && n <= 2, "old journal files are removed");
	meta_db_close(db);
	unsetenv("FFFS_TEST_SNAPSHOT_BYTES");
	/* each open starts a file: many restarts end in a snapshot too */
	for (int i = 0; i < 40; i++) {
		db = open_db("st", 0, err, sizeof(err), &rc);
		if (!db || commit_one(db, 3000 + i))
			break;
		meta_db_close(db);
		db = NULL;
		n = count_journals("st");
		if (n > 17)
			break;
	}
	meta_db_close(db);
	ok(n >= 1 && n <= 17, "40 reopens leave at most 17 journal files");
	clobber("st");
	setenv("FFFS_TEST_BOOT_ID", "boot-z", 1);
	/* closed cleanly: opens as is even with another boot; the garbage
	 * then shows as an LMDB error, not as a silent recovery */
	db = open_db("st", 0, err, sizeof(err), &rc);
	ok(!db, "a clean close means data.mdb is trusted: garbage is refused");
	meta_db_close(db);
}

struct durable {
	pthread_mutex_t mu;
	uint64_t last, calls;
	bool backwards, failed;
};

static void durable_one(void *arg, uint64_t seq, int rc)
{
	struct durable *d = arg;

	pthread_mutex_lock(&d->mu);
	d->backwards |= seq <= d->last;
	d->failed |= rc != 0;
	d->last = seq;
	d->calls++;
	pthread_mutex_unlock(&d->mu);
}

static uint64_t durable_last(struct durable *d)
{
	uint64_t v;

	pthread_mutex_lock(&d->mu);
	v = d->last;
	pthread_mutex_unlock(&d->mu);
	return v;
}

static void test_async(void)
{
	struct durable d = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct meta_db *db, *rf;
	char err[512];
	int rc = 0;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	db = open_db("as", 0, err, sizeof(err), &rc);
	ok(db && !meta_db_async(db, durable_one, &d), "meta_db_async");
	for (int i = 0; db && i < 500 && !rc; i++)
		rc = commit_one(db, i);
	is_int(rc, 0, "500 commits return");
	for (int tries = 0; tries < 500 && durable_last(&d) < 500; tries++)
		usleep(10000);
	is_int(durable_last(&d), 500, "durable() reaches the last seq");
	ok(!d.backwards && !d.failed, "its seqs only grow, rc 0");
	ok(d.calls <= 500, "one call may cover several commits");
	printf("# %llu calls for 500 commits\n", (unsigned long long)d.calls);
	for (int i = 500; db && i < 700 && !rc; i++)
		rc = commit_one(db, i);
	meta_db_close(db);
	is_int(durable_last(&d), 700, "close reports the last ones first");

	/* what was reported durable survives a power loss */
	rf = open_db("as-ref", META_DB_NOSYNC, err, sizeof(err), &rc);
	for (int i = 0; rf && i < 700 && !rc; i++)
		rc = commit_one(rf, i);
	clobber("as");
	setenv("FFFS_TEST_BOOT_ID", "boot-b", 1);
	state_unclean("as");
	db = open_db("as", 0, err, sizeof(err), &rc);
	ok(same(db, rf), "rebuilt after a power loss: every commit is there");
	meta_db_close(db);
	meta_db_close(rf);

	/* a db without a journal says so from the committing thread */
	memset(&d.last, 0, sizeof(d.last));
	db = open_db("as-sync", META_DB_SYNCED, err, sizeof(err), &rc);
	ok(db && !meta_db_async(db, durable_one, &d), "async on a synced db");
	ok(db && !commit_one(db, 0) && durable_last(&d) == 1,
	   "durable() is called before the commit returns");
	meta_db_close(db);
}

/* durable() of a replica that applies write sets: the seq it names is in
 * LMDB already (the record went to the journal ahead of the commit). */
struct apply_durable {
	struct durable d;
	struct meta_db *db;
	bool ahead_of_lmdb;
};

static void apply_durable_one(void *arg, uint64_t seq, int rc)
{
	struct apply_durable *a = arg;

	a->ahead_of_lmdb |= seq > meta_db_seq(a->db);
	durable_one(&a->d, seq, rc);
}

/* Write sets 1..n of the workload, made on a NOSYNC db. */
static struct meta_ws *make_write_sets(const char *name, int n)
{
	struct meta_ws *ws = xcalloc((size_t)n, sizeof(*ws));
	char err[512];
	int rc;
	struct meta_db *src =
		open_db(name, META_DB_NOSYNC, err, sizeof(err), &rc);

	for (int i = 0; src && i < n; i++) {
		struct meta_txn *t;
		char k[32], v[64];

		rc = meta_txn_begin(src, true, &t);
		/* every 10th is large: LMDB takes longer to apply it than
		 * the journal to sync it */
		for (int p = 0; !rc && p < (i % 10 ? 1 : 3000); p++) {
			snprintf(k, sizeof(k), "k%05d", (i * 7 + p) % 4000);
			snprintf(v, sizeof(v), "applied %d.%d", i, p);
			rc = meta_put(t, META_T_INODES, k, strlen(k), v,
				      strlen(v));
		}
		if (!rc)
			rc = meta_txn_commit(t, &ws[i]);
		if (rc)
			break;
	}
	meta_db_close(src);
	return ws;
}

/* Apply write sets [from, to) in groups of up to 3, as a replica does. */
static int apply_range(struct meta_db *db, const struct meta_ws *ws, int from,
		       int to)
{
	int rc = 0;

	for (int i = from; i < to && !rc;) {
		struct iovec v[3];
		int k = 0;

		for (; k < 1 + i % 3 && i + k < to; k++)
			v[k] = (struct iovec){ ws[i + k].buf, ws[i + k].len };
		rc = meta_db_apply_many(db, v, k);
		i += k;
	}
	return rc;
}

static void test_async_apply(void)
{
	struct apply_durable a = { .d.mu = PTHREAD_MUTEX_INITIALIZER };
	struct meta_ws *ws = make_write_sets("aa-src", 600);
	struct meta_db *db, *src;
	char err[512];
	pid_t pid;
	int rc = 0, st;

	setenv("FFFS_TEST_BOOT_ID", "boot-a", 1);
	db = open_db("aa", 0, err, sizeof(err), &rc);
	a.db = db;
	ok(db && !meta_db_async(db, apply_durable_one, &a),
	   "a replica's db, async");
	rc = db ? apply_range(db, ws, 0, 300) : -1;
	is_int(rc, 0, "300 write sets applied, up to 3 per commit");
	for (int tries = 0; tries < 500 && durable_last(&a.d) < 300; tries++)
		usleep(10000);
	is_int(durable_last(&a.d), 300, "durable() reaches the last seq");
	ok(!a.ahead_of_lmdb, "and never names a seq LMDB does not have yet");
	ok(!a.d.backwards && !a.d.failed, "its seqs only grow, rc 0");
	meta_db_close(db);

	/* the rest in a child that dies without closing, a snapshot among
	 * them; then a power loss */
	pid = fork();
	if (pid == 0) {
		struct durable d = { .mu = PTHREAD_MUTEX_INITIALIZER };
		struct meta_db *c = open_db("aa", 0, err, sizeof(err), &rc);

		if (!c || meta_db_async(c, durable_one, &d) ||
		    apply_range(c, ws, 300, 450) ||
		    meta_db_snapshot(c, err, sizeof(err)) ||
		    apply_range(c, ws, 450, 600))
			_exit(2);
		for (int tries = 0; tries < 500 && durable_last(&d) < 600;
		     tries++)
			usleep(10000);
		_exit(durable_last(&d) == 600 ? 0 : 3);
	}
	ok(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		   WEXITSTATUS(st) == 0,
	   "a child applies 300 more with a snapshot among them, all durable, "
	   "and dies");
	clobber("aa");
	setenv("FFFS_TEST_BOOT_ID", "boot-b", 1);
	state_unclean("aa");
	db = open_db("aa", 0, err, sizeof(err), &rc);
	src = open_db("aa-src", META_DB_NOSYNC, err, sizeof(err), &rc);
	ok(same(db, src), "rebuilt after a power loss: the replica equals "
			  "the db its write sets came from");
	meta_db_close(db);
	meta_db_close(src);
	for (int i = 0; i < 600; i++)
		meta_ws_release(&ws[i]);
	free(ws);
}

/* A replica catching up applies many write sets in one transaction: the
 * data file is allocated ahead by as much as they can add, not by the
 * fixed amount an ordinary transaction gets. */
static void test_apply_reserve(void)
{
	struct meta_ws ws[4] = { { 0 } };
	struct iovec v[4];
	struct meta_db *src = NULL, *db = NULL;
	char err[512], *dir = path("ar"), *sdir = path("ar-src"), *data;
	struct stat st;
	int rc = meta_db_open(sdir, 1ull << 30, META_DB_NOSYNC, &src, err,
			      sizeof(err));

	for (int i = 0; !rc && i < 4; i++) {
		struct meta_txn *t;

		rc = meta_txn_begin(src, true, &t);
		for (int p = 0; !rc && p < 3000; p++) {
			char k[32];

			snprintf(k, sizeof(k), "r%d.%05d", i, p);
			rc = meta_put(t, META_T_INODES, k, strlen(k), "v", 1);
		}
		if (!rc)
			rc = meta_txn_commit(t, &ws[i]);
		v[i] = (struct iovec){ ws[i].buf, ws[i].len };
	}
	if (!rc)
		rc = meta_db_open(dir, 1ull << 30, 0, &db, err, sizeof(err));
	is_int(rc ? rc : meta_db_apply_many(db, v, 4), 0,
	       "4 write sets of 3000 puts in one commit");
	data = xasprintf("%s/data.mdb", dir);
	ok(!stat(data, &st) &&
		   (uint64_t)st.st_blocks * 512 >= 12000ull * 3 * 4096,
	   "data.mdb was allocated for 3 pages a put before it began");
	printf("# %llu MiB allocated\n",
	       (unsigned long long)st.st_blocks * 512 >> 20);
	meta_db_close(db);
	meta_db_close(src);
	for (int i = 0; i < 4; i++)
		meta_ws_release(&ws[i]);
	free(data);
	free(dir);
	free(sdir);
}

/* In a child, in its own mount namespace (the mount goes with it): a
 * db on a 64 MiB tmpfs that another file fills. Bit i of the exit status
 * is step i failing. */
static int full_disk_child(const char *dir)
{
	char err[512], *db_dir = xasprintf("%s/db", dir);
	char *filler = xasprintf("%s/filler", dir);
	static char big[100000];
	struct meta_db *db = NULL;
	struct meta_txn *t;
	const void *v;
	size_t vl;
	int rc = 0, bad = 0, n = 0, fd;

	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64m"))
		return 0x80;
	if (meta_db_open(db_dir, 16 << 20, 0, &db, err, sizeof(err)))
		return 0x40;
	fd = -1;
	for (; n < 1000 && !rc; n++) {
		if (n == 10) { /* the disk fills up */
			fd = open(filler, O_WRONLY | O_CREAT, 0600);
			while (fd >= 0 && write(fd, big, sizeof(big)) > 0)
				;
		}
		char k[8];

		snprintf(k, sizeof(k), "k%d", n % 4);
		memset(big, 'a' + n % 26, sizeof(big));
		rc = meta_txn_begin(db, true, &t);
		if (!rc)
			rc = meta_put(t, META_T_INODES, k, strlen(k), big,
				      sizeof(big));
		if (!rc)
			rc = meta_txn_commit(t, NULL);
	}
	bad |= rc != -ENOSPC; /* 1: the full disk is -ENOSPC */
	bad |= (meta_db_seq(db) != (uint64_t)(n - 1)) << 1; /* 2: before */
	rc = meta_txn_begin(db, false, &t);
	bad |= (rc || meta_get(t, META_T_INODES, "k0", 2, &v, &vl) ||
		vl != sizeof(big))
	       << 2; /* 4: it still reads */
	if (!rc)
		meta_txn_abort(t);
	/* space again: it takes writes again */
	if (fd >= 0)
		close(fd);
	unlink(filler);
	rc = meta_txn_begin(db, true, &t);
	if (!rc)
		rc = meta_put(t, META_T_INODES, "after", 5, "x", 1);
	if (!rc)
		rc = meta_txn_commit(t, NULL);
	bad |= (rc != 0) << 3; /* 8: a write after space came back */
	meta_db_close(db);
	db = NULL;
	rc = meta_db_open(db_dir, 16 << 20, 0, &db, err, sizeof(err));
	bad |= (rc || meta_db_seq(db) != (uint64_t)n) << 4; /* 16: reopens */
	meta_db_close(db);
	printf("# %d commits, then -ENOSPC\n", n - 1);
	fflush(stdout);
	free(db_dir);
	free(filler);
	return bad;
}

static void test_full_disk(void)
{
	char *dir = path("fd");
	pid_t pid;
	int st = -1;

	mkdir(dir, 0700);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(full_disk_child(dir));
	if (pid > 0)
		waitpid(pid, &st, 0);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 0xff;
	if (st == 0x80) {
		ok(1, "# skip: cannot mount a tmpfs here");
		free(dir);
		return;
	}
	is_int(st & 0x40, 0, "a db on a small tmpfs");
	ok(!(st & 1), "once another file fills the disk, a write is -ENOSPC");
	ok(!(st & 2), "  ... and the commits before it are all there");
	ok(!(st & 4), "  ... it still reads");
	ok(!(st & 8), "  ... with space again it takes writes again");
	ok(!(st & 16), "  ... and reopens with every commit");
	free(dir);
}

int main(void)
{
	log_level_cur = getenv("T_LOG") ? LOGL_INFO : LOGL_ERROR - 1;
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_journal();
	test_kill_same_boot();
	test_power_loss();
	test_missing();
	test_snapshot_thread();
	test_async();
	test_async_apply();
	test_apply_reserve();
	test_full_disk();
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
