#!/bin/bash
# fffs bench rpc runs end to end in one process and reports every phase
# next to its plain-TCP baseline. A smoke test: no rate is asserted beyond
# "not zero".
. "$(dirname "$0")/lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"

t_secret "$T_DIR/secret"

t_run text 60 "$FFFS" bench rpc --duration 1 --secret-file "$T_DIR/secret"
t_is "$?" 0 "fffs bench rpc --duration 1 exits 0"
out=$(t_out text)
t_like "$out" '^fffs bench rpc: 1 connection, [0-9]+ cores, 1 s per phase$' \
	"it prints what it measured"
t_like "$out" '^phase +fffs rpc +plain tcp +ratio$' "it prints a header with a ratio column"
num='[0-9]+(\.[0-9]+)?'
lat="p50 +${num}us p99 +${num}us"
t_like "$out" "^small +[1-9][0-9]* req/s +$lat +[1-9][0-9]* req/s +$lat +$num\$" \
	"small phase: rates, latencies and a ratio"
for ph in bulk-write bulk-read; do
	t_like "$out" "^$ph +[0-9]+ MB/s +$lat +[0-9]+ MB/s +$lat +$num\$" \
		"$ph phase: rates, latencies and a ratio"
done
t_unlike "$out" 'requests failed' "no request failed"
t_unlike "$(t_err text)" ' (error|warn): ' "nothing logged an error"

t_run json 60 "$FFFS" bench rpc --duration 1 --json \
	--secret-file "$T_DIR/secret"
t_is "$?" 0 "fffs bench rpc --duration 1 --json exits 0"
cat >"$T_DIR/check.py" <<'EOF'
import json, sys

problems = []
try:
    r = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not JSON: %s" % e)
    sys.exit(1)
phases = r.get("phases") or []
names = [p.get("phase") for p in phases]
if names != ["small", "bulk-write", "bulk-read"]:
    problems.append("phases are %s" % names)
for p in phases:
    rate = "ops_per_s" if p.get("phase") == "small" else "bytes_per_s"
    for side in ("fffs", "tcp"):
        s = p.get(side)
        if not isinstance(s, dict):
            problems.append("%s: no %s result" % (p.get("phase"), side))
            continue
        if not s.get(rate, 0) > 0:
            problems.append("%s %s: %s is %s" % (p.get("phase"), side, rate,
                                                s.get(rate)))
        if s.get("errors") != 0:
            problems.append("%s %s: %s errors" % (p.get("phase"), side,
                                                  s.get("errors")))
        if not s.get("ops", 0) > 0:
            problems.append("%s %s: no ops" % (p.get("phase"), side))
    if not p.get("ratio", 0) > 0:
        problems.append("%s: ratio is %s" % (p.get("phase"), p.get("ratio")))
print("\n".join(problems) or "ok")
sys.exit(1 if problems else 0)
EOF
res=$("$PY" "$T_DIR/check.py" "$T_DIR/json.out" 2>&1)
t_is "$res" ok "--json: three phases with fffs, tcp and ratio, nonzero rates, no errors"

t_done
