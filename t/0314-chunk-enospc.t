#!/bin/bash
# A target that fills up: writes fail with "No space left on device",
# --space shows no free space, and the server still serves what was
# written, whole.
. "$(dirname "$0")/lib.sh"

MiB=1048576
J=$T_DIR/journal

t_secret "$T_DIR/secret"
# 1 MiB of superblock area and exactly two 64 MiB allocation groups: room
# for 128 chunks of 1 MiB.
t_start srv "$FFFS" storage --target "$T_DIR/t1.img,size=129M,id=1" \
	--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret" --cores 2
port=$(t_storage_port srv) || t_bail "fffs storage starts and prints its port"

# bc NAME TIMEOUT ARGS...: fffs bench chunk against the server, target 1.
bc() {
	local name=$1 timeout=$2
	shift 2
	t_run "$name" "$timeout" "$FFFS" bench chunk \
		--connect "tcp://127.0.0.1:$port" --target 1 \
		--secret-file "$T_DIR/secret" "$@"
}

bc space0 20 --space
t_like "$(t_out space0)" "^target 1 state serving capacity $((128 * MiB)) used 0 free $((128 * MiB)) chunks 0\$" \
	"--space of the empty target: 128 MiB free"

bc fill 60 --fill --journal "$J" --depth 8
t_is "$?" 0 "--fill exits 0: it stopped because the target is full"
t_is "$(t_out fill)" "filled 128 chunks, then: No space left on device" \
	"128 chunks of 1 MiB fit, then writes fail with ENOSPC"

bc space1 20 --space
t_is "$(t_out space1)" \
	"target 1 state serving capacity $((128 * MiB)) used $((128 * MiB)) free 0 chunks 128" \
	"--space: no space free, the target still serving"

bc again 60 --fill --journal "$J" --depth 1
t_is "$?" 0 "another --fill exits 0 at once"
t_is "$(t_out again)" "filled 0 chunks, then: No space left on device" \
	"... not even an overwrite fits: copy-on-write needs a free block"

bc check 60 --check "$J"
t_is "$?" 0 "--check of the journal exits 0"
t_like "$(t_out check)" '^checked 1[23][0-9] chunks, 0 mismatches, 0 checksum errors$' \
	"every chunk written reads back whole"
bc last 20 --read-chunk 127
t_like "$(t_out last)" "^ok $MiB [0-9a-f]{8}\$" "the last chunk that fit reads whole"
bc none 20 --read-chunk 128
t_is "$(t_out none)" "error: No such file or directory" \
	"the first that did not fit is not there"

t_ok "the server still runs" t_alive srv
kill -TERM "$(t_pid srv)"
t_wait_exit srv 20
t_is "$?" 0 "the server exits 0 on SIGTERM"

t_done
