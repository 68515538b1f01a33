/* meta/ns.h - the file system namespace: every metadata operation, on a
 * meta/db.h transaction, with the semantics and errno of a Linux local
 * file system.
 *
 *	meta_txn_begin(db, true, &t);
 *	rc = ns_create(t, &cred, parent, "f", 0644, O_RDWR | O_EXCL, client,
 *		       now, &res);
 *	if (rc) meta_txn_abort(t); else meta_txn_commit(t, &ws);
 *
 * Every operation takes the caller's credentials (permission checks on
 * every path component it touches, as Linux does for a local file system:
 * owner, group (primary and supplementary), other, root bypasses all but
 * execute on files without any x bit, the sticky bit on directories,
 * setgid directories, setuid/setgid cleared on chown and on truncation by
 * anyone but root) and `now` (ns since the epoch: the head's clock, so that
 * replicas applying the write set get the same times). Operations that
 * change things return the fresh attributes of every inode they touched
 * in struct ns_res (the parent(s) and the child). Names are 1..255 bytes
 * (NS_NAME_MAX, else -ENAMETOOLONG; empty, "." or "..", or with '/' or NUL:
 * -EINVAL, except lookup of "." and ".." which resolve); symlink targets
 * at most 4095 bytes (-ENAMETOOLONG).
 *
 * Inodes: the root is inode 1 (created by ns_format, mode 0755 root:root).
 * An inode record holds type and mode, uid, gid, nlink, size, atime, mtime,
 * ctime (ns), for a directory its parent and its default layout, for a
 * file its layout (chain table, chunk size, stripe, the first chain's
 * index in the table, a shuffle seed) and its open write sessions count,
 * for a symlink its target. nlink of a directory is 2 + its subdirectories.
 * ctime/mtime change exactly as POSIX says: creating or removing an entry
 * changes the parent's mtime and ctime; link/unlink/rename change the
 * child's ctime; setattr changes ctime; a size change changes mtime and
 * ctime; UTIME_NOW / UTIME_OMIT in setattr.
 *
 * Layouts: a directory's layout is inherited by new children (files and
 * directories). A new file takes the next `stripe` chains of its table
 * from a round-robin cursor (a counter in the db, shared by all files of
 * the table) and a seed (from the inode number and `now`); chunk i of the
 * file lives on chain (start + shuffle(seed, i % stripe)) % table_chains,
 * computed by the client (ns_chunk_chain).
 *
 * Unlink and rmdir: an inode whose nlink drops to 0 and has no write
 * session goes to the gc table (due now) to have its chunks removed;
 * with sessions it is kept (an orphan) until the last session closes, and
 * then goes to gc. ns_remove_tree detaches a whole directory tree in one
 * operation (the directory goes to gc; ns_gc_next walks it later).
 *
 * Errors (negative errno): ENOENT, EEXIST, ENOTEMPTY, ENOTDIR, EISDIR,
 * EINVAL (a rename of a directory into its own subtree, a bad name),
 * EXDEV (never here: one namespace; kept for the callers), ENAMETOOLONG,
 * ELOOP (a symlink where a directory is needed is not followed: ENOTDIR;
 * ELOOP only from ns_resolve past NS_SYMLOOP_MAX links, and from opening
 * a symlink, which is never followed), EACCES, EPERM
 * (sticky bit, chown by a non-owner, link to a directory), ENODATA (no
 * such xattr), ERANGE (an xattr buffer too small), ENOSPC (the db is
 * full), EMLINK (nlink at NS_LINK_MAX).
 *
 * Decisions beyond POSIX:
 *  - an operation that fails leaves the transaction as it was (so that
 *    one failed operation of a group commit costs nothing), except with
 *    -ENOSPC, -EIO or -FFFS_EBADFRAME (a corrupt record, logged naming its
 *    key): then the transaction must be aborted;
 *  - atime changes only through ns_setattr (as with noatime): reads are
 *    served by read-only transactions on any replica;
 *  - ns_res: a[0] is the inode for operations on one inode (setattr,
 *    open, close, xattrs, layout_set); the parent and the child for
 *    create, mkdir, symlink, link (the new parent), unlink, rmdir and
 *    remove_tree (the child as it is left: nlink 0 when it is gone);
 *    rename gives the old parent, the moved inode, the new parent (the
 *    same as a[0] within one directory) and, if there was one, the
 *    replaced or exchanged inode;
 *  - layouts: table 0 means no chain table (the other fields are then
 *    ignored and kept as 0); otherwise chunk_size is a power of two in
 *    64 KiB..64 MiB and stripe at least 1, else -EINVAL. A file's start
 *    is the cursor's value (ns_chunk_chain takes it modulo the table's
 *    chains);
 *  - inodes in gc cannot be opened or linked (-ENOENT).
 */
#ifndef META_NS_H
#define META_NS_H

#include <sys/stat.h>

#include "meta/db.h"

#define NS_ROOT		  1
#define NS_NAME_MAX	  255
#define NS_PATH_MAX	  4096
#define NS_SYMLINK_MAX	  4095
#define NS_SYMLOOP_MAX	  40
#define NS_XATTR_NAME_MAX 255
#define NS_XATTR_SIZE_MAX 65536
#define NS_NGROUPS_MAX	  32
#define NS_LINK_MAX	  65000 /* nlink of any inode */
#define NS_GC_BATCH	  128	/* children one ns_gc_next() moves */

struct ns_cred {
	uint32_t uid, gid;
	uint32_t ngroups;
	uint32_t groups[NS_NGROUPS_MAX];
};

struct ns_layout {
	uint32_t table;	     /* chain table id (0: none) */
	uint32_t chunk_size; /* bytes, a power of two, 64 KiB..64 MiB */
	uint32_t stripe;     /* chains a file spreads over */
	uint32_t start;	     /* files: the first chain's index in the table */
	uint64_t seed;	     /* files: the shuffle seed */
};

struct ns_attr {
	uint64_t ino;
	uint32_t mode; /* S_IFMT type and permission bits */
	uint32_t uid, gid, nlink;
	uint64_t size;
	uint64_t atime, mtime, ctime; /* ns since the epoch */
	uint64_t parent;	      /* directories: the parent's inode */
	uint32_t sessions;	      /* files: open write sessions */
	struct ns_layout layout;
};

/* What a change touched, fresh after it: up to 4 inodes (parent, child,
 * new parent, replaced inode), n of them. */
struct ns_res {
	struct ns_attr a[4];
	int n;
	uint64_t session; /* ns_open/ns_create with a write open */
};

/* Set up an empty db: the root (owner uid/gid, mode 0755, layout). */
int ns_format(struct meta_txn *t, uint32_t uid, uint32_t gid,
	      const struct ns_layout *root_layout, uint64_t now);

int ns_getattr(struct meta_txn *t, uint64_t ino, struct ns_attr *out);
int ns_lookup(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, struct ns_attr *out);
/* Walk an absolute path from the root (following symlinks in the middle,
 * and at the end when follow is set). */
int ns_resolve(struct meta_txn *t, const struct ns_cred *c, const char *path,
	       bool follow, struct ns_attr *out);

/* setattr: which fields (NS_SET_*) from sa. size truncates or extends. */
#define NS_SET_MODE	 0x01
#define NS_SET_UID	 0x02
#define NS_SET_GID	 0x04
#define NS_SET_SIZE	 0x08
#define NS_SET_ATIME	 0x10
#define NS_SET_MTIME	 0x20
#define NS_SET_ATIME_NOW 0x40
#define NS_SET_MTIME_NOW 0x80
int ns_setattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	       unsigned set, const struct ns_attr *sa, uint64_t now,
	       struct ns_res *res);

/* create: a regular file (O_EXCL: -EEXIST if the name exists; without,
 * an existing file is opened: -EISDIR for a directory, -ELOOP for a
 * symlink). flags are open(2) flags: O_WRONLY/O_RDWR open a write session
 * (res->session), O_TRUNC truncates. The new file's gid is the setgid
 * directory's, or the caller's. */
int ns_create(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint32_t mode, int flags, uint64_t client,
	      uint64_t now, struct ns_res *res);
/* open an existing inode: permission checks for flags; write opens get
 * a session of client. */
int ns_open(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	    int flags, uint64_t client, uint64_t now, struct ns_res *res);
/* close a write session; size (when not UINT64_MAX) is the length the
 * writer knows (the file grows to it, never shrinks). The last close of
 * an unlinked file sends it to gc. */
int ns_close(struct meta_txn *t, uint64_t session, uint64_t size, uint64_t now,
	     struct ns_res *res);
/* What a writer reports of a session: size as for ns_close (grows the
 * file, never shrinks it); NS_REPORT_WROTE: it wrote, mtime and ctime are
 * now; NS_REPORT_CLOSE: the session ends (ns_close is this). Without it
 * the session stays open (flush, fsync). */
#define NS_REPORT_WROTE 0x1
#define NS_REPORT_CLOSE 0x2
int ns_report(struct meta_txn *t, uint64_t session, uint64_t size,
	      unsigned flags, uint64_t now, struct ns_res *res);
/* Close the n sessions of ids, each as ns_close without a size; those
 * not open (closed before, or pruned) are skipped. The number closed, or
 * the first error of another kind (and then some may be closed in t). */
int ns_close_many(struct meta_txn *t, const uint64_t *ids, size_t n,
		  uint64_t now);
/* Drop every session of client (mgmtd no longer lists it), each as
 * ns_close without a size; the number dropped. */
int ns_sessions_prune(struct meta_txn *t, uint64_t client, uint64_t now);

int ns_mkdir(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	     const char *name, uint32_t mode, uint64_t now, struct ns_res *res);
int ns_rmdir(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	     const char *name, uint64_t now, struct ns_res *res);
int ns_unlink(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint64_t now, struct ns_res *res);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (linux/fs.h). */
int ns_rename(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, uint64_t newparent, const char *newname,
	      unsigned flags, uint64_t now, struct ns_res *res);
int ns_link(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	    uint64_t newparent, const char *newname, uint64_t now,
	    struct ns_res *res);
int ns_symlink(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	       const char *name, const char *target, uint64_t now,
	       struct ns_res *res);
/* The target into buf (NUL-terminated); its length. -EINVAL for an
 * inode that is not a symlink, -ERANGE if len < length + 1. A symlink's
 * target is 1..NS_SYMLINK_MAX bytes (an empty one: -ENOENT). */
int ns_readlink(struct meta_txn *t, uint64_t ino, char *buf, size_t len);

/* readdir: entries after cookie (0: from the start; "." and ".." first),
 * at most max, to fn(arg, name, ino, type (DT_*), next cookie); returns
 * the number given, or an error. A page ends early when fn returns
 * non-zero: that entry was refused (not counted; the next page starts
 * with it). Needs read (and, to walk, execute) permission.
 *
 * Entries come in the order of a 55-bit hash of their names; the cookie
 * after an entry is (hash + 1) << 8 | its place in a run of equal hashes,
 * 1 after "." and 2 after "..", so a position survives entries being
 * added or removed between pages: an entry present throughout is given
 * exactly once. A cookie that is none of these is -EINVAL. */
int ns_readdir(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
	       uint64_t cookie, uint32_t max,
	       int (*fn)(void *arg, const char *name, uint64_t ino,
			 uint8_t type, uint64_t next),
	       void *arg);

/* xattrs in the user.* namespace (others: -EOPNOTSUPP; "user." alone:
 * -EINVAL; an empty name or one past NS_XATTR_NAME_MAX: -ERANGE; a value
 * past NS_XATTR_SIZE_MAX: -E2BIG), on files and directories (others:
 * -EPERM to set, -ENODATA to get). flags: XATTR_CREATE, XATTR_REPLACE.
 * get with len 0 gives the size. Set and remove need write permission
 * (and, on a sticky directory, ownership), get needs read. */
int ns_setxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		const char *name, const void *val, size_t len, int flags,
		uint64_t now, struct ns_res *res);
int ns_getxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		const char *name, void *buf, size_t len);
/* The names, each NUL-terminated, into buf; the bytes needed. */
int ns_listxattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		 char *buf, size_t len);
int ns_removexattr(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		   const char *name, uint64_t now, struct ns_res *res);

/* Per-directory layout (-ENOTDIR for others); set by the owner or root
 * (-EPERM), changing ctime. */
int ns_layout_get(struct meta_txn *t, uint64_t dir, struct ns_layout *out);
int ns_layout_set(struct meta_txn *t, const struct ns_cred *c, uint64_t dir,
		  const struct ns_layout *l, uint64_t now, struct ns_res *res);

/* statfs: the namespace's part (inodes in use). */
int ns_statfs(struct meta_txn *t, uint64_t *inodes);

/* Recursive remove: detach the directory entry name of parent (a whole
 * tree) and queue its inode for gc; one operation whatever the size. The
 * checks are those of rmdir (but for ENOTEMPTY) and read, write and
 * execute permission on the directory itself; nothing below it is looked
 * at (the caller decides who may remove trees). */
int ns_remove_tree(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
		   const char *name, uint64_t now, struct ns_res *res);

/* GC: the next inode due (its attributes: the caller removes its
 * chunks), or -ENOENT when none is due at now. An inode stays in gc (and
 * is given again) until ns_gc_done. A directory in gc gives up its
 * children first (they enter gc, the directory stays until empty), at
 * most NS_GC_BATCH of them per call so that each call is a small
 * transaction: -EAGAIN when a call moved children and has nothing to give
 * yet (commit, and call again). ns_gc_done removes the inode (and its
 * xattrs) for good once its chunks are gone: -EINVAL for an inode not in
 * gc, -ENOTEMPTY for a directory that still has entries. */
int ns_gc_next(struct meta_txn *t, uint64_t now, struct ns_attr *out);
int ns_gc_done(struct meta_txn *t, uint64_t ino);

/* The chain (index into the table's chain list of nchains) of chunk i of
 * a file with layout l. */
uint32_t ns_chunk_chain(const struct ns_layout *l, uint32_t nchains,
			uint64_t i);

/* Check the tree: every dirent names a live inode of its type, every
 * inode but the root is reachable, nlink matches the entries, every
 * directory's parent is right, gc and sessions name real inodes. Prints
 * each problem to fn; returns the number of problems. */
int ns_fsck(struct meta_txn *t, void (*fn)(void *arg, const char *problem),
	    void *arg);

#endif /* META_NS_H */
