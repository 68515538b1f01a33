#!/bin/bash
# A removed 1 GiB file's space comes back: written through the FUSE mount
# of a lab cluster (3 replicas), statfs (df) shows the space used; after
# rm, meta's gc removes its chunks from storage and statfs shows the space
# free again.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab
MNT=$LAB/mnt

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 1G
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"

used_mib() { df -B1M --output=used "$MNT" | tail -n 1 | tr -d ' '; }
U0=$(used_mib)
t_run write 300 dd if=/dev/zero of="$MNT/big" bs=1M count=1024 conv=fsync
t_is "$?" 0 "a 1 GiB file written through the mount"
# 3 replicas of 1 GiB: at least 3000 MiB more used
grown() { [ "$(used_mib)" -ge $((U0 + 3000)) ]; }
t_ok "statfs shows its 3 replicas used" wait_for 60 grown
t_diag "used: $U0 MiB before, $(used_mib) MiB after the write"
U1=$(used_mib)
t_ok "rm of the file" rm "$MNT/big"
freed() { [ "$(used_mib)" -le $((U0 + 64)) ]; }
t_ok "after gc, statfs shows the space free again" wait_for 120 freed
t_diag "used: $U1 MiB with the file, $(used_mib) MiB after gc"
t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
