#!/bin/bash
# Only nodes with the cluster secret and the cluster id get in; both sides
# say why in one line, and a refused client does not disturb the server.
. "$(dirname "$0")/lib.sh"

t_secret "$T_DIR/secret"
t_secret "$T_DIR/other-secret"
t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret"
port=$(t_server_port srv) || t_bail "server prints the port it serves on"
uri=tcp://127.0.0.1:$port

# probe NAME ARGS...: one ping to the server, bounded; status in $?.
probe() {
	local name=$1
	shift
	t_run "$name" 20 "$FFFS" bench rpc --connect "$uri" --probe --count 1 \
		--timeout-ms 3000 "$@"
}

# srv_lines_after N REGEX: a line past the first N of the server's stderr
# matches.
srv_lines_after() {
	tail -n +$(($1 + 1)) "$T_DIR/srv.err" | grep -Eq -- "$2"
}

probe good1 --secret-file "$T_DIR/secret"
t_is "$?" 0 "a client with the right secret gets in"

# ---- another secret --------------------------------------------------------

before=$(wc -l <"$T_DIR/srv.err")
probe badsecret --secret-file "$T_DIR/other-secret"
t_is "$?" 1 "a client with another secret exits 1"
t_like "$(t_out badsecret)" '^ping 1: failed after .*: authentication failed$' \
	"... its ping fails with 'authentication failed'"
err=$(t_err badsecret)
t_like "$err" 'failed to prove the cluster secret \(wrong secret file\?\)' \
	"... its stderr says the server failed to prove the secret"
t_is "$(grep -c 'cluster secret' <<<"$err")" 1 "... in one line"
t_ok "server logs a one-line reason" wait_for 5 srv_lines_after "$before" \
	'warn: closing connection 127\.0\.0\.1:[0-9]+: peer closed the connection before authentication completed'
t_is "$(tail -n +$((before + 1)) "$T_DIR/srv.err" | grep -c 'authentication')" 1 \
	"... exactly one line"
t_ok "server still runs" t_alive srv

probe good2 --secret-file "$T_DIR/secret"
t_is "$?" 0 "afterwards a client with the right secret still gets in"

# ---- another cluster ----------------------------------------------------

before=$(wc -l <"$T_DIR/srv.err")
probe badcluster --secret-file "$T_DIR/secret" --cluster-id other
t_is "$?" 1 "a client of another cluster exits 1"
t_like "$(t_out badcluster)" '^ping 1: failed after .*: wrong cluster id$' \
	"... its ping fails with 'wrong cluster id'"
err=$(t_err badcluster)
t_like "$err" "refused by server: .*cluster 'other'.*'fffs'" \
	"... its stderr says it was refused and names both clusters"
t_is "$(grep -c 'refused' <<<"$err")" 1 "... in one line"
t_ok "server logs 'refusing connection' naming both clusters" \
	wait_for 5 srv_lines_after "$before" \
	"warn: refusing connection 127\\.0\\.0\\.1:[0-9]+: .*in cluster 'other', this server is in 'fffs'"
t_ok "server still runs" t_alive srv

probe good3 --secret-file "$T_DIR/secret"
t_is "$?" 0 "afterwards a client of the right cluster still gets in"

# ---- a secret file others may read ---------------------------------------

cp "$T_DIR/secret" "$T_DIR/open-secret"
chmod 644 "$T_DIR/open-secret"
probe opensecret --secret-file "$T_DIR/open-secret"
t_is "$?" 1 "a client refuses a secret file with mode 0644"
t_like "$(t_err opensecret)" \
	"secret file '$T_DIR/open-secret' is readable by others \\(mode 0644\\); chmod 600 it" \
	"... naming the path and the fix"
t_is "$(t_out opensecret)" "" "... before sending anything"

t_run opensrv 10 "$FFFS" bench rpc --server tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/open-secret"
t_is "$?" 1 "a server refuses a secret file with mode 0644 at start-up"
t_like "$(t_err opensrv)" "secret file '$T_DIR/open-secret' is readable by others" \
	"... naming the path"
t_unlike "$(t_out opensrv)" 'serving' "... and does not serve"

chmod 620 "$T_DIR/open-secret"
probe groupw --secret-file "$T_DIR/open-secret"
t_is "$?" 1 "a secret file the group may write is refused"
t_like "$(t_err groupw)" "secret file '$T_DIR/open-secret' is writable by others \\(mode 0620\\)" \
	"... naming the path"

probe nosecret --secret-file "$T_DIR/no-such-secret"
t_is "$?" 1 "a missing secret file is refused"
t_like "$(t_err nosecret)" "cannot read secret file '$T_DIR/no-such-secret': No such file" \
	"... naming the path and the reason"

printf 'not hex at all\n' >"$T_DIR/junk-secret"
chmod 600 "$T_DIR/junk-secret"
probe junksecret --secret-file "$T_DIR/junk-secret"
t_is "$?" 1 "a secret file without 64 hex digits is refused"
t_like "$(t_err junksecret)" "secret file '$T_DIR/junk-secret': expected 64 hex digits" \
	"... naming the path"

t_ok "server still runs" t_alive srv
kill -TERM "$(t_pid srv)"
t_wait_exit srv 10
t_is "$?" 0 "server exits 0 on SIGTERM"

t_done
