/* meta/ns_int.h - internals shared by the files of the namespace
 * (meta/ns*.c): the records of every table, their keys and codecs, and
 * the checks every operation makes.
 *
 * Keys (big-endian numbers, so that key order is numeric order):
 *	inodes	 u64 ino
 *	dirents	 u64 parent, u64 hash of the name, the name bytes
 *	xattrs	 u64 ino, the name bytes
 *	sessions u64 session id
 *	gc	 u64 due time (ns), u64 ino
 *	counters a short ASCII name ("ino", "session", "inodes"), or
 *		 "layout" and a u32 table id (the round-robin cursor)
 * Values (little-endian, net/pack.h), each opening with a format byte
 * (NS_REC_FORMAT), decoded strictly: a wrong format, a bad field, a short
 * or long record is -FFFS_EBADFRAME, logged naming the key.
 *	inode	 u32 mode, uid, gid, nlink; u64 size, atime, mtime, ctime,
 *		 parent; u32 sessions; u32 table, chunk_size, stripe, start;
 *		 u64 seed; u8 flags (NS_IF_*); u64 gc due; str symlink target
 *	dirent	 u64 ino, u8 type (DT_REG, DT_DIR, DT_LNK)
 *	xattr	 blob value
 *	session	 u64 client, u64 ino, u64 opened (ns)
 *	gc	 nothing more (the key says it all)
 *	counter	 u64
 *
 * Every operation reads and checks everything before its first write, so
 * that an error other than one from the db (-ENOSPC, -EIO) or a corrupt
 * record leaves the transaction as it was.
 */
#ifndef META_NS_INT_H
#define META_NS_INT_H

#include <dirent.h>

#include "meta/db.h"
#include "meta/ns.h"

#define NS_REC_FORMAT	   1
#define NS_INO_KEY_LEN	   8
#define NS_DIRENT_KEY_MAX  (16 + NS_NAME_MAX)
#define NS_XATTR_KEY_MAX   (8 + NS_XATTR_NAME_MAX)
#define NS_GC_KEY_LEN	   16
#define NS_INODE_VAL_MAX   (128 + NS_SYMLINK_MAX)
#define NS_DIRENT_VAL_LEN  10
#define NS_SESSION_VAL_LEN 25
#define NS_COUNTER_VAL_LEN 9
#define NS_WALK_MAX	   (1u << 20) /* ancestors: more is a loop */

/* The dirent hash keeps 55 bits, so that a readdir cookie holds it and a
 * place in a run of equal hashes (see ns_readdir). */
#define NS_HASH_BITS	55
#define NS_COOKIE_FIRST 256 /* cookies below are ".", "..", unused */

#define NS_IF_GC 0x01 /* queued in gc at gc_due */

/* An inode record, decoded. */
struct ns_inode {
	struct ns_attr a;
	uint8_t flags;
	uint64_t gc_due;
	const char *target; /* symlinks: not NUL-terminated; lives as long
			     * as the transaction */
	uint32_t tlen;
};

struct ns_dirent {
	uint64_t ino;
	uint8_t type; /* DT_* */
};

struct ns_session {
	uint64_t client, ino, opened;
};

/* ---- keys and codecs (ns_rec.c) ---------------------------------------- */

void ns_be64_put(uint8_t *p, uint64_t v);
uint64_t ns_be64_get(const uint8_t *p);
void ns_ino_key(uint8_t k[NS_INO_KEY_LEN], uint64_t ino);
uint64_t ns_name_hash(const char *name, size_t len);
/* The key of (parent, name); its length. */
size_t ns_dirent_key(uint8_t k[NS_DIRENT_KEY_MAX], uint64_t parent,
		     const char *name, size_t len);
/* The first key of parent's entries with hash >= h. */
void ns_dirent_key_hash(uint8_t k[16], uint64_t parent, uint64_t h);
size_t ns_xattr_key(uint8_t k[NS_XATTR_KEY_MAX], uint64_t ino, const char *name,
		    size_t len);
void ns_gc_key(uint8_t k[NS_GC_KEY_LEN], uint64_t due, uint64_t ino);

size_t ns_inode_encode(const struct ns_inode *in, uint8_t *buf, size_t cap);
int ns_inode_decode(uint64_t ino, const void *v, size_t len,
		    struct ns_inode *out);
size_t ns_dirent_encode(const struct ns_dirent *d, uint8_t *buf, size_t cap);
int ns_dirent_decode(const void *v, size_t len, struct ns_dirent *out);
size_t ns_session_encode(const struct ns_session *s, uint8_t *buf, size_t cap);
int ns_session_decode(const void *v, size_t len, struct ns_session *out);
int ns_gc_val_check(const void *v, size_t len);
uint8_t ns_dtype(uint32_t mode);
uint32_t ns_dtype_mode(uint8_t type);

/* ---- records in a transaction (ns_rec.c) -------------------------------- */

/* -ENOENT, or a decoded record; a corrupt one is logged. */
int ns_inode_get(struct meta_txn *t, uint64_t ino, struct ns_inode *out);
int ns_inode_put(struct meta_txn *t, const struct ns_inode *in);
int ns_dirent_get(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len, struct ns_dirent *out);
int ns_dirent_put(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len, const struct ns_dirent *d);
int ns_dirent_del(struct meta_txn *t, uint64_t parent, const char *name,
		  size_t len);
/* 1 when dir has no entries, 0 when it has, or an error. */
int ns_dir_empty(struct meta_txn *t, uint64_t dir);
/* A counter's value (0 when never set) and the store of a new one. */
int ns_counter_get(struct meta_txn *t, const void *key, size_t klen,
		   uint64_t *v);
int ns_counter_set(struct meta_txn *t, const void *key, size_t klen,
		   uint64_t v);
/* Add delta to the "inodes" counter. */
int ns_inodes_add(struct meta_txn *t, int64_t delta);

/* ---- the checks and steps operations share (ns.c) ----------------------- */

bool ns_in_group(const struct ns_cred *c, uint32_t gid);
/* generic_permission(): mask of 4 (read), 2 (write), 1 (execute). */
int ns_perm(const struct ns_cred *c, const struct ns_attr *a, int mask);
/* Write and execute on dir, and the sticky bit (-EPERM). */
int ns_may_delete(const struct ns_cred *c, const struct ns_attr *dir,
		  const struct ns_attr *victim);
/* Owner or root (-EPERM otherwise). */
int ns_owner_or_root(const struct ns_cred *c, const struct ns_attr *a);
/* A name for an entry: its length, or -EINVAL / -ENAMETOOLONG. */
int ns_name_check(const char *name, size_t *len);
/* A live directory the caller may search: -ENOENT, -ENOTDIR, -EACCES. */
int ns_dir_search(struct meta_txn *t, const struct ns_cred *c, uint64_t ino,
		  struct ns_inode *dir);
/* A dirent's inode; a dirent without one is -EIO (logged). */
int ns_dirent_inode(struct meta_txn *t, uint64_t parent, const char *name,
		    size_t len, const struct ns_dirent *d,
		    struct ns_inode *out);
void ns_res_add(struct ns_res *res, const struct ns_inode *in);
/* Queue in for gc (due at due): its record is written by the caller. */
int ns_gc_queue(struct meta_txn *t, struct ns_inode *in, uint64_t due);
/* One link of a non-directory is gone: nlink and ctime; at 0 links it is
 * an orphan (sessions) or queued for gc. Writes the record. */
int ns_drop_link(struct meta_txn *t, struct ns_inode *in, uint64_t now);
/* A directory is gone from its parent: nlink 0, queued for gc. */
int ns_drop_dir(struct meta_txn *t, struct ns_inode *in, uint64_t now);
/* Setuid always, setgid when group-executable (chown, truncate). */
void ns_kill_suid(struct ns_inode *in);
/* The entry name of parent and its inode, for a removal: -ENOENT,
 * -EACCES, -EPERM (sticky), -EISDIR / -ENOTDIR against want_dir. */
/* The end of a removal: the entry goes, in loses a link (ns.c). */
int ns_detach(struct meta_txn *t, struct ns_inode *dir, struct ns_inode *in,
	      const char *name, size_t len, uint64_t now, struct ns_res *res);
int ns_victim(struct meta_txn *t, const struct ns_cred *c, uint64_t parent,
	      const char *name, bool want_dir, struct ns_inode *dir,
	      struct ns_inode *in, size_t *len);
/* Every xattr of ino (ns_xattr.c). */
int ns_xattrs_drop(struct meta_txn *t, uint64_t ino);

#endif /* META_NS_INT_H */
