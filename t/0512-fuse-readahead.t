#!/bin/bash
# Read-ahead of O_DIRECT readers through a FUSE mount (fuse/fra.h): a file
# read in order with O_DIRECT, 1 MiB at a time, gives its bytes (its
# unaligned end too); reads out of order, and reads after this mount wrote
# or truncated ranges already fetched, give the new bytes, not the fetched
# ones. The mount's metrics count the bytes read ahead and used.
. "$(dirname "$0")/lib.sh"

LAB=$T_DIR/lab

t_run up 120 "$FFFS" lab up --dir "$LAB" --target-size 256M
t_is "$?" 0 "lab up" || t_bail "no lab cluster: $(t_err up | tail -n 3)"
# a mount of our own, for its metrics
MNT=$T_DIR/mnt
mkdir -p "$MNT"
t_start mnt "$FFFS" mount "$MNT" --mgmtd "$(cat "$LAB/mgmtd.uri")" \
	--cluster-id lab --secret-file "$LAB/secret" \
	--metrics tcp://127.0.0.1:0
t_ok "a mount with --metrics" wait_for 20 grep -q "^mounted on" "$T_DIR/mnt.out"
PORT=$(sed -n 's/.* metrics on port \([0-9]*\)$/\1/p' "$T_DIR/mnt.err" | head -n 1)
# ra_bytes OUTCOME: fffs_fuse_readahead_bytes_total{outcome=OUTCOME}
ra_bytes() {
	python3 - "http://127.0.0.1:$PORT/metrics" "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
key = 'fffs_fuse_readahead_bytes_total{outcome="%s"} ' % sys.argv[2]
print(next((int(float(l[len(key):])) for l in text.splitlines() if l.startswith(key)), -1))
PY
}

head -c $((8 * 1048576 + 12345)) /dev/urandom > "$T_DIR/src"

# every check prints "ok WHAT" or "not ok WHAT: DETAIL"
cat > "$T_DIR/ra.py" <<'PY'
import mmap, os, sys, time

src_path, path = sys.argv[1], sys.argv[2]
src = bytearray(open(src_path, "rb").read())
MB = 1 << 20
buf = mmap.mmap(-1, MB)


def check(what, good, detail=""):
    print(("ok " if good else "not ok ") + what + ("" if good else ": " + detail))


def pread(fd, off):
    n = os.preadv(fd, [buf], off)
    return bytes(buf[:n])


fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
got, off = bytearray(), 0
while True:
    b = pread(fd, off)
    if not b:
        break
    got += b
    off += len(b)
check("an O_DIRECT read in order gives the file", got == src,
      "%d bytes read of %d" % (len(got), len(src)))

order = (5, 1, 7, 0, 3, 8, 2)
bad = [o for o in order if pread(fd, o * MB) != bytes(src[o * MB:(o + 1) * MB])]
check("reads out of order give the right bytes", not bad,
      "wrong at MiB %s" % bad)

# MiB 2..5 fetched ahead by reads of MiB 0 and 1; then this mount writes
# MiB 2
pread(fd, 0)
pread(fd, MB)
time.sleep(float(sys.argv[3]))
w = os.open(path, os.O_WRONLY)
os.pwrite(w, b"B" * MB, 2 * MB)
os.close(w)
src[2 * MB:3 * MB] = b"B" * MB
b = pread(fd, 2 * MB)
check("after a write through the mount, the next read in order sees it",
      b == bytes(src[2 * MB:3 * MB]),
      "%d of %d bytes are B" % (b.count(b"B"), len(b)))
b = pread(fd, 3 * MB)
check("... and the read after it the bytes that were there",
      b == bytes(src[3 * MB:4 * MB]))

# MiB 4.. fetched ahead again, then the file is cut to 4.5 MiB
time.sleep(float(sys.argv[3]))
os.truncate(path, 4 * MB + MB // 2)
del src[4 * MB + MB // 2:]
b = pread(fd, 4 * MB)
check("after a truncation, a read in order ends at the new length",
      b == bytes(src[4 * MB:]),
      "%d bytes, not %d" % (len(b), len(src) - 4 * MB))
check("... and a read past it gives nothing", pread(fd, 5 * MB) == b"")
os.close(fd)
PY

# the fetches race the checks: at once, and once they had time to end
for pause in 0 0.3; do
	cp "$T_DIR/src" "$MNT/f$pause"
	while read -r line; do
		case $line in
		"ok "*) t_ok "${line#ok } (pause $pause s)" true ;;
		*) t_ok "${line#not ok } (pause $pause s)" false ;;
		esac
	done < <(python3 "$T_DIR/ra.py" "$T_DIR/src" "$MNT/f$pause" "$pause" 2>&1 ||
		echo "not ok ra.py ran to its end")
done

used=$(ra_bytes used)
fetched=$(ra_bytes fetched)
t_ok "the metrics show bytes read ahead and used ($used of $fetched)" \
	test "$used" -gt $((8 * 1048576)) -a "$fetched" -ge "$used"
t_ok "... and ranges dropped unread" test "$(ra_bytes dropped)" -gt 0

kill -TERM "$(t_pid mnt)"
t_wait_exit mnt 20
t_is "$?" 0 "the mount exits 0 on SIGTERM"
t_run down 60 "$FFFS" lab down --dir "$LAB"
t_is "$?" 0 "lab down"
t_done
