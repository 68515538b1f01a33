#!/usr/bin/env python3
"""Metadata job of tools/bench-peers.sh: N empty files in one fresh directory.

Phases, each timed on its own: create (open O_CREAT|O_EXCL + close), stat
(after the kernel's dentry/inode caches were dropped, so each stat reaches the
file system), stat_warm (the same again), unlink.  Prints one JSON object.

usage: meta.py DIR [N]
"""
import json
import os
import sys
import time


def drop_caches():
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def timed(res, name, paths, fn):
    t0 = time.perf_counter()
    for p in paths:
        fn(p)
    dt = time.perf_counter() - t0
    n = len(paths)
    res[name] = {"seconds": round(dt, 4), "ops_per_s": round(n / dt, 1),
                 "us_per_op": round(dt / n * 1e6, 1)}


def create(p):
    os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))


def main():
    d = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    os.makedirs(d)
    paths = [os.path.join(d, "f%06d" % i) for i in range(n)]
    res = {"n": n, "dir": d}
    timed(res, "create", paths, create)
    drop_caches()
    timed(res, "stat", paths, os.stat)
    timed(res, "stat_warm", paths, os.stat)
    t0 = time.perf_counter()
    cnt = len(os.listdir(d))
    res["listdir"] = {"seconds": round(time.perf_counter() - t0, 4), "entries": cnt}
    timed(res, "unlink", paths, os.unlink)
    os.rmdir(d)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
