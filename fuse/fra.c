/* fuse/fra.c - read-ahead of O_DIRECT readers (fuse/fra.h). */
#define LOG_SUBSYS "fuse"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "fuse/fra.h"

/* One range fetched, or being fetched. */
struct fetch {
	struct loop_msg m;
	struct fdata_io io;
	struct craq_client *cl;
	struct fra *ra;
	uint64_t epoch;
	bool done, dropped;
};

struct fra {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a fetch ended */
	uint64_t ino;
	struct ns_layout layout;
	uint64_t next_off;	    /* where the last read ended */
	uint64_t fetch_off;	    /* where the last fetch queued ends */
	struct fetch *q[FRA_DEPTH]; /* queued, in order of offset */
	unsigned n, inflight;
};

static struct craq_client *(*pick_cl)(void);
static _Atomic uint64_t epoch;
static struct metric *m_fetched, *m_used, *m_dropped;

void fra_init(struct craq_client *(*pick)(void))
{
	struct metric_family *f = metrics_family(
		"fffs_fuse_readahead_bytes_total", METRIC_COUNTER,
		"Bytes O_DIRECT readers had read ahead (fetched), of those "
		"the bytes a read took (used) and the ranges dropped unread "
		"(dropped).",
		"outcome");

	pick_cl = pick;
	m_fetched = metrics_get(f, "fetched");
	m_used = metrics_get(f, "used");
	m_dropped = metrics_get(f, "dropped");
}

uint64_t fra_epoch(void)
{
	return atomic_load(&epoch);
}

void fra_wrote(void)
{
	atomic_fetch_add(&epoch, 1);
}

struct fra *fra_new(uint64_t ino, const struct ns_layout *l)
{
	struct fra *ra = xcalloc(1, sizeof(*ra));

	pthread_mutex_init(&ra->mu, NULL);
	pthread_cond_init(&ra->cv, NULL);
	ra->ino = ino;
	ra->layout = *l;
	return ra;
}

static void fetch_free(struct fetch *f)
{
	free(f->io.buf);
	free(f);
}

/* Loop thread: a fetch ended. */
static void fetch_done(struct core *c, struct fdata_io *io)
{
	struct fetch *f = fffs_container_of(io, struct fetch, io);
	struct fra *ra = f->ra;

	(void)c;
	pthread_mutex_lock(&ra->mu);
	f->done = true;
	ra->inflight--;
	if (f->dropped)
		fetch_free(f);
	pthread_cond_broadcast(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
}

static void fetch_go(struct core *c, struct loop_msg *m)
{
	struct fetch *f = fffs_container_of(m, struct fetch, m);
	int rc = fdata_start(f->cl, &f->io);

	if (rc) {
		f->io.status = rc;
		fetch_done(c, &f->io);
	}
}

/* With ra->mu held: queue a fetch of [off, off + len). */
static void fetch_start(struct fra *ra, uint64_t off, uint32_t len,
			uint64_t size, uint64_t ep)
{
	struct fetch *f = xcalloc(1, sizeof(*f));

	f->ra = ra;
	f->epoch = ep;
	f->cl = pick_cl();
	f->io.ino = ra->ino;
	f->io.layout = ra->layout;
	f->io.size = size;
	f->io.offset = off;
	f->io.length = len;
	f->io.buf = xmalloc(len);
	f->io.done = fetch_done;
	f->m.cb = fetch_go;
	ra->q[ra->n++] = f;
	ra->inflight++;
	ra->fetch_off = off + len;
	metrics_add(m_fetched, len);
	core_post(f->cl->c, &f->m);
}

/* With ra->mu held: the queued fetches go (those under way free
 * themselves when they end). */
static void drop_all(struct fra *ra)
{
	for (unsigned i = 0; i < ra->n; i++) {
		metrics_add(m_dropped, ra->q[i]->io.length);
		if (ra->q[i]->done)
			fetch_free(ra->q[i]);
		else
			ra->q[i]->dropped = true;
	}
	ra->n = 0;
}

/* With ra->mu held: the first queued fetch, when it is io's range of
 * epoch ep (then it is taken off the queue), else NULL. */
static struct fetch *take(struct fra *ra, const struct fdata_io *io,
			  uint64_t ep)
{
	struct fetch *f = ra->n ? ra->q[0] : NULL;

	if (!f || f->io.offset != io->offset || f->io.length != io->length ||
	    f->epoch != ep || f->io.size != io->size)
		return NULL;
	memmove(ra->q, ra->q + 1, (ra->n - 1) * sizeof(*ra->q));
	ra->n--;
	return f;
}

int fra_read(struct fra *ra, struct fdata_io *io, uint64_t ep)
{
	bool seq = io->length >= FRA_MIN && io->offset == ra->next_off;
	uint64_t end = io->offset + io->length;
	struct fetch *f;
	unsigned depth;
	int rc = 0;

	pthread_mutex_lock(&ra->mu);
	f = seq ? take(ra, io, ep) : NULL;
	if (f) {
		while (!f->done)
			pthread_cond_wait(&ra->cv, &ra->mu);
		if (f->io.status) { /* the read below says what fails */
			fetch_free(f);
			f = NULL;
		}
	}
	if (!f) {
		drop_all(ra);
		ra->fetch_off = end;
	}
	ra->next_off = end;
	if (f) {
		free(io->buf);
		io->buf = f->io.buf;
		io->done_bytes = f->io.done_bytes;
		io->status = 0;
		metrics_add(m_used, io->done_bytes);
		f->io.buf = NULL;
		fetch_free(f);
	} else {
		pthread_mutex_unlock(&ra->mu);
		rc = fdata_call(pick_cl(), io);
		pthread_mutex_lock(&ra->mu);
	}
	/* keep FRA_BYTES fetched ahead of a sequential reader; fetches
	 * dropped but still under way count against it */
	depth = 0;
	if (seq) { /* length >= FRA_MIN: never 0 */
		depth = FRA_BYTES / io->length;
		depth = depth < 1 ? 1 : depth > FRA_DEPTH ? FRA_DEPTH : depth;
	}
	while (seq && !rc && ra->next_off == end && ra->n < depth &&
	       ra->inflight < 2 * FRA_DEPTH && ra->fetch_off < io->size)
		fetch_start(ra, ra->fetch_off, io->length, io->size, ep);
	pthread_mutex_unlock(&ra->mu);
	return rc;
}

void fra_free(struct fra *ra)
{
	pthread_mutex_lock(&ra->mu);
	drop_all(ra);
	while (ra->inflight)
		pthread_cond_wait(&ra->cv, &ra->mu);
	pthread_mutex_unlock(&ra->mu);
	pthread_mutex_destroy(&ra->mu);
	pthread_cond_destroy(&ra->cv);
	free(ra);
}
