#!/bin/bash
# fffs lab up starts a whole cluster on this host (mgmtd, a meta chain of
# 3, 3 storage servers of 2 file targets in chains of 3, a FUSE mount);
# cp, ls and cat work on the mount; lab status shows it; lab down leaves
# no process and no mount behind; lab up on the same directory brings the
# same files back; lab down --purge removes the directory.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab
MNT=$LAB/mnt
SRC=$T_ROOT/meta

lab() { "$FFFS" lab "$@" --dir "$LAB"; }

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 256M
t_is "$?" 0 "lab up exits 0" || t_diag "$(t_err up | tail -n 5)"
t_like "$(t_out up)" "mounted on +$MNT" "... and says where it is mounted"
t_like "$(t_out up)" "^mgmtd +tcp://127\.0\.0\.1:[0-9]+" "... and where mgmtd is"
t_ok "the mount point is a fuse.fffs mount" \
	grep -q " $MNT fuse.fffs " /proc/mounts

t_ok "cp -r of a source tree onto the mount" cp -r "$SRC" "$MNT/src"
t_ok "... and it compares equal (diff -r)" diff -r "$SRC" "$MNT/src"
t_is "$(ls "$MNT/src" | sort | tr '\n' ' ')" \
	"$(ls "$SRC" | sort | tr '\n' ' ')" "ls lists the same names"
t_is "$(cat "$MNT/src/ns.h" | sha256sum)" "$(sha256sum <"$SRC/ns.h")" \
	"cat gives the same bytes"
echo "hello, lab" >"$MNT/hello"
t_is "$(cat "$MNT/hello")" "hello, lab" "a small file written and read back"
t_is "$(stat -c %s "$MNT/hello")" 11 "... its size"

t_run status 30 "$FFFS" lab status --dir "$LAB"
t_is "$?" 0 "lab status exits 0"
t_like "$(t_out status)" "mount +$MNT mounted" "... shows the mount"
t_is "$(grep -cE '^[0-9]+ +[0-9]+ +[0-9]+ +ok ' "$T_DIR/status.out")" 3 \
	"... and 3 chains ok (the meta chain and 2 data chains)"

t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down exits 0"
t_ok "no fffs process of the lab is left" wait_for 5 t_no_leftovers
t_unlike "$(cat /proc/mounts)" " $MNT " "nothing is mounted on $MNT"

t_run up2 120 "$FFFS" lab up --dir "$LAB"
t_is "$?" 0 "lab up again on the same directory" ||
	t_diag "$(t_err up2 | tail -n 5)"
t_ok "... the same files are there" diff -r "$SRC" "$MNT/src"
t_is "$(cat "$MNT/hello")" "hello, lab" "... and the small one"

t_run purge 60 "$FFFS" lab down --dir "$LAB" --purge
t_is "$?" 0 "lab down --purge exits 0"
t_ok "... no process left" wait_for 5 t_no_leftovers
t_ok "... and the directory is gone" test ! -e "$LAB"

t_done
