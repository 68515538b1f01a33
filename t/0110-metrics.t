#!/bin/bash
# Prometheus metrics as a scraper sees them: mgmtd and a storage node
# started with --metrics tcp://127.0.0.1:0 log the port they serve on;
# GET /metrics answers 200 with the text exposition, another path 404;
# request counters grow with admin commands; latency histograms are well
# formed (cumulative buckets ending in +Inf equal to _count); target state,
# chain, lease and space gauges are there once a chain serves; a bad or
# busy --metrics address is refused with exit status 2 and a message
# naming it; everything exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cluster.sh"

# metrics_port NAME: the port NAME logged ("metrics on port N").
metrics_port() {
	sed -n 's/.* metrics on port \([0-9]*\)$/\1/p' "$T_DIR/$1.err" | head -n 1
}

# scrape PORT [PATH]: the HTTP status, then the body (python3 urllib: curl
# may not be installed).
scrape() {
	python3 - "http://127.0.0.1:$1${2:-/metrics}" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        print(r.status)
        print(r.headers.get('Content-Type'))
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
    print(e.headers.get('Content-Type'))
EOF
}

# value TEXT SERIES: the value of the series (name{labels} as printed).
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }' <<<"$1"
}

# histograms_ok NAME: every series of histogram NAME in $OUT (the last
# scrape) is well formed; says what is wrong on stderr.
histograms_ok() {
	python3 "$T_DIR/histograms.py" "$1" <<<"$OUT"
}
cat >"$T_DIR/histograms.py" <<'EOF'
import re, sys
name = sys.argv[1]
line_re = re.compile(r'^%s_(bucket|sum|count)\{([^}]*)\} ([0-9.e+]+)$' % name)
series = {}
seen = False
for line in sys.stdin.read().splitlines():
    if not line.startswith(name + '_'):
        continue
    m = line_re.match(line)
    if not m:
        sys.exit('malformed line: ' + line)
    kind, labels, v = m.groups()
    lab = dict(re.findall(r'(\w+)="([^"]*)"', labels))
    le = lab.pop('le', None)
    key = tuple(sorted(lab.items()))
    s = series.setdefault(key, {'buckets': []})
    if kind == 'bucket':
        s['buckets'].append((le, float(v)))
    else:
        s[kind] = float(v)
    seen = True
if not seen:
    sys.exit('no series of ' + name)
for key, s in series.items():
    b = s['buckets']
    les = [float('inf') if le == '+Inf' else float(le) for le, _ in b]
    counts = [c for _, c in b]
    if len(b) != 18 or les != sorted(les) or b[-1][0] != '+Inf':
        sys.exit('%s: bad bucket bounds %s' % (key, les))
    if counts != sorted(counts) or counts[-1] != s.get('count'):
        sys.exit('%s: buckets not cumulative up to _count' % (key,))
    if 'sum' not in s or s['sum'] < 0:
        sys.exit('%s: no _sum' % (key,))
EOF

# ---- mgmtd -------------------------------------------------------------------

t_start mgmtd "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd" \
	--listen tcp://127.0.0.1:0 --metrics tcp://127.0.0.1:0 $CL
wait_for 10 grep -q 'serving on port' "$T_DIR/mgmtd.out" ||
	t_bail "mgmtd with --metrics starts: $(t_err mgmtd | tail -n 3)"
MGMTD=tcp://127.0.0.1:$(sed -n 's/.*serving on port //p' "$T_DIR/mgmtd.out")
MP=$(metrics_port mgmtd)
t_like "$MP" '^[0-9]+$' "mgmtd logs 'metrics on port N'"
[ -n "$MP" ] || t_bail "no metrics port"
t_unlike "$MP" '^0$' "... a real port, not 0"

OUT=$(scrape "$MP")
t_is "$(head -n 1 <<<"$OUT")" 200 "GET /metrics: 200"
t_like "$(sed -n 2p <<<"$OUT")" '^text/plain; version=0\.0\.4' \
	"... as text exposition format 0.0.4"
t_like "$OUT" '^fffs_info\{role="mgmtd",version="[0-9.]+"\} 1$' \
	"... fffs_info names the role"
t_like "$OUT" '^# TYPE fffs_info gauge$' "... with a TYPE line"
t_like "$OUT" '^# HELP fffs_info .+' "... and a HELP line"
t_is "$(head -n 1 <<<"$(scrape "$MP" /other)")" 404 "GET /other: 404"
t_is "$(head -n 1 <<<"$(scrape "$MP" /metricsx)")" 404 "GET /metricsx: 404"

# ---- storage nodes, a chain ----------------------------------------------------

CL_TARGETS=2
cl_storage 1 --metrics tcp://127.0.0.1:0
cl_storage 2
wait_for 20 cl_nodes_up 2 || t_bail "2 storage nodes register"
t_pass "2 storage nodes register"
SP=$(metrics_port s1)
t_like "$SP" '^[1-9][0-9]*$' "storage logs 'metrics on port N'"
t_unlike "$(t_err s2)" 'metrics on port' \
	"... and a node without --metrics serves none"
cl_table 1 2 || t_bail "a chain of 2 serves"
t_pass "a chain of 2 serves"

# requests grow with admin commands
S='fffs_rpc_server_requests_total{op="ADM_MGMT_STATUS"}'
before=$(value "$(scrape "$MP")" "$S")
[ "$before" = none ] && before=0
for i in 1 2 3; do
	cl_admin status >/dev/null
done
after=$(value "$(scrape "$MP")" "$S")
t_ok "mgmtd counts ADM_MGMT_STATUS requests: $before, then $after after 3 admin status" \
	test "$after" != none -a "$after" -ge $((before + 3))
OUT=$(scrape "$MP")
t_like "$OUT" '^fffs_rpc_server_requests_total\{op="SRV_MGMT_HEARTBEAT"\} [1-9][0-9]*$' \
	"... and heartbeats"
t_like "$OUT" '^fffs_rpc_server_request_bytes_total\{op="SRV_MGMT_HEARTBEAT"\} [1-9][0-9]*$' \
	"... their request bytes"
t_like "$OUT" '^fffs_rpc_server_response_bytes_total\{op="ADM_MGMT_STATUS"\} [1-9][0-9]*$' \
	"... response bytes"
t_like "$OUT" '^# TYPE fffs_rpc_server_latency_seconds histogram$' \
	"... a latency histogram"
t_like "$OUT" '^fffs_rpc_server_latency_seconds_bucket\{op="ADM_MGMT_STATUS",le="0\.00005"\} [0-9]+$' \
	"... from le=0.00005"
t_like "$OUT" '^fffs_rpc_server_latency_seconds_bucket\{op="ADM_MGMT_STATUS",le="10"\} [0-9]+$' \
	"... to le=10"
t_ok "... every histogram line is well formed, buckets cumulative" \
	histograms_ok fffs_rpc_server_latency_seconds
t_like "$OUT" '^fffs_target_public_state\{target="65537",state="serving"\} 1$' \
	"mgmtd: target state gauges (public)"
t_like "$OUT" '^fffs_target_local_state\{target="65537",state="uptodate"\} 1$' \
	"... and local"
t_like "$OUT" '^fffs_chain_serving_targets\{chain="1"\} 2$' \
	"... serving members per chain"

# the storage node's view
chain_ok() {
	grep -q '^fffs_chain_serving_targets{chain="1"} 2$' <<<"$(scrape "$SP")"
}
wait_for 10 chain_ok
OUT=$(scrape "$SP")
t_is "$(head -n 1 <<<"$OUT")" 200 "storage: GET /metrics: 200"
t_like "$OUT" '^fffs_info\{role="storage",version="[0-9.]+"\} 1$' \
	"... fffs_info names the role"
n=$(grep -c '^fffs_target_public_state{' <<<"$OUT")
t_is "$n" 4 "... one public state gauge per target of the cluster"
t_like "$OUT" '^fffs_target_public_state\{target="65537",state="serving"\} 1$' \
	"... with its state as a label"
t_like "$OUT" '^fffs_target_public_state\{target="65538",state="offline"\} 1$' \
	"... also for a target in no chain"
t_like "$OUT" '^fffs_chain_version\{chain="1"\} [1-9][0-9]*$' \
	"... the chain's version"
t_like "$OUT" '^fffs_chain_serving_targets\{chain="1"\} 2$' \
	"... its serving members"
t_like "$OUT" '^fffs_lease_held 1$' "... the lease is held"
t_like "$OUT" '^fffs_routing_version [1-9][0-9]*$' "... the routing version"
t_like "$OUT" '^fffs_target_capacity_bytes\{target="65537"\} [1-9][0-9]*$' \
	"... capacity per target"
t_like "$OUT" '^fffs_target_used_bytes\{target="65537"\} [0-9]+$' \
	"... used bytes"
t_like "$OUT" '^fffs_target_chunks\{target="65537"\} [0-9]+$' "... chunks"
t_like "$OUT" '^fffs_rpc_client_calls_total\{op="SRV_MGMT_HEARTBEAT"\} [1-9][0-9]*$' \
	"... client calls per message type"
t_like "$OUT" '^fffs_rpc_client_failures_total\{op="SRV_MGMT_HEARTBEAT"\} 0$' \
	"... client failures"
t_ok "... client latency histograms well formed" \
	histograms_ok fffs_rpc_client_latency_seconds

# chunk traffic shows up on the storage server
t_run bench 60 "$FFFS" bench chunk --mgmtd "$MGMTD" --table "$CL_TABLE" \
	--verify-replicas $CL
OUT=$(scrape "$SP")
t_like "$OUT" '^fffs_rpc_server_requests_total\{op="CLI_STOR_(DUMP|READ|SPACE)"\} [1-9][0-9]*$' \
	"storage counts the chunk requests of a client"
t_ok "... and its server latency histograms are well formed" \
	histograms_ok fffs_rpc_server_latency_seconds

# ---- refusals ----------------------------------------------------------------

t_run bad 10 "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd-bad" \
	--listen tcp://127.0.0.1:0 --metrics tcp://127.0.0.1:notaport $CL
t_is "$?" 2 "--metrics with a bad URI: exits 2"
t_like "$(t_err bad)" "--metrics: address 'tcp://127\.0\.0\.1:notaport': expected tcp://HOST:PORT" \
	"... naming the option and the URI"
t_run busy 10 "$FFFS" mgmtd --state-dir "$T_DIR/mgmtd-busy" \
	--listen tcp://127.0.0.1:0 --metrics "tcp://127.0.0.1:$MP" $CL
t_is "$?" 2 "--metrics on a port in use: exits 2"
t_like "$(t_err busy)" "--metrics: cannot listen on '127\.0\.0\.1:$MP': Address already in use" \
	"... saying so"

# ---- SIGTERM -----------------------------------------------------------------

for name in s1 s2 mgmtd; do
	kill -TERM "$(t_pid "$name")"
	t_wait_exit "$name" 20
	t_is "$?" 0 "$name exits 0 on SIGTERM"
done

t_done
