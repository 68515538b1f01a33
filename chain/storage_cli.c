/* chain/storage_cli.c - storage RPC client: encodes CLI_STOR_* requests,
 * batches reads and removes per peer and loop iteration, checks replies. */
#define LOG_SUBSYS "storcli"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/config.h"
#include "base/crc32c.h"
#include "chain/storage_cli.h"
#include "chain/storage_srv.h"
#include "net/pack.h"

#define READ_RANGE  36 /* request bytes per read range */
#define READ_RESULT 20 /* reply bytes per read range */
#define RM_RANGE    28
#define SPACE_ENT   41
#define DUMP_ENT    40

/* Reads and removes started this iteration for one peer. */
struct stor_queue {
	struct rpc_peer *peer;
	struct stor_read *rhead, **rtail;
	struct stor_remove *xhead, **xtail;
	struct stor_queue *next;
};

/* One CLI_STOR_READ or CLI_STOR_REMOVE in flight. */
struct stor_batch {
	struct rpc_call call;
	struct stor_client *cl;
	uint32_t n;
	struct stor_read *reads; /* in request order */
	struct stor_remove *removes;
	uint8_t *body, *bulk;
};

static void client_flush(struct core *c, struct loop_msg *m);

bool stor_retryable(int status)
{
	switch (status) {
	case -FFFS_ECHAINVER:
	case -FFFS_ENOTHEAD:
	case -FFFS_ENOTSERVING:
	case -FFFS_EFENCED:
	case -FFFS_ESHUTDOWN:
	case -ENODEV:
	case -ETIMEDOUT:
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -ECONNABORTED:
	case -EPIPE:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ENOTCONN:
	case -EAGAIN:
		return true;
	default:
		return false;
	}
}

void stor_client_init(struct stor_client *cl, struct core *c, uint64_t id)
{
	memset(cl, 0, sizeof(*cl));
	cl->c = c;
	while (!id && getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = now_ns() ^ ((uint64_t)getpid() << 32);
	cl->id = id;
	cl->batch_bytes = STOR_BATCH_BYTES;
	cl->flush_msg.cb = client_flush;
}

unsigned stor_client_inflight(const struct stor_client *cl)
{
	return cl->inflight;
}

void stor_client_release(struct stor_client *cl)
{
	FFFS_ASSERT(cl->inflight == 0 && !cl->flush_posted);
	while (cl->queues) {
		struct stor_queue *q = cl->queues;

		cl->queues = q->next;
		free(q);
	}
}

const char *stor_state_name(unsigned state)
{
	if (state == STOR_STATE_SERVING)
		return "serving";
	if (state == STOR_STATE_FAILED)
		return "failed";
	return "unknown";
}

bool stor_dump_next(const struct chunk_id *id, struct chunk_id *next)
{
	if (id->index < UINT32_MAX) {
		*next = (struct chunk_id){ id->inode, id->index + 1 };
		return true;
	}
	if (id->inode == UINT64_MAX)
		return false;
	*next = (struct chunk_id){ id->inode + 1, 0 };
	return true;
}

/* Counted calls are operations of the caller; a batch is not one (its
 * reads or removes are). done() may run before rpc_call_start() returns
 * (a connection that just failed), so count first. */
static int call_start(struct stor_client *cl, struct rpc_peer *p,
		      struct rpc_call *call, uint16_t type, rpc_done_cb done,
		      bool counted)
{
	int rc;

	FFFS_ASSERT(core_self() == cl->c);
	call->type = type;
	call->timeout_ms = cl->timeout_ms;
	call->done = done;
	cl->inflight += counted;
	rc = rpc_call_start(cl->c, p, call);
	if (rc)
		cl->inflight -= counted;
	return rc;
}

/* ---- write and truncate -------------------------------------------------- */

/* The reply of a write or truncate: version, chunk_length, chunk_crc. */
static int single_decode(int status, const void *body, uint32_t len,
			 uint64_t *version, uint32_t *clen, uint32_t *ccrc)
{
	struct unpack up;

	*version = 0;
	*clen = *ccrc = 0;
	if (status)
		return status;
	unpack_init(&up, body, len);
	*version = unpack_u64(&up);
	*clen = unpack_u32(&up);
	*ccrc = unpack_u32(&up);
	return unpack_finish(&up);
}

static void write_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct stor_write *w = fffs_container_of(call, struct stor_write, call);

	w->cl->inflight--;
	w->status = single_decode(status, body, len, &w->version,
				  &w->chunk_length, &w->chunk_crc);
	w->done(c, w);
}

static int write_send(struct stor_client *cl, struct stor_write *w)
{
	struct pack pk;

	if (!w->done || (uint64_t)w->offset + w->length > CHUNK_MAX_LEN ||
	    w->chunk_size > CHUNK_MAX_LEN)
		return -EINVAL;
	pack_init(&pk, w->body, sizeof(w->body));
	pack_u64(&pk, w->target);
	pack_u32(&pk, w->chain);
	pack_u32(&pk, w->chain_ver);
	pack_u64(&pk, w->chunk.inode);
	pack_u32(&pk, w->chunk.index);
	pack_u32(&pk, w->offset);
	pack_u32(&pk, w->length);
	pack_u32(&pk, w->chunk_size);
	pack_u32(&pk, w->crc);
	pack_u64(&pk, cl->id);
	pack_u64(&pk, w->req_id);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == sizeof(w->body));
	memset(&w->call, 0, sizeof(w->call));
	w->cl = cl;
	w->call.body = w->body;
	w->call.body_len = sizeof(w->body);
	w->call.bulk = w->data;
	w->call.bulk_len = w->length;
	return call_start(cl, w->peer, &w->call, MSG_CLI_STOR_WRITE, write_done,
			  true);
}

int stor_write_start(struct stor_client *cl, struct stor_write *w)
{
	w->crc = crc32c(0, w->data, w->length);
	w->req_id = ++cl->last_req;
	return write_send(cl, w);
}

int stor_write_retry(struct stor_client *cl, struct stor_write *w)
{
	FFFS_ASSERT(w->req_id);
	return write_send(cl, w);
}

static void trunc_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct stor_truncate *t =
		fffs_container_of(call, struct stor_truncate, call);

	t->cl->inflight--;
	t->status = single_decode(status, body, len, &t->version,
				  &t->chunk_length, &t->chunk_crc);
	t->done(c, t);
}

static int trunc_send(struct stor_client *cl, struct stor_truncate *t)
{
	struct pack pk;

	if (!t->done || t->length > CHUNK_MAX_LEN ||
	    t->chunk_size > CHUNK_MAX_LEN)
		return -EINVAL;
	pack_init(&pk, t->body, sizeof(t->body));
	pack_u64(&pk, t->target);
	pack_u32(&pk, t->chain);
	pack_u32(&pk, t->chain_ver);
	pack_u64(&pk, t->chunk.inode);
	pack_u32(&pk, t->chunk.index);
	pack_u32(&pk, t->length);
	pack_u32(&pk, t->chunk_size);
	pack_u64(&pk, cl->id);
	pack_u64(&pk, t->req_id);
	FFFS_ASSERT(!pk.err && pack_len(&pk) == sizeof(t->body));
	memset(&t->call, 0, sizeof(t->call));
	t->cl = cl;
	t->call.body = t->body;
	t->call.body_len = sizeof(t->body);
	return call_start(cl, t->peer, &t->call, MSG_CLI_STOR_TRUNCATE,
			  trunc_done, true);
}

int stor_truncate_start(struct stor_client *cl, struct stor_truncate *t)
{
	t->req_id = ++cl->last_req;
	return trunc_send(cl, t);
}

int stor_truncate_retry(struct stor_client *cl, struct stor_truncate *t)
{
	FFFS_ASSERT(t->req_id);
	return trunc_send(cl, t);
}

/* ---- queues of reads and removes ----------------------------------------- */

static struct stor_queue *queue_of(struct stor_client *cl, struct rpc_peer *p)
{
	struct stor_queue *q;

	for (q = cl->queues; q; q = q->next)
		if (q->peer == p)
			return q;
	q = xcalloc(1, sizeof(*q));
	q->peer = p;
	q->rtail = &q->rhead;
	q->xtail = &q->xhead;
	q->next = cl->queues;
	cl->queues = q;
	return q;
}

static void flush_post(struct stor_client *cl)
{
	if (cl->flush_posted)
		return;
	cl->flush_posted = true;
	core_post(cl->c, &cl->flush_msg);
}

int stor_read_start(struct stor_client *cl, struct stor_read *r)
{
	struct stor_queue *q;

	FFFS_ASSERT(core_self() == cl->c);
	if (!r->done)
		return -EINVAL;
	if (r->length > (uint64_t)config_int(CFG_rpc_max_bulk))
		return -EMSGSIZE;
	q = queue_of(cl, r->peer);
	r->next = NULL;
	*q->rtail = r;
	q->rtail = &r->next;
	cl->inflight++;
	flush_post(cl);
	return 0;
}

int stor_remove_start(struct stor_client *cl, struct stor_remove *x)
{
	struct stor_queue *q;

	FFFS_ASSERT(core_self() == cl->c);
	if (!x->done)
		return -EINVAL;
	q = queue_of(cl, x->peer);
	x->next = NULL;
	*q->xtail = x;
	q->xtail = &x->next;
	cl->inflight++;
	flush_post(cl);
	return 0;
}

static void batch_free(struct stor_batch *b)
{
	free(b->body);
	free(b->bulk);
	free(b);
}

/* ---- read batches -------------------------------------------------------- */

static void reads_fail(struct core *c, struct stor_client *cl,
		       struct stor_read *r, int status)
{
	while (r) {
		struct stor_read *next = r->next;

		cl->inflight--;
		r->status = status;
		r->out_length = r->crc = 0;
		r->version = 0;
		r->done(c, r, NULL);
		r = next;
	}
}

/* Check the reply's results against the batch before any done() runs:
 * counts, lengths within the ranges asked for, bulk fully accounted. */
static int read_reply_check(const struct stor_batch *b, const void *body,
			    uint32_t len, uint32_t bulk_len)
{
	const struct stor_read *r = b->reads;
	uint64_t total = 0;
	struct unpack up;

	unpack_init(&up, body, len);
	if (unpack_u32(&up) != b->n ||
	    unpack_left(&up) != (size_t)b->n * READ_RESULT)
		return -FFFS_EBADFRAME;
	for (; r; r = r->next) {
		int32_t st = unpack_i32(&up);
		uint32_t n = unpack_u32(&up);

		unpack_u32(&up);
		unpack_u64(&up);
		if (n > r->length || st > 0 || (st && n))
			return -FFFS_EBADFRAME;
		total += n;
	}
	if (unpack_finish(&up) || total != bulk_len)
		return -FFFS_EBADFRAME;
	return 0;
}

/* One range of a good reply: results, CRC check, done(). Returns the
 * bytes of the bulk it took (r may be gone once done() returned). */
static uint32_t read_deliver(struct core *c, struct stor_read *r,
			     struct unpack *up, const uint8_t *data)
{
	char cs[CHUNK_ID_STRLEN];
	uint32_t took;

	r->status = unpack_i32(up);
	r->out_length = unpack_u32(up);
	r->crc = unpack_u32(up);
	r->version = unpack_u64(up);
	if (!r->status && crc32c(0, data, r->out_length) != r->crc) {
		log_error("checksum mismatch in a read of %s of target %llu "
			  "from %s: range [%u, +%u), server sent crc %08x",
			  chunk_id_str(&r->chunk, cs, sizeof(cs)),
			  (unsigned long long)r->target, rpc_peer_name(r->peer),
			  r->offset, r->out_length, r->crc);
		r->status = -FFFS_ECRC;
	}
	took = r->out_length;
	r->done(c, r, r->status ? NULL : data ? data : (const uint8_t *)"");
	return took;
}

static void read_batch_done(struct core *c, struct rpc_call *call, int status,
			    const void *body, uint32_t len)
{
	struct stor_batch *b = fffs_container_of(call, struct stor_batch, call);
	struct stor_client *cl = b->cl;
	struct stor_read *r = b->reads;
	const uint8_t *data = b->bulk;
	struct unpack up;

	if (!status) {
		status = read_reply_check(b, body, len, call->resp_bulk_len);
		if (status)
			log_warn("malformed read reply from %s",
				 rpc_peer_name(call->peer));
	}
	if (status) {
		reads_fail(c, cl, r, status);
		return batch_free(b);
	}
	unpack_init(&up, body, len);
	unpack_u32(&up);
	while (r) {
		struct stor_read *next = r->next;

		cl->inflight--;
		data += read_deliver(c, r, &up, data);
		r = next;
	}
	batch_free(b);
}

/* Take reads off the queue into one batch: up to STOR_BATCH_MAX ranges
 * and batch_bytes requested bytes, or one read alone (at most
 * rpc_max_bulk, checked at start). */
static struct stor_batch *read_batch_take(struct stor_client *cl,
					  struct stor_queue *q)
{
	uint64_t max = (uint64_t)config_int(CFG_rpc_max_bulk), bytes = 0;
	struct stor_batch *b = xcalloc(1, sizeof(*b));
	struct stor_read **tail = &b->reads;

	if (cl->batch_bytes && cl->batch_bytes < max)
		max = cl->batch_bytes;
	b->cl = cl;
	while (q->rhead && b->n < STOR_BATCH_MAX &&
	       (!b->n || bytes + q->rhead->length <= max)) {
		struct stor_read *r = q->rhead;

		q->rhead = r->next;
		r->next = NULL;
		*tail = r;
		tail = &r->next;
		bytes += r->length;
		b->n++;
	}
	if (!q->rhead)
		q->rtail = &q->rhead;
	b->bulk = bytes ? xmalloc(bytes) : NULL;
	b->call.resp_bulk = b->bulk;
	b->call.resp_bulk_cap = (uint32_t)bytes;
	return b;
}

static void read_batch_send(struct stor_client *cl, struct stor_queue *q)
{
	struct stor_batch *b = read_batch_take(cl, q);
	size_t cap = 4 + (size_t)b->n * READ_RANGE;
	struct pack pk;
	int rc;

	b->body = xmalloc(cap);
	pack_init(&pk, b->body, cap);
	pack_u32(&pk, b->n);
	for (struct stor_read *r = b->reads; r; r = r->next) {
		pack_u64(&pk, r->target);
		pack_u32(&pk, r->chain);
		pack_u32(&pk, r->chain_ver);
		pack_u64(&pk, r->chunk.inode);
		pack_u32(&pk, r->chunk.index);
		pack_u32(&pk, r->offset);
		pack_u32(&pk, r->length);
	}
	FFFS_ASSERT(!pk.err && pack_len(&pk) == cap);
	b->call.body = b->body;
	b->call.body_len = (uint32_t)cap;
	rc = call_start(cl, q->peer, &b->call, MSG_CLI_STOR_READ,
			read_batch_done, false);
	if (!rc)
		return; /* b may be gone already */
	reads_fail(cl->c, cl, b->reads, rc);
	batch_free(b);
}

/* ---- remove batches ------------------------------------------------------ */

static void removes_fail(struct core *c, struct stor_client *cl,
			 struct stor_remove *x, int status)
{
	while (x) {
		struct stor_remove *next = x->next;

		cl->inflight--;
		x->status = status;
		x->done(c, x);
		x = next;
	}
}

static void remove_batch_done(struct core *c, struct rpc_call *call, int status,
			      const void *body, uint32_t len)
{
	struct stor_batch *b = fffs_container_of(call, struct stor_batch, call);
	struct stor_client *cl = b->cl;
	struct stor_remove *x = b->removes;
	struct unpack up;

	unpack_init(&up, body, len);
	if (!status &&
	    (unpack_u32(&up) != b->n || unpack_left(&up) != (size_t)b->n * 4)) {
		log_warn("malformed remove reply from %s",
			 rpc_peer_name(call->peer));
		status = -FFFS_EBADFRAME;
	}
	if (status) {
		removes_fail(c, cl, x, status);
		return batch_free(b);
	}
	while (x) {
		struct stor_remove *next = x->next;

		cl->inflight--;
		x->status = unpack_i32(&up);
		x->done(c, x);
		x = next;
	}
	batch_free(b);
}

static void remove_batch_send(struct stor_client *cl, struct stor_queue *q)
{
	struct stor_batch *b = xcalloc(1, sizeof(*b));
	struct stor_remove **tail = &b->removes;
	struct pack pk;
	size_t cap;
	int rc;

	b->cl = cl;
	while (q->xhead && b->n < STOR_BATCH_MAX) {
		*tail = q->xhead;
		q->xhead = q->xhead->next;
		tail = &(*tail)->next;
		*tail = NULL;
		b->n++;
	}
	if (!q->xhead)
		q->xtail = &q->xhead;
	cap = 4 + (size_t)b->n * RM_RANGE;
	b->body = xmalloc(cap);
	pack_init(&pk, b->body, cap);
	pack_u32(&pk, b->n);
	for (struct stor_remove *x = b->removes; x; x = x->next) {
		pack_u64(&pk, x->target);
		pack_u32(&pk, x->chain);
		pack_u32(&pk, x->chain_ver);
		pack_u64(&pk, x->chunk.inode);
		pack_u32(&pk, x->chunk.index);
	}
	FFFS_ASSERT(!pk.err && pack_len(&pk) == cap);
	b->call.body = b->body;
	b->call.body_len = (uint32_t)cap;
	rc = call_start(cl, q->peer, &b->call, MSG_CLI_STOR_REMOVE,
			remove_batch_done, false);
	if (!rc)
		return;
	removes_fail(cl->c, cl, b->removes, rc);
	batch_free(b);
}

/* End of the loop iteration: send what was queued, per peer. */
static void client_flush(struct core *c, struct loop_msg *m)
{
	struct stor_client *cl =
		fffs_container_of(m, struct stor_client, flush_msg);

	cl->flush_posted = false;
	for (struct stor_queue *q = cl->queues; q; q = q->next) {
		while (q->rhead)
			read_batch_send(cl, q);
		while (q->xhead)
			remove_batch_send(cl, q);
	}
}

/* ---- last chunk, space, dump --------------------------------------------- */

static void query_last_done(struct core *c, struct rpc_call *call, int status,
			    const void *body, uint32_t len)
{
	struct stor_query_last *q =
		fffs_container_of(call, struct stor_query_last, call);
	struct unpack up;

	q->cl->inflight--;
	unpack_init(&up, body, len);
	q->index = status ? 0 : unpack_u32(&up);
	q->length = status ? 0 : unpack_u32(&up);
	q->status = status ? status : unpack_finish(&up);
	q->done(c, q);
}

int stor_query_last_start(struct stor_client *cl, struct stor_query_last *q)
{
	struct pack pk;

	if (!q->done)
		return -EINVAL;
	pack_init(&pk, q->body, sizeof(q->body));
	pack_u64(&pk, q->target);
	pack_u64(&pk, q->inode);
	memset(&q->call, 0, sizeof(q->call));
	q->cl = cl;
	q->call.body = q->body;
	q->call.body_len = sizeof(q->body);
	return call_start(cl, q->peer, &q->call, MSG_CLI_STOR_QUERY_LAST,
			  query_last_done, true);
}

static int space_decode(struct stor_space *s, const void *body, uint32_t len,
			struct stor_space_ent **out)
{
	struct stor_space_ent *e;
	struct unpack up;
	uint32_t n;

	unpack_init(&up, body, len);
	n = unpack_u32(&up);
	if (up.err || unpack_left(&up) != (size_t)n * SPACE_ENT)
		return -FFFS_EBADFRAME;
	e = xcalloc(n ? n : 1, sizeof(*e));
	for (uint32_t i = 0; i < n; i++) {
		e[i].target = unpack_u64(&up);
		e[i].state = unpack_u8(&up);
		e[i].capacity = unpack_u64(&up);
		e[i].used = unpack_u64(&up);
		e[i].free = unpack_u64(&up);
		e[i].chunks = unpack_u64(&up);
	}
	s->n = n;
	*out = e;
	return unpack_finish(&up);
}

static void space_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct stor_space *s = fffs_container_of(call, struct stor_space, call);
	struct stor_space_ent *e = NULL;

	s->cl->inflight--;
	s->n = 0;
	s->status = status ? status : space_decode(s, body, len, &e);
	if (s->status)
		s->n = 0;
	s->ents = e;
	s->done(c, s);
	free(e);
}

int stor_space_start(struct stor_client *cl, struct stor_space *s)
{
	if (!s->done)
		return -EINVAL;
	memset(&s->call, 0, sizeof(s->call));
	s->cl = cl;
	s->ents = NULL;
	return call_start(cl, s->peer, &s->call, MSG_CLI_STOR_SPACE, space_done,
			  true);
}

static int dump_decode(struct stor_dump *d, const void *body, uint32_t len,
		       struct stor_dump_ent **out)
{
	struct stor_dump_ent *e;
	struct unpack up;
	uint32_t n;

	unpack_init(&up, body, len);
	n = unpack_u32(&up);
	if (up.err || unpack_left(&up) != (size_t)n * DUMP_ENT + 1)
		return -FFFS_EBADFRAME;
	e = xcalloc(n ? n : 1, sizeof(*e));
	for (uint32_t i = 0; i < n; i++) {
		e[i].chunk.inode = unpack_u64(&up);
		e[i].chunk.index = unpack_u32(&up);
		e[i].length = unpack_u32(&up);
		e[i].committed = unpack_u64(&up);
		e[i].pending = unpack_u64(&up);
		e[i].chain_ver = unpack_u32(&up);
		e[i].crc = unpack_u32(&up);
	}
	d->more = unpack_u8(&up) != 0;
	d->n = n;
	*out = e;
	return unpack_finish(&up);
}

static void dump_done(struct core *c, struct rpc_call *call, int status,
		      const void *body, uint32_t len)
{
	struct stor_dump *d = fffs_container_of(call, struct stor_dump, call);
	struct stor_dump_ent *e = NULL;

	d->cl->inflight--;
	d->n = 0;
	d->more = false;
	d->status = status ? status : dump_decode(d, body, len, &e);
	if (d->status) {
		d->n = 0;
		d->more = false;
	}
	d->ents = e;
	d->done(c, d);
	free(e);
}

int stor_dump_start(struct stor_client *cl, struct stor_dump *d)
{
	struct pack pk;

	if (!d->done)
		return -EINVAL;
	pack_init(&pk, d->body, sizeof(d->body));
	pack_u64(&pk, d->target);
	pack_u64(&pk, d->start.inode);
	pack_u32(&pk, d->start.index);
	pack_u32(&pk, d->max);
	memset(&d->call, 0, sizeof(d->call));
	d->cl = cl;
	d->ents = NULL;
	d->call.body = d->body;
	d->call.body_len = sizeof(d->body);
	return call_start(cl, d->peer, &d->call, MSG_CLI_STOR_DUMP, dump_done,
			  true);
}
