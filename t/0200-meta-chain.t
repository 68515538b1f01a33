#!/bin/bash
# A meta chain of 3 replicas (1 mgmtd, meta nodes 11..13): namespace
# operations through `fffs admin ns` are answered, every replica holds the
# same db at the same seq (ADM_META_DIGEST), and after kill -9 of the
# head, and then of the tail, with changes going on meanwhile, the
# restarted replica catches up (a copy of the db, then the write sets
# after it) and the digests are equal again; the same after a restart at
# once (mgmtd still shows the replica serving) and after the whole chain
# was killed; every change the loads had answered is there; gc drops
# removed inodes; fsck finds nothing; bad input is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

META="11 12 13"

ns() { cl_admin ns "$@"; }

digests() {
	cl_admin meta digest 2>&1 | tr -s ' ' | tr '\n' ';'
}

cl_meta_chain $META
CHAIN=$(cl_py "s['chains'][0]['id']")
t_diag "meta chain $CHAIN: $(cl_members "$CHAIN")"

t_ok "mkdir /a" ns mkdir /a
t_ok "create /a/f" ns create /a/f
t_ok "symlink /a/l -> f" ns symlink f /a/l
t_ok "setxattr user.k on /a/f" ns setxattr /a/f user.k v1
t_like "$(ns ls / 2>&1)" "(^|[ /])a$" "ls / lists a"
t_like "$(ns ls /a 2>&1 | tr '\n' ' ')" "(^|[ /])f .*l|(^|[ /])l .*f" \
	"ls /a lists f and l"
t_like "$(ns getxattr /a/f user.k 2>&1)" "v1" "getxattr user.k of /a/f"
t_ok "mv /a/f /a/g" ns mv /a/f /a/g
ns mkdir /a 2>/dev/null
t_is "$?" 1 "mkdir of an existing directory fails"
t_like "$(ns mkdir /a 2>&1)" "/a: File exists" "... saying why, naming it"

# gc: removed inodes leave the db (statfs counts them until then)
inodes() { ns statfs 2>/dev/null | sed -n 's/^inodes \([0-9]*\).*/\1/p'; }
inodes_are() { [ "$(inodes)" = "$1" ]; }
before=$(inodes)
for i in 1 2 3 4 5; do
	ns create "/a/gc$i" >/dev/null
done
ns mkdir /t >/dev/null && ns mkdir /t/u >/dev/null && ns create /t/u/x >/dev/null
t_is "$(inodes)" "$((before + 8))" "statfs counts 8 new inodes"
for i in 1 2 3 4 5; do
	ns rm "/a/gc$i" >/dev/null
done
t_ok "rmtree /t" ns rmtree /t
t_ok "gc drops the 8 removed inodes (a tree too)" wait_for 20 inodes_are "$before" ||
	t_diag "inodes $(inodes); $(grep -h 'gc' "$T_DIR"/m1*.err | tail -n 20)"
t_ok "every replica has the same db at the same seq" wait_for 10 cl_digests_equal 3
t_diag "$(digests)"

# kill_restart POS WHAT [now]: kill -9 the replica at POS of the chain
# while 4 clients change the namespace; restart it once mgmtd marked it
# offline, or at once (then it must not serve what it has: mgmtd still
# shows it serving).
kill_restart() {
	local pos=$1 what=$2 target node
	target=$(cl_member "$CHAIN" "$pos")
	node=$(cl_node_of "$target")
	t_start "load$pos" "$FFFS" admin --mgmtd "$MGMTD" $CL ns load \
		--clients 4 --ops 600 --seed "$pos" --log "$T_DIR/load$pos.log"
	wait_for 10 test -s "$T_DIR/load$pos.log"
	cl_kill9 "$node"
	if [ "${3:-}" = now ]; then
		cl_meta "$node"
		t_ok "the $what (target $target) killed and restarted at once: mgmtd takes it offline first" \
			wait_for 30 grep -q "version [0-9]*, offline" \
			"$T_DIR/${CL_NAME[$node]}.err"
		t_like "$(t_err "${CL_NAME[$node]}")" "restarted: waiting to sync" \
			"  ... as it says, not serving what it has"
	else
		t_ok "the $what (target $target) killed: marked offline" \
			wait_for 20 cl_state_is "$target" offline
	fi
	t_ok "  ... changes go on without it" ns mkdir "/after-$what"
	t_wait_exit "load$pos" 120
	t_is "$?" 0 "  ... the load through the kill has every change answered"
	t_diag "$(t_out "load$pos" | tail -n 2)"
	[ "${3:-}" = now ] || cl_meta "$node"
	t_ok "  ... restarted, it syncs and every replica serves again" \
		cl_wait_ok 60
	t_diag "  chain now: $(cl_members "$CHAIN")"
	t_ok "  ... and holds the same db as the others" wait_for 20 cl_digests_equal 3
	t_diag "  $(digests)"
	t_like "$(t_err "${CL_NAME[$node]}")" "installed a copy of the namespace" \
		"  ... from a copy of its predecessor's db"
	t_like "$(ns stat "/after-$what" 2>&1)" "directory" \
		"  ... /after-$what is there"
}

kill_restart 0 head
kill_restart 2 tail
kill_restart 1 middle now

# The whole chain killed and restarted at once (mgmtd still shows it
# serving): each replica goes offline first, the last one serving comes
# back as the chain's only member, the others sync from it.
for n in $META; do
	cl_kill9 "$n"
done
for n in $META; do
	cl_meta "$n"
done
t_ok "the whole chain killed and restarted: they say they wait to sync" \
	wait_for 20 grep -q "restarted: waiting to sync" \
	"$T_DIR/${CL_NAME[11]}.err"
t_ok "  ... mgmtd takes them offline" \
	wait_for 20 grep -Eq "version [0-9]+, (offline|lastsrv)" \
	"$T_DIR/${CL_NAME[11]}.err"
t_ok "  ... then all 3 serve the same db again" wait_for 60 cl_digests_equal 3
t_diag "  chain now: $(cl_members "$CHAIN")"
t_ok "  ... and take changes" ns mkdir /after-all

# Every change the load had answered is there, none it had not made.
cl_ls_load >"$T_DIR/load.ls"
t_run loadcheck 30 python3 "$T_ROOT/t/loadcheck.py" "$T_DIR/load.ls" \
	"$T_DIR"/load[0-9].log
t_is "$?" 0 "every answered change of the loads is in the namespace, nothing else"
t_diag "$(t_out loadcheck)"

t_ok "fsck of every replica finds no problem" cl_admin fsck --all

# Bad input to a replica gets a clear refusal and changes nothing.
node=$(cl_node_of "$(cl_member "$CHAIN" 1)")
port=$(sed -n 's/^meta serving target [0-9]* on port //p' \
	"$T_DIR/${CL_NAME[$node]}.out")
ver=$(cl_py "s['chains'][0]['version']")
seq_before=$(cl_admin meta digest --json | python3 -c 'import json, sys
print(json.load(sys.stdin)[0]["seq"])')
raw() {
	python3 "$T_ROOT/t/stor.py" --cluster t "$port" "$T_DIR/secret" raw "$@" 2>&1
}
hexle() {
	python3 -c 'import struct, sys
f, *v = sys.argv[1:]
print(struct.pack(f, *[int(x) for x in v]).hex())' "$@"
}
t_like "$(raw 50 0100)" "status -2001 " "a truncated CLI_META_OP: EBADFRAME"
t_like "$(raw 50 09)" "status -22 " "a CLI_META_OP of an unknown format: EINVAL"
t_like "$(raw 51 "$(hexle '<IIQQI' "$CHAIN" 999 "$((node << 16))" 1 1)00")" \
	"ECHAINVER" "a FORWARD at a wrong chain version: ECHAINVER"
t_like "$(raw 51 "$(hexle '<IIQQI' "$CHAIN" "$ver" 12345 1 1)00")" \
	"ENOTSERVING|-2011" "a FORWARD for a target that is not this one: refused"
t_like "$(raw 51 "$(hexle '<IIQQI' "$CHAIN" "$ver" "$((node << 16))" \
	$((seq_before + 1)) 3)010203")" "EBADFRAME" \
	"a FORWARD of a malformed write set: EBADFRAME"
t_like "$(raw 52 "$(hexle '<IIQ' "$CHAIN" "$ver" "$((node << 16))")")" \
	"body $(hexle '<Q' "$seq_before")" "META_META_SEQ gives the applied seq"
t_ok "... and every replica still has the same db" wait_for 10 cl_digests_equal 3

cl_stop_meta $META
kill -TERM "$(t_pid mgmtd)"
t_wait_exit mgmtd 20
t_is "$?" 0 "mgmtd exits 0 on SIGTERM"

t_done
