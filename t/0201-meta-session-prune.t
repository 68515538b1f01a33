#!/bin/bash
# The meta chain's head closes the write sessions of a client that mgmtd
# shows down: a file held open for writing through fffs mount has a
# session; after kill -9 of the mount (its lease runs out) the session is
# gone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

[ -c /dev/fuse ] || t_skip_all "no /dev/fuse"
command -v fusermount3 >/dev/null || t_skip_all "no fusermount3"

ns() { cl_admin ns "$@"; }
sessions() {
	ns stat "$1" --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["sessions"])'
}
sessions_are() { [ "$(sessions "$1")" = "$2" ]; }

cl_mgmtd mgmtd || t_bail "mgmtd starts"
cl_meta 11
t_ok "the meta server registers" wait_for 20 cl_nodes_up 1
t_ok "a meta chain of one" cl_admin table create --chains 1 --replicas 1 \
	--role meta
t_ok "it serves" cl_wait_ok 30

mkdir -p "$T_DIR/mnt"
t_start mnt "$FFFS" mount $CL --mgmtd "$MGMTD" "$T_DIR/mnt"
t_ok "fffs mount mounts" wait_for 20 grep -q " $T_DIR/mnt " /proc/mounts
t_ok "a file is created through the mount" wait_for 10 touch "$T_DIR/mnt/f"
# hold it open for writing in a process of our own
t_start hold bash -c "exec 3>>'$T_DIR/mnt/f'; exec sleep 600"
t_ok "the open for writing has a session" wait_for 20 sessions_are /f 1

kill -KILL "$(t_pid mnt)"
t_ok "the mount killed: mgmtd shows its node down, the head prunes its session" \
	wait_for 40 sessions_are /f 0
t_like "$(t_err m11)" "pruned 1 sessions of client" "... and says so"
kill -KILL "$(t_pid hold)" 2>/dev/null
umount -l "$T_DIR/mnt" 2>/dev/null || fusermount3 -uz "$T_DIR/mnt" 2>/dev/null

kill -TERM "$(t_pid m11)"
t_wait_exit m11 20
t_is "$?" 0 "the meta server exits 0 on SIGTERM"
kill -TERM "$(t_pid mgmtd)"
t_wait_exit mgmtd 20
t_is "$?" 0 "mgmtd exits 0 on SIGTERM"
t_done
