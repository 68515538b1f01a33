#!/bin/bash
# Recovery while writes are under way: a chain of 2 loses its second
# member; a write to a new chunk and one to a chunk both members have
# enter the member left (head and tail, so they commit at once and
# forward nothing) and their metadata is held (store_hold_file); the lost
# member comes back and its sync starts while the chunk lists show
# neither write. The sync must not end before those writes have: once the
# metadata goes through, both chunks reach the returning member, which
# then serves, and the replicas compare alike.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

INO=21

hold() { echo "--set debug_faults=true --set store_hold_file=$T_DIR/hold$1"; }

CL_TARGETS=1
cl_mgmtd mgmtd || t_bail "mgmtd starts"
cl_storage 1 $(hold 1)
cl_storage 2 $(hold 2)
wait_for 20 cl_nodes_up 2 || t_bail "2 storage nodes register"
cl_table 1 2 || t_bail "a chain of 2 serves"
head=$(cl_member 1 0)
tail=$(cl_member 1 1)
hn=$(cl_node_of "$head")
tn=$(cl_node_of "$tail")
t_pass "a chain of 2 serves: $(cl_members 1)"

t_run w0 30 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --write-chunk 0 --seed 1 $CL
t_is "$?" 0 "chunk 0 is written on both members"

cl_kill9 "$tn"
t_ok "the tail (target $tail) killed: marked offline" \
	wait_for 20 cl_state_is "$tail" offline

ver_down=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
touch "$T_DIR/hold$hn"
t_start w1 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --write-chunk 1 --seed 2 $CL --set rpc_timeout_ms=60000

# and one to chunk 0, which both members have, unchanged since the kill
t_start w2 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --write-chunk 0 --seed 3 $CL --set rpc_timeout_ms=60000
head_log() { t_err "${CL_NAME[$hn]}"; }
held() { grep -q "hold$hn' exists: chunk metadata .* waits" <<<"$(head_log)"; }
t_ok "writes of chunks 1 and 0 enter target $head, which holds their metadata" \
	wait_for 10 held

# the first sync of the chain's making is in the log already
syncs() { grep -c "syncs target $tail" <<<"$(head_log)"; }
syncs_done() { grep -c "sync of target $tail .*done" <<<"$(head_log)"; }
n_syncs=$(syncs)
n_done=$(syncs_done)
sync_started() { [ "$(syncs)" -gt "$n_syncs" ]; }
sync_done() { [ "$(syncs_done)" -gt "$n_done" ]; }
cl_storage "$tn" $(hold "$tn")
t_ok "target $tail is back: target $head syncs it" wait_for 30 sync_started
wait_for 3 sync_done
t_is "$?" 1 "... and the sync waits (3 s) for the writes under way"
t_ok "... the write of chunk 1 is not answered" t_alive w1
t_ok "... nor is the write of chunk 0" t_alive w2

rm -f "$T_DIR/hold$hn"
t_wait_exit w1 30
t_is "$?" 0 "the metadata goes through: the write of chunk 1 is acknowledged"
t_like "$(t_out w1)" '^ok version 1' "... as version 1"
t_wait_exit w2 30
t_is "$?" 0 "... and the write of chunk 0"
t_like "$(t_out w2)" '^ok version 2' "... as version 2"
t_ok "target $tail serves again" cl_wait_ok 30
t_ok "... after its sync ended" sync_done

# the case under test: target $head applied the write while the chain had
# no other member (it recorded that chain version)
hport=$(cl_py "[n['address'] for n in s['nodes'] if n['id'] == $hn][0]")
out=$(python3 "$T_ROOT/t/stor.py" --cluster t "${hport##*:}" "$T_DIR/secret" \
	dump "$head" --start-inode $INO 2>&1)
t_like "$out" "^chunk inode $INO index 1 .* chain_ver $ver_down " \
	"target $head committed chunk 1 at chain version $ver_down (alone)"

t_run verify 120 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas $CL
t_is "$?" 0 "the replicas hold the same chunks, byte for byte"
t_like "$(t_out verify)" '^chain 1: 2 chunks, on its 2 serving replicas alike$' \
	"... both chunks, on both members"
t_run r1 30 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --read-chunk 1 $CL
t_is "$?" 0 "chunk 1 reads back"

t_done
