#!/bin/bash
# 8 writers and 4 readers run through chain replication (1 mgmtd, 3
# storage nodes of 2 targets, 2 chains of 3) while kill -9 hits the head,
# then the middle, then the tail of a chain, each restarted after a while,
# on one chain and then the other. The recorded history shows no read of
# a value older than one already returned or than an acknowledged write,
# and none of data never written; every acknowledged write is on every
# replica at the end, every target serves, the replicas are byte for byte
# alike, and writes resumed within the lease + 5 s of every kill.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

H=$T_DIR/history
STALL_MAX=$((CL_LEASE_MS + 5000))

cl_start 3 2 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"
t_pass "a table of 2 chains of 3 targets serves: $(cl_members 1); $(cl_members 2)"

t_start load "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--workload --writers 8 --readers 4 --chunks 64 --inode 7 \
	--history "$H" $CL
acks() { local n; n=$(grep -c '^A ' "$H" 2>/dev/null); echo "${n:-0}"; }
acks_reach() { [ "$(acks)" -ge "$1" ]; }
t_ok "the workload gets its first writes acknowledged" wait_for 15 acks_reach 100

names=(head middle tail)
for chain in 1 2; do
	for pos in 0 1 2; do
		what="chain $chain's ${names[$pos]}"
		target=$(cl_member "$chain" "$pos")
		node=$(cl_node_of "$target")
		cl_kill9 "$node"
		t_ok "$what (target $target, node $node) killed: marked offline" \
			wait_for 20 cl_state_is "$target" offline
		want=$(($(acks) + 300))
		t_ok "  ... writes go on without it" wait_for 20 acks_reach "$want"
		cl_storage "$node"
		t_ok "  ... restarted, every target of every chain serves again" \
			cl_wait_ok 40
		t_diag "  chains now: $(cl_members 1); $(cl_members 2)"
	done
done

want=$(($(acks) + 300))
t_ok "the workload goes on after the last restart" wait_for 20 acks_reach "$want"
kill -TERM "$(t_pid load)"
t_wait_exit load 60
t_is "$?" 0 "the workload stops cleanly and saw no bad read"
t_diag "$(t_out load)"

t_run final 120 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas --inode 7 --history "$T_DIR/final" $CL
t_is "$?" 0 "every serving replica of every chain is byte for byte alike"
t_diag "$(t_out final | tail -n 3)"
t_ok "every target serves" cl_all_ok

t_run check 120 python3 "$T_ROOT/t/history.py" "$H" --final "$T_DIR/final" \
	--stall-max-ms "$STALL_MAX"
rc=$?
t_diag "$(t_out check)"
t_is "$rc" 0 "the history checks out: no lost, stale or invented value, stalls at most $STALL_MAX ms"

for n in 1 2 3; do
	kill -TERM "$(t_pid "${CL_NAME[$n]}")"
done
for n in 1 2 3; do
	t_wait_exit "${CL_NAME[$n]}" 20
	t_is "$?" 0 "node $n exits 0 on SIGTERM"
done
kill -TERM "$(t_pid mgmtd)"
t_wait_exit mgmtd 20
t_is "$?" 0 "mgmtd exits 0 on SIGTERM"

t_done
