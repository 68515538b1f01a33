#!/bin/sh
# Formatting and lint checks for the C sources (make fmt-check, make lint).
#
#   tools/lint.sh fmt    clang-format drift: list the files, exit 1
#   tools/lint.sh lint   include direction, banned calls, file-opening
#                        comments, and cppcheck when it is installed
#
# Every problem is printed as "file:line: what"; the exit status is 1 when
# there is any. POSIX sh and awk only (clang-format for fmt; cppcheck is
# optional).
set -u

cd "$(dirname "$0")/.." || exit 2

usage() {
	echo "usage: tools/lint.sh fmt|lint" >&2
	exit 2
}

# Tracked and untracked-but-not-ignored .c/.h files, one per line; files
# deleted from the work tree are skipped.
c_files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -co --exclude-standard -- '*.c' '*.h'
	else
		find . -name '*.[ch]' ! -path './obj*' | sed 's|^\./||'
	fi | sort -u | while IFS= read -r f; do
		[ -f "$f" ] && printf '%s\n' "$f"
	done
}

# ---- fmt -------------------------------------------------------------------

do_fmt() {
	if ! command -v clang-format >/dev/null 2>&1; then
		echo "lint: clang-format not found; run tools/deps.sh" >&2
		return 1
	fi
	files=$(c_files)
	[ -n "$files" ] || return 0
	# One clang-format run for all files; it names each drifting line.
	# shellcheck disable=SC2086 # file names have no spaces (make fmt
	# assumes the same)
	out=$(clang-format --dry-run -Werror $files 2>&1)
	rc=$?
	[ $rc -eq 0 ] && return 0
	drift=$(printf '%s\n' "$out" |
		sed -n 's/^\(.*\):\([0-9]*\):[0-9]*: error: code should be clang-formatted.*/\1:\2/p' |
		awk -F: '!seen[$1]++ { print $1 ":" $2 ": not clang-formatted" }')
	if [ -z "$drift" ]; then
		# clang-format failed for another reason (bad .clang-format?).
		printf '%s\n' "$out" >&2
		return 1
	fi
	printf '%s\n' "$drift"
	n=$(printf '%s\n' "$drift" | wc -l)
	echo "lint: $n file(s) drift from .clang-format; run 'make fmt'" \
		"(or clang-format -i FILE) to fix" >&2
	return 1
}

# ---- lint: include direction -----------------------------------------------

# Layers, lowest first: base (fffs.h, base/) <- net <- mgmt <- chain <- meta
# <- fuse <- roles <- fffs.c. A file may include headers of its own layer or
# lower; mgmt (routing info) sits between net and chain so that everything
# above can read routing info; meta sits above chain because metadata uses
# the CRAQ engine, so chain may not include meta. Only fffs.c (and roles/
# itself) includes roles/. Another directory's internal.h / *_internal.h is
# private to it; tests under t/ may include anything but roles/.
check_includes() {
	# shellcheck disable=SC2086
	awk '
	function layer(p) {
		if (p == "fffs.h" || p ~ /^base\//) return 0
		if (p ~ /^net\//) return 1
		if (p ~ /^mgmt\//) return 2
		if (p ~ /^chain\//) return 3
		if (p ~ /^meta\//) return 4
		if (p ~ /^fuse\//) return 5
		if (p ~ /^roles\//) return 6
		if (p == "fffs.c") return 7
		return -1
	}
	function dir(p) { return p ~ /\// ? substr(p, 1, index(p, "/") - 1) : "" }
	function name(p) { return p ~ /\// ? dir(p) "/" : p }
	function bad(what) { printf "%s:%d: %s\n", FILENAME, FNR, what }
	/^[ \t]*#[ \t]*include[ \t]*"/ {
		inc = $0
		sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", inc)
		sub(/".*/, "", inc)
		test = FILENAME ~ /^t\//
		if (inc ~ /(^|\/)\.\.\//) {
			bad("#include \"" inc "\": use a path from the top of the tree")
			next
		}
		if (inc !~ /\//)
			next	# same directory, or fffs.h (the bottom layer)
		if (inc ~ /^roles\// && FILENAME != "fffs.c" && dir(FILENAME) != "roles") {
			bad("#include \"" inc "\": nothing includes from roles/ but fffs.c")
			next
		}
		if (inc ~ /^t\// && !test) {
			bad("#include \"" inc "\": only tests include from t/")
			next
		}
		if (!test && dir(inc) != dir(FILENAME) &&
		    inc ~ /(^|\/|_)internal\.h$/) {
			bad("#include \"" inc "\": " dir(inc) "/ internals are private to " dir(inc) "/")
			next
		}
		from = layer(FILENAME); to = layer(inc)
		if (from >= 0 && to > from)
			bad("#include \"" inc "\": " name(FILENAME) " may not depend on " name(inc) " (layers: base <- net <- mgmt <- chain <- meta <- fuse <- roles)")
	}' $1
}

# ---- lint: banned calls ----------------------------------------------------

# Unbounded or error-blind libc calls, with what to use instead. Checked in
# everything but tests, after blanking comments and string/char literals so
# prose that mentions strcpy() is not a call.
check_banned() {
	# shellcheck disable=SC2086
	awk '
	BEGIN {
		split("strcpy strcat strncpy sprintf vsprintf gets atoi atol atoll strtok alloca", names, " ")
		alt["strcpy"] = alt["strcat"] = alt["strncpy"] = "snprintf() or memcpy() with an explicit length"
		alt["sprintf"] = alt["vsprintf"] = "snprintf()/vsnprintf()"
		alt["gets"] = "fgets()"
		alt["atoi"] = alt["atol"] = alt["atoll"] = "strtol()/strtoull() with error checks"
		alt["strtok"] = "strtok_r() or strsep()"
		alt["alloca"] = "a fixed-size array or xmalloc()"
	}
	FNR == 1 { incomment = 0 }
	{
		line = $0; out = ""; n = length(line); i = 1
		while (i <= n) {
			c = substr(line, i, 1); c2 = substr(line, i, 2)
			if (incomment) {
				if (c2 == "*/") { incomment = 0; i += 2 } else i++
				continue
			}
			if (c2 == "/*") { incomment = 1; i += 2; out = out " "; continue }
			if (c2 == "//") break
			if (c == "\"" || c == "\047") {
				q = c; i++
				while (i <= n && substr(line, i, 1) != q)
					i += substr(line, i, 1) == "\\" ? 2 : 1
				i++; out = out q q
				continue
			}
			out = out c; i++
		}
		for (k = 1; k in names; k++)
			if (out ~ ("(^|[^A-Za-z0-9_.>])" names[k] "[ \t]*\\("))
				printf "%s:%d: banned call %s(); use %s\n", FILENAME, FNR, names[k], alt[names[k]]
	}' $1
}

# ---- lint: opening comment -------------------------------------------------

check_opening() {
	for f in $1; do
		case $f in
		base/*.c | net/*.c | mgmt/*.c | chain/*.c | meta/*.c | fuse/*.c | roles/*.c | fffs.c) ;;
		*) continue ;;
		esac
		head -n 1 "$f" | grep -q '^/\*' ||
			echo "$f:1: file must open with a /* one-sentence comment */ on what it is"
	done
}

# ---- lint: cppcheck --------------------------------------------------------

check_cppcheck() {
	command -v cppcheck >/dev/null 2>&1 || return 0
	srcs=$(printf '%s\n' "$1" | grep '\.c$')
	[ -n "$srcs" ] || return 0
	jobs=$(nproc 2>/dev/null || echo 2)
	# -D_GNU_SOURCE: check that one configuration, not every #ifdef.
	# shellcheck disable=SC2086
	msgs=$(cppcheck --quiet --error-exitcode=1 \
		--enable=warning,portability --std=c11 -D_GNU_SOURCE -I. \
		--suppress=missingIncludeSystem --inline-suppr -j "$jobs" \
		--template='{file}:{line}: cppcheck {severity}: {message} [{id}]' \
		$srcs 2>&1)
	rc=$?
	[ -n "$msgs" ] && printf '%s\n' "$msgs"
	[ $rc -eq 0 ] || [ -n "$msgs" ] || echo "cppcheck:0: failed with status $rc"
}

do_lint() {
	files=$(c_files)
	[ -n "$files" ] || return 0
	nontest=$(printf '%s\n' "$files" | grep -v '^t/')
	out=$({
		check_includes "$files"
		[ -z "$nontest" ] || check_banned "$nontest"
		check_opening "$files"
		check_cppcheck "$files"
	})
	[ -z "$out" ] && return 0
	printf '%s\n' "$out"
	n=$(printf '%s\n' "$out" | wc -l)
	echo "lint: $n problem(s)" >&2
	return 1
}

[ $# -eq 1 ] || usage
case $1 in
fmt) do_fmt ;;
lint) do_lint ;;
*) usage ;;
esac
