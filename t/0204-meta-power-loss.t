#!/bin/bash
# A "power loss" of the whole meta chain (1 mgmtd, meta nodes 11..13):
# while 4 clients change the namespace, every replica is killed with -9,
# its data.mdb is overwritten with garbage (what unsynced LMDB pages may
# look like after a power cut) and it restarts as if in another boot
# (FFFS_TEST_BOOT_ID). Each rebuilds its db from its snapshot and its
# journal; the chain serves again, every change the clients had answered
# is there, all replicas hold the same db, and fsck finds nothing. The
# replicas take snapshots during the load (a small FFFS_TEST_SNAPSHOT_BYTES)
# so that the rebuild starts from a recent one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

META="11 12 13"
export FFFS_TEST_BOOT_ID=boot-one
export FFFS_TEST_SNAPSHOT_BYTES=65536

ns() { cl_admin ns "$@"; }

cl_meta_chain $META
t_ok "mkdir /before" ns mkdir /before

t_start load "$FFFS" admin --mgmtd "$MGMTD" $CL ns load --clients 4 \
	--ops 3000 --seed 7 --log "$T_DIR/load.log"
answered() { [ "$(wc -l <"$T_DIR/load.log" 2>/dev/null || echo 0)" -ge "$1" ]; }
t_ok "the load runs (1000 changes answered)" wait_for 60 answered 1000
for n in $META; do
	cl_kill9 "$n"
done
t_diag "$(wc -l <"$T_DIR/load.log") changes answered when the power went"
snaps=0
for n in $META; do
	[ -s "$T_DIR/n$n/meta/db/snapshot.mdb" ] && snaps=$((snaps + 1))
	# the first 16 MiB hold every page of this small db (the file is
	# as large as LMDB's map)
	python3 -c 'import os, sys
n = min(os.path.getsize(sys.argv[1]), 16 << 20)
open(sys.argv[1], "r+b").write(b"\xa5" * n)' "$T_DIR/n$n/meta/db/data.mdb"
done
t_is "$snaps" 3 "every replica had a snapshot"
grep -h "a snapshot at write set" "$T_DIR"/m1[123].err | tail -n 3 |
	while read -r l; do t_diag "$l"; done

export FFFS_TEST_BOOT_ID=boot-two
for n in $META; do
	cl_meta "$n"
done
for n in $META; do
	t_ok "meta node $n rebuilds its db from its snapshot and journal" \
		wait_for 30 grep -q "rebuilding it from its snapshot and journal" \
		"$T_DIR/${CL_NAME[$n]}.err"
done
# (one killed right after a snapshot has nothing to replay)
t_diag "$(grep -h "replayed write sets" "$T_DIR"/m1[123].2.err)"
t_ok "  ... then all 3 serve the same db again" wait_for 90 cl_digests_equal 3
t_wait_exit load 180
t_is "$?" 0 "the load finishes with every change answered"
t_diag "$(t_out load | tail -n 2)"
t_like "$(ns stat /before 2>&1)" "directory" "/before is there"

cl_ls_load >"$T_DIR/load.ls"
t_run loadcheck 30 python3 "$T_ROOT/t/loadcheck.py" "$T_DIR/load.ls" \
	"$T_DIR/load.log"
t_is "$?" 0 "every answered change is in the namespace, nothing else"
t_diag "$(t_out loadcheck)"
t_ok "fsck of every replica finds no problem" cl_admin fsck --all

cl_stop_meta $META
kill -TERM "$(t_pid mgmtd)"
t_wait_exit mgmtd 20

t_done
