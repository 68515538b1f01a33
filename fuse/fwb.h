/* fuse/fwb.h - write-behind for a mount: the writes of a file are gathered
 * into chunk-sized requests and sent while the application goes on.
 *
 *	fwb_init(pick);                        // how to reach a loop core
 *	w = fwb_get(ino, &layout);             // an open for writing
 *	rc = fwb_write(w, off, buf, len);      // copied; returns at once
 *	rc = fwb_drain(ino);                   // everything on the chains
 *	size = fwb_size(ino, size);            // what this mount wrote
 *	fwb_put(w);                            // the last close (drained)
 *
 * One struct fwb per inode open for writing in this mount, shared by its
 * handles. It holds one extent being filled (contiguous bytes within one
 * chunk); a write that does not continue it, or that reaches the chunk's
 * end, sends it (fuse/fdata.h on a loop core) and starts the next one. At
 * most FWB_WINDOW extents of an inode are in flight; a write waits for a
 * free slot. fwb_drain() sends the extent and waits for every send: flush
 * (close), fsync, reads, truncation and length reports call it first, so
 * a close that returned has put every byte on every serving replica. The
 * first error of a send is returned by the next fwb_write() or
 * fwb_drain() of the inode (as NFS reports write-behind errors), once.
 *
 * fwb_size() is the end of everything this mount wrote to ino (sent or
 * not), which attributes merge in; fwb_truncated() clamps it after a
 * truncation. All functions are for FUSE worker threads (they block),
 * never for loop threads.
 */
#ifndef FUSE_FWB_H
#define FUSE_FWB_H

#include "chain/craq_cli.h"
#include "meta/ns.h"

#define FWB_WINDOW 8

struct fwb;

/* pick(): a loop core's chain client (round robin); called per send. */
void fwb_init(struct craq_client *(*pick)(void));

struct fwb *fwb_get(uint64_t ino, const struct ns_layout *l);
void fwb_put(struct fwb *w);

int fwb_write(struct fwb *w, uint64_t off, const void *buf, size_t len);
/* Drain ino's writes (0 when it has no struct fwb). */
int fwb_drain(uint64_t ino);

uint64_t fwb_size(uint64_t ino, uint64_t size);
void fwb_truncated(uint64_t ino, uint64_t size);
/* The write sessions of the handles sharing w (for reports to meta that
 * come without a handle, like truncate(2)); fwb_session() gives one. */
void fwb_add_session(struct fwb *w, uint64_t session);
void fwb_drop_session(struct fwb *w, uint64_t session);
bool fwb_session(uint64_t ino, uint64_t *session);
/* A write sent around the write-behind (direct) ended at end. */
void fwb_wrote(struct fwb *w, uint64_t end);
/* The end of what w wrote (0: nothing). */
uint64_t fwb_end(struct fwb *w);

#endif /* FUSE_FWB_H */
