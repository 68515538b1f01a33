/* fuse/fops.c - the FUSE low-level operations of a mount (fuse/fclient.h):
 * each one a blocking meta or data call on a loop core. */
#define LOG_SUBSYS "fuse"
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "fuse/fclient.h"
#include "fuse/fclose.h"
#include "fuse/fdata.h"
#include "fuse/fra.h"
#include "fuse/fwb.h"
#include "meta/mcli.h"

#define MAX_CORES    64
#define NODE_BUCKETS 1024

struct fcore {
	struct mcli mc;
	struct craq_client cc;
};

static struct fcore *cores[MAX_CORES];
static int ncores;
static atomic_uint next_core;
static struct fclient_opts opts;
static struct fuse_session *fuse_se;

/* An open file (fi->fh). */
struct fh {
	uint64_t ino, session;
	struct ns_attr a;  /* at open */
	bool wrote;	   /* since the last report */
	uint64_t reported; /* the largest size reported to meta */
	bool sync;	   /* O_DIRECT or direct_io: no write-behind */
	struct fwb *w;	   /* write handles */
	struct fra *ra;	   /* O_DIRECT reads: read-ahead */
	/* reads: the length known, and truncs when it was learnt */
	_Atomic uint64_t size, truncs;
};

/* Truncations through this mount, counted per bucket of inodes: an
 * O_DIRECT handle that has seen fewer in its inode's asks meta for the
 * length before it reads (the kernel clamps buffered reads to the length
 * the setattr reply gave it, but not O_DIRECT ones). */
#define TRUNC_BUCKETS 256
static _Atomic uint64_t truncs[TRUNC_BUCKETS];

static struct craq_client *pick_cc(void);
static struct mcli *pick_mc(void);

void fclient_setup(const struct fclient_opts *o)
{
	opts = *o;
	fwb_init(pick_cc);
	fra_init(pick_cc);
	fclose_start(pick_mc);
}

void fclient_stop(void)
{
	fclose_stop();
}

void fclient_session(struct fuse_session *se)
{
	fuse_se = se;
}

void fclient_core_init(struct core *c, void *arg)
{
	struct fcore *fc = xcalloc(1, sizeof(*fc));
	int id = core_id(c);

	FFFS_ASSERT(id < MAX_CORES);
	/* one client id per core: each has its own request ids */
	mcli_init(&fc->mc, c, opts.client ? opts.client + (uint64_t)id : 0);
	craq_client_init(&fc->cc, c);
	cores[id] = fc;
	__atomic_fetch_add(&ncores, 1, __ATOMIC_SEQ_CST);
}

static struct fcore *pick(void)
{
	int n = __atomic_load_n(&ncores, __ATOMIC_SEQ_CST);

	return cores[atomic_fetch_add(&next_core, 1) % (unsigned)n];
}

static struct craq_client *pick_cc(void)
{
	return &pick()->cc;
}

static struct mcli *pick_mc(void)
{
	return &pick()->mc;
}

int fclient_errno(int rc)
{
	if (rc >= 0)
		return 0;
	if (-rc < FFFS_ERRBASE)
		return -rc;
	return EIO;
}

/* ---- calls --------------------------------------------------------------- */

static void cred_of(fuse_req_t req, struct ns_cred *c)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	gid_t g[NS_NGROUPS_MAX];
	int n;

	memset(c, 0, sizeof(*c));
	c->uid = x->uid;
	c->gid = x->gid;
	/* meta never looks at root's groups (meta/ns.c); reading them costs
	 * an open and a read of /proc/PID/task/TID/status per request */
	if (!x->uid)
		return;
	n = fuse_req_getgroups(req, NS_NGROUPS_MAX, g);
	if (n > NS_NGROUPS_MAX)
		n = NS_NGROUPS_MAX;
	for (int i = 0; i < n; i++)
		c->groups[i] = g[i];
	c->ngroups = n > 0 ? (uint32_t)n : 0;
}

static void op_init(struct mcli_op *op, fuse_req_t req, unsigned mop)
{
	memset(op, 0, sizeof(*op));
	op->q.op = (uint8_t)mop;
	if (req)
		cred_of(req, &op->q.cred);
}

/* A change: false (answered EROFS) on a read-only mount, else op is set
 * up as op_init() does. */
static bool change_init(struct mcli_op *op, fuse_req_t req, unsigned mop)
{
	if (opts.read_only) {
		fuse_reply_err(req, EROFS);
		return false;
	}
	op_init(op, req, mop);
	return true;
}

/* Run op; 0 or a negative error (logged unless it is an errno a file
 * system gives every day). op->r is released by the caller. */
static int call(struct mcli_op *op)
{
	struct fcore *fc = pick();
	int rc = mcli_call(&fc->mc, op);

	if (!rc)
		rc = op->r.status;
	if (rc && -rc >= FFFS_ERRBASE)
		log_warn("%s of inode %llu failed: %s", mop_name(op->q.op),
			 (unsigned long long)(op->q.ino ? op->q.ino
							: op->q.parent),
			 fffs_strerror(rc));
	return rc;
}

static void to_stat(const struct ns_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size =
		(off_t)(S_ISREG(a->mode) ? fwb_size(a->ino, a->size) : a->size);
	st->st_blksize = a->layout.chunk_size ? a->layout.chunk_size : 4096;
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	st->st_atim.tv_sec = (time_t)(a->atime / 1000000000);
	st->st_atim.tv_nsec = (long)(a->atime % 1000000000);
	st->st_mtim.tv_sec = (time_t)(a->mtime / 1000000000);
	st->st_mtim.tv_nsec = (long)(a->mtime % 1000000000);
	st->st_ctim.tv_sec = (time_t)(a->ctime / 1000000000);
	st->st_ctim.tv_nsec = (long)(a->ctime % 1000000000);
}

static void reply_entry(fuse_req_t req, const struct ns_attr *a)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = a->ino;
	e.generation = 1;
	e.attr_timeout = opts.attr_timeout;
	e.entry_timeout = opts.entry_timeout;
	to_stat(a, &e.attr);
	fuse_reply_entry(req, &e);
}

static void reply_attr(fuse_req_t req, const struct ns_attr *a)
{
	struct stat st;

	to_stat(a, &st);
	fuse_reply_attr(req, &st, opts.attr_timeout);
}

/* The attributes of ino in the reply of a change (the last one listed
 * with that inode), or NULL. */
static const struct ns_attr *res_of(const struct mres *r, uint64_t ino)
{
	for (int i = r->res.n - 1; i >= 0; i--)
		if (r->res.a[i].ino == ino)
			return &r->res.a[i];
	return NULL;
}

/* The child of a create-like reply: a[1]. */
static void reply_child(fuse_req_t req, struct mcli_op *op, int rc)
{
	if (rc || op->r.res.n < 2)
		fuse_reply_err(req, rc ? fclient_errno(rc) : EIO);
	else
		reply_entry(req, &op->r.res.a[1]);
	mres_release(&op->r);
}

static void reply_status(fuse_req_t req, struct mcli_op *op, int rc)
{
	fuse_reply_err(req, fclient_errno(rc));
	mres_release(&op->r);
}

static int set_name(char *dst, const char *name)
{
	size_t n = strlen(name);

	if (n > NS_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, name, n + 1);
	return 0;
}

/* Copy name in (and name2 when set), then run op. */
static int call_named(struct mcli_op *op, const char *name, const char *name2)
{
	int rc = set_name(op->q.name, name);

	if (!rc && name2)
		rc = set_name(op->q.name2, name2);
	return rc ? rc : call(op);
}

/* ---- the operations ------------------------------------------------------ */

static void f_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mcli_op op;
	int rc;

	op_init(&op, req, MOP_LOOKUP);
	op.q.parent = parent;
	rc = call_named(&op, name, NULL);
	if (rc || op.r.res.n < 1)
		fuse_reply_err(req, rc ? fclient_errno(rc) : EIO);
	else
		reply_entry(req, &op.r.res.a[0]);
	mres_release(&op.r);
}

static void f_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mcli_op op;
	int rc;

	op_init(&op, req, MOP_GETATTR);
	op.q.ino = ino;
	rc = call(&op);
	if (rc || op.r.res.n < 1)
		fuse_reply_err(req, rc ? fclient_errno(rc) : EIO);
	else
		reply_attr(req, &op.r.res.a[0]);
	mres_release(&op.r);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000 + (uint64_t)ts->tv_nsec;
}

/* Drain this mount's writes of ino and report their end to meta (through
 * one of its write sessions). */
static int size_known(fuse_ino_t ino)
{
	uint64_t session = 0, end;
	struct mcli_op op;
	int rc = fwb_drain(ino);

	end = fwb_size(ino, 0);
	if (rc || !end || !fwb_session(ino, &session))
		return rc;
	op_init(&op, NULL, MOP_CLOSE);
	op.q.session = session;
	op.q.size = end;
	op.q.flags = MCLOSE_KEEP | MCLOSE_WROTE;
	rc = call(&op);
	mres_release(&op.r);
	return rc;
}

static void f_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct mcli_op op;
	unsigned set = 0;
	int rc;

	if (!change_init(&op, req, MOP_SETATTR))
		return;
	op.q.ino = ino;
	if (to_set & FUSE_SET_ATTR_MODE)
		set |= NS_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		set |= NS_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		set |= NS_SET_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= NS_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		set |= NS_SET_ATIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		set |= NS_SET_ATIME;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		set |= NS_SET_MTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		set |= NS_SET_MTIME;
	op.q.set = set;
	op.q.mode = attr->st_mode;
	op.q.uid = attr->st_uid;
	op.q.gid = attr->st_gid;
	op.q.size = (uint64_t)attr->st_size;
	op.q.atime = ts_ns(&attr->st_atim);
	op.q.mtime = ts_ns(&attr->st_mtim);
	/* writes still on their way must not land after the truncation,
	 * and meta must know how far they reached: it trims the chunks up
	 * to the length it knows */
	if (set & NS_SET_SIZE)
		fra_wrote();
	rc = set & NS_SET_SIZE ? size_known(ino) : 0;
	if (!rc)
		rc = call(&op);
	if (!rc && (set & NS_SET_SIZE)) {
		fwb_truncated(ino, op.q.size);
		atomic_fetch_add(&truncs[ino % TRUNC_BUCKETS], 1);
	}
	if (set & NS_SET_SIZE)
		fra_wrote();
	if (!rc && !res_of(&op.r, ino))
		rc = -EIO;
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		reply_attr(req, res_of(&op.r, ino));
	mres_release(&op.r);
}

static void mk(fuse_req_t req, unsigned mop, fuse_ino_t parent,
	       const char *name, mode_t mode, const char *target)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, mop))
		return;
	op.q.parent = parent;
	op.q.mode = mode;
	op.q.flags = O_EXCL | O_RDONLY;
	if (target) {
		op.q.data = (uint8_t *)target;
		op.q.data_len = (uint32_t)strlen(target);
	}
	rc = call_named(&op, name, NULL);
	op.q.data = NULL;
	reply_child(req, &op, rc);
}

static void f_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode)
{
	mk(req, MOP_MKDIR, parent, name, mode, NULL);
}

static void f_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode)) {
		fuse_reply_err(req, EPERM); /* only files, dirs and links */
		return;
	}
	mk(req, MOP_CREATE, parent, name, mode & 07777, NULL);
}

static void f_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		      const char *name)
{
	if (strlen(link) > NS_SYMLINK_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	mk(req, MOP_SYMLINK, parent, name, 0777, link);
}

static void rm(fuse_req_t req, unsigned mop, fuse_ino_t parent,
	       const char *name)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, mop))
		return;
	op.q.parent = parent;
	rc = call_named(&op, name, NULL);
	reply_status(req, &op, rc);
}

static void f_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	rm(req, MOP_UNLINK, parent, name);
}

static void f_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	rm(req, MOP_RMDIR, parent, name);
}

static void f_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, MOP_RENAME))
		return;
	op.q.parent = parent;
	op.q.newparent = newparent;
	op.q.flags = flags;
	rc = call_named(&op, name, newname);
	reply_status(req, &op, rc);
}

static void f_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, MOP_LINK))
		return;
	op.q.ino = ino;
	op.q.newparent = newparent;
	rc = call_named(&op, newname, NULL);
	if (!rc && !res_of(&op.r, ino))
		rc = -EIO;
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		reply_entry(req, res_of(&op.r, ino));
	mres_release(&op.r);
}

static void f_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mcli_op op;
	int rc;

	op_init(&op, req, MOP_READLINK);
	op.q.ino = ino;
	rc = call(&op);
	if (rc || !op.r.data)
		fuse_reply_err(req, rc ? fclient_errno(rc) : EIO);
	else
		fuse_reply_readlink(req, (const char *)op.r.data);
	mres_release(&op.r);
}

/* ---- files --------------------------------------------------------------- */

static bool writes(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

static void open_reply(fuse_req_t req, struct fuse_file_info *fi,
		       const struct ns_attr *a, uint64_t session, bool create)
{
	struct fh *h = xcalloc(1, sizeof(*h));

	h->ino = a->ino;
	h->a = *a;
	h->size = a->size;
	h->truncs = atomic_load(&truncs[a->ino % TRUNC_BUCKETS]);
	h->session = session;
	h->sync = opts.direct_io || (fi->flags & O_DIRECT);
	if (writes(fi->flags)) {
		h->w = fwb_get(a->ino, &a->layout);
		fwb_add_session(h->w, session);
	} else if ((fi->flags & O_DIRECT) && !opts.direct_io) {
		h->ra = fra_new(a->ino, &a->layout); /* no kernel readahead */
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = opts.direct_io;
	fi->keep_cache = 0;
	if (create) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.ino = a->ino;
		e.generation = 1;
		e.attr_timeout = opts.attr_timeout;
		e.entry_timeout = opts.entry_timeout;
		to_stat(a, &e.attr);
		if (fuse_reply_create(req, &e, fi) == -ENOENT)
			goto gone;
	} else if (fuse_reply_open(req, fi) == -ENOENT) {
		goto gone;
	}
	return;
gone: /* the open was interrupted: release will not come */
	if (h->ra)
		fra_free(h->ra);
	if (h->w) {
		fwb_drop_session(h->w, session);
		fwb_put(h->w);
	}
	if (session) {
		struct mcli_op op;

		op_init(&op, NULL, MOP_CLOSE);
		op.q.session = session;
		op.q.size = UINT64_MAX;
		call(&op);
		mres_release(&op.r);
	}
	free(h);
}

static void f_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mcli_op op;
	int rc;

	if (opts.read_only && writes(fi->flags)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	/* close-to-open: what another client wrote and closed is seen. The
	 * page cache of the file is dropped at open (no keep_cache), and the
	 * attributes the kernel holds are marked stale here, so a read past
	 * the length it knew fetches the fresh length first. */
	if (fuse_se)
		fuse_lowlevel_notify_inval_inode(fuse_se, ino, -1, 0);
	op_init(&op, req, MOP_OPEN);
	op.q.ino = ino;
	/* O_TRUNC comes as a setattr (no atomic_o_trunc) */
	op.q.flags = (uint32_t)(fi->flags & ~O_TRUNC);
	rc = call(&op);
	if (!rc && !res_of(&op.r, ino))
		rc = -EIO;
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		open_reply(req, fi, res_of(&op.r, ino), op.r.res.session,
			   false);
	mres_release(&op.r);
}

static void f_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, MOP_CREATE))
		return;
	op.q.parent = parent;
	op.q.mode = mode & 07777;
	op.q.flags = (uint32_t)fi->flags;
	rc = call_named(&op, name, NULL);
	if (!rc && op.r.res.n < 2)
		rc = -EIO;
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		open_reply(req, fi, &op.r.res.a[1], op.r.res.session, true);
	mres_release(&op.r);
}

/* Tell meta the size written (at least) and whether the file was written;
 * with close the session ends. */
static int report(struct fh *h, uint64_t size, bool close)
{
	struct mcli_op op;
	int rc;

	op_init(&op, NULL, MOP_CLOSE);
	op.q.session = h->session;
	op.q.size = size;
	op.q.flags = (close ? 0 : MCLOSE_KEEP) | (h->wrote ? MCLOSE_WROTE : 0);
	rc = call(&op);
	if (!rc) {
		h->wrote = false;
		if (size != UINT64_MAX && size > h->reported)
			h->reported = size;
	}
	mres_release(&op.r);
	return rc;
}

static uint64_t written_end(const struct fh *h)
{
	return h->w ? fwb_end(h->w) : 0;
}

static void f_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	int rc = h->w ? fwb_drain(ino) : 0;

	if (!rc && h->session && (h->wrote || written_end(h)))
		rc = report(h, written_end(h), false);
	fuse_reply_err(req, fclient_errno(rc));
}

static void f_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;

	uint64_t end = written_end(h);

	if (h->w && fwb_drain(ino))
		log_warn("inode %llu: a write failed after the last flush",
			 (unsigned long long)ino);
	/* the last close of a written file makes the length exact: the
	 * last chunk on the file's chains (writes of other clients that
	 * never reported theirs included) */
	if (h->session && (h->wrote || end)) {
		struct fdata_length q = { .ino = ino, .layout = h->a.layout };
		int rc = fdata_length_call(&pick()->cc, &q);

		if (rc)
			log_warn("inode %llu: its length on the chains is "
				 "unknown (%s); closing with the length "
				 "written here",
				 (unsigned long long)ino, fffs_strerror(rc));
		else if (q.length > end)
			end = q.length;
	}
	/* a size already reported (by flush, at close()) is not sent again:
	 * FUSE sends release after close() returned, so it may reach meta
	 * after another client truncated the file, and the old size would
	 * grow the file back. A session with nothing written here ends a
	 * little later, with others in one request (fuse/fclose.h). */
	if (h->session && (h->wrote || end > h->reported))
		report(h, end, true);
	else if (h->session && (end || !fclose_defer(h->session)))
		report(h, UINT64_MAX, true);
	if (h->w) {
		fwb_drop_session(h->w, h->session);
		fwb_put(h->w);
	}
	if (h->ra)
		fra_free(h->ra);
	free(h);
	fuse_reply_err(req, 0);
}

static void f_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct fdata_length q = { .ino = ino, .layout = h->a.layout };
	int rc;

	/* the bytes are on every serving replica once write() returned;
	 * what is left is the length */
	rc = h->w ? fwb_drain(ino) : 0;
	if (!rc && h->session) {
		rc = fdata_length_call(&pick()->cc, &q);
		if (!rc)
			rc = report(h, q.length, false);
	}
	fuse_reply_err(req, fclient_errno(rc));
}

static void f_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct fdata_io io = { .ino = ino, .layout = h->a.layout };
	uint64_t ep = fra_epoch(); /* before the drain (fuse/fra.h) */
	uint64_t tr = atomic_load(&truncs[ino % TRUNC_BUCKETS]);
	int rc;

	io.size = atomic_load(&h->size);
	rc = fwb_drain(ino); /* read this mount's own writes */
	if (rc) {
		fuse_reply_err(req, fclient_errno(rc));
		return;
	}
	/* direct_io: the length now; otherwise when the read goes past the
	 * length known (the file grew or was truncated since), or O_DIRECT
	 * when this mount truncated the file since it was learnt */
	if (opts.direct_io || (uint64_t)off + size > fwb_size(ino, io.size) ||
	    (h->sync && tr != atomic_load(&h->truncs))) {
		struct mcli_op op;

		op_init(&op, req, MOP_GETATTR);
		op.q.ino = ino;
		rc = call(&op);
		if (!rc && op.r.res.n) {
			io.size = op.r.res.a[0].size;
			atomic_store(&h->size, io.size);
			atomic_store(&h->truncs, tr);
		}
		mres_release(&op.r);
		if (rc) {
			fuse_reply_err(req, fclient_errno(rc));
			return;
		}
	}
	io.size = fwb_size(ino, io.size);
	io.offset = (uint64_t)off;
	io.length = (uint32_t)size;
	io.buf = xmalloc(size ? size : 1);
	if (h->ra)
		rc = fra_read(h->ra, &io, ep);
	else
		rc = fdata_call(&pick()->cc, &io);
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		fuse_reply_buf(req, (const char *)io.buf, io.done_bytes);
	free(io.buf);
}

static void f_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct fdata_io io = { .ino = ino, .layout = h->a.layout };
	int rc;

	if (!h->w) {
		fuse_reply_err(req, EBADF);
		return;
	}
	fra_wrote();
	if (!h->sync) {
		/* gathered and sent behind: errors come at the next write,
		 * flush or fsync */
		rc = fwb_write(h->w, (uint64_t)off, buf, size);
	} else {
		/* direct: on the chains before the reply, one block never
		 * torn */
		io.write = true;
		io.offset = (uint64_t)off;
		io.length = (uint32_t)size;
		io.buf = (uint8_t *)buf;
		rc = fwb_drain(ino);
		if (!rc)
			rc = fdata_call(&pick()->cc, &io);
		if (!rc)
			fwb_wrote(h->w, io.end);
	}
	fra_wrote();
	if (rc) {
		fuse_reply_err(req, fclient_errno(rc));
		return;
	}
	h->wrote = true;
	fuse_reply_write(req, size);
}

/* Mode 0 only: the file grows to offset + length (its blocks are taken
 * as data is written; the chains have no reservations). The kernel checked
 * RLIMIT_FSIZE and the maximum size before it came here. */
static void f_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			off_t len, struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	uint64_t end = (uint64_t)off + (uint64_t)len;
	int rc = 0;

	if (mode) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!h->session) {
		fuse_reply_err(req, EBADF);
		return;
	}
	if (h->a.layout.chunk_size &&
	    end / h->a.layout.chunk_size > UINT32_MAX) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	if (end > fwb_size(ino, atomic_load(&h->size))) {
		fwb_wrote(h->w, end);
		rc = report(h, end, false);
	}
	fuse_reply_err(req, fclient_errno(rc));
}

/* ---- directories --------------------------------------------------------- */

static void f_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	char *buf = xmalloc(size);
	size_t used = 0;
	struct mcli_op op;
	int rc;

	op_init(&op, req, MOP_READDIR);
	op.q.ino = ino;
	op.q.cookie = (uint64_t)off;
	op.q.max = (uint32_t)(size / 32 + 1);
	rc = call(&op);
	for (uint32_t i = 0; !rc && i < op.r.nents; i++) {
		const struct mdirent *e = &op.r.ents[i];
		struct stat st = { .st_ino = e->ino,
				   .st_mode = (mode_t)e->type << 12 };
		size_t n = fuse_add_direntry(req, buf + used, size - used,
					     e->name, &st, (off_t)e->next);

		if (n > size - used)
			break; /* full: the next call starts at this one */
		used += n;
	}
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else
		fuse_reply_buf(req, buf, used);
	mres_release(&op.r);
	free(buf);
}

static void f_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	struct mcli_op op;
	int rc;

	op_init(&op, req, MOP_STATFS);
	rc = call(&op);
	if (rc) {
		fuse_reply_err(req, fclient_errno(rc));
		mres_release(&op.r);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = op.r.capacity / 4096;
	sv.f_bfree = sv.f_bavail = op.r.capacity > op.r.used
					   ? (op.r.capacity - op.r.used) / 4096
					   : 0;
	sv.f_files = op.r.inodes + (1ull << 32);
	sv.f_ffree = sv.f_favail = 1ull << 32;
	sv.f_namemax = NS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
	mres_release(&op.r);
}

/* ---- xattrs -------------------------------------------------------------- */

static void f_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       const char *value, size_t size, int flags)
{
	struct mcli_op op;
	int rc;

	if (size > NS_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	if (!change_init(&op, req, MOP_SETXATTR))
		return;
	op.q.ino = ino;
	op.q.flags = (uint32_t)flags;
	op.q.data = (uint8_t *)value;
	op.q.data_len = (uint32_t)size;
	rc = set_name(op.q.name2, name);
	if (rc)
		rc = -ERANGE;
	else
		rc = call(&op);
	op.q.data = NULL;
	reply_status(req, &op, rc);
}

static void xattr_get(fuse_req_t req, unsigned mop, fuse_ino_t ino,
		      const char *name, size_t size)
{
	struct mcli_op op;
	int rc = 0;

	op_init(&op, req, mop);
	op.q.ino = ino;
	op.q.size = size;
	if (name && set_name(op.q.name2, name))
		rc = -ERANGE;
	if (!rc)
		rc = call(&op);
	if (rc)
		fuse_reply_err(req, fclient_errno(rc));
	else if (!size)
		fuse_reply_xattr(req, op.r.size);
	else
		fuse_reply_buf(req, (const char *)op.r.data, op.r.data_len);
	mres_release(&op.r);
}

static void f_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       size_t size)
{
	xattr_get(req, MOP_GETXATTR, ino, name, size);
}

static void f_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_get(req, MOP_LISTXATTR, ino, NULL, size);
}

static void f_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct mcli_op op;
	int rc;

	if (!change_init(&op, req, MOP_REMOVEXATTR))
		return;
	op.q.ino = ino;
	rc = set_name(op.q.name2, name);
	if (rc)
		rc = -ERANGE;
	else
		rc = call(&op);
	reply_status(req, &op, rc);
}

static void f_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = 1u << 20;
	conn->max_readahead = 4u << 20;
	/* O_TRUNC arrives as a setattr of the size, which trims storage */
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	/* no kernel writeback cache: with it the kernel trusts the length
	 * it caches over what meta says, and another client's close would
	 * not be seen at open (close-to-open); fuse/fwb.c gathers writes */
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
}

static const struct fuse_lowlevel_ops ops = {
	.init = f_init,
	.lookup = f_lookup,
	.getattr = f_getattr,
	.setattr = f_setattr,
	.readlink = f_readlink,
	.mknod = f_mknod,
	.mkdir = f_mkdir,
	.unlink = f_unlink,
	.rmdir = f_rmdir,
	.symlink = f_symlink,
	.rename = f_rename,
	.link = f_link,
	.open = f_open,
	.read = f_read,
	.write = f_write,
	.flush = f_flush,
	.release = f_release,
	.fsync = f_fsync,
	.readdir = f_readdir,
	.statfs = f_statfs,
	.setxattr = f_setxattr,
	.getxattr = f_getxattr,
	.listxattr = f_listxattr,
	.removexattr = f_removexattr,
	.create = f_create,
	.fallocate = f_fallocate,
};

const struct fuse_lowlevel_ops *fclient_ops(void)
{
	return &ops;
}
