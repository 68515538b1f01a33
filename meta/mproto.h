/* meta/mproto.h - the namespace operations on the wire: the body of a
 * CLI_META_OP request (struct mreq) and of its reply (struct mres), shared
 * by the meta server (meta/msrv.h) and the meta client (meta/mcli.h).
 *
 *	struct mreq q = { .op = MOP_MKDIR, .parent = 1, .mode = 0755 };
 *	snprintf(q.name, sizeof(q.name), "a");
 *	mreq_pack(&pk, &q);                      // client
 *	mreq_unpack(body, len, &q2);             // server (owns q2.data)
 *	mres_exec(t, &q2, now, ctx, &res);       // server: runs the ns_ op
 *	mres_pack(&pk, &q2, &res);               // server: the reply body
 *	mres_unpack(q.op, body, len, &res2);     // client (owns res2 data)
 *	mreq_release(&q2); mres_release(&res2);
 *
 * Request body (little-endian, net/pack.h): u8 format (MPROTO_FORMAT),
 * u32 chain_ver (of the meta chain, as the sender knows it), u64 client,
 * u64 req_id (0: not to be remembered; reads), u64 ack_floor (every
 * request of this client below it has been answered: the server may
 * forget them), u8 op, cred (u32 uid, u32 gid, u8 n, n x u32 group), then
 * the fields of the op, each always present: u64 ino, u64 parent, u64
 * newparent, str name, str name2, blob data, u32 mode, u32 uid, u32 gid,
 * u32 set (NS_SET_*), u64 size, u64 atime, u64 mtime, u32 flags, u64
 * cookie, u32 max, u64 session, layout (u32 table, u32 chunk_size, u32
 * stripe). What each op reads:
 *	LOOKUP parent name; GETATTR ino; RESOLVE name (an absolute path, at
 *	most NS_PATH_MAX - 1 bytes: it goes in data) flags (1: follow);
 *	READDIR ino cookie max; READLINK ino; GETXATTR ino name2 size (0:
 *	the size only); LISTXATTR ino size; STATFS; LAYOUT_GET ino;
 *	SETATTR ino set mode uid gid size atime mtime; CREATE parent name mode
 *	flags (open(2) flags); OPEN ino flags; CLOSE session size (UINT64_MAX:
 *	unknown) flags (MCLOSE_*: ns_report() of meta/ns.h), or with
 *	MCLOSE_LIST flags data (the sessions, u64 each); MKDIR parent name
 *mode; RMDIR, UNLINK, REMOVE_TREE parent name; RENAME parent name newparent
 *name2 flags; LINK ino newparent name; SYMLINK parent name data (the target);
 *SETXATTR ino name2 data flags; REMOVEXATTR ino name2; LAYOUT_SET ino layout.
 * Names are at most NS_NAME_MAX bytes and data at most NS_XATTR_SIZE_MAX
 * (or NS_PATH_MAX for RESOLVE and SYMLINK) bytes, else mreq_unpack() is
 * -ENAMETOOLONG / -E2BIG (the server answers that status); malformed or
 * truncated is -FFFS_EBADFRAME, an unknown op or format -EINVAL.
 *
 * Reply body (the frame's status is the op's result: 0 or -errno): u8 n,
 * n x attr (the ns_res: fresh attributes of every inode touched; for
 * LOOKUP, GETATTR, RESOLVE, OPEN the one inode; CREATE and OPEN
 * also fill session), u64 session, then by op: READDIR u32 n, n x (str
 * name, u64 ino, u8 type, u64 next), u8 eof; READLINK, GETXATTR,
 * LISTXATTR blob data (GETXATTR/LISTXATTR with size 0: empty data, and
 * u32 size says how much there is); STATFS u64 inodes, u64 capacity, u64
 * used (bytes of the storage targets, from mgmtd's routing info); LAYOUT_GET
 * layout; always last: u32 size. An attr is u64 ino, u32 mode, u32 uid,
 * u32 gid, u32 nlink, u64 size, u64 atime, u64 mtime, u64 ctime, u64
 * parent, u32 sessions, layout (u32 table, u32 chunk_size, u32 stripe, u32
 * start, u64 seed).
 */
#ifndef META_MPROTO_H
#define META_MPROTO_H

#include "meta/ns.h"
#include "net/pack.h"

#define MPROTO_FORMAT 1

enum mop {
	/* read-only: any serving replica answers them for clean inodes */
	MOP_LOOKUP = 1,
	MOP_GETATTR,
	MOP_RESOLVE,
	MOP_READDIR,
	MOP_READLINK,
	MOP_GETXATTR,
	MOP_LISTXATTR,
	MOP_STATFS,
	MOP_LAYOUT_GET,
	MOP__READS_END,
	/* changes: the head executes them */
	MOP_SETATTR = 32,
	MOP_CREATE,
	MOP_OPEN,
	MOP_CLOSE,
	MOP_MKDIR,
	MOP_RMDIR,
	MOP_UNLINK,
	MOP_RENAME,
	MOP_LINK,
	MOP_SYMLINK,
	MOP_SETXATTR,
	MOP_REMOVEXATTR,
	MOP_LAYOUT_SET,
	MOP_REMOVE_TREE,
	MOP__END
};

#define MREADDIR_MAX 1024 /* entries per READDIR reply */

/* flags of MOP_CLOSE */
#define MCLOSE_KEEP  0x1 /* report the size only: the session stays open */
#define MCLOSE_WROTE 0x2 /* the session wrote: mtime and ctime are now */
/* data is 1..MCLOSE_LIST_MAX u64 sessions, each closed without a size
 * (ns_close_many: one no longer open is skipped); session, size and the
 * other flags are not read, and the reply has no attributes */
#define MCLOSE_LIST	0x4
#define MCLOSE_LIST_MAX 256

static inline bool mop_is_read(unsigned op)
{
	return op >= MOP_LOOKUP && op < MOP__READS_END;
}
static inline bool mop_valid(unsigned op)
{
	return mop_is_read(op) || (op >= MOP_SETATTR && op < MOP__END);
}
/* "mkdir", ...; "?" for others. */
const char *mop_name(unsigned op);

struct mreq {
	uint32_t chain_ver;
	uint64_t client, req_id, ack_floor;
	uint8_t op; /* enum mop */
	struct ns_cred cred;
	uint64_t ino, parent, newparent;
	char name[NS_NAME_MAX + 1], name2[NS_NAME_MAX + 1];
	uint8_t *data; /* owned (mreq_unpack), NUL-terminated; NULL: none */
	uint32_t data_len;
	uint32_t mode, uid, gid, set;
	uint64_t size, atime, mtime;
	uint32_t flags;
	uint64_t cookie;
	uint32_t max;
	uint64_t session;
	struct ns_layout layout;
};

struct mdirent {
	char name[NS_NAME_MAX + 1];
	uint64_t ino, next;
	uint8_t type;
};

struct mres {
	int status;
	struct ns_res res; /* res.n attrs; res.session */
	/* READDIR */
	struct mdirent *ents; /* owned */
	uint32_t nents;
	bool eof;
	/* READLINK, GETXATTR, LISTXATTR */
	uint8_t *data; /* owned */
	uint32_t data_len;
	/* STATFS */
	uint64_t inodes, capacity, used;
	/* LAYOUT_GET */
	struct ns_layout layout;
	uint32_t size; /* GETXATTR, LISTXATTR: the bytes there are */
};

/* Client side: q->data borrowed (data_len bytes). Sticky pk->err. */
void mreq_pack(struct pack *pk, const struct mreq *q);
/* Server side: 0, or -FFFS_EBADFRAME / -EINVAL / -ENAMETOOLONG / -E2BIG
 * (nothing to release then). */
int mreq_unpack(const void *body, size_t len, struct mreq *q);
void mreq_release(struct mreq *q);

/* Server side: run q on t (a write transaction for changes, read-only for
 * reads) at time now (ns, the head's clock). Into r: status and whatever
 * the reply carries. STATFS takes capacity and used from cap/used. An op
 * that fails leaves t as it was unless r->status is -ENOSPC, -EIO or
 * -FFFS_EBADFRAME (meta/ns.h): then t must be aborted. */
void mres_exec(struct meta_txn *t, const struct mreq *q, uint64_t now,
	       uint64_t cap, uint64_t used, struct mres *r);
/* The reply body of r for op (status goes in the frame). */
void mres_pack(struct pack *pk, unsigned op, const struct mres *r);
/* Bytes mres_pack() needs at most for r. */
size_t mres_size(unsigned op, const struct mres *r);
/* Client side: 0 or -FFFS_EBADFRAME; r->status is set by the caller from
 * the frame. */
int mres_unpack(unsigned op, const void *body, size_t len, struct mres *r);
void mres_release(struct mres *r);

void mattr_pack(struct pack *pk, const struct ns_attr *a);
void mattr_unpack(struct unpack *up, struct ns_attr *a);

#endif /* META_MPROTO_H */
