#!/bin/bash
# mgmtd and fffs admin as an operator sees them: `admin init` makes a
# secret and will not overwrite one; status, nodes, targets, chains and
# tables as text and JSON; table create places chains on distinct nodes and
# refuses what does not fit; target offline, chain remove-target and
# add-target, and their refusals; mgmtd restarted after SIGTERM and after
# kill -9 on the same state dir keeps everything and the nodes come back;
# mgmtd refuses a state dir of another cluster or in use; a storage node
# claiming the id of an up node is refused; everything exits 0 on SIGTERM.
# Last, on a cluster of 4 nodes of 3 targets, 4 chains of 3 pair every two
# nodes in 2 chains and have their heads on 4 nodes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

# re TEXT: TEXT quoted for an extended regex.
re() {
	sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# adm NAME ARGS...: fffs admin ARGS against the cluster (bounded): $RC its
# status, $OUT its stdout, $ERR its stderr.
adm() {
	local name=$1
	shift
	t_run "$name" 20 "$FFFS" admin --mgmtd "$MGMTD" $CL "$@"
	RC=$?
	OUT=$(t_out "$name")
	ERR=$(t_err "$name")
}

# jpy EXPR: EXPR on the JSON on stdin as `j`; "unparsable" if it is not.
jpy() {
	python3 -c "import json, sys
try:
    j = json.load(sys.stdin)
except ValueError:
    print('unparsable')
    sys.exit(1)
print($1)"
}

# refused DESC REGEX: the last adm exited 1 with a stderr matching REGEX.
refused() {
	t_is "$RC" 1 "$1: exits 1"
	t_like "$ERR" "$2" "... saying why"
}

# placement: the chains of the status JSON: "CHAINS chains of SIZES,
# distinct nodes BOOL, heads on N nodes, pairs share C1 C2 ..." (chains
# that each pair of nodes shares, over every pair of storage nodes).
placement() {
	cl_py "(lambda node, ch, ns: '%d chains of %s, distinct nodes %s, heads on %d nodes, pairs share %s' % (
	len(ch),
	' '.join(sorted(set(str(len(c['targets'])) for c in ch))),
	all(len(set(node[t['id']] for t in c['targets'])) == len(c['targets']) for c in ch),
	len(set(node[c['targets'][0]['id']] for c in ch)),
	' '.join(str(sum(1 for c in ch if {a, b} <= {node[t['id']] for t in c['targets']}))
		for a in ns for b in ns if a < b)))(
	{t['id']: t['node'] for t in s['targets']}, s['chains'],
	sorted(n['id'] for n in s['nodes']))"
}

# ---- admin init --------------------------------------------------------------

mkdir "$T_DIR/init"
S1=$T_DIR/init/secret
S2=$T_DIR/init/secret.json
old_umask=$(umask)
umask 000 # the file is 0600 all the same
t_run init 10 "$FFFS" admin init --cluster-id x --secret-file "$S1"
t_is "$?" 0 "admin init --cluster-id x --secret-file F: exits 0"
t_run init-json 10 "$FFFS" admin init --cluster-id x --secret-file "$S2" --json
t_is "$?" 0 "... also with --json"
umask "$old_umask"
t_like "$(t_out init)" "^cluster x: new secret in '$(re "$S1")'; start every daemon with --cluster-id x --secret-file $(re "$S1")\$" \
	"... says where the new secret is and how to use it"
t_is "$(stat -c %a "$S1") $(stat -c %a "$S2")" "600 600" \
	"... the secret files have mode 0600 (under umask 0)"
t_is "$(grep -cE '^[0-9a-f]{64}$' "$S1") $(wc -l <"$S1")" "1 1" \
	"... and hold a line of 64 hex digits"
t_unlike "$(cat "$S2")" "$(cat "$S1")" "... a different one each"
t_is "$(t_out init-json | jpy "j['cluster'], j['secret_file'] == '$S2'")" \
	"x True" "... --json gives the cluster and the secret file"
before=$(sha256sum <"$S1")
t_run init-again 10 "$FFFS" admin init --cluster-id y --secret-file "$S1"
t_is "$?" 1 "admin init on an existing secret file: exits 1"
t_like "$(t_err init-again)" "secret file '$(re "$S1")' already exists; refusing to overwrite it" \
	"... naming the file"
t_is "$(t_out init-again)" "" "... printing nothing on stdout"
t_is "$(sha256sum <"$S1") $(stat -c %a "$S1")" "$before 600" \
	"... and leaves the file as it was"

# ---- a cluster: status, nodes, targets ---------------------------------------

cl_start 3 2 || t_bail "mgmtd and 3 storage nodes of 2 targets register"
t_pass "mgmtd and 3 storage nodes of 2 targets register"
PORT=${MGMTD##*:}
declare -A ADDR=()
for n in 1 2 3; do
	ADDR[$n]=tcp://127.0.0.1:$(t_storage_port "s$n")
done

adm status status
t_is "$RC" 0 "admin status: exits 0"
t_like "$OUT" '^cluster t: routing version [0-9]+, lease 3000 ms$' \
	"... names the cluster, the routing version and the lease"
t_like "$OUT" '^3 nodes \(3 up\), 6 targets \(0 serving\), 0 chains \(0 ok\), 0 tables; [0-9]+ of [0-9]+ bytes used$' \
	"... 3 nodes up, 6 targets, no chain yet"
t_like "$OUT" '^NODE +ROLE +STATUS +ADDRESS +HEARTBEAT$' "... the nodes table"
t_like "$OUT" '^TARGET +NODE +CHAIN +STATE +LOCAL +CAPACITY +USED +FLAGS$' \
	"... the targets table"
t_like "$OUT" '^CHAIN +TABLE +VERSION +HEALTH +TARGETS \(head first\)$' \
	"... the chains table"

adm nodes nodes
t_is "$RC" 0 "admin nodes: exits 0"
t_like "$(head -n 1 <<<"$OUT")" '^NODE +ROLE +STATUS +ADDRESS +HEARTBEAT$' \
	"... a header row"
rows=
for n in 1 2 3; do
	grep -Eq "^$n +storage +up +$(re "${ADDR[$n]}") +[0-9]+\.[0-9] s ago$" \
		<<<"$OUT" && rows="$rows$n"
done
t_is "$rows $(wc -l <<<"$OUT")" "123 4" \
	"... then a row for each node: storage, up, its address, its last heartbeat"

adm targets targets
t_is "$RC" 0 "admin targets: exits 0"
t_like "$(head -n 1 <<<"$OUT")" '^TARGET +NODE +CHAIN +STATE +LOCAL +CAPACITY +USED +FLAGS$' \
	"... a header row"
t_is "$(tail -n +2 <<<"$OUT" | awk '$3 == 0 && $4 == "offline" && $6 > 0 && $8 == "-" { print $1 ":" $2 }' | tr '\n' ' ')" \
	"65537:1 65538:1 131073:2 131074:2 196609:3 196610:3 " \
	"... then a row for each target: its node, in no chain, offline, its capacity"

adm status-json status --json
t_is "$(jpy "j['cluster'], j['lease_ms'], j['routing_version'] > 0, len(j['nodes']), len(j['targets']), j['chains'], j['tables']" <<<"$OUT")" \
	"t 3000 True 3 6 [] []" \
	"admin status --json: the cluster, lease, version, 3 nodes, 6 targets, no chains or tables"
adm nodes-json nodes --json
t_is "$(jpy "[(n['id'], n['role'], n['status'], n['address'], 0 <= n['heartbeat_age_ms'] < 3000, sorted(n)) for n in j]" <<<"$OUT")" \
	"$(python3 -c "print([(n, 'storage', 'up', a, True, ['address', 'heartbeat_age_ms', 'id', 'role', 'status']) for n, a in [(1, '${ADDR[1]}'), (2, '${ADDR[2]}'), (3, '${ADDR[3]}')]])")" \
	"admin nodes --json: id, role, status, address and heartbeat age of each"
adm targets-json targets --json
t_is "$(jpy "[(t['id'], t['node'], t['chain'], t['state'], t['capacity'] > 0, t['admin_offline'], sorted(t)) for t in j]" <<<"$OUT")" \
	"$(python3 -c "print([(n << 16 | i, n, 0, 'offline', True, False, ['admin_offline', 'capacity', 'chain', 'id', 'local', 'node', 'state', 'used']) for n in (1, 2, 3) for i in (1, 2)])")" \
	"admin targets --json: id, node, chain, states, space and flag of each"
adm chains-json chains --json
t_is "$(jpy j <<<"$OUT")" "[]" "admin chains --json: no chain yet"
adm tables-json tables --json
t_is "$(jpy j <<<"$OUT")" "[]" "admin tables --json: no table yet"

# ---- table create ------------------------------------------------------------

adm create table create --chains 2 --replicas 3
t_is "$RC" 0 "table create --chains 2 --replicas 3: exits 0"
t_like "$OUT" '^table 1 created; routing version [0-9]+$' "... printing the table id"
adm tables-json2 tables --json
t_is "$(jpy "[(t['id'], t['replicas'], t['chains']) for t in j]" <<<"$OUT")" \
	"[(1, 3, [1, 2])]" "admin tables --json: table 1 of chains 1 and 2, 3 replicas"
adm chains-json2 chains --json
t_is "$(jpy "[(c['id'], c['table'], c['version'] > 0, c['health'] in ('ok', 'degraded'), len(c['targets']), sorted(c), sorted(c['targets'][0])) for c in j]" <<<"$OUT")" \
	"[(1, 1, True, True, 3, ['health', 'id', 'table', 'targets', 'version'], ['id', 'state']), (2, 1, True, True, 3, ['health', 'id', 'table', 'targets', 'version'], ['id', 'state'])]" \
	"admin chains --json: chains 1 and 2 of table 1, 3 targets each"
t_is "$(placement)" \
	"2 chains of 3, distinct nodes True, heads on 2 nodes, pairs share 2 2 2" \
	"... each on 3 distinct nodes, heads on different nodes"
t_ok "every target of both chains becomes serving" cl_wait_ok 30
adm chains chains
t_like "$(head -n 1 <<<"$OUT")" '^CHAIN +TABLE +VERSION +HEALTH +TARGETS \(head first\)$' \
	"admin chains: a header row"
t_is "$(grep -cE '^[12] +1 +[0-9]+ +ok +[0-9]+\(serving\) [0-9]+\(serving\) [0-9]+\(serving\)$' <<<"$OUT") $(wc -l <<<"$OUT")" \
	"2 3" "... then a row for each chain: ok, its 3 targets serving"
adm tables tables
t_like "$OUT" '^TABLE +VERSION +REPLICAS +CHAINS$' "admin tables: a header row"
t_like "$OUT" '^1 +[0-9]+ +3 +1 2$' "... then table 1: 3 replicas, chains 1 and 2"

adm create2 table create --chains 1 --replicas 3
refused "a second table create --chains 1 --replicas 3 (no free target)" \
	'only 0 of 1 chains of 3 targets on distinct nodes fit the free targets \(0 free targets'
adm tables-json3 tables --json
t_is "$(jpy "len(j)" <<<"$OUT")" 1 "... and creates no table"
adm create-r0 table create --chains 1 --replicas 0
t_is "$RC" 2 "table create --replicas 0: bad usage (exit 2)"
t_like "$ERR" "'--replicas': '0' is not a number" "... saying which option"
adm create-c0 table create --chains 0 --replicas 3
t_is "$RC" 2 "table create --chains 0: bad usage (exit 2)"
t_like "$ERR" "'--chains': '0' is not a number" "... saying which option"
adm create-meta table create --chains 1 --replicas 3 --role meta
refused "table create --role meta without meta nodes" \
	'only 0 of 1 chains of 3 targets on distinct nodes fit the free targets \(0 free targets on 0 meta nodes\)'
adm create-role table create --chains 1 --replicas 3 --role client
t_is "$RC" 2 "table create --role client: bad usage (exit 2)"
t_like "$ERR" "--role client: not storage or meta" "... saying which roles there are"

# ---- target offline, chain remove-target and add-target ----------------------

H=$(cl_member 1 0)
M=$(cl_member 1 1)
L=$(cl_member 1 2)
T=$M
TN=$(cl_node_of "$T")
adm off target offline "$T"
t_is "$RC" 0 "target offline $T (chain 1's middle): exits 0"
t_like "$OUT" '^done; routing version [0-9]+$' "... and says done"
t_ok "... its public state becomes offline" wait_for 10 cl_state_is "$T" offline
adm targets2 targets
t_like "$OUT" "^$T +$TN +1 +offline +offline +[0-9]+ +[0-9]+ +admin-offline\$" \
	"... admin targets shows it offline and admin-offline"
t_is "$(grep -c 'admin-offline' <<<"$OUT")" 1 "... and no other target so"
t_is "$(cl_members 1)" "$H:serving $L:serving $T:offline" \
	"... chain 1 has it at the tail"
t_is "$(cl_py "[c['health'] for c in s['chains']]")" "['degraded', 'ok']" \
	"... chain 1 is degraded, chain 2 ok"
t_is "$(cl_py "sorted(t['state'] for t in s['targets'] if t['id'] != $T)")" \
	"['serving', 'serving', 'serving', 'serving', 'serving']" \
	"... every other target keeps serving"

adm rm-serving chain remove-target 1 "$H"
refused "chain remove-target 1 $H (serving)" \
	"target $H of chain 1 is serving: only an offline target can be removed"
adm rm-other chain remove-target 2 "$T"
refused "chain remove-target 2 $T (not in chain 2)" "target $T is not in chain 2"
t_is "$(cl_members 1)" "$H:serving $L:serving $T:offline" "... chain 1 is as it was"
adm rm chain remove-target 1 "$T"
t_is "$RC" 0 "chain remove-target 1 $T (offline): exits 0"
t_is "$(cl_members 1)" "$H:serving $L:serving" "... chain 1 has 2 targets"
t_is "$(cl_py "[(t['chain'], t['admin_offline']) for t in s['targets'] if t['id'] == $T]")" \
	"[(0, True)]" "... the target is in no chain, still admin-offline"

adm add-nochain chain add-target 99 "$T"
refused "chain add-target 99 $T (no such chain)" "there is no chain 99"
adm add-notarget chain add-target 1 999
refused "chain add-target 1 999 (no such target)" "there is no target 999"
adm add-chained chain add-target 1 "$H"
refused "chain add-target 1 $H (in chain 1)" "target $H is in chain 1 already"
O=$(cl_py "[t['id'] for t in s['targets'] if t['chain'] == 2 and t['node'] == $TN][0]")
adm add-samenode chain add-target 2 "$T"
refused "chain add-target 2 $T (chain 2 has a target on its node)" \
	"chain 2 has target $O on node $TN already; a chain's targets must be on distinct nodes"
adm add-usage chain add-target 1
t_is "$RC" 2 "chain add-target without a target: bad usage (exit 2)"
t_like "$ERR" "TARGET is missing" "... saying what is missing"
t_is "$(cl_members 1) $(cl_members 2 | wc -w)" "$H:serving $L:serving 3" \
	"... the chains are as they were"

adm add chain add-target 1 "$T"
t_is "$RC" 0 "chain add-target 1 $T: exits 0"
t_like "$(cl_members 1)" "^$H:serving $L:serving $T:(waiting|syncing|serving)\$" \
	"... it joins chain 1 at the tail (and is not offline)"
t_ok "... and becomes serving" wait_for 20 cl_state_is "$T" serving
t_ok "... every chain ok" cl_all_ok
t_is "$(cl_members 1)" "$H:serving $L:serving $T:serving" "... chain 1 has 3 targets again"
seq=$(sed -n "/target $T added to chain 1\$/,\$p" "$T_DIR/mgmtd.err" |
	sed -En "s/.* chain 1 version [0-9]+:.* $T ([a-z]+).*/\\1/p" | uniq |
	tr '\n' ' ')
t_like "$seq" '^(waiting )?syncing serving $' \
	"... mgmtd logged it waiting, syncing, then serving (got: $seq)"
t_is "$(cl_py "[t['admin_offline'] for t in s['targets']].count(True)")" 0 \
	"... and it is no longer admin-offline"

# ---- mgmtd restarts ----------------------------------------------------------

# The routing info that must survive a restart: tables, chains, and the
# targets without their local state and space.
kept() {
	cl_py "s['tables'], s['chains'], [(t['id'], t['node'], t['chain'], t['state'], t['admin_offline']) for t in s['targets']], [(n['id'], n['address']) for n in s['nodes']]"
}

# lines REGEX: per storage node, lines of its stderr matching REGEX.
lines() {
	local n
	for n in 1 2 3; do
		grep -cE -- "$1" "$T_DIR/${CL_NAME[$n]}.err"
	done | tr '\n' ' '
}

# more_lines REGEX OLD: every node has more lines matching than in OLD.
more_lines() {
	local old=($2) i=0 c
	for c in $(lines "$1"); do
		[ "$c" -gt "${old[$i]}" ] || return 1
		i=$((i + 1))
	done
}

FAIL_RE="heartbeat to mgmtd $(re "$MGMTD") failed"
BACK_RE="heartbeat to mgmtd $(re "$MGMTD") works again"
run=1

# restart HOW SIGNAL STATUS: stop mgmtd with SIGNAL (exit STATUS), start it
# again on the same state dir and port, check that it kept everything.
restart() {
	local how=$1 old=mgmtd version kept_before fails backs
	[ $run -gt 1 ] && old=mgmtd.$run
	run=$((run + 1))
	version=$(cl_py "s['routing_version']")
	kept_before=$(kept)
	fails=$(lines "$FAIL_RE")
	backs=$(lines "$BACK_RE")
	kill "-$2" "$(t_pid "$old")"
	t_wait_exit "$old" 20 2>/dev/null # not bash's "Killed"
	t_is "$?" "$3" "$how: mgmtd exits $3"
	t_ok "... every node's heartbeats fail" \
		wait_for 10 more_lines "$FAIL_RE" "$fails"
	if [ "$how" = SIGTERM ]; then # while it is down
		t_run other 10 "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd" \
			--listen tcp://127.0.0.1:0 --cluster-id other \
			--secret-file "$T_DIR/secret"
		t_is "$?" 1 "mgmtd on the state dir for cluster 'other': exits 1"
		t_like "$(t_err other)" "state dir '$(re "$T_DIR/mgmtd")' belongs to cluster 't', not 'other'" \
			"... naming the dir and both cluster ids"
		t_unlike "$(t_out other)" serving "... without serving"
	fi
	cl_mgmtd "mgmtd.$run" "$PORT" ||
		t_bail "mgmtd starts again on its state dir and port $PORT"
	t_is "${MGMTD##*:}" "$PORT" "... started again on the same port"
	t_like "$(t_err "mgmtd.$run")" "cluster 't' loaded from '$(re "$T_DIR/mgmtd")': routing version [0-9]+, 3 nodes, 6 targets, 2 chains" \
		"... it loads the cluster from its state dir"
	t_ok "... the routing version is at least $version" \
		test "$(cl_py "s['routing_version']")" -ge "$version"
	t_is "$(kept)" "$kept_before" "... tables, chains, targets and nodes are the same"
	t_ok "... every node heartbeats again" \
		wait_for 10 more_lines "$BACK_RE" "$backs"
	t_ok "... all 3 nodes are up" cl_nodes_up 3
	t_ok "... every chain is ok" cl_wait_ok 10
	t_is "$(kept)" "$kept_before" "... and still the same"
}

restart SIGTERM TERM 0

t_run inuse 10 "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd" \
	--listen tcp://127.0.0.1:0 $CL
t_is "$?" 1 "a second mgmtd on the state dir in use: exits 1"
t_like "$(t_err inuse)" "state dir '$(re "$T_DIR/mgmtd")' is in use by another process" \
	"... naming the dir"
t_ok "... the first one goes on" cl_nodes_up 3

restart "kill -9" KILL 137

# ---- a node id taken ---------------------------------------------------------

mkdir "$T_DIR/imp"
t_start imp "$FFFS" storage --target "$T_DIR/imp/t1.img,size=300M" \
	--state-dir "$T_DIR/imp/state" --listen tcp://127.0.0.1:0 \
	--node-id 1 --mgmtd "$MGMTD" --cores 1 $CL
IMP=tcp://127.0.0.1:$(t_storage_port imp) || t_bail "a second node 1 starts"
refusal="heartbeat from .* as node 1 at $(re "$IMP") refused: node 1 is up at $(re "${ADDR[1]}")"
refusals() {
	[ "$(grep -cE -- "$refusal" "$T_DIR/mgmtd.$run.err")" -ge "$1" ]
}
t_ok "a second storage process as node 1: mgmtd refuses its heartbeats" \
	wait_for 10 refusals 1
t_like "$(t_err "mgmtd.$run")" "$refusal" \
	"... logging the node id and both addresses"
t_like "$(t_err imp)" "heartbeat to mgmtd $(re "$MGMTD") failed: File exists" \
	"... the second process is told"
t_ok "... all 3 nodes are still up" cl_nodes_up 3
adm nodes-imp nodes
t_like "$OUT" "^1 +storage +up +$(re "${ADDR[1]}") " \
	"... admin nodes shows node 1 at its own address"
t_unlike "$OUT" "$(re "$IMP")" "... and not the second one's"
t_ok "... every chain is ok" cl_all_ok
t_is "$(grep -cE -- "$refusal" "$T_DIR/mgmtd.$run.err")" 1 \
	"... the refusal is logged once, not at every heartbeat"
kill -TERM "$(t_pid imp)"
t_wait_exit imp 20
t_is "$?" 0 "the second node 1 exits 0 on SIGTERM"

# ---- SIGTERM -----------------------------------------------------------------

for n in 1 2 3; do
	kill -TERM "$(t_pid "${CL_NAME[$n]}")"
done
for n in 1 2 3; do
	t_wait_exit "${CL_NAME[$n]}" 20
	t_is "$?" 0 "storage node $n exits 0 on SIGTERM"
done
kill -TERM "$(t_pid "mgmtd.$run")"
t_wait_exit "mgmtd.$run" 20
t_is "$?" 0 "mgmtd exits 0 on SIGTERM"

# ---- placement on 4 nodes of 3 targets ---------------------------------------

B=$T_DIR/big
t_start big-mgmtd "$FFFS" mgmtd --state-dir "$B/mgmtd" \
	--listen tcp://127.0.0.1:0 $CL
wait_for 10 grep -q 'serving on port' "$T_DIR/big-mgmtd.out" ||
	t_bail "a second mgmtd starts"
MGMTD=tcp://127.0.0.1:$(sed -n 's/.*serving on port //p' "$T_DIR/big-mgmtd.out")
for n in 1 2 3 4; do
	mkdir -p "$B/n$n"
	t_start "big-s$n" "$FFFS" storage --target "$B/n$n/t1.img,size=300M" \
		--target "$B/n$n/t2.img,size=300M" \
		--target "$B/n$n/t3.img,size=300M" --state-dir "$B/n$n/state" \
		--listen tcp://127.0.0.1:0 --node-id "$n" --mgmtd "$MGMTD" \
		--cores 1 $CL
done
t_ok "a second cluster: 4 storage nodes of 3 targets register" \
	wait_for 20 cl_nodes_up 4
t_is "$(cl_py "len(s['targets'])")" 12 "... with 12 targets"
adm big-create table create --chains 4 --replicas 3 --json
t_is "$RC" 0 "table create --chains 4 --replicas 3 --json: exits 0"
t_is "$(jpy "j['table'], j['routing_version'] > 0" <<<"$OUT")" "1 True" \
	"... giving the table id and the routing version"
t_is "$(placement)" \
	"4 chains of 3, distinct nodes True, heads on 4 nodes, pairs share 2 2 2 2 2 2" \
	"... each pair of the 4 nodes shares 2 chains, heads on 4 nodes"
t_ok "... every chain gets ok" cl_wait_ok 30
for n in 1 2 3 4; do
	kill -TERM "$(t_pid "big-s$n")"
done
for n in 1 2 3 4; do
	t_wait_exit "big-s$n" 20
	t_is "$?" 0 "storage node $n of the second cluster exits 0 on SIGTERM"
done
kill -TERM "$(t_pid big-mgmtd)"
t_wait_exit big-mgmtd 20
t_is "$?" 0 "the second mgmtd exits 0 on SIGTERM"

t_done
