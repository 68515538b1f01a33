#!/bin/bash
# Chain versions: a write that carries a stale chain version is refused
# (-FFFS_ECHAINVER) by the head and not applied; one with the current
# version is; a chain client whose routing is stale is refused the same
# way, refreshes and succeeds; members that are not the head refuse
# writes (-FFFS_ENOTHEAD); chain-less writes to a chain's target are
# refused (-EPERM); a target the routing info shows offline serves
# nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

STOR=$T_ROOT/t/stor.py
INO=13

cl_start 3 1 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 1 3 || t_bail "a table of 1 chain of 3 targets serves"

head=$(cl_member 1 0)
mid=$(cl_member 1 1)
ver=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
port_of() {
	local a
	a=$(cl_py "[n['address'] for n in s['nodes'] if n['id'] == $(cl_node_of "$1")][0]")
	echo "${a##*:}"
}
hport=$(port_of "$head")
mport=$(port_of "$mid")
stor() {
	local port=$1
	shift
	python3 "$STOR" --cluster t "$port" "$T_DIR/secret" "$@" 2>&1
}

out=$(stor "$hport" write "$head" $INO 0 0 0a0b0c0d --chain 1 \
	--chain-ver $((ver - 1)))
t_like "$out" '^status -2010 \(ECHAINVER\)$' \
	"a write with chain version $((ver - 1)) (the chain is at $ver) is refused"
out=$(stor "$hport" read "$head" $INO 0 0 4096 --chain 1 --chain-ver "$ver")
t_like "$out" '^item 0 status -2 \(ENOENT\)' "  ... and not applied"
out=$(stor "$hport" write "$head" $INO 0 0 0a0b0c0d --chain 1 \
	--chain-ver $((ver + 5)))
t_like "$out" '^status -2010 \(ECHAINVER\)$' \
	"a write with a chain version from the future is refused too"

out=$(stor "$mport" write "$mid" $INO 0 0 0a0b0c0d --chain 1 --chain-ver "$ver")
t_like "$out" '^status -2014 \(ENOTHEAD\)$' \
	"a write to the chain's middle member is refused (not the head)"
out=$(stor "$hport" write "$head" $INO 0 0 0a0b0c0d)
t_like "$out" '^status -1 \(EPERM\)$' \
	"a chain-less write to the head's target is refused (-EPERM)"

out=$(stor "$hport" write "$head" $INO 0 0 0a0b0c0d --chain 1 --chain-ver "$ver")
t_like "$out" '^status 0 \(ok\)$' "the same write with chain version $ver is applied"
t_like "$out" '^version 1$' "  ... as version 1 of the chunk"
for t in $(cl_py "' '.join(str(t['id']) for c in s['chains'] for t in c['targets'])"); do
	out=$(stor "$(port_of "$t")" read "$t" $INO 0 0 4096 --chain 1 \
		--chain-ver "$ver")
	t_like "$out" '^data 0 0a0b0c0d$' "  ... and reads back from member $t"
done

# a retry (same client and request id) is answered, not applied again
w() {
	stor "$hport" write "$head" $INO 2 0 "$1" --chain 1 --chain-ver "$ver" \
		--client 77 --req-id "$2"
}
t_like "$(w 01 1)" '^version 1$' "a write to chunk 2 (request 1) makes version 1"
t_like "$(w 01 1)" '^version 1$' "  ... its retry gets the same answer"
t_like "$(w 02 2)" '^version 2$' "  ... the next request makes version 2"
t_like "$(w 02 2)" '^version 2$' "  ... and its retry gets version 2 again"
out=$(stor "$hport" read "$head" $INO 2 0 4096 --chain 1 --chain-ver "$ver")
t_like "$out" '^data 0 02$' "  ... the chunk holds the second write"
t_like "$out" 'version 2 ' "  ... at version 2: no retry was applied twice"

# the chain client: its first send carries the previous chain version
t_run stale 30 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --write-chunk 1 --seed 5 $CL --set debug_faults=true \
	--set faults=craq_cli_stale
t_is "$?" 0 "a chain client with stale routing writes chunk 1"
t_like "$(t_out stale)" '^ok version 1 attempts 2$' \
	"  ... refused once, refreshed, then applied"
t_run readback 30 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--inode $INO --read-chunk 1 $CL
t_like "$(t_out readback)" '^ok 65536 1 5 target [0-9]+$' \
	"  ... it reads back as written (sequence 5)"

t_run verify 60 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas $CL
t_is "$?" 0 "every serving replica of the chain is byte for byte alike"

# a target the routing info shows offline serves nothing, on its old
# chain version or the new one
tail=$(cl_member 1 2)
tport=$(port_of "$tail")
cl_admin target offline "$tail" >/dev/null
t_ok "an operator takes the tail $tail offline" \
	wait_for 10 cl_state_is "$tail" offline
nver=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
server_has() {
	stor "$tport" read "$tail" $INO 0 0 4096 --chain 1 --chain-ver "$nver" |
		grep -q '^item 0 status -2011 (ENOTSERVING)'
}
t_ok "  ... its server refuses reads at chain version $nver (not serving)" \
	wait_for 10 server_has
out=$(stor "$tport" read "$tail" $INO 0 0 4096 --chain 1 --chain-ver "$ver")
t_like "$out" '^item 0 status -2010 \(ECHAINVER\)' \
	"  ... and at the old version $ver (a stale chain version)"

t_done
