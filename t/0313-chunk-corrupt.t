#!/bin/bash
# A byte flipped in a stored block, behind fffs's back, is caught by the
# page checksums: reading that chunk fails with a checksum error (never
# wrong data), the server logs the chunk and the target, and other chunks
# still read fine.
. "$(dirname "$0")/lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"
J=$T_DIR/journal
IMG=$T_DIR/t1.img

t_secret "$T_DIR/secret"
t_start srv "$FFFS" storage --target "$IMG,size=200M,id=1" \
	--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
	--secret-file "$T_DIR/secret" --cores 2
port=$(t_storage_port srv) || t_bail "fffs storage starts and prints its port"

# bc NAME TIMEOUT ARGS...: fffs bench chunk against the server, target 1.
bc() {
	local name=$1 timeout=$2
	shift 2
	t_run "$name" "$timeout" "$FFFS" bench chunk \
		--connect "tcp://127.0.0.1:$port" --target 1 \
		--secret-file "$T_DIR/secret" "$@"
}

bc storm 30 --storm --journal "$J" --chunks 8 --depth 4 --duration 1
t_is "$?" 0 "a 1 s write storm over chunks 0..7 ends cleanly"
t_like "$(t_out storm)" '^storm: [1-9][0-9]* writes acknowledged, 0 failed attempts, 0 not acknowledged$' \
	"... every write acknowledged"
bc check1 30 --check "$J"
t_is "$(t_out check1)" "checked 8 chunks, 0 mismatches, 0 checksum errors" \
	"--check: the 8 chunks hold what was written"

# The chunk's content is the storm's (index, seq) stream of bench_chunk_check.c.
victim=3
# Every write starts at offset 0, so the last acknowledged one to the chunk
# wrote its first bytes.
seq=$(awk -v i=$victim '$1 == "ack" && $2 == i { s = $3 } END { print s }' "$J")
bc before 20 --read-chunk $victim
t_like "$(t_out before)" '^ok [0-9]+ [0-9a-f]{8}$' \
	"chunk $victim reads before (its first bytes are write seq $seq's)"
bc other_before 20 --read-chunk 5

cat >"$T_DIR/flip.py" <<'EOF_PY'
import mmap, os, sys

M = (1 << 64) - 1

def mix64(x):
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)

def stream(key, n):  # bench_gen_fill(key, 0, buf, n)
    return b"".join(mix64((key + i) & M).to_bytes(8, "little")
                    for i in range((n + 7) // 8))[:n]

img, index, seq, at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
key = mix64(mix64(0x53746F726D000000 ^ index) ^ seq)
pattern = stream(key, 64)  # bytes [0, 64) of the chunk
fd = os.open(img, os.O_RDWR)
m = mmap.mmap(fd, 0)
hits = []
pos = m.find(pattern)
while pos >= 0:
    hits.append(pos)
    pos = m.find(pattern, pos + 1)
if len(hits) != 1:
    print("found the chunk's first 64 bytes %d times" % len(hits))
    sys.exit(1)
m[hits[0] + at] ^= 0xFF  # one byte flipped
m.flush()
m.close()
os.fsync(fd)
os.close(fd)
print("flipped the byte at %d" % (hits[0] + at))
EOF_PY
t_run flip 60 "$PY" "$T_DIR/flip.py" "$IMG" $victim "$seq" 100
t_is "$?" 0 "found chunk $victim in the image and flipped byte 100: $(t_out flip)"

lines=$(wc -l <"$T_DIR/srv.err")
bc after 20 --read-chunk $victim
t_is "$?" 1 "reading chunk $victim now fails (exit 1)"
t_is "$(t_out after)" "error: checksum mismatch" "... with a checksum error, not data"
t_ok "the server logs it" wait_for 5 grep -q 'checksum error' "$T_DIR/srv.err"
t_like "$(tail -n +$((lines + 1)) "$T_DIR/srv.err")" \
	" error: checksum error in inode 0x1 index $victim of target 1 \\('$IMG'\\), page 0: " \
	"... naming the chunk, the target and the page"

bc other_after 20 --read-chunk 5
t_is "$?" 0 "another chunk still reads"
t_is "$(t_out other_after)" "$(t_out other_before)" "... with the same length and CRC"
bc check2 30 --check "$J"
t_is "$?" 1 "--check exits 1"
t_is "$(t_out check2)" "checked 8 chunks, 0 mismatches, 1 checksum errors" \
	"... finding the one damaged chunk and no other problem"

bc space 20 --space
t_like "$(t_out space)" '^target 1 state serving ' \
	"a checksum error does not take the target out of service"
t_ok "the server still runs" t_alive srv
kill -TERM "$(t_pid srv)"
t_wait_exit srv 20
t_is "$?" 0 "the server exits 0 on SIGTERM"

t_done
