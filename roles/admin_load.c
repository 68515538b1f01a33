/* roles/admin_load.c - `fffs admin ns load`: concurrent workers on the loop
 * creating, renaming and removing files in their own directories and a
 * shared one, logging every acknowledged operation, so that a test can
 * check afterwards (after failovers) that none was lost.
 *
 * Layout: /load/shared and /load/w<K> for worker K; file names are
 * s<SEED>w<K>-<N> (unique per seed and worker, so runs with other seeds
 * never collide). Log lines, written once the answer arrived:
 *	create STATUS PATH
 *	rename STATUS FROM TO
 *	unlink STATUS PATH
 * STATUS is 0 or the negative errno of the answer; an operation whose
 * outcome is unknown (it timed out inside meta/mcli.h) is logged with its
 * error (-110) and never touched again.
 */
#define LOG_SUBSYS "admin"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "roles/admin_meta.h"

#define LOAD_NAME 48

struct lfile {
	int dir; /* -1: shared, else the worker */
	char name[LOAD_NAME];
};

struct lload;

struct lworker {
	struct mcli_op op;
	struct lload *l;
	int k;
	uint64_t rng;
	uint32_t seq;
	struct lfile *files;
	uint32_t nfiles, cap;
	/* the operation in flight */
	int idx; /* its file (rename, unlink) */
	struct lfile to;
};

struct lload {
	const struct ameta_args *m;
	struct mcli *cl;
	struct ns_cred cred;
	uint64_t shared, *wdir;
	uint64_t left, ok, failed;
	unsigned running;
	FILE *log;
	struct lworker *w;
	struct loop_msg start;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool finished;
};

static uint64_t rnd(struct lworker *w)
{
	uint64_t x = w->rng; /* xorshift64* */

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void path_of(const struct lfile *f, char *out, size_t cap)
{
	if (f->dir < 0)
		snprintf(out, cap, "/load/shared/%s", f->name);
	else
		snprintf(out, cap, "/load/w%d/%s", f->dir, f->name);
}

static uint64_t dir_ino(const struct lload *l, int dir)
{
	return dir < 0 ? l->shared : l->wdir[dir];
}

static void new_file(struct lworker *w, struct lfile *f)
{
	f->dir = rnd(w) % 10 < 3 ? -1 : w->k;
	snprintf(f->name, sizeof(f->name), "s%llxw%d-%u",
		 (unsigned long long)w->l->m->seed, w->k, w->seq++);
}

static void forget(struct lworker *w, int idx)
{
	w->files[idx] = w->files[--w->nfiles];
}

static void worker_next(struct core *c, struct lworker *w);

static void logged(struct core *c, struct mcli_op *op)
{
	struct lworker *w = fffs_container_of(op, struct lworker, op);
	struct lload *l = w->l;
	int st = op->r.status;
	char a[128], b[128];

	mres_release(&op->r);
	st ? l->failed++ : l->ok++;
	if (op->q.op == MOP_CREATE) {
		path_of(&w->to, a, sizeof(a));
		fprintf(l->log, "create %d %s\n", st, a);
		if (!st) {
			if (w->nfiles == w->cap) {
				w->cap = w->cap ? 2 * w->cap : 64;
				w->files = xrealloc(w->files,
						    w->cap * sizeof(*w->files));
			}
			w->files[w->nfiles++] = w->to;
		}
	} else if (op->q.op == MOP_RENAME) {
		path_of(&w->files[w->idx], a, sizeof(a));
		path_of(&w->to, b, sizeof(b));
		fprintf(l->log, "rename %d %s %s\n", st, a, b);
		if (!st)
			w->files[w->idx] = w->to;
		else
			forget(w, w->idx);
	} else {
		path_of(&w->files[w->idx], a, sizeof(a));
		fprintf(l->log, "unlink %d %s\n", st, a);
		forget(w, w->idx);
	}
	worker_next(c, w);
}

static void load_end(struct lload *l)
{
	pthread_mutex_lock(&l->mu);
	l->finished = true;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void worker_next(struct core *c, struct lworker *w)
{
	struct lload *l = w->l;
	struct mcli_op *op = &w->op;
	unsigned r = (unsigned)(rnd(w) % 100);

	if (!l->left || loop_stopping(c)) {
		if (!--l->running)
			load_end(l);
		return;
	}
	l->left--;
	memset(&op->q, 0, sizeof(op->q));
	op->q.cred = l->cred;
	op->done = logged;
	if (!w->nfiles || r < 50) {
		new_file(w, &w->to);
		op->q.op = MOP_CREATE;
		op->q.parent = dir_ino(l, w->to.dir);
		op->q.mode = 0644;
		op->q.flags = O_RDONLY | O_EXCL;
		snprintf(op->q.name, sizeof(op->q.name), "%s", w->to.name);
	} else {
		w->idx = (int)(rnd(w) % w->nfiles);
		op->q.parent = dir_ino(l, w->files[w->idx].dir);
		snprintf(op->q.name, sizeof(op->q.name), "%s",
			 w->files[w->idx].name);
		op->q.op = r < 75 ? MOP_RENAME : MOP_UNLINK;
		if (op->q.op == MOP_RENAME) {
			new_file(w, &w->to);
			op->q.newparent = dir_ino(l, w->to.dir);
			snprintf(op->q.name2, sizeof(op->q.name2), "%s",
				 w->to.name);
		}
	}
	FFFS_ASSERT(!mcli_start(l->cl, op));
}

static void load_start(struct core *c, struct loop_msg *m)
{
	struct lload *l = fffs_container_of(m, struct lload, start);

	l->running = (unsigned)l->m->clients;
	for (uint64_t k = 0; k < l->m->clients; k++)
		worker_next(c, &l->w[k]);
}

/* mkdir parent/name, or look it up when it exists: its inode. */
static int dir_get(struct lload *l, uint64_t parent, const char *name,
		   uint64_t *ino)
{
	struct mcli_op op = { .q.op = MOP_MKDIR,
			      .q.parent = parent,
			      .q.mode = 0777,
			      .q.cred = l->cred };
	int rc;

	snprintf(op.q.name, sizeof(op.q.name), "%s", name);
	rc = mcli_call(l->cl, &op);
	if (rc == -EEXIST) {
		mres_release(&op.r);
		op.q.op = MOP_LOOKUP;
		rc = mcli_call(l->cl, &op);
	}
	/* mkdir answers the parent then the child; lookup the one inode */
	if (!rc && op.r.res.n)
		*ino = op.r.res.a[op.r.res.n - 1].ino;
	else if (!rc)
		rc = -FFFS_EBADFRAME;
	mres_release(&op.r);
	if (rc)
		fprintf(stderr, "fffs admin ns load: mkdir %s: %s\n", name,
			fffs_strerror(rc));
	return rc;
}

static int load_setup(struct lload *l)
{
	uint64_t base;
	char name[32];

	if (dir_get(l, NS_ROOT, "load", &base) ||
	    dir_get(l, base, "shared", &l->shared))
		return 1;
	for (uint64_t k = 0; k < l->m->clients; k++) {
		snprintf(name, sizeof(name), "w%llu", (unsigned long long)k);
		if (dir_get(l, base, name, &l->wdir[k]))
			return 1;
		l->w[k] = (struct lworker){ .l = l, .k = (int)k };
		l->w[k].rng = (l->m->seed + 1) * 0x9E3779B97F4A7C15ull + k + 1;
	}
	return 0;
}

int ameta_load(const struct ameta_args *m, struct mcli *cl)
{
	struct lload l = { .m = m, .cl = cl, .left = m->ops };
	uint64_t t0;
	int rc = 1;

	ameta_cred(&l.cred);
	l.log = m->log ? fopen(m->log, "a") : stdout;
	if (!l.log) {
		fprintf(stderr,
			"fffs admin ns load: cannot open --log '%s': "
			"%s\n",
			m->log, fffs_strerror(-errno));
		return 1;
	}
	setvbuf(l.log, NULL, _IOLBF, 0); /* a line per acknowledgement */
	l.wdir = xcalloc(m->clients, sizeof(*l.wdir));
	l.w = xcalloc(m->clients, sizeof(*l.w));
	pthread_mutex_init(&l.mu, NULL);
	pthread_cond_init(&l.cv, NULL);
	if (load_setup(&l))
		goto out;
	t0 = now_ns();
	l.start.cb = load_start;
	core_post(cl->c, &l.start);
	pthread_mutex_lock(&l.mu);
	while (!l.finished)
		pthread_cond_wait(&l.cv, &l.mu);
	pthread_mutex_unlock(&l.mu);
	fprintf(m->log ? stdout : stderr,
		"load: %llu operations by %llu clients, %llu ok, %llu failed, "
		"%.0f ops/s\n",
		(unsigned long long)(l.ok + l.failed),
		(unsigned long long)m->clients, (unsigned long long)l.ok,
		(unsigned long long)l.failed,
		(double)(l.ok + l.failed) * 1e9 / (double)(now_ns() - t0 + 1));
	rc = l.failed || l.ok + l.failed < m->ops ? 1 : 0;
out:
	for (uint64_t k = 0; k < m->clients; k++)
		free(l.w[k].files);
	free(l.w);
	free(l.wdir);
	pthread_mutex_destroy(&l.mu);
	pthread_cond_destroy(&l.cv);
	if (m->log)
		fclose(l.log);
	return rc;
}
