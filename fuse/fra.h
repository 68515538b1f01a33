/* fuse/fra.h - read-ahead of a handle that reads a file in order, where
 * the kernel does none (O_DIRECT opens): the ranges after each read are
 * fetched from the chains while the application works on what it got, so
 * that a reader of one request at a time still keeps the chains busy.
 *
 *	fra_init(pick);                  // how to reach a loop core
 *	ra = fra_new(ino, &layout);      // an O_DIRECT open for reading
 *	ep = fra_epoch();                // before the read drains writes
 *	rc = fra_read(ra, &io, ep);      // io as for fdata_call(); io.buf is
 *	                                 // malloc'ed and may be swapped
 *	fra_free(ra);                    // release (waits for its fetches)
 *	fra_wrote();                     // before and after any write of
 *	                                 // the mount (write, truncate)
 *
 * Detection: a read of at least FRA_MIN bytes that starts where the
 * handle's previous read ended is sequential. After it, the next ranges
 * of its length are fetched, FRA_BYTES ahead (at least one, at most
 * FRA_DEPTH), within io.size (the file's length as the reader knows it).
 * A read that is exactly the next range fetched takes its bytes, waiting
 * for the fetch if it is still under way; any other read drops what was
 * fetched and reads the chains itself. A fetch that failed is not used:
 * the read goes to the chains and reports its own result.
 *
 * Consistency is close-to-open, as the kernel's readahead of buffered
 * reads gives: fetched bytes are as fresh as the moment the fetch went
 * out, and a new open starts with nothing fetched. A mount reads its own
 * writes: every write or truncation of the mount moves the epoch (before
 * it starts and once it ended), and bytes fetched in another epoch than
 * the read's are dropped. Not used with the direct_io mount option, whose
 * reads are linearizable.
 *
 * Metrics: fffs_fuse_readahead_bytes_total{outcome="fetched"|"used"|
 * "dropped"}.
 *
 * All functions are for FUSE worker threads (they block); one handle's
 * reads may come from several threads at once (a mutex per handle).
 */
#ifndef FUSE_FRA_H
#define FUSE_FRA_H

#include "chain/craq_cli.h"
#include "fuse/fdata.h"

#define FRA_MIN	  (128u << 10)
#define FRA_BYTES (4u << 20)
#define FRA_DEPTH 4

struct fra;

void fra_init(struct craq_client *(*pick)(void));
struct fra *fra_new(uint64_t ino, const struct ns_layout *l);
void fra_free(struct fra *ra);

uint64_t fra_epoch(void);
void fra_wrote(void);

/* Read io->length bytes at io->offset into io->buf (or hand over a
 * fetched buffer in its place, freeing the old one); 0 or an error, as
 * fdata_call(). ep: fra_epoch() from before the caller drained its
 * mount's writes to the file. */
int fra_read(struct fra *ra, struct fdata_io *io, uint64_t ep);

#endif /* FUSE_FRA_H */
