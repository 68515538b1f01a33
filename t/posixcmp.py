#!/usr/bin/env python3
"""t/posixcmp.py - POSIX behaviour of a file system against a local one.

    posixcmp.py REFDIR TESTDIR [--uids A,B] [--only NAME,...]

Runs the same scenarios in REFDIR (a local file system, the reference) and
in TESTDIR (the mount under test), each in a fresh subdirectory, and
compares what each step observes: the errno of every call (or ok), and
facts such as "ctime changed", "nlink is 2", "mode is 02755", "the bytes
read are the bytes written". Times are compared as relations (changed or
not), never as values. Steps run as root or as one of two non-root users
(A, B: uid and gid, B also in A's group), in a forked child that drops
its privileges.

Prints one line per scenario step that differs and, last, one TAP-like
line per scenario: "ok - NAME (N steps)" or "not ok - NAME: K of N
steps differ". Exit status 0 when every scenario matches.
"""
import errno
import mmap
import os
import stat
import sys
import time

UIDS = (4001, 4002)  # A and B; B is also in A's group


def en(e):
    return errno.errorcode.get(e, str(e))


def as_user(who, fn):
    """Run fn() as who ('root', 'a' or 'b') in a child; its result."""
    if who == "root":
        try:
            return fn()
        except OSError as e:
            return en(e.errno)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            a, b = UIDS
            uid = a if who == "a" else b
            os.setgroups([a] if who == "b" else [])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            try:
                out = repr(fn())
            except OSError as e:
                out = repr(en(e.errno))
        except Exception as e:  # a bug in the scenario: say so
            out = repr("python:" + type(e).__name__ + ":" + str(e))
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return eval(data.decode()) if data else "no-answer"


class Run:
    """The observations of one scenario in one directory."""

    def __init__(self, root):
        self.root = root
        self.obs = []

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def see(self, what, value):
        self.obs.append((what, value))

    def do(self, what, fn, who="root"):
        """Call fn as who; observe ok / errno name / its value."""
        res = as_user(who, fn)
        self.see("%s as %s" % (what, who), "ok" if res is None else res)
        return res


def stamp(path):
    st = os.lstat(path)
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_atime_ns)


def pause():
    time.sleep(0.02)  # so that a time that changes is seen to change


def changed(run, what, before, path):
    after = stamp(path)
    run.see(what + ": mtime changed", after[0] != before[0])
    run.see(what + ": ctime changed", after[1] != before[1])
    return after


def touch(path, mode=0o644, data=b""):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    if data:
        os.write(fd, data)
    os.close(fd)


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


# ---- scenarios ---------------------------------------------------------------


def sc_perms(r):
    a, b = UIDS
    for mode in (0o700, 0o750, 0o755, 0o770, 0o777, 0o1777, 0o711):
        d = r.p("d%o" % mode)
        os.mkdir(d)
        os.chown(d, a, a)
        os.chmod(d, mode)
        touch(os.path.join(d, "f"), 0o644)
        os.chown(os.path.join(d, "f"), a, a)
    for fmode in (0o600, 0o640, 0o644, 0o660, 0o666, 0o604, 0o400):
        f = r.p("f%o" % fmode)
        touch(f, 0o600, b"x")
        os.chown(f, a, a)
        os.chmod(f, fmode)
    for who in ("a", "b"):
        for mode in (0o700, 0o750, 0o755, 0o770, 0o777, 0o1777, 0o711):
            d = r.p("d%o" % mode)
            tag = "dir %o" % mode
            r.do(tag + " list", lambda d=d: sorted(os.listdir(d)), who)
            r.do(tag + " stat f", lambda d=d: os.stat(d + "/f").st_size,
                 who)
            r.do(tag + " create", lambda d=d, w=who: touch(d + "/n" + w),
                 who)
            r.do(tag + " unlink f", lambda d=d: os.unlink(d + "/f"), who)
            r.do(tag + " mkdir", lambda d=d, w=who: os.mkdir(d + "/m" + w),
                 who)
            r.do(tag + " rename in", lambda d=d, w=who: os.rename(
                d + "/n" + w, d + "/r" + w), who)
        for fmode in (0o600, 0o640, 0o644, 0o660, 0o666, 0o604, 0o400):
            f = r.p("f%o" % fmode)
            tag = "file %o" % fmode
            r.do(tag + " read", lambda f=f: read_all(f), who)
            r.do(tag + " open write", lambda f=f: os.close(
                os.open(f, os.O_WRONLY)), who)
            r.do(tag + " chmod", lambda f=f: os.chmod(f, 0o644), who)
            r.do(tag + " utime now", lambda f=f: os.utime(f), who)
            r.do(tag + " utime explicit", lambda f=f: os.utime(
                f, ns=(10**18, 10**18)), who)
            r.do(tag + " chown to b", lambda f=f: os.chown(f, b, -1), who)
            r.do(tag + " chgrp to own gid", lambda f=f, w=who: os.chown(
                f, -1, UIDS[0] if w == "a" else UIDS[1]), who)
            r.do(tag + " truncate", lambda f=f: os.truncate(f, 0), who)
    # an executable's setuid/setgid bits go at chown
    f = r.p("suid")
    touch(f, 0o755, b"#!/bin/sh\n")
    os.chown(f, a, a)
    os.chmod(f, 0o6755)
    os.chown(f, a, -1)
    r.see("chown by root keeps nothing of suid/sgid: mode",
          oct(os.stat(f).st_mode & 0o7777))
    os.chmod(f, 0o6755)
    r.do("chown suid file to own group", lambda: os.chown(f, -1, a), "a")
    r.see("after chown by its owner: mode", oct(os.stat(f).st_mode & 0o7777))
    os.chmod(f, 0o2755)
    r.do("chmod g+s on a file whose group one is not in",
         lambda: os.chmod(f, 0o2755), "b")


def sc_sticky(r):
    a, b = UIDS
    d = r.p("tmp")
    os.mkdir(d)
    os.chmod(d, 0o1777)
    r.do("a creates", lambda: touch(d + "/fa"), "a")
    r.do("b creates", lambda: touch(d + "/fb"), "b")
    r.do("b unlinks a's", lambda: os.unlink(d + "/fa"), "b")
    r.do("b renames a's", lambda: os.rename(d + "/fa", d + "/x"), "b")
    r.do("b renames onto a's", lambda: os.rename(d + "/fb", d + "/fa"), "b")
    r.do("a unlinks own", lambda: os.unlink(d + "/fa"), "a")
    r.do("root unlinks b's", lambda: os.unlink(d + "/fb"))
    os.chown(d, a, a)
    r.do("b creates in a's sticky dir", lambda: touch(d + "/fb2"), "b")
    r.do("a (dir owner) unlinks b's", lambda: os.unlink(d + "/fb2"), "a")


def sc_setgid(r):
    a, b = UIDS
    d = r.p("g")
    os.mkdir(d)
    os.chown(d, 0, a)
    os.chmod(d, 0o2777)
    r.do("b creates in setgid dir", lambda: touch(d + "/f"), "b")
    r.see("its gid is the dir's", os.stat(d + "/f").st_gid == a)
    r.do("b mkdirs in setgid dir", lambda: os.mkdir(d + "/s"), "b")
    r.see("the subdir's gid", os.stat(d + "/s").st_gid == a)
    r.see("the subdir is setgid", bool(os.stat(d + "/s").st_mode &
                                         stat.S_ISGID))
    f = d + "/f"
    r.do("b chmods g+s (not in group? b is in a's group)",
         lambda: os.chmod(f, 0o2644), "b")
    r.see("mode", oct(os.stat(f).st_mode & 0o7777))


def sc_times(r):
    d = r.p("t")
    os.mkdir(d)
    f = d + "/f"
    s0 = stamp(d)
    pause()
    touch(f, 0o644)
    changed(r, "create: parent", s0, d)
    fs = stamp(f)
    ds = stamp(d)
    pause()
    os.link(f, d + "/g")
    changed(r, "link: file", fs, f)
    changed(r, "link: parent", ds, d)
    r.see("nlink after link", os.stat(f).st_nlink)
    fs = stamp(f)
    ds = stamp(d)
    pause()
    os.unlink(d + "/g")
    changed(r, "unlink: file", fs, f)
    changed(r, "unlink: parent", ds, d)
    r.see("nlink after unlink", os.stat(f).st_nlink)
    fs = stamp(f)
    ds = stamp(d)
    pause()
    os.rename(f, d + "/h")
    f = d + "/h"
    changed(r, "rename: file", fs, f)
    changed(r, "rename: parent", ds, d)
    fs = stamp(f)
    pause()
    with open(f, "r+b") as fo:
        fo.write(b"data")
    changed(r, "write: file", fs, f)
    fs = stamp(f)
    pause()
    os.truncate(f, 2)
    changed(r, "truncate down", fs, f)
    fs = stamp(f)
    pause()
    os.truncate(f, 2)
    changed(r, "truncate to the same size", fs, f)
    fs = stamp(f)
    pause()
    os.chmod(f, 0o600)
    changed(r, "chmod", fs, f)
    os.utime(f, ns=(5 * 10**18 // 10**9 * 10**9, 7 * 10**17))
    st = os.stat(f)
    r.see("utime explicit: atime", st.st_atime_ns)
    r.see("utime explicit: mtime", st.st_mtime_ns)
    fs = stamp(f)
    pause()
    os.utime(f, ns=None)
    st = os.stat(f)
    r.see("utime now: mtime changed", st.st_mtime_ns != fs[0])
    # UTIME_OMIT for atime, explicit mtime (python: os.utime cannot omit;
    # use touch -m semantics through os.utime with the old atime is not
    # omit, so call utimensat via ctypes)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    class TS(ctypes.Structure):
        _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]

    UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
    before = os.stat(f)
    times = (TS * 2)(TS(0, UTIME_OMIT), TS(12345, 678))
    rc = libc.utimensat(-100, f.encode(), times, 0)
    st = os.stat(f)
    r.see("utimensat omit atime: rc", rc)
    r.see("... atime kept", st.st_atime_ns == before.st_atime_ns)
    r.see("... mtime set", st.st_mtime_ns)
    pause()
    times = (TS * 2)(TS(0, UTIME_NOW), TS(0, UTIME_OMIT))
    rc = libc.utimensat(-100, f.encode(), times, 0)
    st = os.stat(f)
    r.see("utimensat now/omit: rc", rc)
    r.see("... mtime kept", st.st_mtime_ns)
    r.see("... atime now", st.st_atime_ns > before.st_atime_ns)


def sc_nlink(r):
    d = r.p("n")
    os.mkdir(d)
    r.see("new dir nlink", os.stat(d).st_nlink)
    os.mkdir(d + "/a")
    os.mkdir(d + "/b")
    r.see("with 2 subdirs", os.stat(d).st_nlink)
    os.rename(d + "/a", d + "/b/a")
    r.see("after moving one down: parent", os.stat(d).st_nlink)
    r.see("after moving one down: b", os.stat(d + "/b").st_nlink)
    r.do("rmdir non-empty", lambda: os.rmdir(d + "/b"))
    r.do("rename dir into its own subtree",
         lambda: os.rename(d + "/b", d + "/b/a/x"))
    touch(d + "/f")
    r.do("rename file over dir", lambda: os.rename(d + "/f", d + "/b"))
    r.do("rename dir over file", lambda: os.rename(d + "/b", d + "/f"))
    os.mkdir(d + "/e")
    r.do("rename dir over empty dir", lambda: os.rename(d + "/b", d + "/e"))
    r.see("parent after replacing a dir", os.stat(d).st_nlink)
    r.do("link to a dir", lambda: os.link(d + "/e", d + "/e2"))
    r.do("unlink a dir", lambda: os.unlink(d + "/e"))
    r.do("rmdir a file", lambda: os.rmdir(d + "/f"))
    r.do("mkdir over a file", lambda: os.mkdir(d + "/f"))
    r.do("lookup through a file", lambda: os.stat(d + "/f/x"))
    os.symlink("f", d + "/l")
    r.see("readlink", os.readlink(d + "/l"))
    r.see("lstat size of a symlink", os.lstat(d + "/l").st_size)
    os.symlink("l2", d + "/l1")
    os.symlink("l1", d + "/l2")
    r.do("stat a symlink loop", lambda: os.stat(d + "/l1"))
    r.do("open O_NOFOLLOW a symlink",
         lambda: os.open(d + "/l", os.O_RDONLY | os.O_NOFOLLOW))
    fd = os.open(d + "/f", os.O_RDWR)
    os.unlink(d + "/f")
    os.write(fd, b"still here")
    os.lseek(fd, 0, 0)
    r.see("an unlinked open file still reads", os.read(fd, 100))
    r.see("fstat nlink of it", os.fstat(fd).st_nlink)
    os.close(fd)


def sc_names(r):
    d = r.p("names")
    os.mkdir(d)
    r.do("create 255-byte name", lambda: touch(d + "/" + "n" * 255))
    r.do("create 256-byte name", lambda: touch(d + "/" + "n" * 256))
    r.do("mkdir 256-byte name", lambda: os.mkdir(d + "/" + "m" * 256))
    r.do("stat 256-byte name", lambda: os.stat(d + "/" + "n" * 256))
    deep = d
    # a path just under PATH_MAX, then one past it
    comp = "p" * 200
    while len(deep) + 201 < 4000:
        deep = deep + "/" + comp
        os.mkdir(deep)
    r.do("a file at a ~4000-byte path", lambda: touch(deep + "/f"))
    longer = deep + "/" + "q" * (4100 - len(deep))
    r.do("a path past PATH_MAX", lambda: touch(longer))
    r.do("symlink target of 4095 bytes",
         lambda: os.symlink("t" * 4095, d + "/l4095"))
    r.do("readlink of it", lambda: len(os.readlink(d + "/l4095")))
    r.do("symlink target of 4096 bytes",
         lambda: os.symlink("t" * 4096, d + "/l4096"))


def sc_data(r):
    d = r.p("data")
    os.mkdir(d)
    f = d + "/sparse"
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"end", 10 << 20)
    r.see("sparse size", os.fstat(fd).st_size)
    r.see("hole reads zeros", os.pread(fd, 4096, 5 << 20) == bytes(4096))
    r.see("data after the hole", os.pread(fd, 3, 10 << 20))
    os.ftruncate(fd, 3 << 20)
    r.see("truncated down: size", os.fstat(fd).st_size)
    r.see("read past the end", os.pread(fd, 10, (3 << 20) + 5))
    os.ftruncate(fd, 12 << 20)
    r.see("truncated up: the old data is gone",
          os.pread(fd, 3, 10 << 20) == bytes(3))
    os.close(fd)
    f = d + "/append"
    touch(f, 0o644, b"abc")
    fd = os.open(f, os.O_WRONLY | os.O_APPEND)
    os.lseek(fd, 0, 0)
    os.write(fd, b"def")
    os.close(fd)
    r.see("O_APPEND writes at the end", read_all(f))
    fd = os.open(f, os.O_WRONLY | os.O_TRUNC)
    r.see("O_TRUNC empties", os.fstat(fd).st_size)
    os.write(fd, b"xyz")
    os.close(fd)
    r.see("and then holds", read_all(f))
    f = d + "/direct"
    try:
        fd = os.open(f, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o644)
        buf = mmap.mmap(-1, 1 << 16)
        buf.write(bytes(range(256)) * 256)
        os.pwritev(fd, [buf], 4096)
        rb = mmap.mmap(-1, 1 << 16)
        n = os.preadv(fd, [rb], 4096)
        r.see("O_DIRECT write then read", (n, rb[:] == buf[:]))
        os.close(fd)
    except OSError as e:
        r.see("O_DIRECT", en(e.errno))
    f = d + "/mmap"
    touch(f, 0o644, b"." * 8192)
    with open(f, "r+b") as fo:
        m = mmap.mmap(fo.fileno(), 8192)
        m[100:105] = b"HELLO"
        m.flush()
        m.close()
    r.see("a write through mmap reads back", read_all(f)[98:107])
    with open(f, "rb") as fo:
        m = mmap.mmap(fo.fileno(), 0, prot=mmap.PROT_READ)
        r.see("an mmap read", m[100:105])
        m.close()


def sc_xattr(r):
    f = r.p("x")
    touch(f)
    r.do("setxattr", lambda: os.setxattr(f, "user.a", b"1"))
    r.do("getxattr", lambda: os.getxattr(f, "user.a"))
    r.do("listxattr", lambda: sorted(os.listxattr(f)))
    r.do("create existing", lambda: os.setxattr(f, "user.a", b"2",
                                                os.XATTR_CREATE))
    r.do("replace missing", lambda: os.setxattr(f, "user.b", b"2",
                                                os.XATTR_REPLACE))
    r.do("get missing", lambda: os.getxattr(f, "user.b"))
    r.do("remove", lambda: os.removexattr(f, "user.a"))
    r.do("remove missing", lambda: os.removexattr(f, "user.a"))
    r.do("a 3 KiB value", lambda: os.setxattr(f, "user.big", b"v" * 3072))
    r.do("get it", lambda: len(os.getxattr(f, "user.big")))
    r.do("a value past 64 KiB", lambda: os.setxattr(f, "user.huge",
                                                    b"v" * 65537))
    os.chmod(f, 0o644)
    r.do("set by another user", lambda: os.setxattr(f, "user.c", b"1"), "a")


def sc_statfs(r):
    st = os.statvfs(r.root)
    r.see("statfs: blocks > 0", st.f_blocks > 0)
    r.see("statfs: bfree <= blocks", st.f_bfree <= st.f_blocks)
    r.see("statfs: namemax", st.f_namemax)


SCENARIOS = [("permissions", sc_perms), ("sticky", sc_sticky),
             ("setgid", sc_setgid), ("times", sc_times),
             ("nlink and rename", sc_nlink), ("names", sc_names),
             ("data", sc_data), ("xattrs", sc_xattr), ("statfs", sc_statfs)]


def run_in(root, name, fn):
    d = os.path.join(root, name.replace(" ", "_"))
    os.mkdir(d)
    os.chmod(d, 0o777)
    r = Run(d)
    try:
        fn(r)
    except Exception as e:
        r.see("the scenario broke", "%s: %s" % (type(e).__name__, e))
    return r.obs


def main():
    global UIDS
    args = sys.argv[1:]
    only = None
    if "--uids" in args:
        i = args.index("--uids")
        UIDS = tuple(int(x) for x in args[i + 1].split(","))
        del args[i:i + 2]
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    ref, test = args
    os.umask(0o022)
    bad = 0
    for name, fn in SCENARIOS:
        if only and name.split()[0] not in only:
            continue
        a = run_in(ref, name, fn)
        b = run_in(test, name, fn)
        diffs = 0
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else ("(missing)", None)
            y = b[i] if i < len(b) else ("(missing)", None)
            if x != y:
                diffs += 1
                print("# %s: %s: local %r, fffs %r" % (name, x[0], x[1],
                                                        y[1]))
        if diffs:
            bad += 1
            print("not ok - %s: %d of %d steps differ" % (name, diffs,
                                                          len(a)))
        else:
            print("ok - %s (%d steps)" % (name, len(a)))
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
