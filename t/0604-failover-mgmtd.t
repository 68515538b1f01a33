#!/bin/bash
# mgmtd is killed (-9) under load and started again on its state dir and
# port: it has the routing info it had (nodes, targets, chains, versions),
# the storage servers find it again, and I/O resumes; the workload's
# history shows nothing stale or lost, and the replicas are alike.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

INO=15

cl_start 3 2 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"

cl_load $INO 32
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

cl_load_end

t_done
