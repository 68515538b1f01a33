#!/bin/bash
# A client's connection pool reconnects: when its server is killed and
# comes back on the same port, the same client process fails while the
# server is gone and then gets answers again, without being restarted.
. "$(dirname "$0")/lib.sh"

t_secret "$T_DIR/secret"
t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret"
port=$(t_server_port srv) || t_bail "server prints the port it serves on"

t_start probe "$FFFS" bench rpc --connect "tcp://127.0.0.1:$port" \
	--secret-file "$T_DIR/secret" --probe --count 100 \
	--interval-ms 50 --timeout-ms 300
log="$T_DIR/probe.out"
t_ok "probe gets an answer" wait_for 10 grep -q '^ping [0-9]*: ok in' "$log"

kill -KILL "$(t_pid srv)"
t_ok "pings fail while the server is gone" \
	wait_for 10 grep -q '^ping [0-9]*: failed after' "$log"
fail=$(grep -m1 '^ping [0-9]*: failed after' "$log")
t_like "$fail" 'Connection (reset|refused)|timed out' \
	"the failure names the connection error"
failn=$(sed -n 's/^ping \([0-9]*\):.*/\1/p' <<<"$fail")

# The same port again (SO_REUSEADDR lets it rebind at once).
t_start srv2 "$FFFS" bench rpc --server "tcp://127.0.0.1:$port" \
	--secret-file "$T_DIR/secret"
t_server_port srv2 >/dev/null || t_bail "the server restarts on port $port"

recovered() {
	awk -v f="$failn" '$1 == "ping" && $3 == "ok" && $2 + 0 > f { ok = 1 }
		END { exit !ok }' "$log"
}
t_ok "the same client reconnects and gets answers again" \
	wait_for 10 recovered
t_ok "probe process was never restarted" t_alive probe
t_is "$(sed -n 's/^ping \([0-9]*\):.*/\1/p' "$log" | sort -n | uniq -d)" "" \
	"no ping completed twice"

kill -TERM "$(t_pid probe)" "$(t_pid srv2)"
t_wait_exit srv2 10
t_is "$?" 0 "restarted server exits 0 on SIGTERM"
t_done
