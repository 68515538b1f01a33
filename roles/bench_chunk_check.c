/* roles/bench_chunk_check.c - the test-driver modes of `fffs bench chunk`
 * that the cluster tests use against a running storage server: --verify
 * (write chunks by a plan, read every byte back), --storm (journalled
 * whole-chunk writes until killed), --fill (whole chunks in order until the
 * target is full), --check (what a storm or fill left), --space and
 * --read-chunk. */
#define LOG_SUBSYS "bench"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "roles/bench_chunk.h"

#define VERIFY_CHUNK  (4u << 20) /* default capacity of --verify chunks */
#define VERIFY_RANGES 64
#define STORM_CHUNK   MIB
#define STORM_MIN     4096u
#define STORM_RETRY   100000000ull /* ns between retries of a write */
#define CHECK_BUDGET  1000000	   /* comparisons per chunk, at most */

/* ---- deterministic data -------------------------------------------------- */

void bench_gen_fill(uint64_t key, uint64_t pos, uint8_t *dst, size_t len)
{
	while (len) {
		uint64_t w = bench_mix64(key + pos / 8);
		unsigned k = (unsigned)(pos % 8);

		if (k == 0 && len >= 8) {
			memcpy(dst, &w, 8); /* little-endian, like the loop */
			dst += 8;
			pos += 8;
			len -= 8;
			continue;
		}
		for (; k < 8 && len; k++, len--, pos++)
			*dst++ = (uint8_t)(w >> (8 * k));
	}
}

static bool gen_equal(uint64_t key, uint64_t pos, const uint8_t *p, size_t len)
{
	uint8_t buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		bench_gen_fill(key, pos, buf, n);
		if (memcmp(buf, p, n))
			return false;
		p += n;
		pos += n;
		len -= n;
	}
	return true;
}

/* ---- verify: write chunks by a plan, read every byte back ---------------- */

/* How chunk `index` is written: nw writes in this order; one of them
 * ends at size, so size is the chunk's final length. */
struct vplan {
	uint32_t size;
	int nw;
	uint32_t off[4], len[4];
	uint64_t key[4];
};

struct vslot;

struct vread {
	struct stor_read r;
	struct vslot *s;
};

struct vslot {
	struct bench_drv *d;
	uint32_t index;
	struct vplan plan;
	int step;
	uint32_t length; /* the chunk's length so far */
	struct stor_write w;
	uint8_t *buf;	/* the write's payload */
	uint8_t *model; /* the chunk's expected bytes */
	struct vread reads[VERIFY_RANGES];
	uint32_t nreads, pending;
};

struct verify {
	struct bench_drv *d;
	struct vslot *slots;
	unsigned nslots, busy;
	uint64_t n, next, bytes, failed, extra_bad;
	uint32_t chunk_size; /* capacity of every chunk (--chunk-size) */
	bool reading;
	uint8_t *bad;	/* per chunk: a mismatch was seen */
	uint32_t *crcs; /* per chunk: CRC32C of the model */
	struct stor_dump dump;
	struct stor_query_last last;
	uint64_t dumped;
};

/* Sizes spread evenly over the powers of two up to cap (the chunk
 * capacity), so small chunks are as common as large ones. */
static void vplan_make(uint64_t seed, uint32_t index, uint32_t cap,
		       struct vplan *p)
{
	uint64_t s = bench_mix64(seed ^ bench_mix64((uint64_t)index + 1));
	unsigned bits =
		(unsigned)bench_rng_below(&s, 64 - __builtin_clzll(cap));
	uint64_t span = 1ull << bits;
	int last;

	p->size = 1 + (uint32_t)bench_rng_below(&s, span < cap ? span : cap);
	p->nw = 1 + (int)bench_rng_below(&s, 4);
	last = (int)bench_rng_below(&s, (uint64_t)p->nw);
	for (int k = 0; k < p->nw; k++) {
		uint32_t off = (uint32_t)bench_rng_below(&s, p->size);

		/* one in four page-aligned: the in-place append paths */
		if (bench_rng_below(&s, 4) == 0)
			off &= ~(RAND_BS - 1);
		p->off[k] = off;
		p->len[k] = k == last ? p->size - off
				      : 1 + (uint32_t)bench_rng_below(
						    &s, p->size - off);
		p->key[k] = bench_rng_next(&s);
	}
}

static void vplan_model(const struct vplan *p, uint8_t *buf)
{
	memset(buf, 0, p->size);
	for (int k = 0; k < p->nw; k++)
		bench_gen_fill(p->key[k], p->off[k], buf + p->off[k],
			       p->len[k]);
}

static void verify_bad(struct verify *v, uint32_t index, const char *fmt, ...)
	FFFS_PRINTF(3, 4);

static void verify_bad(struct verify *v, uint32_t index, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (v->bad[index])
		return;
	v->bad[index] = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("chunk %u: %s", index, msg);
}

static void verify_failed(struct verify *v, uint32_t index, const char *what,
			  int status)
{
	if (v->failed++ < 10)
		log_error("%s of chunk %u failed: %s", what, index,
			  fffs_strerror(status));
}

static void verify_next(struct core *c, struct bench_drv *d, struct vslot *s);
static void verify_write_done(struct core *c, struct stor_write *w);
static void verify_read_done(struct core *c, struct stor_read *r,
			     const uint8_t *data);

static void verify_write(struct core *c, struct bench_drv *d, struct vslot *s)
{
	int k = s->step;
	int rc;

	bench_gen_fill(s->plan.key[k], s->plan.off[k], s->buf, s->plan.len[k]);
	s->w = (struct stor_write){ .peer = d->peer,
				    .target = d->target,
				    .chunk = { d->a->inode, s->index },
				    .offset = s->plan.off[k],
				    .length = s->plan.len[k],
				    .chunk_size = d->v->chunk_size,
				    .data = s->buf,
				    .done = verify_write_done };
	rc = stor_write_start(&d->cl, &s->w);
	if (rc) {
		verify_failed(d->v, s->index, "write", rc);
		return bench_drv_finish(d, 1);
	}
}

static void verify_write_done(struct core *c, struct stor_write *w)
{
	struct vslot *s = fffs_container_of(w, struct vslot, w);
	struct verify *v = s->d->v;
	uint32_t end = w->offset + w->length;

	if (w->status) {
		verify_failed(v, s->index, "write", w->status);
	} else {
		s->length = end > s->length ? end : s->length;
		if (w->chunk_length != s->length)
			verify_bad(v, s->index,
				   "write %d of [%u, +%u) left length %u, "
				   "not %u",
				   s->step, w->offset, w->length,
				   w->chunk_length, s->length);
	}
	if (++s->step < s->plan.nw && !s->d->finished)
		return verify_write(c, s->d, s);
	verify_next(c, s->d, s);
}

/* Split [0, size + slack) into ranges of 1 byte .. 1 MiB, and one range
 * wholly past the end (it must come back empty). */
static void verify_ranges(struct bench_drv *d, struct vslot *s)
{
	uint64_t rs =
		bench_mix64(d->a->seed ^ 0x5265616452616e67ull ^ s->index);
	uint32_t end = s->plan.size + (uint32_t)bench_rng_below(&rs, 8192);
	uint32_t pos = 0;

	s->nreads = 0;
	while (pos < end) {
		uint32_t len = 1 + (uint32_t)bench_rng_below(&rs, MIB);

		if (bench_rng_below(&rs, 2))
			len = (len + RAND_BS - 1) & ~(RAND_BS - 1);
		if (len > end - pos || s->nreads == VERIFY_RANGES - 2)
			len = end - pos;
		s->reads[s->nreads].r.offset = pos;
		s->reads[s->nreads++].r.length = len;
		pos += len;
	}
	s->reads[s->nreads].r.offset =
		end + (uint32_t)bench_rng_below(&rs, 4096);
	s->reads[s->nreads++].r.length = RAND_BS;
}

static void verify_read(struct core *c, struct bench_drv *d, struct vslot *s)
{
	vplan_model(&s->plan, s->model);
	d->v->crcs[s->index] = crc32c(0, s->model, s->plan.size);
	verify_ranges(d, s);
	s->pending = s->nreads;
	for (uint32_t i = 0; i < s->nreads; i++) {
		struct stor_read *r = &s->reads[i].r;
		int rc;

		s->reads[i].s = s;
		r->peer = d->peer;
		r->target = d->target;
		r->chunk = (struct chunk_id){ d->a->inode, s->index };
		r->done = verify_read_done;
		rc = stor_read_start(&d->cl, r);
		if (rc) {
			verify_failed(d->v, s->index, "read", rc);
			return bench_drv_finish(d, 1);
		}
	}
}

static void verify_read_done(struct core *c, struct stor_read *r,
			     const uint8_t *data)
{
	struct vslot *s = fffs_container_of(r, struct vread, r)->s;
	struct verify *v = s->d->v;
	uint32_t want;

	want = r->offset >= s->plan.size ? 0 : s->plan.size - r->offset;
	want = want < r->length ? want : r->length;
	if (r->status)
		verify_failed(v, s->index, "read", r->status);
	else if (r->out_length != want)
		verify_bad(v, s->index,
			   "read of [%u, +%u) returned %u bytes, "
			   "not %u",
			   r->offset, r->length, r->out_length, want);
	else if (memcmp(data, s->model + r->offset, want))
		verify_bad(v, s->index,
			   "read of [%u, +%u) returned other "
			   "bytes than were written",
			   r->offset, r->length);
	if (!r->status)
		v->bytes += r->out_length;
	if (--s->pending == 0)
		verify_next(c, s->d, s);
}

/* Start the slot on the next chunk of the phase. */
static void verify_take(struct core *c, struct bench_drv *d, struct vslot *s)
{
	struct verify *v = d->v;

	s->index = (uint32_t)v->next++;
	vplan_make(d->a->seed, s->index, v->chunk_size, &s->plan);
	if (v->reading)
		return verify_read(c, d, s);
	s->step = 0;
	s->length = 0;
	verify_write(c, d, s);
}

static void verify_phase(struct core *c, struct bench_drv *d, bool reading)
{
	struct verify *v = d->v;

	v->reading = reading;
	v->next = 0;
	v->busy = (unsigned)(v->n < v->nslots ? v->n : v->nslots);
	for (unsigned i = 0, n = v->busy; i < n && !d->finished; i++)
		verify_take(c, d, &v->slots[i]);
}

static void verify_end(struct bench_drv *d)
{
	struct verify *v = d->v;
	uint64_t bad = v->extra_bad;

	for (uint64_t i = 0; i < v->n; i++)
		bad += v->bad[i] != 0;
	printf("verified %llu chunks, %llu bytes, %llu mismatches\n",
	       (unsigned long long)v->n, (unsigned long long)v->bytes,
	       (unsigned long long)bad);
	if (v->failed)
		printf("%llu requests failed\n", (unsigned long long)v->failed);
	fflush(stdout);
	bench_drv_finish(d, bad || v->failed ? 1 : 0);
}

static void verify_last_done(struct core *c, struct stor_query_last *q)
{
	struct bench_drv *d = fffs_container_of(q, struct verify, last)->d;
	struct verify *v = d->v;
	struct vplan p;

	vplan_make(d->a->seed, (uint32_t)(v->n - 1), v->chunk_size, &p);
	if (q->status) {
		verify_failed(v, (uint32_t)(v->n - 1), "last-chunk query",
			      q->status);
	} else if (q->index < v->n - 1 ||
		   (q->index == v->n - 1 && q->length != p.size)) {
		log_error("the last chunk of inode %llu is %u (%u bytes), "
			  "not %llu (%u bytes)",
			  (unsigned long long)d->a->inode, q->index, q->length,
			  (unsigned long long)(v->n - 1), p.size);
		v->extra_bad++;
	}
	verify_end(d);
}

static void verify_query_last(struct core *c, struct bench_drv *d)
{
	struct stor_query_last *q = &d->v->last;
	int rc;

	*q = (struct stor_query_last){ .peer = d->peer,
				       .target = d->target,
				       .inode = d->a->inode,
				       .done = verify_last_done };
	rc = stor_query_last_start(&d->cl, q);
	if (rc) {
		verify_failed(d->v, 0, "last-chunk query", rc);
		verify_end(d);
	}
}

static void verify_dump_page(struct core *c, struct bench_drv *d,
			     const struct chunk_id *start);

/* Check one dump entry of our inode against the plan and model CRC. */
static void verify_dump_ent(struct bench_drv *d, const struct stor_dump_ent *e)
{
	struct verify *v = d->v;
	struct vplan p;

	if (e->chunk.index >= v->n)
		return; /* left by an earlier run with more chunks */
	v->dumped++;
	vplan_make(d->a->seed, e->chunk.index, v->chunk_size, &p);
	if (e->length != p.size || e->crc != v->crcs[e->chunk.index])
		verify_bad(v, e->chunk.index,
			   "dump lists %u bytes with crc %08x, not %u bytes "
			   "with crc %08x",
			   e->length, e->crc, p.size, v->crcs[e->chunk.index]);
}

static void verify_dump_done(struct core *c, struct stor_dump *dp)
{
	struct bench_drv *d = fffs_container_of(dp, struct verify, dump)->d;
	struct verify *v = d->v;
	struct chunk_id next;
	bool ours = true;

	if (dp->status) {
		verify_failed(v, 0, "dump", dp->status);
		return verify_query_last(c, d);
	}
	for (uint32_t i = 0; i < dp->n && ours; i++) {
		ours = dp->ents[i].chunk.inode == d->a->inode;
		if (ours)
			verify_dump_ent(d, &dp->ents[i]);
	}
	if (ours && dp->more && dp->n &&
	    stor_dump_next(&dp->ents[dp->n - 1].chunk, &next))
		return verify_dump_page(c, d, &next);
	if (v->dumped != v->n) {
		log_error("the dump of target %llu lists %llu of the %llu "
			  "chunks",
			  (unsigned long long)d->target,
			  (unsigned long long)v->dumped,
			  (unsigned long long)v->n);
		v->extra_bad++;
	}
	verify_query_last(c, d);
}

static void verify_dump_page(struct core *c, struct bench_drv *d,
			     const struct chunk_id *start)
{
	struct stor_dump *dp = &d->v->dump;
	int rc;

	*dp = (struct stor_dump){ .peer = d->peer,
				  .target = d->target,
				  .start = *start,
				  .done = verify_dump_done };
	rc = stor_dump_start(&d->cl, dp);
	if (rc) {
		verify_failed(d->v, 0, "dump", rc);
		verify_query_last(c, d);
	}
}

/* The slot's chunk is done: take the next, or end the phase when this
 * was the last busy slot. Written chunks are all read back only after
 * every write, so a write that lands in another chunk's block shows. */
static void verify_next(struct core *c, struct bench_drv *d, struct vslot *s)
{
	struct verify *v = d->v;
	struct chunk_id first = { d->a->inode, 0 };

	if (!d->finished && !loop_stopping(c) && v->next < v->n)
		return verify_take(c, d, s);
	if (--v->busy || d->finished || loop_stopping(c))
		return;
	if (!v->reading)
		return verify_phase(c, d, true);
	verify_dump_page(c, d, &first);
}

static void verify_init(struct bench_drv *d)
{
	struct verify *v = xcalloc(1, sizeof(*v));

	v->d = d;
	v->n = d->a->verify_n;
	v->chunk_size =
		d->a->chunk_size ? (uint32_t)d->a->chunk_size : VERIFY_CHUNK;
	v->nslots = (unsigned)d->a->depth;
	v->slots = xcalloc(v->nslots, sizeof(*v->slots));
	v->bad = xcalloc(v->n, 1);
	v->crcs = xcalloc(v->n, sizeof(*v->crcs));
	for (unsigned i = 0; i < v->nslots; i++) {
		v->slots[i].d = d;
		v->slots[i].buf = xmalloc(v->chunk_size);
		v->slots[i].model = xmalloc(v->chunk_size);
	}
	d->v = v;
}

static void verify_release(struct verify *v)
{
	for (unsigned i = 0; v && i < v->nslots; i++) {
		free(v->slots[i].buf);
		free(v->slots[i].model);
	}
	if (v) {
		free(v->slots);
		free(v->bad);
		free(v->crcs);
	}
	free(v);
}

/* ---- the journal of --storm and --check ---------------------------------- */

struct jline {
	uint32_t index, len;
	uint64_t seq, order;
	bool ack;
};

/* "issue INDEX SEQ LEN" or "ack INDEX SEQ LEN"; 0 or -EINVAL. */
static int jline_parse(const char *s, struct jline *j)
{
	unsigned long long v[3];
	char *end;

	j->ack = !strncmp(s, "ack ", 4);
	if (!j->ack && strncmp(s, "issue ", 6))
		return -EINVAL;
	s += j->ack ? 4 : 6;
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v[i] = strtoull(s, &end, 10);
		if (errno || (*end != ' ' && i < 2))
			return -EINVAL;
		s = end + (i < 2);
	}
	if ((*s && *s != '\n') || v[0] > UINT32_MAX || v[2] > STORM_CHUNK ||
	    v[2] == 0)
		return -EINVAL;
	j->index = (uint32_t)v[0];
	j->seq = v[1];
	j->len = (uint32_t)v[2];
	return 0;
}

/* Every well-formed line of the journal, in file order; a torn last
 * line (the writer was killed) is skipped. -errno if it cannot be read. */
static int journal_load(const char *path, struct jline **out, size_t *n,
			uint64_t *malformed)
{
	size_t cap = 0, lcap = 0;
	char *line = NULL;
	FILE *f = fopen(path, "re");

	*out = NULL;
	*n = 0;
	*malformed = 0;
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		struct jline j;

		if (jline_parse(line, &j)) {
			(*malformed)++;
			continue;
		}
		if (*n == cap)
			*out = xrealloc(*out, (cap = cap ? 2 * cap : 1024) *
						      sizeof(**out));
		j.order = *n;
		(*out)[(*n)++] = j;
	}
	free(line);
	fclose(f);
	return 0;
}

static uint64_t storm_key(uint32_t index, uint64_t seq)
{
	return bench_mix64(bench_mix64(0x53746f726d000000ull ^ index) ^ seq);
}

/* ---- storm: whole-chunk writes, journalled, until killed ----------------- */

struct sslot {
	struct bench_drv *d;
	struct stor_write w;
	struct loop_timer retry;
	uint32_t index, len;
	uint64_t seq;
	uint8_t *buf;
	bool waiting; /* for its retry timer */
};

struct storm {
	struct bench_drv *d;
	int fd;
	uint8_t *busy; /* per index: a write is in flight */
	uint64_t next_seq, acked, failures, unacked;
	struct sslot *slots;
	unsigned nslots, inflight;
	bool ending;
	struct loop_timer end_timer;
	/* --fill: chunks 0, 1, 2... of STORM_CHUNK bytes until an error */
	bool fill;
	uint32_t next_index;
	int fill_err; /* the error that ended it; 0: time or a signal */
};

static int journal_put(struct bench_drv *d, const char *what,
		       const struct sslot *s)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "%s %u %llu %u\n", what, s->index,
			 (unsigned long long)s->seq, s->len);

	if (write(d->s->fd, line, (size_t)n) == n)
		return 0;
	log_error("cannot write to journal '%s': %s", d->a->journal,
		  strerror(errno));
	return -EIO;
}

/* A fill succeeded only when it ended because the target is full. */
static void storm_maybe_end(struct bench_drv *d)
{
	struct storm *st = d->s;

	if (st->ending && st->inflight == 0)
		bench_drv_finish(d, st->fill && st->fill_err != -ENOSPC);
}

static void storm_unbusy(struct storm *st, const struct sslot *s)
{
	if (!st->fill)
		st->busy[s->index] = 0;
}

/* A write that will not be retried: it may or may not have landed. */
static void storm_give_up(struct bench_drv *d, struct sslot *s)
{
	d->s->inflight--;
	d->s->unacked++;
	storm_unbusy(d->s, s);
	storm_maybe_end(d);
}

static void storm_write_done(struct core *c, struct stor_write *w);

static void storm_fire(struct core *c, struct bench_drv *d, struct sslot *s)
{
	struct storm *st = d->s;
	int rc;

	if (st->fill) {
		s->index = st->next_index++;
		s->len = STORM_CHUNK;
	} else {
		do
			s->index = (uint32_t)bench_rng_below(&d->rng,
							     d->a->chunks);
		while (st->busy[s->index]);
		st->busy[s->index] = 1;
		s->len = STORM_MIN +
			 (uint32_t)bench_rng_below(&d->rng,
						   STORM_CHUNK - STORM_MIN + 1);
	}
	s->seq = st->next_seq++;
	bench_gen_fill(storm_key(s->index, s->seq), 0, s->buf, s->len);
	st->inflight++;
	if (journal_put(d, "issue", s)) {
		storm_give_up(d, s);
		return bench_drv_finish(d, 1);
	}
	s->w = (struct stor_write){ .peer = d->peer,
				    .target = d->target,
				    .chunk = { d->a->inode, s->index },
				    .length = s->len,
				    .chunk_size = STORM_CHUNK,
				    .data = s->buf,
				    .done = storm_write_done };
	rc = stor_write_start(&d->cl, &s->w);
	if (rc)
		storm_give_up(d, s);
}

static bool storm_over(struct core *c, struct bench_drv *d)
{
	return d->s->ending || d->finished || loop_stopping(c);
}

/* Errors of the way to the server, not of the write: worth a retry (the
 * server was killed, is restarting, or shutting down). */
static bool storm_transient(int err)
{
	static const int retry[] = { ETIMEDOUT,	    ECONNRESET,	 ECONNREFUSED,
				     ECONNABORTED,  EPIPE,	 ENOTCONN,
				     EHOSTUNREACH,  ENETUNREACH, EMFILE,
				     FFFS_ESHUTDOWN };

	for (size_t i = 0; i < FFFS_ARRAY_LEN(retry); i++)
		if (err == -retry[i])
			return true;
	return false;
}

/* No more writes: give up those waiting to be retried; the storm ends
 * when the ones in flight are done. */
static void storm_stop(struct core *c, struct storm *st)
{
	st->ending = true;
	for (unsigned i = 0; i < st->nslots; i++) {
		struct sslot *s = &st->slots[i];

		if (!s->waiting)
			continue;
		core_timer_del(c, &s->retry);
		s->waiting = false;
		storm_give_up(st->d, s);
	}
	storm_maybe_end(st->d);
}

/* --fill: the first error other than the way to the server ends it
 * (-ENOSPC is what it waits for); writes in flight still finish. */
static void fill_stop(struct core *c, struct bench_drv *d, int err)
{
	struct storm *st = d->s;

	if (!st->fill_err)
		st->fill_err = err;
	st->inflight--;
	st->unacked++;
	storm_stop(c, st);
}

static void storm_write_done(struct core *c, struct stor_write *w)
{
	struct sslot *s = fffs_container_of(w, struct sslot, w);
	struct bench_drv *d = s->d;
	struct storm *st = d->s;

	if (!w->status) {
		st->acked++;
		st->inflight--;
		storm_unbusy(st, s);
		if (journal_put(d, "ack", s))
			return bench_drv_finish(d, 1);
		if (!storm_over(c, d))
			return storm_fire(c, d, s);
		return storm_maybe_end(d);
	}
	if (!storm_transient(w->status) && st->fill)
		return fill_stop(c, d, w->status);
	if (!storm_transient(w->status)) {
		log_error("write of chunk %u (seq %llu) failed: %s; stopping",
			  s->index, (unsigned long long)s->seq,
			  fffs_strerror(w->status));
		storm_give_up(d, s);
		return bench_drv_finish(d, 1);
	}
	if (st->failures++ % 1000 == 0)
		log_warn("write of chunk %u (seq %llu) failed: %s; retrying "
			 "(%llu failures so far)",
			 s->index, (unsigned long long)s->seq,
			 fffs_strerror(w->status),
			 (unsigned long long)st->failures);
	if (storm_over(c, d))
		return storm_give_up(d, s);
	s->waiting = true;
	core_timer_add(c, &s->retry, STORM_RETRY);
}

static void storm_retry(struct core *c, struct loop_timer *t)
{
	struct sslot *s = fffs_container_of(t, struct sslot, retry);

	s->waiting = false;
	if (storm_over(c, s->d) || stor_write_retry(&s->d->cl, &s->w))
		storm_give_up(s->d, s);
}

static void storm_end(struct core *c, struct loop_timer *t)
{
	storm_stop(c, fffs_container_of(t, struct storm, end_timer));
}

static void storm_start(struct core *c, struct bench_drv *d)
{
	struct storm *st = d->s;

	core_timer_init(&st->end_timer, storm_end);
	if (d->a->duration_s)
		core_timer_add(c, &st->end_timer,
			       d->a->duration_s * 1000000000ull);
	for (unsigned i = 0; i < st->nslots && !d->finished; i++)
		storm_fire(c, d, &st->slots[i]);
}

/* Open the journal for appending; sequence numbers go on from the
 * highest one it holds, so (index, seq) names one write forever. */
static int storm_init(struct bench_drv *d)
{
	struct storm *st = xcalloc(1, sizeof(*st));
	struct jline *j;
	uint64_t bad;
	size_t n;
	int rc = journal_load(d->a->journal, &j, &n, &bad);

	d->s = st;
	st->d = d;
	st->fill = d->mode == M_FILL;
	st->next_seq = 1;
	for (size_t i = 0; i < n; i++)
		if (j[i].seq >= st->next_seq)
			st->next_seq = j[i].seq + 1;
	free(j);
	st->fd = open(d->a->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		      0644);
	if (st->fd < 0 || (rc && rc != -ENOENT)) {
		fprintf(stderr, "fffs bench: cannot open journal '%s': %s\n",
			d->a->journal, strerror(st->fd < 0 ? errno : -rc));
		return -1;
	}
	st->busy = xcalloc(d->a->chunks, 1);
	st->nslots = (unsigned)d->a->depth;
	st->slots = xcalloc(st->nslots, sizeof(*st->slots));
	for (unsigned i = 0; i < st->nslots; i++) {
		st->slots[i].d = d;
		st->slots[i].buf = xmalloc(STORM_CHUNK);
		core_timer_init(&st->slots[i].retry, storm_retry);
	}
	return 0;
}

static void storm_release(struct storm *st)
{
	if (!st)
		return;
	if (st->fd >= 0)
		close(st->fd);
	for (unsigned i = 0; i < st->nslots; i++)
		free(st->slots[i].buf);
	free(st->slots);
	free(st->busy);
	free(st);
}

/* ---- check: what a storm left -------------------------------------------- */

/* One write of the journal to a chunk: issued, and maybe acknowledged. */
struct jent {
	uint64_t seq;
	uint32_t len;
	bool acked;
};

struct jchunk {
	uint32_t index, n;
	struct jent *e; /* in the order they were issued */
};

struct cslot {
	struct bench_drv *d;
	struct stor_read r;
	struct jchunk *jc;
};

struct check {
	struct bench_drv *d;
	struct jchunk *chunks;
	uint64_t n, next, checked, mismatches, crc_errors;
	struct cslot *slots;
	unsigned nslots, busy;
};

/* The chunk's content x[0, n) from position p on, as left by writes
 * among e[0, k): the layer at p is the last applied write longer than p,
 * which is the last acknowledged one or an unacknowledged one after it;
 * below that layer the same question repeats for the writes before it. */
struct explain {
	const uint8_t *x;
	uint32_t n, index;
	const struct jchunk *jc;
	long budget;
};

static bool explain(struct explain *ex, uint32_t p, uint32_t k)
{
	const struct jent *e = ex->jc->e;
	uint32_t a = k;

	for (uint32_t j = k; j-- > 0;)
		if (e[j].acked && e[j].len > p) {
			a = j;
			break;
		}
	if (a == k && p == ex->n)
		return true; /* nothing applied is longer: the chunk ends */
	for (uint32_t j = a == k ? 0 : a; j < k; j++) {
		if (e[j].len <= p || (j != a && e[j].acked))
			continue;
		if (--ex->budget < 0)
			return false;
		if (e[j].len > ex->n ||
		    !gen_equal(storm_key(ex->index, e[j].seq), p, ex->x + p,
			       e[j].len - p))
			continue;
		if (explain(ex, e[j].len, j))
			return true;
	}
	return false;
}

static bool jchunk_acked(const struct jchunk *jc)
{
	for (uint32_t i = 0; i < jc->n; i++)
		if (jc->e[i].acked)
			return true;
	return false;
}

static void check_next(struct core *c, struct bench_drv *d, struct cslot *s);

static void check_mismatch(struct check *k, uint32_t index, const char *why)
{
	if (k->mismatches++ < 10)
		log_error("chunk %u: %s", index, why);
}

static void check_read_done(struct core *c, struct stor_read *r,
			    const uint8_t *data)
{
	struct cslot *s = fffs_container_of(r, struct cslot, r);
	struct check *k = s->d->k;
	struct explain ex = { data, r->out_length, r->chunk.index, s->jc,
			      CHECK_BUDGET };
	char why[128];

	k->checked++;
	if (r->status == -FFFS_ECRC) {
		k->crc_errors++;
	} else if (r->status == -ENOENT) {
		if (jchunk_acked(s->jc))
			check_mismatch(k, r->chunk.index,
				       "missing, but a write to it was "
				       "acknowledged");
	} else if (r->status) {
		snprintf(why, sizeof(why), "read failed: %s",
			 fffs_strerror(r->status));
		check_mismatch(k, r->chunk.index, why);
	} else if (!explain(&ex, 0, s->jc->n)) {
		snprintf(why, sizeof(why),
			 "its %u bytes are not what the journal's writes "
			 "left%s",
			 r->out_length, ex.budget < 0 ? " (gave up)" : "");
		check_mismatch(k, r->chunk.index, why);
	}
	check_next(c, s->d, s);
}

static void check_take(struct core *c, struct bench_drv *d, struct cslot *s)
{
	struct check *k = d->k;
	int rc;

	s->jc = &k->chunks[k->next++];
	s->r = (struct stor_read){ .peer = d->peer,
				   .target = d->target,
				   .chunk = { d->a->inode, s->jc->index },
				   .length = 2 * STORM_CHUNK,
				   .done = check_read_done };
	rc = stor_read_start(&d->cl, &s->r);
	if (rc) {
		log_error("cannot start a read: %s", fffs_strerror(rc));
		bench_drv_finish(d, 1);
	}
}

static void check_next(struct core *c, struct bench_drv *d, struct cslot *s)
{
	struct check *k = d->k;

	if (!d->finished && !loop_stopping(c) && k->next < k->n)
		return check_take(c, d, s);
	if (--k->busy || d->finished)
		return;
	printf("checked %llu chunks, %llu mismatches, %llu checksum errors\n",
	       (unsigned long long)k->checked,
	       (unsigned long long)k->mismatches,
	       (unsigned long long)k->crc_errors);
	fflush(stdout);
	bench_drv_finish(d, k->mismatches || k->crc_errors ? 1 : 0);
}

static void check_start(struct core *c, struct bench_drv *d)
{
	struct check *k = d->k;

	k->busy = (unsigned)(k->n < k->nslots ? k->n : k->nslots);
	if (!k->busy) {
		printf("checked 0 chunks, 0 mismatches, 0 checksum errors\n");
		return bench_drv_finish(d, 0);
	}
	for (unsigned i = 0, n = k->busy; i < n && !d->finished; i++)
		check_take(c, d, &k->slots[i]);
}

static int jline_cmp(const void *x, const void *y)
{
	const struct jline *a = x, *b = y;

	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Add a journal line to its chunk: an issue appends a write, an ack
 * marks the latest write with that seq. */
static void jchunk_add(struct jchunk *jc, const struct jline *l)
{
	for (uint32_t i = jc->n; l->ack && i-- > 0;)
		if (jc->e[i].seq == l->seq) {
			jc->e[i].acked = true;
			return;
		}
	jc->e = xrealloc(jc->e, (jc->n + 1) * sizeof(*jc->e));
	jc->e[jc->n++] = (struct jent){ l->seq, l->len, l->ack };
}

static int check_init(struct bench_drv *d)
{
	struct check *k = xcalloc(1, sizeof(*k));
	uint64_t bad;
	struct jline *j;
	size_t n;
	int rc = journal_load(d->a->check, &j, &n, &bad);

	d->k = k;
	k->d = d;
	if (rc) {
		fprintf(stderr, "fffs bench: cannot read journal '%s': %s\n",
			d->a->check, fffs_strerror(rc));
		return -1;
	}
	if (bad)
		log_warn("journal '%s': %llu malformed lines skipped",
			 d->a->check, (unsigned long long)bad);
	qsort(j, n, sizeof(*j), jline_cmp);
	k->chunks = xcalloc(n ? n : 1, sizeof(*k->chunks));
	for (size_t i = 0; i < n; i++) {
		if (!k->n || k->chunks[k->n - 1].index != j[i].index)
			k->chunks[k->n++].index = j[i].index;
		jchunk_add(&k->chunks[k->n - 1], &j[i]);
	}
	free(j);
	k->nslots = (unsigned)d->a->depth;
	k->slots = xcalloc(k->nslots, sizeof(*k->slots));
	for (unsigned i = 0; i < k->nslots; i++)
		k->slots[i].d = d;
	return 0;
}

static void check_release(struct check *k)
{
	for (uint64_t i = 0; k && i < k->n; i++)
		free(k->chunks[i].e);
	if (k) {
		free(k->chunks);
		free(k->slots);
	}
	free(k);
}

/* ---- space and read-chunk ------------------------------------------------ */

void bench_chunk_space_print(struct bench_drv *d, const struct stor_space *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct stor_space_ent *e = &s->ents[i];

		printf("target %llu state %s capacity %llu used %llu free %llu "
		       "chunks %llu\n",
		       (unsigned long long)e->target, stor_state_name(e->state),
		       (unsigned long long)e->capacity,
		       (unsigned long long)e->used, (unsigned long long)e->free,
		       (unsigned long long)e->chunks);
	}
	fflush(stdout);
	bench_drv_finish(d, 0);
}

static void one_done(struct core *c, struct stor_read *r, const uint8_t *data)
{
	struct bench_drv *d = fffs_container_of(r, struct bench_drv, one);

	if (r->status)
		printf("error: %s\n", fffs_strerror(r->status));
	else
		printf("ok %u %08x\n", r->out_length, r->crc);
	fflush(stdout);
	bench_drv_finish(d, r->status ? 1 : 0);
}

static void one_start(struct core *c, struct bench_drv *d)
{
	int rc;

	d->one = (struct stor_read){ .peer = d->peer,
				     .target = d->target,
				     .chunk = { d->a->inode,
						(uint32_t)d->a->read_chunk },
				     .length = CHUNK_MAX_LEN,
				     .done = one_done };
	rc = stor_read_start(&d->cl, &d->one);
	if (rc) {
		printf("error: %s\n", fffs_strerror(rc));
		bench_drv_finish(d, 1);
	}
}

/* ---- the modes, as the driver runs them ------------------------------- */

int bench_chunk_mode_init(struct bench_drv *d)
{
	switch (d->mode) {
	case M_VERIFY:
		verify_init(d);
		return 0;
	case M_STORM:
	case M_FILL:
		return storm_init(d);
	case M_CHECK:
		return check_init(d);
	default:
		return 0;
	}
}

void bench_chunk_mode_start(struct core *c, struct bench_drv *d)
{
	switch (d->mode) {
	case M_VERIFY:
		return verify_phase(c, d, false);
	case M_STORM:
	case M_FILL:
		return storm_start(c, d);
	case M_CHECK:
		return check_start(c, d);
	case M_READ_CHUNK:
		return one_start(c, d);
	case M_BENCH:
	case M_SPACE:
		break;
	}
}

static void fill_summary(const struct storm *st)
{
	printf("filled %llu chunks, then: %s\n", (unsigned long long)st->acked,
	       st->fill_err ? fffs_strerror(st->fill_err)
			    : "stopped before the target was full");
	fflush(stdout);
}

static void storm_summary(const struct storm *st)
{
	printf("storm: %llu writes acknowledged, %llu failed attempts, %llu "
	       "not acknowledged\n",
	       (unsigned long long)st->acked, (unsigned long long)st->failures,
	       (unsigned long long)(st->unacked + st->inflight));
	fflush(stdout);
}

void bench_chunk_mode_summary(const struct bench_drv *d)
{
	if (d->mode == M_STORM)
		storm_summary(d->s);
	else if (d->mode == M_FILL)
		fill_summary(d->s);
}

void bench_chunk_mode_release(struct bench_drv *d)
{
	verify_release(d->v);
	storm_release(d->s);
	check_release(d->k);
	d->v = NULL;
	d->s = NULL;
	d->k = NULL;
}
