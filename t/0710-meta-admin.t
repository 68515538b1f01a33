#!/bin/bash
# The metadata commands of `fffs admin` over a 3-replica meta chain: the ns
# shell (every operation, errors naming the path, paged listings), layout
# get/set, fsck (tail, --all, --server), meta digest (the replicas agree),
# ns load (every acknowledged operation is in the namespace afterwards),
# and a small `fffs bench meta` run against the same cluster.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

cl_mgmtd mgmtd || t_bail "mgmtd starts"
for n in 11 12 13; do
	cl_meta $n
done
wait_for 20 cl_nodes_up 3 || t_bail "3 meta nodes register"
cl_admin table create --chains 1 --replicas 3 --role meta >/dev/null ||
	t_bail "the meta chain is created"
wait_for 30 cl_all_ok || t_bail "the meta chain serves"

# ns ARGS...: stdout; stderr in $T_DIR/ns.err; status in $?.
ns() {
	cl_admin ns "$@" 2>"$T_DIR/ns.err"
}
nserr() { cat "$T_DIR/ns.err"; }
fsck_quiet() { cl_admin fsck >/dev/null; }
# jget JSON EXPR: a field of a JSON answer, as Python prints it.
jget() {
	python3 -c "import json, sys
j = json.loads(sys.argv[1])
print($2)" "$1"
}

# ---- the ns shell --------------------------------------------------------

t_ok "mkdir /a" ns mkdir /a
out=$(ns stat --json /a)
t_is "$(jget "$out" "j['type'], oct(j['mode']), j['nlink']")" \
	"directory 0o755 2" "stat --json /a: a 0755 directory, nlink 2"
ns mkdir /a
t_is "$?" 1 "mkdir /a again fails"
t_is "$(nserr)" "fffs admin ns mkdir /a: File exists" "  ... naming the path"
ns mkdir /x/y
t_is "$(nserr)" "fffs admin ns mkdir /x/y: No such file or directory" \
	"mkdir in a missing directory names the path"
ns mkdir rel
t_is "$(nserr)" "fffs admin ns mkdir rel: not an absolute path" \
	"a relative path is refused"
t_ok "create /a/f" ns create /a/f
t_ok "create --mode 600 /a/m" ns create --mode 600 /a/m
t_is "$(jget "$(ns stat --json /a/m)" "oct(j['mode']), j['type']")" \
	"0o600 file" "  ... a 0600 file"
t_is "$(ns ls /a | sort | tr '\n' ' ')" "f m " "ls /a lists f and m"
t_ok "mv /a/f /a/g" ns mv /a/f /a/g
ns stat /a/f
t_is "$(nserr)" "fffs admin ns stat /a/f: No such file or directory" \
	"  ... /a/f is gone"
t_ok "ln /a/g /a/h" ns ln /a/g /a/h
t_is "$(jget "$(ns stat --json /a/h)" "j['nlink']")" 2 "  ... nlink 2"
t_ok "symlink /a/g /a/s" ns symlink /a/g /a/s
t_is "$(ns readlink /a/s)" /a/g "readlink /a/s"
t_is "$(jget "$(ns stat --json /a/s)" "j['type']")" symlink \
	"stat does not follow the symlink"
t_ok "setxattr" ns setxattr /a/g user.color blue
t_is "$(ns getxattr /a/g user.color)" blue "getxattr gives it back"
ns getxattr /a/g user.none
t_is "$(nserr)" "fffs admin ns getxattr /a/g: No data available" \
	"a missing xattr names the path"
t_ok "rm /a/h" ns rm /a/h
t_is "$(jget "$(ns stat --json /a/g)" "j['nlink']")" 1 "  ... nlink 1 again"
ns rmdir /a
t_is "$(nserr)" "fffs admin ns rmdir /a: Directory not empty" \
	"rmdir of a full directory is refused"

t_ok "mkdir /p" ns mkdir /p
for i in $(seq 1 25); do
	ns create "/p/f$i" || break
done
want=$(seq 1 25 | sed 's/^/f/' | sort | tr '\n' ' ')
t_is "$(ns ls --page 4 /p | sort | tr '\n' ' ')" "$want" \
	"ls in pages of 4 gives each of 25 entries once"
t_is "$(ns ls --page 4 --json /p | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
	25 "  ... and so does ls --json"
t_ok "rmtree /p" ns rmtree /p
ns stat /p
t_is "$?" 1 "  ... /p is gone"
t_like "$(ns statfs)" '^inodes [0-9]+ capacity [0-9]+ used [0-9]+$' "statfs"
ns frob /a
t_is "$?" 2 "an unknown ns operation is a usage error"
t_like "$(nserr)" "unknown operation 'frob'" "  ... naming it"

# ---- layouts -------------------------------------------------------------

t_is "$(cl_admin layout get /)" "/: table 0 chunk_size 0 stripe 0" \
	"the root has no layout at first"
out=$(cl_admin layout set / --table 1 --chunk-size 64K --stripe 1)
t_is "$out" "/: table 1 chunk_size 65536 stripe 1" "layout set / takes effect"
ns mkdir /q
t_is "$(jget "$(cl_admin layout get --json /q)" "j['table'], j['chunk_size'], j['stripe']")" \
	"1 65536 1" "a new directory inherits it"
cl_admin layout set /q --chunk-size 1000 2>"$T_DIR/ns.err"
t_is "$?" 1 "a chunk size that is no power of two is refused"
t_is "$(nserr)" "fffs admin layout set /q: Invalid argument" "  ... naming the path"
cl_admin layout set /q --table 99 2>"$T_DIR/ns.err"
t_is "$(nserr)" "fffs admin layout set /q: no chain table 99" \
	"a chain table that does not exist is refused"

# ---- fsck and digest -----------------------------------------------------

out=$(cl_admin fsck)
t_is "$?" 0 "fsck finds no problem"
t_like "$out" '^target [0-9]+ tcp://.*: seq [0-9]+, 0 problems$' "  ... at the tail"
out=$(cl_admin fsck --all)
t_is "$(grep -c ', 0 problems$' <<<"$out")" 3 "fsck --all asks all 3 replicas"
uri=$(sed -n 's/^target [0-9]* \(tcp:[^:]*:[0-9]*\):.*/\1/p' <<<"$out" | head -n 1)
t_like "$(cl_admin fsck --server "$uri")" "^target 0 $uri: seq" "fsck --server $uri"
digests_agree() {
	local j
	j=$(cl_admin meta digest --json) || return 1
	[ "$(jget "$j" "len(j) == 3 and len(set((x['seq'], x['digest']) for x in j)) == 1")" = True ]
}
t_ok "meta digest: 3 replicas at the same seq with the same digest" \
	wait_for 10 digests_agree
t_like "$(cl_admin meta digest)" '^[0-9]+ +1[123] +serving +[0-9]+ +[0-9a-f]{64}$' \
	"meta digest prints a table"

# ---- ns load -------------------------------------------------------------

log=$T_DIR/load.log
out=$(ns load --clients 4 --ops 400 --seed 5 --log "$log")
t_is "$?" 0 "ns load: 400 operations by 4 clients"
t_like "$out" '^load: 400 operations by 4 clients, 400 ok, 0 failed' "  ... all ok"
t_is "$(wc -l <"$log")" 400 "  ... one log line each"
t_is "$(grep -vcE '^(create 0 /load/[a-z0-9]+/[a-z0-9-]+|rename 0 /load/[^ ]+ /load/[^ ]+|unlink 0 /load/[^ ]+)$' "$log")" \
	0 "  ... each an acknowledged create, rename or unlink"
have=$(for d in shared w0 w1 w2 w3; do ns ls "/load/$d" | sed "s|^|/load/$d/|"; done | sort)
want=$(python3 - "$log" <<'EOF'
import sys
files = set()
for line in open(sys.argv[1]):
    w = line.split()
    if w[1] != '0':
        continue
    if w[0] == 'create':
        files.add(w[2])
    elif w[0] == 'rename':
        files.discard(w[2])
        files.add(w[3])
    else:
        files.discard(w[2])
print('\n'.join(sorted(files)))
EOF
)
t_is "$have" "$want" "the namespace holds exactly what the acknowledged operations left"
t_ok "fsck after the load" fsck_quiet
t_ok "the replicas agree after the load" wait_for 10 digests_agree

# ---- bench meta ----------------------------------------------------------

out=$("$FFFS" bench meta --mgmtd "$MGMTD" $CL --clients 4 --ops 200 2>"$T_DIR/bench.err")
t_is "$?" 0 "bench meta --ops 200 against the cluster"
for op in create stat readdir unlink; do
	t_like "$out" "^$op +[0-9]+ (op|ent)/s +[0-9.]+ +[0-9.]+ +[0-9]+ (op|ent)/s +[0-9.]+ " \
		"  ... reports $op beside its LMDB ceiling"
done
t_like "$out" '^create .* [0-9]+ op/s +[0-9.]+$' "  ... and the echo RPC ceiling"
t_ok "fsck after the bench" fsck_quiet

# ---- no meta chain -------------------------------------------------------

"$FFFS" admin --mgmtd tcp://127.0.0.1:1 $CL --set mcli_timeout_ms=500 \
	ns mkdir /z 2>"$T_DIR/ns.err" >/dev/null
t_is "$?" 1 "without a reachable cluster, ns mkdir fails after mcli_timeout_ms"
t_like "$(nserr)" '^fffs admin ns mkdir /z: .*no meta chain answered' \
	"  ... saying so and naming the path"
"$FFFS" admin $CL ns mkdir /z 2>"$T_DIR/ns.err"
t_is "$?" 2 "ns without --mgmtd is a usage error"
t_like "$(nserr)" 'mgmtd URI is required' "  ... saying what is missing"

t_done
