# t/lib.sh - sourced by every cluster test t/NNNN-*.t (bash).
#
#	#!/bin/bash
#	. "$(dirname "$0")/lib.sh"
#	t_secret "$T_DIR/secret"
#	t_start srv "$FFFS" bench rpc --server tcp://127.0.0.1:0 \
#		--secret-file "$T_DIR/secret"
#	port=$(t_server_port srv) || t_bail "server did not start"
#	t_run probe 20 "$FFFS" bench rpc --connect tcp://127.0.0.1:$port \
#		--secret-file "$T_DIR/secret" --probe --count 1
#	t_is "$?" 0 "probe gets an answer"
#	t_like "$(t_out probe)" '^ping 1: ok' "... and says so"
#	t_done
#
# What it gives a test:
#  - $T_DIR, a private directory under /tmp, removed at exit (kept when
#    T_KEEP=1 is set, or when a test failed and T_KEEP_FAILED=1);
#  - $FFFS, the binary under test ($FFFS, else $FFFS_OBJ/fffs of a SAN
#    build, else ./fffs), and $T_ROOT, the source tree;
#  - TAP: t_ok, t_is, t_like, t_unlike, t_pass, t_fail, t_diag, t_done
#    (prints the plan, exits 1 if anything failed), t_skip_all, t_bail;
#  - processes: t_start NAME CMD... runs CMD in the background with stdout
#    and stderr in $T_DIR/NAME.out and $T_DIR/NAME.err; t_pid, t_alive,
#    t_wait_exit NAME TIMEOUT (status in $?, SIGKILL and 124 on timeout),
#    t_run NAME TIMEOUT CMD... (start and wait), t_server_port NAME,
#    t_storage_port NAME;
#  - wait_for TIMEOUT CMD...: poll CMD every 0.1 s until it succeeds or
#    TIMEOUT seconds passed; the only way a test waits for something
#    (never a bare sleep), and every wait has a bound;
#  - cleanup on EXIT, INT and TERM: mounts under $T_DIR are unmounted,
#    every started process and its descendants get SIGCONT and SIGKILL,
#    and so does anything else with $T_DIR/ on its command line (processes
#    a test started detached, like fffs lab's), so nothing outlives the test
#    (and started processes get SIGKILL from the kernel should the test
#    itself be SIGKILLed).
#
# Every process a test starts should carry $T_DIR on its command line
# (a secret file, a config file) so `pgrep -f "$T_DIR/"` finds leftovers;
# t_done checks that none are left as its last test point.
#
# Everything runs on 127.0.0.1 with port 0: servers print "serving on port
# N", which t_server_port reads ("storage serving N targets on port P" for
# fffs storage: t_storage_port).

T_ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 1
T_NAME=$(basename "$0" .t)

if [ -z "${FFFS:-}" ]; then
	if [ -n "${FFFS_OBJ:-}" ] && [ -x "$T_ROOT/$FFFS_OBJ/fffs" ] &&
		[ "$FFFS_OBJ" != obj ]; then
		FFFS=$T_ROOT/$FFFS_OBJ/fffs
	else
		FFFS=$T_ROOT/fffs
	fi
fi

T_DIR=$(mktemp -d "/tmp/fffs-$T_NAME.XXXXXX") || {
	echo "1..0 # SKIP cannot create a temporary directory"
	exit 0
}
chmod 700 "$T_DIR"

T_N=0       # test points so far
T_FAILED=0  # failed test points
T_NAMES=()  # names given to t_start, in order
declare -A T_PIDS=()
T_CLEANED=0

# ---- TAP ---------------------------------------------------------------

t_diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

t_pass() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

t_fail() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	t_diag "  failed at ${BASH_SOURCE[1]:-$0} line ${BASH_LINENO[0]}"
	return 1
}

# t_ok DESC CMD...: CMD exits 0.
t_ok() {
	local desc=$1 rc
	shift
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		t_pass "$desc"
	else
		T_N=$((T_N + 1))
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_N - $desc"
		t_diag "  failed at $0 line ${BASH_LINENO[0]}: '$*' exited $rc"
		return 1
	fi
}

# t_is GOT WANT DESC
t_is() {
	if [ "$1" = "$2" ]; then
		t_pass "$3"
	else
		T_N=$((T_N + 1))
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_N - $3"
		t_diag "  failed at $0 line ${BASH_LINENO[0]}"
		t_diag "       got: '$1'"
		t_diag "  expected: '$2'"
		return 1
	fi
}

# t_like TEXT REGEX DESC: some line of TEXT matches the extended regex.
t_like() {
	if grep -Eq -- "$2" <<<"$1"; then
		t_pass "$3"
	else
		T_N=$((T_N + 1))
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_N - $3"
		t_diag "  failed at $0 line ${BASH_LINENO[0]}"
		t_diag "  no line matches /$2/ in:"
		t_diag "$(printf '%s\n' "$1" | head -n 20 | sed 's/^/    /')"
		return 1
	fi
}

# t_unlike TEXT REGEX DESC: no line of TEXT matches.
t_unlike() {
	if ! grep -Eq -- "$2" <<<"$1"; then
		t_pass "$3"
	else
		T_N=$((T_N + 1))
		T_FAILED=$((T_FAILED + 1))
		echo "not ok $T_N - $3"
		t_diag "  failed at $0 line ${BASH_LINENO[0]}"
		t_diag "  unexpected match of /$2/:"
		t_diag "$(printf '%s\n' "$1" | grep -E -- "$2" | head -n 5 |
			sed 's/^/    /')"
		return 1
	fi
}

# Print the plan and exit: 0 when every test point passed.
t_done() {
	t_cleanup_procs
	t_check_leftovers
	echo "1..$T_N"
	if [ $T_FAILED -gt 0 ]; then
		t_dump_logs
		t_diag "$T_FAILED of $T_N test points failed"
		exit 1
	fi
	exit 0
}

t_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# Stop the whole test at once (a precondition failed).
t_bail() {
	t_fail "$*"
	t_done
}

# ---- time and polling --------------------------------------------------

t_now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local s=${EPOCHREALTIME%[.,]*} us=${EPOCHREALTIME#*[.,]}
		echo $((s * 1000 + 10#$us / 1000))
	else
		date +%s%3N
	fi
}

# wait_for TIMEOUT CMD...: 0 as soon as CMD succeeds, 1 after TIMEOUT
# seconds (fractions allowed) without success. Polls every 100 ms (the
# first few polls sooner, so short waits stay short).
wait_for() {
	local timeout=$1 deadline
	shift
	deadline=$(($(t_now_ms) + $(awk -v t="$timeout" \
		'BEGIN { printf "%d", t * 1000 }')))
	local nap=0.01
	while :; do
		"$@" && return 0
		[ "$(t_now_ms)" -ge $deadline ] && break
		sleep $nap
		case $nap in # 10, 20, 50 ms at first, then every 100 ms
		0.01) nap=0.02 ;;
		0.02) nap=0.05 ;;
		*) nap=0.1 ;;
		esac
	done
	"$@"
}

# ---- secrets and processes --------------------------------------------

# t_secret FILE: a fresh cluster secret, 64 hex digits, mode 0600.
t_secret() {
	(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$1" &&
		echo >>"$1") && chmod 600 "$1"
}

# Even a test killed with SIGKILL (no trap runs) takes what it started
# along: the kernel sends SIGKILL to a child whose parent dies.
T_PDEATH=
if setpriv --pdeathsig KILL true 2>/dev/null; then
	T_PDEATH="setpriv --pdeathsig KILL"
fi

# t_start NAME CMD...: run CMD in the background, in its own session and
# process group (so cleanup also finds what it forks); stdout and stderr go
# to $T_DIR/NAME.out and $T_DIR/NAME.err. Names are unique per test.
t_start() {
	local name=$1
	shift
	if [ -n "${T_PIDS[$name]:-}" ]; then
		t_diag "t_start: name '$name' already used"
		return 1
	fi
	setsid $T_PDEATH "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" \
		</dev/null &
	T_PIDS[$name]=$!
	T_NAMES+=("$name")
}

t_pid() {
	echo "${T_PIDS[$1]:?t_pid: no process named $1}"
}

# "STATE PPID" of a pid from /proc, empty if it is gone.
t_pstat() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	set -- $stat
	echo "$1 $2"
}

# t_alive NAME: the process still runs. bash reaps its children as they
# exit, so a gone pid (or a zombie) means it exited; the parent check
# guards against the pid having been reused since.
t_alive() {
	local st
	st=$(t_pstat "${T_PIDS[$1]:?t_alive: no process named $1}")
	[ -n "$st" ] && [ "${st% *}" != Z ] && [ "${st% *}" != X ] &&
		[ "${st#* }" = $$ ]
}

t_exited() {
	! t_alive "$1"
}

# t_wait_exit NAME TIMEOUT: wait for NAME to exit and return its exit
# status (128+N for signal N). On timeout, SIGKILL it, report a failed
# test point and return 124.
t_wait_exit() {
	local name=$1 timeout=$2 pid
	pid=$(t_pid "$name") || return 125
	if ! wait_for "$timeout" t_exited "$name"; then
		t_kill_group "$pid"
		wait "$pid" 2>/dev/null
		t_fail "'$name' (pid $pid) exits within $timeout s (killed)"
		return 124
	fi
	wait "$pid"
}

# t_run NAME TIMEOUT CMD...: run CMD to completion (bounded); status in $?,
# output in $T_DIR/NAME.out and NAME.err.
t_run() {
	local name=$1 timeout=$2
	shift 2
	t_start "$name" "$@" || return 125
	t_wait_exit "$name" "$timeout"
}

t_out() { cat "$T_DIR/$1.out" 2>/dev/null; }
t_err() { cat "$T_DIR/$1.err" 2>/dev/null; }

# t_server_port NAME: the port of a server started with tcp://...:0, from
# its "serving on port N" line (waits up to 10 s).
t_server_port() {
	local f="$T_DIR/$1.out"
	if ! wait_for 10 grep -q '^serving on port [0-9][0-9]*$' "$f"; then
		t_diag "server '$1' printed no port; its stderr:"
		t_diag "$(t_err "$1" | tail -n 5)"
		return 1
	fi
	sed -n 's/^serving on port \([0-9][0-9]*\)$/\1/p' "$f" | head -n 1
}

# t_storage_port NAME: the port of `fffs storage ... --listen
# tcp://127.0.0.1:0` started as NAME, from its "storage serving N targets
# on port P" line (waits up to 10 s).
t_storage_port() {
	local f="$T_DIR/$1.out" re='^storage serving [0-9]+ targets on port [0-9]+$'
	if ! wait_for 10 grep -Eq "$re" "$f"; then
		t_diag "storage server '$1' printed no port; its stderr:"
		t_diag "$(t_err "$1" | tail -n 5)"
		return 1
	fi
	grep -E "$re" "$f" | head -n 1 | sed 's/.* on port //'
}

# Every descendant of a pid.
t_descendants() {
	local kid
	for kid in $(pgrep -P "$1" 2>/dev/null); do
		echo "$kid"
		t_descendants "$kid"
	done
}

# SIGCONT and SIGKILL a started process, its descendants and whatever is
# left in its process group (children it orphaned).
t_kill_group() {
	local pid=$1 st victims=()
	st=$(t_pstat "$pid")
	[ -n "$st" ] && [ "${st#* }" = $$ ] &&
		victims+=("$pid" $(t_descendants "$pid"))
	victims+=($(pgrep -g "$pid" 2>/dev/null))
	[ ${#victims[@]} -eq 0 ] && return 0
	kill -CONT "${victims[@]}" 2>/dev/null
	kill -KILL "${victims[@]}" 2>/dev/null
	return 0
}

# Kill and reap everything the test started. Idempotent.
t_cleanup_procs() {
	local name
	{
		for name in "${T_NAMES[@]}"; do
			t_kill_group "${T_PIDS[$name]}"
		done
		for name in "${T_NAMES[@]}"; do
			wait "${T_PIDS[$name]}"
		done
	} 2>/dev/null # not bash's "Killed" notices
	return 0
}

# Last test point: nothing with $T_DIR on its command line still runs.
t_check_leftovers() {
	local left
	wait_for 2 t_no_leftovers
	left=$(pgrep -af "$T_DIR/")
	t_is "$left" "" "no process left behind"
}

t_no_leftovers() {
	! pgrep -f "$T_DIR/" >/dev/null
}

# On failure: the tail of every stderr, to see why.
t_dump_logs() {
	local name
	for name in "${T_NAMES[@]}"; do
		# only what logged: usage texts are in the failure already
		grep -Eq '^[0-9:.]+ [a-z]+\[[0-9]+\]' "$T_DIR/$name.err" \
			2>/dev/null || continue
		t_diag "--- $name.err (last 10 lines)"
		t_diag "$(tail -n 10 "$T_DIR/$name.err")"
	done
}

# Lazily unmount every mount under $T_DIR (FUSE mounts of the test,
# deepest first), so nothing stays mounted and rm -rf stays in $T_DIR.
t_unmount_all() {
	local m
	for m in $(awk -v d="$T_DIR/" 'index($2, d) == 1 { print $2 }' \
		/proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null
	done
	return 0
}

t_cleanup() {
	[ $T_CLEANED -eq 1 ] && return
	T_CLEANED=1
	t_unmount_all
	t_cleanup_procs
	# what the test started detached (fffs lab): found by $T_DIR
	pkill -KILL -f "$T_DIR/" 2>/dev/null
	t_unmount_all
	if [ "${T_KEEP:-0}" = 1 ] ||
		{ [ "${T_KEEP_FAILED:-0}" = 1 ] && [ $T_FAILED -gt 0 ]; }; then
		echo "# kept $T_DIR" >&2
	else
		rm -rf "$T_DIR"
	fi
}

trap 't_cleanup' EXIT
trap 't_cleanup; trap - EXIT; exit 130' INT
trap 't_cleanup; trap - EXIT; exit 143' TERM

if [ ! -x "$FFFS" ]; then
	t_skip_all "no fffs binary at $FFFS (run make)"
fi
