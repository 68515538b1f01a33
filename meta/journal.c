/* meta/journal.c - the write-set journal: appending synced records to the
 * newest of a directory's journal files, and reading them all back. */
#define LOG_SUBSYS "journal"
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "base/dirs.h"
#include "fffs.h"
#include "meta/journal.h"
#include "net/pack.h"

#define REC_MAGIC   0x314a4646u
#define REC_HDR_LEN 24
#define NAME_PREFIX "journal."
#define NAME_DIGITS 16
#define IOV_BATCH   64 /* records per pwritev() (two iovecs each) */

struct journal {
	char *dir;
	char *path; /* the file appended to */
	int fd;
	uint64_t start;	     /* its first seq */
	uint64_t next;	     /* the seq of the next record */
	uint64_t off;	     /* where the next record goes */
	_Atomic bool broken; /* set by a failed write or sync (two threads) */
	bool unsynced;	     /* written since the last sync */
	uint64_t alloc; /* the file is allocated this far (journal_reserve) */
};

static char *file_of(const char *dir, uint64_t seq)
{
	return xasprintf("%s/" NAME_PREFIX "%016" PRIx64, dir, seq);
}

/* The seq in a journal file's name, or false: not one. */
static bool name_seq(const char *name, uint64_t *seq)
{
	size_t pl = strlen(NAME_PREFIX);
	char *end;

	if (strncmp(name, NAME_PREFIX, pl) || strlen(name) != pl + NAME_DIGITS)
		return false;
	for (int i = 0; i < NAME_DIGITS; i++) {
		char c = name[pl + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	*seq = strtoull(name + pl, &end, 16);
	return !*end;
}

static uint32_t rec_crc(uint32_t len, uint64_t seq, const void *p)
{
	uint8_t b[12];
	struct pack pk;

	pack_init(&pk, b, sizeof(b));
	pack_u32(&pk, len);
	pack_u64(&pk, seq);
	return crc32c(crc32c(0, b, sizeof(b)), p, len);
}

/* ---- writing ------------------------------------------------------------- */

static int file_create(struct journal *j, uint64_t seq, char *err,
		       size_t errlen)
{
	char *path = file_of(j->dir, seq);
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create journal file '%s': %s",
			 path, fffs_strerror(rc));
		free(path);
		return rc;
	}
	rc = dir_sync(j->dir);
	if (rc) {
		snprintf(err, errlen,
			 "cannot sync '%s' after creating '%s': %s", j->dir,
			 path, fffs_strerror(rc));
		close(fd);
		unlink(path);
		free(path);
		return rc;
	}
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	j->fd = fd;
	j->path = path;
	j->start = j->next = seq;
	j->off = 0;
	j->alloc = 0;
	return 0;
}

/* The file written with zeros up to end: records then overwrite blocks
 * that are already there, so that a sync writes their data and nothing
 * else (no size, no extents). Writeback of the zeros starts at once, so
 * that the next sync does not wait for all of them. */
static int alloc_to(struct journal *j, uint64_t end)
{
	static const uint8_t zeros[1 << 16];
	uint64_t at = j->alloc;

	if (fallocate(j->fd, 0, (off_t)at, (off_t)(end - at)))
		return -errno; /* a full disk shows here */
	while (at < end) {
		size_t n = end - at < sizeof(zeros) ? end - at : sizeof(zeros);
		ssize_t w = pwrite(j->fd, zeros, n, (off_t)at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w ? -errno : -EIO;
		at += (uint64_t)w;
	}
	sync_file_range(j->fd, (off_t)j->alloc, (off_t)(end - j->alloc),
			SYNC_FILE_RANGE_WRITE);
	j->alloc = end;
	return 0;
}

int journal_reserve(struct journal *j, uint64_t ahead)
{
	uint64_t end = j->off + ahead;
	int rc;

	if (j->broken)
		return -EIO;
	if (end <= j->alloc)
		return 0;
	/* half as much again, so not again at the next record; just ahead
	 * when the disk has no more */
	rc = alloc_to(j, end + ahead / 2);
	if (rc == -ENOSPC)
		rc = alloc_to(j, end);
	if (rc == -EOPNOTSUPP) { /* appends allocate as they go */
		j->alloc = UINT64_MAX;
		return 0;
	}
	if (rc)
		log_warn("cannot allocate %llu bytes for journal file '%s': %s",
			 (unsigned long long)(end - j->alloc), j->path,
			 fffs_strerror(rc));
	return rc;
}

int journal_open(const char *dir, uint64_t next_seq, struct journal **out,
		 char *err, size_t errlen)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	int rc;

	j->dir = xstrdup(dir);
	j->fd = -1;
	rc = file_create(j, next_seq, err, errlen);
	if (rc) {
		free(j->dir);
		free(j);
		j = NULL;
	}
	*out = j;
	return rc;
}

int journal_rotate(struct journal *j, uint64_t next_seq, char *err,
		   size_t errlen)
{
	if (j->broken) {
		snprintf(err, errlen, "journal file '%s' is broken", j->path);
		return -EIO;
	}
	if (next_seq != j->next) {
		snprintf(err, errlen,
			 "journal '%s': a new file at %" PRIu64
			 ", expected %" PRIu64,
			 j->dir, next_seq, j->next);
		return -EINVAL;
	}
	if (j->off == 0)
		return 0; /* the newest file is empty: it will do */
	/* what the old file has must be durable before later records are
	 * synced in the new one alone */
	if (j->unsynced && journal_sync(j)) {
		snprintf(err, errlen, "cannot sync journal file '%s'", j->path);
		return -EIO;
	}
	j->unsynced = false;
	return file_create(j, next_seq, err, errlen);
}

static int write_all(struct journal *j, struct iovec *v, int n, size_t total)
{
	size_t done = 0;

	while (done < total) {
		ssize_t w = pwritev(j->fd, v, n, (off_t)(j->off + done));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w ? -errno : -EIO;
		done += (size_t)w;
		/* skip what went out */
		while (n && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n) {
			v->iov_base = (uint8_t *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int64_t journal_write(struct journal *j, const struct iovec *ws, int n,
		      uint64_t first_seq)
{
	uint8_t hdr[IOV_BATCH][REC_HDR_LEN];
	struct iovec v[2 * IOV_BATCH];
	int64_t total = 0;
	int rc = 0;

	if (j->broken)
		return -EIO;
	if (first_seq != j->next || n < 1)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!ws[i].iov_len || ws[i].iov_len > JOURNAL_REC_MAX)
			return -EINVAL;
	for (int i = 0; i < n && !rc;) {
		int k = 0;
		size_t bytes = 0;

		for (; k < IOV_BATCH && i + k < n; k++) {
			const struct iovec *w = &ws[i + k];
			uint64_t seq = first_seq + (uint64_t)(i + k);
			struct pack pk;

			pack_init(&pk, hdr[k], REC_HDR_LEN);
			pack_u32(&pk, REC_MAGIC);
			pack_u32(&pk, (uint32_t)w->iov_len);
			pack_u64(&pk, seq);
			pack_u32(&pk, rec_crc((uint32_t)w->iov_len, seq,
					      w->iov_base));
			pack_u32(&pk, 0);
			FFFS_ASSERT(!pk.err && pack_len(&pk) == REC_HDR_LEN);
			v[2 * k] = (struct iovec){ hdr[k], REC_HDR_LEN };
			v[2 * k + 1] = *w;
			bytes += REC_HDR_LEN + w->iov_len;
		}
		rc = write_all(j, v, 2 * k, bytes);
		if (!rc) {
			j->off += bytes;
			total += (int64_t)bytes;
			i += k;
		}
	}
	if (rc) {
		log_error("cannot write to journal file '%s': %s", j->path,
			  fffs_strerror(rc));
		j->broken = true;
		return rc;
	}
	j->unsynced = true;
	j->next = first_seq + (uint64_t)n;
	return total;
}

uint64_t journal_next(const struct journal *j)
{
	return j->next;
}

int journal_sync(struct journal *j)
{
	if (j->broken)
		return -EIO;
	if (fdatasync(j->fd)) {
		int rc = -errno;

		log_error("cannot sync journal file '%s': %s", j->path,
			  fffs_strerror(rc));
		j->broken = true;
		return rc;
	}
	return 0;
}

int64_t journal_append(struct journal *j, const struct iovec *ws, int n,
		       uint64_t first_seq)
{
	int64_t w = journal_write(j, ws, n, first_seq);
	int rc = w < 0 ? 0 : journal_sync(j);

	if (!rc)
		j->unsynced = false;
	return rc ? rc : w;
}

/* ---- listing and pruning ------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The seqs of dir's journal files, sorted. */
static int list_files(const char *dir, uint64_t **seqs, unsigned *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned cap = 0;

	*seqs = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		uint64_t s;

		if (!name_seq(e->d_name, &s))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			*seqs = xrealloc(*seqs, cap * sizeof(**seqs));
		}
		(*seqs)[(*n)++] = s;
	}
	closedir(d);
	if (*n)
		qsort(*seqs, *n, sizeof(**seqs), cmp_u64);
	return 0;
}

int journal_prune(struct journal *j)
{
	uint64_t *seqs;
	unsigned n;
	int rc = list_files(j->dir, &seqs, &n), first = rc;

	for (unsigned i = 0; !rc && i < n; i++) {
		char *p;

		if (seqs[i] == j->start)
			continue;
		p = file_of(j->dir, seqs[i]);
		if (unlink(p) && errno != ENOENT) {
			log_error("cannot remove journal file '%s': %s", p,
				  strerror(errno));
			if (!first)
				first = -errno;
		}
		free(p);
	}
	if (rc)
		log_error("cannot list the journal files of '%s': %s", j->dir,
			  fffs_strerror(rc));
	free(seqs);
	return first;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j->dir);
	free(j);
}

/* ---- reading back -------------------------------------------------------- */

struct scan {
	int (*fn)(void *arg, uint64_t seq, const void *p, size_t len);
	void *arg;
	uint64_t after;
	uint8_t *buf;
	size_t cap;
	char *err;
	size_t errlen;
	int fnrc;
};

/* Read exactly n bytes at off: 0, 1 for a short read (the end), or
 * -errno. */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (uint8_t *)p + got, n - got,
				  (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 1;
		got += (size_t)r;
	}
	return 0;
}

/* One record at *off (expected seq *next): 0 (stepped over it), 1 (no
 * valid record here: *why says what), 2 (fn stopped the scan: sc->fnrc),
 * 3 (a header of zeros: the file's end, written ahead), or -errno (cannot
 * read). */
static int scan_one(struct scan *sc, int fd, uint64_t *off, uint64_t *next,
		    const char **why)
{
	uint8_t hdr[REC_HDR_LEN];
	struct unpack up;
	uint32_t magic, len, crc;
	uint64_t seq;
	int rc = read_at(fd, hdr, sizeof(hdr), *off);

	*why = "a partial record header";
	if (rc)
		return rc;
	unpack_init(&up, hdr, sizeof(hdr));
	magic = unpack_u32(&up);
	len = unpack_u32(&up);
	seq = unpack_u64(&up);
	crc = unpack_u32(&up);
	if (!magic && !len && !seq && !crc)
		return 3; /* zeros written ahead: the end */
	*why = "a damaged record header";
	if (magic != REC_MAGIC || !len || len > JOURNAL_REC_MAX)
		return 1;
	*why = "a record out of sequence";
	if (seq != *next)
		return 1;
	if (sc->cap < len) {
		sc->cap = len;
		sc->buf = xrealloc(sc->buf, sc->cap);
	}
	*why = "a partial record";
	rc = read_at(fd, sc->buf, len, *off + REC_HDR_LEN);
	if (rc)
		return rc;
	*why = "a record failing its CRC32C";
	if (rec_crc(len, seq, sc->buf) != crc)
		return 1;
	if (seq > sc->after) {
		sc->fnrc = sc->fn(sc->arg, seq, sc->buf, len);
		if (sc->fnrc)
			return 2;
	}
	*off += REC_HDR_LEN + len;
	(*next)++;
	return 0;
}

static int scan_file(struct scan *sc, const char *path, bool newest,
		     uint64_t *next, struct journal_scan_res *res)
{
	const char *why = "";
	uint64_t off = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fstat(fd, &st)) {
		rc = -errno;
		snprintf(sc->err, sc->errlen,
			 "cannot read journal file '%s': %s", path,
			 fffs_strerror(rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while (off < (uint64_t)st.st_size && !rc)
		rc = scan_one(sc, fd, &off, next, &why);
	if (rc == 3)
		rc = 0;
	close(fd);
	res->last = *next - 1;
	if (rc < 0)
		snprintf(sc->err, sc->errlen,
			 "cannot read journal file '%s' at offset %" PRIu64
			 ": %s",
			 path, off, fffs_strerror(rc));
	if (rc == 2)
		return sc->fnrc;
	if (rc == 1 && newest) {
		res->torn = true;
		return 0;
	}
	if (rc == 1) {
		snprintf(sc->err, sc->errlen,
			 "journal file '%s' is damaged at offset %" PRIu64
			 " (%s), and newer files follow it",
			 path, off, why);
		return -FFFS_EBADFRAME;
	}
	return rc;
}

int journal_scan(const char *dir, uint64_t after,
		 int (*fn)(void *arg, uint64_t seq, const void *p, size_t len),
		 void *arg, struct journal_scan_res *res, char *err,
		 size_t errlen)
{
	struct scan sc = { .fn = fn,
			   .arg = arg,
			   .after = after,
			   .err = err,
			   .errlen = errlen };
	uint64_t *seqs, next = 0;
	unsigned n, i0 = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = list_files(dir, &seqs, &n);
	if (rc) {
		snprintf(err, errlen,
			 "cannot list the journal files of '%s': %s", dir,
			 fffs_strerror(rc));
		return rc;
	}
	/* a file followed by one that starts by after+1 holds only records
	 * up to after: not read (its removal may not have reached the disk) */
	while (i0 + 1 < n && seqs[i0 + 1] <= after + 1)
		i0++;
	res->files = n - i0;
	if (n) {
		res->first = seqs[i0];
		res->last = seqs[i0] - 1;
		next = seqs[i0];
	}
	for (unsigned i = i0; i < n && !rc; i++) {
		char *path = file_of(dir, seqs[i]);

		if (seqs[i] != next) {
			snprintf(err, errlen,
				 "journal file '%s' should start at seq "
				 "%" PRIu64,
				 path, next);
			rc = -FFFS_EBADFRAME;
		} else {
			rc = scan_file(&sc, path, i + 1 == n, &next, res);
		}
		free(path);
	}
	free(seqs);
	free(sc.buf);
	return rc;
}
