#!/bin/sh
# Build every libFuzzer target t/fuzz/*.c into obj-fuzz/ and run each for
# ${1:-30} seconds; exits non-zero if a target fails to build or crashes.
#
# A target names the sources it links in its first lines:
#	/* fuzz-sources: base/crc32c.c net/frame.c */
# and, when it needs libraries, the pkg-config packages that provide them:
#	/* fuzz-pkgs: libsodium */
# Crash inputs land in obj-fuzz/artifacts/; the corpus grows in
# obj-fuzz/corpus/<name>/ and is kept between runs.
# shellcheck disable=SC2086 # lists of sources, flags and packages split on purpose
set -u

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
	echo "fuzz.sh: seconds must be a number, got '$secs'" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/.." || exit 2
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE -I."
OUT=obj-fuzz

# Value of a "fuzz-KEY:" comment in the first 5 lines of a target.
header_list() {
	head -n 5 "$2" | sed -n "s|.*fuzz-$1:\\(.*\\)\\*/.*|\\1|p" | head -n 1
}

build() {
	src=$1 bin=$2
	srcs=$(header_list sources "$src")
	pkgs=$(header_list pkgs "$src")
	cflags="" libs=""
	if [ -n "$pkgs" ]; then
		cflags=$(pkg-config --cflags $pkgs) || return 1
		libs=$(pkg-config --libs $pkgs) || return 1
	fi
	echo "  FUZZCC  $bin"
	$CC $CFLAGS $cflags -o "$bin" "$src" $srcs $libs -pthread -lm
}

# Run one target; 0 when it ran clean for the whole time.
run() {
	name=$1 bin=$2
	corpus=$OUT/corpus/$name
	log=$OUT/$name.log
	mkdir -p "$corpus" "$OUT/artifacts"
	echo "  FUZZ    $name for ${secs}s (log $log)"
	"$bin" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	grep -E '^(Done [0-9]+ runs|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$log" | sed 's/^/          /'
	if [ $rc -ne 0 ]; then
		echo "fuzz.sh: $name failed (exit $rc); tail of $log:" >&2
		tail -n 30 "$log" >&2
		return 1
	fi
	return 0
}

mkdir -p "$OUT"
failed=0
found=0
for src in t/fuzz/*.c; do
	[ -e "$src" ] || continue
	found=1
	name=$(basename "$src" .c)
	bin=$OUT/$name
	if ! build "$src" "$bin"; then
		echo "fuzz.sh: cannot build $src" >&2
		failed=1
		continue
	fi
	run "$name" "$bin" || failed=1
done
if [ $found -eq 0 ]; then
	echo "fuzz.sh: no targets in t/fuzz/" >&2
	exit 1
fi
exit $failed
