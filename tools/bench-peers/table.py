#!/usr/bin/env python3
"""Table of tools/bench-peers.sh: reads OUT/<system>/<job>.json and prints
one row per job with the value of each system, fffs/best-peer and fffs/local,
then a latency table for the fio jobs.

usage: table.py OUT
"""
import json
import os
import sys

SYSTEMS = ["local", "fffs", "gluster", "moosefs"]
PEERS = ["gluster", "moosefs"]
# (row label, file, how to get the value, unit)
ROWS = [
    ("seq write 1M", "seqwrite.json", ("fio", "write", "bw"), "MB/s"),
    ("seq read 1M", "seqread.json", ("fio", "read", "bw"), "MB/s"),
    ("randread 4k qd16", "randread.json", ("fio", "read", "iops"), "IOPS"),
    ("create", "meta.json", ("meta", "create"), "ops/s"),
    ("stat", "meta.json", ("meta", "stat"), "ops/s"),
]


def load(path):
    try:
        with open(path) as f:
            txt = f.read()
    except OSError:
        return None
    i = txt.find("{")  # fio may print warnings before its JSON
    if i < 0:
        return None
    try:
        return json.loads(txt[i:])
    except ValueError:
        return None


def fio_op(j, kind):
    if not j or "jobs" not in j:
        return None
    job = j["jobs"][0]
    if job.get("error"):
        return None
    op = job.get(kind)
    if not op or op.get("io_bytes", 0) == 0:
        return None
    return op


def value(out, system, fname, how):
    j = load(os.path.join(out, system, fname))
    if how[0] == "fio":
        op = fio_op(j, how[1])
        if op is None:
            return None
        return op["bw_bytes"] / 1e6 if how[2] == "bw" else op["iops"]
    if not j or how[1] not in j:
        return None
    return j[how[1]]["ops_per_s"]


def status(out, system):
    try:
        with open(os.path.join(out, system, "status")) as f:
            return f.read().strip()
    except OSError:
        return "not run"


def fmt(v):
    if v is None:
        return None
    return "%.0f" % v if v >= 100 else "%.1f" % v


def main():
    out = sys.argv[1]
    st = {s: status(out, s) for s in SYSTEMS}
    hdr = ["job", "unit"] + SYSTEMS + ["fffs/best-peer", "fffs/local"]
    rows = []
    nfiles = None
    for s in SYSTEMS:
        m = load(os.path.join(out, s, "meta.json"))
        if m and "n" in m:
            nfiles = m["n"]
    for label, fname, how, unit in ROWS:
        vals = {s: value(out, s, fname, how) for s in SYSTEMS}
        if how[0] == "meta" and nfiles:
            label = "%s %d" % (label, nfiles)
        cells = [label, unit]
        for s in SYSTEMS:
            v = fmt(vals[s])
            cells.append(v if v is not None else ("skip" if st[s] == "skipped" else "fail"))
        peers = [(vals[p], p) for p in PEERS if vals[p]]
        best = max(peers) if peers else None
        f = vals["fffs"]
        cells.append("%.2fx (%s)" % (f / best[0], best[1]) if f and best else "n/a")
        cells.append("%.2fx" % (f / vals["local"]) if f and vals["local"] else "n/a")
        rows.append(cells)
    w = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    line = lambda r: "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(r))
    print(line(hdr))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print(line(r))
    print()
    # completion latency of the fio jobs, p50 / p99 in microseconds
    lat = [["fio clat p50/p99 us"] + SYSTEMS]
    for label, fname, how, unit in ROWS:
        if how[0] != "fio":
            continue
        cells = [label]
        for s in SYSTEMS:
            op = fio_op(load(os.path.join(out, s, fname)), how[1])
            pc = op.get("clat_ns", {}).get("percentile", {}) if op else {}
            p50, p99 = pc.get("50.000000"), pc.get("99.000000")
            cells.append("%.0f/%.0f" % (p50 / 1e3, p99 / 1e3) if p50 and p99 else "-")
        lat.append(cells)
    # the metadata job in microseconds per operation, every phase
    for ph in ("create", "stat", "stat_warm", "unlink"):
        cells = ["meta %s us/op" % ph]
        for s in SYSTEMS:
            m = load(os.path.join(out, s, "meta.json"))
            cells.append("%.0f" % m[ph]["us_per_op"] if m and ph in m else "-")
        lat.append(cells)
    lw = [max(len(r[i]) for r in lat) for i in range(len(lat[0]))]
    for r in lat:
        print("  ".join(c.ljust(lw[0]) if i == 0 else c.rjust(lw[i]) for i, c in enumerate(r)))
    print()
    print("status: " + ", ".join("%s %s" % (s, st[s]) for s in SYSTEMS))


if __name__ == "__main__":
    main()
