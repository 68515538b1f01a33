/* chain/storage_srv.c - storage RPCs: decode, hop to the owner core, run the
 * chunk operation, hop back, reply. A chained write, truncate or forward
 * replies as soon as the chain has it (craq_op.answer), before this
 * member's own commit ends; the batch lives until both are done. */
#define LOG_SUBSYS "storsrv"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/metrics.h"
#include "chain/craq_srv.h"
#include "chain/storage_srv.h"
#include "net/iobuf.h"
#include "net/pack.h"

struct batch;
typedef void (*batch_fn)(struct core *c, struct batch *b);

/* One chunk operation of a request: on the target alone, or through its
 * chain (chained). */
struct hop {
	struct craq_op cop; /* cop.op is the store operation */
	struct store_target *t;
	struct batch *b;
	void *rbuf;	       /* read: the buffer the home core lent it */
	bool chained, refused; /* refused: status set before the start */
	bool query;	       /* STOR_STOR_COMMITTED: the visible version */
};

/* The hops of a request that one core owns: one message there, one back. */
struct leg {
	struct loop_msg go, back;
	struct batch *b;
	int core;
	uint32_t pending; /* hops still running on that core */
};

/* The reply of a chained write that went ahead of its end
 * (craq_op.answer): its results, copied on the owner core. */
struct early {
	struct loop_msg msg;
	_Atomic bool posted; /* set on the owner core before msg goes */
	bool replied, ended; /* home core */
	uint64_t version;
	uint32_t length, crc;
};

/* A request's chunk operations; finish() replies once all are back. */
struct batch {
	struct rpc_req *req;
	struct core *home;
	batch_fn finish;
	uint32_t n, pending; /* hops; legs still out */
	void *payload;	     /* write: the request bulk */
	struct leg *legs;    /* one per core */
	struct early early;  /* single-hop chained changes */
	struct hop hops[];
};

static struct store *the_store; /* set once before serving */

/* Collector (the metrics thread): space of every target. */
static void space_metrics(void *arg)
{
	static const char *const name[][2] = {
		{ "fffs_target_capacity_bytes", "Capacity of each target." },
		{ "fffs_target_used_bytes", "Bytes used by chunks." },
		{ "fffs_target_chunks", "Chunks stored on each target." },
		{ "fffs_target_failed", "1 when the target has failed." },
	};
	struct metric_family *f[4];
	char id[24];

	for (int k = 0; k < 4; k++)
		f[k] = metrics_family(name[k][0], METRIC_GAUGE, name[k][1],
				      "target");
	for (int i = 0; i < store_target_count(the_store); i++) {
		struct store_space sp;

		store_target_space(store_target_at(the_store, i), &sp);
		snprintf(id, sizeof(id), "%llu", (unsigned long long)sp.id);
		metrics_set(metrics_get(f[0], id), (int64_t)sp.capacity);
		metrics_set(metrics_get(f[1], id), (int64_t)sp.used);
		metrics_set(metrics_get(f[2], id), (int64_t)sp.chunks);
		metrics_set(metrics_get(f[3], id), sp.state == TGT_FAILED);
	}
}

void storage_srv_init(struct store *s)
{
	the_store = s;
	metrics_collector_add(space_metrics, NULL);
}

void storage_srv_release(void)
{
	metrics_collector_del(space_metrics, NULL);
}

static struct batch *batch_new(struct core *c, struct rpc_req *req, uint32_t n,
			       batch_fn finish)
{
	struct batch *b = xcalloc(1, sizeof(*b) + n * sizeof(struct hop));

	b->req = req;
	b->home = c;
	b->n = n;
	b->finish = finish;
	core_hold(c);
	for (uint32_t i = 0; i < n; i++)
		b->hops[i].b = b;
	return b;
}

static void batch_free(struct core *c, struct batch *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		iobuf_free_any(c, b->hops[i].cop.op.out_buf);
		iobuf_free_any(c, b->hops[i].rbuf);
	}
	iobuf_free_any(c, b->payload);
	core_unhold(b->home);
	free(b->legs);
	free(b);
}

static void batch_release(void *arg)
{
	batch_free(core_self(), arg);
}

static void leg_back(struct core *c, struct loop_msg *m)
{
	struct leg *l = fffs_container_of(m, struct leg, back);
	struct batch *b = l->b;

	if (--b->pending == 0)
		b->finish(c, b);
}

static void hop_back(struct core *c, struct hop *h)
{
	struct leg *l = &h->b->legs[core_id(c)];

	if (--l->pending)
		return;
	l->back.cb = leg_back;
	core_post(h->b->home, &l->back);
}

static void hop_done(struct core *c, struct store_op *op)
{
	hop_back(c, fffs_container_of(op, struct hop, cop.op));
}

static void hop_chain_done(struct core *c, struct craq_op *o)
{
	hop_back(c, fffs_container_of(o, struct hop, cop));
}

/* On the owner core: run every hop of the batch this core owns. The
 * count is set first: a hop may complete inside store_submit(). */
static void leg_go(struct core *c, struct loop_msg *m)
{
	struct leg *l = fffs_container_of(m, struct leg, go);
	struct batch *b = l->b;

	for (uint32_t i = 0; i < b->n; i++) {
		struct hop *h = &b->hops[i];

		if (!h->t || core_id(store_target_core(h->t)) != l->core)
			continue;
		if (h->query) {
			h->cop.done = hop_chain_done;
			craq_query_submit(c, h->t, &h->cop);
		} else if (h->chained) {
			h->cop.done = hop_chain_done;
			craq_submit(c, h->t, &h->cop);
		} else {
			h->cop.op.done = hop_done;
			store_submit(c, h->t, &h->cop.op);
		}
	}
}

/* Send each owner core its hops in one message; a hop without a target
 * already carries its status (-ENODEV). */
static void batch_start(struct core *c, struct batch *b)
{
	int ncores = core_count();

	b->legs = xcalloc((size_t)ncores, sizeof(*b->legs));
	for (uint32_t i = 0; i < b->n; i++) {
		struct hop *h = &b->hops[i];

		if (!h->t && !h->refused)
			h->cop.op.status =
				h->chained ? -FFFS_ENOTSERVING : -ENODEV;
		else
			b->legs[core_id(store_target_core(h->t))].pending++;
	}
	b->pending = 1; /* until every leg is sent */
	for (int k = 0; k < ncores; k++) {
		struct leg *l = &b->legs[k];

		if (!l->pending)
			continue;
		l->b = b;
		l->core = k;
		l->go.cb = leg_go;
		b->pending++;
		core_post(core_get(k), &l->go);
	}
	if (--b->pending == 0)
		b->finish(c, b);
}

/* target, chain, chain_ver of a request into hop h: the target alone
 * (chain 0), or a member of a chain. Chain-less changes to a chain's
 * target are refused: they would bypass the chain. */
static int hop_address(struct core *c, struct hop *h, struct unpack *up,
		       bool change)
{
	uint64_t target = unpack_u64(up);

	h->cop.chain = unpack_u32(up);
	h->cop.chain_ver = unpack_u32(up);
	h->chained = h->cop.chain != 0;
	h->t = store_target_find(the_store, target);
	if (!h->t)
		log_debug("request for target %llu, which is not on this "
			  "server",
			  (unsigned long long)target);
	if (h->t && change && !h->chained && craq_target_chained(c, target)) {
		log_warn("chain-less change to target %llu refused: it is in "
			 "a chain",
			 (unsigned long long)target);
		return -EPERM;
	}
	return 0;
}

static struct store_target *target_of(uint64_t id)
{
	struct store_target *t = store_target_find(the_store, id);

	if (!t)
		log_debug("request for target %llu, which is not on this "
			  "server",
			  (unsigned long long)id);
	return t;
}

/* ---- write and truncate: one operation, answered with its results
 * ----------------- */

static void single_reply(struct core *c, struct batch *b, int status,
			 uint64_t version, uint32_t length, uint32_t crc)
{
	uint8_t buf[16];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_u64(&pk, version);
	pack_u32(&pk, length);
	pack_u32(&pk, crc);
	rpc_reply(c, b->req, status, buf, status ? 0 : 16, NULL, 0, NULL, NULL);
}

/* Home core: the early answer, then (whichever comes last) the free. */
static void early_cb(struct core *c, struct loop_msg *m)
{
	struct batch *b = fffs_container_of(m, struct batch, early.msg);

	single_reply(c, b, 0, b->early.version, b->early.length, b->early.crc);
	b->early.replied = true;
	if (b->early.ended)
		batch_free(c, b);
}

/* Owner core (craq_op.answer): the chain has the version; our own
 * commit is still to run. */
static void hop_answer(struct core *c, struct craq_op *o)
{
	struct hop *h = fffs_container_of(o, struct hop, cop);
	struct batch *b = h->b;

	b->early.version = o->op.version;
	b->early.length = o->op.out_length;
	b->early.crc = o->op.out_crc;
	b->early.msg.cb = early_cb;
	atomic_store(&b->early.posted, true);
	core_post(b->home, &b->early.msg);
}

static void single_finish(struct core *c, struct batch *b)
{
	struct hop *h = &b->hops[0];
	struct store_op *op = &h->cop.op;

	if (!atomic_load(&b->early.posted)) {
		single_reply(c, b, op->status, op->version, op->out_length,
			     op->out_crc);
		return batch_free(c, b);
	}
	if (op->status)
		log_warn("target %llu: chunk %llu:%u: version %llu is "
			 "committed on the chain but not here: %s",
			 (unsigned long long)store_target_id(h->t),
			 (unsigned long long)op->id.inode, op->id.index,
			 (unsigned long long)b->early.version,
			 fffs_strerror(op->status));
	b->early.ended = true;
	if (b->early.replied)
		batch_free(c, b);
}

/* A chained change of one chunk may be answered before its end. */
static void single_chained(struct batch *b)
{
	if (b->hops[0].chained && !b->hops[0].query)
		b->hops[0].cop.answer = hop_answer;
}

static int h_write(struct core *c, struct rpc_req *req)
{
	struct unpack up;
	struct batch *b;
	struct store_op *op;
	int rc;

	b = batch_new(c, req, 1, single_finish);
	op = &b->hops[0].cop.op;
	op->kind = SOP_WRITE;
	unpack_init(&up, req->body, req->body_len);
	rc = hop_address(c, &b->hops[0], &up, true);
	op->id.inode = unpack_u64(&up);
	op->id.index = unpack_u32(&up);
	op->offset = unpack_u32(&up);
	op->length = unpack_u32(&up);
	op->chunk_size = unpack_u32(&up);
	op->crc = unpack_u32(&up);
	op->client = unpack_u64(&up);
	op->req_id = unpack_u64(&up);
	if (unpack_finish(&up) || req->bulk_len != op->length || rc) {
		batch_free(c, b);
		return rc ? rc : unpack_finish(&up) ? -FFFS_EBADFRAME : -EINVAL;
	}
	b->payload = rpc_req_take_bulk(req);
	op->data = b->payload ? b->payload : (const uint8_t *)"";
	single_chained(b);
	batch_start(c, b);
	return 0;
}

static int h_truncate(struct core *c, struct rpc_req *req)
{
	struct unpack up;
	struct batch *b;
	struct store_op *op;
	int rc;

	b = batch_new(c, req, 1, single_finish);
	op = &b->hops[0].cop.op;
	op->kind = SOP_TRUNCATE;
	unpack_init(&up, req->body, req->body_len);
	rc = hop_address(c, &b->hops[0], &up, true);
	op->id.inode = unpack_u64(&up);
	op->id.index = unpack_u32(&up);
	op->length = unpack_u32(&up);
	op->chunk_size = unpack_u32(&up);
	op->client = unpack_u64(&up);
	op->req_id = unpack_u64(&up);
	if (unpack_finish(&up) || rc) {
		batch_free(c, b);
		return rc ? rc : -FFFS_EBADFRAME;
	}
	single_chained(b);
	batch_start(c, b);
	return 0;
}

static void committed_finish(struct core *c, struct batch *b)
{
	struct store_op *op = &b->hops[0].cop.op;
	uint8_t buf[8];
	struct pack pk;

	pack_init(&pk, buf, sizeof(buf));
	pack_u64(&pk, op->version);
	rpc_reply(c, b->req, op->status, buf, op->status ? 0 : 8, NULL, 0, NULL,
		  NULL);
	batch_free(c, b);
}

/* A member asks the query tail which version of a chunk reads may see. */
static int h_committed(struct core *c, struct rpc_req *req)
{
	struct unpack up;
	struct batch *b;
	struct hop *h;
	uint64_t target;

	b = batch_new(c, req, 1, committed_finish);
	h = &b->hops[0];
	unpack_init(&up, req->body, req->body_len);
	h->cop.chain = unpack_u32(&up);
	h->cop.chain_ver = unpack_u32(&up);
	target = unpack_u64(&up);
	h->cop.op.id.inode = unpack_u64(&up);
	h->cop.op.id.index = unpack_u32(&up);
	if (unpack_finish(&up) || !h->cop.chain) {
		batch_free(c, b);
		return -FFFS_EBADFRAME;
	}
	h->cop.op.kind = SOP_READ;
	h->chained = h->query = true;
	h->t = target_of(target);
	batch_start(c, b);
	return 0;
}

/* A chain member's update for the next member (chain/craq_srv.h). */
static int h_forward(struct core *c, struct rpc_req *req)
{
	struct unpack up;
	struct batch *b;
	struct hop *h;
	struct store_op *op;
	uint64_t target;
	uint8_t kind;

	b = batch_new(c, req, 1, single_finish);
	h = &b->hops[0];
	op = &h->cop.op;
	unpack_init(&up, req->body, req->body_len);
	h->cop.chain = unpack_u32(&up);
	h->cop.chain_ver = unpack_u32(&up);
	target = unpack_u64(&up);
	kind = unpack_u8(&up);
	h->cop.sync = unpack_u8(&up) != 0;
	op->id.inode = unpack_u64(&up);
	op->id.index = unpack_u32(&up);
	h->cop.version = unpack_u64(&up);
	h->cop.base = unpack_u64(&up);
	op->offset = unpack_u32(&up);
	op->length = unpack_u32(&up);
	op->chunk_size = unpack_u32(&up);
	op->crc = unpack_u32(&up);
	op->client = unpack_u64(&up);
	op->req_id = unpack_u64(&up);
	if (unpack_finish(&up) || kind < CRAQ_FWD_WRITE ||
	    kind > CRAQ_FWD_WHOLE || !h->cop.chain ||
	    (!h->cop.version && kind != CRAQ_FWD_REMOVE) ||
	    ((kind == CRAQ_FWD_WRITE || kind == CRAQ_FWD_WHOLE)
		     ? req->bulk_len != op->length
		     : req->bulk_len != 0) ||
	    (kind == CRAQ_FWD_WHOLE && op->offset)) {
		batch_free(c, b);
		return -FFFS_EBADFRAME;
	}
	h->cop.fwd = kind;
	h->chained = true;
	op->kind = kind == CRAQ_FWD_TRUNCATE ? SOP_TRUNCATE
		   : kind == CRAQ_FWD_REMOVE ? SOP_REMOVE
					     : SOP_WRITE;
	h->t = target_of(target);
	b->payload = rpc_req_take_bulk(req);
	op->data = b->payload ? b->payload : (const uint8_t *)"";
	single_chained(b);
	batch_start(c, b);
	return 0;
}

/* ---- batched read and remove
 * ------------------------------------------------------- */

static void read_finish(struct core *c, struct batch *b)
{
	size_t cap = 4 + (size_t)b->n * 20;
	struct iovec *iov = xcalloc(b->n ? b->n : 1, sizeof(*iov));
	uint8_t *body = xmalloc(cap);
	struct pack pk;
	int niov = 0;

	pack_init(&pk, body, cap);
	pack_u32(&pk, b->n);
	for (uint32_t i = 0; i < b->n; i++) {
		struct store_op *op = &b->hops[i].cop.op;

		pack_i32(&pk, op->status);
		pack_u32(&pk, op->status ? 0 : op->out_length);
		pack_u32(&pk, op->status ? 0 : op->out_crc);
		pack_u64(&pk, op->version);
		if (!op->status && op->out_length)
			iov[niov++] =
				(struct iovec){ op->out_data, op->out_length };
	}
	rpc_replyv(c, b->req, 0, body, (uint32_t)pack_len(&pk), iov, niov,
		   batch_release, b);
	free(iov);
	free(body);
}

/* The buffer a read fills comes from this (the connection's) core, so it
 * is freed here after the reply is sent, without another hop. */
static void read_buf_lend(struct core *c, struct hop *h)
{
	size_t span = ((size_t)(h->cop.op.offset % CHUNK_PAGE) +
		       h->cop.op.length + CHUNK_PAGE - 1) &
		      ~(size_t)(CHUNK_PAGE - 1);

	if (!span || !h->t)
		return;
	h->rbuf = iobuf_get(c, span);
	if (!h->rbuf)
		h->rbuf = xaligned_alloc(CHUNK_PAGE, span);
	h->cop.op.rbuf = h->rbuf;
	h->cop.op.rbuf_len = span;
}

static int h_read(struct core *c, struct rpc_req *req)
{
	uint64_t total = 0, max = (uint64_t)config_int(CFG_rpc_max_bulk);
	struct unpack up;
	struct batch *b;
	uint32_t n;

	unpack_init(&up, req->body, req->body_len);
	n = unpack_u32(&up);
	/* each range: u64 target, u32 chain, chain_ver, u64 inode,
	 * u32 index, offset, length */
	if (up.err || n > STOR_BATCH_MAX || unpack_left(&up) != n * 36ull)
		return -FFFS_EBADFRAME;
	b = batch_new(c, req, n, read_finish);
	for (uint32_t i = 0; i < n; i++) {
		struct store_op *op = &b->hops[i].cop.op;

		op->kind = SOP_READ;
		hop_address(c, &b->hops[i], &up, false);
		op->id.inode = unpack_u64(&up);
		op->id.index = unpack_u32(&up);
		op->offset = unpack_u32(&up);
		op->length = unpack_u32(&up);
		total += op->length;
	}
	if (unpack_finish(&up)) {
		batch_free(c, b);
		return -FFFS_EBADFRAME;
	}
	if (total > max) {
		log_warn("read batch from %s asks for %llu bytes, more than "
			 "rpc_max_bulk (%llu)",
			 rpc_req_peer(req), (unsigned long long)total,
			 (unsigned long long)max);
		batch_free(c, b);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++)
		read_buf_lend(c, &b->hops[i]);
	batch_start(c, b);
	return 0;
}

static void remove_finish(struct core *c, struct batch *b)
{
	size_t cap = 4 + (size_t)b->n * 4;
	uint8_t *body = xmalloc(cap);
	struct pack pk;

	pack_init(&pk, body, cap);
	pack_u32(&pk, b->n);
	for (uint32_t i = 0; i < b->n; i++)
		pack_i32(&pk, b->hops[i].cop.op.status);
	rpc_reply(c, b->req, 0, body, (uint32_t)pack_len(&pk), NULL, 0, NULL,
		  NULL);
	free(body);
	batch_free(c, b);
}

static int h_remove(struct core *c, struct rpc_req *req)
{
	struct unpack up;
	struct batch *b;
	uint32_t n;

	unpack_init(&up, req->body, req->body_len);
	n = unpack_u32(&up);
	/* each chunk: u64 target, u32 chain, chain_ver, u64 inode,
	 * u32 index */
	if (up.err || n > STOR_BATCH_MAX || unpack_left(&up) != n * 28ull)
		return -FFFS_EBADFRAME;
	b = batch_new(c, req, n, remove_finish);
	for (uint32_t i = 0; i < n; i++) {
		struct hop *h = &b->hops[i];
		int rc;

		h->cop.op.kind = SOP_REMOVE;
		rc = hop_address(c, h, &up, true);
		h->cop.op.id.inode = unpack_u64(&up);
		h->cop.op.id.index = unpack_u32(&up);
		if (rc) { /* answered with rc, never started */
			h->cop.op.status = rc;
			h->t = NULL;
			h->refused = true;
		}
	}
	batch_start(c, b);
	return 0;
}

/* ---- answered on the connection's core: last chunk, space, dump
 * --------------------- */

static int h_query_last(struct core *c, struct rpc_req *req)
{
	struct store_target *t;
	uint32_t index, length;
	uint8_t buf[8];
	struct unpack up;
	struct pack pk;
	uint64_t target, inode;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	target = unpack_u64(&up);
	inode = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	t = target_of(target);
	if (!t)
		return -ENODEV;
	rc = store_last(t, inode, &index, &length);
	if (rc)
		return rc;
	pack_init(&pk, buf, sizeof(buf));
	pack_u32(&pk, index);
	pack_u32(&pk, length);
	rpc_reply(c, req, 0, buf, sizeof(buf), NULL, 0, NULL, NULL);
	return 0;
}

static int h_space(struct core *c, struct rpc_req *req)
{
	int n = store_target_count(the_store);
	size_t cap = 4 + (size_t)n * 41;
	uint8_t *buf = xmalloc(cap);
	struct pack pk;

	pack_init(&pk, buf, cap);
	pack_u32(&pk, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		struct store_space sp;

		store_target_space(store_target_at(the_store, i), &sp);
		pack_u64(&pk, sp.id);
		pack_u8(&pk, (uint8_t)sp.state);
		pack_u64(&pk, sp.capacity);
		pack_u64(&pk, sp.used);
		pack_u64(&pk, sp.free);
		pack_u64(&pk, sp.chunks);
	}
	rpc_reply(c, req, 0, buf, (uint32_t)pack_len(&pk), NULL, 0, NULL, NULL);
	free(buf);
	return 0;
}

#define DUMP_ENTRY 40

struct dump {
	struct pack pk;
	uint32_t n, max;
	bool more;
};

static int dump_one(void *arg, const struct chunk_id *id,
		    const struct chunk_meta *m)
{
	struct dump *d = arg;

	if (d->n == d->max) {
		d->more = true;
		return 1;
	}
	pack_u64(&d->pk, id->inode);
	pack_u32(&d->pk, id->index);
	pack_u32(&d->pk, m->length);
	pack_u64(&d->pk, m->committed);
	pack_u64(&d->pk, m->pending);
	pack_u32(&d->pk, m->chain_ver);
	pack_u32(&d->pk, m->crc);
	d->n++;
	return 0;
}

static int h_dump(struct core *c, struct rpc_req *req)
{
	uint32_t limit =
		(uint32_t)((config_int(CFG_rpc_max_body) - 8) / DUMP_ENTRY);
	struct dump d = { .max = 0 };
	struct chunk_id start;
	struct store_target *t;
	struct unpack up;
	uint8_t *buf;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	t = target_of(unpack_u64(&up));
	start.inode = unpack_u64(&up);
	start.index = unpack_u32(&up);
	d.max = unpack_u32(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	if (!t)
		return -ENODEV;
	d.max = d.max && d.max < limit ? d.max : limit;
	buf = xmalloc(8 + (size_t)d.max * DUMP_ENTRY);
	pack_init(&d.pk, buf + 4, (size_t)d.max * DUMP_ENTRY + 4);
	rc = store_scan(t, &start, dump_one, &d);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	pack_u8(&d.pk, d.more);
	buf[0] = (uint8_t)d.n;
	buf[1] = (uint8_t)(d.n >> 8);
	buf[2] = (uint8_t)(d.n >> 16);
	buf[3] = (uint8_t)(d.n >> 24);
	rpc_reply(c, req, 0, buf, (uint32_t)(4 + pack_len(&d.pk)), NULL, 0,
		  NULL, NULL);
	free(buf);
	return 0;
}

const struct rpc_handler storage_handlers[MSG__MAX] = {
	RPC_HANDLER(PEER_SRV_PING, rpc_handle_ping),
	RPC_HANDLER(CLI_STOR_WRITE, h_write),
	RPC_HANDLER(CLI_STOR_READ, h_read),
	RPC_HANDLER(CLI_STOR_REMOVE, h_remove),
	RPC_HANDLER(CLI_STOR_TRUNCATE, h_truncate),
	RPC_HANDLER(CLI_STOR_QUERY_LAST, h_query_last),
	RPC_HANDLER(CLI_STOR_SPACE, h_space),
	RPC_HANDLER(CLI_STOR_DUMP, h_dump),
	RPC_HANDLER(STOR_STOR_FORWARD, h_forward),
	RPC_HANDLER(STOR_STOR_COMMITTED, h_committed),
	RPC_HANDLER(STOR_STOR_SYNC_DONE, craq_h_sync_done),
};
