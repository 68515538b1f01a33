#!/bin/bash
# fffs bench chunk --replication 1,2,3 starts a cluster of its own, runs
# the three phases through a chain of each replication and fio, and
# reports a row per phase and replication. A smoke test: rates must only
# be non-zero; nothing may be left running or on disk.
. "$(dirname "$0")/lib.sh"

command -v fio >/dev/null || t_skip_all "no fio"
t_secret "$T_DIR/secret"
mkdir "$T_DIR/d"

t_run bench 180 "$FFFS" bench chunk --replication 1,2,3 --dir "$T_DIR/d" \
	--size 32M --duration 1 --secret-file "$T_DIR/secret"
t_is "$?" 0 "fffs bench chunk --replication 1,2,3 exits 0"
out=$(t_out bench)
t_like "$out" '^fffs bench chunk: 32 chunks of 1 MiB at depth 8, .* through chains of replication 1 2 3 ' \
	"it says what it measured"
num='[0-9]+(\.[0-9]+)?'
for ph in seq-write seq-read rand-read; do
	for r in 1 2 3; do
		t_like "$out" "^$ph +$r +[1-9][0-9]* (MB/s|IOPS) +$num +$num +[1-9][0-9]* (MB/s|IOPS) +$num\$" \
			"$ph over $r replicas: a rate, latencies, fio's rate, the ratio"
	done
done
t_unlike "$out" 'requests failed' "no request failed"
t_unlike "$(t_err bench)" ' error: ' "nothing logged an error"
t_is "$(ls -A "$T_DIR/d")" "" "the cluster's files and fio's are gone"

t_run bad 20 "$FFFS" bench chunk --replication 1,4 --dir "$T_DIR/d" \
	--secret-file "$T_DIR/secret"
t_is "$?" 2 "--replication 1,4 is refused (status 2)"
t_like "$(t_err bad)" 'replication' "  ... naming the option"

t_done
