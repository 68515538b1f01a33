#!/bin/bash
# Eight client processes hammer one two-core server at once; every reply
# arrives exactly once with the right payload, and SIGTERM drains cleanly.
. "$(dirname "$0")/lib.sh"

CLIENTS=8
REQUESTS=10000

t_secret "$T_DIR/secret"
t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 --cores 2 \
	--secret-file "$T_DIR/secret"
port=$(t_server_port srv) || t_bail "server prints the port it serves on"
t_pass "server serves on port $port"

for i in $(seq $CLIENTS); do
	t_start "cli$i" "$FFFS" bench rpc --connect "tcp://127.0.0.1:$port" \
		--secret-file "$T_DIR/secret" --verify --requests $REQUESTS \
		--concurrency 16 --timeout-ms 20000
done
for i in $(seq $CLIENTS); do
	t_wait_exit "cli$i" 60
	t_is "$?" 0 "client $i exits 0"
	t_is "$(t_out "cli$i")" \
		"verified $REQUESTS/$REQUESTS replies, 0 failed" \
		"client $i: every reply arrived exactly once, correctly"
	t_unlike "$(t_err "cli$i")" ' (error|warn): ' \
		"client $i logged no error"
done

t_ok "server still runs" t_alive srv
t_unlike "$(t_err srv)" ' (error|warn): ' "server logged no error"

# A client still connected while the server stops must not hold it up.
t_start probe "$FFFS" bench rpc --connect "tcp://127.0.0.1:$port" \
	--secret-file "$T_DIR/secret" --probe --count 100000 --interval-ms 20 \
	--timeout-ms 1000
t_ok "a probe client is connected" \
	wait_for 10 grep -q '^ping [0-9]*: ok' "$T_DIR/probe.out"

kill -TERM "$(t_pid srv)"
t_wait_exit srv 10
t_is "$?" 0 "server exits 0 within 10 s of SIGTERM"
t_ok "the connected client notices the server is gone" \
	wait_for 10 grep -q '^ping [0-9]*: failed' "$T_DIR/probe.out"
t_like "$(t_err srv)" 'caught signal 15 .*shutting down' \
	"server says why it stops"
t_unlike "$(t_err srv)" 'still in flight' "server drained without leftovers"

t_done
