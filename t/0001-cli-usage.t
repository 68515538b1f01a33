#!/bin/bash
# The command line: usage and exit codes, --help, roles not built yet,
# configuration errors, and the manual matching the tables it comes from.
. "$(dirname "$0")/lib.sh"

n=0
# run CMD...: run fffs bounded; sets $rc, $out, $err.
run() {
	n=$((n + 1))
	t_run "cli$n" 10 "$FFFS" "$@"
	rc=$?
	out=$(t_out "cli$n")
	err=$(t_err "cli$n")
}

# ---- no command, unknown command, unknown option -------------------------

run
t_is "$rc" 2 "fffs without arguments exits 2"
t_like "$err" '^usage: fffs COMMAND' "... with usage on stderr"
t_is "$out" "" "... and nothing on stdout"

run nosuchcmd
t_is "$rc" 2 "unknown command exits 2"
t_like "$err" "unknown command 'nosuchcmd'" "... naming the command"
t_like "$err" '^usage: fffs COMMAND' "... and showing usage"

run bench --no-such-option
t_is "$rc" 2 "unknown option exits 2"
t_like "$err" "unknown option '--no-such-option'" "... naming the option"
t_like "$err" '^usage: fffs bench' "... with the command's usage"

run bench rpc --concurrency
t_is "$rc" 2 "option without its value exits 2"
t_like "$err" "'--concurrency' needs a value" "... saying what is missing"

run bench rpc --concurrency 0
t_is "$rc" 2 "option value out of range exits 2"
t_like "$err" "'--concurrency': '0' is not a number" "... naming option and value"

# ---- help ---------------------------------------------------------------

run help
t_is "$rc" 0 "fffs help exits 0"
t_like "$out" '^usage: fffs COMMAND' "... with usage on stdout"
help_out=$out

run --help
t_is "$rc" 0 "fffs --help exits 0"
t_like "$out" '^usage: fffs COMMAND' "... with usage on stdout"

run bench --help
t_is "$rc" 0 "fffs bench --help exits 0"
for opt in server connect concurrency verify requests probe count \
	interval-ms timeout-ms json duration config set secret-file cluster-id; do
	t_like "$out" "^  --$opt( |\$)" "fffs bench --help lists --$opt"
done

run help bench
t_is "$rc" 0 "fffs help bench exits 0"
t_like "$out" '^usage: fffs bench' "... showing bench's usage"

run help nosuchcmd
t_is "$rc" 2 "fffs help of an unknown command exits 2"
t_like "$err" "unknown command 'nosuchcmd'" "... naming it"

# ---- roles of later milestones ---------------------------------------------

# Milestone 1 builds none of them; later milestones build them one by one,
# so the list comes from what fffs help marks "(not built yet)".
for role in mgmtd meta storage mount admin lab; do
	t_like "$help_out" "^  $role " "fffs help lists $role"
done
not_built=$(sed -n 's/^  \([a-z]*\) .*(not built yet)$/\1/p' <<<"$help_out")
for role in $not_built; do
	run "$role"
	t_is "$rc" 2 "fffs $role (not built yet) exits 2"
	t_like "$err" "^fffs $role: not built yet" "fffs $role says it is not built yet"
done

# ---- version -------------------------------------------------------------

run version
t_is "$rc" 0 "fffs version exits 0"
t_like "$out" '^fffs [0-9]+\.[0-9]+\.[0-9]+$' "fffs version prints the version"
version=$out
run --version
t_is "$out" "$version" "fffs --version prints the same"

# ---- configuration errors ---------------------------------------------------

t_secret "$T_DIR/secret"
S=(--secret-file "$T_DIR/secret")

run bench rpc "${S[@]}" --set no_such_key=1
t_is "$rc" 2 "--set of an unknown key exits 2"
t_like "$err" "no_such_key" "... naming the key"

run bench rpc "${S[@]}" --set rpc_timeout_ms=-3
t_is "$rc" 2 "--set rpc_timeout_ms=-3 exits 2"
t_like "$err" "rpc_timeout_ms" "... naming the key"

run bench rpc "${S[@]}" --set cores=9999
t_is "$rc" 2 "--set cores=9999 (above the maximum) exits 2"
t_like "$err" "cores" "... naming the key"

run bench rpc "${S[@]}" --set cores
t_is "$rc" 2 "--set without '=' exits 2"

printf '{ "rpc_timeout_ms": 100, "no_such_json_key": 5 }\n' >"$T_DIR/bad.json"
run bench rpc "${S[@]}" --config "$T_DIR/bad.json"
t_is "$rc" 2 "--config with an unknown key exits 2"
t_like "$err" "no_such_json_key" "... naming the key"

printf '{ "rpc_timeout_ms": ' >"$T_DIR/broken.json"
run bench rpc "${S[@]}" --config "$T_DIR/broken.json"
t_is "$rc" 2 "--config with malformed JSON exits 2"
t_like "$err" "broken.json" "... naming the file"

run bench rpc "${S[@]}" --config "$T_DIR/missing.json"
t_is "$rc" 2 "--config with a missing file exits 2"
t_like "$err" "missing.json" "... naming the file"

# ---- configuration keys ------------------------------------------------

run help config
t_is "$rc" 0 "fffs help config exits 0"
keys=$(grep -oE '^[[:space:]]*X\([a-z_0-9]+,' "$T_ROOT/base/config.h" |
	sed -E 's/^[[:space:]]*X\(([a-z_0-9]+),/\1/')
nkeys=$(printf '%s\n' "$keys" | grep -c .)
t_ok "base/config.h lists keys ($nkeys)" test "$nkeys" -gt 5
for k in $keys; do
	t_like "$out" "^$k " "fffs help config lists $k"
done

# ---- the manual -----------------------------------------------------------

man="$T_ROOT/man/fffs.1"
FFFS="$FFFS" "$T_ROOT/tools/mkman.sh" >"$T_DIR/fffs.1" 2>"$T_DIR/mkman.err"
t_is "$?" 0 "tools/mkman.sh runs"
if diff -u "$man" "$T_DIR/fffs.1" >"$T_DIR/man.diff"; then
	t_pass "man/fffs.1 is up to date (make man)"
else
	t_fail "man/fffs.1 is up to date (make man)"
	t_diag "$(head -n 30 "$T_DIR/man.diff")"
fi

cmds=$(printf '%s\n' "$help_out" |
	sed -n '/^commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
ncmds=$(printf '%s\n' "$cmds" | grep -c .)
t_ok "fffs help lists commands ($ncmds)" test "$ncmds" -ge 9
for c in $cmds; do
	t_ok "man page has a section for fffs $c" \
		grep -q "^\\.SS \"fffs $c[ \"]" "$man"
	run "$c" --help
	t_is "$rc" 0 "fffs $c --help exits 0"
	opts=$(printf '%s\n' "$out" | sed -n 's/^  --\([a-z0-9-]*\).*/\1/p')
	for o in $opts; do
		[ "$o" = help ] && continue # every command has it
		t_ok "man page documents fffs $c --$o" \
			grep -qF -- "\\-\\-${o//-/\\-}" "$man"
	done
done

t_done
