#!/bin/bash
# fffs bench chunk starts its own storage server, runs the three phases
# in two rounds with fio taking turns, and reports every row next to its
# baseline. A smoke test: no rate is asserted beyond "not zero"; it also
# checks that nothing is left behind (the server, the fio file, the
# target).
. "$(dirname "$0")/lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"
command -v fio >/dev/null || t_skip_all "no fio"

t_secret "$T_DIR/secret"
mkdir "$T_DIR/d"

t_run text 120 "$FFFS" bench chunk --dir "$T_DIR/d" --size 32M \
	--duration 1 --rounds 2 --secret-file "$T_DIR/secret"
t_is "$?" 0 "fffs bench chunk --size 32M --rounds 2 exits 0"
out=$(t_out text)
t_like "$out" '^fffs bench chunk: 32 chunks of 1 MiB at depth 8, 4 KiB random reads at depth 32 for 1 s; own server tcp://127.0.0.1:[0-9]+, target 1;' \
	"it prints what it measured"
t_like "$out" '^2 round\(s\), fffs and fio taking turns' "... and how"
num='[0-9]+(\.[0-9]+)?'
res="[0-9]+ (MB/s|IOPS) +p50 +${num}us p99 +${num}us"
for row in "seq-write +$res +fio" "seq-read +$res +fio" \
	"rand-read +$res +fio" "seq-write +$res +fio O_DSYNC" \
	"seq-write +$res +fio end sync"; do
	t_like "$out" "^$row +$res +$num +$num $num\$" \
		"a row '${row%% *}' against '${row##*+}': rates, latencies, the ratio and one per round"
done
t_unlike "$out" 'requests failed' "no request failed"
t_unlike "$(t_err text)" ' (error|warn): ' "nothing logged an error"
t_is "$(ls -A "$T_DIR/d")" "" "the fio file and the server's target are gone"

t_run json 120 "$FFFS" bench chunk --dir "$T_DIR/d" --size 16M \
	--duration 1 --rounds 1 --json --secret-file "$T_DIR/secret"
t_is "$?" 0 "--json exits 0"
cat >"$T_DIR/check.py" <<'EOF'
import json, sys

problems = []
try:
    r = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not JSON: %s" % e)
    sys.exit(1)
rows = [(p.get("phase"), p.get("baseline")) for p in r.get("phases") or []]
want = [("seq-write", "fio"), ("seq-read", "fio"), ("rand-read", "fio"),
        ("seq-write", "fio O_DSYNC"), ("seq-write", "fio end sync")]
if rows != want:
    problems.append("rows are %s" % rows)
for p in r.get("phases") or []:
    rate = "ops_per_s" if p.get("phase") == "rand-read" else "bytes_per_s"
    for side in ("fffs", "fio"):
        s = p.get(side) or {}
        if not s.get(rate, 0) > 0 or not s.get("ops", 0) > 0:
            problems.append("%s %s: %s" % (p.get("phase"), side, s))
        if s.get("errors") != 0:
            problems.append("%s %s: errors" % (p.get("phase"), side))
    if not p.get("ratio", 0) > 0 or len(p.get("rounds") or []) != 1:
        problems.append("%s: ratio %s, rounds %s" %
                        (p.get("phase"), p.get("ratio"), p.get("rounds")))
if r.get("rounds") != 1 or r.get("size") != 16 << 20:
    problems.append("rounds %s size %s" % (r.get("rounds"), r.get("size")))
print("\n".join(problems) or "ok")
sys.exit(1 if problems else 0)
EOF
res=$("$PY" "$T_DIR/check.py" "$T_DIR/json.out" 2>&1)
t_is "$res" ok "--json: four rows with fffs, fio, ratio and rounds, nonzero rates, no errors"

t_run bad 20 "$FFFS" bench chunk --dir "$T_DIR/d" --rounds 0 \
	--secret-file "$T_DIR/secret"
t_is "$?" 2 "--rounds 0 is refused (status 2)"
t_like "$(t_err bad)" "rounds" "... naming the option"

t_done
