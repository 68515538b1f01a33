#!/bin/bash
# The meta chain's head closes the write sessions of a client that mgmtd
# shows down: a file held open for writing through fffs mount has a
# session; after kill -9 of the mount (its lease runs out) the session is
# gone. A mount holds the closes of sessions that wrote nothing
# (fuse/fclose.h) and sends them at unmount.
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
t_ok "the session of touch's open, which wrote nothing, closes a moment later" \
	wait_for 10 sessions_are /f 0
# hold it open for writing in a process of our own
t_start hold bash -c "exec 3>>'$T_DIR/mnt/f'; exec sleep 600"
t_ok "the open for writing has a session" wait_for 20 sessions_are /f 1

kill -KILL "$(t_pid mnt)"
t_ok "the mount killed: mgmtd shows its node down, the head prunes its session" \
	wait_for 40 sessions_are /f 0
t_like "$(t_err m11)" "pruned 1 sessions of client" "... and says so"
kill -KILL "$(t_pid hold)" 2>/dev/null
umount -l "$T_DIR/mnt" 2>/dev/null || fusermount3 -uz "$T_DIR/mnt" 2>/dev/null

# closes of sessions that wrote nothing held back (fuse_close_delay_ms)
t_start mnt2 "$FFFS" mount $CL --mgmtd "$MGMTD" "$T_DIR/mnt" \
	--set fuse_close_delay_ms=60000
t_ok "a second mount, holding closes 60 s" \
	wait_for 20 grep -q " $T_DIR/mnt " /proc/mounts
t_ok "it creates 20 files" bash -c "cd '$T_DIR/mnt' && touch g{1..20}"
t_is "$(sessions /g1) $(sessions /g20)" "1 1" \
	"close() returned, the sessions are still open at meta"
kill -TERM "$(t_pid mnt2)"
t_wait_exit mnt2 20
t_is "$?" 0 "the mount exits 0 on SIGTERM"
t_like "$(t_err mnt2)" "closing the 20 write sessions still waiting" \
	"... and sends the 20 held closes first"
n=0
for i in $(seq 1 20); do [ "$(sessions /g$i)" = 0 ] && n=$((n + 1)); done
t_is "$n" 20 "all 20 sessions are closed at meta"
t_ok "fsck finds the namespace clean" cl_admin fsck

kill -TERM "$(t_pid m11)"
t_wait_exit m11 20
t_is "$?" 0 "the meta server exits 0 on SIGTERM"
kill -TERM "$(t_pid mgmtd)"
t_wait_exit mgmtd 20
t_is "$?" 0 "mgmtd exits 0 on SIGTERM"
t_done
