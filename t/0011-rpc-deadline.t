#!/bin/bash
# A request to a stopped server fails at its deadline (not later, not
# never), and the same client recovers once the server runs again; every
# request completes exactly once.
. "$(dirname "$0")/lib.sh"

COUNT=60
TIMEOUT_MS=500

t_secret "$T_DIR/secret"
t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret"
port=$(t_server_port srv) || t_bail "server prints the port it serves on"

t_start probe "$FFFS" bench rpc --connect "tcp://127.0.0.1:$port" \
	--secret-file "$T_DIR/secret" --probe --count $COUNT \
	--interval-ms 100 --timeout-ms $TIMEOUT_MS
log="$T_DIR/probe.out"

t_ok "probe gets an answer" wait_for 10 grep -q '^ping [0-9]*: ok in' "$log"

kill -STOP "$(t_pid srv)"
t_ok "a ping to the stopped server fails" \
	wait_for 10 grep -q '^ping [0-9]*: failed after' "$log"
fail=$(grep -m1 '^ping [0-9]*: failed after' "$log")
kill -CONT "$(t_pid srv)"

t_like "$fail" '^ping [0-9]+: failed after [0-9.]+ ms: .*timed out' \
	"the failure is a timeout"
ms=$(sed -n 's/^ping [0-9]*: failed after \([0-9]*\)\.[0-9]* ms: .*/\1/p' \
	<<<"$fail")
t_ok "it fails at its deadline: ${ms:-?} ms >= $((TIMEOUT_MS - 10))" \
	test "${ms:-0}" -ge $((TIMEOUT_MS - 10))
t_ok "... and not much later: ${ms:-?} ms < 1500" test "${ms:-99999}" -lt 1500

failn=$(sed -n 's/^ping \([0-9]*\):.*/\1/p' <<<"$fail")
# An ok line for a ping after the first failed one.
recovered() {
	awk -v f="$failn" '$1 == "ping" && $3 == "ok" && $2 + 0 > f { ok = 1 }
		END { exit !ok }' "$log"
}
t_ok "the same client recovers after SIGCONT" wait_for 10 recovered

t_wait_exit probe 30
t_is "$?" 0 "probe finishes and exits 0 (its last ping succeeded)"

lines=$(grep -c '^ping ' "$log")
t_is "$lines" $COUNT "probe printed one line per ping"
t_is "$(sed -n 's/^ping \([0-9]*\):.*/\1/p' "$log" | sort -n | uniq -d)" "" \
	"no ping completed twice"
t_is "$(sed -n 's/^ping \([0-9]*\):.*/\1/p' "$log" | sort -n | uniq |
	wc -l)" $COUNT "every ping completed"
t_is "$(grep -c ': failed after .* ms: .*timed out' "$log")" \
	"$(grep -c ': failed' "$log")" "every failure is a timeout"
t_ok "server survived" t_alive srv

kill -TERM "$(t_pid srv)"
t_wait_exit srv 10
t_is "$?" 0 "server exits 0 on SIGTERM"

t_done
