#!/bin/bash
# 10,000 chunks of random sizes (up to a 128 KiB capacity), each written
# by 1-4 writes at random offsets (holes, overwrites, appends), come back
# byte for byte from `fffs storage`; the chunk list, the last chunk and the
# space figures agree with what was written.
. "$(dirname "$0")/lib.sh"

N=10000
CS=131072 # every chunk reserves a block of this size: ~1.3 GB in all

t_secret "$T_DIR/secret"
t_start srv "$FFFS" storage --target "$T_DIR/t1.img,size=2G,id=1" \
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

t0=$(t_now_ms)
bc verify 150 --verify $N --chunk-size $CS --depth 32
rc=$?
t_diag "--verify $N took $((($(t_now_ms) - t0) / 1000)) s"
t_is "$rc" 0 "--verify $N exits 0"
out=$(t_out verify)
t_like "$out" "^verified $N chunks, [1-9][0-9]* bytes, 0 mismatches\$" \
	"every byte of the $N chunks reads back as written"
t_unlike "$out" 'requests failed' "no request failed"
t_unlike "$(t_err verify)" ' error: ' "the client logged no error"

bc space 20 --space
t_is "$?" 0 "--space exits 0"
sp=$(t_out space)
t_like "$sp" "^target 1 state serving capacity [0-9]+ used $((N * CS)) free [0-9]+ chunks $N\$" \
	"--space: $N chunks, each holding a block of $CS bytes"
read -r cap used free < <(sed -En \
	's/.* capacity ([0-9]+) used ([0-9]+) free ([0-9]+) .*/\1 \2 \3/p' <<<"$sp")
t_is "$((cap - used))" "${free:-x}" "--space: free is capacity - used"

t_ok "the server still runs" t_alive srv
kill -TERM "$(t_pid srv)"
t_wait_exit srv 20
t_is "$?" 0 "the server exits 0 on SIGTERM"
t_unlike "$(t_err srv)" ' (error|warn): ' "the server logged no error or warning"

t_done
