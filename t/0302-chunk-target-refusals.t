#!/bin/bash
# `fffs storage` refuses a target it must not touch: of another cluster,
# holding somebody else's data, not a file or block device, in use, missing,
# with a corrupt superblock, or whose state dir belongs to another target.
# It exits non-zero naming the path and the reason, before serving, and
# leaves the target as it was.
. "$(dirname "$0")/lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"
STOR="$T_ROOT/t/stor.py"
D=$T_DIR

t_secret "$D/secret"

# storage NAME ARGS...: start fffs storage with ARGS and the usual options.
storage() {
	local name=$1
	shift
	t_start "$name" "$FFFS" storage --secret-file "$D/secret" \
		--listen tcp://127.0.0.1:0 --cores 1 "$@"
}

# serving NAME: wait until NAME prints its port; sets $port.
serving() {
	local re='^storage serving [0-9]+ targets on port ([0-9]+)$'
	if ! wait_for 10 grep -Eq "$re" "$D/$1.out"; then
		t_diag "'$1' does not serve; its stderr:"
		t_diag "$(t_err "$1" | tail -n 5)"
		return 1
	fi
	port=$(sed -En "s/$re/\\1/p" "$D/$1.out" | head -n 1)
}

# stop NAME: SIGTERM, and it exits 0.
stop() {
	kill -TERM "$(t_pid "$1")"
	t_wait_exit "$1" 10
	t_is "$?" 0 "'$1' exits 0 on SIGTERM"
}

# format NAME ARGS...: start, wait until it serves, stop (formats a new
# target).
format() {
	local name=$1
	shift
	storage "$name" "$@"
	serving "$name" || t_bail "'$name': fffs storage $* serves"
	stop "$name"
}

# refused NAME ARGS...: start and wait for the exit (bounded); $RC its
# status, $ERR its stderr. Checks it failed cleanly without serving.
refused() {
	local name=$1
	shift
	storage "$name" "$@"
	t_wait_exit "$name" 10
	RC=$?
	ERR=$(t_err "$name")
	[ "$RC" = 124 ] && return # t_wait_exit reported it
	if [ "$RC" -ge 1 ] && [ "$RC" -lt 124 ]; then
		t_pass "$name: exits with an error status ($RC)"
	else
		t_fail "$name: exits with an error status (got $RC)"
	fi
	t_unlike "$(t_out "$name")" 'serving' "$name: ... without serving"
}

# fp FILE: size, and sha256 of the first MiB.
fp() {
	echo "$(stat -c %s "$1") $(head -c 1048576 "$1" | sha256sum)"
}

# ---- a target of another cluster ---------------------------------------------

format fmt-a --target "$D/a.img,size=300M" --state-dir "$D/sa" --cluster-id a
t_like "$(t_err fmt-a)" "target 1 \\('$D/a.img'\\) open: 0 chunks.*formatted now" \
	"a new target formatted for cluster a"
before=$(fp "$D/a.img")
refused cluster-b --target "$D/a.img" --state-dir "$D/sa" --cluster-id b
t_like "$ERR" "target '$D/a.img' belongs to cluster 'a', not 'b'" \
	"... started in cluster b: refused, naming the path and both clusters"
t_is "$(fp "$D/a.img")" "$before" "... the target is untouched"
cp --sparse=always "$D/a.img" "$D/a-copy.img" # for later

# ---- somebody else's data ----------------------------------------------------

truncate -s 300M "$D/junk.img"
head -c 4096 /dev/urandom | dd of="$D/junk.img" conv=notrunc status=none
before=$(fp "$D/junk.img")
refused junk --target "$D/junk.img" --state-dir "$D/sj"
t_like "$ERR" "target '$D/junk.img' holds data that is not an fffs target; refusing to format it" \
	"a file with other data in its first 4 KiB: refused"
t_is "$(fp "$D/junk.img")" "$before" "... the file is untouched"

truncate -s 300M "$D/junk2.img"
printf 'x' | dd of="$D/junk2.img" bs=1 seek=4095 conv=notrunc status=none
before=$(fp "$D/junk2.img")
refused junk2 --target "$D/junk2.img" --state-dir "$D/sj"
t_like "$ERR" "target '$D/junk2.img' holds data that is not an fffs target" \
	"a file whose only data is its byte 4095: refused"
t_is "$(fp "$D/junk2.img")" "$before" "... the file is untouched"

# ---- neither a file nor a block device ---------------------------------------

mkdir "$D/dir"
refused dir --target "$D/dir" --state-dir "$D/sd"
t_like "$ERR" "target '$D/dir' is neither a regular file nor a block device" \
	"a directory as target: refused"
refused dir-size --target "$D/dir,size=300M" --state-dir "$D/sd"
t_like "$ERR" "target '$D/dir' is neither a regular file nor a block device" \
	"... also with size="
refused devnull --target /dev/null --state-dir "$D/sd"
t_like "$ERR" "target '/dev/null' is neither a regular file nor a block device" \
	"/dev/null as target: refused"
t_ok "... nothing was created in the state dir" test ! -e "$D/sd/1"

# ---- missing -----------------------------------------------------------------

refused missing --target "$D/nope.img" --state-dir "$D/sm"
t_like "$ERR" "target '$D/nope.img' does not exist \\(give size= to create it\\)" \
	"a missing file without size=: refused"
t_ok "... and not created" test ! -e "$D/nope.img"
refused small --target "$D/small.img,size=100M" --state-dir "$D/sm"
t_like "$ERR" "target '$D/small.img': size 104857600 is too small" \
	"a new file of 100 MiB: refused as too small"
t_ok "... and not created" test ! -e "$D/small.img"

# ---- in use ------------------------------------------------------------------

storage use-a --target "$D/a.img" --state-dir "$D/sa" --cluster-id a
serving use-a || t_bail "the cluster a target serves in cluster a"
t_run put 20 "$PY" "$STOR" --cluster a "$port" "$D/secret" \
	write 1 7 0 0 0102030405 --chunk-size 1048576
t_like "$(t_out put)" '^status 0 \(ok\)$' "it stores a chunk"
refused use-b --target "$D/a.img" --state-dir "$D/sa" --cluster-id a
t_like "$ERR" "target '$D/a.img' is in use by another process" \
	"a second process on the same target: refused as in use"
ln -s "$D/a.img" "$D/a-link.img"
refused use-link --target "$D/a-link.img" --state-dir "$D/sa2" --cluster-id a
t_like "$ERR" "target '$D/a-link.img' is in use by another process" \
	"... also through a symlink and with another state dir"
t_run space 20 "$PY" "$STOR" --cluster a "$port" "$D/secret" space
t_like "$(t_out space)" '^target 1 state 0 .* chunks 1$' \
	"the first process still serves its target, with its chunk"

# ---- a state dir in use, through a copy of the target ------------------------
# A copy (same id and uuid) made while the target was stopped, started on
# the same state dir while the target runs: two processes would allocate
# blocks in one chunk table behind each other's back.

refused copy --target "$D/a-copy.img" --state-dir "$D/sa" --cluster-id a
t_like "$ERR" "state dir '$D/sa/1' is in use by another process" \
	"a copy of a running target on the same state dir: refused, naming it"
stop use-a

# ---- the state dir of another target -----------------------------------------

before_ms=$(sha256sum <"$D/sa/1/data.mdb")
refused sdir --target "$D/b.img,size=300M,id=1" --state-dir "$D/sa" \
	--cluster-id a
re="state dir '$D/sa/1' belongs to target 1 \\(uuid ([0-9a-f-]+)\\), not target 1 \\(uuid ([0-9a-f-]+)\\)"
t_like "$ERR" "$re" \
	"another target with the same id on the state dir: refused, naming it"
uuids=$(sed -En "s|.*$re.*|\\1 \\2|p" <<<"$ERR")
t_ok "... with the two different uuids" \
	test -n "$uuids" -a "${uuids% *}" != "${uuids#* }"
t_is "$(sha256sum <"$D/sa/1/data.mdb")" "$before_ms" \
	"... the state dir's data is untouched"
storage again-a --target "$D/a.img" --state-dir "$D/sa" --cluster-id a
serving again-a || t_fail "the first target opens again on its state dir"
t_like "$(t_err again-a)" "target 1 \\('$D/a.img'\\) open: 1 chunks" \
	"... with its chunk"
t_run dump 20 "$PY" "$STOR" --cluster a "$port" "$D/secret" dump 1
t_like "$(t_out dump)" '^chunk inode 7 index 0 length 5 committed 1 ' \
	"... which dump lists"
stop again-a

# ---- a corrupt superblock ----------------------------------------------------

format fmt-c --target "$D/c.img,size=300M" --state-dir "$D/sc"
cp --sparse=always "$D/c.img" "$D/v.img"
printf '\001' | dd of="$D/c.img" bs=1 seek=200 conv=notrunc status=none
before=$(fp "$D/c.img")
refused crc --target "$D/c.img" --state-dir "$D/sc"
t_like "$ERR" "target '$D/c.img': superblock checksum mismatch" \
	"a superblock with a flipped byte: refused (checksum mismatch)"
t_is "$(fp "$D/c.img")" "$before" "... the target is untouched"

# format version 2, with a correct checksum
"$PY" - "$D/v.img" "$T_ROOT/t" <<'EOF' || t_fail "rewrite v.img's superblock"
import struct, sys
sys.path.insert(0, sys.argv[2])
from frames import crc32c
with open(sys.argv[1], "r+b") as f:
    sb = bytearray(f.read(4096))
    sb[8:12] = struct.pack("<I", 2)
    sb[12:16] = b"\0\0\0\0"
    sb[12:16] = struct.pack("<I", crc32c(bytes(sb)))
    f.seek(0)
    f.write(sb)
EOF
before=$(fp "$D/v.img")
refused version --target "$D/v.img" --state-dir "$D/sv"
t_like "$ERR" "target '$D/v.img' has superblock format 2; this fffs knows format 1" \
	"a superblock of format 2: refused, naming the format"
t_is "$(fp "$D/v.img")" "$before" "... the target is untouched"

refused wrong-id --target "$D/a.img,id=5" --state-dir "$D/sa" --cluster-id a
t_like "$ERR" "target '$D/a.img' has id 1, not 5 as given by id=" \
	"id= that differs from the superblock: refused"

cp --sparse=always "$D/a.img" "$D/shrunk.img"
truncate -s 200M "$D/shrunk.img"
refused shrunk --target "$D/shrunk.img" --state-dir "$D/ss" --cluster-id a
t_like "$ERR" "target '$D/shrunk.img' shrank: formatted with 314572800 bytes, now 209715200" \
	"a target smaller than when formatted: refused"

t_done
