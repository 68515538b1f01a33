#!/bin/bash
# The chunk store over the wire (t/stor.py against `fffs storage`): bad
# requests get a clear error status, are logged where the protocol says
# so, and disturb neither other chunks nor the connection; and the write,
# read, truncate, remove, query_last and dump semantics a client relies on.
. "$(dirname "$0")/lib.sh"

PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	t_skip_all "no python3"
STOR="$T_ROOT/t/stor.py"
MiB=1048576
CS=$MiB # the chunk size every write and truncate here gives, unless told

t_run selftest 20 "$PY" "$STOR" --tag "$T_DIR/" selftest
t_is "$?" 0 "stor.py: CRC32C, BLAKE2b-256 and HMAC-SHA-512-256 check out"
t_unlike "$(t_out selftest)" '^FAILED' "... every selftest line ok" ||
	t_diag "$(t_out selftest)"

t_secret "$T_DIR/secret"

# start_storage NAME: fffs storage on the test's target; sets $port.
start_storage() {
	t_start "$1" "$FFFS" storage --target "$T_DIR/t1.img,size=300M" \
		--state-dir "$T_DIR/state" --listen tcp://127.0.0.1:0 \
		--secret-file "$T_DIR/secret" --cores 2
	local re='^storage serving [0-9]+ targets on port [0-9]+$'
	if ! wait_for 10 grep -Eq "$re" "$T_DIR/$1.out"; then
		t_diag "$(t_err "$1" | tail -n 5)"
		return 1
	fi
	port=$(sed -En 's/^storage serving [0-9]+ targets on port ([0-9]+)$/\1/p' \
		"$T_DIR/$1.out" | head -n 1)
}

start_storage srv || t_bail "fffs storage starts and prints its port"

# c LABEL ARGS...: run `stor.py PORT SECRET ARGS` (one connection); its
# output in $OUT, exit status in $RC.
NC=0
c() {
	local name="c$((++NC))-$1"
	shift
	t_run "$name" 30 "$PY" "$STOR" "$port" "$T_DIR/secret" "$@"
	RC=$?
	OUT=$(t_out "$name")
	[ $RC -eq 0 ] ||
		t_diag "stor.py $1 ... exited $RC: $(t_err "$name" | tail -n 3)"
}

# val KEY: what follows "KEY " on the first such line of $OUT.
val() {
	sed -n "s/^$1 //p" <<<"$OUT" | head -n 1
}

# srv_gained N REGEX: a line past the first N of the server's stderr matches.
srv_gained() {
	tail -n +$(($1 + 1)) "$T_DIR/srv.err" | grep -Eq -- "$2"
}
srv_lines() { wc -l <"$T_DIR/srv.err"; }

# hexpack FMT VALUES...: a little-endian struct as hex (for raw bodies).
hexpack() {
	"$PY" -c 'import struct, sys
f = sys.argv[1]; v = [int(x, 0) for x in sys.argv[2:]]
print(struct.pack("<" + f, *v).hex())' "$@"
}

# readback LABEL TARGET INODE INDEX OFFSET LEN FILE: one range into FILE.
readback() {
	local label=$1 file=$7
	c "$label" read "$2" "$3" "$4" "$5" "$6" --out "$file" --no-data
}

# ---- good chunks -------------------------------------------------------------

head -c 10000 /dev/urandom >"$T_DIR/g1"
head -c 4096 /dev/urandom >"$T_DIR/g2"
head -c 70000 /dev/urandom >"$T_DIR/g3"
# inode 100 index 0, inode 100 index 1, inode 101 index 0
GOOD="1 100 0 g1
1 100 1 g2
1 101 0 g3"

declare -A CRC=() # file -> the chunk crc its write answered
while read -r tg ino idx f; do
	c "good-$f" write "$tg" "$ino" "$idx" 0 "@$T_DIR/$f" --chunk-size $CS
	t_is "$(val status)" "0 (ok)" "write $f (inode $ino index $idx)"
	t_is "$(val version)/$(val chunk_length)" "1/$(wc -c <"$T_DIR/$f")" \
		"... version 1, chunk length = bytes written"
	CRC[$f]=$(val chunk_crc)
	readback "good-$f" "$tg" "$ino" "$idx" 0 $MiB "$T_DIR/$f.before"
	t_ok "... reads back byte-identical" cmp -s "$T_DIR/$f" "$T_DIR/$f.before"
done <<<"$GOOD"

c space-before space
t_like "$OUT" '^target 1 state 0 .* chunks 3$' "space: target 1, 3 chunks"
chunks_before=$(val target | sed 's/.* chunks //')

# ---- writes that must be refused ---------------------------------------------

before=$(srv_lines)
c badcrc write 1 100 0 0 0102030405060708 --crc deadbeef --chunk-size $CS
t_is "$(val status)" "-2006 (ECRC)" \
	"write whose crc does not match its payload: -FFFS_ECRC"
t_ok "... the log names the chunk and the checksums" wait_for 5 srv_gained \
	"$before" 'write to inode 0x64 index 0 of target 1: payload checksum [0-9a-f]{8}, the writer sent deadbeef'

head -c 4096 /dev/urandom >"$T_DIR/whole"
c badcrc-whole write 1 100 1 0 "@$T_DIR/whole" --crc 1 --chunk-size $CS
t_is "$(val status)" "-2006 (ECRC)" \
	"... also when it would replace the whole chunk"

c badcrc-new write 1 102 0 0 0102 --crc 1 --chunk-size $CS
t_is "$(val status)" "-2006 (ECRC)" "... also for a chunk that does not exist"
c badcrc-new-read read 1 102 0 0 100
t_like "$OUT" '^item 0 status -2 \(ENOENT\)' "... which still does not exist"

before=$(srv_lines)
c past-cs write 1 100 1 $((MiB - 10)) 0102030405060708090a0b0c --chunk-size $CS
t_is "$(val status)" "-22 (EINVAL)" \
	"write with offset + length beyond chunk_size: -EINVAL"
t_ok "... the log says the range is outside the chunk" wait_for 5 srv_gained \
	"$before" "write to inode 0x64 index 1 of target 1: range \\[$((MiB - 10)), $((MiB + 2))\\) is outside the chunk"

c past-64m write 1 100 1 $((64 * MiB - 4)) 0102030405060708
t_is "$(val status)" "-22 (EINVAL)" \
	"write with offset + length beyond 64 MiB (no chunk_size): -EINVAL"
c past-64m-cs write 1 103 0 0 01020304 --chunk-size $((128 * MiB))
t_is "$(val status)" "-22 (EINVAL)" "write with chunk_size 128 MiB: -EINVAL"
c huge-off write 1 100 1 4294967295 0102
t_is "$(val status)" "-22 (EINVAL)" \
	"write whose offset + length overflows 32 bits: -EINVAL"

c bulk-short write 1 100 0 0 010203 --length 5 --chunk-size $CS
t_like "$(val status)" '^-[0-9]+ ' \
	"write whose bulk is shorter than its length field: an error"
c bulk-long write 1 100 0 0 010203 --length 2 --chunk-size $CS
t_like "$(val status)" '^-[0-9]+ ' \
	"write whose bulk is longer than its length field: an error"

c nodev write 99 100 0 0 0102 --chunk-size $CS
t_is "$(val status)" "-19 (ENODEV)" "write to an unknown target: -ENODEV"

c trunc-past-cs truncate 1 100 1 $((MiB + 1)) --chunk-size $CS
t_is "$(val status)" "-22 (EINVAL)" "truncate beyond chunk_size: -EINVAL"
c trunc-past-64m truncate 1 100 1 $((64 * MiB + 1))
t_is "$(val status)" "-22 (EINVAL)" "truncate beyond 64 MiB: -EINVAL"
c trunc-nodev truncate 99 100 1 10
t_is "$(val status)" "-19 (ENODEV)" "truncate on an unknown target: -ENODEV"

# ---- reads -------------------------------------------------------------------

# good, missing index, good, unknown target, part of a good one
c batch read 1 100 0 0 $MiB 1 100 7 0 100 1 100 1 0 $MiB 99 100 0 0 10 \
	1 101 0 65530 100 --out "$T_DIR/batch.bulk" --no-data
t_is "$(val status)" "0 (ok)" "read batch with missing chunks: answered"
t_is "$(grep -o '^item [0-9] status [-0-9]*' <<<"$OUT" | tr '\n' ' ')" \
	"item 0 status 0 item 1 status -2 item 2 status 0 item 3 status -19 item 4 status 0 " \
	"... missing chunk -ENOENT, unknown target -ENODEV, the rest ok"
t_like "$OUT" '^item 4 status 0 \(ok\) length 100 crc [0-9a-f]+ version 1 crc-check ok$' \
	"... a range inside a chunk: its length, version and a matching crc"
{ cat "$T_DIR/g1" "$T_DIR/g2"; dd if="$T_DIR/g3" bs=1 skip=65530 count=100 \
	status=none; } >"$T_DIR/batch.want"
t_ok "... the good items return their bytes, in order" \
	cmp -s "$T_DIR/batch.want" "$T_DIR/batch.bulk"

c past-end read 1 100 1 5000 100 + read 1 100 1 4096 1 + read 1 100 1 4000 1000
t_like "$OUT" '^1: item 0 status 0 \(ok\) length 0 ' \
	"read at an offset beyond the chunk's length: ok, 0 bytes"
t_like "$OUT" '^2: item 0 status 0 \(ok\) length 0 ' \
	"read at offset = chunk length: ok, 0 bytes"
t_like "$OUT" '^3: item 0 status 0 \(ok\) length 96 .*crc-check ok$' \
	"read crossing the chunk's end: clipped to the end"

before=$(srv_lines)
c too-much read 1 100 0 0 $((40 * MiB)) 1 100 1 0 $((40 * MiB)) + ping
t_like "$OUT" '^1: status -22 \(EINVAL\)' \
	"read batch asking for 80 MiB (more than rpc_max_bulk): -EINVAL"
t_like "$OUT" '^2: status 0 \(ok\)' "... the next request works"
t_ok "... the log says why" wait_for 5 srv_gained "$before" \
	'read batch from 127\.0\.0\.1:[0-9]+.* asks for 83886080 bytes, more than rpc_max_bulk'

# ---- malformed bodies: -FFFS_EBADFRAME, and the connection goes on -----------

wbody=$(hexpack QIIQIIIIIQQ 1 0 0 100 0 0 2 $CS 0 7 1)
range=$(hexpack QIIQIII 1 0 0 100 0 0 10)
"$PY" -c 'import struct, sys
sys.stdout.buffer.write(struct.pack("<I", 4097) +
    struct.pack("<QIIQIII", 1, 0, 0, 100, 0, 0, 1) * 4097)' >"$T_DIR/n4097.body"
c malformed \
	raw 30 "${wbody:0:40}" --bulk 0102 + ping + \
	raw 31 "$(hexpack I 2)$range" + ping + \
	raw 31 "@$T_DIR/n4097.body" + ping + \
	raw 31 "$(hexpack I 1)${range}00" + ping + \
	raw 32 "$(hexpack I 3)$(hexpack QIIQI 1 0 0 100 0)" + \
	raw 33 "$(hexpack QIIQII 1 0 0 100 0 5)" + \
	raw 34 "$(hexpack Q 1)" + \
	raw 36 "$(hexpack QQI 1 0 0)" + space
t_is "$RC" 0 "malformed bodies on one connection: every request answered"
t_like "$OUT" '^1: status -2001 \(EBADFRAME\)' \
	"write with a truncated body: -FFFS_EBADFRAME"
t_like "$OUT" '^2: status 0 \(ok\)' "... the next request on the connection works"
t_like "$OUT" '^3: status -2001 \(EBADFRAME\)' \
	"read batch with n larger than the body: -FFFS_EBADFRAME"
t_like "$OUT" '^4: status 0 \(ok\)' "... the next request works"
t_like "$OUT" '^5: status -2001 \(EBADFRAME\)' \
	"read batch with n = 4097 (more than 4096): -FFFS_EBADFRAME"
t_like "$OUT" '^6: status 0 \(ok\)' "... the next request works"
t_like "$OUT" '^7: status -2001 \(EBADFRAME\)' \
	"read batch with a trailing byte: -FFFS_EBADFRAME"
t_like "$OUT" '^8: status 0 \(ok\)' "... the next request works"
t_like "$OUT" '^9: status -2001 \(EBADFRAME\)' \
	"remove batch with n larger than the body: -FFFS_EBADFRAME"
t_like "$OUT" '^10: status -2001 \(EBADFRAME\)' \
	"truncate with a truncated body: -FFFS_EBADFRAME"
t_like "$OUT" '^11: status -2001 \(EBADFRAME\)' \
	"query_last with a truncated body: -FFFS_EBADFRAME"
t_like "$OUT" '^12: status -2001 \(EBADFRAME\)' \
	"dump with a truncated body: -FFFS_EBADFRAME"
t_like "$OUT" "^13: target 1 state 0 .* chunks $chunks_before\$" \
	"... and space still answers on that connection"

# ---- nothing else was disturbed ----------------------------------------------

while read -r tg ino idx f; do
	readback "after-$f" "$tg" "$ino" "$idx" 0 $MiB "$T_DIR/$f.after"
	t_ok "$f reads back byte-identical after the bad requests" \
		cmp -s "$T_DIR/$f" "$T_DIR/$f.after"
	t_like "$OUT" \
		"^item 0 status 0 \\(ok\\) length [0-9]+ crc ${CRC[$f]} version 1 " \
		"... still version 1 with its crc"
done <<<"$GOOD"
c space-after space
t_is "$(val target | sed 's/.* chunks //')" "$chunks_before" \
	"space shows the same chunk count"
t_ok "server still runs" t_alive srv

# ---- write and read semantics ------------------------------------------------

I=200
head -c 8192 /dev/urandom >"$T_DIR/s.want"
c s-first write 1 $I 0 0 "@$T_DIR/s.want" --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 1/8192 "write 8 KiB: version 1"

head -c 100 /dev/urandom >"$T_DIR/s.mid"
dd if="$T_DIR/s.mid" of="$T_DIR/s.want" bs=1 seek=3000 conv=notrunc status=none
c s-mid write 1 $I 0 3000 "@$T_DIR/s.mid" --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 2/8192 \
	"overwrite 100 bytes in the middle: version 2, same length"
readback s-mid 1 $I 0 0 $MiB "$T_DIR/s.got"
t_ok "... reads back the old bytes around the new ones" \
	cmp -s "$T_DIR/s.want" "$T_DIR/s.got"

head -c 5000 /dev/urandom >"$T_DIR/s.app"
cat "$T_DIR/s.app" >>"$T_DIR/s.want"
c s-app write 1 $I 0 8192 "@$T_DIR/s.app" --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 3/13192 \
	"append 5000 bytes at the end: version 3, length 13192"
readback s-app 1 $I 0 0 $MiB "$T_DIR/s.got"
t_ok "... reads back old + appended bytes" cmp -s "$T_DIR/s.want" "$T_DIR/s.got"

truncate -s 20000 "$T_DIR/s.want"
printf 'holeyhole!' >>"$T_DIR/s.want"
c s-hole write 1 $I 0 20000 686f6c6579686f6c6521 --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 4/20010 \
	"write 10 bytes at 20000, past the end: version 4, length 20010"
readback s-hole 1 $I 0 0 $MiB "$T_DIR/s.got"
t_ok "... reads back with zeros in the hole" cmp -s "$T_DIR/s.want" "$T_DIR/s.got"
readback s-hole2 1 $I 0 13192 6808 "$T_DIR/s.hole"
t_ok "... the hole alone is 6808 zero bytes" cmp -s "$T_DIR/s.hole" \
	<(head -c 6808 /dev/zero)

c s-shrink truncate 1 $I 0 6000 --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 5/6000 \
	"truncate to 6000: version 5, length 6000"
readback s-shrink 1 $I 0 0 $MiB "$T_DIR/s.got"
t_ok "... reads back the first 6000 bytes" \
	cmp -s "$T_DIR/s.got" <(head -c 6000 "$T_DIR/s.want")

c s-grow truncate 1 $I 0 12000 --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 6/12000 \
	"truncate up to 12000: version 6, length 12000"
readback s-grow 1 $I 0 0 $MiB "$T_DIR/s.got"
t_ok "... the first 6000 bytes kept, the rest zeros (not the old bytes)" \
	cmp -s "$T_DIR/s.got" \
	<(head -c 6000 "$T_DIR/s.want"; head -c 6000 /dev/zero)

c s-same truncate 1 $I 0 12000 --chunk-size $CS
t_is "$(val status) $(val chunk_length)" "0 (ok) 12000" \
	"truncate to the current length: ok, length unchanged"

# a write from offset 0 covering the whole chunk replaces it; a shorter one
# from offset 0 keeps the rest
head -c 5000 /dev/urandom >"$T_DIR/w.a"
head -c 6000 /dev/urandom >"$T_DIR/w.b"
head -c 100 /dev/urandom >"$T_DIR/w.c"
c whole write 1 205 0 0 "@$T_DIR/w.a" --chunk-size $CS + \
	write 1 205 0 0 "@$T_DIR/w.b" --chunk-size $CS
t_like "$OUT" '^2: version 2$' "a longer write from offset 0: version 2"
readback whole 1 205 0 0 $MiB "$T_DIR/w.got"
t_ok "... the chunk is exactly the new bytes" cmp -s "$T_DIR/w.b" "$T_DIR/w.got"
c whole-head write 1 205 0 0 "@$T_DIR/w.c" --chunk-size $CS
t_is "$(val version)/$(val chunk_length)" 3/6000 \
	"100 bytes at offset 0 of it: version 3, length 6000"
readback whole-head 1 205 0 0 $MiB "$T_DIR/w.got"
t_ok "... the new 100 bytes, then the old rest" cmp -s "$T_DIR/w.got" \
	<(cat "$T_DIR/w.c"; tail -c +101 "$T_DIR/w.b")

c s-rm remove 1 $I 0 + read 1 $I 0 0 100 + remove 1 $I 0
t_like "$OUT" '^1: item 0 status 0 \(ok\)$' "remove: ok"
t_like "$OUT" '^2: item 0 status -2 \(ENOENT\)' "... a read after it: -ENOENT"
t_like "$OUT" '^3: item 0 status -2 \(ENOENT\)$' \
	"... removing it again: -ENOENT"
c s-rm-nodev remove 99 $I 0
t_like "$OUT" '^item 0 status -19 \(ENODEV\)$' \
	"remove on an unknown target: -ENODEV"

# query_last over several chunk indexes of one inode, written out of order
c last-ino write 1 201 0 0 "@$T_DIR/g1" --chunk-size $CS + \
	write 1 201 5 0 "$(head -c 777 /dev/zero | od -An -tx1 -v | tr -d ' \n')" \
	--chunk-size $CS + \
	write 1 201 1 0 "@$T_DIR/g2" --chunk-size $CS + \
	write 1 201 3 0 0102 --chunk-size $CS
t_is "$(grep -c ': status 0 (ok)$' <<<"$OUT")" 4 \
	"writes of indexes 0, 5, 1, 3 of inode 201"
c last last 1 201
t_is "$(val status) $(val index) $(val length)" "0 (ok) 5 777" \
	"query_last: the highest index (5) and its length (777)"
c last-none last 1 202 + last 1 200 + last 99 201
t_like "$OUT" '^1: status -2 \(ENOENT\)' \
	"query_last of an inode without chunks: -ENOENT"
t_like "$OUT" '^2: status -2 \(ENOENT\)' \
	"query_last of an inode whose only chunk was removed: -ENOENT"
t_like "$OUT" '^3: status -19 \(ENODEV\)' \
	"query_last on an unknown target: -ENODEV"

# versions go up by one per write
c versions write 1 203 0 0 "@$T_DIR/g2" --chunk-size $CS + \
	write 1 203 0 4096 0102 --chunk-size $CS + \
	write 1 203 0 0 010203 --chunk-size $CS
t_is "$(sed -n 's/^[0-9]: version //p' <<<"$OUT" | tr '\n' ' ')" "1 2 3 " \
	"three writes to one chunk: versions 1, 2, 3"

# a retried write: same (client, req_id), applied once
head -c 64 /dev/urandom >"$T_DIR/x"
head -c 64 /dev/urandom >"$T_DIR/y"
c retry write 1 204 0 0 "@$T_DIR/x" --client 77 --req-id 5 --chunk-size $CS + \
	write 1 204 0 0 "@$T_DIR/y" --client 77 --req-id 5 --chunk-size $CS + \
	write 1 204 0 0 "@$T_DIR/x" --client 77 --req-id 5 --chunk-size $CS
t_like "$OUT" '^1: version 1$' "write (client 77, req 5): version 1"
t_like "$OUT" '^2: status 0 \(ok\)$' "... its retry with other data: ok"
t_like "$OUT" '^2: version 1$' "... and the same version 1"
t_like "$OUT" '^3: version 1$' "... a second retry: version 1 again"
readback retry 1 204 0 0 $MiB "$T_DIR/x.got"
t_ok "... the content is the first write's" cmp -s "$T_DIR/x" "$T_DIR/x.got"
t_like "$OUT" '^item 0 .* version 1 ' "... and the chunk is at version 1"
c retry-next write 1 204 0 64 0102030405060708 --client 77 --req-id 6 \
	--chunk-size $CS + write 1 204 0 0 01 --client 78 --req-id 5 \
	--chunk-size $CS
t_like "$OUT" '^1: version 2$' "the client's next request (req 6): version 2"
t_like "$OUT" '^2: version 3$' \
	"another client with the same req_id is not a retry: version 3"
c retry-trunc truncate 1 204 0 10 --client 77 --req-id 9 --chunk-size $CS + \
	truncate 1 204 0 50 --client 77 --req-id 9 --chunk-size $CS
t_like "$OUT" '^1: version 4$' "truncate (client 77, req 9): version 4"
t_like "$OUT" '^2: chunk_length 10$' \
	"... its retry (with another length) is not applied again"
t_like "$OUT" '^2: version 4$' "... and answers version 4"

# dump: every chunk, in (inode, index) order, with length and version
want_dump="chunk inode 100 index 0 length 10000 committed 1 pending 0 chain_ver 0
chunk inode 100 index 1 length 4096 committed 1 pending 0 chain_ver 0
chunk inode 101 index 0 length 70000 committed 1 pending 0 chain_ver 0
chunk inode 201 index 0 length 10000 committed 1 pending 0 chain_ver 0
chunk inode 201 index 1 length 4096 committed 1 pending 0 chain_ver 0
chunk inode 201 index 3 length 2 committed 1 pending 0 chain_ver 0
chunk inode 201 index 5 length 777 committed 1 pending 0 chain_ver 0
chunk inode 203 index 0 length 4098 committed 3 pending 0 chain_ver 0
chunk inode 204 index 0 length 10 committed 4 pending 0 chain_ver 0
chunk inode 205 index 0 length 6000 committed 3 pending 0 chain_ver 0"
c dump dump 1
t_is "$(val status) $(val n) $(val more)" "0 (ok) 10 0" \
	"dump: 10 chunks, no more"
t_is "$(grep '^chunk ' <<<"$OUT" | sed 's/ crc [0-9a-f]*$//')" "$want_dump" \
	"... every chunk with its length and version"
t_like "$OUT" "^chunk inode 100 index 0 length 10000 .* crc ${CRC[g1]}\$" \
	"... and its crc"
dump_all=$OUT
c dump-page dump 1 --start-inode 201 --start-index 1 --max 3
t_is "$(grep '^chunk ' <<<"$OUT" | cut -d' ' -f3,5 | tr '\n' ' ')$(val more)" \
	"201 1 201 3 201 5 1" \
	"dump from inode 201 index 1, at most 3: those 3, and more to come"
c space-end space
t_like "$OUT" '^target 1 state 0 .* chunks 10$' "space: 10 chunks"

t_unlike "$(t_err srv)" ' error: |assert' "server logged no error"
kill -TERM "$(t_pid srv)"
t_wait_exit srv 10
t_is "$?" 0 "server exits 0 on SIGTERM"

# ---- the same after a restart ------------------------------------------------

start_storage srv2 || t_bail "fffs storage starts again on the same target"
t_like "$(t_err srv2)" 'target 1 .* open: 10 chunks' \
	"restarted: the target opens with 10 chunks"
c dump-restart dump 1
t_is "$OUT" "$dump_all" "dump after the restart is the same"
readback restart-g3 1 101 0 0 $MiB "$T_DIR/g3.restart"
t_ok "g3 reads back byte-identical after the restart" \
	cmp -s "$T_DIR/g3" "$T_DIR/g3.restart"
kill -TERM "$(t_pid srv2)"
t_wait_exit srv2 10
t_is "$?" 0 "restarted server exits 0 on SIGTERM"

t_done
