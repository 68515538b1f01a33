/* t/unit/ns_dir.c - the namespace's directories and what hangs off an
 * inode: readdir and its cookies, xattrs, layouts. */
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

/* ---- readdir ------------------------------------------------------------- */

#define NDIR 300

struct listing {
	int seen[NDIR + 2]; /* by name index; NDIR: ".", NDIR + 1: ".." */
	int n, other, refuse_at, calls, refused;
	uint64_t last_cookie, dots_cookies[2];
	uint64_t ino_dot, ino_dotdot;
};

static int name_index(const char *name)
{
	if (!strcmp(name, "."))
		return NDIR;
	if (!strcmp(name, ".."))
		return NDIR + 1;
	if (name[0] == 'e')
		return (int)strtol(name + 1, NULL, 10);
	return -1;
}

static int list_cb(void *arg, const char *name, uint64_t ino, uint8_t type,
		   uint64_t next)
{
	struct listing *l = arg;
	int i = name_index(name);

	if (l->refuse_at && ++l->calls == l->refuse_at) {
		l->refused = i;
		return 1;
	}
	if (i == NDIR) {
		l->dots_cookies[0] = next;
		l->ino_dot = ino;
	} else if (i == NDIR + 1) {
		l->dots_cookies[1] = next;
		l->ino_dotdot = ino;
	}
	if (i >= 0 && i < NDIR + 2)
		l->seen[i]++;
	else
		l->other++;
	l->last_cookie = next;
	l->n++;
	return 0;
}

static char *ename(int i, char *buf, size_t cap)
{
	snprintf(buf, cap, "e%d", i);
	return buf;
}

static void test_readdir(void)
{
	struct listing l;
	uint64_t d, cookie = 0, f;
	char name[32];
	int rc, pages = 0, dup = 0, miss = 0;
	bool present[NDIR]; /* present through the whole listing */

	d = mkdir_(&root, NS_ROOT, "rd", 0755);
	for (int i = 0; i < NDIR; i += 2)
		creat_(&root, d, ename(i, name, sizeof(name)), 0644);
	memset(&l, 0, sizeof(l));
	rc = TX(ns_readdir(t, &root, d, 0, 1000, list_cb, &l));
	is_int(rc, NDIR / 2 + 2, "readdir gives every entry and '.', '..'");
	ok(l.seen[NDIR] == 1 && l.seen[NDIR + 1] == 1 && l.ino_dot == d &&
		   l.ino_dotdot == NS_ROOT && l.dots_cookies[0] == 1 &&
		   l.dots_cookies[1] == 2,
	   "'.' and '..' first, with cookies 1 and 2");

	/* pages of 7; between pages, odd names are added and even ones
	 * removed; the names present throughout come exactly once */
	for (int i = 0; i < NDIR; i++)
		present[i] = i % 2 == 0 && i % 6 != 0; /* i%6==0: removed */
	memset(&l, 0, sizeof(l));
	do {
		rc = TX(ns_readdir(t, &root, d, cookie, 7, list_cb, &l));
		if (rc > 0)
			cookie = l.last_cookie;
		pages++;
		for (int k = 0; k < 3 && pages < 60; k++) {
			int i = (pages * 37 + k * 101) % NDIR;

			if (i % 2)
				TX(ns_create(t, &root, d,
					     ename(i, name, sizeof(name)), 0644,
					     O_EXCL, 0, now, &res));
			else if (i % 6 == 0)
				TX(ns_unlink(t, &root, d,
					     ename(i, name, sizeof(name)), now,
					     &res));
		}
	} while (rc == 7);
	for (int i = 0; i < NDIR; i += 6)
		TX(ns_unlink(t, &root, d, ename(i, name, sizeof(name)), now,
			     &res));
	for (int i = 0; i < NDIR; i++) {
		dup += l.seen[i] > 1;
		miss += present[i] && l.seen[i] != 1;
	}
	ok(rc >= 0 && pages > 20, "paged through in pages of 7");
	ok(!dup && !miss && l.seen[NDIR] == 1 && l.seen[NDIR + 1] == 1,
	   "with entries added and removed between pages, every entry "
	   "present throughout came exactly once, none twice");

	/* fn refusing an entry: it is not counted and comes next */
	memset(&l, 0, sizeof(l));
	l.refuse_at = 4;
	rc = TX(ns_readdir(t, &root, d, 0, 100, list_cb, &l));
	is_int(rc, 3, "fn refusing the 4th entry ends the page at 3");
	cookie = l.last_cookie;
	int refused = l.refused;

	memset(&l, 0, sizeof(l));
	rc = TX(ns_readdir(t, &root, d, cookie, 1, list_cb, &l));
	ok(rc == 1 && refused >= 0 && refused < NDIR && l.seen[refused] == 1,
	   "the next page starts with the refused entry");
	FAILS(ns_readdir(t, &root, d, 3, 10, list_cb, &l), -EINVAL,
	      "a cookie that is none of ours: -EINVAL");
	is_int(TX(ns_readdir(t, &root, d, 0, 0, list_cb, &l)), 0,
	       "max 0 gives nothing");
	chmod_(d, 0711);
	FAILS(ns_readdir(t, &bob, d, 0, 10, list_cb, &l), -EACCES,
	      "readdir without read permission: -EACCES");
	chmod_(d, 0744);
	memset(&l, 0, sizeof(l));
	ok(TX(ns_readdir(t, &bob, d, 0, 10, list_cb, &l)) == 10,
	   "read without execute is enough to list");
	chmod_(d, 0755);
	f = ino_of(d, "e2");
	FAILS(ns_readdir(t, &root, f, 0, 10, list_cb, &l), -ENOTDIR,
	      "readdir of a file: -ENOTDIR");

	/* a run of equal hashes (forged keys): each entry once with max 1 */
	uint64_t rd2 = mkdir_(&root, NS_ROOT, "rd2", 0755);
	uint8_t k[NS_DIRENT_KEY_MAX], v[NS_DIRENT_VAL_LEN];
	struct ns_dirent de = { f, DT_REG };
	size_t vlen = ns_dirent_encode(&de, v, sizeof(v));

	tx_begin();
	for (int i = 0; i < 5; i++) {
		ns_dirent_key_hash(k, rd2, 12345);
		k[16] = 'e';
		k[17] = (uint8_t)('0' + i);
		meta_put(t, META_T_DIRENTS, k, 18, v, vlen);
	}
	tx_end();
	memset(&l, 0, sizeof(l));
	cookie = 2;
	pages = 0;
	do {
		rc = TX(ns_readdir(t, &root, rd2, cookie, 1, list_cb, &l));
		cookie = l.last_cookie;
	} while (rc == 1 && ++pages < 20);
	ok(l.n == 5 && l.seen[0] == 1 && l.seen[4] == 1 && pages == 5,
	   "five names of one hash, one per page: each exactly once");
	tx_begin();
	for (int i = 0; i < 5; i++) {
		ns_dirent_key_hash(k, rd2, 12345);
		k[16] = 'e';
		k[17] = (uint8_t)('0' + i);
		meta_del(t, META_T_DIRENTS, k, 18);
	}
	tx_end();
	NEED(ns_rmdir(t, &root, NS_ROOT, "rd2", now, &res));
	FAILS(ns_readdir(t, &root, rd2, 0, 10, list_cb, &l), -ENOENT,
	      "readdir of a removed directory: -ENOENT");
}

/* ---- xattrs -------------------------------------------------------------- */

static int count_any(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	if (arg)
		(*(int *)arg)++;
	return arg ? 0 : 1;
}

static void test_xattr(void)
{
	char buf[128] = "", *n256 = longname(256);
	static char big[NS_XATTR_SIZE_MAX + 1];
	uint64_t d, f, ln, tmp;
	struct ns_attr a;

	memcpy(n256, "user.", 5);
	d = mkdir_(&root, NS_ROOT, "xa", 0777);
	f = creat_(&alice, d, "f", 0644);
	OK(ns_setxattr(t, &alice, f, "user.color", "blue", 4, 0, now, &res),
	   "setxattr");
	a = attr(f);
	ok(a.ctime == now && res.n == 1 && res_fresh(&res),
	   "ctime now, ns_res fresh");
	is_int(TX(ns_getxattr(t, &alice, f, "user.color", NULL, 0)), 4,
	       "getxattr with len 0 gives the size");
	is_int(TX(ns_getxattr(t, &alice, f, "user.color", buf, sizeof(buf))), 4,
	       "getxattr");
	ok(!memcmp(buf, "blue", 4), "the value");
	FAILS(ns_getxattr(t, &alice, f, "user.color", buf, 3), -ERANGE,
	      "a buffer too small: -ERANGE");
	FAILS(ns_getxattr(t, &alice, f, "user.none", buf, sizeof(buf)),
	      -ENODATA, "a missing one: -ENODATA");
	FAILS(ns_setxattr(t, &alice, f, "user.color", "red", 3, XATTR_CREATE,
			  now, &res),
	      -EEXIST, "XATTR_CREATE of an existing one: -EEXIST");
	FAILS(ns_setxattr(t, &alice, f, "user.new", "x", 1, XATTR_REPLACE, now,
			  &res),
	      -ENODATA, "XATTR_REPLACE of a missing one: -ENODATA");
	OK(ns_setxattr(t, &alice, f, "user.color", "red", 3, XATTR_REPLACE, now,
		       &res),
	   "XATTR_REPLACE");
	OK(ns_setxattr(t, &alice, f, "user.empty", "", 0, XATTR_CREATE, now,
		       &res),
	   "an empty value");
	is_int(TX(ns_listxattr(t, &alice, f, NULL, 0)), 22,
	       "listxattr with len 0 gives the size");
	memset(buf, 'X', sizeof(buf));
	is_int(TX(ns_listxattr(t, &alice, f, buf, sizeof(buf))), 22,
	       "listxattr");
	ok(!memcmp(buf, "user.color\0user.empty\0", 22),
	   "NUL-terminated names in order");
	FAILS(ns_listxattr(t, &alice, f, buf, 10), -ERANGE,
	      "listxattr into a small buffer: -ERANGE");
	FAILS(ns_setxattr(t, &alice, f, "trusted.x", "v", 1, 0, now, &res),
	      -EOPNOTSUPP, "another namespace: -EOPNOTSUPP");
	FAILS(ns_getxattr(t, &alice, f, "security.x", buf, sizeof(buf)),
	      -EOPNOTSUPP, "getxattr of another namespace: -EOPNOTSUPP");
	FAILS(ns_setxattr(t, &alice, f, "user.", "v", 1, 0, now, &res), -EINVAL,
	      "'user.' alone: -EINVAL");
	FAILS(ns_setxattr(t, &alice, f, n256, "v", 1, 0, now, &res), -ERANGE,
	      "a name of 256 bytes: -ERANGE");
	FAILS(ns_setxattr(t, &alice, f, "user.big", big, sizeof(big), 0, now,
			  &res),
	      -E2BIG, "a value past 64 KiB: -E2BIG");
	OK(ns_setxattr(t, &alice, f, "user.big", big, sizeof(big) - 1, 0, now,
		       &res),
	   "a value of 64 KiB");
	FAILS(ns_setxattr(t, &alice, f, "user.x", "v", 1, 8, now, &res),
	      -EINVAL, "unknown flags: -EINVAL");
	FAILS(ns_setxattr(t, &bob, f, "user.x", "v", 1, 0, now, &res), -EACCES,
	      "setxattr without write permission: -EACCES");
	chmod_(f, 0600);
	FAILS(ns_getxattr(t, &bob, f, "user.color", buf, sizeof(buf)), -EACCES,
	      "getxattr without read permission: -EACCES");
	FAILS(ns_removexattr(t, &bob, f, "user.color", now, &res), -EACCES,
	      "removexattr without write permission: -EACCES");
	NEED(ns_symlink(t, &root, d, "ln", "f", now, &res));
	ln = res.a[1].ino;
	FAILS(ns_setxattr(t, &root, ln, "user.x", "v", 1, 0, now, &res), -EPERM,
	      "user xattrs on a symlink: -EPERM");
	FAILS(ns_getxattr(t, &root, ln, "user.x", buf, sizeof(buf)), -ENODATA,
	      "and none to get: -ENODATA");
	tmp = mkdir_(&root, d, "sticky", 01777);
	FAILS(ns_setxattr(t, &bob, tmp, "user.x", "v", 1, 0, now, &res), -EPERM,
	      "on a sticky directory by a non-owner: -EPERM");
	OK(ns_setxattr(t, &root, tmp, "user.x", "v", 1, 0, now, &res),
	   "by root");
	OK(ns_removexattr(t, &alice, f, "user.color", now, &res),
	   "removexattr");
	ok(attr(f).ctime == now && res_fresh(&res), "ctime now, ns_res fresh");
	FAILS(ns_removexattr(t, &alice, f, "user.color", now, &res), -ENODATA,
	      "removing it again: -ENODATA");
	FAILS(ns_getxattr(t, &alice, 999999, "user.x", buf, sizeof(buf)),
	      -ENOENT, "xattrs of no inode: -ENOENT");

	/* gc takes the xattrs with the inode */
	uint8_t k[8];
	int left = 0;

	NEED(ns_unlink(t, &alice, d, "f", now, &res));
	NEED(ns_gc_done(t, f));
	ns_be64_put(k, f);
	tx_begin();
	left = meta_scan(t, META_T_XATTRS, k, 8, k, 8, count_any, NULL);
	tx_end();
	is_int(left, 0, "ns_gc_done removes the inode's xattrs");
	free(n256);
}

/* ---- layouts ------------------------------------------------------------- */

static void test_layout(void)
{
	struct ns_layout l = { 9, 4 << 20, 3, 0, 0 }, got;
	uint64_t d, f1, f2, sub;
	struct ns_attr a1, a2;

	d = mkdir_(&alice, NS_ROOT, "lay", 0755);
	OK(ns_layout_set(t, &alice, d, &l, now, &res),
	   "layout_set by the owner");
	ok(attr(d).ctime == now && res_fresh(&res), "ctime, ns_res fresh");
	FAILS(ns_layout_set(t, &bob, d, &l, now, &res), -EPERM,
	      "layout_set by another user: -EPERM");
	l.chunk_size = 1000;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "a chunk size not a power of two: -EINVAL");
	l.chunk_size = 32 << 10;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "a chunk size below 64 KiB: -EINVAL");
	l.chunk_size = 128 << 20;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "above 64 MiB: -EINVAL");
	l.chunk_size = 4 << 20;
	l.stripe = 0;
	FAILS(ns_layout_set(t, &alice, d, &l, now, &res), -EINVAL,
	      "stripe 0: -EINVAL");
	l.stripe = 3;
	OK(ns_layout_get(t, d, &got), "layout_get");
	ok(got.table == 9 && got.chunk_size == 4 << 20 && got.stripe == 3,
	   "what was set");
	f1 = creat_(&alice, d, "f1", 0644);
	f2 = creat_(&alice, d, "f2", 0644);
	FAILS(ns_layout_get(t, f1, &got), -ENOTDIR,
	      "layout_get of a file: -ENOTDIR");
	FAILS(ns_layout_set(t, &alice, f1, &l, now, &res), -ENOTDIR,
	      "layout_set of a file: -ENOTDIR");
	a1 = attr(f1);
	a2 = attr(f2);
	ok(a1.layout.table == 9 && a1.layout.chunk_size == 4 << 20 &&
		   a1.layout.stripe == 3,
	   "a new file inherits the directory's layout");
	is_int(a2.layout.start, a1.layout.start + 3,
	       "the next file starts `stripe` chains later (round robin)");
	ok(a1.layout.seed != a2.layout.seed, "each file has its own seed");
	sub = mkdir_(&alice, d, "sub", 0755);
	TX(ns_layout_get(t, sub, &got));
	ok(got.table == 9 && got.stripe == 3 && !got.start && !got.seed,
	   "a new directory inherits it too");

	/* chunk -> chain */
	struct ns_layout fl = { 9, 1 << 20, 8, 13, 0x1234567890abcdefull };
	bool hit[64] = { false };
	int distinct = 0, same_period = 1, differs = 0;

	for (uint64_t i = 0; i < 8; i++) {
		uint32_t c = ns_chunk_chain(&fl, 64, i);

		if (c < 64 && !hit[c]) {
			hit[c] = true;
			distinct++;
		}
		if (c < 13 || c >= 21)
			distinct = -100;
	}
	is_int(distinct, 8,
	       "a stripe of 8: chunks 0..7 on 8 distinct chains from start");
	for (uint64_t i = 0; i < 64; i++)
		same_period &= ns_chunk_chain(&fl, 64, i) ==
			       ns_chunk_chain(&fl, 64, i + 8);
	ok(same_period, "chunk i and i + stripe share a chain");
	for (uint64_t i = 0; i < 8; i++) {
		struct ns_layout o = fl;

		o.seed++;
		differs +=
			ns_chunk_chain(&o, 64, i) != ns_chunk_chain(&fl, 64, i);
	}
	ok(differs > 0, "another seed, another order");
	fl.start = 62;
	ok(ns_chunk_chain(&fl, 64, 0) < 64, "start wraps modulo the chains");
	fl.stripe = 1;
	is_int(ns_chunk_chain(&fl, 64, 5), 62, "stripe 1: always start");
	fl.stripe = 100;
	fl.start = 0;
	memset(hit, 0, sizeof(hit));
	distinct = 0;
	for (uint64_t i = 0; i < 100; i++) {
		uint32_t c = ns_chunk_chain(&fl, 1000, i);

		distinct += c < 100;
	}
	is_int(distinct, 100, "a stripe of 100 stays within its 100 chains");
}

int main(void)
{
	if (nsf_start(true))
		return nsf_done();
	test_readdir();
	test_xattr();
	test_layout();
	nsf_close();
	return nsf_done();
}
