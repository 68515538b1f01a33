# t/cluster.sh - a cluster on 127.0.0.1 for the chain and failover tests;
# sourced after t/lib.sh.
#
#	cl_start 3 2                 # mgmtd and storage nodes 1..3, 2 targets
#	cl_table 2 3                 # 2 chains of 3; waits until all serve
#	cl_kill9 2; cl_storage 2     # SIGKILL node 2, start it again
#	cl_wait_ok 30                # every chain ok again
#	cl_members 1                 # "65537:serving 131073:serving ..."
#	cl_meta 11                   # meta node 11 (target 11 << 16)
#
# Processes are named mgmtd, and sN, sN.2, sN.3... for node N (each start
# a new name). Leases are short (CL_LEASE_MS, default 3000), heartbeats
# every CL_HB_MS (default 300). $CL holds the options every fffs command
# of the cluster takes, $MGMTD the manager's address.

CL_LEASE_MS=${CL_LEASE_MS:-3000}
CL_HB_MS=${CL_HB_MS:-300}
declare -A CL_RUNS=()  # node -> starts so far
declare -A CL_NAME=()  # node -> the process name of its current run
CL_TARGETS=2

t_secret "$T_DIR/secret"
CL="--cluster-id t --secret-file $T_DIR/secret --set heartbeat_timeout_ms=$CL_LEASE_MS --set heartbeat_interval_ms=$CL_HB_MS"

# cl_mgmtd NAME [PORT]: start mgmtd on its state dir; sets MGMTD.
cl_mgmtd() {
	local port
	t_start "$1" "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd" \
		--listen "tcp://127.0.0.1:${2:-0}" $CL
	if ! wait_for 10 grep -q 'serving on port' "$T_DIR/$1.out"; then
		t_diag "mgmtd '$1' did not start: $(t_err "$1" | tail -n 3)"
		return 1
	fi
	port=$(sed -n 's/.*serving on port //p' "$T_DIR/$1.out")
	MGMTD=tcp://127.0.0.1:$port
}

# cl_storage N [EXTRA...]: start (again) storage node N with its targets.
cl_storage() {
	local n=$1 run targets=() i name
	shift
	run=$((${CL_RUNS[$n]:-0} + 1))
	CL_RUNS[$n]=$run
	name=s$n
	[ "$run" -gt 1 ] && name=s$n.$run
	CL_NAME[$n]=$name
	mkdir -p "$T_DIR/n$n"
	for i in $(seq 1 $CL_TARGETS); do
		targets+=(--target "$T_DIR/n$n/t$i.img,size=300M")
	done
	t_start "$name" "$FFFS" storage "${targets[@]}" \
		--state-dir "$T_DIR/n$n/state" --listen tcp://127.0.0.1:0 \
		--node-id "$n" --mgmtd "$MGMTD" --cores 2 $CL "$@"
}

# cl_meta N [EXTRA...]: start (again) meta node N (node ids 11, 12, 13...
# so that they do not clash with storage nodes 1..3), whose one target is
# N << 16, with its namespace db in $T_DIR/nN/meta.
cl_meta() {
	local n=$1 run name
	shift
	run=$((${CL_RUNS[$n]:-0} + 1))
	CL_RUNS[$n]=$run
	name=m$n
	[ "$run" -gt 1 ] && name=m$n.$run
	CL_NAME[$n]=$name
	mkdir -p "$T_DIR/n$n"
	t_start "$name" "$FFFS" meta --state-dir "$T_DIR/n$n/meta" \
		--listen tcp://127.0.0.1:0 --node-id "$n" --mgmtd "$MGMTD" \
		--cores 2 $CL "$@"
}

# cl_admin ARGS...: fffs admin against the cluster (stdout).
cl_admin() {
	"$FFFS" admin --mgmtd "$MGMTD" $CL "$@"
}

cl_status_json() {
	cl_admin status --json 2>/dev/null
}

# cl_py EXPR: evaluate a Python expression on the status JSON as `s`.
cl_py() {
	cl_status_json | python3 -c "import json, sys
s = json.load(sys.stdin)
print($1)" 2>/dev/null
}

cl_nodes_up() {
	[ "$(cl_py "sum(1 for n in s['nodes'] if n['status'] == 'up')")" = "$1" ]
}

# cl_start NODES TARGETS: mgmtd and storage nodes 1..NODES, registered.
cl_start() {
	local n
	CL_TARGETS=$2
	cl_mgmtd mgmtd || return 1
	for n in $(seq 1 "$1"); do
		cl_storage "$n"
	done
	if ! wait_for 20 cl_nodes_up "$1"; then
		t_diag "not all $1 storage nodes registered"
		return 1
	fi
}

# cl_all_ok: every chain has all its targets serving.
cl_all_ok() {
	[ "$(cl_py "all(c['health'] == 'ok' for c in s['chains']) and len(s['chains']) > 0")" = True ]
}

cl_wait_ok() {
	wait_for "$1" cl_all_ok
}

# cl_table CHAINS REPLICAS: a new table; waits for it to serve. Prints
# nothing; sets CL_TABLE.
cl_table() {
	local out
	out=$(cl_admin table create --chains "$1" --replicas "$2" --json) ||
		return 1
	CL_TABLE=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["table"])' <<<"$out")
	cl_wait_ok 30
}

# cl_members CHAIN: "TARGET:STATE ..." in chain order.
cl_members() {
	cl_py "' '.join('%d:%s' % (t['id'], t['state']) for c in s['chains'] if c['id'] == $1 for t in c['targets'])"
}

# cl_member CHAIN POS: the target at POS (0: head) of the chain.
cl_member() {
	cl_py "[c for c in s['chains'] if c['id'] == $1][0]['targets'][$2]['id']"
}

# cl_state TARGET: its public state.
cl_state() {
	cl_py "[t['state'] for t in s['targets'] if t['id'] == $1][0]"
}

cl_state_is() {
	[ "$(cl_state "$1")" = "$2" ]
}

cl_node_of() {
	echo $(($1 >> 16))
}

# cl_kill9 N: SIGKILL node N's current run (storage or meta).
cl_kill9() {
	local name=${CL_NAME[$1]}
	kill -KILL "$(t_pid "$name")" 2>/dev/null
	wait_for 10 t_exited "$name"
	wait "$(t_pid "$name")" 2>/dev/null
	return 0
}

# cl_meta_chain NODE...: mgmtd, a meta server on each node, a table of one
# meta chain of them all, and every replica serving (TAP lines for each).
cl_meta_chain() {
	local n
	cl_mgmtd mgmtd || t_bail "mgmtd starts"
	for n in "$@"; do
		cl_meta "$n"
	done
	t_ok "$# meta servers register with mgmtd" wait_for 20 cl_nodes_up $#
	t_ok "a table of one meta chain of $# is created" \
		cl_admin table create --chains 1 --replicas $# --role meta
	t_ok "every replica of the meta chain serves" cl_wait_ok 40
}

# cl_digests_equal N: N meta replicas answer the digest, all at one seq
# and with one digest.
cl_digests_equal() {
	cl_admin meta digest --json 2>/dev/null | python3 -c "import json, sys
d = json.load(sys.stdin)
sys.exit(0 if len(d) == $1 and len({(r['seq'], r['digest']) for r in d}) == 1 else 1)"
}

# cl_stop_meta NODE...: SIGTERM to each meta node, then each must exit 0.
cl_stop_meta() {
	local n
	for n in "$@"; do
		kill -TERM "$(t_pid "${CL_NAME[$n]}")"
	done
	for n in "$@"; do
		t_wait_exit "${CL_NAME[$n]}" 20
		t_is "$?" 0 "meta node $n exits 0 on SIGTERM"
	done
}

# cl_ls_load: every file under /load (what `fffs admin ns load` makes),
# one path per line, for t/loadcheck.py.
cl_ls_load() {
	local d
	for d in $(cl_admin ns ls /load); do
		cl_admin ns ls "/load/$d" | sed "s|^|/load/$d/|"
	done
}

# cl_verify INODE: every chain of the table alike on its serving replicas.
cl_verify() {
	t_run "verify$1.$RANDOM" 120 "$FFFS" bench chunk --mgmtd "$MGMTD" \
		--table "$CL_TABLE" --verify-replicas $CL
}

# ---- the workload the failover tests run -------------------------------

# cl_load INODE CHUNKS: 8 writers and 4 readers over the table's chunks of
# INODE (process "load"), recording $T_DIR/history.
cl_load() {
	CL_INO=$1
	t_start load "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
		--workload --writers 8 --readers 4 --chunks "$2" --inode "$1" \
		--history "$T_DIR/history" $CL
}

# acks: writes acknowledged so far; acks_reach N.
acks() {
	local n
	n=$(grep -c '^A ' "$T_DIR/history" 2>/dev/null)
	echo "${n:-0}"
}
acks_reach() { [ "$(acks)" -ge "$1" ]; }

# cl_load_end [HISTORY-OPTIONS...]: stop the workload, compare the
# replicas, check the history (t/history.py, e.g. --stall-max-ms MS).
cl_load_end() {
	local rc
	kill -TERM "$(t_pid load)"
	t_wait_exit load 60
	t_is "$?" 0 "the workload stops cleanly and saw no bad read"
	t_diag "$(t_out load)"
	t_run final 120 "$FFFS" bench chunk --mgmtd "$MGMTD" \
		--table "$CL_TABLE" --verify-replicas --inode "$CL_INO" \
		--history "$T_DIR/final" $CL
	t_is "$?" 0 "every serving replica of every chain is byte for byte alike"
	t_diag "$(t_out final | tail -n 3)"
	t_run check 120 python3 "$T_ROOT/t/history.py" "$T_DIR/history" \
		--final "$T_DIR/final" "$@"
	rc=$?
	t_diag "$(t_out check)"
	t_is "$rc" 0 "the history checks out: no stale, lost or invented value"
}
