#!/bin/sh
# Runs every unit test program (t/unit/*.c, built by make) under prove as
# one TAP stream each; FFFS_OBJ picks the build (obj, or obj-san for make check).
obj=${FFFS_OBJ:-obj}
cd "$(dirname "$0")/.." || exit 1
set -- t/unit/*.c
echo "1..$#"
n=0
for src in "$@"; do
	n=$((n + 1))
	name=$(basename "$src" .c)
	bin="$obj/t/unit/$name"
	if [ ! -x "$bin" ]; then
		echo "not ok $n - unit/$name (not built: $bin)"
		continue
	fi
	out=$("$bin" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/    /'
	if [ $rc -eq 0 ] && echo "$out" | grep -q '^1\.\.[1-9]' &&
		! echo "$out" | grep -q '^not ok'; then
		echo "ok $n - unit/$name"
	else
		echo "not ok $n - unit/$name (exit $rc)"
	fi
done
