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

STALL_MAX=$((CL_LEASE_MS + 5000))

cl_start 3 2 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"
t_pass "a table of 2 chains of 3 targets serves: $(cl_members 1); $(cl_members 2)"

cl_load 7 64
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
cl_load_end --stall-max-ms "$STALL_MAX"
t_ok "every target serves" cl_all_ok

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
