/* meta/journal.h - the write-set journal of a namespace db: what makes a
 * commit durable without a synced LMDB commit.
 *
 * A journaled namespace db (meta/db.h) commits to LMDB without syncing
 * and appends each commit's write sets here, synced: one sequential write
 * and one fdatasync() per commit, instead of the scattered page writes
 * and the sync of a synced LMDB commit. After a power loss the db is
 * rebuilt from its last snapshot plus the records after it.
 *
 *	journal_open(dir, next_seq, &j, err, errlen); // a new file
 *	journal_append(j, ws, n, first_seq);          // synced when >= 0
 *	journal_write(j, ws, n, first_seq); journal_sync(j);  // the same
 *	journal_reserve(j, bytes);  // a full disk shows here, not below
 *	journal_rotate(j, next_seq, err, errlen);     // a new file again
 *	journal_prune(j);      // remove every file but the newest
 *	journal_close(j);
 *	journal_scan(dir, after, fn, arg, &res, err, errlen); // replay
 *
 * Files: dir/journal.<16 lower-case hex digits>, the seq the file's first
 * record has (or would have: a new file is empty). Only the newest file is
 * appended to; journal_open() and journal_rotate() create a new one and
 * sync dir, so that it exists after a power loss (a file of that name is
 * emptied: it can only hold a torn record, or the caller would have
 * replayed it and asked for a later seq). Records
 * are written in place after the last one, never changed. A record
 * (little-endian): u32 magic 0x314a4646 ("FFJ1"), u32 payload length
 * (1..JOURNAL_REC_MAX), u64 seq, u32 CRC32C of the length, the seq and
 * the payload, u32 0, then the payload (a write set: its bytes are the
 * caller's business).
 *
 * journal_write() writes the records of seqs first_seq, first_seq+1, ...
 * for ws[0..n-1] with pwritev() (64 records per call) and returns the
 * bytes it wrote; journal_sync() fdatasync()s the file, after which every
 * record written is durable; journal_append() is both. A failed write or
 * sync is -errno, and the journal is broken: every later write, sync or
 * rotate is -EIO (what was written may be partly there: the caller must
 * not count on the journal any more). first_seq must follow the last
 * record written (-EINVAL otherwise, nothing written). journal_sync() may
 * run in another thread than writes to the same file (it only syncs the
 * file descriptor), not at the same time as journal_rotate(), which first
 * syncs what the old file has.
 *
 * journal_scan() reads the files of dir in seq order and checks that the
 * records follow each other (a file followed by one that starts at or
 * before after+1 holds nothing it needs: it is not read, and not counted): each
 *file's first record has the seq in its name, every later one the next seq, and
 *a file starts right after the last record of the one before it. It calls
 *fn(arg, seq, payload, len) for each record with seq > after (the pointer is
 *valid during the call); fn returning non-zero stops the scan and is returned.
 *A damaged or partial record at the end of the newest file is a torn tail (a
 *write the sync never finished): res->torn, and the scan ends there. Anything
 *else out of order (a damaged record with more after it, a file that does not
 *start where the one before ended) is -FFFS_EBADFRAME with err naming the file
 *and the offset. res->first is the oldest file's seq (0 when there is no file),
 *res->last the last good record's seq (res->first - 1 when there is none; 0
 *with no file), res->files the number of files (of those read).
 *
 * A struct journal belongs to one thread at a time (meta/db.c holds a
 * mutex around it).
 */
#ifndef META_JOURNAL_H
#define META_JOURNAL_H

#include <sys/uio.h>

#include "fffs.h"

#define JOURNAL_REC_MAX (256u << 20)

struct journal;

struct journal_scan_res {
	uint64_t first, last;
	unsigned files;
	bool torn;
};

int journal_open(const char *dir, uint64_t next_seq, struct journal **out,
		 char *err, size_t errlen);
int64_t journal_append(struct journal *j, const struct iovec *ws, int n,
		       uint64_t first_seq);
int64_t journal_write(struct journal *j, const struct iovec *ws, int n,
		      uint64_t first_seq);
int journal_sync(struct journal *j);
/* The seq the next record must have. */
uint64_t journal_next(const struct journal *j);
/* Write the newest file with zeros at least ahead bytes past its last
 * record (half as much again when it grows and the disk has it), so that
 * the records written next cannot meet a full disk, and their sync has
 * only their blocks to write: 0, -ENOSPC (logged: records still go
 * where there is room), -EIO when broken. Where the file system cannot
 * allocate ahead it is 0 (appends allocate as they go). A header of
 * zeros ends a file's records for journal_scan(). */
int journal_reserve(struct journal *j, uint64_t ahead);
int journal_rotate(struct journal *j, uint64_t next_seq, char *err,
		   size_t errlen);
/* Remove every journal file of dir but the one appended to; 0 or the
 * first -errno (logged, naming the file; the rest are still tried). */
int journal_prune(struct journal *j);
void journal_close(struct journal *j);

int journal_scan(const char *dir, uint64_t after,
		 int (*fn)(void *arg, uint64_t seq, const void *p, size_t len),
		 void *arg, struct journal_scan_res *res, char *err,
		 size_t errlen);

#endif /* META_JOURNAL_H */
