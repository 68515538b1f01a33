/* fuse/fclient.h - one mount's client: the FUSE low-level operations over
 * the meta client (meta/mcli.h) and the file data library (fuse/fdata.h).
 *
 *	loop_start(cores, fclient_core_init, NULL);   // per-core clients
 *	agent_start(...);                             // routing, heartbeat
 *	se = fuse_session_new(&args, fclient_ops(), sizeof(ops), &opts);
 *	fuse_session_mount(se, mountpoint); fuse_session_loop_mt(se, cfg);
 *
 * Threads. libfuse's worker threads run the operations; each one sends
 * its metadata request with mcli_call() and its data with fdata_call() to
 * a loop core (round robin) and blocks until the answer: many requests of
 * many threads are in flight at once, each core batching what it sends.
 *
 * Inode numbers are fffs inode numbers (the root is 1, FUSE's too).
 * Every reply that changes something carries the fresh attributes meta
 * returned; entries and attributes are cached by the kernel for the
 * entry and attribute timeouts of the options.
 *
 * Consistency. Writes are gathered per chunk and sent behind
 * (fuse/fwb.h; O_DIRECT and direct_io writes go at once); flush (every
 * close(2)) and fsync wait until the bytes are on every serving replica.
 * flush then reports the highest offset written and
 * that the file was written (meta: ns_report), so after close() returns
 * another client's open() sees the length and mtime: close-to-open. open
 * without keep_cache drops the kernel's pages of the file. fsync also asks
 * the chains for the exact length (fdata_length_call) and reports it. The
 * sizes this mount wrote and has not reported yet are merged into the
 * attributes it returns. With direct_io every read and write goes to the
 * chains, and reads ask meta for the length first. O_DIRECT readers of a
 * mount without direct_io get the client's own read-ahead (fuse/fra.h),
 * as the page cache gives buffered readers the kernel's.
 *
 * Errors: fffs codes (fffs.h) reach the application as EIO (ETIMEDOUT
 * when the cluster did not answer within mcli_timeout_ms), logged with
 * the operation and the inode.
 */
#ifndef FUSE_FCLIENT_H
#define FUSE_FCLIENT_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "net/loop.h"

struct fclient_opts {
	double attr_timeout, entry_timeout; /* seconds */
	bool direct_io, read_only;
	uint64_t client; /* the client id meta records sessions under */
};

/* Before the loops start: the mount's options. */
void fclient_setup(const struct fclient_opts *o);
/* Once the FUSE session exists: for invalidations. */
void fclient_session(struct fuse_session *se);
/* The FUSE session ended, the loops still run: the closes this mount
 * still holds (fuse/fclose.h) go to meta. */
void fclient_stop(void);
/* loop_start()'s init: this core's meta and chain clients. */
void fclient_core_init(struct core *c, void *arg);

const struct fuse_lowlevel_ops *fclient_ops(void);

/* An fffs error as the errno the kernel gets (positive). */
int fclient_errno(int rc);

#endif /* FUSE_FCLIENT_H */
