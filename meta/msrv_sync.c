/* meta/msrv_sync.c - catching a syncing successor up (meta/msrv.h): the
 * last serving member copies its db (on its executor thread, so the copy
 * is at one seq), sends it in META_META_SNAPSHOT pieces, feeds the write
 * sets after it from the log, and sends META_META_SYNC_DONE once the
 * successor has answered everything we have. The syncing side writes the
 * pieces into DIR/db.new and, after the last one, swaps it in for DIR/db
 * (rename; a crash in between is finished or undone at the next open). */
#define LOG_SUBSYS "msrv"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/msrv_int.h"
#include "net/pack.h"

#define SNAP_HDR 32 /* u32 chain, u32 chain_ver, u64 target, offset, total */

/* ---- directories --------------------------------------------------------- */

static void path_of(char *out, size_t n, const char *dir, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* Remove a directory of plain files (an LMDB directory). */
static int rm_flat(const char *dir)
{
	char p[4200];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			path_of(p, sizeof(p), dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	return rmdir(dir) ? -errno : 0;
}

int msrv_snap_recover(const char *state_dir, char *err, size_t errlen)
{
	char db[4200], nw[4200], old[4200], out[4200];
	int rc = 0;

	path_of(db, sizeof(db), state_dir, "db");
	path_of(nw, sizeof(nw), state_dir, "db.new");
	path_of(old, sizeof(old), state_dir, "db.old");
	path_of(out, sizeof(out), state_dir, "snap-out");
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create state directory '%s': %s",
			 state_dir, strerror(errno));
		return rc;
	}
	/* db.new is complete only once db was moved away */
	if (exists(nw) && !exists(db) && rename(nw, db)) {
		rc = -errno;
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", nw, db,
			 strerror(errno));
		return rc;
	}
	rm_flat(nw);
	rm_flat(old);
	rm_flat(out);
	return 0;
}

/* ---- the sending side (core 0 and the executor) -------------------------- */

static void piece_send(struct core *c, struct msrv *s);

/* Executor thread: a copy of the db, read into j->in. */
void msrv_snap_make(struct msrv *s, struct msrv_job *j)
{
	char dir[4200], file[4300], err[9000];
	struct stat st;
	int rc, fd = -1;

	path_of(dir, sizeof(dir), s->state_dir, "snap-out");
	rm_flat(dir);
	rc = mkdir(dir, 0700) ? -errno : 0;
	pthread_rwlock_rdlock(&s->db_lock);
	if (!rc)
		rc = meta_db_copy(s->db, dir, &j->seq, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "cannot create '%s': %s", dir,
			 strerror(-rc));
	pthread_rwlock_unlock(&s->db_lock);
	path_of(file, sizeof(file), dir, "data.mdb");
	if (!rc &&
	    ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st))) {
		rc = -errno;
		snprintf(err, sizeof(err), "cannot read the copy '%s': %s",
			 file, strerror(errno));
	}
	if (!rc) {
		j->in_len = (size_t)st.st_size;
		j->in = xmalloc(j->in_len ? j->in_len : 1);
		for (size_t off = 0; !rc && off < j->in_len;) {
			ssize_t n = pread(fd, j->in + off, j->in_len - off,
					  (off_t)off);

			if (n <= 0) {
				rc = n ? -errno : -EIO;
				snprintf(err, sizeof(err),
					 "cannot read the copy '%s': %s", file,
					 fffs_strerror(rc));
			}
			off += n > 0 ? (size_t)n : 0;
		}
	}
	if (fd >= 0)
		close(fd);
	rm_flat(dir);
	if (rc)
		log_error("target %llu: %s", (unsigned long long)s->target,
			  err);
	j->status = rc;
	j->wait = false;
	msrv_job_reply(NULL, j);
}

static void snap_made(struct core *c, struct msrv_job *j)
{
	struct msrv *s = msrv_g;
	struct msrv_fwd *f = &s->fwd;

	if (j->off != f->epoch || f->state != FWD_SNAP) {
		msrv_job_free(j);
		return;
	}
	if (j->status) {
		msrv_job_free(j);
		f->epoch++;
		f->state = FWD_WAIT; /* the timer starts over with a copy */
		core_timer_del(c, &f->timer);
		core_timer_add(c, &f->timer, 1000000000ull);
		return;
	}
	free(f->snap);
	f->snap = j->in;
	f->snap_len = j->in_len;
	f->snap_seq = j->seq;
	f->snap_off = 0;
	j->in = NULL;
	msrv_job_free(j);
	log_info("target %llu: sending a copy at seq %llu (%zu bytes) to %llu",
		 (unsigned long long)s->target, (unsigned long long)f->snap_seq,
		 f->snap_len, (unsigned long long)f->to);
	piece_send(c, s);
}

void msrv_sync_start(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	struct msrv_job *j = xcalloc(1, sizeof(*j));

	f->state = FWD_SNAP;
	f->snap_done = false;
	j->kind = JOB_SNAP_MAKE;
	j->c = c;
	j->off = f->epoch;
	j->done = snap_made;
	msrv_exec_push(s, j);
}

struct snap_call {
	struct rpc_call call;
	uint64_t epoch;
	uint8_t body[SNAP_HDR];
};

static void piece_done(struct core *c, struct rpc_call *call, int status,
		       const void *body, uint32_t len)
{
	struct snap_call *sc = fffs_container_of(call, struct snap_call, call);
	struct msrv *s = msrv_g;
	struct msrv_fwd *f = &s->fwd;
	struct unpack up;
	uint64_t seq;

	if (sc->epoch != f->epoch || f->state != FWD_SNAP)
		goto out;
	if (status) {
		log_warn("target %llu: a copy's piece at %zu to %llu failed: "
			 "%s",
			 (unsigned long long)s->target, f->snap_off,
			 (unsigned long long)f->to, fffs_strerror(status));
		free(f->snap);
		f->snap = NULL;
		/* fwd_wait restarts from a new copy: snap_done is false */
		f->state = FWD_WAIT;
		f->epoch++;
		core_timer_del(c, &f->timer);
		core_timer_add(c, &f->timer, 1000000000ull);
		goto out;
	}
	f->snap_off += call->bulk_len;
	if (f->snap_off < f->snap_len) {
		piece_send(c, s);
		goto out;
	}
	unpack_init(&up, body, len);
	seq = unpack_u64(&up);
	if (unpack_finish(&up) || seq != f->snap_seq)
		log_warn("target %llu: %llu installed a copy at seq %llu, not "
			 "%llu",
			 (unsigned long long)s->target,
			 (unsigned long long)f->to, (unsigned long long)seq,
			 (unsigned long long)f->snap_seq);
	log_info("target %llu: %llu installed the copy at seq %llu",
		 (unsigned long long)s->target, (unsigned long long)f->to,
		 (unsigned long long)seq);
	free(f->snap);
	f->snap = NULL;
	f->snap_done = true;
	f->next = seq + 1;
	f->acked = seq;
	f->state = FWD_RUN;
	msrv_fwd_kick(s);
out:
	free(sc);
}

static void piece_send(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	struct snap_call *sc;
	struct rpc_peer *p;
	struct pack pk;
	size_t n = f->snap_len - f->snap_off;

	p = msrv_fwd_peer(c, s);
	if (!p)
		return;
	if (n > MSRV_SNAP_PIECE)
		n = MSRV_SNAP_PIECE;
	sc = xcalloc(1, sizeof(*sc));
	sc->epoch = f->epoch;
	pack_init(&pk, sc->body, sizeof(sc->body));
	msrv_hdr_pack(&pk, f);
	pack_u64(&pk, f->snap_off);
	pack_u64(&pk, f->snap_len);
	FFFS_ASSERT(!pk.err);
	sc->call.type = MSG_META_META_SNAPSHOT;
	sc->call.body = sc->body;
	sc->call.body_len = sizeof(sc->body);
	sc->call.bulk = f->snap + f->snap_off;
	sc->call.bulk_len = (uint32_t)n;
	sc->call.timeout_ms = 60000;
	sc->call.done = piece_done;
	rpc_call_start(c, p, &sc->call);
}

static void sync_done_done(struct core *c, struct rpc_call *call, int status,
			   const void *body, uint32_t len)
{
	struct snap_call *sc = fffs_container_of(call, struct snap_call, call);
	struct msrv *s = msrv_g;
	struct msrv_fwd *f = &s->fwd;

	if (sc->epoch == f->epoch) {
		f->sync_inflight = false;
		if (!status) {
			f->synced_sent = true;
			log_info("target %llu: %llu is synced",
				 (unsigned long long)s->target,
				 (unsigned long long)f->to);
		} else {
			core_timer_del(c, &f->timer);
			core_timer_add(c, &f->timer, 200000000ull);
		}
	}
	free(sc);
}

/* Core 0, after each answer: the syncing successor has all we have. */
void msrv_sync_check(struct core *c, struct msrv *s)
{
	struct msrv_fwd *f = &s->fwd;
	uint64_t applied = atomic_load(&s->applied);
	struct snap_call *sc;
	struct rpc_peer *p;
	struct pack pk;

	if (f->state != FWD_RUN || !f->snap_done || f->synced_sent ||
	    f->sync_inflight || f->acked < applied)
		return;
	p = msrv_fwd_peer(c, s);
	if (!p)
		return;
	sc = xcalloc(1, sizeof(*sc));
	sc->epoch = f->epoch;
	pack_init(&pk, sc->body, sizeof(sc->body));
	msrv_hdr_pack(&pk, f);
	pack_u64(&pk, f->acked);
	sc->call.type = MSG_META_META_SYNC_DONE;
	sc->call.body = sc->body;
	sc->call.body_len = (uint32_t)pack_len(&pk);
	sc->call.done = sync_done_done;
	f->sync_inflight = true;
	rpc_call_start(c, p, &sc->call);
}

/* ---- the syncing side ---------------------------------------------------- */

static int install(struct msrv *s, uint64_t *seq, char *err, size_t errlen)
{
	char nw[4200], old[4200];
	int rc;

	path_of(nw, sizeof(nw), s->state_dir, "db.new");
	path_of(old, sizeof(old), s->state_dir, "db.old");
	pthread_rwlock_wrlock(&s->db_lock);
	meta_db_close(s->db);
	s->db = NULL;
	rc = rename(s->db_dir, old) ? -errno : 0;
	if (!rc)
		rc = rename(nw, s->db_dir) ? -errno : 0;
	if (rc)
		snprintf(err, errlen, "cannot swap in '%s': %s", nw,
			 strerror(-rc));
	/* whatever happened, open what is in place now */
	if (meta_db_open(s->db_dir, s->map_size, 0, &s->db, err, errlen) && !rc)
		rc = -EIO;
	if (s->db && meta_db_async(s->db, msrv_durable, s)) {
		meta_db_close(s->db);
		s->db = NULL;
		if (!rc)
			rc = -EIO;
	}
	if (s->db)
		*seq = meta_db_seq(s->db);
	else
		atomic_store(&s->db_failed, true);
	pthread_mutex_lock(&s->mu);
	msrv_log_clear(s);
	s->ndirty = 0;
	s->committed = *seq;
	atomic_store(&s->applied, *seq);
	atomic_store(&s->written, *seq);
	msrv_commit_update(s);
	pthread_mutex_unlock(&s->mu);
	pthread_rwlock_unlock(&s->db_lock);
	rm_flat(old);
	return rc;
}

/* Executor thread: write one piece; the last one installs the copy. */
void msrv_snap_piece(struct msrv *s, struct msrv_job *j)
{
	char nw[4200], file[4300], err[9000] = "";
	uint64_t seq = 0;
	int rc = 0;

	path_of(nw, sizeof(nw), s->state_dir, "db.new");
	path_of(file, sizeof(file), nw, "data.mdb");
	if (j->off == 0) {
		if (s->snap_fd >= 0)
			close(s->snap_fd);
		rm_flat(nw);
		s->snap_fd = -1;
		if (mkdir(nw, 0700) ||
		    (s->snap_fd = open(file,
				       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				       0600)) < 0) {
			rc = -errno;
			snprintf(err, sizeof(err), "cannot create '%s': %s",
				 file, strerror(errno));
		}
		s->snap_expect = 0;
	}
	if (!rc && (s->snap_fd < 0 || j->off != s->snap_expect)) {
		rc = -EINVAL;
		snprintf(err, sizeof(err),
			 "a copy's piece at offset %llu, expected %llu",
			 (unsigned long long)j->off,
			 (unsigned long long)s->snap_expect);
	}
	if (!rc && pwrite(s->snap_fd, j->in, j->in_len, (off_t)j->off) !=
			   (ssize_t)j->in_len) {
		rc = -errno ? -errno : -EIO;
		snprintf(err, sizeof(err), "cannot write '%s': %s", file,
			 fffs_strerror(rc));
	}
	if (!rc)
		s->snap_expect += j->in_len;
	if (!rc && s->snap_expect == j->total) {
		if (fsync(s->snap_fd)) {
			rc = -errno;
			snprintf(err, sizeof(err), "cannot sync '%s': %s", file,
				 strerror(errno));
		}
		close(s->snap_fd);
		s->snap_fd = -1;
		if (!rc)
			rc = install(s, &seq, err, sizeof(err));
		if (!rc)
			log_info("target %llu: installed a copy of the "
				 "namespace at seq %llu",
				 (unsigned long long)s->target,
				 (unsigned long long)seq);
	}
	if (rc) {
		log_error("target %llu: %s", (unsigned long long)s->target,
			  err);
		if (s->snap_fd >= 0)
			close(s->snap_fd);
		s->snap_fd = -1;
	}
	j->status = rc;
	j->out = xmalloc(8);
	j->out_len = 8;
	{
		struct pack pk;

		pack_init(&pk, j->out, 8);
		pack_u64(&pk, seq);
	}
	j->wait = false;
	msrv_job_reply(NULL, j);
}

int msrv_h_snapshot(struct core *c, struct rpc_req *req)
{
	struct msrv *s = msrv_g;
	struct msrv_job *j;
	uint32_t chain, ver;
	uint64_t target, off, total;
	struct unpack up;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	msrv_hdr_unpack(&up, &chain, &ver, &target);
	off = unpack_u64(&up);
	total = unpack_u64(&up);
	if (unpack_finish(&up) || !req->bulk_len || off + req->bulk_len > total)
		return -FFFS_EBADFRAME;
	rc = msrv_member_check(s, chain, ver, target, true);
	if (!rc && s->v.pstate != RT_SYNCING)
		rc = -FFFS_ENOTSERVING; /* a serving replica keeps its db */
	if (rc)
		return rc;
	j = xcalloc(1, sizeof(*j));
	j->kind = JOB_SNAP_PIECE;
	j->c = c;
	j->req = req;
	j->off = off;
	j->total = total;
	j->in_len = req->bulk_len;
	j->in = xmalloc(req->bulk_len);
	memcpy(j->in, req->bulk, req->bulk_len);
	msrv_exec_push(s, j);
	return 0;
}

int msrv_h_sync_done(struct core *c, struct rpc_req *req)
{
	struct msrv *s = msrv_g;
	uint32_t chain, ver;
	uint64_t target, seq;
	struct unpack up;
	int rc;

	unpack_init(&up, req->body, req->body_len);
	msrv_hdr_unpack(&up, &chain, &ver, &target);
	seq = unpack_u64(&up);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	rc = msrv_member_check(s, chain, ver, target, true);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	if (s->v.pstate != RT_SYNCING)
		rc = -FFFS_ENOTSERVING;
	else if (atomic_load(&s->applied) < seq)
		rc = -FFFS_EVERSION;
	else
		s->synced_ver = s->v.chain_ver;
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	log_info("target %llu: synced at seq %llu (chain version %u)",
		 (unsigned long long)s->target, (unsigned long long)seq, ver);
	rpc_reply(c, req, 0, NULL, 0, NULL, 0, NULL, NULL);
	return 0;
}
