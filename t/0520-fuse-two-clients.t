#!/bin/bash
# Two FUSE mounts of one lab cluster as two clients. Close-to-open: for
# 1,000 rounds a file written and closed through one mount (a new length
# each time, the two mounts taking turns) is read back exactly through
# the other. With direct_io: 6 processes on two direct_io mounts write and
# read random 4 KiB blocks of one file for 10 s; the recorded history is
# linearizable per block and no block is ever torn (t/linhist.py).
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 256M
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
URI=$(cat "$LAB/mgmtd.uri")
LABC=(--mgmtd "$URI" --cluster-id lab --secret-file "$LAB/secret")

# mnt NAME [-o OPTS]: another mount of the lab cluster at $T_DIR/NAME
mnt() {
	local name=$1
	shift
	mkdir -p "$T_DIR/$name"
	t_start "$name" "$FFFS" mount "$T_DIR/$name" "${LABC[@]}" "$@"
	wait_for 20 grep -q "^mounted on" "$T_DIR/$name.out"
}
t_ok "a second client mounts the same cluster" mnt second
t_ok "two direct_io clients mount it" eval 'mnt d1 -o direct_io && mnt d2 -o direct_io'

t_run selftest 30 python3 "$T_ROOT/t/linhist.py" selftest
t_is "$?" 0 "the linearizability checker catches stale, inverted, invented and torn reads"

t_run c2o 600 python3 "$T_ROOT/t/linhist.py" c2o --write "$LAB/mnt/c2o" \
	--read "$T_DIR/second/c2o" --rounds 1000
t_is "$?" 0 "close-to-open holds over 1000 rounds between the two clients"
t_diag "$(t_out c2o)"

t_run lin 120 python3 "$T_ROOT/t/linhist.py" run \
	--file "$T_DIR/d1/blocks,$T_DIR/d2/blocks" --procs 6 --blocks 16 \
	--seconds 10 --out "$T_DIR/history"
t_is "$?" 0 "6 processes on two direct_io mounts write and read 4 KiB blocks"
t_run check 60 python3 "$T_ROOT/t/linhist.py" check "$T_DIR/history"
t_is "$?" 0 "the history is linearizable per block, no block torn"
t_diag "$(t_out check)"
t_ok "... and it holds both writes and reads" eval \
	'[ "$(grep -c "^W " "$T_DIR/history")" -gt 100 ] && [ "$(grep -c "^R " "$T_DIR/history")" -gt 100 ]'

for m in second d1 d2; do
	kill -TERM "$(t_pid $m)"
	t_wait_exit $m 20
	t_is "$?" 0 "mount $m unmounts on SIGTERM and exits 0"
done
t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_unlike "$(cat /proc/mounts)" "$T_DIR" "nothing of the test is mounted"
t_done
