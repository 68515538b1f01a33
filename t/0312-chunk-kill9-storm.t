#!/bin/bash
# kill -9 of `fffs storage` in the middle of a write storm, five times
# over: each time the server starts again on the same target and state
# directory without complaint, and --check of the storm's journal (which
# goes on from round to round) finds every acknowledged write whole: no
# chunk lost, torn or mixed, no checksum error. Blocks of writes the
# crash cut short are not leaked. Last, the server comes back on the same
# port while the storm still runs: the client's retries (same request ids)
# go through and the storm carries on.
. "$(dirname "$0")/lib.sh"

ROUNDS=5
MiB=1048576
J=$T_DIR/journal

t_secret "$T_DIR/secret"

# srv NAME [,size=BYTES] [PORT]: fffs storage on the test's target; sets
# $port.
srv() {
	t_start "$1" "$FFFS" storage --target "$T_DIR/t1.img$2,id=1" \
		--state-dir "$T_DIR/state" --listen "tcp://127.0.0.1:${3:-0}" \
		--secret-file "$T_DIR/secret" --cores 2
	port=$(t_storage_port "$1")
}

# restarted NAME ROUND: it started without complaint on the old target.
restarted() {
	t_like "$(t_err "$1")" "target 1 \\('$T_DIR/t1.img'\\) open: [0-9]+ chunks" \
		"round $2: it opens the target it crashed on"
	t_unlike "$(t_err "$1")" ' (error|warn): ' \
		"round $2: ... with no error or warning"
}

# kill9 NAME ROUND: SIGKILL the server NAME.
kill9() {
	kill -KILL "$(t_pid "$1")"
	t_wait_exit "$1" 10 2>/dev/null # not bash's "Killed"
	t_is "$?" 137 "round $2: the server dies of SIGKILL in the middle of it"
}

# bc NAME ARGS...: fffs bench chunk against the server, target 1, in the
# background.
bc() {
	local name=$1
	shift
	t_start "$name" "$FFFS" bench chunk --connect "tcp://127.0.0.1:$port" \
		--target 1 --secret-file "$T_DIR/secret" "$@"
}

acks() { cat "$J" 2>/dev/null | grep -c '^ack '; }
acks_reach() { [ "$(acks)" -ge "$1" ]; }

# storm_got N SRV LABEL: the journal reaches N acks (waits up to 30 s, less
# if the server SRV dies meanwhile).
storm_got() {
	wait_for 30 eval "acks_reach $1 || t_exited $2"
	t_ok "$3: the storm gets $1 acknowledged writes in all" \
		acks_reach "$1"
}

# check NAME: --check of the journal finds no mismatch and no checksum error.
check() {
	bc "$1" --check "$J"
	t_wait_exit "$1" 60
	t_is "$?" 0 "$1: --check exits 0"
	t_like "$(t_out "$1")" \
		'^checked [0-9]+ chunks, 0 mismatches, 0 checksum errors$' \
		"$1: no chunk lost, torn or corrupt"
}

srv srv0 ,size=600M || t_bail "fffs storage starts and prints its port"
for r in $(seq 1 $ROUNDS); do
	want=$(($(acks) + 100))
	bc storm$r --storm --journal "$J" --chunks 128 --depth 8
	storm_got $want srv$((r - 1)) "round $r"
	kill9 srv$((r - 1)) $r
	kill -TERM "$(t_pid storm$r)"
	t_wait_exit storm$r 20
	t_is "$?" 0 "round $r: the storm client stops cleanly on SIGTERM"
	t_like "$(t_out storm$r)" \
		'^storm: [0-9]+ writes acknowledged, [0-9]+ failed attempts, [1-9][0-9]* not acknowledged$' \
		"round $r: the kill left writes unacknowledged"

	srv srv$r || t_bail "round $r: the server starts again after kill -9"
	restarted srv$r $r
	check check$r
done

# The same, but the server comes back on its port while the storm retries.
r=$((ROUNDS + 1))
want=$(($(acks) + 100))
bc storm$r --storm --journal "$J" --chunks 128 --depth 8
storm_got $want srv$ROUNDS "round $r"
kill9 srv$ROUNDS $r
t_ok "round $r: the storm retries its writes" \
	wait_for 10 grep -q 'failed: .*; retrying' "$T_DIR/storm$r.err"
srv srv$r "" "$port" || t_bail "round $r: the server starts again on port $port"
restarted srv$r $r
storm_got $(($(acks) + 100)) srv$r "round $r, against the new server"
kill -TERM "$(t_pid storm$r)"
t_wait_exit storm$r 20
t_is "$?" 0 "round $r: the storm client stops cleanly on SIGTERM"
t_like "$(t_out storm$r)" \
	'^storm: [0-9]+ writes acknowledged, [1-9][0-9]* failed attempts, [0-9]+ not acknowledged$' \
	"round $r: ... after failed attempts that it retried"
check check$r

bc space --space
t_wait_exit space 20
sp=$(t_out space)
chunks=$(sed -En 's/.* chunks ([0-9]+)$/\1/p' <<<"$sp")
t_like "$sp" "^target 1 state serving .* used $((${chunks:-0} * MiB)) free [0-9]+ chunks [1-9]" \
	"--space: one 1 MiB block per chunk, none leaked by the crashes ($sp)"
t_is "$(awk '$1 == "issue" { print $3 }' "$J" | sort -n | uniq -d)" "" \
	"the storms never reused a sequence number"

kill -TERM "$(t_pid srv$r)"
t_wait_exit srv$r 20
t_is "$?" 0 "the last server exits 0 on SIGTERM"

t_done
