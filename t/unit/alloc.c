/* t/unit/alloc.c - the block allocator checked against a shadow model. */
#define LOG_SUBSYS "t-alloc"
#include "chain/alloc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t/unit/tap.h"

#define GROUP	  ALLOC_GROUP
#define UNIT	  (1ull << ALLOC_MIN_CLASS)
#define GUNITS	  (GROUP / UNIT) /* 64 KiB units in a group */
#define CI(c)	  ((c)-ALLOC_MIN_CLASS)
#define NBLOCK(c) ((uint64_t)(GROUP >> (c)))

/* ---- random numbers (splitmix64, fixed seeds) --------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Mostly small blocks, some large, a few whole groups. */
static int rng_class(void)
{
	uint64_t r = rng() % 100;

	if (r < 50)
		return 16 + (int)(rng() % 3);
	if (r < 80)
		return 19 + (int)(rng() % 4);
	if (r < 95)
		return 23 + (int)(rng() % 3);
	return 26;
}

/* ---- the shadow model -----------------------------------------------------
 */

struct blk {
	uint64_t off;
	int class;
};

/* What the allocator should hold: which 64 KiB units are in use, per group
 * the count and class of its live blocks, and the list of live blocks. */
struct model {
	uint64_t ngroups;
	uint8_t *unit;
	uint32_t *gcount;
	uint8_t *gclass;
	uint64_t used;
	uint64_t blocks[ALLOC_NCLASS];
	struct blk *live;
	size_t nlive, cap;
};

static void model_init(struct model *m, uint64_t ngroups)
{
	memset(m, 0, sizeof(*m));
	m->ngroups = ngroups;
	m->unit = xcalloc(ngroups * GUNITS, 1);
	m->gcount = xcalloc(ngroups, sizeof(*m->gcount));
	m->gclass = xcalloc(ngroups, 1);
}

static void model_release(struct model *m)
{
	free(m->unit);
	free(m->gcount);
	free(m->gclass);
	free(m->live);
}

/* Record a block the allocator handed out (or that was marked). False if it
 * is misaligned, out of the area, overlaps a live block, or shares a group
 * with a block of another class. */
static bool model_add(struct model *m, uint64_t off, int class)
{
	uint64_t u0 = off / UNIT, nu = (1ull << class) / UNIT, gi = off / GROUP;

	if (off % (1ull << class) || gi >= m->ngroups)
		return false;
	if (m->gcount[gi] && m->gclass[gi] != class)
		return false;
	for (uint64_t u = u0; u < u0 + nu; u++)
		if (m->unit[u])
			return false;
	memset(m->unit + u0, 1, nu);
	m->gcount[gi]++;
	m->gclass[gi] = (uint8_t) class;
	m->used += 1ull << class;
	m->blocks[CI(class)]++;
	if (m->nlive == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->live = xrealloc(m->live, m->cap * sizeof(*m->live));
	}
	m->live[m->nlive++] = (struct blk){ off, class };
	return true;
}

/* Forget live block i (the last one takes its place); returns it. */
static struct blk model_del(struct model *m, size_t i)
{
	struct blk b = m->live[i];

	memset(m->unit + b.off / UNIT, 0, (1ull << b.class) / UNIT);
	m->gcount[b.off / GROUP]--;
	m->used -= 1ull << b.class;
	m->blocks[CI(b.class)]--;
	m->live[i] = m->live[--m->nlive];
	return b;
}

static bool model_group_has_room(const struct model *m, uint64_t gi, int c)
{
	return m->gcount[gi] && m->gclass[gi] == c && m->gcount[gi] < NBLOCK(c);
}

/* What alloc_get should answer: the lowest free block in the lowest group
 * of the class with room, else in the lowest free group. */
static int model_expect(const struct model *m, int class, uint64_t *off)
{
	uint64_t gi, nu = (1ull << class) / UNIT;

	for (gi = 0; gi < m->ngroups; gi++)
		if (model_group_has_room(m, gi, class))
			break;
	if (gi == m->ngroups)
		for (gi = 0; gi < m->ngroups; gi++)
			if (!m->gcount[gi])
				break;
	if (gi == m->ngroups)
		return -ENOSPC;
	for (uint64_t u = gi * GUNITS; u < (gi + 1) * GUNITS; u += nu) {
		if (!m->unit[u]) {
			*off = u * UNIT;
			return 0;
		}
	}
	return -EIO; /* the model itself is broken */
}

static uint64_t model_free_groups(const struct model *m)
{
	uint64_t n = 0;

	for (uint64_t gi = 0; gi < m->ngroups; gi++)
		n += m->gcount[gi] == 0;
	return n;
}

/* Do the allocator's stats match the model exactly? */
static bool stats_match(const struct alloc *a, const struct model *m)
{
	struct alloc_stats st;

	alloc_stats(a, &st);
	if (st.capacity != m->ngroups * GROUP || st.groups != m->ngroups)
		return false;
	if (st.used != m->used || st.free != st.capacity - m->used)
		return false;
	if (st.free_groups != model_free_groups(m))
		return false;
	return !memcmp(st.blocks, m->blocks, sizeof(st.blocks));
}

static void shuffle(struct blk *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng() % i;
		struct blk t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void diagf(const char *fmt, ...) FFFS_PRINTF(1, 2);

static void diagf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	diag(buf);
}

/* ---- alloc_class_for --------------------------------------------------------
 */

static void test_class_for(void)
{
	int bad = 0;

	is_int(alloc_class_for(0), 16, "class_for(0) is the smallest class");
	is_int(alloc_class_for(1), 16, "class_for(1) = 16");
	is_int(alloc_class_for(65536), 16, "class_for(64 KiB) = 16");
	is_int(alloc_class_for(65537), 17, "class_for(64 KiB + 1) = 17");
	is_int(alloc_class_for(GROUP), 26, "class_for(64 MiB) = 26");
	is_int(alloc_class_for(GROUP - 1), 26, "class_for(64 MiB - 1) = 26");
	is_int(alloc_class_for(GROUP + 1), -EINVAL,
	       "class_for(64 MiB + 1) is -EINVAL");
	is_int(alloc_class_for(UINT64_MAX), -EINVAL,
	       "class_for(UINT64_MAX) is -EINVAL");
	for (int c = ALLOC_MIN_CLASS; c <= ALLOC_MAX_CLASS; c++) {
		bad += alloc_class_for(1ull << c) != c;
		bad += alloc_class_for((1ull << c) - 1) != c;
		if (c < ALLOC_MAX_CLASS)
			bad += alloc_class_for((1ull << c) + 1) != c + 1;
		if (c > ALLOC_MIN_CLASS)
			bad += alloc_class_for((1ull << (c - 1)) + 1) != c;
	}
	is_int(bad, 0, "class_for at 2^c - 1, 2^c, 2^c + 1 for every class");
}

/* ---- areas smaller than a group --------------------------------------------
 */

static void check_empty_area(uint64_t bytes, const char *what)
{
	struct alloc *a = alloc_new(bytes);
	struct alloc_stats st;
	int bad = 0;
	uint64_t off;

	alloc_stats(a, &st);
	ok(st.capacity == 0 && st.groups == 0 && st.free_groups == 0 &&
		   st.used == 0 && st.free == 0,
	   what);
	for (int c = ALLOC_MIN_CLASS; c <= ALLOC_MAX_CLASS; c++) {
		bad += alloc_can_get(a, c);
		bad += alloc_get(a, c, &off) != -ENOSPC;
	}
	is_int(bad, 0, "  ... every class: can_get false, get -ENOSPC");
	is_int(alloc_mark(a, 0, 16), -EINVAL, "  ... mark at 0 is -EINVAL");
	alloc_destroy(a);
}

static void test_tiny(void)
{
	struct alloc *a;
	struct alloc_stats st;

	check_empty_area(0, "0 bytes: capacity 0");
	check_empty_area(1, "1 byte: capacity 0");
	check_empty_area(GROUP - 1, "64 MiB - 1: capacity 0");
	a = alloc_new(3 * GROUP + 12345);
	alloc_stats(a, &st);
	ok(st.capacity == 3 * GROUP && st.groups == 3 && st.free_groups == 3 &&
		   st.free == 3 * GROUP && st.used == 0,
	   "3 groups + 12345 bytes rounds down to 3 groups, all free");
	alloc_destroy(a);
	alloc_destroy(NULL);
	ok(1, "alloc_destroy(NULL) is harmless");
}

/* ---- each class on its own
 * ---------------------------------------------------- */

/* Take blocks of class c until -ENOSPC; how many, and were they in order
 * (lowest offset first), aligned and disjoint? */
static uint64_t drain(struct alloc *a, struct model *m, int c, int *bad)
{
	uint64_t n = 0, off, want;

	while (alloc_can_get(a, c)) {
		int e = model_expect(m, c, &want);

		if (alloc_get(a, c, &off) != 0 || e != 0 || off != want ||
		    !model_add(m, off, c))
			(*bad)++;
		n++;
		if (*bad)
			break;
	}
	*bad += alloc_get(a, c, &off) != -ENOSPC;
	return n;
}

static void put_all(struct alloc *a, struct model *m)
{
	shuffle(m->live, m->nlive);
	while (m->nlive) {
		struct blk b = model_del(m, m->nlive - 1);

		alloc_put(a, b.off, b.class);
	}
}

static void check_fill_class(int c, uint64_t ngroups)
{
	struct alloc *a = alloc_new(ngroups * GROUP);
	int other = c == ALLOC_MAX_CLASS ? ALLOC_MIN_CLASS : c + 1;
	struct alloc_stats st;
	struct model m;
	int bad = 0, cant = 0;
	uint64_t n;
	char name[160];

	model_init(&m, ngroups);
	n = drain(a, &m, c, &bad);
	snprintf(name, sizeof(name),
		 "class %d on %" PRIu64 " groups: %" PRIu64
		 " blocks, in order, aligned, disjoint",
		 c, ngroups, ngroups * NBLOCK(c));
	ok(!bad && n == ngroups * NBLOCK(c), name);
	alloc_stats(a, &st);
	for (int k = ALLOC_MIN_CLASS; k <= ALLOC_MAX_CLASS; k++)
		cant += alloc_can_get(a, k);
	ok(stats_match(a, &m) && st.used == st.capacity && st.free == 0 &&
		   !st.free_groups && !cant,
	   "  ... full: used = capacity, no class can get");
	put_all(a, &m);
	alloc_stats(a, &st);
	ok(stats_match(a, &m) && st.used == 0 && st.free_groups == ngroups,
	   "  ... all put back: every group is free again");
	n = drain(a, &m, other, &bad);
	ok(!bad && n == ngroups * NBLOCK(other) && stats_match(a, &m),
	   "  ... and another class fills the whole area");
	put_all(a, &m);
	model_release(&m);
	alloc_destroy(a);
}

static void test_fill(void)
{
	for (int c = ALLOC_MIN_CLASS; c <= ALLOC_MAX_CLASS; c++)
		check_fill_class(c, 3);
}

/* ---- reuse and groups going back to the pool --------------------------------
 */

static void test_reuse(void)
{
	struct alloc *a = alloc_new(2 * GROUP);
	uint64_t o[3], off;

	for (int i = 0; i < 3; i++)
		alloc_get(a, 20, &o[i]);
	ok(o[0] == 0 && o[1] == 1 << 20 && o[2] == 2 << 20,
	   "class 20: 0, 1 MiB, 2 MiB");
	alloc_put(a, o[1], 20);
	ok(alloc_get(a, 20, &off) == 0 && off == o[1],
	   "a freed block is the next one handed out");
	alloc_put(a, o[0], 20);
	alloc_put(a, o[2], 20);
	ok(alloc_get(a, 20, &off) == 0 && off == 0,
	   "lowest free block first after out-of-order puts");
	alloc_put(a, 0, 20);
	alloc_put(a, o[1], 20);
	alloc_destroy(a);
}

static void test_group_return(void)
{
	struct alloc *a = alloc_new(2 * GROUP);
	struct alloc_stats st;
	uint64_t o16, o17, off;

	alloc_get(a, 16, &o16);
	alloc_get(a, 17, &o17);
	ok(o16 == 0 && o17 == GROUP, "two classes take one group each");
	alloc_stats(a, &st);
	ok(st.free_groups == 0 && !alloc_can_get(a, 18) &&
		   alloc_get(a, 18, &off) == -ENOSPC,
	   "a third class gets -ENOSPC: groups are not shared across classes");
	alloc_put(a, o16, 16);
	alloc_stats(a, &st);
	ok(st.free_groups == 1 && st.blocks[CI(16)] == 0,
	   "the group whose last block was put is free again");
	ok(alloc_can_get(a, 18) && alloc_get(a, 18, &off) == 0 && off == 0,
	   "  ... and class 18 takes it");
	alloc_put(a, off, 18);
	alloc_put(a, o17, 17);
	ok(alloc_get(a, 26, &off) == 0 && off == 0 &&
		   alloc_get(a, 26, &o17) == 0 && o17 == GROUP,
	   "with everything put back, class 26 takes both groups");
	alloc_put(a, 0, 26);
	alloc_put(a, GROUP, 26);
	alloc_destroy(a);
}

/* A partly used group of the class is preferred to a free group, and the
 * group only returns to the pool with its very last block. */
static void test_partial_first(void)
{
	struct alloc *a = alloc_new(3 * GROUP);
	struct alloc_stats st;
	uint64_t off, last = 0;
	int bad = 0;

	for (uint64_t i = 0; i <= GUNITS; i++)
		bad += alloc_get(a, 16, &last) != 0 || last != i * UNIT;
	ok(!bad && last == GROUP, "1025 class-16 blocks: group 0 full, then 1");
	alloc_put(a, 5 * UNIT, 16);
	ok(alloc_get(a, 16, &off) == 0 && off == 5 * UNIT,
	   "a hole in the lower group is filled before the upper group");
	for (uint64_t i = 0; i < GUNITS - 1; i++)
		alloc_put(a, i * UNIT, 16);
	alloc_stats(a, &st);
	ok(st.free_groups == 1 && st.blocks[CI(16)] == 2,
	   "group 0 with one block left is still in use");
	alloc_put(a, (GUNITS - 1) * UNIT, 16);
	alloc_stats(a, &st);
	ok(st.free_groups == 2 && st.used == UNIT &&
		   alloc_get(a, 26, &off) == 0 && off == 0,
	   "  ... its last put frees it; class 26 gets offset 0");
	alloc_destroy(a);
}

/* ---- random workload -------------------------------------------------------
 */

struct counts {
	uint64_t gets, puts, nospc;
	int bad_can, bad_rc, bad_off, bad_model, bad_stats;
};

static void random_get(struct alloc *a, struct model *m, struct counts *n)
{
	int c = rng_class(), want_rc, rc;
	uint64_t want = 0, off = 0;
	bool can = alloc_can_get(a, c);

	want_rc = model_expect(m, c, &want);
	rc = alloc_get(a, c, &off);
	n->bad_can += can != (rc == 0);
	n->bad_rc += rc != want_rc;
	if (rc != 0) {
		n->nospc++;
		return;
	}
	n->gets++;
	n->bad_off += off != want;
	n->bad_model += !model_add(m, off, c);
}

static void random_put(struct alloc *a, struct model *m, struct counts *n)
{
	struct blk b = model_del(m, rng() % m->nlive);

	alloc_put(a, b.off, b.class);
	n->puts++;
}

static void random_ops(struct alloc *a, struct model *m, int ops,
		       struct counts *n)
{
	for (int i = 0; i < ops; i++) {
		if (!m->nlive || rng() % 100 < 55)
			random_get(a, m, n);
		else
			random_put(a, m, n);
		if (i % 997 == 0)
			n->bad_stats += !stats_match(a, m);
	}
	n->bad_stats += !stats_match(a, m);
}

static void test_random(void)
{
	struct alloc *a = alloc_new(64 * GROUP);
	struct counts n = { 0 };
	struct model m;

	rng_state = 42;
	model_init(&m, 64);
	random_ops(a, &m, 200000, &n);
	diagf("random: %" PRIu64 " gets, %" PRIu64 " puts, %" PRIu64
	      " -ENOSPC, %zu live, %" PRIu64 " MiB used",
	      n.gets, n.puts, n.nospc, m.nlive, m.used >> 20);
	ok(n.gets > 50000 && n.puts > 50000 && n.nospc > 1000,
	   "random: the workload both fills the area and frees");
	is_int(n.bad_model, 0, "random: blocks aligned, in the area, disjoint");
	is_int(n.bad_rc, 0, "random: -ENOSPC exactly when nothing fits");
	is_int(n.bad_off, 0, "random: lowest group, lowest block first");
	is_int(n.bad_can, 0, "random: alloc_can_get agrees with alloc_get");
	is_int(n.bad_stats, 0, "random: stats equal the model");
	put_all(a, &m);
	ok(stats_match(a, &m) && m.used == 0, "random: all put back, empty");
	model_release(&m);
	alloc_destroy(a);
}

/* ---- alloc_mark ------------------------------------------------------------
 */

/* Drain every class on both allocators in the same order: same answers,
 * and nothing handed out overlaps what the model holds. */
static void drain_both(struct alloc *a, struct alloc *b, struct model *m,
		       int *bad_same, int *bad_model)
{
	uint64_t oa, ob;
	int ra, rb;

	for (int i = 0; i < 3000; i++) {
		int c = rng_class();

		ra = alloc_get(a, c, &oa);
		rb = alloc_get(b, c, &ob);
		*bad_same += ra != rb || (ra == 0 && oa != ob);
		if (rb == 0)
			*bad_model += !model_add(m, ob, c);
	}
	for (int c = ALLOC_MAX_CLASS; c >= ALLOC_MIN_CLASS; c--) {
		while ((rb = alloc_get(b, c, &ob)) == 0) {
			ra = alloc_get(a, c, &oa);
			*bad_same += ra != 0 || oa != ob;
			*bad_model += !model_add(m, ob, c);
		}
		*bad_same += alloc_get(a, c, &oa) != -ENOSPC;
	}
}

static void test_mark_rebuild(void)
{
	struct alloc *a = alloc_new(16 * GROUP), *b = alloc_new(16 * GROUP);
	struct alloc_stats sa, sb;
	struct counts n = { 0 };
	struct model m;
	int bad = 0, bad_same = 0, bad_model = 0;

	rng_state = 7;
	model_init(&m, 16);
	random_ops(a, &m, 20000, &n);
	shuffle(m.live, m.nlive);
	for (size_t i = 0; i < m.nlive; i++)
		bad += alloc_mark(b, m.live[i].off, m.live[i].class) != 0;
	diagf("rebuild: %zu blocks marked", m.nlive);
	ok(m.nlive > 100 && !bad, "rebuild: every live block marks with 0");
	alloc_stats(a, &sa);
	alloc_stats(b, &sb);
	ok(!memcmp(&sa, &sb, sizeof(sa)) && stats_match(b, &m),
	   "rebuild: stats equal the original's");
	bad = 0;
	for (size_t i = 0; i < m.nlive; i += 7)
		bad += alloc_mark(b, m.live[i].off, m.live[i].class) != -EEXIST;
	alloc_stats(b, &sb);
	ok(!bad && !memcmp(&sa, &sb, sizeof(sa)),
	   "rebuild: marking a block twice is -EEXIST, stats unchanged");
	drain_both(a, b, &m, &bad_same, &bad_model);
	is_int(bad_model, 0, "rebuild: later gets never overlap marked blocks");
	is_int(bad_same, 0, "rebuild: later gets match the original's");
	ok(stats_match(b, &m), "rebuild: stats still exact when full");
	model_release(&m);
	alloc_destroy(a);
	alloc_destroy(b);
}

/* alloc_mark must fail with `want` and change nothing. */
static void mark_fails(struct alloc *a, uint64_t off, int class, int want,
		       const char *name)
{
	struct alloc_stats before, after;
	int rc;

	alloc_stats(a, &before);
	rc = alloc_mark(a, off, class);
	alloc_stats(a, &after);
	is_int(rc, want, name);
	ok(!memcmp(&before, &after, sizeof(before)), "  ... stats unchanged");
}

static void mark_valid(struct alloc *a, struct alloc *ref)
{
	uint64_t off;

	is_int(alloc_mark(a, 0, 16), 0, "mark (0, 16)");
	is_int(alloc_mark(a, 3 * GROUP, 26), 0, "mark (3 groups, 26)");
	alloc_get(a, 20, &off);
	ok(off == GROUP, "get class 20 takes group 1 (group 0 is class 16)");
	alloc_mark(ref, 0, 16);
	alloc_mark(ref, 3 * GROUP, 26);
	alloc_get(ref, 20, &off);
}

static void test_mark_errors(void)
{
	struct alloc *a = alloc_new(4 * GROUP), *ref = alloc_new(4 * GROUP);
	int bad = 0;

	mark_valid(a, ref);
	mark_fails(a, 2 * GROUP, 15, -EINVAL, "class 15 is -EINVAL");
	mark_fails(a, 2 * GROUP, 27, -EINVAL, "class 27 is -EINVAL");
	mark_fails(a, 2 * GROUP, -1, -EINVAL, "class -1 is -EINVAL");
	mark_fails(a, 2 * GROUP + 4096, 16, -EINVAL, "misaligned 4 KiB");
	mark_fails(a, 2 * GROUP + UNIT, 17, -EINVAL, "misaligned for class 17");
	mark_fails(a, 2 * GROUP + GROUP / 2, 26, -EINVAL,
		   "misaligned for class 26");
	mark_fails(a, 4 * GROUP, 16, -EINVAL, "just past the area: -EINVAL");
	mark_fails(a, UINT64_MAX & ~(GROUP - 1), 26, -EINVAL,
		   "far past the area: -EINVAL");
	mark_fails(a, 0, 16, -EEXIST, "the same block again: -EEXIST");
	mark_fails(a, GROUP, 20, -EEXIST,
		   "a block alloc_get handed out: -EEXIST");
	mark_fails(a, 3 * GROUP, 26, -EEXIST,
		   "the same class-26 block: -EEXIST");
	mark_fails(a, 2 * UNIT, 17, -EINVAL,
		   "another class in a class-16 group: -EINVAL");
	mark_fails(a, 0, 26, -EINVAL,
		   "a class-26 block over a class-16 group: -EINVAL");
	mark_fails(a, GROUP + (1 << 20), 16, -EINVAL,
		   "class 16 in a class-20 group: -EINVAL");
	/* The failed marks left no trace: a, driven like ref, answers alike. */
	for (int c = ALLOC_MAX_CLASS; c >= ALLOC_MIN_CLASS; c--) {
		uint64_t oa = 1, ob = 2;
		int ra, rr;

		do {
			ra = alloc_get(a, c, &oa);
			rr = alloc_get(ref, c, &ob);
			bad += ra != rr || (ra == 0 && oa != ob);
		} while (ra == 0 && rr == 0);
	}
	is_int(bad, 0, "after failed marks the allocator behaves as without");
	alloc_destroy(a);
	alloc_destroy(ref);
}

/* ---- alloc_can_get
 * ------------------------------------------------------------- */

static void test_can_get(void)
{
	struct alloc *a = alloc_new(GROUP);
	uint64_t off;
	int bad = 0;

	for (int c = ALLOC_MIN_CLASS; c <= ALLOC_MAX_CLASS; c++)
		bad += !alloc_can_get(a, c);
	ok(!bad, "can_get: every class on an empty group");
	alloc_get(a, 25, &off);
	ok(alloc_can_get(a, 25) && !alloc_can_get(a, 24) &&
		   !alloc_can_get(a, 26),
	   "can_get: half a group of class 25: only class 25 fits");
	alloc_get(a, 25, &off);
	ok(!alloc_can_get(a, 25) && alloc_get(a, 25, &off) == -ENOSPC,
	   "can_get: false when full, and get says -ENOSPC");
	alloc_put(a, 0, 25);
	ok(alloc_can_get(a, 25) && !alloc_can_get(a, 16),
	   "can_get: true again for the class after a put");
	alloc_put(a, GROUP / 2, 25);
	ok(alloc_can_get(a, 16) && alloc_can_get(a, 26),
	   "can_get: every class once the group is free");
	alloc_destroy(a);
}

/* ---- misuse aborts
 * ----------------------------------------------------------------- */

/* Run alloc_put in a child: did it die of SIGABRT (an FFFS_ASSERT)? */
static bool put_aborts(struct alloc *a, uint64_t off, int class)
{
	int st, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		signal(SIGABRT, SIG_DFL);
		alloc_put(a, off, class);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return false;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void test_put_asserts(void)
{
	struct alloc *a = alloc_new(2 * GROUP);
	uint64_t off;

	alloc_get(a, 16, &off); /* 0 */
	alloc_get(a, 16, &off); /* 64 KiB */
	alloc_put(a, off, 16);
	ok(!put_aborts(a, 0, 16), "put of an allocated block does not abort");
	ok(put_aborts(a, UNIT, 16), "put of a block put before aborts");
	ok(put_aborts(a, 2 * UNIT, 16),
	   "put of a never allocated block aborts");
	ok(put_aborts(a, GROUP, 16), "put into a free group aborts");
	ok(put_aborts(a, 0, 17), "put with the wrong class aborts");
	ok(put_aborts(a, 0, 26), "put with the wrong class (26) aborts");
	ok(put_aborts(a, 4096, 16), "put of a misaligned offset aborts");
	ok(put_aborts(a, 2 * GROUP, 16), "put past the area aborts");
	ok(put_aborts(a, 0, 15), "put with class 15 aborts");
	ok(put_aborts(a, 0, 27), "put with class 27 aborts");
	alloc_destroy(a);
}

/* ---- a large target
 * ------------------------------------------------------------------ */

/* Random gets and puts of classes 16..25; returns how many gets failed. */
static int large_ops(struct alloc *a, struct blk *live, size_t *nlive, int ops,
		     uint64_t *used)
{
	int nospc = 0;

	for (int i = 0; i < ops; i++) {
		if (*nlive && rng() % 2) {
			size_t j = rng() % *nlive;

			alloc_put(a, live[j].off, live[j].class);
			*used -= 1ull << live[j].class;
			live[j] = live[--*nlive];
			continue;
		}
		live[*nlive].class = 16 + (int)(rng() % 10);
		if (alloc_get(a, live[*nlive].class, &live[*nlive].off) == 0)
			*used += 1ull << live[(*nlive)++].class;
		else
			nospc++;
	}
	return nospc;
}

static void test_large(void)
{
	const uint64_t ngroups = 65536, kept = 65000;
	const int ops = 100000;
	struct alloc *a = alloc_new(ngroups * GROUP);
	struct blk *live = xcalloc((size_t)ops, sizeof(*live));
	struct alloc_stats st;
	uint64_t t0, t1, t2, off, used = 0, bad = 0;
	size_t nlive = 0;
	int nospc;

	rng_state = 99;
	t0 = now_ns();
	for (uint64_t i = 0; i < kept; i++)
		bad += alloc_get(a, 26, &off) != 0 || off != i * GROUP;
	t1 = now_ns();
	nospc = large_ops(a, live, &nlive, ops, &used);
	t2 = now_ns();
	diagf("4 TiB (%" PRIu64 " groups): %" PRIu64
	      " whole-group gets in %.1f ms; "
	      "%d mixed get/put in %.1f ms (%.0f ns/op)",
	      ngroups, kept, (t1 - t0) / 1e6, ops, (t2 - t1) / 1e6,
	      (double)(t2 - t1) / ops);
	ok(!bad, "4 TiB: 65000 whole groups, in order");
	alloc_stats(a, &st);
	ok(!nospc && used > 0 && st.used == kept * GROUP + used,
	   "4 TiB: every mixed get succeeds; used bytes exact");
	while (nlive) {
		nlive--;
		alloc_put(a, live[nlive].off, live[nlive].class);
	}
	for (uint64_t i = 0; i < kept; i++)
		alloc_put(a, i * GROUP, 26);
	alloc_stats(a, &st);
	ok(st.used == 0 && st.free_groups == ngroups, "4 TiB: all free again");
	free(live);
	alloc_destroy(a);
}

int main(void)
{
	test_class_for();
	test_tiny();
	test_fill();
	test_reuse();
	test_group_return();
	test_partial_first();
	test_can_get();
	test_random();
	test_mark_rebuild();
	test_mark_errors();
	test_put_asserts();
	test_large();
	return done_testing();
}
