#!/bin/bash
# A file's chunks follow its namespace entry: written through fffs mount
# into a data chain table (the root's layout), a truncate to 1.5 chunks
# makes the meta head remove the third chunk and cut the second before
# the new size commits (the client does not touch chunks on a truncate);
# removing the file lets the head's gc remove the rest.
# Checked on every storage replica with their chunk dumps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

[ -c /dev/fuse ] || t_skip_all "no /dev/fuse"
command -v fusermount3 >/dev/null || t_skip_all "no fusermount3"

MIB=1048576
ns() { cl_admin ns "$@"; }
size_is() {
	[ "$(ns stat "$1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')" = "$2" ]
}

# chunks NODE INO: "index:length ..." of INO's chunks on node NODE's target.
# (fails when the dump does, so that "no chunks" means none)
chunks() {
	local port out
	port=$(t_storage_port "${CL_NAME[$1]}") || return 1
	out=$(python3 "$T_ROOT/t/stor.py" --cluster t "$port" "$T_DIR/secret" \
		dump "$(($1 << 16 | 1))" --start-inode "$2") || return 1
	awk -v ino="$2" '$1 == "chunk" && $3 == ino { printf "%s:%s ", $5, $7 }' \
		<<<"$out"
}
chunks_are() {
	local n got
	for n in 1 2 3; do
		got=$(chunks "$n" "$1") || return 1
		[ "$got" = "$2" ] || return 1
	done
}

cl_start 3 1 || t_bail "mgmtd and 3 storage nodes start"
cl_table 1 3 || t_bail "a data table of one chain of 3 serves"
cl_meta 11
t_ok "the meta server registers" wait_for 20 cl_nodes_up 4
t_ok "a meta chain of one" cl_admin table create --chains 1 --replicas 1 \
	--role meta
t_ok "every chain serves" cl_wait_ok 30
t_ok "the root's layout: the data table, 1 MiB chunks" \
	cl_admin layout set / --table "$CL_TABLE" --chunk-size $MIB --stripe 1

mkdir -p "$T_DIR/mnt"
t_start mnt "$FFFS" mount $CL --mgmtd "$MGMTD" "$T_DIR/mnt"
t_ok "fffs mount mounts" wait_for 20 grep -q " $T_DIR/mnt " /proc/mounts
t_ok "3 MiB written through the mount" \
	dd if=/dev/urandom of="$T_DIR/mnt/f" bs=$MIB count=3 conv=fsync status=none
INO=$(ns stat /f --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["ino"])')
t_ok "meta knows its size" wait_for 10 test "$(stat -c %s "$T_DIR/mnt/f")" = $((3 * MIB))
t_ok "3 chunks of 1 MiB on every replica" \
	wait_for 10 chunks_are "$INO" "0:$MIB 1:$MIB 2:$MIB "
t_diag "node 1: $(chunks 1 "$INO")"

t_ok "truncate to 1.5 MiB" truncate -s $((3 * MIB / 2)) "$T_DIR/mnt/f"
t_is "$(ns stat /f --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])')" \
	$((3 * MIB / 2)) "meta has the new size"
t_ok "chunk 2 is gone and chunk 1 cut to 512 KiB on every replica" \
	chunks_are "$INO" "0:$MIB 1:$((MIB / 2)) "
t_diag "node 1: $(chunks 1 "$INO")"

t_ok "the file is removed" rm "$T_DIR/mnt/f"
t_ok "gc removes its chunks from every replica" wait_for 30 chunks_are "$INO" ""

# The last close of a written file makes its length exact from the last
# chunk on its chains: here a chunk another client wrote (straight to the
# chain's head) and never reported.
t_ok "an empty file /g" touch "$T_DIR/mnt/g"
INO=$(ns stat /g --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["ino"])')
HEAD=$(cl_member 1 0)
VER=$(cl_py "[c['version'] for c in s['chains'] if c['id'] == 1][0]")
HPORT=$(t_storage_port "${CL_NAME[$(cl_node_of "$HEAD")]}")
out=$(python3 "$T_ROOT/t/stor.py" --cluster t "$HPORT" "$T_DIR/secret" \
	write "$HEAD" "$INO" 7 0 "$(printf '%0200d' 0)" --chain 1 \
	--chain-ver "$VER" --chunk-size $MIB 2>&1)
t_like "$out" '^status 0' "100 bytes written to chunk 7 of /g at the head"
t_ok "a byte written at 0 through the mount, and closed" \
	sh -c "printf x | dd of='$T_DIR/mnt/g' conv=notrunc status=none"
t_ok "meta's length is exact: 7 MiB + 100" wait_for 10 size_is /g $((7 * MIB + 100))
t_ok "the file is removed" rm "$T_DIR/mnt/g"

# A sparse file: the head lists the chunks there are, so a file grown to
# a petabyte costs nothing to shrink or collect (a walk over every chunk
# index up to the length would take days).
t_ok "1 MiB at 0 and at 10 GiB" sh -c \
	"dd if=/dev/urandom of='$T_DIR/mnt/s' bs=$MIB count=1 status=none &&
	 dd if=/dev/urandom of='$T_DIR/mnt/s' bs=$MIB count=1 seek=10240 \
	    conv=notrunc,fsync status=none"
INO=$(ns stat /s --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["ino"])')
t_ok "chunks 0 and 10240 on every replica" \
	wait_for 10 chunks_are "$INO" "0:$MIB 10240:$MIB "
t_ok "truncate up to 1 PiB" truncate -s 1P "$T_DIR/mnt/s"
t_is "$(stat -c %s "$T_DIR/mnt/s")" $((1 << 50)) "the mount shows 1 PiB"
t_ok "truncate down to 1.25 MiB, within the time a request has" \
	timeout 20 truncate -s $((5 * MIB / 4)) "$T_DIR/mnt/s"
t_ok "chunk 10240 is gone, chunk 1 was never there" \
	chunks_are "$INO" "0:$MIB "
t_ok "truncate up to 1 PiB again" truncate -s 1P "$T_DIR/mnt/s"
t_ok "the file is removed" rm "$T_DIR/mnt/s"
t_ok "gc removes its chunk from every replica at once" \
	wait_for 15 chunks_are "$INO" ""

umount -l "$T_DIR/mnt" 2>/dev/null || fusermount3 -uz "$T_DIR/mnt" 2>/dev/null
t_done
