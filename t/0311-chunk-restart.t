#!/bin/bash
# A storage server stopped with SIGTERM and started again on the same
# target and state directory serves the same chunks: --space is identical
# (used, free, chunks), every chunk reads back with the same length and
# CRC, and a --check of the write storm's journal finds every
# acknowledged write. Writes after the restart work too.
. "$(dirname "$0")/lib.sh"

MiB=1048576
J=$T_DIR/journal

t_secret "$T_DIR/secret"

# srv NAME [,size=BYTES]: fffs storage on the test's target; sets $port.
srv() {
	t_start "$1" "$FFFS" storage --target "$T_DIR/t1.img$2,id=1" \
		--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
		--secret-file "$T_DIR/secret" --cores 2
	port=$(t_storage_port "$1")
}

# bc NAME TIMEOUT ARGS...: fffs bench chunk against the server, target 1.
bc() {
	local name=$1 timeout=$2
	shift 2
	t_run "$name" "$timeout" "$FFFS" bench chunk \
		--connect "tcp://127.0.0.1:$port" --target 1 \
		--secret-file "$T_DIR/secret" "$@"
}

# read_all NAME: "INDEX ok LENGTH CRC" (or the error) of chunks 0..63.
read_all() {
	local i
	for i in $(seq 0 63); do
		bc "$1-$i" 20 --read-chunk "$i"
		echo "$i $(t_out "$1-$i")"
	done
}

srv srv1 ,size=600M || t_bail "fffs storage starts and prints its port"

bc storm1 30 --storm --journal "$J" --chunks 64 --depth 8 --duration 2
t_is "$?" 0 "a 2 s write storm ends cleanly (exit 0)"
t_like "$(t_out storm1)" \
	'^storm: [1-9][0-9]* writes acknowledged, 0 failed attempts, 0 not acknowledged$' \
	"... every write acknowledged"

bc space1 20 --space
sp1=$(t_out space1)
t_like "$sp1" '^target 1 state serving capacity [0-9]+ used [0-9]+ free [0-9]+ chunks [1-9][0-9]*$' \
	"--space before the restart: $sp1"
chunks=$(sed -En 's/.* chunks ([0-9]+)$/\1/p' <<<"$sp1")
t_is "$chunks" "$(awk '$1 == "ack" { print $2 }' "$J" | sort -u | wc -l)" \
	"... as many chunks as the journal acknowledged writes to"
t_like "$sp1" " used $((chunks * MiB)) free " \
	"... each chunk holds one 1 MiB block (no block of an overwritten version kept)"
before=$(read_all r1)

kill -TERM "$(t_pid srv1)"
t_wait_exit srv1 20
t_is "$?" 0 "the server exits 0 on SIGTERM"

srv srv2 || t_bail "the server starts again on the same target and state"
t_like "$(t_err srv2)" \
	"target 1 \\('$T_DIR/t1.img'\\) open: $chunks chunks, $((chunks * MiB)) of [0-9]+ bytes used\$" \
	"... and opens the target as it was (not formatted again)"
bc space2 20 --space
t_is "$(t_out space2)" "$sp1" "--space after the restart is identical"
t_is "$(read_all r2)" "$before" \
	"every chunk reads back with the same length and CRC as before"
bc check2 60 --check "$J"
t_is "$?" 0 "--check of the journal exits 0"
t_is "$(t_out check2)" \
	"checked $chunks chunks, 0 mismatches, 0 checksum errors" \
	"... every acknowledged write is there"

# The restarted server takes writes, and frees the blocks they replace.
bc storm2 30 --storm --journal "$J" --chunks 64 --depth 8 --duration 1
t_is "$?" 0 "a storm after the restart ends cleanly"
bc check3 60 --check "$J"
t_like "$(t_out check3)" '^checked [0-9]+ chunks, 0 mismatches, 0 checksum errors$' \
	"... and --check finds both storms' writes"
bc space3 20 --space
chunks3=$(sed -En 's/.* chunks ([0-9]+)$/\1/p' <<<"$(t_out space3)")
t_like "$(t_out space3)" " used $((${chunks3:-0} * MiB)) free " \
	"... still one block per chunk"

t_ok "the server still runs" t_alive srv2
kill -TERM "$(t_pid srv2)"
t_wait_exit srv2 20
t_is "$?" 0 "the restarted server exits 0 on SIGTERM"
t_unlike "$(t_err srv1; t_err srv2)" ' (error|warn): ' \
	"neither server logged an error or warning"

t_done
