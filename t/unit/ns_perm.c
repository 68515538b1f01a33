/* t/unit/ns_perm.c - the namespace's permission rules: the matrix of
 * operations under owner, group and other, the sticky bit, setgid
 * directories and who may change which attribute. */
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

/* ---- permissions --------------------------------------------------------- */

static int count_cb(void *arg, const char *name, uint64_t ino, uint8_t type,
		    uint64_t next)
{
	(*(int *)arg)++;
	return 0;
}

/* open for flags and close the session again */
static int try_open(const struct ns_cred *c, uint64_t ino, int flags)
{
	int rc = TX(ns_open(t, c, ino, flags, 1, now, &res));

	if (!rc && res.session)
		TX(ns_close(t, res.session, UINT64_MAX, now, &res));
	return rc;
}

static int try_readdir(const struct ns_cred *c, uint64_t ino)
{
	int n = 0, rc = TX(ns_readdir(t, c, ino, 0, 100, count_cb, &n));

	return rc < 0 ? rc : 0;
}

static int try_lookup(const struct ns_cred *c, uint64_t dir, const char *n)
{
	struct ns_attr a;

	return TX(ns_lookup(t, c, dir, n, &a));
}

static int try_create(const struct ns_cred *c, uint64_t dir)
{
	int rc = TX(ns_create(t, c, dir, "new", 0644, O_EXCL, 0, now, &res));

	if (!rc)
		NEED(ns_unlink(t, &root, dir, "new", now, &res));
	return rc;
}

static void test_perm_matrix(void)
{
	static const char *const cls[3] = { "owner", "group", "other" };
	const struct ns_cred *who[3] = { &alice, &carol, &bob };
	struct ns_inode in;
	uint64_t pm, f, sub;
	char name[128];

	pm = mkdir_(&root, NS_ROOT, "pm", 0777);
	f = creat_(&alice, pm, "f", 0644);
	sub = mkdir_(&alice, pm, "sub", 0755);
	creat_(&root, sub, "e", 0644);
	chown_(f, alice.uid, STAFF);
	chown_(sub, alice.uid, STAFF);
	for (int c = 0; c < 3; c++) {
		for (int b = 0; b < 3; b++) {
			uint32_t mode = (4u >> b) << (3 * (2 - c));

			chmod_(f, mode);
			chmod_(sub, mode);
			for (int w = 0; w < 3; w++) {
				int want = w == c ? 0 : -EACCES, rc;

				if (b == 0) {
					rc = try_open(who[w], f, O_RDONLY);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s read",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					rc = try_readdir(who[w], sub);
					snprintf(name, sizeof(name),
						 "dir %04o: %s may%s list",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
				} else if (b == 1) {
					rc = try_open(who[w], f, O_WRONLY);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s write",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					rc = try_create(who[w], sub);
					snprintf(name, sizeof(name),
						 "dir %04o: write without "
						 "execute: %s may not create",
						 mode, cls[w]);
					ok(rc == -EACCES, name);
				} else {
					rc = try_lookup(who[w], sub, "e");
					snprintf(name, sizeof(name),
						 "dir %04o: %s may%s look up",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
					TX(ns_inode_get(t, f, &in));
					rc = ns_perm(who[w], &in.a, 1);
					snprintf(name, sizeof(name),
						 "file %04o: %s may%s execute",
						 mode, cls[w],
						 want ? " not" : "");
					ok(rc == want, name);
				}
			}
		}
		chmod_(sub, 3u << (3 * (2 - c)));
		for (int w = 0; w < 3; w++) {
			snprintf(name, sizeof(name),
				 "dir %04o: %s may%s create",
				 3u << (3 * (2 - c)), cls[w],
				 w == c ? "" : " not");
			ok(try_create(who[w], sub) == (w == c ? 0 : -EACCES),
			   name);
		}
	}
	chmod_(f, 0077);
	ok(try_open(&alice, f, O_RDONLY) == -EACCES &&
		   try_open(&carol, f, O_RDONLY) == 0,
	   "0077: the owner's class decides for the owner (denied)");
	chmod_(f, 0707);
	ok(try_open(&carol, f, O_RDONLY) == -EACCES &&
		   try_open(&bob, f, O_RDONLY) == 0,
	   "0707: the group's class decides for a member (denied)");
	chmod_(f, 0);
	chmod_(sub, 0);
	is_int(try_open(&root, f, O_RDWR), 0, "root reads and writes mode 0");
	is_int(try_lookup(&root, sub, "e"), 0, "root searches a mode 0 dir");
	is_int(try_readdir(&root, sub), 0, "root lists it");
	is_int(try_create(&root, sub), 0, "root creates in it");
	TX(ns_inode_get(t, f, &in));
	is_int(ns_perm(&root, &in.a, 1), -EACCES,
	       "root may not execute a file without any x bit");
	chmod_(f, 0001);
	TX(ns_inode_get(t, f, &in));
	is_int(ns_perm(&root, &in.a, 1), 0, "one x bit is enough for root");
	chmod_(f, 0644);
	FAILS(ns_open(t, &root, f, O_ACCMODE, 1, now, &res), -EINVAL,
	      "open with O_ACCMODE: -EINVAL");
	FAILS(ns_open(t, &bob, f, O_RDONLY | O_TRUNC, 1, now, &res), -EACCES,
	      "O_TRUNC needs write permission");
	FAILS(ns_open(t, &root, pm, O_WRONLY, 1, now, &res), -EISDIR,
	      "open a directory for writing: -EISDIR");
	OK(ns_open(t, &root, pm, O_RDONLY, 1, now, &res), "read open of a dir");
	ok(!res.session, "without a session");
	chmod_(pm, 0755);
	FAILS(ns_create(t, &bob, pm, "x", 0644, O_EXCL, 0, now, &res), -EACCES,
	      "create in an unwritable directory: -EACCES");
	FAILS(ns_mkdir(t, &bob, pm, "x", 0755, now, &res), -EACCES,
	      "mkdir there: -EACCES");
	FAILS(ns_symlink(t, &bob, pm, "x", "y", now, &res), -EACCES,
	      "symlink there: -EACCES");
	FAILS(ns_link(t, &bob, f, pm, "x", now, &res), -EACCES,
	      "link there: -EACCES");
	FAILS(ns_unlink(t, &bob, pm, "f", now, &res), -EACCES,
	      "unlink there: -EACCES");
	FAILS(ns_rename(t, &bob, pm, "f", pm, "g", 0, now, &res), -EACCES,
	      "rename there: -EACCES");
	FAILS(ns_mkdir(t, &root, pm, "f", 0755, now, &res), -EEXIST,
	      "an existing name is -EEXIST before write permission");
	FAILS(ns_mkdir(t, &bob, pm, "f", 0755, now, &res), -EEXIST,
	      "(for anyone who may search)");
	chmod_(pm, 0766);
	FAILS(ns_create(t, &bob, pm, "x", 0644, O_EXCL, 0, now, &res), -EACCES,
	      "write without search on the directory: -EACCES");
	FAILS(ns_lookup(t, &bob, pm, "f", &res.a[0]), -EACCES,
	      "lookup without search: -EACCES");
	chmod_(pm, 0777);
}

static void test_sticky(void)
{
	uint64_t tmp, dsub;
	struct ns_attr sa;

	tmp = mkdir_(&root, NS_ROOT, "tmp", 01777);
	creat_(&alice, tmp, "a", 0666);
	creat_(&bob, tmp, "b", 0666);
	creat_(&alice, tmp, "a2", 0666);
	dsub = mkdir_(&alice, tmp, "adir", 0777);
	(void)dsub;
	FAILS(ns_unlink(t, &bob, tmp, "a", now, &res), -EPERM,
	      "sticky: another user's file cannot be unlinked: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "a", tmp, "mine", 0, now, &res), -EPERM,
	      "nor renamed away: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "b", tmp, "a", 0, now, &res), -EPERM,
	      "nor replaced by a rename: -EPERM");
	FAILS(ns_rmdir(t, &bob, tmp, "adir", now, &res), -EPERM,
	      "nor another user's directory removed: -EPERM");
	FAILS(ns_remove_tree(t, &bob, tmp, "adir", now, &res), -EPERM,
	      "nor removed as a tree: -EPERM");
	FAILS(ns_rename(t, &bob, tmp, "a", tmp, "a2", RENAME_EXCHANGE, now,
			&res),
	      -EPERM, "nor exchanged: -EPERM");
	OK(ns_unlink(t, &bob, tmp, "b", now, &res),
	   "sticky: one's own file can be unlinked");
	OK(ns_rename(t, &alice, tmp, "a", tmp, "a3", 0, now, &res),
	   "and renamed by its owner");
	OK(ns_unlink(t, &root, tmp, "a3", now, &res), "root may unlink");
	chown_(tmp, carol.uid, carol.gid);
	OK(ns_unlink(t, &carol, tmp, "a2", now, &res),
	   "the directory's owner may unlink");
	sa.mode = 01777;
	FAILS(ns_setattr(t, &bob, tmp, NS_SET_MODE, &sa, now, &res), -EPERM,
	      "chmod by a non-owner: -EPERM");
}

static void test_setgid(void)
{
	uint64_t sg, f, d, g;
	struct ns_attr a;

	sg = mkdir_(&alice, NS_ROOT, "sg", 0777);
	chown_(sg, alice.uid, STAFF);
	chmod_(sg, 02777);
	f = creat_(&bob, sg, "f", 0644);
	a = attr(f);
	ok(a.gid == STAFF && a.uid == bob.uid,
	   "setgid dir: a new file takes the directory's group");
	d = mkdir_(&bob, sg, "d", 0755);
	a = attr(d);
	ok(a.gid == STAFF && (a.mode & S_ISGID),
	   "a new subdirectory takes the group and the setgid bit");
	g = creat_(&bob, d, "g", 0755);
	is_int(attr(g).gid, STAFF, "and passes them on");
	f = creat_(&bob, sg, "sgid-bob", 02755);
	ok(!(attr(f).mode & S_ISGID),
	   "a group-executable setgid file by a non-member loses setgid");
	f = creat_(&carol, sg, "sgid-carol", 02755);
	ok(attr(f).mode & S_ISGID, "a member keeps it");
	f = creat_(&bob, sg, "sgid-noexec", 02644);
	ok(attr(f).mode & S_ISGID,
	   "without group execute it is kept (mandatory locking style)");
	d = mkdir_(&bob, NS_ROOT, "plain-bob", 0777);
	is_int(attr(creat_(&bob, d, "x", 0644)).gid, bob.gid,
	       "elsewhere a file takes the creator's group");
}

static void test_setattr_rules(void)
{
	struct ns_attr sa, a;
	uint64_t d, f;

	d = mkdir_(&root, NS_ROOT, "sa", 0777);
	f = creat_(&alice, d, "f", 0644);
	sa.uid = bob.uid;
	sa.gid = alice.gid;
	FAILS(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res), -EPERM,
	      "chown to another user by the owner: -EPERM");
	FAILS(ns_setattr(t, &bob, f, NS_SET_UID, &sa, now, &res), -EPERM,
	      "chown by another user: -EPERM");
	sa.uid = alice.uid;
	OK(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res),
	   "chown to oneself by the owner is allowed");
	sa.gid = STAFF;
	OK(ns_setattr(t, &alice, f, NS_SET_GID, &sa, now, &res),
	   "chgrp by the owner to a group of hers");
	is_int(attr(f).gid, STAFF, "gid changed");
	sa.gid = 555;
	FAILS(ns_setattr(t, &alice, f, NS_SET_GID, &sa, now, &res), -EPERM,
	      "chgrp to a group she is not in: -EPERM");
	sa.gid = STAFF;
	FAILS(ns_setattr(t, &carol, f, NS_SET_GID, &sa, now, &res), -EPERM,
	      "chgrp by a non-owner (even a member): -EPERM");
	sa.uid = bob.uid;
	sa.gid = 555;
	OK(ns_setattr(t, &root, f, NS_SET_UID | NS_SET_GID, &sa, now, &res),
	   "root chowns to anyone");
	a = attr(f);
	ok(a.uid == bob.uid && a.gid == 555, "uid and gid changed");
	chown_(f, alice.uid, 555);
	sa.mode = 02755;
	OK(ns_setattr(t, &alice, f, NS_SET_MODE, &sa, now, &res),
	   "chmod g+s by an owner outside the file's group");
	is_int(attr(f).mode & 07777, 0755, "setgid is cleared");
	OK(ns_setattr(t, &root, f, NS_SET_MODE, &sa, now, &res),
	   "chmod g+s by root");
	is_int(attr(f).mode & 07777, 02755, "is kept");
	chown_(f, alice.uid, STAFF);
	sa.mode = 06755;
	OK(ns_setattr(t, &alice, f, NS_SET_MODE, &sa, now, &res),
	   "chmod u+s,g+s by an owner in the group");
	is_int(attr(f).mode & 07777, 06755, "both kept");
	sa.uid = alice.uid;
	OK(ns_setattr(t, &alice, f, NS_SET_UID, &sa, now, &res), "chown");
	is_int(attr(f).mode & 07777, 0755,
	       "chown clears setuid and setgid (group-executable)");
	chmod_(f, 06744);
	chown_(f, alice.uid, STAFF);
	is_int(attr(f).mode & 07777, 02744,
	       "setgid without group execute survives chown (even by root)");
	d = mkdir_(&root, d, "dd", 0755);
	chmod_(d, 02755);
	chown_(d, alice.uid, STAFF);
	ok(attr(d).mode & S_ISGID, "a directory keeps setgid across chown");

	chmod_(f, 06777);
	sa.size = 5;
	OK(ns_setattr(t, &bob, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate by a non-root writer");
	is_int(attr(f).mode & 07777, 0777,
	       "clears setuid and setgid (group-executable)");
	chmod_(f, 06777);
	OK(ns_setattr(t, &root, f, NS_SET_SIZE, &sa, now, &res),
	   "truncate by root");
	is_int(attr(f).mode & 07777, 06777, "keeps them");
	chmod_(f, 0644);
	FAILS(ns_setattr(t, &bob, f, NS_SET_SIZE, &sa, now, &res), -EACCES,
	      "truncate without write permission: -EACCES");
	FAILS(ns_setattr(t, &bob, f, NS_SET_MODE, &sa, now, &res), -EPERM,
	      "chmod by a non-owner: -EPERM");
	sa.atime = sa.mtime = 5;
	FAILS(ns_setattr(t, &bob, f, NS_SET_ATIME_NOW | NS_SET_MTIME_NOW, &sa,
			 now, &res),
	      -EACCES,
	      "times to now by a non-owner who may not write: -EACCES");
	chmod_(f, 0666);
	OK(ns_setattr(t, &bob, f, NS_SET_ATIME_NOW | NS_SET_MTIME_NOW, &sa, now,
		      &res),
	   "times to now by a writer");
	FAILS(ns_setattr(t, &bob, f, NS_SET_MTIME, &sa, now, &res), -EPERM,
	      "explicit times by a non-owner writer: -EPERM");
	OK(ns_setattr(t, &alice, f, NS_SET_MTIME, &sa, now, &res),
	   "explicit times by the owner");
	is_int(attr(f).mtime, 5, "set");
	FAILS(ns_link(t, &root, d, NS_ROOT, "dirlink", now, &res), -EPERM,
	      "a hard link to a directory: -EPERM");
}

int main(void)
{
	if (nsf_start(true))
		return nsf_done();
	test_perm_matrix();
	test_sticky();
	test_setgid();
	test_setattr_rules();
	nsf_close();
	return nsf_done();
}
