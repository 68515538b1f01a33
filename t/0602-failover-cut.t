#!/bin/bash
# A storage server cut off from mgmtd (its heartbeats and routing polls
# fail; testing switch agent_cut_file) but still reachable by clients
# stops serving within half the lease: reads addressed to it get
# -FFFS_EFENCED. mgmtd takes it out of its chains after the lease, writes
# go on, and when the cut heals it syncs and serves again; the workload
# that ran all along saw no stale or lost value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

INO=11
STOR=$T_ROOT/t/stor.py
CUT=$T_DIR/cut3
HALF=$((CL_LEASE_MS / 2))

cl_mgmtd mgmtd || t_bail "mgmtd starts"
CL_TARGETS=2
cl_storage 1
cl_storage 2
cl_storage 3 --set debug_faults=true --set agent_cut_file="$CUT"
t_ok "3 storage nodes register" wait_for 20 cl_nodes_up 3
cl_table 2 3 || t_bail "a table of 2 chains of 3 targets serves"

cl_load $INO 32
t_ok "the workload runs" wait_for 15 acks_reach 200

target=$(cl_py "[t['id'] for t in s['targets'] if t['node'] == 3 and t['chain'] == 1][0]")
ver=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
port=$(cl_py "[n['address'] for n in s['nodes'] if n['id'] == 3][0]")
port=${port##*:}

# probe: read chunk 0 (chain 1) through node 3's target, print the item
probe() {
	python3 "$STOR" --cluster t "$port" "$T_DIR/secret" read "$target" \
		$INO 0 0 65536 --chain 1 --chain-ver "$ver" --no-data 2>&1 |
		sed -n 's/^item 0 status \(-*[0-9]*\).*/\1/p'
}
t_is "$(probe)" 0 "before the cut node 3 serves reads of chain 1"

# one connection, a read every 20 ms, until one is refused as fenced
t_start watch python3 "$STOR" --cluster t "$port" "$T_DIR/secret" watch \
	"$target" $INO 0 0 65536 --chain 1 --chain-ver "$ver" --every 20 \
	--until -2015 --max-s 30
t_ok "a client reads through node 3 all the while" \
	wait_for 10 grep -q '^watch .* 0 (ok)$' "$T_DIR/watch.out"
# t0 is taken once the cut is in place: a heartbeat that got out before
# it was sent before t0, however long touch took on a loaded host
touch "$CUT"
t0=$(t_now_ms)
t_wait_exit watch 40
t_like "$(t_out watch)" '^watch [0-9]+ [0-9]+ -2015 \(EFENCED\)$' \
	"cut off from mgmtd, node 3 refuses reads as fenced (-FFFS_EFENCED)" ||
	{ # to stderr, which prove shows
		echo "# cut at $t0; the watch's last lines:"
		{ tail -n 5 "$T_DIR/watch.out"; t_err watch | tail -n 5; } | sed 's/^/# /'
	} >&2
# the last read it served was sent before the cut plus half the lease
# (its last heartbeat was sent before the cut; the server checks at the
# read, and the answer arrives a little later, more so on a loaded host);
# refusals follow at once
last_ok=$(awk '$4 == 0 { t = $2 } END { printf "%.0f\n", t }' "$T_DIR/watch.out")
first_no=$(awk '$4 == -2015 { print $3; exit }' "$T_DIR/watch.out")
t_diag "cut at $t0, last read served sent at $last_ok, first refused at $first_no"
t_ok "  ... none served later than half the lease after the cut ($((last_ok - t0)) ms, half the lease $HALF ms)" \
	test $((last_ok - t0)) -le "$HALF"
t_ok "  ... and the refusals began then ($((first_no - t0)) ms)" \
	test $((first_no - t0)) -le $((HALF + 1000))
t_ok "  ... mgmtd takes its target $target out after the lease" \
	wait_for 20 cl_state_is "$target" offline
t_ok "  ... and writes go on" wait_for 20 acks_reach $(($(acks) + 300))

rm -f "$CUT"
t_ok "the cut heals: node 3 syncs and serves again" cl_wait_ok 40
t_like "$(t_err s3)" 'lease regained after [0-9]+ ms' \
	"  ... having logged that its lease lapsed"
t_ok "the workload goes on" wait_for 20 acks_reach $(($(acks) + 300))

cl_load_end

t_done
