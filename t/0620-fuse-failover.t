#!/bin/bash
# kill -9 under a copy through the FUSE mount of a lab cluster: first of a
# storage server, then (separately) of the meta chain's head, each while
# cp -r of a directory tree runs; the killed server is started again. The
# copy completes (retried only for the files whose copy failed, which the
# test counts and reports) and the result compares equal to the source.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab
MNT=$LAB/mnt
SRC=$T_DIR/src

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 1G
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
URI=$(cat "$LAB/mgmtd.uri")
ADM=("$FFFS" admin --mgmtd "$URI" --cluster-id lab --secret-file "$LAB/secret")

# a source tree: 24 directories of files from 1 byte to 4 MiB
python3 - "$SRC" <<'PY'
import os, random, sys
r = random.Random(5)
root = sys.argv[1]
for d in range(24):
    p = os.path.join(root, "d%02d" % d, "sub%d" % (d % 3))
    os.makedirs(p)
    for f in range(8):
        n = r.choice([1, 100, 4096, 65536, 1 << 20, 3 << 20, r.randrange(1, 4 << 20)])
        with open(os.path.join(p, "f%02d" % f), "wb") as o:
            o.write(os.urandom(n))
PY
t_pass "a source tree of $(find "$SRC" -type f | wc -l) files, $(du -sm "$SRC" | cut -f1) MiB"

# copy NAME: cp -r SRC to MNT/NAME in the background (process NAME)
copy() { t_start "$1" cp -r "$SRC" "$MNT/$1"; }

# files_in NAME: files copied so far
files_in() { find "$MNT/$1" -type f 2>/dev/null | wc -l; }
some_copied() { [ "$(files_in "$1")" -ge "$2" ]; }

# finish NAME: wait for the copy, then retry the files it could not copy
# (they are reported), and compare the whole tree with the source.
finish() {
	local name=$1 rc redo=0 f
	t_wait_exit "$name" 300
	rc=$?
	if [ $rc -ne 0 ]; then
		t_diag "cp exited $rc: $(t_err "$name" | head -n 5)"
		while IFS= read -r f; do
			rel=${f#"$SRC"/}
			if ! cmp -s "$f" "$MNT/$name/$rel"; then
				mkdir -p "$(dirname "$MNT/$name/$rel")"
				cp "$f" "$MNT/$name/$rel" && redo=$((redo + 1))
			fi
		done < <(find "$SRC" -type f)
		t_diag "copied again: $redo files"
	fi
	t_ok "the copy of $name compares equal to the source" diff -r "$SRC" "$MNT/$name" ||
		{ # to stderr, which prove shows
			echo "# cp of $name exited $rc: $(t_err "$name" | head -n 5)"
			diff -rq "$SRC" "$MNT/$name" | head -n 10 | sed 's/^/# /'
			diff -rq "$SRC" "$MNT/$name" | awk '$1 == "Files" { print $2, $4 }' |
				head -n 3 | while read -r a b; do
					echo "# sizes $(stat -c %s "$a") $(stat -c %s "$b"): $(cmp "$a" "$b" 2>&1 | head -n 1)"
					echo "# $(cmp -l "$a" "$b" 2>/dev/null | wc -l) bytes differ, from $(cmp -l "$a" "$b" 2>/dev/null | awk 'NR == 1 { f = $1 } { l = $1 } END { print f " to " l }')"
					sleep 2
					cmp -s "$a" "$b" && echo "# ... read again 2 s later: alike"
				done
			"${ADM[@]}" chains | sed 's/^/# chains: /'
			"$FFFS" bench chunk --mgmtd "$URI" --table 2 --verify-replicas \
				--cluster-id lab --secret-file "$LAB/secret" 2>&1 |
				grep -v 'alike$' | head -n 30 | sed 's/^/# verify: /'
			grep ' warn: \| error: ' "$LAB"/log/*.log | tail -n 40 | sed 's/^/# log: /'
		} >&2
}

# ---- a storage server ---------------------------------------------------------
copy c1
t_ok "the copy is under way" wait_for 60 some_copied c1 15
kill -KILL "$(cat "$LAB/run/storage-2.pid")"
t_pass "storage-2 killed with SIGKILL during the copy"
t_ok "... the copy goes on without it" wait_for 120 some_copied c1 60
t_run restart1 120 "$FFFS" lab up --dir "$LAB"
t_is "$?" 0 "storage-2 started again (lab up)"
finish c1

# ---- the meta chain's head ------------------------------------------------------
head_node() {
	"${ADM[@]}" chains --json | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["id"] == 1:
        print(c["targets"][0]["id"] >> 16)'
}
all_ok() {
	[ "$("${ADM[@]}" chains --json | python3 -c '
import json, sys
print(all(c["health"] == "ok" for c in json.load(sys.stdin)))')" = True ]
}
t_ok "every chain serves again" wait_for 180 all_ok
HN=$(head_node)
copy c2
t_ok "a second copy is under way" wait_for 60 some_copied c2 15
kill -KILL "$(cat "$LAB/run/meta-$HN.pid")"
t_pass "meta-$HN, the meta chain's head, killed with SIGKILL during the copy"
t_ok "... the copy goes on" wait_for 120 some_copied c2 60
t_run restart2 120 "$FFFS" lab up --dir "$LAB"
t_is "$?" 0 "meta-$HN started again (lab up)"
finish c2
t_ok "every chain serves at the end" wait_for 180 all_ok

t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
