/* fuse/fdata.c - byte ranges of a file as parallel chunk operations on
 * its chains, and a file's length from its chains' last chunks. */
#define LOG_SUBSYS "fdata"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "chain/chunkmeta.h"
#include "fuse/fdata.h"
#include "mgmt/agent.h"

struct fdata_piece {
	struct fdata_io *io;
	uint32_t pos, len; /* its bytes: buf[pos, pos + len) */
	union {
		struct craq_write w;
		struct craq_read r;
	} u;
};

struct fdata_len_q {
	struct fdata_length *q;
	struct stor_query_last sq;
};

uint32_t fdata_chunk_chain(const struct routing *r, const struct ns_layout *l,
			   uint64_t index)
{
	const struct rt_table *t = r ? routing_table(r, l->table) : NULL;

	if (!t || !t->n)
		return 0;
	return t->chains[ns_chunk_chain(l, t->n, index)];
}

/* ---- reads and writes ---------------------------------------------------- */

static void io_finish(struct core *c, struct fdata_io *io)
{
	free(io->pieces);
	io->pieces = NULL;
	if (!io->status && io->write)
		io->end = io->offset + io->length;
	io->done(c, io);
}

static void io_posted(struct core *c, struct loop_msg *m)
{
	io_finish(c, fffs_container_of(m, struct fdata_io, msg));
}

/* Finish an io that started no chunk operation, outside the start call. */
static int io_post(struct craq_client *cl, struct fdata_io *io, int status)
{
	io->status = status;
	io->msg.cb = io_posted;
	core_post(cl->c, &io->msg);
	return 0;
}

static void piece_end(struct core *c, struct fdata_piece *p, int status)
{
	struct fdata_io *io = p->io;

	if (status && !io->status)
		io->status = status;
	if (--io->pending == 0)
		io_finish(c, io);
}

static void write_done(struct core *c, struct craq_write *w)
{
	struct fdata_piece *p = fffs_container_of(w, struct fdata_piece, u.w);

	if (w->status)
		log_warn("file %llu: writing chunk %u failed: %s",
			 (unsigned long long)w->chunk.inode, w->chunk.index,
			 fffs_strerror(w->status));
	piece_end(c, p, w->status);
}

static void read_done(struct core *c, struct craq_read *r, const uint8_t *data)
{
	struct fdata_piece *p = fffs_container_of(r, struct fdata_piece, u.r);
	uint8_t *dst = p->io->buf + p->pos;
	uint32_t got = 0;
	int status = r->status;

	if (!status) {
		got = r->out_length < p->len ? r->out_length : p->len;
		memcpy(dst, data, got);
	} else if (status == -ENOENT) {
		status = 0; /* a hole */
	} else {
		log_warn("file %llu: reading chunk %u failed: %s",
			 (unsigned long long)r->chunk.inode, r->chunk.index,
			 fffs_strerror(status));
	}
	if (!status)
		memset(dst + got, 0, p->len - got);
	piece_end(c, p, status);
}

static int piece_start(struct craq_client *cl, struct fdata_io *io,
		       struct fdata_piece *p, uint32_t chain, uint64_t index,
		       uint32_t in_chunk)
{
	struct chunk_id id = { io->ino, (uint32_t)index };

	if (io->write) {
		struct craq_write *w = &p->u.w;

		w->kind = CRAQ_CLI_WRITE;
		w->chain = chain;
		w->chunk = id;
		w->offset = in_chunk;
		w->length = p->len;
		w->chunk_size = io->layout.chunk_size;
		w->data = io->buf + p->pos;
		w->done = write_done;
		return craq_write_start(cl, w);
	}
	p->u.r.chain = chain;
	p->u.r.chunk = id;
	p->u.r.offset = in_chunk;
	p->u.r.length = p->len;
	p->u.r.done = read_done;
	return craq_read_start(cl, &p->u.r);
}

int fdata_start(struct craq_client *cl, struct fdata_io *io)
{
	uint64_t cs = io->layout.chunk_size, first, last, end;
	struct routing *r;
	uint32_t len = io->length;
	int rc = 0;

	io->cl = cl;
	io->status = 0;
	io->done_bytes = 0;
	io->end = 0;
	io->pieces = NULL;
	io->pending = 0;
	if (!io->write) {
		/* clip to the file's length */
		if (io->offset >= io->size)
			len = 0;
		else if (io->size - io->offset < len)
			len = (uint32_t)(io->size - io->offset);
	}
	if (!len)
		return io_post(cl, io, 0);
	if (!io->layout.table) {
		if (io->write)
			return io_post(cl, io, -ENOSPC);
		memset(io->buf, 0, len);
		io->done_bytes = len;
		return io_post(cl, io, 0);
	}
	if (cs < CHUNK_PAGE || (cs & (cs - 1)) || cs > CHUNK_MAX_LEN)
		return -EINVAL;
	end = io->offset + len;
	first = io->offset / cs;
	last = (end - 1) / cs;
	if (last - first + 1 > FDATA_MAX_CHUNKS || last > UINT32_MAX)
		return -EINVAL;
	r = agent_routing();
	if (!r || !fdata_chunk_chain(r, &io->layout, first)) {
		log_warn("file %llu: its chain table %u is not in the routing "
			 "info",
			 (unsigned long long)io->ino, io->layout.table);
		routing_unref(r);
		return io_post(cl, io, -EIO);
	}
	io->npieces = (unsigned)(last - first + 1);
	io->pieces = xcalloc(io->npieces, sizeof(*io->pieces));
	/* one reference for the loop below: no piece may finish the io
	 * before every piece has started */
	io->pending = io->npieces + 1;
	io->done_bytes = len;
	for (uint64_t i = first; i <= last; i++) {
		struct fdata_piece *p = &io->pieces[i - first];
		uint64_t lo = i == first ? io->offset : i * cs;
		uint64_t hi = i == last ? end : (i + 1) * cs;

		p->io = io;
		p->pos = (uint32_t)(lo - io->offset);
		p->len = (uint32_t)(hi - lo);
		rc = piece_start(cl, io, p,
				 fdata_chunk_chain(r, &io->layout, i), i,
				 (uint32_t)(lo - i * cs));
		if (rc) {
			/* a malformed piece cannot happen with the checks
			 * above; count it as failed */
			if (!io->status)
				io->status = rc;
			io->pending--;
		}
	}
	routing_unref(r);
	io->pending--;
	if (!io->pending) {
		/* every piece refused to start: finish outside this call */
		free(io->pieces);
		io->pieces = NULL;
		return io_post(cl, io, io->status);
	}
	return 0;
}

/* ---- length -------------------------------------------------------------- */

static void len_finish(struct core *c, struct fdata_length *q)
{
	free(q->qs);
	q->qs = NULL;
	q->done(c, q);
}

static void len_posted(struct core *c, struct loop_msg *m)
{
	len_finish(c, fffs_container_of(m, struct fdata_length, msg));
}

static void last_done(struct core *c, struct stor_query_last *sq)
{
	struct fdata_len_q *lq = fffs_container_of(sq, struct fdata_len_q, sq);
	struct fdata_length *q = lq->q;

	if (!sq->status) {
		uint64_t e =
			(uint64_t)sq->index * q->layout.chunk_size + sq->length;

		if (e > q->length)
			q->length = e;
	} else if (sq->status != -ENOENT && !q->status) {
		log_warn("file %llu: the last chunk on target %llu is unknown: "
			 "%s",
			 (unsigned long long)q->ino,
			 (unsigned long long)sq->target,
			 fffs_strerror(sq->status));
		q->status = sq->status;
	}
	if (--q->pending == 0)
		len_finish(c, q);
}

int fdata_length_start(struct craq_client *cl, struct fdata_length *q)
{
	uint32_t chains[FDATA_MAX_CHUNKS];
	uint64_t members[RT_CHAIN_MAX];
	struct routing *r;
	unsigned n = 0;
	char err[128];

	q->cl = cl;
	q->status = 0;
	q->length = 0;
	q->qs = NULL;
	q->msg.cb = len_posted;
	if (!q->layout.table) {
		core_post(cl->c, &q->msg);
		return 0;
	}
	r = agent_routing();
	/* the distinct chains of the stripe */
	for (uint64_t i = 0; r && i < q->layout.stripe && n < FDATA_MAX_CHUNKS;
	     i++) {
		uint32_t ch = fdata_chunk_chain(r, &q->layout, i);
		bool seen = false;

		for (unsigned k = 0; k < n; k++)
			seen = seen || chains[k] == ch;
		if (ch && !seen)
			chains[n++] = ch;
	}
	if (!n) {
		routing_unref(r);
		q->status = -EIO;
		log_warn("file %llu: its chain table %u is not in the routing "
			 "info",
			 (unsigned long long)q->ino, q->layout.table);
		core_post(cl->c, &q->msg);
		return 0;
	}
	q->qs = xcalloc(n, sizeof(*q->qs));
	q->nq = n;
	q->pending = n + 1;
	for (unsigned k = 0; k < n; k++) {
		const struct rt_chain *ch = routing_chain(r, chains[k]);
		int m = craq_chain_members(cl, chains[k], members);
		const struct rt_target *t =
			m > 0 ? routing_target(r, members[m - 1]) : NULL;
		const struct rt_node *nd = t ? routing_node(r, t->node) : NULL;
		struct fdata_len_q *lq = &q->qs[k];

		lq->q = q;
		lq->sq.peer =
			nd ? rpc_peer_get(cl->c, nd->addr, err, sizeof(err))
			   : NULL;
		if (!ch || !lq->sq.peer) {
			if (!q->status)
				q->status = -FFFS_ENOTSERVING;
			log_warn("file %llu: chain %u has no serving tail to "
				 "ask for the file's length",
				 (unsigned long long)q->ino, chains[k]);
			q->pending--;
			continue;
		}
		lq->sq.target = t->id;
		lq->sq.inode = q->ino;
		lq->sq.done = last_done;
		if (stor_query_last_start(&cl->sc, &lq->sq)) {
			q->status = q->status ? q->status : -EINVAL;
			q->pending--;
		}
	}
	routing_unref(r);
	if (--q->pending == 0)
		core_post(cl->c, &q->msg);
	return 0;
}

/* ---- blocking use -------------------------------------------------------- */

struct waiter {
	struct loop_msg m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	struct craq_client *cl;
	struct fdata_io *io;
	struct fdata_length *q;
};

static void wake(struct waiter *w)
{
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void io_woken(struct core *c, struct fdata_io *io)
{
	wake(io->arg);
}

static void len_woken(struct core *c, struct fdata_length *q)
{
	wake(q->arg);
}

static void call_go(struct core *c, struct loop_msg *m)
{
	struct waiter *w = fffs_container_of(m, struct waiter, m);
	int rc;

	if (w->io) {
		rc = fdata_start(w->cl, w->io);
		if (rc)
			w->io->status = rc;
	} else {
		rc = fdata_length_start(w->cl, w->q);
		if (rc)
			w->q->status = rc;
	}
	if (rc)
		wake(w);
}

static int call_wait(struct waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->m.cb = call_go;
	core_post(w->cl->c, &w->m);
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	return w->io ? w->io->status : w->q->status;
}

int fdata_call(struct craq_client *cl, struct fdata_io *io)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	int rc;

	w->cl = cl;
	w->io = io;
	io->done = io_woken;
	io->arg = w;
	rc = call_wait(w);
	io->arg = NULL;
	free(w);
	return rc;
}

int fdata_length_call(struct craq_client *cl, struct fdata_length *q)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	int rc;

	w->cl = cl;
	w->q = q;
	q->done = len_woken;
	q->arg = w;
	rc = call_wait(w);
	q->arg = NULL;
	free(w);
	return rc;
}
