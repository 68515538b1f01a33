/* t/unit/store.c - the chunk store's versions: pending writes, commits,
 * versioned writes at the tail, replacements, reads of either version,
 * and that no block leaks through any of them or a reopen. */
#define LOG_SUBSYS "t-store"
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/crc32c.h"
#include "chain/store.h"
#include "net/iobuf.h"
#include "net/loop.h"
#include "t/unit/tap.h"

#define KiB 1024u

static char dir[256], err[512];
static struct store *st;
static struct store_target *tg;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

struct run {
	struct loop_msg msg;
	struct store_op op;
	bool done;
};

static void op_done(struct core *c, struct store_op *op)
{
	struct run *r = fffs_container_of(op, struct run, op);

	pthread_mutex_lock(&mu);
	r->done = true;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static void run_on_core(struct core *c, struct loop_msg *m)
{
	struct run *r = fffs_container_of(m, struct run, msg);

	store_submit(c, tg, &r->op);
}

/* Run op on the target's core and wait for it; returns its status. */
static int run(struct run *r)
{
	r->done = false;
	r->op.done = op_done;
	r->msg.cb = run_on_core;
	core_post(store_target_core(tg), &r->msg);
	pthread_mutex_lock(&mu);
	while (!r->done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return r->op.status;
}

/* A buffer of len bytes of value v, 4 KiB aligned and zero-padded. */
static uint8_t *data(uint32_t len, uint8_t v)
{
	size_t cap = (len + 4095) / 4096 * 4096 + 4096;
	uint8_t *b = aligned_alloc(4096, cap);

	memset(b, 0, cap);
	memset(b, v, len);
	return b;
}

static struct chunk_id chunk(uint32_t i)
{
	return (struct chunk_id){ 77, i };
}

/* A write of len bytes of v at off; versioned when set_pending or
 * set_version is given. */
static int wr(uint32_t idx, uint32_t off, uint32_t len, uint8_t v,
	      uint64_t base, uint64_t set_pending, uint64_t set_version,
	      uint64_t req, struct store_op *out)
{
	static struct run r;
	uint8_t *b = data(len, v);
	int rc;

	memset(&r, 0, sizeof(r));
	r.op = (struct store_op){ .kind = SOP_WRITE,
				  .id = chunk(idx),
				  .offset = off,
				  .length = len,
				  .crc = crc32c(0, b, len),
				  .client = req ? 9 : 0,
				  .req_id = req,
				  .data = b,
				  .versioned = set_pending || set_version,
				  .base_ver = base,
				  .set_pending = set_pending,
				  .set_version = set_version,
				  .chain_ver = 5 };
	rc = run(&r);
	if (out)
		*out = r.op;
	free(b);
	return rc;
}

/* Read chunk idx whole (version want, 0: committed); *first the first
 * byte, and the versions. */
static int rd(uint32_t idx, uint64_t want, uint32_t *len, uint8_t *first,
	      uint64_t *ver, uint64_t *pend)
{
	struct run r = { .op = { .kind = SOP_READ,
				 .id = chunk(idx),
				 .offset = 0,
				 .length = 1u << 20,
				 .want_version = want } };
	int rc = run(&r);

	*len = r.op.out_length;
	*first = r.op.out_length ? r.op.out_data[0] : 0;
	*ver = r.op.version;
	*pend = r.op.out_pending;
	if (r.op.out_length &&
	    crc32c(0, r.op.out_data, r.op.out_length) != r.op.out_crc)
		rc = -999;
	free(r.op.out_buf); /* not registered: plain aligned memory */
	return rc;
}

static int simple(enum store_op_kind kind, uint32_t idx, uint64_t version)
{
	struct run r = { .op = { .kind = kind,
				 .id = chunk(idx),
				 .set_version = version,
				 .chain_ver = 6 } };

	return run(&r);
}

static uint64_t used(void)
{
	struct store_space sp;

	store_target_space(tg, &sp);
	return sp.used;
}

static void open_store(void)
{
	static struct target_spec spec;
	struct store_params p = { 0 };
	char arg[400];

	snprintf(arg, sizeof(arg), "%s/t.img,size=256M,id=1", dir);
	FFFS_ASSERT(!target_spec_parse(arg, &spec, err, sizeof(err)));
	snprintf(arg, sizeof(arg), "%s/state", dir);
	p = (struct store_params){ &spec, 1, arg, "test", 1, 64 << 20, 1 };
	is_int(store_open(&p, &st, err, sizeof(err)), 0, "the store opens");
	tg = store_target_at(st, 0);
}

static void test_pending(void)
{
	uint64_t ver, pend, u0;
	struct store_op o;
	uint32_t len;
	uint8_t b;

	is_int(wr(0, 0, 8 * KiB, 'a', 0, 0, 0, 0, NULL), 0, "a plain write");
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "  ... reads back");
	ok(len == 8 * KiB && b == 'a' && ver == 1 && pend == 0,
	   "  ... as committed version 1, nothing pending");
	u0 = used();

	is_int(wr(0, 8 * KiB, 4 * KiB, 'b', 1, 2, 0, 1, &o), 0,
	       "a pending write on version 1 (version 2)");
	ok(o.version == 1 && o.out_pending == 2 && o.out_length == 12 * KiB,
	   "  ... answers committed 1, pending 2 of 12 KiB");
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "the committed version");
	ok(len == 8 * KiB && ver == 1 && pend == 2,
	   "  ... is still version 1, and tells of pending 2");
	is_int(rd(0, 2, &len, &b, &ver, &pend), 0, "the pending version");
	ok(len == 12 * KiB && b == 'a' && ver == 2,
	   "  ... reads as version 2, the old bytes and the new");
	is_int(rd(0, 3, &len, &b, &ver, &pend), -FFFS_EVERSION,
	       "version 3 is neither: -FFFS_EVERSION");
	is_int(wr(0, 8 * KiB, 4 * KiB, 'b', 1, 2, 0, 1, &o), 0,
	       "the same pending write again");
	ok(o.out_pending == 2 && o.version == 1,
	   "  ... is recognised, not applied twice");
	is_int(wr(0, 0, 4 * KiB, 'x', 0, 0, 0, 0, NULL), -EBUSY,
	       "a plain write on a chunk with a pending version: -EBUSY");
	is_int(wr(0, 0, 4 * KiB, 'x', 0, 3, 0, 2, NULL), -FFFS_EVERSION,
	       "a pending write on the wrong base: -FFFS_EVERSION");

	is_int(simple(SOP_COMMIT, 0, 2), 0, "commit version 2");
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "  ... then the chunk");
	ok(len == 12 * KiB && ver == 2 && pend == 0,
	   "  ... is committed version 2, nothing pending");
	is_int(used(), u0, "  ... and the old block is free again");
	is_int(simple(SOP_COMMIT, 0, 2), 0, "committing it again is done");
	is_int(simple(SOP_COMMIT, 0, 3), -ENOENT,
	       "committing a version nobody wrote: -ENOENT");
	is_int(simple(SOP_COMMIT, 99, 1), -ENOENT,
	       "committing a chunk that is not there: -ENOENT");
}

static void test_tail_and_replace(void)
{
	uint64_t ver, pend, u0 = used();
	struct store_op o;
	uint32_t len;
	uint8_t b;

	is_int(wr(0, 0, 4 * KiB, 'c', 2, 0, 3, 3, &o), 0,
	       "a versioned write at the tail commits version 3 at once");
	ok(o.version == 3 && o.out_pending == 0, "  ... as version 3");
	is_int(wr(0, 0, 4 * KiB, 'c', 2, 0, 3, 3, &o), 0,
	       "  ... and its retry");
	ok(o.version == 3, "  ... gets the first answer");
	is_int(wr(0, 0, 4 * KiB, 'd', 2, 0, 4, 4, NULL), -FFFS_EVERSION,
	       "a versioned write on a base that has moved: -FFFS_EVERSION");

	is_int(wr(0, 0, 4 * KiB, 'e', 3, 4, 0, 5, NULL), 0, "pending 4");
	is_int(wr(0, 0, 4 * KiB, 'e', 3, 0, 4, 5, &o), 0,
	       "the same request as a commit at the tail (the chain shrank)");
	ok(o.version == 4 && o.out_pending == 0,
	   "  ... commits what the chunk held pending");
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "  ... the chunk");
	ok(len == 12 * KiB && b == 'e' && ver == 4, "  ... is version 4");

	is_int(wr(0, 0, 4 * KiB, 'f', 4, 5, 0, 6, NULL), 0, "pending 5");
	is_int(wr(0, 0, 4 * KiB, 'g', 4, 5, 0, 7, &o), 0,
	       "another pending 5 (another request) replaces it");
	is_int(rd(0, 5, &len, &b, &ver, &pend), 0, "  ... pending 5");
	ok(b == 'g', "  ... holds the second write");
	ok(used() <= u0 + 64 * KiB, "  ... and the first one's block is free");

	{
		uint8_t *buf = data(20 * KiB, 'h');
		struct run r = {
			.op = { .kind = SOP_REPLACE,
				.id = chunk(0),
				.length = 20 * KiB,
				.crc = crc32c(0, buf, 20 * KiB),
				.data = buf,
				.set_version = 10,
				.chain_ver = 7 },
		};

		is_int(run(&r), 0, "a whole-chunk replacement as version 10");
		free(buf);
	}
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "  ... the chunk");
	ok(len == 20 * KiB && b == 'h' && ver == 10 && pend == 0,
	   "  ... is exactly the new content, version 10, nothing pending");
	is_int(used(), u0, "  ... in one block");
	{
		uint8_t *buf = data(6 * KiB, 'i');
		struct run r = {
			.op = { .kind = SOP_REPLACE,
				.id = chunk(0),
				.length = 6 * KiB,
				.crc = crc32c(0, buf, 6 * KiB),
				.data = buf,
				.set_pending = 11,
				.chain_ver = 7 },
		};

		is_int(run(&r), 0, "a whole-chunk replacement as pending 11");
		free(buf);
	}
	is_int(rd(0, 0, &len, &b, &ver, &pend), 0, "  ... the committed one");
	ok(len == 20 * KiB && b == 'h' && ver == 10 && pend == 11,
	   "  ... is still version 10");
	is_int(rd(0, 11, &len, &b, &ver, &pend), 0, "  ... pending 11");
	ok(len == 6 * KiB && b == 'i', "  ... is the new content alone");
	is_int(simple(SOP_COMMIT, 0, 11), 0, "  ... commit it");
	is_int(used(), u0, "  ... one block again");
}

static void test_pending_only(void)
{
	uint64_t ver, pend, u0 = used();
	uint32_t len;
	uint8_t b;

	is_int(wr(1, 0, 4 * KiB, 'p', 0, 1, 0, 8, NULL), 0,
	       "a new chunk as pending version 1");
	is_int(rd(1, 0, &len, &b, &ver, &pend), -ENOENT,
	       "  ... has no committed version to read (-ENOENT)");
	is_int(rd(1, 1, &len, &b, &ver, &pend), 0, "  ... but version 1");
	ok(len == 4 * KiB && b == 'p', "  ... reads as written");
	is_int(simple(SOP_COMMIT, 1, 1), 0, "  ... commit it");
	is_int(rd(1, 0, &len, &b, &ver, &pend), 0, "  ... and it reads");
	ok(ver == 1 && len == 4 * KiB, "  ... as version 1");
	is_int(wr(1, 0, 4 * KiB, 'q', 1, 2, 0, 9, NULL), 0,
	       "pending 2 on it, left pending");
	ok(used() > u0, "two chunks, one with two blocks");
}

static void test_abort(void)
{
	uint64_t u0 = used(), ver, pend;
	uint32_t len;
	uint8_t b;

	is_int(wr(3, 0, 4 * KiB, 'j', 0, 0, 0, 0, NULL), 0, "chunk 3");
	u0 = used();
	is_int(wr(3, 0, 8 * KiB, 'k', 1, 2, 0, 11, NULL), 0, "  ... pending 2");
	is_int(simple(SOP_ABORT, 3, 3), -ENOENT,
	       "aborting a version that is not pending: -ENOENT");
	is_int(simple(SOP_ABORT, 3, 2), 0, "abort pending 2");
	is_int(rd(3, 0, &len, &b, &ver, &pend), 0, "  ... the chunk");
	ok(ver == 1 && pend == 0 && b == 'j' && used() == u0,
	   "  ... is version 1 alone, its pending block free");
	is_int(wr(4, 0, 4 * KiB, 'l', 0, 1, 0, 12, NULL), 0,
	       "chunk 4 as pending 1 only");
	is_int(simple(SOP_ABORT, 4, 1), 0, "  ... aborted");
	is_int(rd(4, 1, &len, &b, &ver, &pend), -ENOENT, "  ... is gone");
	is_int(used(), u0, "  ... with its block");
	is_int(simple(SOP_REMOVE, 3, 0), 0, "remove chunk 3");
}

static void test_remove(void)
{
	uint64_t u0 = used();

	is_int(wr(2, 0, 4 * KiB, 'r', 0, 0, 0, 0, NULL), 0, "chunk 2");
	is_int(wr(2, 0, 8 * KiB, 's', 1, 2, 0, 10, NULL), 0,
	       "  ... with a pending version of its own block");
	is_int(simple(SOP_REMOVE, 2, 0), 0, "remove it");
	is_int(used(), u0, "  ... frees both its blocks");
}

static int find_pending(void *arg, const struct chunk_id *id,
			const struct chunk_meta *m)
{
	if (id->index == 1)
		*(uint64_t *)arg = m->pending;
	return 0;
}

/* After the loops stopped: close and open again. */
static void test_reopen(void)
{
	uint64_t before = used(), pend = 0;
	struct chunk_id first = { 0, 0 };

	store_close(st);
	open_store();
	is_int(used(), before,
	       "after a reopen the space used is the same (both versions)");
	store_scan(tg, &first, find_pending, &pend);
	is_int(pend, 2, "  ... and chunk 1 still has pending version 2");
}

static int rm_one(const char *p, const struct stat *s, int f, struct FTW *w)
{
	return remove(p);
}

int main(void)
{
	char tmpl[] = "/tmp/fffs-unit-store.XXXXXX";

	FFFS_ASSERT(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	config_reset();
	log_level_cur = LOGL_WARN;
	open_store();
	FFFS_ASSERT(!loop_start(1, NULL, NULL));
	test_pending();
	test_tail_and_replace();
	test_pending_only();
	test_abort();
	test_remove();
	loop_request_stop();
	loop_main();
	test_reopen();
	store_close(st);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
