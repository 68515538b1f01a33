/* chain/alloc.c - block allocator of one storage target, by class and group. */
/*
 * State, all in memory and rebuilt at open with alloc_mark():
 *  - per group: its class (0 = free group), its count of free blocks and a
 *    bitmap of allocated blocks (one inline word when the class has at most
 *    64 blocks per group, a heap array of up to 16 words otherwise, so a
 *    group costs 16 bytes until it is cut into small blocks);
 *  - per class, the set of groups of that class with a free block, and the
 *    set of free groups: each a hierarchical bitmap (one bit per group, one
 *    bit per word above it, ...), so "lowest such group" costs one
 *    count-trailing-zeros per level: four levels cover 16 Mi groups (1 PiB).
 *
 * Invariants (asserted where they apply):
 *  - a group has a class iff at least one of its blocks is allocated; the
 *    moment its last block is freed it goes back to the free set;
 *  - a group is in partial[class] iff it has that class and nfree > 0;
 *  - nfree equals the number of clear bits among the group's blocks;
 *  - used == sum over classes of blocks[c] << class.
 */
#define LOG_SUBSYS "alloc"
#include "chain/alloc.h"

#include <stdlib.h>
#include <string.h>

#define HBM_MAXLVL   8 /* 64^7 bits > 2^38 groups, the most 64-bit bytes hold */
#define CLASS_IDX(c) ((c)-ALLOC_MIN_CLASS)

/* A set of integers in [0, n): bit i of level 0 is member i; bit j of level
 * k+1 is set iff word j of level k is non-zero. The top level is one word. */
struct hbm {
	int nlvl;
	uint64_t *lvl[HBM_MAXLVL];
};

struct alloc_group {
	union {
		uint64_t word;	 /* classes with at most 64 blocks */
		uint64_t *words; /* smaller classes: blocks / 64 words */
	} bits;
	uint16_t nfree; /* free blocks, when class != 0 */
	uint8_t class;	/* 0: free group */
};

struct alloc {
	uint64_t ngroups;
	uint64_t free_groups;
	uint64_t used;
	uint64_t blocks[ALLOC_NCLASS];
	struct alloc_group *groups;
	struct hbm freeg;		  /* groups without a class */
	struct hbm partial[ALLOC_NCLASS]; /* groups of a class with room */
};

/* ---- hierarchical bitmap ----------------------------------------------- */

static void hbm_init(struct hbm *h, uint64_t n)
{
	uint64_t words;

	h->nlvl = 0;
	do {
		words = n ? (n + 63) / 64 : 1;
		FFFS_ASSERT(h->nlvl < HBM_MAXLVL);
		h->lvl[h->nlvl++] = xcalloc(words, sizeof(uint64_t));
		n = words;
	} while (words > 1);
}

static void hbm_release(struct hbm *h)
{
	for (int l = 0; l < h->nlvl; l++)
		free(h->lvl[l]);
	h->nlvl = 0;
}

static void hbm_set(struct hbm *h, uint64_t i)
{
	for (int l = 0; l < h->nlvl; l++, i /= 64) {
		uint64_t *w = &h->lvl[l][i / 64];
		uint64_t old = *w;

		*w = old | (1ull << (i % 64));
		if (old) /* the levels above already say this word is set */
			break;
	}
}

static void hbm_clear(struct hbm *h, uint64_t i)
{
	for (int l = 0; l < h->nlvl; l++, i /= 64) {
		uint64_t *w = &h->lvl[l][i / 64];

		*w &= ~(1ull << (i % 64));
		if (*w) /* the word still has members: the levels above stay */
			break;
	}
}

static bool hbm_empty(const struct hbm *h)
{
	return h->lvl[h->nlvl - 1][0] == 0;
}

/* The smallest member; the set must not be empty. */
static uint64_t hbm_first(const struct hbm *h)
{
	uint64_t i = 0;

	for (int l = h->nlvl - 1; l >= 0; l--)
		i = i * 64 + (uint64_t)__builtin_ctzll(h->lvl[l][i]);
	return i;
}

/* ---- groups ------------------------------------------------------------- */

static bool class_valid(int class)
{
	return class >= ALLOC_MIN_CLASS && class <= ALLOC_MAX_CLASS;
}

static uint32_t class_blocks(int class)
{
	return (uint32_t)(ALLOC_GROUP >> class);
}

static uint32_t class_words(int class)
{
	uint32_t n = class_blocks(class);

	return n <= 64 ? 1 : n / 64;
}

static uint64_t *group_bits(struct alloc_group *g)
{
	return class_words(g->class) == 1 ? &g->bits.word : g->bits.words;
}

/* Give free group gi the class: it leaves the free set, all blocks free. */
static void group_take(struct alloc *a, uint64_t gi, int class)
{
	struct alloc_group *g = &a->groups[gi];

	FFFS_ASSERT(g->class == 0);
	g->class = (uint8_t) class;
	g->nfree = (uint16_t)class_blocks(class);
	if (class_words(class) == 1)
		g->bits.word = 0;
	else
		g->bits.words = xcalloc(class_words(class), sizeof(uint64_t));
	hbm_clear(&a->freeg, gi);
	a->free_groups--;
	hbm_set(&a->partial[CLASS_IDX(class)], gi);
}

/* Group gi has no block in use any more: back to the free set. */
static void group_release(struct alloc *a, uint64_t gi)
{
	struct alloc_group *g = &a->groups[gi];

	FFFS_ASSERT(g->class != 0 && g->nfree == class_blocks(g->class));
	hbm_clear(&a->partial[CLASS_IDX(g->class)], gi);
	if (class_words(g->class) > 1)
		free(g->bits.words);
	memset(g, 0, sizeof(*g));
	hbm_set(&a->freeg, gi);
	a->free_groups++;
}

/* Lowest free block of a group that has one. Bits past the class's block
 * count stay clear, and nfree > 0 means a real block below them is clear,
 * so the lowest clear bit is always a real block: no mask needed. */
static uint32_t group_find_free(struct alloc_group *g)
{
	uint64_t *bits = group_bits(g);

	for (uint32_t w = 0; w < class_words(g->class); w++) {
		uint64_t avail = ~bits[w];

		if (avail)
			return w * 64 + (uint32_t)__builtin_ctzll(avail);
	}
	FFFS_ASSERT(!"group in the partial set has no free block");
	return 0;
}

static bool block_is_set(struct alloc_group *g, uint32_t b)
{
	return group_bits(g)[b / 64] >> (b % 64) & 1;
}

/* Flip block b of group gi to allocated and account for it. */
static void block_set(struct alloc *a, uint64_t gi, uint32_t b)
{
	struct alloc_group *g = &a->groups[gi];
	int class = g->class;

	FFFS_ASSERT(!block_is_set(g, b) && g->nfree > 0);
	group_bits(g)[b / 64] |= 1ull << (b % 64);
	if (--g->nfree == 0)
		hbm_clear(&a->partial[CLASS_IDX(class)], gi);
	a->blocks[CLASS_IDX(class)]++;
	a->used += 1ull << class;
}

static uint64_t block_off(uint64_t gi, uint32_t b, int class)
{
	return gi * ALLOC_GROUP + ((uint64_t)b << class);
}

/* ---- the API --------------------------------------------------------------
 */

struct alloc *alloc_new(uint64_t bytes)
{
	struct alloc *a = xcalloc(1, sizeof(*a));

	a->ngroups = bytes / ALLOC_GROUP;
	a->free_groups = a->ngroups;
	a->groups = xcalloc(a->ngroups, sizeof(*a->groups));
	hbm_init(&a->freeg, a->ngroups);
	for (int c = 0; c < ALLOC_NCLASS; c++)
		hbm_init(&a->partial[c], a->ngroups);
	for (uint64_t gi = 0; gi < a->ngroups; gi++)
		hbm_set(&a->freeg, gi);
	return a;
}

void alloc_destroy(struct alloc *a)
{
	if (!a)
		return;
	for (uint64_t gi = 0; gi < a->ngroups; gi++) {
		struct alloc_group *g = &a->groups[gi];

		if (g->class && class_words(g->class) > 1)
			free(g->bits.words);
	}
	free(a->groups);
	hbm_release(&a->freeg);
	for (int c = 0; c < ALLOC_NCLASS; c++)
		hbm_release(&a->partial[c]);
	free(a);
}

int alloc_class_for(uint64_t bytes)
{
	int class = ALLOC_MIN_CLASS;

	if (bytes > ALLOC_GROUP)
		return -EINVAL;
	while ((1ull << class) < bytes)
		class ++;
	return class;
}

int alloc_get(struct alloc *a, int class, uint64_t *off)
{
	struct hbm *part;
	uint64_t gi;
	uint32_t b;

	FFFS_ASSERT(class_valid(class));
	part = &a->partial[CLASS_IDX(class)];
	if (hbm_empty(part)) {
		if (hbm_empty(&a->freeg))
			return -ENOSPC;
		group_take(a, hbm_first(&a->freeg), class);
	}
	gi = hbm_first(part);
	b = group_find_free(&a->groups[gi]);
	block_set(a, gi, b);
	*off = block_off(gi, b, class);
	return 0;
}

void alloc_put(struct alloc *a, uint64_t off, int class)
{
	uint64_t gi = off / ALLOC_GROUP;
	struct alloc_group *g;
	uint32_t b;

	FFFS_ASSERT(class_valid(class));
	FFFS_ASSERT(gi < a->ngroups && off % (1ull << class) == 0);
	g = &a->groups[gi];
	b = (uint32_t)((off % ALLOC_GROUP) >> class);
	FFFS_ASSERT(g->class == class);
	FFFS_ASSERT(block_is_set(g, b));
	group_bits(g)[b / 64] &= ~(1ull << (b % 64));
	if (g->nfree++ == 0)
		hbm_set(&a->partial[CLASS_IDX(class)], gi);
	a->blocks[CLASS_IDX(class)]--;
	a->used -= 1ull << class;
	if (g->nfree == class_blocks(class))
		group_release(a, gi);
}

int alloc_mark(struct alloc *a, uint64_t off, int class)
{
	uint64_t gi;
	uint32_t b;
	struct alloc_group *g;

	if (!class_valid(class) || off % (1ull << class) != 0)
		return -EINVAL;
	gi = off / ALLOC_GROUP;
	if (gi >= a->ngroups)
		return -EINVAL;
	g = &a->groups[gi];
	if (g->class != 0 && g->class != class)
		return -EINVAL;
	b = (uint32_t)((off % ALLOC_GROUP) >> class);
	if (g->class != 0 && block_is_set(g, b))
		return -EEXIST;
	if (g->class == 0)
		group_take(a, gi, class);
	block_set(a, gi, b);
	return 0;
}

void alloc_stats(const struct alloc *a, struct alloc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->capacity = a->ngroups * ALLOC_GROUP;
	st->used = a->used;
	st->free = st->capacity - a->used;
	st->groups = a->ngroups;
	st->free_groups = a->free_groups;
	memcpy(st->blocks, a->blocks, sizeof(st->blocks));
}

bool alloc_can_get(const struct alloc *a, int class)
{
	FFFS_ASSERT(class_valid(class));
	return !hbm_empty(&a->partial[CLASS_IDX(class)]) ||
	       !hbm_empty(&a->freeg);
}
