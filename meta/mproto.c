/* meta/mproto.c - encoding of CLI_META_OP requests and replies, and the
 * dispatch of a decoded request to its meta/ns.h operation. */
#define LOG_SUBSYS "meta"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fffs.h"
#include "meta/mproto.h"

static const char *const mop_names[MOP__END] = {
	[MOP_LOOKUP] = "lookup",
	[MOP_GETATTR] = "getattr",
	[MOP_RESOLVE] = "resolve",
	[MOP_READDIR] = "readdir",
	[MOP_READLINK] = "readlink",
	[MOP_GETXATTR] = "getxattr",
	[MOP_LISTXATTR] = "listxattr",
	[MOP_STATFS] = "statfs",
	[MOP_LAYOUT_GET] = "layout_get",
	[MOP_SETATTR] = "setattr",
	[MOP_CREATE] = "create",
	[MOP_OPEN] = "open",
	[MOP_CLOSE] = "close",
	[MOP_MKDIR] = "mkdir",
	[MOP_RMDIR] = "rmdir",
	[MOP_UNLINK] = "unlink",
	[MOP_RENAME] = "rename",
	[MOP_LINK] = "link",
	[MOP_SYMLINK] = "symlink",
	[MOP_SETXATTR] = "setxattr",
	[MOP_REMOVEXATTR] = "removexattr",
	[MOP_LAYOUT_SET] = "layout_set",
	[MOP_REMOVE_TREE] = "remove_tree",
};

const char *mop_name(unsigned op)
{
	return mop_valid(op) && mop_names[op] ? mop_names[op] : "?";
}

/* ---- requests ------------------------------------------------------------ */

static void layout_pack(struct pack *pk, const struct ns_layout *l, bool file)
{
	pack_u32(pk, l->table);
	pack_u32(pk, l->chunk_size);
	pack_u32(pk, l->stripe);
	if (file) {
		pack_u32(pk, l->start);
		pack_u64(pk, l->seed);
	}
}

static void layout_unpack(struct unpack *up, struct ns_layout *l, bool file)
{
	memset(l, 0, sizeof(*l));
	l->table = unpack_u32(up);
	l->chunk_size = unpack_u32(up);
	l->stripe = unpack_u32(up);
	if (file) {
		l->start = unpack_u32(up);
		l->seed = unpack_u64(up);
	}
}

void mreq_pack(struct pack *pk, const struct mreq *q)
{
	uint32_t ng = q->cred.ngroups;

	if (ng > NS_NGROUPS_MAX)
		ng = NS_NGROUPS_MAX;
	pack_u8(pk, MPROTO_FORMAT);
	pack_u32(pk, q->chain_ver);
	pack_u64(pk, q->client);
	pack_u64(pk, q->req_id);
	pack_u64(pk, q->ack_floor);
	pack_u8(pk, q->op);
	pack_u32(pk, q->cred.uid);
	pack_u32(pk, q->cred.gid);
	pack_u8(pk, (uint8_t)ng);
	pack_u32_array(pk, q->cred.groups, ng);
	pack_u64(pk, q->ino);
	pack_u64(pk, q->parent);
	pack_u64(pk, q->newparent);
	pack_str(pk, q->name);
	pack_str(pk, q->name2);
	pack_blob(pk, q->data, q->data ? q->data_len : 0);
	pack_u32(pk, q->mode);
	pack_u32(pk, q->uid);
	pack_u32(pk, q->gid);
	pack_u32(pk, q->set);
	pack_u64(pk, q->size);
	pack_u64(pk, q->atime);
	pack_u64(pk, q->mtime);
	pack_u32(pk, q->flags);
	pack_u64(pk, q->cookie);
	pack_u32(pk, q->max);
	pack_u64(pk, q->session);
	layout_pack(pk, &q->layout, false);
}

/* A name field: at most NS_NAME_MAX bytes, copied NUL-terminated (a NUL
 * inside is kept: meta/ns.c refuses it as a bad name). */
static int name_unpack(struct unpack *up, char *dst)
{
	const char *s;
	size_t n;

	unpack_str(up, &s, &n);
	if (up->err)
		return up->err;
	if (n > NS_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(dst, s, n);
	dst[n] = 0;
	if (memchr(s, 0, n))
		dst[0] = '/'; /* never a valid name: -EINVAL from meta/ns.c */
	return 0;
}

static uint32_t data_max(unsigned op)
{
	return op == MOP_SETXATTR ? NS_XATTR_SIZE_MAX : NS_PATH_MAX;
}

int mreq_unpack(const void *body, size_t len, struct mreq *q)
{
	struct unpack up;
	const void *data;
	uint32_t dlen;
	uint8_t ng;
	int rc, rc2;

	memset(q, 0, sizeof(*q));
	unpack_init(&up, body, len);
	if (unpack_u8(&up) != MPROTO_FORMAT && !up.err)
		return -EINVAL;
	q->chain_ver = unpack_u32(&up);
	q->client = unpack_u64(&up);
	q->req_id = unpack_u64(&up);
	q->ack_floor = unpack_u64(&up);
	q->op = unpack_u8(&up);
	q->cred.uid = unpack_u32(&up);
	q->cred.gid = unpack_u32(&up);
	ng = unpack_u8(&up);
	if (ng > NS_NGROUPS_MAX)
		return -FFFS_EBADFRAME;
	q->cred.ngroups = ng;
	unpack_u32_array(&up, q->cred.groups, ng);
	q->ino = unpack_u64(&up);
	q->parent = unpack_u64(&up);
	q->newparent = unpack_u64(&up);
	rc = name_unpack(&up, q->name);
	rc2 = name_unpack(&up, q->name2);
	unpack_blob(&up, &data, &dlen);
	q->mode = unpack_u32(&up);
	q->uid = unpack_u32(&up);
	q->gid = unpack_u32(&up);
	q->set = unpack_u32(&up);
	q->size = unpack_u64(&up);
	q->atime = unpack_u64(&up);
	q->mtime = unpack_u64(&up);
	q->flags = unpack_u32(&up);
	q->cookie = unpack_u64(&up);
	q->max = unpack_u32(&up);
	q->session = unpack_u64(&up);
	layout_unpack(&up, &q->layout, false);
	if (unpack_finish(&up))
		return -FFFS_EBADFRAME;
	if (!mop_valid(q->op))
		return -EINVAL;
	if (rc || rc2)
		return rc ? rc : rc2;
	if (q->op == MOP_CLOSE && (q->flags & MCLOSE_LIST) &&
	    (!dlen || dlen % 8 || dlen > MCLOSE_LIST_MAX * 8))
		return -EINVAL;
	if (dlen > data_max(q->op))
		return q->op == MOP_SETXATTR ? -E2BIG : -ENAMETOOLONG;
	if (dlen || q->op == MOP_SYMLINK || q->op == MOP_RESOLVE ||
	    q->op == MOP_SETXATTR) {
		q->data = xmalloc((size_t)dlen + 1);
		if (dlen)
			memcpy(q->data, data, dlen);
		q->data[dlen] = 0;
		q->data_len = dlen;
	}
	return 0;
}

void mreq_release(struct mreq *q)
{
	free(q->data);
	q->data = NULL;
	q->data_len = 0;
}

/* ---- executing ----------------------------------------------------------- */

struct rd_fill {
	struct mres *r;
	uint32_t cap;
};

static int rd_one(void *arg, const char *name, uint64_t ino, uint8_t type,
		  uint64_t next)
{
	struct rd_fill *f = arg;
	struct mdirent *e;

	if (f->r->nents == f->cap)
		return 1;
	e = &f->r->ents[f->r->nents++];
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->ino = ino;
	e->type = type;
	e->next = next;
	return 0;
}

static void exec_readdir(struct meta_txn *t, const struct mreq *q,
			 struct mres *r)
{
	uint32_t max = q->max && q->max < MREADDIR_MAX ? q->max : MREADDIR_MAX;
	struct rd_fill f = { r, max };
	int rc;

	/* one more than asked: whether it was the last page */
	r->ents = xcalloc((size_t)max + 1, sizeof(*r->ents));
	f.cap = max + 1;
	rc = ns_readdir(t, &q->cred, q->ino, q->cookie, max + 1, rd_one, &f);
	if (rc < 0) {
		r->status = rc;
		r->nents = 0;
		return;
	}
	r->eof = r->nents <= max;
	if (!r->eof)
		r->nents = max;
}

/* getxattr / listxattr / readlink: into an owned buffer of the size the
 * caller allows (size 0: only the size). */
static void exec_bytes(struct meta_txn *t, const struct mreq *q, struct mres *r)
{
	size_t cap = q->op == MOP_READLINK ? NS_SYMLINK_MAX + 1 : q->size;
	int rc;

	if (cap > NS_XATTR_SIZE_MAX && q->op != MOP_READLINK)
		cap = NS_XATTR_SIZE_MAX;
	r->data = cap ? xmalloc(cap) : NULL;
	if (q->op == MOP_READLINK)
		rc = ns_readlink(t, q->ino, (char *)r->data, cap);
	else if (q->op == MOP_GETXATTR)
		rc = ns_getxattr(t, &q->cred, q->ino, q->name2, r->data, cap);
	else
		rc = ns_listxattr(t, &q->cred, q->ino, (char *)r->data, cap);
	if (rc < 0) {
		r->status = rc;
		return;
	}
	r->size = (uint32_t)rc;
	r->data_len = cap ? (uint32_t)rc : 0;
}

static void one_attr(struct mres *r, int rc, const struct ns_attr *a)
{
	r->status = rc;
	if (!rc) {
		r->res.a[0] = *a;
		r->res.n = 1;
	}
}

/* MOP_CLOSE with MCLOSE_LIST (its data checked by mreq_unpack) */
static int close_list(struct meta_txn *t, const struct mreq *q, uint64_t now)
{
	uint64_t ids[MCLOSE_LIST_MAX];
	size_t n = q->data_len / 8;
	struct unpack up;
	int rc;

	unpack_init(&up, q->data, q->data_len);
	for (size_t i = 0; i < n; i++)
		ids[i] = unpack_u64(&up);
	rc = ns_close_many(t, ids, n, now);
	return rc < 0 ? rc : 0;
}

void mres_exec(struct meta_txn *t, const struct mreq *q, uint64_t now,
	       uint64_t cap, uint64_t used, struct mres *r)
{
	const struct ns_cred *c = &q->cred;
	struct ns_attr a, sa;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&sa, 0, sizeof(sa));
	switch (q->op) {
	case MOP_LOOKUP:
		rc = ns_lookup(t, c, q->parent, q->name, &a);
		one_attr(r, rc, &a);
		return;
	case MOP_GETATTR:
		rc = ns_getattr(t, q->ino, &a);
		one_attr(r, rc, &a);
		return;
	case MOP_RESOLVE:
		rc = ns_resolve(t, c, (const char *)q->data, q->flags & 1, &a);
		one_attr(r, rc, &a);
		return;
	case MOP_READDIR:
		exec_readdir(t, q, r);
		return;
	case MOP_READLINK:
	case MOP_GETXATTR:
	case MOP_LISTXATTR:
		exec_bytes(t, q, r);
		return;
	case MOP_STATFS:
		rc = ns_statfs(t, &r->inodes);
		r->capacity = cap;
		r->used = used;
		break;
	case MOP_LAYOUT_GET:
		rc = ns_layout_get(t, q->ino, &r->layout);
		break;
	case MOP_SETATTR:
		sa.mode = q->mode;
		sa.uid = q->uid;
		sa.gid = q->gid;
		sa.size = q->size;
		sa.atime = q->atime;
		sa.mtime = q->mtime;
		rc = ns_setattr(t, c, q->ino, q->set, &sa, now, &r->res);
		break;
	case MOP_CREATE:
		rc = ns_create(t, c, q->parent, q->name, q->mode, (int)q->flags,
			       q->client, now, &r->res);
		break;
	case MOP_OPEN:
		rc = ns_open(t, c, q->ino, (int)q->flags, q->client, now,
			     &r->res);
		break;
	case MOP_CLOSE:
		if (q->flags & MCLOSE_LIST) {
			rc = close_list(t, q, now);
			break;
		}
		rc = ns_report(
			t, q->session, q->size,
			(q->flags & MCLOSE_KEEP ? 0 : NS_REPORT_CLOSE) |
				(q->flags & MCLOSE_WROTE ? NS_REPORT_WROTE : 0),
			now, &r->res);
		break;
	case MOP_MKDIR:
		rc = ns_mkdir(t, c, q->parent, q->name, q->mode, now, &r->res);
		break;
	case MOP_RMDIR:
		rc = ns_rmdir(t, c, q->parent, q->name, now, &r->res);
		break;
	case MOP_UNLINK:
		rc = ns_unlink(t, c, q->parent, q->name, now, &r->res);
		break;
	case MOP_REMOVE_TREE:
		rc = ns_remove_tree(t, c, q->parent, q->name, now, &r->res);
		break;
	case MOP_RENAME:
		rc = ns_rename(t, c, q->parent, q->name, q->newparent, q->name2,
			       q->flags, now, &r->res);
		break;
	case MOP_LINK:
		rc = ns_link(t, c, q->ino, q->newparent, q->name, now, &r->res);
		break;
	case MOP_SYMLINK:
		rc = ns_symlink(t, c, q->parent, q->name, (const char *)q->data,
				now, &r->res);
		break;
	case MOP_SETXATTR:
		rc = ns_setxattr(t, c, q->ino, q->name2, q->data, q->data_len,
				 (int)q->flags, now, &r->res);
		break;
	case MOP_REMOVEXATTR:
		rc = ns_removexattr(t, c, q->ino, q->name2, now, &r->res);
		break;
	case MOP_LAYOUT_SET:
		rc = ns_layout_set(t, c, q->ino, &q->layout, now, &r->res);
		break;
	default:
		rc = -EINVAL;
	}
	r->status = rc < 0 ? rc : 0;
	if (r->status) {
		/* a failed change touched nothing: no attributes to send */
		r->res.n = 0;
		r->res.session = 0;
	}
}

/* ---- replies ------------------------------------------------------------- */

void mattr_pack(struct pack *pk, const struct ns_attr *a)
{
	pack_u64(pk, a->ino);
	pack_u32(pk, a->mode);
	pack_u32(pk, a->uid);
	pack_u32(pk, a->gid);
	pack_u32(pk, a->nlink);
	pack_u64(pk, a->size);
	pack_u64(pk, a->atime);
	pack_u64(pk, a->mtime);
	pack_u64(pk, a->ctime);
	pack_u64(pk, a->parent);
	pack_u32(pk, a->sessions);
	layout_pack(pk, &a->layout, true);
}

void mattr_unpack(struct unpack *up, struct ns_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = unpack_u64(up);
	a->mode = unpack_u32(up);
	a->uid = unpack_u32(up);
	a->gid = unpack_u32(up);
	a->nlink = unpack_u32(up);
	a->size = unpack_u64(up);
	a->atime = unpack_u64(up);
	a->mtime = unpack_u64(up);
	a->ctime = unpack_u64(up);
	a->parent = unpack_u64(up);
	a->sessions = unpack_u32(up);
	layout_unpack(up, &a->layout, true);
}

#define MATTR_BYTES (8 + 4 * 4 + 8 * 5 + 4 + 4 * 4 + 8)

size_t mres_size(unsigned op, const struct mres *r)
{
	size_t n = 1 + (size_t)r->res.n * MATTR_BYTES + 8 + 4;

	if (op == MOP_READDIR)
		n += 4 + 1 + (size_t)r->nents * (2 + NS_NAME_MAX + 8 + 1 + 8);
	else if (op == MOP_READLINK || op == MOP_GETXATTR ||
		 op == MOP_LISTXATTR)
		n += 4 + r->data_len;
	else if (op == MOP_STATFS)
		n += 24;
	else if (op == MOP_LAYOUT_GET)
		n += 12;
	return n;
}

void mres_pack(struct pack *pk, unsigned op, const struct mres *r)
{
	pack_u8(pk, (uint8_t)r->res.n);
	for (int i = 0; i < r->res.n; i++)
		mattr_pack(pk, &r->res.a[i]);
	pack_u64(pk, r->res.session);
	switch (op) {
	case MOP_READDIR:
		pack_u32(pk, r->nents);
		for (uint32_t i = 0; i < r->nents; i++) {
			pack_str(pk, r->ents[i].name);
			pack_u64(pk, r->ents[i].ino);
			pack_u8(pk, r->ents[i].type);
			pack_u64(pk, r->ents[i].next);
		}
		pack_u8(pk, r->eof);
		break;
	case MOP_READLINK:
	case MOP_GETXATTR:
	case MOP_LISTXATTR:
		pack_blob(pk, r->data, r->data_len);
		break;
	case MOP_STATFS:
		pack_u64(pk, r->inodes);
		pack_u64(pk, r->capacity);
		pack_u64(pk, r->used);
		break;
	case MOP_LAYOUT_GET:
		layout_pack(pk, &r->layout, false);
		break;
	default:
		break;
	}
	pack_u32(pk, r->size);
}

int mres_unpack(unsigned op, const void *body, size_t len, struct mres *r)
{
	int status = r->status;
	struct unpack up;
	uint8_t n;

	memset(r, 0, sizeof(*r));
	r->status = status;
	if (!len && status)
		return 0; /* an error with an empty body */
	unpack_init(&up, body, len);
	n = unpack_u8(&up);
	if (n > FFFS_ARRAY_LEN(r->res.a))
		return -FFFS_EBADFRAME;
	r->res.n = n;
	for (int i = 0; i < n; i++)
		mattr_unpack(&up, &r->res.a[i]);
	r->res.session = unpack_u64(&up);
	switch (op) {
	case MOP_READDIR: {
		uint32_t k = unpack_u32(&up);

		if (k > MREADDIR_MAX || k * 19ull > unpack_left(&up))
			return -FFFS_EBADFRAME;
		r->ents = xcalloc(k ? k : 1, sizeof(*r->ents));
		r->nents = k;
		for (uint32_t i = 0; i < k && !up.err; i++) {
			const char *s;
			size_t sl;

			unpack_str(&up, &s, &sl);
			if (sl > NS_NAME_MAX) {
				mres_release(r);
				return -FFFS_EBADFRAME;
			}
			memcpy(r->ents[i].name, s, sl);
			r->ents[i].name[sl] = 0;
			r->ents[i].ino = unpack_u64(&up);
			r->ents[i].type = unpack_u8(&up);
			r->ents[i].next = unpack_u64(&up);
		}
		r->eof = unpack_u8(&up) != 0;
		break;
	}
	case MOP_READLINK:
	case MOP_GETXATTR:
	case MOP_LISTXATTR: {
		const void *d;
		uint32_t dl;

		unpack_blob(&up, &d, &dl);
		if (!up.err && dl) {
			r->data = xmalloc((size_t)dl + 1);
			memcpy(r->data, d, dl);
			r->data[dl] = 0;
			r->data_len = dl;
		}
		break;
	}
	case MOP_STATFS:
		r->inodes = unpack_u64(&up);
		r->capacity = unpack_u64(&up);
		r->used = unpack_u64(&up);
		break;
	case MOP_LAYOUT_GET:
		layout_unpack(&up, &r->layout, false);
		break;
	default:
		break;
	}
	r->size = unpack_u32(&up);
	if (unpack_finish(&up)) {
		mres_release(r);
		return -FFFS_EBADFRAME;
	}
	return 0;
}

void mres_release(struct mres *r)
{
	free(r->ents);
	free(r->data);
	r->ents = NULL;
	r->data = NULL;
	r->nents = r->data_len = 0;
}
