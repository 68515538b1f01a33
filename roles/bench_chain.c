/* roles/bench_chain.c - `fffs bench chunk --table T`: chunk I/O through
 * chain replication over a chain table: the --workload the failover tests
 * record a history of, --verify-replicas, and the benchmark phases. */
#define LOG_SUBSYS "bench"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/crc32c.h"
#include "chain/craq_cli.h"
#include "mgmt/agent.h"
#include "roles/bench_chunk.h"

#define WL_CHUNK     (64u << 10) /* --workload chunks are written whole */
#define WL_MAGIC     0x46464653u /* "FFFS" */
#define WAIT_MS	     20000	 /* for routing info that has the table */
#define VERIFY_DEPTH 16

struct chain_drv;

struct wslot {
	struct chain_drv *d;
	struct craq_write w;
	uint8_t *buf;
	uint32_t chunk, id;
	uint64_t seq;
};

struct rslot {
	struct chain_drv *d;
	struct craq_read r;
	uint64_t t0;
};

/* --verify-replicas: one chunk of one chain, read from every member. */
struct vrep {
	struct chain_drv *d;
	struct craq_read r;
	uint32_t chain;
	struct chunk_id id;
	int member, nmembers;
	uint64_t members[RT_CHAIN_MAX];
	uint8_t *first;
	uint32_t first_len;
	uint64_t first_ver;
};

struct chain_drv {
	const struct bench_args *a;
	struct core *c;
	struct craq_client cl;
	struct loop_msg start;
	struct loop_timer wait, end;
	uint64_t wait_until;
	uint32_t *chains, nchains;
	int exit_code;
	bool finished, stopping;
	FILE *hist;
	uint64_t rng;
	/* --workload */
	struct wslot *ws;
	struct rslot *rs;
	uint64_t *seq; /* per chunk: the last sequence number issued */
	uint64_t acks, fails, reads, bad;
	/* --verify-replicas */
	struct stor_dump dump;
	uint32_t vchain, vmember;
	int nvmembers;
	uint64_t vmembers[RT_CHAIN_MAX];
	size_t vcmp; /* of vchunks: matched by the member being listed */
	struct chunk_id *vchunks;
	size_t nv, vcap, vnext;
	unsigned vinflight;
	uint64_t vdiff, vpending, vchecked, vdiff0;
};

static void drv_finish(struct chain_drv *d, int code)
{
	if (d->finished)
		return;
	d->finished = true;
	d->exit_code = code;
	loop_request_stop();
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t chain_of(const struct chain_drv *d, uint32_t chunk)
{
	return d->chains[chunk % d->nchains];
}

static struct chunk_id chunk_id(const struct chain_drv *d, uint32_t chunk)
{
	return (struct chunk_id){ d->a->inode, chunk };
}

/* ---- the workload's data ------------------------------------------------- */

static uint64_t wl_key(uint32_t chunk, uint64_t seq)
{
	return bench_mix64(((uint64_t)chunk << 40) ^ seq ^ 0x5eedull);
}

static void wl_fill(uint8_t *buf, uint32_t chunk, uint64_t seq)
{
	uint32_t magic = WL_MAGIC;

	memcpy(buf, &magic, 4);
	memcpy(buf + 4, &chunk, 4);
	memcpy(buf + 8, &seq, 8);
	bench_gen_fill(wl_key(chunk, seq), 16, buf + 16, WL_CHUNK - 16);
}

/* The sequence number of what a read got: 0 for nothing, UINT64_MAX for
 * content no write of this chunk wrote. */
static uint64_t wl_decode(const uint8_t *p, uint32_t len, uint32_t chunk)
{
	static uint8_t want[WL_CHUNK];
	uint32_t magic, c;
	uint64_t seq;

	if (!len)
		return 0;
	if (len != WL_CHUNK)
		return UINT64_MAX;
	memcpy(&magic, p, 4);
	memcpy(&c, p + 4, 4);
	memcpy(&seq, p + 8, 8);
	if (magic != WL_MAGIC || c != chunk || !seq)
		return UINT64_MAX;
	wl_fill(want, chunk, seq);
	return memcmp(want, p, WL_CHUNK) ? UINT64_MAX : seq;
}

/* ---- the workload -------------------------------------------------------- */

static void writer_fire(struct core *c, struct wslot *s);
static void reader_fire(struct core *c, struct rslot *s);

static void hist(struct chain_drv *d, const char *fmt, ...) FFFS_PRINTF(2, 3);

static void hist(struct chain_drv *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(d->hist, fmt, ap);
	va_end(ap);
	fflush(d->hist); /* a SIGKILLed test still has every line */
}

static void writer_done(struct core *c, struct craq_write *w)
{
	struct wslot *s = fffs_container_of(w, struct wslot, w);
	struct chain_drv *d = s->d;

	if (w->status) {
		d->fails++;
		hist(d, "F %u %" PRIu64 " %" PRIu64 " %d\n", s->chunk, s->seq,
		     wall_ns(), w->status);
		if (d->fails <= 5)
			log_warn("write of chunk %u seq %" PRIu64 " failed: %s",
				 s->chunk, s->seq, fffs_strerror(w->status));
	} else {
		d->acks++;
		hist(d, "A %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", s->chunk,
		     s->seq, wall_ns(), w->version);
	}
	writer_fire(c, s);
}

/* Writer k owns the chunks i with i % writers == k: each chunk is written
 * by one writer, one write at a time, with growing sequence numbers. */
static void writer_fire(struct core *c, struct wslot *s)
{
	struct chain_drv *d = s->d;
	uint32_t mine =
		((uint32_t)d->a->chunks - s->id + (uint32_t)d->a->writers - 1) /
		(uint32_t)d->a->writers;

	if (d->stopping || !mine)
		return;
	s->chunk = s->id + (uint32_t)bench_rng_below(&d->rng, mine) *
				   (uint32_t)d->a->writers;
	s->seq = ++d->seq[s->chunk];
	wl_fill(s->buf, s->chunk, s->seq);
	s->w = (struct craq_write){ .kind = CRAQ_CLI_WRITE,
				    .chain = chain_of(d, s->chunk),
				    .chunk = chunk_id(d, s->chunk),
				    .length = WL_CHUNK,
				    .chunk_size = WL_CHUNK,
				    .data = s->buf,
				    .done = writer_done };
	hist(d, "I %u %" PRIu64 " %" PRIu64 "\n", s->chunk, s->seq, wall_ns());
	if (craq_write_start(&d->cl, &s->w))
		drv_finish(d, 1);
}

static void reader_done(struct core *c, struct craq_read *r,
			const uint8_t *data)
{
	struct rslot *s = fffs_container_of(r, struct rslot, r);
	struct chain_drv *d = s->d;
	uint64_t seq;

	if (r->status == -ENOENT) {
		r->status = 0;
		r->out_length = 0;
	}
	if (r->status) {
		if (d->reads < 5 || !(d->reads % 1000))
			log_warn("read of chunk %u failed: %s", r->chunk.index,
				 fffs_strerror(r->status));
		return reader_fire(c, s);
	}
	d->reads++;
	seq = wl_decode(data, r->out_length, r->chunk.index);
	if (seq == UINT64_MAX) {
		d->bad++;
		hist(d,
		     "R %u BAD %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		     "\n",
		     r->chunk.index, s->t0, wall_ns(), r->version,
		     r->served_by);
		log_error("read of chunk %u from target %" PRIu64
			  " returned content no write wrote",
			  r->chunk.index, r->served_by);
	} else {
		hist(d,
		     "R %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		     " %" PRIu64 "\n",
		     r->chunk.index, seq, s->t0, wall_ns(), r->version,
		     r->served_by);
	}
	reader_fire(c, s);
}

static void reader_fire(struct core *c, struct rslot *s)
{
	struct chain_drv *d = s->d;
	uint32_t chunk = (uint32_t)bench_rng_below(&d->rng, d->a->chunks);

	if (d->stopping)
		return;
	s->t0 = wall_ns();
	s->r = (struct craq_read){ .chain = chain_of(d, chunk),
				   .chunk = chunk_id(d, chunk),
				   .length = WL_CHUNK,
				   .done = reader_done };
	if (craq_read_start(&d->cl, &s->r))
		drv_finish(d, 1);
}

static void workload_stop(struct core *c, void *arg)
{
	((struct chain_drv *)arg)->stopping = true;
}

static void workload_end(struct core *c, struct loop_timer *t)
{
	struct chain_drv *d = fffs_container_of(t, struct chain_drv, end);

	d->stopping = true;
	drv_finish(d, 0);
}

static void workload_start(struct core *c, struct chain_drv *d)
{
	d->seq = xcalloc(d->a->chunks, sizeof(*d->seq));
	d->ws = xcalloc(d->a->writers ? d->a->writers : 1, sizeof(*d->ws));
	d->rs = xcalloc(d->a->readers ? d->a->readers : 1, sizeof(*d->rs));
	core_on_stop(c, workload_stop, d);
	for (uint32_t i = 0; i < d->a->writers; i++) {
		d->ws[i] = (struct wslot){ .d = d, .id = i };
		d->ws[i].buf = xaligned_alloc(4096, WL_CHUNK);
		writer_fire(c, &d->ws[i]);
	}
	for (uint32_t i = 0; i < d->a->readers; i++) {
		d->rs[i].d = d;
		reader_fire(c, &d->rs[i]);
	}
	if (d->a->duration_s)
		core_timer_add(c, &d->end, d->a->duration_s * 1000000000ull);
}

/* ---- --verify-replicas --------------------------------------------------- */

static void verify_chain(struct core *c, struct chain_drv *d);

/* With --history: what the replicas hold, as reads, for the checker. */
static void final_read(struct chain_drv *d, const struct vrep *v)
{
	uint64_t seq = wl_decode(v->first, v->first_len, v->id.index);
	uint64_t now = wall_ns();

	if (seq == UINT64_MAX)
		hist(d,
		     "R %u BAD %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		     "\n",
		     v->id.index, now, now, v->first_ver, v->members[0]);
	else
		hist(d,
		     "R %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
		     " %" PRIu64 "\n",
		     v->id.index, seq, now, now, v->first_ver, v->members[0]);
}
static void vrep_next(struct core *c, struct chain_drv *d);

static void vrep_done(struct core *c, struct craq_read *r, const uint8_t *data)
{
	struct vrep *v = fffs_container_of(r, struct vrep, r);
	struct chain_drv *d = v->d;

	if (r->status) {
		d->vdiff++;
		printf("chain %u: chunk %u: target %" PRIu64 " fails it: %s\n",
		       v->chain, v->id.index, v->members[v->member],
		       fffs_strerror(r->status));
	} else if (!v->member) {
		v->first = xmalloc(r->out_length ? r->out_length : 1);
		memcpy(v->first, data, r->out_length);
		v->first_len = r->out_length;
		v->first_ver = r->version;
		if (d->hist && v->id.inode == d->a->inode)
			final_read(d, v);
	} else if (r->out_length != v->first_len ||
		   r->version != v->first_ver ||
		   memcmp(v->first, data, r->out_length)) {
		d->vdiff++;
		printf("chain %u: chunk %u: target %" PRIu64
		       " (version %" PRIu64
		       ", %u bytes) differs from target %" PRIu64
		       " (version %" PRIu64 ", %u bytes)\n",
		       v->chain, v->id.index, v->members[v->member], r->version,
		       r->out_length, v->members[0], v->first_ver,
		       v->first_len);
	}
	if (!r->status && ++v->member < v->nmembers) {
		v->r.target = v->members[v->member];
		if (!craq_read_start(&d->cl, &v->r))
			return;
	}
	d->vchecked++;
	free(v->first);
	free(v);
	d->vinflight--;
	vrep_next(c, d);
}

static void vrep_next(struct core *c, struct chain_drv *d)
{
	while (d->vinflight < VERIFY_DEPTH && d->vnext < d->nv) {
		struct vrep *v = xcalloc(1, sizeof(*v));

		v->d = d;
		v->chain = d->chains[d->vchain];
		v->id = d->vchunks[d->vnext++];
		v->nmembers = craq_chain_members(&d->cl, v->chain, v->members);
		v->r = (struct craq_read){ .chain = v->chain,
					   .chunk = v->id,
					   .length = CHUNK_MAX_LEN,
					   .target = v->members[0],
					   .done = vrep_done };
		d->vinflight++;
		if (!v->nmembers || craq_read_start(&d->cl, &v->r)) {
			free(v);
			d->vinflight--;
			d->vdiff++;
		}
	}
	if (d->vinflight || d->vnext < d->nv)
		return;
	if (d->vdiff == d->vdiff0)
		printf("chain %u: %zu chunks, on its %d serving replicas "
		       "alike\n",
		       d->chains[d->vchain], d->nv, d->nvmembers);
	else
		printf("chain %u: %zu chunks, %" PRIu64 " differences\n",
		       d->chains[d->vchain], d->nv, d->vdiff - d->vdiff0);
	d->vchain++;
	verify_chain(c, d);
}

static void vdump_member(struct core *c, struct chain_drv *d);

/* A chunk of member k's list against the first member's, both in key
 * order: the first member's chunks before it are ones member k lacks. */
static void vlist_cmp(struct chain_drv *d, const struct stor_dump_ent *e,
		      uint64_t target)
{
	uint32_t chain = d->chains[d->vchain];
	int cmp = -1;

	while (d->vcmp < d->nv &&
	       (cmp = chunk_id_cmp(&d->vchunks[d->vcmp], &e->chunk)) < 0) {
		d->vdiff++;
		printf("chain %u: target %" PRIu64
		       " lacks chunk inode 0x%" PRIx64
		       " index %u, which target %" PRIu64 " has\n",
		       chain, target, d->vchunks[d->vcmp].inode,
		       d->vchunks[d->vcmp].index, d->vmembers[0]);
		d->vcmp++;
	}
	if (d->vcmp < d->nv && cmp == 0) {
		d->vcmp++;
		return;
	}
	d->vdiff++;
	printf("chain %u: target %" PRIu64 " has chunk inode 0x%" PRIx64
	       " index %u, which target %" PRIu64 " lacks\n",
	       chain, target, e->chunk.inode, e->chunk.index, d->vmembers[0]);
}

static void vdump_done(struct core *c, struct stor_dump *dp)
{
	struct chain_drv *d = fffs_container_of(dp, struct chain_drv, dump);
	uint32_t chain = d->chains[d->vchain];

	if (dp->status) {
		printf("chain %u: cannot list target %" PRIu64 ": %s\n", chain,
		       dp->target, fffs_strerror(dp->status));
		return drv_finish(d, 1);
	}
	for (uint32_t i = 0; i < dp->n; i++) {
		const struct stor_dump_ent *e = &dp->ents[i];

		if (e->pending) {
			d->vpending++;
			printf("chain %u: chunk %u has pending version %" PRIu64
			       " on target %" PRIu64 "\n",
			       chain, e->chunk.index, e->pending, dp->target);
		}
		if (!e->committed)
			continue;
		if (d->vmember) {
			vlist_cmp(d, e, dp->target);
			continue;
		}
		if (d->nv == d->vcap)
			d->vchunks = xrealloc(d->vchunks,
					      (d->vcap = d->vcap * 2 + 64) *
						      sizeof(*d->vchunks));
		d->vchunks[d->nv++] = e->chunk;
	}
	if (dp->more && dp->n &&
	    stor_dump_next(&dp->ents[dp->n - 1].chunk, &dp->start) &&
	    !stor_dump_start(&d->cl.sc, dp))
		return;
	if (d->vmember && d->vcmp < d->nv) {
		d->vdiff += d->nv - d->vcmp;
		printf("chain %u: target %" PRIu64 " lacks %zu chunks that "
		       "target %" PRIu64 " has\n",
		       chain, dp->target, d->nv - d->vcmp, d->vmembers[0]);
	}
	if ((int)++d->vmember < d->nvmembers)
		return vdump_member(c, d);
	vrep_next(c, d); /* the lists agree: now the bytes */
}

/* List member vmember's chunks (and compare them, past the first). */
static void vdump_member(struct core *c, struct chain_drv *d)
{
	const struct routing *r = d->cl.r;
	const struct rt_target *t = routing_target(r, d->vmembers[d->vmember]);
	const struct rt_node *nd = t ? routing_node(r, t->node) : NULL;
	char err[128];

	d->vcmp = 0;
	d->dump = (struct stor_dump){ .target = d->vmembers[d->vmember],
				      .done = vdump_done };
	d->dump.peer = nd ? rpc_peer_get(c, nd->addr, err, sizeof(err)) : NULL;
	if (!d->dump.peer || stor_dump_start(&d->cl.sc, &d->dump))
		drv_finish(d, 1);
}

/* One chain: list every serving member's chunks and compare the lists
 * (pending versions count as differences), then read each chunk from
 * every member and compare the bytes. */
static void verify_chain(struct core *c, struct chain_drv *d)
{
	d->nv = d->vnext = 0;
	if (d->vchain == d->nchains) {
		printf("%" PRIu64 " chunks compared, %" PRIu64
		       " differences, %" PRIu64 " pending versions\n",
		       d->vchecked, d->vdiff, d->vpending);
		return drv_finish(d, d->vdiff || d->vpending ? 1 : 0);
	}
	d->nvmembers =
		craq_chain_members(&d->cl, d->chains[d->vchain], d->vmembers);
	if (!d->nvmembers) {
		printf("chain %u has no serving member\n",
		       d->chains[d->vchain]);
		return drv_finish(d, 1);
	}
	d->vmember = 0;
	d->vdiff0 = d->vdiff;
	vdump_member(c, d);
}

/* ---- one write or read -------------------------------------------------- */

static void one_write_done(struct core *c, struct craq_write *w)
{
	struct chain_drv *d = fffs_container_of(w, struct wslot, w)->d;

	if (w->status)
		printf("error: %s\n", fffs_strerror(w->status));
	else
		printf("ok version %" PRIu64 " attempts %u\n", w->version,
		       w->attempts);
	drv_finish(d, w->status ? 1 : 0);
}

static void one_read_done(struct core *c, struct craq_read *r,
			  const uint8_t *data)
{
	struct chain_drv *d = fffs_container_of(r, struct rslot, r)->d;
	uint64_t seq =
		r->status ? 0 : wl_decode(data, r->out_length, r->chunk.index);

	if (r->status)
		printf("error: %s\n", fffs_strerror(r->status));
	else if (seq == UINT64_MAX)
		printf("ok %u %" PRIu64 " BAD target %" PRIu64 "\n",
		       r->out_length, r->version, r->served_by);
	else
		printf("ok %u %" PRIu64 " %" PRIu64 " target %" PRIu64 "\n",
		       r->out_length, r->version, seq, r->served_by);
	drv_finish(d, r->status ? 1 : 0);
}

static void one_start(struct core *c, struct chain_drv *d)
{
	uint32_t chunk = (uint32_t)(d->a->write_chunk_set ? d->a->write_chunk
							  : d->a->read_chunk);

	d->ws = xcalloc(1, sizeof(*d->ws));
	d->rs = xcalloc(1, sizeof(*d->rs));
	d->ws->d = d;
	d->rs->d = d;
	if (d->a->read_chunk_set) {
		d->rs->r = (struct craq_read){ .chain = chain_of(d, chunk),
					       .chunk = chunk_id(d, chunk),
					       .length = CHUNK_MAX_LEN,
					       .target = d->a->target,
					       .done = one_read_done };
		if (craq_read_start(&d->cl, &d->rs->r))
			drv_finish(d, 2);
		return;
	}
	d->ws->buf = xaligned_alloc(4096, WL_CHUNK);
	wl_fill(d->ws->buf, chunk, d->a->seed);
	d->ws->w = (struct craq_write){ .kind = CRAQ_CLI_WRITE,
					.chain = chain_of(d, chunk),
					.chunk = chunk_id(d, chunk),
					.length = WL_CHUNK,
					.chunk_size = WL_CHUNK,
					.data = d->ws->buf,
					.done = one_write_done };
	if (craq_write_start(&d->cl, &d->ws->w))
		drv_finish(d, 2);
}

/* ---- start --------------------------------------------------------------- */

static bool table_load(struct chain_drv *d)
{
	struct routing *r = agent_routing();
	const struct rt_table *t =
		r ? routing_table(r, (uint32_t)d->a->table) : NULL;
	bool ok = t && t->n;

	if (ok) {
		d->nchains = t->n;
		d->chains = xcalloc(t->n, sizeof(*d->chains));
		memcpy(d->chains, t->chains, t->n * sizeof(*d->chains));
	}
	routing_unref(r);
	return ok;
}

static void wait_table(struct core *c, struct loop_timer *t)
{
	struct chain_drv *d = fffs_container_of(t, struct chain_drv, wait);

	if (!table_load(d)) {
		if (now_ms() < d->wait_until)
			return core_timer_add(c, t, 50000000);
		fprintf(stderr,
			"fffs bench: mgmtd %s has no chain table %" PRIu64 "\n",
			config_str(CFG_mgmtd), d->a->table);
		return drv_finish(d, 1);
	}
	if (d->a->history) {
		d->hist = fopen(d->a->history, "a");
		if (!d->hist) {
			fprintf(stderr, "fffs bench: cannot open '%s': %s\n",
				d->a->history, strerror(errno));
			return drv_finish(d, 1);
		}
	}
	if (d->a->verify_replicas)
		return verify_chain(c, d);
	if (d->a->write_chunk_set || d->a->read_chunk_set)
		return one_start(c, d);
	workload_start(c, d);
}

static void drv_start(struct core *c, struct loop_msg *m)
{
	struct chain_drv *d = fffs_container_of(m, struct chain_drv, start);
	struct agent_params p = { .mgmtd = config_str(CFG_mgmtd) };

	d->c = c;
	craq_client_init(&d->cl, c);
	if (agent_start(c, &p))
		return drv_finish(d, 2);
	d->wait_until = now_ms() + WAIT_MS;
	core_timer_add(c, &d->wait, 0);
}

const char *bench_chain_check_args(const struct bench_args *a)
{
	if (!config_str(CFG_mgmtd)[0])
		return "--table needs --mgmtd URI";
	if (a->workload + a->verify_replicas + a->write_chunk_set +
		    a->read_chunk_set !=
	    1)
		return "--table goes with one of --workload, "
		       "--verify-replicas, --write-chunk, --read-chunk";
	if (a->workload && !a->history)
		return "--workload needs --history FILE";
	if (a->workload && (!a->chunks || a->writers > a->chunks))
		return "--workload needs at least as many --chunks as "
		       "--writers";
	return NULL;
}

int bench_chain(const struct bench_args *a)
{
	struct chain_drv d = { .a = a };
	int rc;

	d.rng = bench_mix64(a->seed ^ (uint64_t)getpid());
	d.start.cb = drv_start;
	core_timer_init(&d.wait, wait_table);
	core_timer_init(&d.end, workload_end);
	rc = loop_start(1, NULL, NULL);
	if (rc) {
		fprintf(stderr, "fffs bench: cannot start the event loop: %s\n",
			fffs_strerror(rc));
		return 1;
	}
	core_post(core_get(0), &d.start);
	loop_main();
	if (a->workload)
		printf("workload: %" PRIu64 " writes acknowledged, %" PRIu64
		       " failed, %" PRIu64 " reads, %" PRIu64 " bad reads\n",
		       d.acks, d.fails, d.reads, d.bad);
	if (d.hist)
		fclose(d.hist);
	for (uint32_t i = 0; d.ws && i < (a->workload ? a->writers : 1); i++)
		free(d.ws[i].buf);
	free(d.ws);
	free(d.rs);
	free(d.seq);
	free(d.chains);
	free(d.vchunks);
	return d.exit_code ? d.exit_code : d.bad ? 1 : 0;
}
