#!/bin/bash
# Truncates and removes through a chain reach every replica: a chunk
# written, extended, shrunk and removed at the head reads the same from
# each member (through the chain and straight from each target), a remove
# of a missing chunk says so, and a replica that comes back after missing
# some of them is made equal by recovery (the removed chunks gone too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

STOR=$T_ROOT/t/stor.py
INO=17

cl_start 3 1 || t_bail "a cluster of mgmtd and 3 storage nodes starts"
cl_table 1 3 || t_bail "a table of 1 chain of 3 targets serves"

ver() { cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]"; }
port_of() {
	local a
	a=$(cl_py "[n['address'] for n in s['nodes'] if n['id'] == $(cl_node_of "$1")][0]")
	echo "${a##*:}"
}
stor() {
	local t=$1
	shift
	python3 "$STOR" --cluster t "$(port_of "$t")" "$T_DIR/secret" "$@" 2>&1
}
members() { cl_py "' '.join(str(t['id']) for c in s['chains'] for t in c['targets'])"; }
chain_head() { cl_member 1 0; }
# on_all WHAT INDEX REGEX: chunk INDEX read straight from each target
on_all() {
	local t out bad=
	for t in $(members); do
		out=$(stor "$t" read "$t" $INO "$2" 0 65536)
		grep -Eq -- "$3" <<<"$out" || bad="$bad $t: $(grep item <<<"$out")"
	done
	t_is "$bad" "" "$1, on every replica"
}

h=$(chain_head)
v=$(ver)
t_like "$(stor "$h" write "$h" $INO 0 0 aabbccdd --chain 1 --chain-ver "$v")" \
	'^version 1$' "chunk 0 written through the chain (version 1)"
t_like "$(stor "$h" truncate "$h" $INO 0 8192 --chain 1 --chain-ver "$v")" \
	'^chunk_length 8192$' "  ... extended to 8192 bytes by a truncate"
on_all "  ... 8192 bytes, the data, then zeroes" 0 \
	'^item 0 status 0 \(ok\) length 8192 .* version 2 '
t_like "$(stor "$h" truncate "$h" $INO 0 2 --chain 1 --chain-ver "$v")" \
	'^chunk_length 2$' "  ... shrunk to 2 bytes"
on_all "  ... 2 bytes at version 3" 0 \
	'^data 0 aabb$'
t_like "$(stor "$h" truncate "$h" $INO 0 2 --chain 1 --chain-ver "$v")" \
	'^version 4$' "  ... a truncate to the same length still makes a version"

t_like "$(stor "$h" write "$h" $INO 1 0 01 --chain 1 --chain-ver "$v")" \
	'^version 1$' "chunk 1 written"
out=$(stor "$h" remove "$h" $INO 1 "$h" $INO 9 --chain 1 --chain-ver "$v")
t_like "$out" '^item 0 status 0 \(ok\)$' "chunk 1 removed through the chain"
t_like "$out" '^item 1 status -2 \(ENOENT\)$' "  ... chunk 9, never written, is not there"
on_all "  ... chunk 1 is gone" 1 '^item 0 status -2 \(ENOENT\)'

# the tail misses a write, a truncate and a remove while it is down
tail=$(cl_member 1 2)
tnode=$(cl_node_of "$tail")
t_like "$(stor "$h" write "$h" $INO 2 0 02 --chain 1 --chain-ver "$v")" \
	'^version 1$' "chunk 2 written while all serve"
cl_kill9 "$tnode"
t_ok "the tail ($tail) killed: offline" wait_for 20 cl_state_is "$tail" offline
v=$(ver)
h=$(chain_head)
t_like "$(stor "$h" write "$h" $INO 3 0 0303 --chain 1 --chain-ver "$v")" \
	'^status 0 \(ok\)$' "without it: chunk 3 written"
t_like "$(stor "$h" truncate "$h" $INO 0 1 --chain 1 --chain-ver "$v")" \
	'^status 0 \(ok\)$' "  ... chunk 0 shrunk to 1 byte"
t_like "$(stor "$h" remove "$h" $INO 2 --chain 1 --chain-ver "$v")" \
	'^item 0 status 0 \(ok\)$' "  ... chunk 2 removed"
cl_storage "$tnode"
t_ok "it comes back, syncs and serves" cl_wait_ok 40
on_all "chunk 0 is 1 byte" 0 '^data 0 aa$'
on_all "chunk 2 is gone" 2 '^item 0 status -2 \(ENOENT\)'
on_all "chunk 3 is there" 3 '^data 0 0303$'

t_run verify 60 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas $CL
t_is "$?" 0 "every serving replica of the chain is byte for byte alike"

t_done
