#!/usr/bin/env python3
"""t/linhist.py - 4 KiB block histories: record them, check them.

    linhist.py run --file PATH[,PATH...] --procs N --blocks B --seconds S
                   --out HISTORY [--seed X]
    linhist.py check HISTORY
    linhist.py selftest
    linhist.py c2o --write PATH --read PATH --rounds N

run: N processes (each on one of the PATHs in turn: the same file through
different mounts) write and read random 4 KiB blocks of the file with
O_DIRECT. Every write puts a unique value in the block: the block number,
the writer, a sequence number and a checksum, repeated over the 4 KiB.
Each operation is recorded with the monotonic time (ns) of its start and
of its end: "W proc block value start end" or "R proc block value start
end" (value "0" for a block never written, "torn" for bytes that are not
one whole write).

check: each block is a register. With unique values a history is
linearizable iff (Gibbons and Korach): no read sees a write that started
after the read ended or a value never written; and, grouping each write
with the reads of its value, no two forward zones overlap and no backward
zone lies inside a forward zone (a zone runs between the earliest end and
the latest start of the group's operations). A torn read fails at once.
Prints a summary and every violation; exit 1 on any.

c2o: close-to-open between two clients: each round writes a new value of
a new length through one path (open, write, close) and reads it through
the other (open, read, close); the reader must see exactly that. Prints
"c2o N rounds ok" or the first mismatch, exit 1.
"""
import hashlib
import mmap
import os
import random
import struct
import sys
import time

BLOCK = 4096


def pattern(block, proc, seq):
    head = struct.pack("<QIQ", block, proc, seq)
    head += hashlib.sha256(head).digest()[:12]
    return (head * (BLOCK // len(head) + 1))[:BLOCK]


def decode(buf, block):
    if buf == bytes(BLOCK):
        return "0"
    head = buf[:32]
    if (head * (BLOCK // 32 + 1))[:BLOCK] != buf:
        return "torn"
    b, proc, seq = struct.unpack("<QIQ", head[:20])
    if b != block or hashlib.sha256(head[:20]).digest()[:12] != head[20:]:
        return "torn"
    return "%d.%d" % (proc, seq)


def worker(path, proc, blocks, seconds, seed, out):
    rnd = random.Random(seed * 1000 + proc)
    fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    buf = mmap.mmap(-1, BLOCK)
    lines = []
    seq = 0
    end_at = time.monotonic() + seconds
    while time.monotonic() < end_at:
        blk = rnd.randrange(blocks)
        if rnd.random() < 0.5:
            seq += 1
            buf.seek(0)
            buf.write(pattern(blk, proc, seq))
            t0 = time.monotonic_ns()
            n = os.pwritev(fd, [buf], blk * BLOCK)
            t1 = time.monotonic_ns()
            if n != BLOCK:
                lines.append("E %d %d short-write %d %d" % (proc, blk, t0, t1))
                continue
            lines.append("W %d %d %d.%d %d %d" % (proc, blk, proc, seq, t0,
                                                   t1))
        else:
            t0 = time.monotonic_ns()
            n = os.preadv(fd, [buf], blk * BLOCK)
            t1 = time.monotonic_ns()
            data = buf[:] if n == BLOCK else bytes(BLOCK) if n == 0 else None
            v = decode(data, blk) if data is not None else "torn"
            lines.append("R %d %d %s %d %d" % (proc, blk, v, t0, t1))
    os.close(fd)
    with open(out, "a") as f:
        f.write("\n".join(lines) + "\n")


def run(args):
    opts = dict(zip(args[::2], args[1::2]))
    paths = opts["--file"].split(",")
    procs = int(opts["--procs"])
    blocks = int(opts["--blocks"])
    seconds = float(opts["--seconds"])
    seed = int(opts.get("--seed", "1"))
    out = opts["--out"]
    fd = os.open(paths[0], os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, blocks * BLOCK)
    os.close(fd)
    open(out, "w").close()
    pids = []
    for p in range(procs):
        pid = os.fork()
        if pid == 0:
            try:
                worker(paths[p % len(paths)], p + 1, blocks, seconds, seed,
                       out + ".%d" % p)
                os._exit(0)
            except Exception as e:
                sys.stderr.write("worker %d: %s\n" % (p + 1, e))
                os._exit(1)
        pids.append(pid)
    bad = 0
    for pid in pids:
        bad += os.waitpid(pid, 0)[1] != 0
    with open(out, "w") as f:
        for p in range(procs):
            part = out + ".%d" % p
            if os.path.exists(part):
                f.write(open(part).read())
                os.unlink(part)
    return 1 if bad else 0


def check_block(ops):
    """Violations of one register's history (ops: (kind, value, s, e))."""
    errs = []
    writes = {v: (s, e) for k, v, s, e in ops if k == "W"}
    groups = {v: [(s, e)] for v, (s, e) in writes.items()}
    groups["0"] = [(-1, -1)]  # the initial value, written before all
    for k, v, s, e in ops:
        if k != "R":
            continue
        if v == "torn":
            errs.append("a torn read at [%d, %d]" % (s, e))
            continue
        if v not in groups:
            errs.append("read %s at [%d, %d]: never written" % (v, s, e))
            continue
        if v != "0" and e < writes[v][0]:
            errs.append("read %s at [%d, %d] ended before its write began "
                        "(%d)" % (v, s, e, writes[v][0]))
        groups[v].append((s, e))
    fwd, bwd = [], []
    for v, g in groups.items():
        lo = min(e for s, e in g)
        hi = max(s for s, e in g)
        (fwd if lo < hi else bwd).append((lo, hi, v) if lo < hi else
                                         (hi, lo, v))
    fwd.sort()
    for i in range(1, len(fwd)):
        if fwd[i][0] < fwd[i - 1][1]:
            errs.append("values %s and %s: overlapping forward zones "
                        "(no order of the two writes explains the reads)" %
                        (fwd[i - 1][2], fwd[i][2]))
    for lo, hi, v in bwd:
        for flo, fhi, fv in fwd:
            if fv != v and flo < lo and hi < fhi:
                errs.append("value %s: its backward zone lies inside the "
                            "forward zone of %s" % (v, fv))
                break
    return errs


def check(path):
    per = {}
    n = {"W": 0, "R": 0, "E": 0}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        n[f[0]] = n.get(f[0], 0) + 1
        if f[0] == "E":
            print("error: %s" % line.strip())
            continue
        per.setdefault(int(f[2]), []).append((f[0], f[3], int(f[4]),
                                              int(f[5])))
    bad = n["E"]
    for blk in sorted(per):
        for e in check_block(per[blk]):
            bad += 1
            if bad <= 20:
                print("block %d: %s" % (blk, e))
    print("%d writes, %d reads over %d blocks: %s" % (
        n["W"], n["R"], len(per),
        "linearizable, no torn block" if not bad else "%d violations" % bad))
    return 1 if bad else 0


def selftest():
    ok = [("W", "1.1", 10, 20), ("R", "1.1", 15, 25), ("W", "2.1", 30, 40),
          ("R", "2.1", 35, 45), ("R", "0", 0, 5)]
    assert not check_block(ok), check_block(ok)
    stale = [("W", "1.1", 10, 20), ("W", "2.1", 30, 40),
             ("R", "1.1", 50, 60)]  # reads an overwritten value
    assert check_block(stale), "stale read not caught"
    inv = [("W", "1.1", 10, 50), ("W", "2.1", 10, 50),
           ("R", "1.1", 20, 21), ("R", "2.1", 22, 23), ("R", "1.1", 24, 25)]
    assert check_block(inv), "new-old inversion not caught"
    future = [("R", "1.1", 0, 5), ("W", "1.1", 10, 20)]
    assert check_block(future), "read from the future not caught"
    assert check_block([("R", "torn", 0, 1)]), "torn not caught"
    assert check_block([("R", "9.9", 0, 1)]), "invented value not caught"
    old0 = [("W", "1.1", 10, 20), ("R", "0", 30, 40)]
    assert check_block(old0), "initial value after a write not caught"
    print("selftest ok")
    return 0


def c2o(args):
    opts = dict(zip(args[::2], args[1::2]))
    w, r = opts["--write"], opts["--read"]
    rounds = int(opts["--rounds"])
    rnd = random.Random(7)
    for i in range(rounds):
        a, b = (w, r) if i % 2 == 0 else (r, w)
        n = rnd.choice([1, 100, 4095, 4096, 4097, 65536, 200000,
                        rnd.randrange(1, 300000)])
        data = (("round %d " % i).encode() * (n // 6 + 2))[:n]
        with open(a, "wb") as f:
            f.write(data)
        with open(b, "rb") as f:
            got = f.read()
        if got != data:
            print("c2o round %d: wrote %d bytes through %s, read %d through "
                  "%s%s" % (i, n, a, len(got), b,
                            "" if len(got) != n else " (other bytes)"))
            return 1
    print("c2o %d rounds ok" % rounds)
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "run":
        return run(args)
    if cmd == "check":
        return check(args[0])
    if cmd == "selftest":
        return selftest()
    if cmd == "c2o":
        return c2o(args)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
