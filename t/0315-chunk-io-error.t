#!/bin/bash
# An I/O error of a target's device (the store_io_error fault point, every
# 20th data read or write) takes that target out of service: the write
# that hit it fails with an I/O error, the server logs the target as
# failed, --space shows it failed, later reads and writes get an I/O error,
# and the server itself stays up and answers. Started again without the
# fault, the target holds every write acknowledged before.
. "$(dirname "$0")/lib.sh"

IMG=$T_DIR/t1.img
J=$T_DIR/journal

t_secret "$T_DIR/secret"
t_start srv "$FFFS" storage --target "$IMG,size=200M,id=1" \
	--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret" --cores 2 \
	--set debug_faults=true --set faults=store_io_error=20
port=$(t_storage_port srv) || t_bail "fffs storage starts and prints its port"

# bc NAME TIMEOUT ARGS...: fffs bench chunk against the server, target 1.
bc() {
	local name=$1 timeout=$2
	shift 2
	t_run "$name" "$timeout" "$FFFS" bench chunk \
		--connect "tcp://127.0.0.1:$port" --target 1 \
		--secret-file "$T_DIR/secret" "$@"
}

bc fill 60 --fill --journal "$J" --depth 1
t_is "$?" 1 "--fill exits 1: a write failed, and not for lack of space"
t_like "$(t_out fill)" '^filled [1-9][0-9]* chunks, then: Input/output error$' \
	"some writes succeed, then one fails with an I/O error"
t_like "$(t_err srv)" \
	" error: target 1 \\('$IMG'\\) failed: (read|write) of inode 0x1 index [0-9]+: Input/output error; the target serves no more requests\$" \
	"the server logs the target as failed, naming it and the chunk"

bc space 20 --space
t_is "$?" 0 "--space still gets an answer"
t_like "$(t_out space)" '^target 1 state failed capacity [0-9]+ used [0-9]+ free [0-9]+ chunks [0-9]+$' \
	"... showing the target failed"

bc read 20 --read-chunk 0
t_is "$?" 1 "reading a chunk written before the failure fails (exit 1)"
t_is "$(t_out read)" "error: Input/output error" "... with an I/O error"
bc write 20 --fill --journal "$J" --depth 1
t_is "$(t_out write)" "filled 0 chunks, then: Input/output error" \
	"a later write fails with an I/O error too"
t_is "$(grep -c ' failed: .*the target serves no more requests' "$T_DIR/srv.err")" 1 \
	"the failure is logged once, not per request"

t_ok "the server still runs" t_alive srv
kill -TERM "$(t_pid srv)"
t_wait_exit srv 20
t_is "$?" 0 "the server exits 0 on SIGTERM"

# Without the fault, the same target serves again, with what was written.
t_start srv2 "$FFFS" storage --target "$IMG,id=1" \
	--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret" --cores 2
port=$(t_storage_port srv2) || t_bail "the server starts again without the fault"
bc check 30 --check "$J"
t_is "$?" 0 "after a restart without the fault, --check exits 0"
t_like "$(t_out check)" '^checked [1-9][0-9]* chunks, 0 mismatches, 0 checksum errors$' \
	"... every write acknowledged before the failure is there"
kill -TERM "$(t_pid srv2)"
t_wait_exit srv2 20
t_is "$?" 0 "that server exits 0 on SIGTERM"

t_done
