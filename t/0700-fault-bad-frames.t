#!/bin/bash
# Bad frames on a raw TCP connection (t/frames.py): the server closes that
# connection, after a refusal frame where the protocol has one, logs a line
# naming the reason, and keeps serving everyone else.
. "$(dirname "$0")/lib.sh"

# The interpreter itself, not a wrapper script (pyenv shims cost 0.2 s).
PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"
FRAMES="$T_ROOT/t/frames.py"

t_run selftest 20 "$PY" "$FRAMES" --tag "$T_DIR/" selftest
t_is "$?" 0 "frames.py: CRC32C check value and header encoding"
[ "$(t_out selftest | grep -c '^ok')" -ge 7 ] ||
	t_diag "$(t_out selftest)"

t_secret "$T_DIR/secret"
t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 --cores 2 \
	--secret-file "$T_DIR/secret" --set rpc_connect_timeout_ms=1500
port=$(t_server_port srv) || t_bail "server prints the port it serves on"

# A connection that never says anything: the set-up deadline ends it. It
# runs while the other cases go on.
t_start silent "$PY" "$FRAMES" --tag "$T_DIR/" --wait 8 "$port" silent

# srv_gained N REGEX: a line past the first N of the server's stderr
# matches.
srv_gained() {
	tail -n +$(($1 + 1)) "$T_DIR/srv.err" | grep -Eq -- "$2"
}

HDR='closing connection 127\.0\.0\.1:[0-9]+: malformed frame header'
REFUSE='refusing connection 127\.0\.0\.1:[0-9]+: '
CLOSED='closing connection 127\.0\.0\.1:[0-9]+: peer closed the connection'
# case | what it sends | server log line (extended regex)
while IFS='|' read -r case what logre; do
	[ -n "$case" ] || continue
	before=$(wc -l <"$T_DIR/srv.err")
	t_run "$case" 20 "$PY" "$FRAMES" --tag "$T_DIR/" "$port" "$case"
	rc=$?
	t_is "$rc" 0 "$what: server answers as expected and closes (EOF)"
	[ $rc -eq 0 ] || t_diag "$(t_out "$case")"
	t_ok "$what: server logs why" wait_for 5 srv_gained "$before" "$logre"
	t_ok "$what: server still runs" t_alive srv
done <<EOF
garbage|64 random bytes|$HDR
bad-magic|header with bad magic|$HDR
reserved|header with reserved != 0 (valid CRC)|$HDR
bad-crc|header with a bad CRC|$HDR
bad-flags|header with both RESPONSE and ONEWAY flags|$HDR
too-big|header claiming a 1 GiB body|too large: body 1073741824, bulk 0 bytes \\(limits
bulk-too-big|header claiming a 4 GiB bulk|too large: body 0, bulk 4294967295 bytes
truncated|20 header bytes, then close|$CLOSED
truncated-body|header and part of its body, then close|$CLOSED
bulk-in-handshake|HELLO with a bulk payload|bulk payload during authentication
version|HELLO with frame version 9 (refusal -2003)|${REFUSE}peer speaks frame version 9, we speak 1
proto|HELLO with protocols 7..9 (refusal -2003)|${REFUSE}.*speaks protocol 7\\.\\.9, this server speaks 1\\.\\.1
malformed-hello|HELLO with a 3-byte body (refusal -2001)|${REFUSE}malformed HELLO \\(3 bytes\\)
bad-role|HELLO with role 0 (refusal -2001)|${REFUSE}.*invalid role 0
ping-first|PING before authenticating (refusal -2005)|${REFUSE}message before authentication completed
bad-auth|AUTH with a MAC made without the secret (refusal -2005)|${REFUSE}.*failed authentication: wrong cluster secret
EOF

t_wait_exit silent 15
t_is "$?" 0 "silent connection: server closes it at the set-up deadline"
t_like "$(t_out silent)" '^connection: eof after (1\.[5-9]|2\.)' \
	"... 1.5 s after it opened"
t_like "$(t_err srv)" 'connection set-up did not complete within 1500 ms' \
	"... and logs why"

t_ok "server still runs" t_alive srv
t_run probe 20 "$FFFS" bench rpc --connect "tcp://127.0.0.1:$port" \
	--secret-file "$T_DIR/secret" --probe --count 1 --timeout-ms 3000
t_is "$?" 0 "afterwards a normal client still gets an answer"
t_like "$(t_out probe)" '^ping 1: ok' "... ping 1 ok"
t_unlike "$(t_err srv)" ' error: |assert' "server logged no error"

kill -TERM "$(t_pid srv)"
t_wait_exit srv 10
t_is "$?" 0 "server exits 0 on SIGTERM"

t_done
