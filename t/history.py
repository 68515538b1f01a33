#!/usr/bin/env python3
"""Check the history `fffs bench chunk --table T --workload` recorded.

    history.py HISTORY [--stall-max-ms MS] [--final FILE]

Lines (see --history in man/fffs.1):
    I CHUNK SEQ T               a write issued
    A CHUNK SEQ T VERSION       ... acknowledged
    F CHUNK SEQ T ERR           ... failed (it may still have been applied)
    R CHUNK SEQ T0 T1 VER TGT   a read that returned write SEQ (0: nothing)
    R CHUNK BAD T0 T1 VER TGT   a read that returned what no write wrote

Checks, each printed as a line "ok - ..." or "FAILED - ...":
  - no read returned content that no write wrote;
  - every read returned a write that was issued before the read ended;
  - no read returned a value older than one a read that had ended before
    it started returned (per chunk);
  - no read returned a value older than a write acknowledged before it
    started;
  - the reads of --final (made after everything else, of every chunk)
    hold the last acknowledged write or one issued after it;
and prints the longest time without an acknowledged write ("longest
stall"), which --stall-max-ms bounds. Exit status 1 on any failure.
"""
import bisect
import sys
from collections import defaultdict


def load(path):
    issued = defaultdict(dict)  # chunk -> seq -> t
    acked = defaultdict(dict)   # chunk -> seq -> t
    reads = defaultdict(list)   # chunk -> [(t0, t1, seq)]
    bad = []
    ack_times = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            w = line.split()
            if not w:
                continue
            try:
                if w[0] == "I":
                    issued[int(w[1])][int(w[2])] = int(w[3])
                elif w[0] == "A":
                    acked[int(w[1])][int(w[2])] = int(w[3])
                    ack_times.append(int(w[3]))
                elif w[0] == "F":
                    pass
                elif w[0] == "R" and w[2] == "BAD":
                    bad.append((int(w[1]), line.strip()))
                elif w[0] == "R":
                    reads[int(w[1])].append((int(w[3]), int(w[4]),
                                             int(w[2])))
                else:
                    raise ValueError(w[0])
            except (ValueError, IndexError):
                # a line cut short by a kill is the last one only
                print("# line %d unreadable: %r" % (n, line))
    return issued, acked, reads, bad, sorted(ack_times)


def check(issued, acked, reads, bad, final):
    problems = defaultdict(list)
    for chunk, rs in reads.items():
        for t0, t1, seq in rs:
            if seq and (seq not in issued[chunk] or issued[chunk][seq] > t1):
                problems["unwritten"].append((chunk, seq, t0))
        # reads ordered by end time, with the running maximum seq
        ends = sorted((t1, seq) for t0, t1, seq in rs)
        end_t = [e[0] for e in ends]
        run_max = []
        m = 0
        for _, seq in ends:
            m = max(m, seq)
            run_max.append(m)
        # acknowledgements in time order, with the running maximum seq
        acks = sorted((t, seq) for seq, t in acked[chunk].items())
        ack_t = [a[0] for a in acks]
        ack_max = []
        m = 0
        for _, seq in acks:
            m = max(m, seq)
            ack_max.append(m)
        for t0, t1, seq in rs:
            k = bisect.bisect_left(end_t, t0)
            if k and run_max[k - 1] > seq:
                problems["older"].append((chunk, seq, run_max[k - 1], t0))
            k = bisect.bisect_left(ack_t, t0)
            if k and ack_max[k - 1] > seq:
                problems["stale"].append((chunk, seq, ack_max[k - 1], t0))
    for chunk, seq in final.items():
        last = max(acked[chunk]) if acked[chunk] else 0
        if seq < last:
            problems["lost"].append((chunk, seq, last))
    return problems


def main():
    args = sys.argv[1:]
    stall_max = None
    final_path = None
    if "--stall-max-ms" in args:
        i = args.index("--stall-max-ms")
        stall_max = int(args[i + 1])
        del args[i:i + 2]
    if "--final" in args:
        i = args.index("--final")
        final_path = args[i + 1]
        del args[i:i + 2]
    issued, acked, reads, bad, ack_times = load(args[0])
    final = {}
    if final_path:
        _, _, freads, fbad, _ = load(final_path)
        bad += fbad
        for chunk, rs in freads.items():
            final[chunk] = min(seq for _, _, seq in rs)
    nreads = sum(len(r) for r in reads.values())
    nacks = len(ack_times)
    p = check(issued, acked, reads, bad, final)
    failed = False

    def report(cond, what, examples=()):
        nonlocal failed
        print("%s - %s" % ("ok" if cond else "FAILED", what))
        for e in list(examples)[:5]:
            print("#   %s" % (e,))
        failed |= not cond

    print("# %d writes acknowledged, %d reads, %d chunks" %
          (nacks, nreads, len(issued)))
    report(nacks > 0 and nreads > 0, "the history has writes and reads")
    report(not bad, "no read returned content no write wrote",
           [b[1] for b in bad])
    report(not p["unwritten"], "every read returned an issued write",
           p["unwritten"])
    report(not p["older"],
           "no read returned a value older than an earlier read's",
           p["older"])
    report(not p["stale"],
           "no read returned a value older than an acknowledged write",
           p["stale"])
    if final_path:
        report(len(final) == len(issued),
               "the final reads cover every chunk written (%d of %d)" %
               (len(final), len(issued)))
        report(not p["lost"], "every acknowledged write survived",
               p["lost"])
    gaps = [(b - a, a) for a, b in zip(ack_times, ack_times[1:])]
    stall = max(gaps)[0] / 1e6 if gaps else 0
    print("# longest stall: %.0f ms" % stall)
    if stall_max is not None:
        report(stall <= stall_max, "longest stall %.0f ms <= %d ms" %
               (stall, stall_max))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
