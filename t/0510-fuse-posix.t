#!/bin/bash
# POSIX behaviour through a FUSE mount of a lab cluster, step by step
# against a local ext4 directory (t/posixcmp.py): permissions of two
# non-root users (owner, group, other, sticky, setgid, setuid clearing),
# nlink, ctime and mtime after link, unlink, rename, write and truncate,
# UTIME_NOW and UTIME_OMIT, NAME_MAX and PATH_MAX, symlinks, sparse files,
# truncate up and down, O_APPEND, O_TRUNC, O_DIRECT, mmap reads and writes,
# xattrs and statfs. Every errno and every observed fact must match.
. "$(dirname "$0")/lib.sh"

# the two users must reach the directories of the test
chmod 711 "$T_DIR"
LAB=$T_DIR/lab
REF=$T_DIR/ref
mkdir -m 777 "$REF"

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 256M
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
mkdir -m 777 "$LAB/mnt/posix"

python3 "$T_ROOT/t/posixcmp.py" "$REF" "$LAB/mnt/posix" >"$T_DIR/posix.out" 2>&1
while IFS= read -r line; do
	case $line in
	"ok - "*) t_pass "${line#ok - }" ;;
	"not ok - "*) t_fail "${line#not ok - }" ;;
	*) t_diag "$line" ;;
	esac
done <"$T_DIR/posix.out"
t_is "$(grep -c '^ok - \|^not ok - ' "$T_DIR/posix.out")" 9 \
	"every scenario ran"

t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
