#!/usr/bin/env python3
"""t/loadcheck.py LISTING LOG... - check a namespace against the logs of
`fffs admin ns load`: every change a log shows answered (status 0) is in
LISTING (one path per line), nothing the logs removed is, and nothing is
there that no log made. A timed-out change (-110) may or may not have
happened: its paths are not checked. Prints a summary and the first wrong
paths; exit status 1 when any path is wrong."""
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: loadcheck.py LISTING LOG...")
    state = {}
    for f in sys.argv[2:]:
        for line in open(f):
            w = line.split()
            if len(w) < 3:
                continue
            op, st, paths = w[0], int(w[1]), w[2:]
            if st == 0:
                if op == "create":
                    state[paths[0]] = True
                elif op == "unlink":
                    state[paths[0]] = False
                elif op == "rename":
                    state[paths[0]] = False
                    state[paths[1]] = True
            elif st == -110:
                for p in paths:
                    state[p] = None
    have = set(l.strip() for l in open(sys.argv[1]) if l.strip())
    bad = [p for p, v in state.items() if v is True and p not in have]
    bad += ["%s (removed)" % p for p, v in state.items()
            if v is False and p in have]
    bad += ["%s (never made)" % p for p in have if p not in state]
    print("%d paths in the logs, %d listed, %d wrong" %
          (len(state), len(have), len(bad)))
    for p in bad[:20]:
        print("wrong: " + p)
    sys.exit(1 if bad else 0)


main()
