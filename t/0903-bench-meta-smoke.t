#!/bin/bash
# fffs bench meta starts its own cluster (mgmtd and 3 meta servers in a
# 3-replica meta chain) under --dir, runs create, stat, readdir and unlink
# at a concurrency, and prints each rate beside its two ceilings (LMDB in
# one process, an echo RPC of the same size). A smoke test: no rate is
# asserted beyond "not zero"; nothing is left behind (servers, state
# directories, the LMDB ceiling's db).
. "$(dirname "$0")/lib.sh"

t_secret "$T_DIR/secret"
mkdir "$T_DIR/d"

t_run text 120 "$FFFS" bench meta --dir "$T_DIR/d" --clients 4 --ops 300 \
	--secret-file "$T_DIR/secret"
t_is "$?" 0 "fffs bench meta --clients 4 --ops 300 exits 0" ||
	t_diag "$(t_err text | tail -n 20)"
out=$(t_out text)
t_like "$out" '^fffs bench meta: 300 files by 4 clients over a 3-replica meta chain \(own cluster\); ceilings: LMDB in one process \(64 operations per synced commit\), echo RPC of [0-9]+ bytes' \
	"it says what it measured"
num='[0-9]+(\.[0-9]+)?'
for op in create stat unlink; do
	t_like "$out" "^$op +[1-9][0-9]* op/s +$num +$num +[1-9][0-9]* op/s +$num +[1-9][0-9]* op/s +$num\$" \
		"$op: rate, p50, p99, the LMDB ceiling and ratio, the echo ceiling and ratio"
done
t_like "$out" "^readdir +[1-9][0-9]* ent/s +$num +$num +[1-9][0-9]* ent/s +$num +- +-\$" \
	"readdir: entries per second beside LMDB's"
t_like "$out" "^lmdb above commits each client's files together; in arrival order .* it makes create [1-9][0-9]* op/s \\(fffs $num of it\\), unlink [1-9][0-9]* op/s \\(fffs $num\\)\$" \
	"the LMDB rates in arrival order, with fffs's ratio to them"
t_unlike "$out" 'requests failed' "no request failed"
t_unlike "$(t_err text)" ' error: ' "nothing logged an error"
t_is "$(ls -A "$T_DIR/d")" "" "the cluster's and the ceiling's directories are gone"

t_run json 120 "$FFFS" bench meta --dir "$T_DIR/d" --clients 2 --ops 50 \
	--json --secret-file "$T_DIR/secret"
t_is "$?" 0 "--json exits 0"
t_is "$(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
ops = {o["op"]: o for o in j["ops"]}
ok = (j["benchmark"] == "meta" and j["own_cluster"] and j["replicas"] == 3
      and j["files"] == 50 and j["clients"] == 2
      and sorted(ops) == ["create", "readdir", "stat", "unlink"]
      and all(o["errors"] == 0 and o["per_s"] > 0 and o["lmdb_per_s"] > 0
              for o in ops.values())
      and ops["create"]["ops"] == 50 and ops["unlink"]["ops"] == 50
      and "echo_ratio" in ops["create"] and "echo_ratio" not in ops["readdir"]
      and all(ops[o]["lmdb_arrival_per_s"] > 0 and "lmdb_arrival_ratio" in ops[o]
              for o in ("create", "unlink"))
      and "lmdb_arrival_per_s" not in ops["stat"])
print(ok)' "$T_DIR/json.out" 2>&1)" True "the JSON report has every op, its ceilings and no error"

"$FFFS" bench meta --clients 0 --secret-file "$T_DIR/secret" 2>"$T_DIR/bad.err"
t_is "$?" 2 "--clients 0 is a usage error"
t_like "$(cat "$T_DIR/bad.err")" "clients" "  ... naming the option"

t_done
