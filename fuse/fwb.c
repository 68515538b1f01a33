/* fuse/fwb.c - write-behind: extents of a file's writes gathered per chunk
 * and sent to the chains in the background (fuse/fwb.h). */
#define LOG_SUBSYS "fuse"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fdata.h"
#include "fuse/fwb.h"

#define BUCKETS	   1024
#define EXTENT_MAX (4u << 20) /* bytes gathered at most (chunks may be 64M) */

struct fwb {
	uint64_t ino;
	struct ns_layout layout;
	unsigned refs;
	uint64_t end; /* after the last byte written (sent or not) */
	/* the extent being filled */
	uint8_t *buf;
	uint64_t off;
	uint32_t len, cap;
	unsigned inflight;
	int err;	      /* the first failed send, until reported */
	uint64_t sessions[8]; /* of the handles (0: free slot) */
	pthread_cond_t cv;
	struct fwb *next;
};

/* One send. */
struct wsend {
	struct loop_msg m;
	struct fdata_io io;
	struct fwb *w;
	struct craq_client *cl;
};

static struct fwb *table[BUCKETS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct craq_client *(*pick_cl)(void);

void fwb_init(struct craq_client *(*pick)(void))
{
	pick_cl = pick;
}

static struct fwb *find(uint64_t ino)
{
	struct fwb *w;

	for (w = table[ino % BUCKETS]; w && w->ino != ino; w = w->next)
		;
	return w;
}

struct fwb *fwb_get(uint64_t ino, const struct ns_layout *l)
{
	struct fwb *w;

	pthread_mutex_lock(&mu);
	w = find(ino);
	if (!w) {
		w = xcalloc(1, sizeof(*w));
		w->ino = ino;
		w->layout = *l;
		w->cap = l->chunk_size && l->chunk_size < EXTENT_MAX
				 ? l->chunk_size
				 : EXTENT_MAX;
		pthread_cond_init(&w->cv, NULL);
		w->next = table[ino % BUCKETS];
		table[ino % BUCKETS] = w;
	}
	w->refs++;
	pthread_mutex_unlock(&mu);
	return w;
}

/* ---- sending ------------------------------------------------------------- */

static void send_done(struct core *c, struct fdata_io *io)
{
	struct wsend *s = fffs_container_of(io, struct wsend, io);
	struct fwb *w = s->w;

	pthread_mutex_lock(&mu);
	if (io->status && !w->err) {
		log_warn("writing %u bytes at %llu of inode %llu failed: %s",
			 io->length, (unsigned long long)io->offset,
			 (unsigned long long)w->ino, fffs_strerror(io->status));
		w->err = io->status;
	}
	w->inflight--;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&mu);
	free(io->buf);
	free(s);
}

static void send_go(struct core *c, struct loop_msg *m)
{
	struct wsend *s = fffs_container_of(m, struct wsend, m);
	int rc = fdata_start(s->cl, &s->io);

	if (rc) {
		s->io.status = rc;
		send_done(c, &s->io);
	}
}

/* Send the extent (mu held). */
static void send_extent(struct fwb *w)
{
	struct wsend *s;

	if (!w->len)
		return;
	s = xcalloc(1, sizeof(*s));
	s->w = w;
	s->cl = pick_cl();
	s->io.ino = w->ino;
	s->io.layout = w->layout;
	s->io.write = true;
	s->io.offset = w->off;
	s->io.length = w->len;
	s->io.buf = w->buf;
	s->io.done = send_done;
	w->buf = NULL;
	w->len = 0;
	w->inflight++;
	s->m.cb = send_go;
	core_post(s->cl->c, &s->m);
}

static int take_err(struct fwb *w)
{
	int rc = w->err;

	w->err = 0;
	return rc;
}

int fwb_write(struct fwb *w, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t cs = w->layout.chunk_size ? w->layout.chunk_size : EXTENT_MAX;
	int rc;

	pthread_mutex_lock(&mu);
	rc = take_err(w);
	while (!rc && len) {
		uint64_t room;
		size_t n;

		if (w->len && off != w->off + w->len)
			send_extent(w); /* not a continuation */
		while (!w->len && w->inflight >= FWB_WINDOW)
			pthread_cond_wait(&w->cv, &mu);
		if (!w->len) {
			w->off = off;
			w->buf = xmalloc(w->cap);
		}
		/* up to the chunk's end and the extent's room */
		room = (w->off / cs + 1) * cs - (w->off + w->len);
		if (room > w->cap - w->len)
			room = w->cap - w->len;
		n = len < room ? len : (size_t)room;
		memcpy(w->buf + w->len, p, n);
		w->len += (uint32_t)n;
		p += n;
		off += n;
		len -= n;
		if (off > w->end)
			w->end = off;
		if (w->len == w->cap || (w->off + w->len) % cs == 0)
			send_extent(w);
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static int drain_locked(struct fwb *w)
{
	send_extent(w);
	while (w->inflight)
		pthread_cond_wait(&w->cv, &mu);
	return take_err(w);
}

int fwb_drain(uint64_t ino)
{
	struct fwb *w;
	int rc = 0;

	pthread_mutex_lock(&mu);
	w = find(ino);
	if (w)
		rc = drain_locked(w);
	pthread_mutex_unlock(&mu);
	return rc;
}

void fwb_put(struct fwb *w)
{
	struct fwb **pp;

	pthread_mutex_lock(&mu);
	if (--w->refs == 0) {
		if (drain_locked(w))
			log_warn("inode %llu: a write failed after its last "
				 "report",
				 (unsigned long long)w->ino);
		for (pp = &table[w->ino % BUCKETS]; *pp != w; pp = &(*pp)->next)
			;
		*pp = w->next;
		pthread_cond_destroy(&w->cv);
		free(w);
	}
	pthread_mutex_unlock(&mu);
}

uint64_t fwb_size(uint64_t ino, uint64_t size)
{
	struct fwb *w;

	pthread_mutex_lock(&mu);
	w = find(ino);
	if (w && w->end > size)
		size = w->end;
	pthread_mutex_unlock(&mu);
	return size;
}

void fwb_truncated(uint64_t ino, uint64_t size)
{
	struct fwb *w;

	pthread_mutex_lock(&mu);
	w = find(ino);
	if (w && w->end > size)
		w->end = size;
	pthread_mutex_unlock(&mu);
}

void fwb_add_session(struct fwb *w, uint64_t session)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; session && i < FFFS_ARRAY_LEN(w->sessions); i++)
		if (!w->sessions[i]) {
			w->sessions[i] = session;
			break;
		}
	pthread_mutex_unlock(&mu);
}

void fwb_drop_session(struct fwb *w, uint64_t session)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; session && i < FFFS_ARRAY_LEN(w->sessions); i++)
		if (w->sessions[i] == session)
			w->sessions[i] = 0;
	pthread_mutex_unlock(&mu);
}

bool fwb_session(uint64_t ino, uint64_t *session)
{
	struct fwb *w;

	pthread_mutex_lock(&mu);
	w = find(ino);
	for (size_t i = 0; w && !*session && i < FFFS_ARRAY_LEN(w->sessions);
	     i++)
		*session = w->sessions[i];
	pthread_mutex_unlock(&mu);
	return *session != 0;
}

void fwb_wrote(struct fwb *w, uint64_t end)
{
	pthread_mutex_lock(&mu);
	if (end > w->end)
		w->end = end;
	pthread_mutex_unlock(&mu);
}

uint64_t fwb_end(struct fwb *w)
{
	uint64_t e;

	pthread_mutex_lock(&mu);
	e = w->end;
	pthread_mutex_unlock(&mu);
	return e;
}
