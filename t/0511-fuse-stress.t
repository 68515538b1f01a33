#!/bin/bash
# A FUSE mount of a lab cluster under load: a short stress-ng run of its
# filesystem class with verification finds no failure; fio's io_uring
# random 4 KiB writes with crc32c verification read back right, and again
# after an unmount and a fresh mount.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab
MNT=$LAB/mnt

command -v stress-ng >/dev/null || t_bail "stress-ng is missing (tools/deps.sh installs it)"
t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 512M
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
mkdir -m 777 "$MNT/stress"

# ---- stress-ng -------------------------------------------------------------
# binderfs mounts a file system of its own (not supported on this kernel).
# fsize grows files to petabytes with ftruncate and fallocate: meta's
# truncate and gc visit only the chunks the chains list (t/0202).
t_run stress 300 stress-ng --class filesystem --all 1 --exclude binderfs \
	--verify -t 8s \
	--temp-path "$MNT/stress"
rc=$?
t_is "$rc" 0 "stress-ng --class filesystem --verify: a successful run"
t_unlike "$(t_out stress; t_err stress)" 'fail:|error:' "... with no failure" ||
	t_diag "$(grep -h 'fail:\|error:' "$T_DIR/stress.out" "$T_DIR/stress.err" | head -n 20)"

# ---- fio with verification, before and after a remount -----------------------
FIO=(fio --name=verify --filename="$MNT/fio.dat" --size=16M --bs=4k
	--ioengine=io_uring --iodepth=16 --rw=randwrite --verify=crc32c
	--verify_fatal=1 --verify_state_save=0 --randrepeat=1
	--random_generator=tausworthe64)
t_run fio 300 "${FIO[@]}" --do_verify=1
t_is "$?" 0 "fio io_uring random writes verify (crc32c)" ||
	t_diag "$(t_out fio | tail -n 5; t_err fio | tail -n 5)"

t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down (unmounts)"
t_unlike "$(cat /proc/mounts)" " $MNT " "... nothing mounted"
t_run up2 120 "$FFFS" lab up --dir "$LAB"
t_is "$?" 0 "lab up again: a fresh mount"
t_run reverify 300 "${FIO[@]}" --verify_only=1
t_is "$?" 0 "fio --verify_only after the remount: every block verifies" ||
	t_diag "$(t_out reverify | tail -n 5; t_err reverify | tail -n 5)"

t_run down2 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
