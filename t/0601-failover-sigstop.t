#!/bin/bash
# A storage server SIGSTOPped past its lease, then resumed, serves no
# stale read: the moment it runs again it refuses a read on the routing it
# had, it is taken through syncing before it serves again, and the
# workload that ran all along saw no stale or lost value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

INO=9
STOR=$T_ROOT/t/stor.py

cl_start 3 2 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"

cl_load $INO 32
t_ok "the workload runs" wait_for 15 acks_reach 200

# the tail of chain 1: reads there need no query, the most tempting to
# serve stale
target=$(cl_member 1 2)
node=$(cl_node_of "$target")
name=${CL_NAME[$node]}
ver=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
port=$(cl_py "[n['address'] for n in s['nodes'] if n['id'] == $node][0]")
port=${port##*:}

# a read on the connection that is open when the node stops, sent while it
# is stopped: the first thing it handles when it runs again
t_start probe python3 "$STOR" --cluster t "$port" "$T_DIR/secret" \
	ping + wait "$T_DIR/go" + read "$target" $INO 0 0 65536 --chain 1 \
	--chain-ver "$ver" --no-data
t_ok "a client connects to node $node" \
	wait_for 10 grep -q '^1: status 0' "$T_DIR/probe.out"

kill -STOP "$(t_pid "$name")"
t_ok "node $node stopped: its target $target goes offline" \
	wait_for $((CL_LEASE_MS / 1000 + 10)) cl_state_is "$target" offline
t_ok "  ... and writes go on without it" \
	wait_for 20 acks_reach $(($(acks) + 500))
# chunk 0 is in chain 1; it has been written while the node was stopped
touch "$T_DIR/go"
t_ok "  ... the client sends it a read of chunk 0 meanwhile" \
	wait_for 10 grep -q '^2: waited ok' "$T_DIR/probe.out"
kill -CONT "$(t_pid "$name")"
t_wait_exit probe 20
t_like "$(t_out probe)" '^3: item 0 status -2015 \(EFENCED\)' \
	"resumed, it refuses that read: its lease has lapsed"
t_diag "$(t_out probe | grep 'item')"

t_ok "it syncs and serves again" cl_wait_ok 40
t_like "$(t_err "$name")" 'lease regained after [0-9]+ ms without one' \
	"  ... having logged that its lease had lapsed"
t_like "$(t_err mgmtd)" "chain 1 version [0-9]+:.* $target syncing" \
	"  ... and it went through syncing"
t_ok "the workload goes on" wait_for 20 acks_reach $(($(acks) + 300))

cl_load_end

t_done
