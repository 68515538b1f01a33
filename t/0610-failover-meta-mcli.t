#!/bin/bash
# The meta client through failovers: `fffs admin ns load` keeps running
# while the meta chain's head, then its tail, is killed with SIGKILL and
# comes back; every operation is acknowledged exactly once (a retry with
# the same request id is answered, never executed twice: no EEXIST or
# ENOENT from a retried create, rename or unlink), the namespace holds
# exactly what the acknowledged operations left, and the replicas agree.
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

log=$T_DIR/load.log
lines() {
	if [ -f "$log" ]; then wc -l <"$log"; else echo 0; fi
}
lines_reach() { [ "$(lines)" -ge "$1" ]; }
jget() {
	python3 -c "import json, sys
j = json.loads(sys.argv[1])
print($2)" "$1"
}
digests_agree() {
	local j
	j=$(cl_admin meta digest --json 2>/dev/null) || return 1
	[ "$(jget "$j" "len(j) == 3 and len(set((x['seq'], x['digest']) for x in j)) == 1")" = True ]
}

# Reads of a directory a load keeps changing: a replica that has a newer
# change than the tail answers -FFFS_EDIRTY and the client asks the tail;
# every stat must succeed, and different clients read from different
# replicas.
t_start load1 "$FFFS" admin --mgmtd "$MGMTD" $CL ns load --clients 8 \
	--ops 100000 --seed 8 --log "$T_DIR/load1.log"
t_ok "a first load runs" wait_for 20 grep -q . "$T_DIR/load1.log"
reads=0 redirected=0
declare -A by=()
for i in $(seq 1 15); do
	j=$(cl_admin ns stat --json /load/shared 2>/dev/null) || continue
	reads=$((reads + 1))
	set -- $(jget "$j" "j['attempts'], j['served_by']")
	[ "$1" -gt 1 ] && redirected=$((redirected + 1))
	by[$2]=1
done
t_is "$reads" 15 "15 stats of a directory under load all succeed"
t_diag "$redirected of them took more than one send; answered by: ${!by[*]}"
kill -TERM "$(t_pid load1)"
t_wait_exit load1 30
t_diag "$(t_out load1)"
# with the load stopped every inode is clean on every replica: reads
# spread over them (under load, path lookups go to the tail: a RESOLVE
# is refused wherever anything is dirty)
cl_admin ns mkdir /quiet >/dev/null 2>&1
declare -A qby=()
for i in $(seq 1 15); do
	j=$(cl_admin ns stat --json /quiet 2>/dev/null) || continue
	qby[$(jget "$j" "j['served_by']")]=1
done
t_diag "stats of a quiet directory answered by: ${!qby[*]}"
t_ok "  ... reads of a clean inode are answered by more than one replica" \
	[ "${#qby[@]}" -ge 2 ]

# what it acknowledged counts for the final check (an operation in
# flight at the stop is logged with its error and ignored)
cat "$T_DIR/load1.log" >"$log"

# enough operations that the load still runs at the second kill; "go on"
# means 300 more acknowledged, or all of them
OPS=12000
go_on() { lines_reach $(($1 + 300 < LOAD0 + OPS ? $1 + 300 : LOAD0 + OPS)); }
LOAD0=$(wc -l <"$T_DIR/load1.log")
t_start load "$FFFS" admin --mgmtd "$MGMTD" $CL ns load --clients 8 \
	--ops $OPS --seed 9 --log "$log"
n0=$(lines)
t_ok "the load runs" wait_for 20 lines_reach $((n0 + 300))

head=$(cl_member 1 0)
node=$(cl_node_of "$head")
cl_kill9 "$node"
n0=$(lines)
t_diag "$n0 operations logged at the kill"
t_ok "operations go on after the head (node $node) is killed" \
	wait_for 30 go_on "$n0"
cl_meta "$node"
t_ok "the old head comes back and the chain is whole again" wait_for 60 cl_all_ok

tail=$(cl_member 1 2)
node=$(cl_node_of "$tail")
cl_kill9 "$node"
n0=$(lines)
t_ok "operations go on after the tail (node $node) is killed" \
	wait_for 30 go_on "$n0"
cl_meta "$node"
t_ok "the old tail comes back" wait_for 60 cl_all_ok

t_wait_exit load 240
t_is "$?" 0 "the load ends with every operation acknowledged"
t_diag "$(t_out load)"
t_is "$(($(lines) - $(wc -l <"$T_DIR/load1.log")))" $OPS "  ... one log line each"
t_is "$(tail -n $OPS "$log" | grep -vc ' 0 /load/')" 0 "  ... every one with status 0"

have=$(for d in shared w0 w1 w2 w3 w4 w5 w6 w7; do
	cl_admin ns ls "/load/$d" | sed "s|^|/load/$d/|"
done | sort)
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
t_is "$(wc -l <<<"$have")" "$(wc -l <<<"$want")" "as many files as the log leaves"
t_is "$have" "$want" "the namespace holds exactly what the acknowledged operations left"
fsck_all() { cl_admin fsck --all >/dev/null; }
t_ok "fsck --all: no problem on any replica" fsck_all
t_ok "the replicas agree" wait_for 20 digests_agree

t_done
