/* t/unit/ns.c - the namespace: the db format, names and lookup, times
 * and link counts, unlink and rmdir, rename, symlinks and paths, and
 * sessions, each replicated by write set to a second db. Permissions are
 * in t/unit/ns_perm.c, directories in ns_dir.c, gc and fsck in
 * ns_tree.c. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "meta/db.h"
#include "meta/ns.h"
#include "meta/ns_int.h"
#include "net/pack.h"
#include "t/unit/lib/ns_fixture.h"
#include "t/unit/tap.h"

/* ---- format, names, lookup ----------------------------------------------- */

static void test_format(void)
{
	struct ns_layout l = { 5, 1 << 20, 4, 0, 0 };
	struct ns_attr a;
	uint64_t n;

	OK(ns_format(t, 0, 0, &l, now), "format");
	FAILS(ns_format(t, 0, 0, &l, now), -EEXIST, "format twice: -EEXIST");
	a = attr(NS_ROOT);
	ok(a.mode == (S_IFDIR | 0755) && a.uid == 0 && a.gid == 0 &&
		   a.nlink == 2 && a.parent == NS_ROOT,
	   "the root: a directory, 0755 root:root, nlink 2, its own parent");
	ok(a.layout.table == 5 && a.layout.chunk_size == 1 << 20 &&
		   a.layout.stripe == 4,
	   "the root has the layout given");
	TX(ns_statfs(t, &n));
	is_int(n, 1, "statfs: one inode");
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck: a new namespace is clean");
	chmod_(NS_ROOT, 0777); /* everyone makes their test's top */
}

static void test_names(void)
{
	char *n255 = longname(255), *n256 = longname(256);
	struct ns_attr a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "names", 0777);
	f = creat_(&root, d, "file", 0644);
	ok(d && f, "a directory and a file");
	FAILS(ns_mkdir(t, &root, d, "", 0755, now, &res), -EINVAL,
	      "mkdir of an empty name: -EINVAL");
	FAILS(ns_mkdir(t, &root, d, ".", 0755, now, &res), -EINVAL,
	      "mkdir '.': -EINVAL");
	FAILS(ns_mkdir(t, &root, d, "..", 0755, now, &res), -EINVAL,
	      "mkdir '..': -EINVAL");
	FAILS(ns_create(t, &root, d, "a/b", 0644, O_EXCL, 0, now, &res),
	      -EINVAL, "create of a name with '/': -EINVAL");
	FAILS(ns_create(t, &root, d, n256, 0644, O_EXCL, 0, now, &res),
	      -ENAMETOOLONG, "create of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_mkdir(t, &root, d, n256, 0755, now, &res), -ENAMETOOLONG,
	      "mkdir of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_symlink(t, &root, d, n256, "x", now, &res), -ENAMETOOLONG,
	      "symlink of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_link(t, &root, f, d, n256, now, &res), -ENAMETOOLONG,
	      "link to a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_rename(t, &root, d, "file", d, n256, 0, now, &res),
	      -ENAMETOOLONG, "rename to a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_lookup(t, &root, d, n256, &a), -ENAMETOOLONG,
	      "lookup of a 256-byte name: -ENAMETOOLONG");
	FAILS(ns_unlink(t, &root, d, "..", now, &res), -EINVAL,
	      "unlink '..': -EINVAL");
	FAILS(ns_rmdir(t, &root, d, ".", now, &res), -EINVAL,
	      "rmdir '.': -EINVAL");
	FAILS(ns_rename(t, &root, d, "file", d, ".", 0, now, &res), -EINVAL,
	      "rename to '.': -EINVAL");
	FAILS(ns_rename(t, &root, d, "..", d, "x", 0, now, &res), -EINVAL,
	      "rename of '..': -EINVAL");
	FAILS(ns_link(t, &root, f, d, "", now, &res), -EINVAL,
	      "link to an empty name: -EINVAL");
	FAILS(ns_symlink(t, &root, d, "a/", "x", now, &res), -EINVAL,
	      "symlink named with '/': -EINVAL");
	OK(ns_create(t, &root, d, n255, 0644, O_EXCL, 0, now, &res),
	   "a 255-byte name");
	OK(ns_lookup(t, &root, d, n255, &a), "is found");
	OK(ns_lookup(t, &root, d, ".", &a), "lookup '.'");
	is_int(a.ino, d, "is the directory");
	OK(ns_lookup(t, &root, d, "..", &a), "lookup '..'");
	is_int(a.ino, NS_ROOT, "is its parent");
	TX(ns_lookup(t, &root, NS_ROOT, "..", &a));
	is_int(a.ino, NS_ROOT, "the root's '..' is the root");
	FAILS(ns_lookup(t, &root, d, "nothing", &a), -ENOENT,
	      "lookup of a missing name: -ENOENT");
	FAILS(ns_lookup(t, &root, f, "x", &a), -ENOTDIR,
	      "lookup in a file: -ENOTDIR");
	FAILS(ns_lookup(t, &root, 999999, "x", &a), -ENOENT,
	      "lookup in a missing directory: -ENOENT");
	FAILS(ns_getattr(t, 999999, &a), -ENOENT, "getattr of no inode");
	FAILS(ns_mkdir(t, &root, d, "file", 0755, now, &res), -EEXIST,
	      "mkdir over a file: -EEXIST");
	FAILS(ns_create(t, &root, d, "file", 0644, O_EXCL, 0, now, &res),
	      -EEXIST, "create O_EXCL of an existing name: -EEXIST");
	FAILS(ns_symlink(t, &root, d, "file", "x", now, &res), -EEXIST,
	      "symlink over a file: -EEXIST");
	FAILS(ns_link(t, &root, f, d, "file", now, &res), -EEXIST,
	      "link over a name: -EEXIST");
	FAILS(ns_mkdir(t, &root, f, "x", 0755, now, &res), -ENOTDIR,
	      "mkdir in a file: -ENOTDIR");
	FAILS(ns_create(t, &root, f, "x", 0644, 0, 0, now, &res), -ENOTDIR,
	      "create in a file: -ENOTDIR");
	FAILS(ns_create(t, &root, 999999, "x", 0644, 0, 0, now, &res), -ENOENT,
	      "create in a missing directory: -ENOENT");
	OK(ns_create(t, &root, d, "file", 0644, O_RDONLY, 0, now, &res),
	   "create without O_EXCL opens an existing file");
	ok(res.n == 2 && res.a[1].ino == f && !res.session,
	   "the same inode, no session for a read open");
	mkdir_(&root, d, "sub", 0755);
	FAILS(ns_create(t, &root, d, "sub", 0644, O_RDONLY, 0, now, &res),
	      -EISDIR, "create over a directory: -EISDIR");
	NEED(ns_symlink(t, &root, d, "ln", "file", now, &res));
	f = res.a[1].ino;
	FAILS(ns_create(t, &root, d, "ln", 0644, O_RDONLY, 0, now, &res),
	      -ELOOP, "create over a symlink (not followed): -ELOOP");
	FAILS(ns_lookup(t, &root, f, "x", &a), -ENOTDIR,
	      "a symlink as a directory is not followed: -ENOTDIR");
	free(n255);
	free(n256);
}

/* ---- times, link counts, ns_res ------------------------------------------ */

static void test_times(void)
{
	struct ns_attr a, p0, f0, sa;
	uint64_t d, d2, f, sub;

	d = mkdir_(&root, NS_ROOT, "times", 0755);
	d2 = mkdir_(&root, NS_ROOT, "times2", 0755);
	p0 = attr(d);
	sub = mkdir_(&root, d, "sub", 0755);
	a = attr(d);
	ok(a.nlink == p0.nlink + 1 && a.mtime == now && a.ctime == now,
	   "mkdir: the parent's nlink + 1, its mtime and ctime now");
	ok(res.n == 2 && res_fresh(&res), "mkdir: ns_res has both, fresh");
	a = attr(sub);
	ok(a.nlink == 2 && a.parent == d && a.atime == now && a.mtime == now &&
		   a.ctime == now,
	   "a new directory: nlink 2, its parent, times now");
	OK(ns_rmdir(t, &root, d, "sub", now, &res), "rmdir");
	a = attr(d);
	ok(a.nlink == p0.nlink && a.mtime == now && a.ctime == now,
	   "rmdir: the parent's nlink - 1, mtime and ctime now");
	ok(res.n == 2 && res_fresh(&res) && res.a[1].nlink == 0,
	   "rmdir: ns_res fresh, the child at nlink 0");

	f = creat_(&root, d, "f", 0644);
	a = attr(d);
	ok(a.mtime == now && a.ctime == now, "create: parent mtime/ctime");
	ok(res.n == 2 && res_fresh(&res), "create: ns_res fresh");
	f0 = attr(f);
	ok(f0.nlink == 1 && f0.size == 0 && f0.mtime == now,
	   "a new file: nlink 1, empty");
	OK(ns_link(t, &root, f, d2, "hard", now, &res), "link");
	a = attr(f);
	ok(a.nlink == 2 && a.ctime == now && a.mtime == f0.mtime,
	   "link: nlink 2, ctime now, mtime unchanged");
	a = attr(d2);
	ok(a.mtime == now && a.ctime == now, "link: new parent's times");
	ok(res.n == 2 && res.a[0].ino == d2 && res_fresh(&res),
	   "link: ns_res has the new parent and the inode, fresh");
	OK(ns_unlink(t, &root, d2, "hard", now, &res), "unlink");
	a = attr(f);
	ok(a.nlink == 1 && a.ctime == now, "unlink: nlink 1, ctime now");
	a = attr(d2);
	ok(a.mtime == now && a.ctime == now, "unlink: parent's times");
	ok(res.n == 2 && res_fresh(&res), "unlink: ns_res fresh");

	f0 = attr(f);
	OK(ns_rename(t, &root, d, "f", d, "g", 0, now, &res),
	   "rename in a directory");
	a = attr(f);
	ok(a.ctime == now && a.mtime == f0.mtime,
	   "rename: the child's ctime changes, not its mtime");
	a = attr(d);
	ok(a.mtime == now && a.ctime == now, "rename: the parent's times");
	ok(res.n == 3 && res_fresh(&res), "rename: ns_res fresh");
	OK(ns_rename(t, &root, d, "g", d2, "g", 0, now, &res),
	   "rename across directories");
	ok(attr(d).mtime == now && attr(d2).mtime == now &&
		   attr(d).ctime == now && attr(d2).ctime == now,
	   "both parents' mtime and ctime");
	ok(res.n == 3 && res.a[0].ino == d && res.a[2].ino == d2 &&
		   res_fresh(&res),
	   "ns_res: old parent, child, new parent, fresh");

	sub = mkdir_(&root, d, "mv", 0755);
	p0 = attr(d);
	f0 = attr(d2);
	OK(ns_rename(t, &root, d, "mv", d2, "mv", 0, now, &res),
	   "rename a directory to another parent");
	ok(attr(d).nlink == p0.nlink - 1 && attr(d2).nlink == f0.nlink + 1,
	   "the old parent's nlink - 1, the new one's + 1");
	ok(attr(sub).parent == d2, "its parent field follows");
	TX(ns_lookup(t, &root, sub, "..", &a));
	is_int(a.ino, d2, "its '..' is the new parent");

	/* setattr and truncation */
	sa.size = 12345;
	f0 = attr(f);
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res), "truncate up");
	a = attr(f);
	ok(a.size == 12345 && a.mtime == now && a.ctime == now &&
		   a.atime == f0.atime,
	   "a size change: mtime and ctime now, atime kept");
	ok(res.n == 1 && res_fresh(&res), "setattr: ns_res fresh");
	sa.size = 10;
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate down");
	is_int(attr(f).size, 10, "size 10");
	sa.atime = 111;
	sa.mtime = 222;
	OK(ns_setattr(t, &root, f, NS_SET_ATIME | NS_SET_MTIME, &sa, now, &res),
	   "set both times");
	a = attr(f);
	ok(a.atime == 111 && a.mtime == 222 && a.ctime == now,
	   "explicit times; ctime now");
	OK(ns_setattr(t, &root, f, NS_SET_ATIME_NOW, &sa, now, &res),
	   "atime now, mtime omitted");
	a = attr(f);
	ok(a.atime == now && a.mtime == 222 && a.ctime == now,
	   "UTIME_NOW for atime, UTIME_OMIT keeps mtime");
	OK(ns_setattr(t, &root, f, NS_SET_MTIME_NOW | NS_SET_ATIME, &sa, now,
		      &res),
	   "mtime now, atime explicit");
	a = attr(f);
	ok(a.atime == 111 && a.mtime == now, "both as asked");
	FAILS(ns_setattr(t, &root, f, NS_SET_ATIME | NS_SET_ATIME_NOW, &sa, now,
			 &res),
	      -EINVAL, "atime both explicit and now: -EINVAL");
	FAILS(ns_setattr(t, &root, f, 0x1000, &sa, now, &res), -EINVAL,
	      "unknown setattr bits: -EINVAL");
	FAILS(ns_setattr(t, &root, d, NS_SET_SIZE, &sa, now, &res), -EISDIR,
	      "truncating a directory: -EISDIR");
	NEED(ns_symlink(t, &root, d, "sl", "target", now, &res));
	FAILS(ns_setattr(t, &root, res.a[1].ino, NS_SET_SIZE, &sa, now, &res),
	      -EINVAL, "truncating a symlink: -EINVAL");
	FAILS(ns_setattr(t, &root, 999999, NS_SET_MODE, &sa, now, &res),
	      -ENOENT, "setattr of no inode: -ENOENT");
	sa.mode = S_IFDIR | 0600;
	OK(ns_setattr(t, &root, f, NS_SET_MODE, &sa, now, &res), "chmod");
	a = attr(f);
	ok(a.mode == (S_IFREG | 0600) && a.ctime == now,
	   "chmod keeps the type, changes ctime");
}

/* ---- unlink, rmdir ------------------------------------------------------- */

static void test_remove(void)
{
	struct ns_attr a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "rm", 0755);
	f = creat_(&root, d, "f", 0644);
	mkdir_(&root, d, "sub", 0755);
	creat_(&root, mkdir_(&root, d, "full", 0755), "x", 0644);
	NEED(ns_symlink(t, &root, d, "ln", "sub", now, &res));
	FAILS(ns_unlink(t, &root, d, "sub", now, &res), -EISDIR,
	      "unlink of a directory: -EISDIR");
	FAILS(ns_rmdir(t, &root, d, "f", now, &res), -ENOTDIR,
	      "rmdir of a file: -ENOTDIR");
	FAILS(ns_rmdir(t, &root, d, "ln", now, &res), -ENOTDIR,
	      "rmdir of a symlink to a directory: -ENOTDIR");
	FAILS(ns_rmdir(t, &root, d, "full", now, &res), -ENOTEMPTY,
	      "rmdir of a non-empty directory: -ENOTEMPTY");
	FAILS(ns_unlink(t, &root, d, "none", now, &res), -ENOENT,
	      "unlink of a missing name: -ENOENT");
	FAILS(ns_rmdir(t, &root, d, "none", now, &res), -ENOENT,
	      "rmdir of a missing name: -ENOENT");
	FAILS(ns_unlink(t, &root, f, "x", now, &res), -ENOTDIR,
	      "unlink in a file: -ENOTDIR");
	OK(ns_unlink(t, &root, d, "ln", now, &res), "unlink a symlink");
	OK(ns_unlink(t, &root, d, "f", now, &res), "unlink a file");
	FAILS(ns_getattr(t, f, &a) ? -1 : (int)a.nlink, 0,
	      "its inode waits for gc with nlink 0");
	FAILS(ns_link(t, &root, f, d, "back", now, &res), -ENOENT,
	      "an unlinked inode cannot be linked again: -ENOENT");
	FAILS(ns_open(t, &root, f, O_RDONLY, 1, now, &res), -ENOENT,
	      "nor opened: -ENOENT");
	OK(ns_rmdir(t, &root, d, "sub", now, &res), "rmdir");
	FAILS(ns_mkdir(t, &root, res.a[1].ino, "x", 0755, now, &res), -ENOENT,
	      "nothing is made in a removed directory: -ENOENT");
}

/* ---- rename -------------------------------------------------------------- */

static void test_rename(void)
{
	struct ns_attr a, p1, p2;
	uint64_t r, d1, d2, f, g, sub, deep;

	r = mkdir_(&root, NS_ROOT, "rn", 0777);
	d1 = mkdir_(&root, r, "d1", 0777);
	d2 = mkdir_(&root, r, "d2", 0777);
	f = creat_(&root, d1, "f", 0644);
	g = creat_(&root, d2, "g", 0644);
	sub = mkdir_(&root, d1, "sub", 0777);
	deep = mkdir_(&root, mkdir_(&root, sub, "a", 0777), "b", 0777);
	mkdir_(&root, d2, "empty", 0777);
	creat_(&root, mkdir_(&root, d2, "full", 0777), "x", 0644);

	FAILS(ns_rename(t, &root, d1, "none", d2, "x", 0, now, &res), -ENOENT,
	      "rename of a missing name: -ENOENT");
	FAILS(ns_rename(t, &root, d1, "f", d2, "x", 4, now, &res), -EINVAL,
	      "unknown flags: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "f", d2, "x",
			RENAME_NOREPLACE | RENAME_EXCHANGE, now, &res),
	      -EINVAL, "NOREPLACE with EXCHANGE: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", deep, "x", 0, now, &res), -EINVAL,
	      "a directory into its own subtree: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", sub, "x", 0, now, &res), -EINVAL,
	      "a directory into itself: -EINVAL");
	FAILS(ns_rename(t, &root, r, "d1", deep, "x", RENAME_EXCHANGE, now,
			&res),
	      -ENOENT, "EXCHANGE with a missing target: -ENOENT");
	NEED(ns_mkdir(t, &root, deep, "x", 0777, now, &res));
	FAILS(ns_rename(t, &root, r, "d1", deep, "x", RENAME_EXCHANGE, now,
			&res),
	      -EINVAL, "EXCHANGE that puts a directory inside itself: -EINVAL");
	FAILS(ns_rename(t, &root, d1, "sub", d2, "g", 0, now, &res), -ENOTDIR,
	      "a directory over a file: -ENOTDIR");
	FAILS(ns_rename(t, &root, d1, "f", d2, "empty", 0, now, &res), -EISDIR,
	      "a file over a directory: -EISDIR");
	FAILS(ns_rename(t, &root, d1, "sub", d2, "full", 0, now, &res),
	      -ENOTEMPTY, "a directory over a non-empty one: -ENOTEMPTY");
	FAILS(ns_rename(t, &root, d1, "f", d2, "g", RENAME_NOREPLACE, now,
			&res),
	      -EEXIST, "NOREPLACE onto an existing name: -EEXIST");
	OK(ns_rename(t, &root, d1, "f", d1, "f", 0, now, &res),
	   "a name onto itself: success");
	is_int(last_writes, 0, "and nothing written");
	NEED(ns_link(t, &root, f, d1, "f2", now, &res));
	OK(ns_rename(t, &root, d1, "f", d1, "f2", 0, now, &res),
	   "one inode's two names: success");
	ok(last_writes == 0 && ino_of(d1, "f") == f && ino_of(d1, "f2") == f,
	   "a no-op: both names stay");
	NEED(ns_unlink(t, &root, d1, "f2", now, &res));

	OK(ns_rename(t, &root, d1, "f", d2, "g", 0, now, &res),
	   "a file replaces a file");
	ok(ino_of(d2, "g") == f && !ino_of(d1, "f"), "the name moved");
	a = attr(g);
	ok(a.nlink == 0 && a.ctime == now, "the replaced file: nlink 0");
	ok(res.n == 4 && res.a[3].ino == g && res_fresh(&res),
	   "ns_res has the replaced inode, fresh");

	p1 = attr(d1);
	p2 = attr(d2);
	OK(ns_rename(t, &root, d1, "sub", d2, "empty", 0, now, &res),
	   "a directory replaces an empty directory");
	ok(attr(d1).nlink == p1.nlink - 1 && attr(d2).nlink == p2.nlink,
	   "nlink: old parent - 1, new parent unchanged (one dir out, one in)");
	ok(attr(sub).parent == d2 && ino_of(d2, "empty") == sub,
	   "the moved directory's parent is the new one");

	/* exchange a file and a directory across parents */
	f = ino_of(d2, "g");
	p1 = attr(d1);
	p2 = attr(d2);
	creat_(&root, d1, "file1", 0644);
	OK(ns_rename(t, &root, d1, "file1", d2, "empty", RENAME_EXCHANGE, now,
		     &res),
	   "EXCHANGE a file and a directory");
	ok(ino_of(d1, "file1") == sub && attr(sub).parent == d1,
	   "the directory is in the old parent, its parent field too");
	ok(attr(d1).nlink == p1.nlink + 1 && attr(d2).nlink == p2.nlink - 1,
	   "and the nlinks moved with it");
	ok(res.n == 4 && res_fresh(&res), "ns_res fresh");
	OK(ns_rename(t, &root, d1, "file1", d2, "empty", RENAME_EXCHANGE, now,
		     &res),
	   "and back");
	OK(ns_rename(t, &root, d2, "empty", d2, "renamed", RENAME_NOREPLACE,
		     now, &res),
	   "NOREPLACE to a free name");

	/* moving a directory needs write permission on it (its "..") */
	chmod_(sub, 0555);
	FAILS(ns_rename(t, &alice, d2, "renamed", d1, "x", 0, now, &res),
	      -EACCES, "moving a directory without write on it: -EACCES");
	OK(ns_rename(t, &alice, d2, "renamed", d2, "again", 0, now, &res),
	   "renaming it in place needs none");
	chmod_(sub, 0777);

	/* EMLINK: a parent at the limit takes no directory */
	struct ns_inode in;

	TX(ns_inode_get(t, d1, &in));
	uint32_t keep = in.a.nlink;

	in.a.nlink = NS_LINK_MAX;
	NEED(ns_inode_put(t, &in));
	FAILS(ns_mkdir(t, &root, d1, "one-more", 0755, now, &res), -EMLINK,
	      "mkdir in a directory at NS_LINK_MAX: -EMLINK");
	FAILS(ns_rename(t, &root, d2, "again", d1, "x", 0, now, &res), -EMLINK,
	      "moving a directory into it: -EMLINK");
	OK(ns_rename(t, &root, d2, "g", d1, "g", 0, now, &res),
	   "a file still moves in");
	NEED(ns_rename(t, &root, d1, "g", d2, "g", 0, now, &res));
	TX(ns_inode_get(t, d1, &in));
	in.a.nlink = keep;
	NEED(ns_inode_put(t, &in));
	TX(ns_inode_get(t, f, &in));
	keep = in.a.nlink;
	in.a.nlink = NS_LINK_MAX;
	NEED(ns_inode_put(t, &in));
	FAILS(ns_link(t, &root, f, d1, "l", now, &res), -EMLINK,
	      "link to a file at NS_LINK_MAX: -EMLINK");
	TX(ns_inode_get(t, f, &in));
	in.a.nlink = keep;
	NEED(ns_inode_put(t, &in));
	is_int(fsck_of(db, true, NULL, 0), 0, "fsck clean after renames");
}

/* ---- symlinks and paths -------------------------------------------------- */

static int resolve(const struct ns_cred *c, const char *p, bool follow,
		   uint64_t *ino)
{
	struct ns_attr a;
	int rc = TX(ns_resolve(t, c, p, follow, &a));

	*ino = rc ? 0 : a.ino;
	return rc;
}

static void test_paths(void)
{
	char *long_target = longname(NS_SYMLINK_MAX), buf[NS_PATH_MAX] = "";
	char *too_long = longname(NS_SYMLINK_MAX + 1), *p;
	uint64_t d, sub, f, ino, ln;

	d = mkdir_(&root, NS_ROOT, "p", 0755);
	sub = mkdir_(&root, d, "sub", 0755);
	f = creat_(&root, sub, "f", 0644);
	OK(ns_symlink(t, &root, d, "long", long_target, now, &res),
	   "a symlink of 4095 bytes");
	ln = res.a[1].ino;
	ok(res.a[1].size == NS_SYMLINK_MAX &&
		   (res.a[1].mode & S_IFMT) == S_IFLNK,
	   "a symlink's size is its target's length");
	FAILS(ns_symlink(t, &root, d, "longer", too_long, now, &res),
	      -ENAMETOOLONG, "a target of 4096 bytes: -ENAMETOOLONG");
	FAILS(ns_symlink(t, &root, d, "empty", "", now, &res), -ENOENT,
	      "an empty target: -ENOENT");
	is_int(TX(ns_readlink(t, ln, buf, sizeof(buf))), NS_SYMLINK_MAX,
	       "readlink gives the length");
	ok(!strcmp(buf, long_target), "and the target");
	FAILS(ns_readlink(t, ln, buf, NS_SYMLINK_MAX), -ERANGE,
	      "readlink into a buffer without room for the NUL: -ERANGE");
	FAILS(ns_readlink(t, f, buf, sizeof(buf)), -EINVAL,
	      "readlink of a file: -EINVAL");

	NEED(ns_symlink(t, &root, d, "rel", "sub/f", now, &res));
	NEED(ns_symlink(t, &root, d, "abs", "/p/sub", now, &res));
	NEED(ns_symlink(t, &root, sub, "up", "../sub/./f", now, &res));
	NEED(ns_symlink(t, &root, d, "l1", "l2", now, &res));
	NEED(ns_symlink(t, &root, d, "l2", "l1", now, &res));
	NEED(ns_symlink(t, &root, d, "dangling", "nowhere", now, &res));
	ok(!resolve(&root, "/p/sub/f", true, &ino) && ino == f,
	   "resolve /p/sub/f");
	ok(!resolve(&root, "//p///sub/./../sub/f", true, &ino) && ino == f,
	   "extra slashes, '.' and '..'");
	ok(!resolve(&root, "/", true, &ino) && ino == NS_ROOT, "'/'");
	ok(!resolve(&root, "/..", true, &ino) && ino == NS_ROOT,
	   "'/..' is the root");
	ok(!resolve(&root, "/p/rel", true, &ino) && ino == f,
	   "a relative symlink at the end, followed");
	ok(!resolve(&root, "/p/rel", false, &ino) && ino != f && ino,
	   "not followed without follow");
	ok(!resolve(&root, "/p/abs/f", false, &ino) && ino == f,
	   "an absolute symlink in the middle is followed");
	ok(!resolve(&root, "/p/abs/up", true, &ino) && ino == f,
	   "'..' inside a symlink's target");
	ok(!resolve(&root, "/p/abs/", false, &ino) && ino == sub,
	   "a trailing slash follows the last symlink");
	is_int(resolve(&root, "/p/sub/f/", true, &ino), -ENOTDIR,
	       "a trailing slash on a file: -ENOTDIR");
	is_int(resolve(&root, "/p/sub/f/x", true, &ino), -ENOTDIR,
	       "a file in the middle: -ENOTDIR");
	is_int(resolve(&root, "/p/nothing/x", true, &ino), -ENOENT,
	       "a missing component: -ENOENT");
	is_int(resolve(&root, "/p/dangling", true, &ino), -ENOENT,
	       "a dangling symlink followed: -ENOENT");
	is_int(resolve(&root, "/p/l1", true, &ino), -ELOOP,
	       "a symlink loop: -ELOOP");
	is_int(resolve(&root, "/p/l1/x", false, &ino), -ELOOP,
	       "in the middle too");
	ok(!resolve(&root, "/p/l1", false, &ino) && ino,
	   "a loop not followed is just a symlink");
	is_int(resolve(&root, "p/sub", true, &ino), -EINVAL,
	       "a relative path: -EINVAL");
	is_int(resolve(&root, "", true, &ino), -ENOENT, "'': -ENOENT");
	p = longname(NS_PATH_MAX);
	p[0] = '/';
	is_int(resolve(&root, p, true, &ino), -ENAMETOOLONG,
	       "a path of 4096 bytes: -ENAMETOOLONG");
	p[257] = 0;
	is_int(resolve(&root, p, true, &ino), -ENAMETOOLONG,
	       "a component of 256 bytes: -ENAMETOOLONG");
	free(p);
	/* a chain of exactly NS_SYMLOOP_MAX links resolves, one more does not
	 */
	NEED(ns_symlink(t, &root, d, "c0", "sub/f", now, &res));
	for (int i = 1; i <= NS_SYMLOOP_MAX; i++) {
		char name[16], target[16];

		snprintf(name, sizeof(name), "c%d", i);
		snprintf(target, sizeof(target), "c%d", i - 1);
		NEED(ns_symlink(t, &root, d, name, target, now, &res));
	}
	ok(!resolve(&root, "/p/c39", true, &ino) && ino == f,
	   "40 symlinks in a row resolve");
	is_int(resolve(&root, "/p/c40", true, &ino), -ELOOP, "41: -ELOOP");
	chmod_(sub, 0700);
	is_int(resolve(&bob, "/p/sub/f", true, &ino), -EACCES,
	       "a component without search permission: -EACCES");
	chmod_(sub, 0755);
	FAILS(ns_open(t, &root, ln, O_RDONLY, 1, now, &res), -ELOOP,
	      "opening a symlink: -ELOOP");
	free(long_target);
	free(too_long);
}

/* ---- sessions ------------------------------------------------------------ */

static void test_sessions(void)
{
	struct ns_attr a, gca;
	uint64_t d, f, s1, s2, s3;

	gc_flush();
	d = mkdir_(&root, NS_ROOT, "sess", 0777);
	OK(ns_create(t, &alice, d, "f", 0644, O_RDWR | O_EXCL, 7, now, &res),
	   "create for writing");
	f = res.a[1].ino;
	s1 = res.session;
	ok(s1 && res.a[1].sessions == 1, "a session, counted in the inode");
	ok(res_fresh(&res), "ns_res fresh");
	OK(ns_open(t, &alice, f, O_WRONLY, 7, now, &res), "open for writing");
	s2 = res.session;
	ok(s2 && s2 != s1 && attr(f).sessions == 2, "a second session");
	OK(ns_open(t, &alice, f, O_RDONLY, 7, now, &res), "open for reading");
	ok(!res.session && attr(f).sessions == 2, "no session for reading");
	OK(ns_open(t, &alice, f, O_WRONLY, 8, now, &res), "client 8 writes");
	s3 = res.session;
	OK(ns_close(t, s1, 4096, now, &res), "close with a size");
	a = attr(f);
	ok(a.size == 4096 && a.sessions == 2 && a.mtime == now,
	   "the file grows to it; one session less");
	ok(res.n == 1 && res_fresh(&res), "close: ns_res fresh");
	FAILS(ns_close(t, s1, 0, now, &res), -ENOENT,
	      "closing it again: -ENOENT");
	FAILS(ns_close(t, 424242, 0, now, &res), -ENOENT,
	      "an unknown session: -ENOENT");
	OK(ns_close(t, s3, 100, now, &res), "close with a smaller size");
	is_int(attr(f).size, 4096, "a file never shrinks at close");
	OK(ns_report(t, s2, 8192, 0, now, &res), "report a size (flush)");
	a = attr(f);
	ok(a.size == 8192 && a.sessions == 1 && a.mtime == now,
	   "the file grows, the session stays");
	OK(ns_report(t, s2, 10, NS_REPORT_WROTE, now, &res),
	   "report a write in place");
	a = attr(f);
	ok(a.size == 8192 && a.mtime == now && a.ctime == now,
	   "no shrinking; mtime and ctime now");
	OK(ns_report(t, s2, UINT64_MAX, 0, now, &res), "report nothing");
	ok(attr(f).mtime == now - 1000, "mtime stays");
	OK(ns_open(t, &alice, f, O_WRONLY | O_TRUNC, 7, now, &res), "O_TRUNC");
	a = attr(f);
	ok(a.size == 0 && a.mtime == now && a.ctime == now,
	   "truncated, mtime and ctime now");
	s3 = res.session;

	/* an unlinked file with sessions is an orphan until the last close */
	OK(ns_unlink(t, &alice, d, "f", now, &res), "unlink an open file");
	is_int(TX(ns_gc_next(t, now, &gca)), -ENOENT,
	       "with sessions it is not in gc");
	is_int(fsck_of(db, true, NULL, 0), 0, "an orphan is not a problem");
	OK(ns_open(t, &alice, f, O_WRONLY, 9, now, &res),
	   "an orphan can still be opened by inode");
	is_int(TX(ns_sessions_prune(t, 7, now)), 2,
	       "prune client 7: its two sessions");
	is_int(attr(f).sessions, 1, "client 9's stays");
	is_int(TX(ns_gc_next(t, now, &gca)), -ENOENT, "still not in gc");
	OK(ns_close(t, res.session, UINT64_MAX, now, &res),
	   "the last close of the orphan");
	OK(ns_gc_next(t, now, &gca), "sends it to gc");
	is_int(gca.ino, f, "the orphan is the one due");
	NEED(ns_gc_done(t, f));
	FAILS(ns_getattr(t, f, &a), -ENOENT, "gone after ns_gc_done");
	(void)s2;
	is_int(TX(ns_sessions_prune(t, 12345, now)), 0,
	       "pruning a client without sessions");

	/* closes sent late, many at once (fuse/fclose.h) */
	OK(ns_create(t, &alice, d, "g", 0644, O_WRONLY | O_EXCL, 7, now, &res),
	   "create g for writing");
	f = res.a[1].ino;
	s1 = res.session;
	gca = attr(f);
	OK(ns_open(t, &alice, f, O_WRONLY, 7, now, &res), "and open it again");
	s2 = res.session;
	OK(ns_open(t, &alice, f, O_WRONLY, 7, now, &res), "and again");
	s3 = res.session;
	OK(ns_close(t, s2, UINT64_MAX, now, &res), "close the second");
	{
		uint64_t ids[] = { s1, s2, 99999, s3 };

		is_int(TX(ns_close_many(t, ids, 4, now)), 2,
		       "ns_close_many closes the two open ones, skips the "
		       "closed and the unknown");
	}
	a = attr(f);
	ok(a.sessions == 0 && a.size == 0 && a.mtime == gca.mtime &&
		   a.ctime == gca.ctime,
	   "no session left; size and times as they were");
	is_int(TX(ns_close_many(t, &s1, 1, now)), 0, "closing them again: 0");
	OK(ns_unlink(t, &alice, d, "g", now, &res), "unlink g");
	OK(ns_gc_next(t, now, &gca), "without sessions it goes to gc");
	is_int(gca.ino, f, "g is the one due");
	NEED(ns_gc_done(t, f));
}

int main(void)
{
	if (nsf_start(false))
		return nsf_done();
	test_format();
	test_names();
	test_times();
	test_remove();
	test_rename();
	test_paths();
	test_sessions();
	nsf_close();
	return nsf_done();
}
