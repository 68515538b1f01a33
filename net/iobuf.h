/* net/iobuf.h - registered I/O buffers.
 *
 * One arena, cut into a partition per core, registered as fixed buffer 0 in
 * every core's ring: an O_DIRECT read or write whose buffer lies in the
 * arena can be submitted as READ_FIXED/WRITE_FIXED on any core, and network
 * bulk received into it goes to disk without a copy.
 *
 *	iobuf_setup(bytes_per_core);       // before loop_start
 *	iobuf_register(c);                 // in each core's init
 *	p = iobuf_get(c, len);             // 4 KiB aligned, or NULL when full
 *	iobuf_put(c, p);                   // on any core
 *
 * Space is handed out in IOBUF_UNIT (64 KiB) units from the calling core's
 * partition; a buffer freed on another core is sent back to its owner with
 * a message (no locks). NULL means the partition is exhausted: callers fall
 * back to xaligned_alloc() and plain (non-fixed) I/O.
 */
#ifndef NET_IOBUF_H
#define NET_IOBUF_H

#include "net/loop.h"

#define IOBUF_UNIT (64u << 10)

/* Allocate the arena for core_count() cores... called before loop_start
 * with the number of cores that will run. 0 bytes: no arena. */
int iobuf_setup(int ncores, size_t bytes_per_core);
/* Register the arena in c's ring (in the core's init hook). */
int iobuf_register(struct core *c);
void *iobuf_get(struct core *c, size_t len);
void iobuf_put(struct core *c, void *p);
/* Does [p, p+len) lie in the arena (use buffer index 0)? */
bool iobuf_fixed(const void *p, size_t len);
/* Free p whichever allocator it came from: the arena or xaligned_alloc. */
void iobuf_free_any(struct core *c, void *p);

#endif /* NET_IOBUF_H */
