#!/bin/bash
# mgmtd is killed (-9) under load and started again on its state dir and
# port: it has the routing info it had (nodes, targets, chains, versions),
# the storage servers find it again, and I/O resumes; the workload's
# history shows nothing stale or lost, and the replicas are alike.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

H=$T_DIR/history
INO=15

cl_start 3 2 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"

t_start load "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--workload --writers 8 --readers 4 --chunks 32 --inode $INO \
	--history "$H" $CL
acks() { local n; n=$(grep -c '^A ' "$H" 2>/dev/null); echo "${n:-0}"; }
acks_reach() { [ "$(acks)" -ge "$1" ]; }
t_ok "the workload runs" wait_for 15 acks_reach 300

chains() {
	cl_py "sorted((c['id'], c['table'], c['version'], [t['id'] for t in c['targets']]) for c in s['chains'])"
}
before=$(chains)
rv=$(cl_py "s['routing_version']")
port=${MGMTD##*:}
kill -KILL "$(t_pid mgmtd)"
wait_for 10 t_exited mgmtd
n=$(acks)

cl_mgmtd mgmtd2 "$port" || t_bail "mgmtd starts again on port $port"
t_like "$(t_err mgmtd2)" "cluster 't' loaded from '$T_DIR/mgmtd': routing version [0-9]+" \
	"restarted, mgmtd loads the cluster from its state dir"
t_ok "  ... with a routing version no older than before ($rv)" \
	test "$(cl_py "s['routing_version']")" -ge "$rv"
t_is "$(chains)" "$before" "  ... and the same chains, targets and versions"
t_ok "  ... every storage node is up again" wait_for 20 cl_nodes_up 3
t_ok "  ... every chain serves" cl_wait_ok 30
t_ok "I/O resumes" wait_for 30 acks_reach $((n + 300))

kill -TERM "$(t_pid load)"
t_wait_exit load 60
t_is "$?" 0 "the workload stops cleanly and saw no bad read"
t_run final 120 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas --inode $INO --history "$T_DIR/final" $CL
t_is "$?" 0 "every serving replica of every chain is byte for byte alike"
t_run check 120 python3 "$T_ROOT/t/history.py" "$H" --final "$T_DIR/final"
rc=$?
t_diag "$(t_out check)"
t_is "$rc" 0 "the history checks out: no stale, lost or invented value"

t_done
