/* net/iobuf.c - the registered buffer arena, a partition per core. */
#define LOG_SUBSYS "iobuf"
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "net/iobuf.h"

struct unit {
	struct loop_msg msg; /* a remote free travels in this */
	uint32_t run; /* units in the run starting here (0: not a start) */
};

struct partition {
	uint64_t *bits; /* 1 = in use */
	uint32_t nunits, hint;
};

static uint8_t *arena;
static size_t arena_len, part_len;
static int nparts;
static struct partition *parts;
static struct unit *units;

int iobuf_setup(int ncores, size_t bytes_per_core)
{
	size_t words;

	FFFS_ASSERT(!arena);
	if (!bytes_per_core)
		return 0;
	part_len = (bytes_per_core + IOBUF_UNIT - 1) / IOBUF_UNIT * IOBUF_UNIT;
	arena_len = part_len * (size_t)ncores;
	arena = mmap(NULL, arena_len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (arena == MAP_FAILED) {
		arena = NULL;
		return -errno;
	}
	nparts = ncores;
	parts = xcalloc((size_t)ncores, sizeof(*parts));
	units = xcalloc(arena_len / IOBUF_UNIT, sizeof(*units));
	words = (part_len / IOBUF_UNIT + 63) / 64;
	for (int i = 0; i < ncores; i++) {
		parts[i].nunits = (uint32_t)(part_len / IOBUF_UNIT);
		parts[i].bits = xcalloc(words, sizeof(uint64_t));
	}
	return 0;
}

int iobuf_register(struct core *c)
{
	struct iovec iov = { arena, arena_len };
	int rc;

	if (!arena)
		return 0;
	rc = io_uring_register_buffers(core_ring(c), &iov, 1);
	if (rc)
		log_error("cannot register %zu bytes of I/O buffers: %s",
			  arena_len, fffs_strerror(rc));
	return rc;
}

static bool bit_get(const struct partition *p, uint32_t i)
{
	return p->bits[i / 64] >> (i % 64) & 1;
}

static void bits_set(struct partition *p, uint32_t i, uint32_t n, bool on)
{
	for (uint32_t k = i; k < i + n; k++) {
		if (on)
			p->bits[k / 64] |= 1ull << (k % 64);
		else
			p->bits[k / 64] &= ~(1ull << (k % 64));
	}
}

/* First fit from the hint, wrapping once. */
static int64_t run_find(const struct partition *p, uint32_t n)
{
	uint32_t start = p->hint, len = 0;

	for (uint32_t step = 0; step < p->nunits + n; step++) {
		uint32_t i = (start + step) % p->nunits;

		if (i == 0)
			len = 0;
		if (bit_get(p, i)) {
			len = 0;
			continue;
		}
		if (++len == n)
			return (int64_t)i - n + 1;
	}
	return -1;
}

void *iobuf_get(struct core *c, size_t len)
{
	struct partition *p;
	uint32_t n = (uint32_t)((len + IOBUF_UNIT - 1) / IOBUF_UNIT);
	size_t first;
	int64_t i;

	if (!arena || core_id(c) >= nparts || n == 0 || len > part_len)
		return NULL;
	p = &parts[core_id(c)];
	i = run_find(p, n);
	if (i < 0)
		return NULL;
	bits_set(p, (uint32_t)i, n, true);
	p->hint = (uint32_t)i + n < p->nunits ? (uint32_t)i + n : 0;
	first = (size_t)core_id(c) * (part_len / IOBUF_UNIT) + (size_t)i;
	units[first].run = n;
	return arena + first * IOBUF_UNIT;
}

static void unit_free(struct core *c, size_t u)
{
	struct partition *p = &parts[core_id(c)];
	uint32_t i = (uint32_t)(u % (part_len / IOBUF_UNIT));

	FFFS_ASSERT(units[u].run && bit_get(p, i));
	bits_set(p, i, units[u].run, false);
	units[u].run = 0;
}

static void remote_free_cb(struct core *c, struct loop_msg *m)
{
	unit_free(c, (size_t)((struct unit *)m - units));
}

void iobuf_put(struct core *c, void *ptr)
{
	size_t u = (size_t)((uint8_t *)ptr - arena) / IOBUF_UNIT;
	int owner = (int)(u / (part_len / IOBUF_UNIT));

	FFFS_ASSERT(iobuf_fixed(ptr, 1) &&
		    (size_t)((uint8_t *)ptr - arena) % IOBUF_UNIT == 0);
	if (owner == core_id(c))
		return unit_free(c, u);
	units[u].msg.cb = remote_free_cb;
	core_post(core_get(owner), &units[u].msg);
}

bool iobuf_fixed(const void *p, size_t len)
{
	const uint8_t *b = p;

	return arena && b >= arena && len <= arena_len &&
	       (size_t)(b - arena) <= arena_len - len;
}

void iobuf_free_any(struct core *c, void *p)
{
	if (p && iobuf_fixed(p, 1))
		iobuf_put(c, p);
	else
		free(p);
}
