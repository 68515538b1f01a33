/* chain/alloc.h - block allocator of one storage target.
 *
 * The data area of a target is cut into groups of ALLOC_GROUP (64 MiB).
 * A group, when first needed, is given one block class: a power of two from
 * ALLOC_MIN (64 KiB, class 16) to ALLOC_MAX (64 MiB, class 26), and holds
 * ALLOC_GROUP >> class blocks of that size, tracked by a bitmap. A chunk
 * lives in one block of the smallest class that fits its capacity. Space
 * grows a whole group at a time (large contiguous steps); a group whose
 * blocks are all free goes back to the pool of free groups, so any class
 * can take it.
 *
 * Nothing is persisted: at open the owner replays every chunk's location
 * with alloc_mark() (locations come from the chunk metadata), and the state
 * is exactly what is in use. The allocator is owned by one core; no locks.
 *
 *	struct alloc *a = alloc_new(data_bytes);
 *	alloc_mark(a, off, class);       // at open, once per stored chunk
 *	alloc_get(a, class, &off);       // 0, or -ENOSPC
 *	alloc_put(a, off, class);        // the block is free again
 *
 * Offsets are bytes from the start of the data area; every block is aligned
 * to its size within its group, so at least to 64 KiB.
 */
#ifndef CHAIN_ALLOC_H
#define CHAIN_ALLOC_H

#include "fffs.h"

#define ALLOC_MIN_CLASS 16 /* 64 KiB */
#define ALLOC_MAX_CLASS 26 /* 64 MiB */
#define ALLOC_NCLASS	(ALLOC_MAX_CLASS - ALLOC_MIN_CLASS + 1)
#define ALLOC_GROUP	(1ull << ALLOC_MAX_CLASS)

struct alloc;

/* An allocator for a data area of `bytes` (rounded down to whole groups;
 * less than one group gives capacity 0, where every alloc_get is -ENOSPC).
 * Memory: 16 bytes per group, plus a bitmap of up to 128 bytes for each
 * group in use by a class with more than 64 blocks per group (the classes
 * below 1 MiB). */
struct alloc *alloc_new(uint64_t bytes);
void alloc_destroy(struct alloc *a);

/* The smallest class whose blocks hold `bytes`, or -EINVAL past 64 MiB.
 * 0 bytes gives the smallest class. */
int alloc_class_for(uint64_t bytes);

/* Take a free block of the class: 0 and *off, or -ENOSPC. Prefers groups
 * already holding that class, fullest first is not required; lowest offset
 * first keeps allocation deterministic: the lowest group of the class with
 * a free block, else the lowest free group; in it, the lowest free block.
 * So the answer depends only on which blocks are in use, not on history.
 * O(log64 groups) plus a scan of at most 16 bitmap words per call; alloc_put
 * is O(log64 groups).
 *
 * For alloc_get, alloc_put and alloc_can_get, a class outside
 * ALLOC_MIN_CLASS..ALLOC_MAX_CLASS is a bug: FFFS_ASSERT. */
int alloc_get(struct alloc *a, int class, uint64_t *off);
/* Give a block back. Freeing a block that is not allocated, or with the
 * wrong class, is a bug: FFFS_ASSERT. */
void alloc_put(struct alloc *a, uint64_t off, int class);
/* At open: mark a block in use. Returns -EEXIST if it overlaps a block
 * already marked, -EINVAL if off is misaligned for the class, out of the
 * area, or its group already has another class (corrupt metadata); the
 * caller reports it naming the chunk. Also -EINVAL for a class outside
 * ALLOC_MIN_CLASS..ALLOC_MAX_CLASS. A block overlapping one of another
 * class is in a group of another class: -EINVAL, not -EEXIST. On error
 * nothing changes. Blocks handed out by alloc_get count as marked. */
int alloc_mark(struct alloc *a, uint64_t off, int class);

struct alloc_stats {
	uint64_t capacity; /* bytes in whole groups */
	uint64_t used;	   /* bytes in allocated blocks */
	uint64_t free;	   /* capacity - used */
	uint64_t groups, free_groups;
	uint64_t blocks[ALLOC_NCLASS]; /* allocated blocks per class */
};

void alloc_stats(const struct alloc *a, struct alloc_stats *st);
/* Could a block of this class be allocated now? */
bool alloc_can_get(const struct alloc *a, int class);

#endif /* CHAIN_ALLOC_H */
