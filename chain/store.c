/* chain/store.c - the chunk store: targets, chunk locks, read holds, and the
 * write, read, truncate and remove paths on the owner core's io_uring. */
#define LOG_SUBSYS "store"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "base/fault.h"
#include "chain/alloc.h"
#include "chain/store.h"
#include "net/iobuf.h"

#define SEG_MAX (1u << 20) /* copy-on-write moves data a segment at a time */
#define NBUCKET 1024

/* A chunk being written: the op holding it and those waiting. */
struct lock_ent {
	struct chunk_id id;
	struct store_op *head, **tailp;
	struct lock_ent *next;
};

/* A block that reads are using; freed when the last one ends if a write
 * or remove released it meanwhile. */
struct hold_ent {
	uint64_t block;
	uint32_t count;
	int free_class; /* -1: still referenced by metadata */
	struct hold_ent *next;
};

struct store_target {
	struct store *store;
	struct target_dev dev;
	struct metastore *ms;
	struct alloc *alloc;
	int core_idx; /* owner core: loops start after store_open */
	_Atomic int state;
	_Atomic uint64_t capacity, used, chunks;
	struct lock_ent *locks[NBUCKET];
	struct hold_ent *holds[NBUCKET];
	char name[64]; /* "target 65537 ('/srv/t1')" is too long: id only */
};

struct store {
	int n;
	struct store_target *t;
};

static void op_finish(struct core *c, struct store_op *op, int status);

/* ---- open and close ---------------------------------------------------------
 */

static int barrier(void *arg)
{
	struct store_target *t = arg;

	return fdatasync(t->dev.fd) ? -errno : 0;
}

static void space_update(struct store_target *t)
{
	struct alloc_stats st;

	alloc_stats(t->alloc, &st);
	atomic_store(&t->capacity, st.capacity);
	atomic_store(&t->used, st.used);
}

struct rebuild {
	struct store_target *t;
	uint64_t n;
	char *err;
	size_t errlen;
};

static int rebuild_mark(struct rebuild *r, const struct chunk_id *id,
			uint64_t block, uint8_t class)
{
	char cs[64];
	int rc = alloc_mark(r->t->alloc, block, class);

	if (rc)
		snprintf(r->err, r->errlen,
			 "target %llu: chunk metadata is corrupt: %s has "
			 "block %llu of class %u that %s",
			 (unsigned long long)store_target_id(r->t),
			 chunk_id_str(id, cs, sizeof(cs)),
			 (unsigned long long)block, class,
			 rc == -EEXIST ? "overlaps another chunk"
				       : "does not fit the target");
	return rc;
}

static int rebuild_one(void *arg, const struct chunk_id *id,
		       const struct chunk_meta *m)
{
	struct rebuild *r = arg;
	int rc = 0;

	if (m->committed)
		rc = rebuild_mark(r, id, m->block, m->class);
	if (!rc && m->pending && (!m->committed || m->p.block != m->block))
		rc = rebuild_mark(r, id, m->p.block, m->p.class);
	if (!rc)
		r->n++;
	return rc;
}

static int target_load(struct store *s, struct store_target *t,
		       const struct store_params *p, int i, char *err,
		       size_t errlen)
{
	struct metastore_info info = { 0 };
	struct rebuild r = { t, 0, err, errlen };
	struct chunk_id first = { 0, 0 };
	char dir[4200];
	bool created;
	int rc;

	rc = target_open(&p->specs[i], p->cluster,
			 ((uint64_t)p->node_id << 16) | (uint64_t)(i + 1),
			 &t->dev, err, errlen);
	if (rc)
		return rc;
	info.target_id = t->dev.sb.id;
	memcpy(info.uuid, t->dev.sb.uuid, sizeof(info.uuid));
	snprintf(info.cluster, sizeof(info.cluster), "%s", p->cluster);
	snprintf(dir, sizeof(dir), "%s/%llu", p->state_dir,
		 (unsigned long long)t->dev.sb.id);
	rc = metastore_open(dir, &info, p->map_size, barrier, t, &created,
			    &t->ms, err, errlen);
	if (rc)
		goto out_close;
	t->alloc = alloc_new(t->dev.size - t->dev.sb.data_off);
	rc = metastore_scan(t->ms, &first, rebuild_one, &r);
	if (rc)
		goto out_store;
	t->store = s;
	t->core_idx = i % p->ncores;
	snprintf(t->name, sizeof(t->name), "target %llu",
		 (unsigned long long)t->dev.sb.id);
	atomic_store(&t->chunks, r.n);
	space_update(t);
	log_info("%s ('%s') open: %llu chunks, %llu of %llu bytes used%s",
		 t->name, t->dev.path, (unsigned long long)r.n,
		 (unsigned long long)atomic_load(&t->used),
		 (unsigned long long)atomic_load(&t->capacity),
		 t->dev.formatted_now ? ", formatted now" : "");
	return 0;
out_store:
	alloc_destroy(t->alloc);
	metastore_close(t->ms);
out_close:
	target_close(&t->dev);
	return rc;
}

int store_open(const struct store_params *p, struct store **out, char *err,
	       size_t errlen)
{
	struct store *s = xcalloc(1, sizeof(*s));
	int rc = 0;

	s->t = xcalloc((size_t)p->nspecs, sizeof(*s->t));
	for (; s->n < p->nspecs; s->n++) {
		rc = target_load(s, &s->t[s->n], p, s->n, err, errlen);
		if (rc)
			break;
		for (int k = 0; k < s->n && !rc; k++)
			if (s->t[k].dev.sb.id == s->t[s->n].dev.sb.id) {
				snprintf(err, errlen,
					 "targets '%s' and '%s' have the same "
					 "id %llu",
					 s->t[k].dev.path, s->t[s->n].dev.path,
					 (unsigned long long)s->t[k].dev.sb.id);
				rc = -EEXIST;
			}
		if (rc) {
			s->n++;
			break;
		}
	}
	if (rc) {
		store_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	for (int i = 0; i < s->n; i++) {
		struct store_target *t = &s->t[i];

		metastore_close(t->ms);
		alloc_destroy(t->alloc);
		target_close(&t->dev);
		for (int b = 0; b < NBUCKET; b++) {
			FFFS_ASSERT(!t->locks[b]);
			while (t->holds[b]) {
				struct hold_ent *h = t->holds[b];

				t->holds[b] = h->next;
				free(h);
			}
		}
	}
	free(s->t);
	free(s);
}

int store_target_count(const struct store *s)
{
	return s->n;
}

struct store_target *store_target_at(struct store *s, int i)
{
	return &s->t[i];
}

struct store_target *store_target_find(struct store *s, uint64_t id)
{
	for (int i = 0; i < s->n; i++)
		if (s->t[i].dev.sb.id == id)
			return &s->t[i];
	return NULL;
}

struct core *store_target_core(const struct store_target *t)
{
	return core_get(t->core_idx);
}

uint64_t store_target_id(const struct store_target *t)
{
	return t->dev.sb.id;
}

const char *store_target_path(const struct store_target *t)
{
	return t->dev.path;
}

void store_target_space(const struct store_target *t, struct store_space *sp)
{
	sp->id = t->dev.sb.id;
	sp->state = atomic_load(&t->state);
	sp->capacity = atomic_load(&t->capacity);
	sp->used = atomic_load(&t->used);
	sp->free = sp->capacity - sp->used;
	sp->chunks = atomic_load(&t->chunks);
}

int store_meta(struct store_target *t, const struct chunk_id *id,
	       struct chunk_meta *m)
{
	return metastore_get(t->ms, id, m);
}

int store_last(struct store_target *t, uint64_t inode, uint32_t *index,
	       uint32_t *length)
{
	struct chunk_meta m;
	struct chunk_id id;
	int rc = metastore_last(t->ms, inode, &id, &m);

	if (rc)
		return rc;
	*index = id.index;
	*length = m.length;
	chunk_meta_release(&m);
	return 0;
}

int store_scan(struct store_target *t, const struct chunk_id *start,
	       int (*fn)(void *arg, const struct chunk_id *id,
			 const struct chunk_meta *m),
	       void *arg)
{
	return metastore_scan(t->ms, start, fn, arg);
}

/* ---- chunk locks and read holds (owner core only)
 * ------------------------------ */

static unsigned id_bucket(const struct chunk_id *id)
{
	uint64_t h = (id->inode * 0x9E3779B97F4A7C15ull) ^ id->index;

	return (unsigned)((h * 0xBF58476D1CE4E5B9ull) >> 40) % NBUCKET;
}

/* True if op holds the chunk now; else it is queued and resumes later. */
static bool lock_take(struct store_target *t, struct store_op *op)
{
	struct lock_ent **pp = &t->locks[id_bucket(&op->id)], *e;

	for (e = *pp; e; e = e->next) {
		if (e->id.inode != op->id.inode || e->id.index != op->id.index)
			continue;
		op->next = NULL;
		*e->tailp = op;
		e->tailp = &op->next;
		return false;
	}
	e = xcalloc(1, sizeof(*e));
	e->id = op->id;
	e->head = op;
	e->tailp = &op->next;
	op->next = NULL;
	e->next = *pp;
	*pp = e;
	op->locked = true;
	return true;
}

/* Release op's lock; the next waiter, if any, is returned holding it. */
static struct store_op *lock_drop(struct store_target *t, struct store_op *op)
{
	struct lock_ent **pp = &t->locks[id_bucket(&op->id)], *e;
	struct store_op *next;

	for (; (e = *pp); pp = &e->next)
		if (e->head == op)
			break;
	FFFS_ASSERT(e && op->locked);
	op->locked = false;
	next = op->next;
	if (!next) {
		*pp = e->next;
		free(e);
		return NULL;
	}
	e->head = next;
	if (e->tailp == &op->next)
		e->tailp = &e->head; /* unreachable: next exists */
	next->locked = true;
	return next;
}

static unsigned block_bucket(uint64_t block)
{
	return (unsigned)((block >> 16) * 0x9E3779B1u) % NBUCKET;
}

static struct hold_ent **hold_find(struct store_target *t, uint64_t block)
{
	struct hold_ent **pp = &t->holds[block_bucket(block)];

	while (*pp && (*pp)->block != block)
		pp = &(*pp)->next;
	return pp;
}

static void hold_get(struct store_target *t, uint64_t block)
{
	struct hold_ent **pp = hold_find(t, block);

	if (!*pp) {
		*pp = xcalloc(1, sizeof(**pp));
		(*pp)->block = block;
		(*pp)->free_class = -1;
	}
	(*pp)->count++;
}

static void hold_put(struct store_target *t, uint64_t block)
{
	struct hold_ent **pp = hold_find(t, block), *h = *pp;

	FFFS_ASSERT(h && h->count > 0);
	if (--h->count)
		return;
	if (h->free_class >= 0) {
		alloc_put(t->alloc, block, h->free_class);
		space_update(t);
	}
	*pp = h->next;
	free(h);
}

/* The metadata no longer points at block: free it, or when reads still
 * use it, when the last of them ends. */
static void block_release(struct store_target *t, uint64_t block, int class)
{
	struct hold_ent *h = *hold_find(t, block);

	if (h) {
		h->free_class = class;
		return;
	}
	alloc_put(t->alloc, block, class);
	space_update(t);
}

/* ---- data I/O
 * ------------------------------------------------------------------- */

void store_target_fail(struct store_target *t, const struct chunk_id *id,
		       const char *what, int err)
{
	char cs[64];

	if (atomic_exchange(&t->state, TGT_FAILED) == TGT_FAILED)
		return;
	log_error("%s ('%s') failed: %s of %s: %s; the target serves no "
		  "more requests",
		  t->name, t->dev.path, what, chunk_id_str(id, cs, sizeof(cs)),
		  fffs_strerror(err));
}

/* The op's data write begins (store_op.started). */
static void op_started(struct core *c, struct store_op *op)
{
	void (*cb)(struct core * c, struct store_op * op) = op->started;

	op->started = NULL;
	if (cb)
		cb(c, op);
}

/* Read or write len bytes of op->buf (or buf) at byte off of a block. */
static void data_io(struct core *c, struct store_op *op, bool write,
		    const uint8_t *buf, size_t len, uint64_t dev_off,
		    loop_op_cb done)
{
	struct io_uring_sqe *sqe;
	int fd = op->t->dev.fd;

	op->io.done = done;
	op->io.fail = NULL;
	op->seg_len = (uint32_t)len;
	sqe = core_sqe(c, &op->io);
	dev_off += op->t->dev.sb.data_off;
	if (iobuf_fixed(buf, len) && write)
		io_uring_prep_write_fixed(sqe, fd, buf, (unsigned)len, dev_off,
					  0);
	else if (iobuf_fixed(buf, len))
		io_uring_prep_read_fixed(sqe, fd, (void *)buf, (unsigned)len,
					 dev_off, 0);
	else if (write)
		io_uring_prep_write(sqe, fd, buf, (unsigned)len, dev_off);
	else
		io_uring_prep_read(sqe, fd, (void *)buf, (unsigned)len,
				   dev_off);
}

/* 0, or the error that marked the target failed. */
static int io_result(struct store_op *op, int res, const char *what)
{
	if (FAULT(FP_STORE_IO_ERROR))
		res = -EIO;
	if (res >= 0 && (uint32_t)res == op->seg_len)
		return 0;
	res = res < 0 ? res : -EIO; /* a short transfer on a device */
	store_target_fail(op->t, &op->id, what, res);
	return -EIO;
}

static uint8_t *buf_get(struct core *c, struct store_op *op, size_t len)
{
	if (op->buf && op->buf_len >= len)
		return op->buf;
	if (op->buf != op->rbuf)
		iobuf_free_any(c, op->buf);
	op->buf = iobuf_get(c, len);
	if (!op->buf)
		op->buf = xaligned_alloc(4096, len);
	op->buf_len = len;
	return op->buf;
}

static uint32_t page_len(uint32_t length, uint32_t i)
{
	uint32_t left = length - i * CHUNK_PAGE;

	return left < CHUNK_PAGE ? left : CHUNK_PAGE;
}

/* Check the pages [p0, p1) of m that sit in buf (buf holds page p0 first).
 * A mismatch is logged naming target, chunk and page. */
static int pages_verify(struct store_op *op, const struct chunk_meta *m,
			const uint8_t *buf, uint32_t p0, uint32_t p1)
{
	char cs[64];

	for (uint32_t i = p0; i < p1; i++) {
		uint32_t got = crc32c(0, buf + (size_t)(i - p0) * CHUNK_PAGE,
				      page_len(m->length, i));

		if (got == m->page_crc[i])
			continue;
		log_error("checksum error in %s of %s ('%s'), page %u: stored "
			  "%08x, on disk %08x",
			  chunk_id_str(&op->id, cs, sizeof(cs)), op->t->name,
			  op->t->dev.path, i, m->page_crc[i], got);
		return -FFFS_ECRC;
	}
	return 0;
}

static uint32_t chunk_crc(const struct chunk_meta *m)
{
	uint32_t crc = 0;

	for (uint32_t i = 0; i < m->npages; i++)
		crc = crc32c_combine(crc, m->page_crc[i],
				     page_len(m->length, i));
	return crc;
}

/* ---- finishing and resuming
 * ------------------------------------------------------ */

static void write_locked(struct core *c, struct store_op *op);
static void trunc_locked(struct core *c, struct store_op *op);
static void remove_locked(struct core *c, struct store_op *op);
static void commit_locked(struct core *c, struct store_op *op);

static void op_resume(struct core *c, struct store_op *op)
{
	switch (op->kind) {
	case SOP_WRITE:
	case SOP_REPLACE:
		return write_locked(c, op);
	case SOP_TRUNCATE:
		return trunc_locked(c, op);
	case SOP_COMMIT:
	case SOP_ABORT:
		return commit_locked(c, op);
	default:
		return remove_locked(c, op);
	}
}

static void op_finish(struct core *c, struct store_op *op, int status)
{
	struct store_op *next = NULL;

	op->status = status;
	if (op->kind != SOP_READ || status) {
		if (op->buf != op->rbuf)
			iobuf_free_any(c, op->buf);
		op->out_buf = op->out_data = NULL;
	}
	op->buf = NULL;
	chunk_meta_release(&op->old);
	chunk_meta_release(&op->nu);
	if (op->locked)
		next = lock_drop(op->t, op);
	core_unhold(c);
	op->done(c, op);
	if (next)
		op_resume(c, next);
}

/* Look the chunk up; true when the op is already answered (error, or a
 * retry of the request the chunk last committed). */
static bool op_lookup(struct core *c, struct store_op *op)
{
	int rc = metastore_get(op->t->ms, &op->id, &op->old);

	op->have_rec = rc == 0;
	op->have_old = op->have_rec && op->old.committed;
	if (rc && rc != -ENOENT) {
		op_finish(c, op, rc);
		return true;
	}
	op->version = op->have_rec ? op->old.committed : 0;
	op->out_pending = op->have_rec ? op->old.pending : 0;
	if (op->have_rec && op->client && op->old.req_client == op->client &&
	    op->old.req_id == op->req_id) {
		op->version = op->old.req_version;
		op->out_length = op->old.length;
		op->out_crc = op->old.crc;
		op_finish(c, op, op->old.req_status);
		return true;
	}
	return false;
}

/* ---- commit
 * ------------------------------------------------------------------------ */

/* The metadata no longer names block (of a version the op replaced):
 * free it unless the new record still uses it. */
static void release_unless(struct store_target *t, uint64_t block, int class,
			   const struct chunk_meta *nu)
{
	if (nu->committed && block == nu->block)
		return;
	if (nu->pending && block == nu->p.block)
		return;
	block_release(t, block, class);
}

/* After a put of op->nu over op->old: free what only the old one used. */
static void blocks_retire(struct store_target *t, const struct store_op *op)
{
	const struct chunk_meta *o = &op->old;

	if (!op->have_rec)
		return;
	if (o->committed)
		release_unless(t, o->block, o->class, &op->nu);
	if (o->pending && !(o->committed && o->p.block == o->block))
		release_unless(t, o->p.block, o->p.class, &op->nu);
}

static void commit_done(struct core *c, struct loop_msg *m)
{
	struct store_op *op = fffs_container_of(m, struct store_op, ms.msg);
	struct store_target *t = op->t;
	int rc = op->ms.result;

	if (rc) {
		if (op->cow)
			alloc_put(t->alloc, op->nblock, op->nclass);
		space_update(t);
		return op_finish(c, op, rc);
	}
	blocks_retire(t, op);
	if (!op->have_rec)
		atomic_fetch_add(&t->chunks, 1);
	space_update(t);
	op->version = op->nu.committed;
	op->out_pending = op->nu.pending;
	op->out_length = op->nu.pending ? op->nu.p.length : op->nu.length;
	op->out_crc = op->nu.pending ? op->nu.p.crc : op->nu.crc;
	op_finish(c, op, 0);
}

static void meta_put(struct core *c, struct store_op *op)
{
	op->ms.kind = MSOP_PUT;
	op->ms.id = op->id;
	op->ms.meta = op->nu;
	op->ms.core = c;
	op->ms.msg.cb = commit_done;
	metastore_submit(op->t->ms, &op->ms);
}

/* The new content in op->nu becomes the pending version set_pending; the
 * committed version (if any) stays as it is. */
static void commit_pending(struct core *c, struct store_op *op)
{
	struct chunk_meta *nu = &op->nu;
	struct chunk_pend p = { nu->block,  nu->class,	   nu->length,
				nu->crc,    op->chain_ver, op->client,
				op->req_id, nu->npages,	   nu->page_crc };

	nu->page_crc = NULL; /* moved to p */
	chunk_meta_release(nu);
	memset(nu, 0, sizeof(*nu));
	if (op->have_old) {
		chunk_meta_copy(nu, &op->old);
		chunk_meta_drop_pending(nu);
	}
	nu->pending = op->set_pending;
	nu->p = p;
	meta_put(c, op);
}

static void commit(struct core *c, struct store_op *op)
{
	struct chunk_meta *nu = &op->nu;

	nu->crc = chunk_crc(nu);
	if (op->versioned && op->set_pending)
		return commit_pending(c, op);
	nu->committed = op->versioned
				? op->set_version
				: (op->have_old ? op->old.committed : 0) + 1;
	nu->pending = 0;
	if (op->versioned)
		nu->chain_ver = op->chain_ver;
	else
		nu->chain_ver = op->have_rec ? op->old.chain_ver : 0;
	nu->req_client = op->client;
	nu->req_id = op->req_id;
	nu->req_status = 0;
	nu->req_version = nu->committed;
	meta_put(c, op);
}

/* SOP_COMMIT, and a versioned commit of what the chunk holds pending: the
 * pending version becomes the committed one. */
static void promote(struct core *c, struct store_op *op)
{
	struct chunk_meta *nu = &op->nu;
	struct chunk_pend *p = &op->old.p;

	chunk_meta_copy(nu, &op->old);
	free(nu->page_crc);
	nu->block = p->block;
	nu->class = p->class;
	nu->length = p->length;
	nu->crc = p->crc;
	nu->npages = p->npages;
	nu->page_crc = nu->p.page_crc; /* the copy's */
	nu->p.page_crc = NULL;
	nu->committed = op->old.pending;
	nu->chain_ver = op->chain_ver ? op->chain_ver : p->chain_ver;
	nu->req_client = p->req_client;
	nu->req_id = p->req_id;
	nu->req_status = 0;
	nu->req_version = nu->committed;
	chunk_meta_drop_pending(nu);
	op->cow = false;
	meta_put(c, op);
}

static void remove_done(struct core *c, struct loop_msg *m);

/* SOP_ABORT: forget the pending version; a chunk with nothing committed
 * goes altogether. */
static void abort_pending(struct core *c, struct store_op *op)
{
	if (op->old.pending != op->set_version)
		return op_finish(c, op, -ENOENT);
	if (!op->old.committed) {
		op->ms.kind = MSOP_DEL;
		op->ms.id = op->id;
		op->ms.core = c;
		op->ms.msg.cb = remove_done;
		metastore_submit(op->t->ms, &op->ms);
		return;
	}
	chunk_meta_copy(&op->nu, &op->old);
	chunk_meta_drop_pending(&op->nu);
	op->cow = false;
	meta_put(c, op);
}

static void commit_locked(struct core *c, struct store_op *op)
{
	if (atomic_load(&op->t->state) == TGT_FAILED)
		return op_finish(c, op, -EIO);
	op->client = 0; /* no request to look up */
	if (op_lookup(c, op))
		return;
	if (!op->have_rec)
		return op_finish(c, op, -ENOENT);
	if (op->kind == SOP_ABORT)
		return abort_pending(c, op);
	if (op->old.committed >= op->set_version)
		return op_finish(c, op, 0);
	if (op->old.pending != op->set_version)
		return op_finish(c, op, -ENOENT);
	promote(c, op);
}

/* Plain writes refuse a chunk with a pending version; versioned ones
 * check their base, and find a retry of the request that made the
 * pending version. True when the op is answered. */
static bool version_check(struct core *c, struct store_op *op)
{
	const struct chunk_meta *m = &op->old;
	uint64_t want = op->set_pending ? op->set_pending : op->set_version;
	bool same = op->have_rec && m->pending && op->client &&
		    m->p.req_client == op->client && m->p.req_id == op->req_id;

	if (!op->versioned) {
		if (!op->have_rec || !m->pending)
			return false;
		op_finish(c, op, -EBUSY); /* op is the caller's again */
		return true;
	}
	if (same && m->pending == want && op->kind != SOP_REPLACE) {
		if (!op->set_pending) {
			promote(c, op); /* the tail commits what it held */
			return true;
		}
		op->out_length = m->p.length;
		op->out_crc = m->p.crc;
		op_finish(c, op, 0);
		return true;
	}
	if (op->kind != SOP_REPLACE &&
	    (op->have_old ? m->committed : 0) != op->base_ver) {
		op_finish(c, op, -FFFS_EVERSION);
		return true;
	}
	return false;
}

/* ---- writes
 * ------------------------------------------------------------------------ */

/* Length of the content a write builds on: the committed version, or
 * nothing for a replacement. */
static uint32_t base_len(const struct store_op *op)
{
	return op->have_old && !op->fresh ? op->old.length : 0;
}

static void new_pages(struct store_op *op, uint32_t new_len)
{
	struct chunk_meta *nu = &op->nu;
	uint32_t keep = op->cow || !op->have_old ? 0 : op->old.npages;

	nu->length = new_len;
	nu->npages = chunk_pages(new_len);
	if (keep > nu->npages)
		keep = nu->npages; /* a shrink keeps only what remains */
	nu->page_crc = xcalloc(nu->npages ? nu->npages : 1, sizeof(uint32_t));
	if (keep)
		memcpy(nu->page_crc, op->old.page_crc, keep * sizeof(uint32_t));
}

/* CRCs of the pages of [pos, pos + len) of the new chunk, found in buf. */
static void pages_sum(struct store_op *op, const uint8_t *buf, uint32_t pos,
		      uint32_t len)
{
	struct chunk_meta *nu = &op->nu;

	for (uint32_t i = pos / CHUNK_PAGE;
	     i < nu->npages && i * CHUNK_PAGE < pos + len; i++)
		nu->page_crc[i] =
			crc32c(0, buf + (size_t)(i * CHUNK_PAGE - pos),
			       page_len(nu->length, i));
}

/* Put the new bytes falling in [pos, pos + len) into buf (which holds
 * that span of the chunk). */
static void overlay(struct store_op *op, uint8_t *buf, uint32_t pos,
		    uint32_t len)
{
	uint32_t a = op->woff > pos ? op->woff : pos;
	uint32_t b = op->woff + op->wlen < pos + len ? op->woff + op->wlen
						     : pos + len;

	if (a >= b)
		return;
	if (op->wdata)
		memcpy(buf + (a - pos), op->wdata + (a - op->woff), b - a);
	else
		memset(buf + (a - pos), 0, b - a);
}

static void cow_next(struct core *c, struct store_op *op);

static void cow_written(struct core *c, struct loop_op *io, int res)
{
	struct store_op *op = fffs_container_of(io, struct store_op, io);
	int rc = io_result(op, res, "write");

	if (rc) {
		alloc_put(op->t->alloc, op->nu.block, op->nu.class);
		return op_finish(c, op, rc);
	}
	op->seg += op->seg_len;
	cow_next(c, op);
}

/* buf holds what the segment kept of the old chunk; add the new bytes,
 * zero the rest, checksum the pages, write the segment to the new block. */
static void cow_fill(struct core *c, struct store_op *op, uint32_t len)
{
	uint32_t old_len = base_len(op);
	uint32_t keep = old_len > op->seg ? old_len - op->seg : 0;

	if (keep < len)
		memset(op->buf + keep, 0, len - keep);
	overlay(op, op->buf, op->seg, len);
	pages_sum(op, op->buf, op->seg, len);
	data_io(c, op, true, op->buf, len, op->nu.block + op->seg, cow_written);
}

/* Bytes of the segment starting at op->seg: whole pages, at most SEG_MAX. */
static uint32_t seg_span(const struct store_op *op)
{
	uint32_t end = chunk_pages(op->nu.length) * CHUNK_PAGE;

	return end - op->seg < SEG_MAX ? end - op->seg : SEG_MAX;
}

static void cow_read(struct core *c, struct loop_op *io, int res)
{
	struct store_op *op = fffs_container_of(io, struct store_op, io);
	uint32_t p0 = op->seg / CHUNK_PAGE;
	int rc = io_result(op, res, "read");

	hold_put(op->t, op->old.block);
	if (!rc)
		rc = pages_verify(op, &op->old, op->buf, p0,
				  p0 + op->seg_len / CHUNK_PAGE);
	if (rc) {
		alloc_put(op->t->alloc, op->nu.block, op->nu.class);
		return op_finish(c, op, rc);
	}
	cow_fill(c, op, seg_span(op));
}

/* Build the new block a segment at a time: old bytes, new bytes, zeroes. */
static void cow_next(struct core *c, struct store_op *op)
{
	uint32_t end = chunk_pages(op->nu.length) * CHUNK_PAGE;
	uint32_t len = seg_span(op);
	uint32_t old_len = base_len(op), rd;

	if (op->seg >= end)
		return commit(c, op);
	buf_get(c, op, SEG_MAX);
	if (op->seg >= old_len)
		return cow_fill(c, op, len);
	rd = old_len - op->seg < len ? old_len - op->seg : len;
	rd = chunk_pages(rd) * CHUNK_PAGE;
	hold_get(op->t, op->old.block);
	data_io(c, op, false, op->buf, rd, op->old.block + op->seg, cow_read);
}

static void inplace_written(struct core *c, struct loop_op *io, int res)
{
	struct store_op *op = fffs_container_of(io, struct store_op, io);
	int rc = io_result(op, res, "write");

	if (rc)
		return op_finish(c, op, rc);
	commit(c, op);
}

/* Append at a page-aligned end: write [old_len, new end) in place; the
 * committed pages are not rewritten. */
static void write_inplace(struct core *c, struct store_op *op)
{
	uint32_t from = op->old.length;
	uint32_t len = chunk_pages(op->nu.length) * CHUNK_PAGE - from;
	const uint8_t *src = op->wdata;

	if (len == 0)
		return commit(c, op);
	if (!src || op->woff != from) {
		buf_get(c, op, len);
		memset(op->buf, 0, len);
		overlay(op, op->buf, from, len);
		src = op->buf;
	}
	pages_sum(op, src, from, len);
	data_io(c, op, true, src, len, op->nu.block + from, inplace_written);
}

/* The payload must match the CRC its writer sent before anything of it
 * is stored. */
static int payload_check(struct store_op *op, uint32_t crc)
{
	char cs[64];

	if (crc == op->crc)
		return 0;
	log_warn("write to %s of %s: payload checksum %08x, the writer sent "
		 "%08x",
		 chunk_id_str(&op->id, cs, sizeof(cs)), op->t->name, crc,
		 op->crc);
	return -FFFS_ECRC;
}

/* The new content is exactly the payload (from offset 0, covering all the
 * old bytes): write it straight from the received buffer, which is zero-
 * padded to whole pages, and check its CRC from the page CRCs. */
static void write_whole(struct core *c, struct store_op *op)
{
	uint32_t len = chunk_pages(op->wlen) * CHUNK_PAGE;
	int rc;

	pages_sum(op, op->wdata, 0, len);
	rc = payload_check(op, chunk_crc(&op->nu));
	if (rc) {
		alloc_put(op->t->alloc, op->nu.block, op->nu.class);
		return op_finish(c, op, rc);
	}
	op_started(c, op);
	if (len == 0)
		return commit(c, op);
	op->seg = 0;
	data_io(c, op, true, op->wdata, len, op->nu.block, cow_written);
}

/* Holding the chunk lock and its metadata: plan the write. */
static void write_plan(struct core *c, struct store_op *op)
{
	uint32_t old_len = base_len(op);
	uint32_t end = op->woff + op->wlen;
	uint32_t new_len = end > old_len ? end : old_len;
	uint32_t cap = op->chunk_size > new_len ? op->chunk_size : new_len;
	int class = alloc_class_for(cap);

	FFFS_ASSERT(class > 0);
	op->cow = !(op->have_old && !op->fresh &&
		    (1u << op->old.class) >= new_len && op->woff >= old_len &&
		    old_len % CHUNK_PAGE == 0 && !op->old.pending);
	if (op->cow) {
		op->nu.class = (uint8_t) class;
		if (alloc_get(op->t->alloc, class, &op->nu.block)) {
			space_update(op->t);
			return op_finish(c, op, -ENOSPC);
		}
		op->nblock = op->nu.block;
		op->nclass = op->nu.class;
	} else {
		op->nu.class = op->old.class;
		op->nu.block = op->old.block;
	}
	new_pages(op, new_len);
	if (op->cow && op->wdata && op->woff == 0 && op->wlen >= old_len)
		return write_whole(c, op);
	if (op->wdata) {
		int rc = payload_check(op, crc32c(0, op->wdata, op->wlen));

		if (rc) {
			if (op->cow)
				alloc_put(op->t->alloc, op->nu.block,
					  op->nu.class);
			return op_finish(c, op, rc);
		}
	}
	op_started(c, op);
	if (op->cow) {
		op->seg = 0;
		return cow_next(c, op);
	}
	write_inplace(c, op);
}

static void write_locked(struct core *c, struct store_op *op)
{
	if (atomic_load(&op->t->state) == TGT_FAILED)
		return op_finish(c, op, -EIO);
	if (op_lookup(c, op) || version_check(c, op))
		return;
	op->woff = op->offset;
	op->wlen = op->length;
	op->wdata = op->data;
	if (op->kind == SOP_REPLACE)
		op->fresh = true; /* the new content is the data alone */
	write_plan(c, op);
}

static int write_check(struct store_op *op)
{
	uint64_t end = (uint64_t)op->offset + op->length;
	char cs[64];

	if (op->chunk_size > CHUNK_MAX_LEN || end > CHUNK_MAX_LEN ||
	    (op->chunk_size && end > op->chunk_size)) {
		log_warn("write to %s of %s: range [%u, %llu) is outside the "
			 "chunk (size %u, at most %u)",
			 chunk_id_str(&op->id, cs, sizeof(cs)), op->t->name,
			 op->offset, (unsigned long long)end, op->chunk_size,
			 CHUNK_MAX_LEN);
		return -EINVAL;
	}
	return 0;
}

/* ---- truncate and remove
 * ------------------------------------------------------------ */

static void trunc_read(struct core *c, struct loop_op *io, int res)
{
	struct store_op *op = fffs_container_of(io, struct store_op, io);
	uint32_t last = op->length / CHUNK_PAGE;
	int rc = io_result(op, res, "read");

	hold_put(op->t, op->old.block);
	if (!rc)
		rc = pages_verify(op, &op->old, op->buf, last, last + 1);
	if (rc)
		return op_finish(c, op, rc);
	op->nu.page_crc[last] = crc32c(0, op->buf, op->length % CHUNK_PAGE);
	commit(c, op);
}

/* Shrink: the block stays; the page that becomes the last is re-summed
 * over its remaining bytes. */
static void trunc_shrink(struct core *c, struct store_op *op)
{
	uint32_t last = op->length / CHUNK_PAGE;

	op->cow = false;
	op->nu.class = op->old.class;
	op->nu.block = op->old.block;
	new_pages(op, op->length);
	if (op->length % CHUNK_PAGE == 0)
		return commit(c, op);
	buf_get(c, op, CHUNK_PAGE);
	hold_get(op->t, op->old.block);
	data_io(c, op, false, op->buf, CHUNK_PAGE,
		op->old.block + (uint64_t)last * CHUNK_PAGE, trunc_read);
}

static void trunc_locked(struct core *c, struct store_op *op)
{
	uint32_t old_len;

	if (atomic_load(&op->t->state) == TGT_FAILED)
		return op_finish(c, op, -EIO);
	if (op_lookup(c, op) || version_check(c, op))
		return;
	old_len = op->have_old ? op->old.length : 0;
	/* a versioned truncate makes a version even when nothing changes:
	 * every replica must reach the same version */
	if (op->have_old && op->length == old_len && !op->versioned) {
		op->version = op->old.committed;
		op->out_length = old_len;
		op->out_crc = op->old.crc;
		return op_finish(c, op, 0);
	}
	if (!op->have_old && op->length == 0 && !op->versioned)
		return op_finish(c, op, 0);
	if (op->length < old_len)
		return trunc_shrink(c, op);
	op->woff = old_len; /* grow: a write of zeroes */
	op->wlen = op->length - old_len;
	op->wdata = NULL;
	write_plan(c, op);
}

static void remove_done(struct core *c, struct loop_msg *m)
{
	struct store_op *op = fffs_container_of(m, struct store_op, ms.msg);

	if (!op->ms.result) {
		memset(&op->nu, 0, sizeof(op->nu)); /* nothing is kept */
		blocks_retire(op->t, op);
		atomic_fetch_sub(&op->t->chunks, 1);
		op->version = op->old.committed;
		op->out_pending = 0;
	}
	op_finish(c, op, op->ms.result);
}

static void remove_locked(struct core *c, struct store_op *op)
{
	int rc;

	if (atomic_load(&op->t->state) == TGT_FAILED)
		return op_finish(c, op, -EIO);
	rc = metastore_get(op->t->ms, &op->id, &op->old);
	if (rc)
		return op_finish(c, op, rc);
	op->have_rec = true;
	op->ms.kind = MSOP_DEL;
	op->ms.id = op->id;
	op->ms.core = c;
	op->ms.msg.cb = remove_done;
	metastore_submit(op->t->ms, &op->ms);
}

/* ---- reads
 * ------------------------------------------------------------------------- */

/* CRC of the bytes returned. A range made of whole verified pages (the
 * last may be the chunk's short last page) combines their stored CRCs
 * instead of reading the data a second time. */
static uint32_t range_crc(const struct store_op *op)
{
	const struct chunk_meta *m = &op->old;
	uint32_t end = op->offset + op->out_length, crc = 0;

	if (op->offset % CHUNK_PAGE || (end % CHUNK_PAGE && end != m->length))
		return crc32c(0, op->out_data, op->out_length);
	if (op->offset == 0 && end == m->length)
		return m->crc;
	for (uint32_t i = op->offset / CHUNK_PAGE; i < chunk_pages(end); i++)
		crc = crc32c_combine(crc, m->page_crc[i],
				     page_len(m->length, i));
	return crc;
}

static void read_done(struct core *c, struct loop_op *io, int res)
{
	struct store_op *op = fffs_container_of(io, struct store_op, io);
	uint32_t p0 = op->offset / CHUNK_PAGE;
	int rc = io_result(op, res, "read");

	hold_put(op->t, op->old.block);
	if (!rc)
		rc = pages_verify(op, &op->old, op->buf, p0,
				  p0 + op->seg_len / CHUNK_PAGE);
	if (rc)
		return op_finish(c, op, rc);
	op->out_buf = op->buf != op->rbuf ? op->buf : NULL;
	op->out_data = op->buf + (op->offset - p0 * CHUNK_PAGE);
	op->out_crc = range_crc(op);
	op->version = op->old.committed;
	op_finish(c, op, 0);
}

/* Make m describe its pending version where it describes the committed
 * one (both page CRC arrays stay owned by m). */
static void view_pending(struct chunk_meta *m)
{
	uint32_t *crcs = m->page_crc, n = m->npages;

	m->block = m->p.block;
	m->class = m->p.class;
	m->length = m->p.length;
	m->crc = m->p.crc;
	m->page_crc = m->p.page_crc;
	m->npages = m->p.npages;
	m->p.page_crc = crcs;
	m->p.npages = n;
	m->committed = m->pending;
}

static void read_start(struct core *c, struct store_op *op)
{
	uint32_t p0, p1;
	int rc;

	if (atomic_load(&op->t->state) == TGT_FAILED)
		return op_finish(c, op, -EIO);
	rc = metastore_get(op->t->ms, &op->id, &op->old);
	if (rc)
		return op_finish(c, op, rc);
	op->have_rec = op->have_old = true;
	op->out_pending = op->old.pending;
	if (op->want_version && op->want_version == op->old.pending)
		view_pending(&op->old);
	else if (op->want_version && op->want_version != op->old.committed)
		return op_finish(c, op, -FFFS_EVERSION);
	else if (!op->old.committed)
		return op_finish(c, op, -ENOENT); /* a pending version only */
	op->version = op->old.committed;
	if (op->offset >= op->old.length || op->length == 0) {
		op->out_length = 0;
		return op_finish(c, op, 0);
	}
	op->out_length = op->old.length - op->offset < op->length
				 ? op->old.length - op->offset
				 : op->length;
	p0 = op->offset / CHUNK_PAGE;
	p1 = chunk_pages(op->offset + op->out_length);
	buf_get(c, op, (size_t)(p1 - p0) * CHUNK_PAGE);
	hold_get(op->t, op->old.block);
	data_io(c, op, false, op->buf, (size_t)(p1 - p0) * CHUNK_PAGE,
		op->old.block + (uint64_t)p0 * CHUNK_PAGE, read_done);
}

/* ---- submission
 * -------------------------------------------------------------------- */

void store_submit(struct core *c, struct store_target *t, struct store_op *op)
{
	int rc = 0;

	FFFS_ASSERT(core_id(c) == t->core_idx && op->done);
	core_hold(c);
	op->t = t;
	op->locked = false;
	op->buf = op->rbuf;
	op->buf_len = op->rbuf ? op->rbuf_len : 0;
	op->out_buf = op->out_data = NULL;
	op->version = op->out_pending = 0;
	op->out_length = op->out_crc = 0;
	op->have_rec = op->have_old = op->cow = op->fresh = false;
	memset(&op->old, 0, sizeof(op->old));
	memset(&op->nu, 0, sizeof(op->nu));
	if (op->kind == SOP_READ)
		return read_start(c, op);
	if (op->kind == SOP_REPLACE) {
		op->versioned = true;
		rc = op->offset ? -EINVAL : 0;
	}
	if (!rc && (op->kind == SOP_WRITE || op->kind == SOP_REPLACE))
		rc = write_check(op);
	else if (op->kind == SOP_TRUNCATE &&
		 (op->length > CHUNK_MAX_LEN ||
		  op->chunk_size > CHUNK_MAX_LEN ||
		  (op->chunk_size && op->length > op->chunk_size)))
		rc = -EINVAL;
	if (rc)
		return op_finish(c, op, rc);
	if (lock_take(t, op))
		op_resume(c, op);
}
