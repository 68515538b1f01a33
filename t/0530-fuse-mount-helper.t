#!/bin/bash
# mount(8) and /etc/fstab: with tools/mount.fuse.fffs as
# /sbin/mount.fuse.fffs, `mount -t fuse.fffs tcp://... DIR -o ...` and an
# fstab line (mount --fstab) mount a lab cluster; umount unmounts; bad
# options get a clear error. The helper is put in /sbin only for the test
# (and removed at the end) unless one is installed already.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab
HELPER=/sbin/mount.fuse.fffs
OURS=0
if [ ! -e "$HELPER" ]; then
	ln -s "$T_ROOT/tools/mount.fuse.fffs" "$HELPER" && OURS=1
fi
trap '[ $OURS = 1 ] && rm -f "$HELPER"; t_cleanup' EXIT

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 256M
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
URI=$(cat "$LAB/mgmtd.uri")
echo hello >"$LAB/mnt/f"
O="secret_file=$LAB/secret,cluster_id=lab,fffs=$FFFS"
export FFFS_MOUNT_LOG=$T_DIR/helper.log

mkdir "$T_DIR/m1" "$T_DIR/m2"
t_run mount 60 mount -t fuse.fffs "$URI" "$T_DIR/m1" -o "$O,attr_timeout=2"
t_is "$?" 0 "mount -t fuse.fffs URI DIR -o ... exits 0" ||
	t_diag "$(t_err mount)"
t_ok "... DIR is a fuse.fffs mount" grep -q " $T_DIR/m1 fuse.fffs " /proc/mounts
t_is "$(cat "$T_DIR/m1/f" 2>&1)" hello "... of the cluster: its files are there"
t_run umount 30 umount "$T_DIR/m1"
t_is "$?" 0 "umount DIR"
t_ok "... and the mount is gone" eval "! grep -q ' $T_DIR/m1 ' /proc/mounts"

printf '%s %s fuse.fffs %s,_netdev,noauto 0 0\n' "$URI" "$T_DIR/m2" "$O" >"$T_DIR/fstab"
t_run fstab 60 mount --fstab "$T_DIR/fstab" "$T_DIR/m2"
t_is "$?" 0 "an fstab line mounts it (mount --fstab FILE DIR)" ||
	t_diag "$(t_err fstab)"
t_is "$(cat "$T_DIR/m2/f" 2>&1)" hello "... with the cluster's files"
t_run umount2 30 umount "$T_DIR/m2"
t_is "$?" 0 "umount"

t_run bad 30 mount -t fuse.fffs nothing "$T_DIR/m1" -o "$O"
t_is "$?" 1 "no mgmtd address: mount fails"
t_like "$(t_err bad)" "no mgmtd address" "... saying why"
t_run badsecret 60 mount -t fuse.fffs "$URI" "$T_DIR/m1" -o "secret_file=$T_DIR/nothing,cluster_id=lab,fffs=$FFFS"
rc=$?
t_ok "a missing secret file: mount fails" test "$rc" -ne 0
t_like "$(t_err badsecret)" "secret" "... naming the secret file"

t_wait_gone() { ! pgrep -f "fffs mount $T_DIR/m" >/dev/null; }
t_ok "no fffs mount process is left" wait_for 20 t_wait_gone
t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
