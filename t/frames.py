#!/usr/bin/env python3
"""t/frames.py - raw frames against an fffs server, for t/0700-fault-bad-frames.t.

    frames.py selftest                 check the CRC32C and header code
    frames.py [options] PORT CASE      run one case against 127.0.0.1:PORT
    frames.py list                     name the cases

A case opens one TCP connection, sends something a well-behaved peer never
sends, then reads until the server closes the connection (at most --wait
seconds). It prints one line per frame the server sent back and one line
on how the connection ended, and exits 0 when the server did what the case
expects: close the connection (EOF, not a reset and not silence), after a
refusal frame with the expected status and reason when the protocol says
one is due. Exit 1 otherwise, 2 on usage errors.

Python 3 standard library only. The 40-byte header is the one documented in
net/frame.h (little-endian):
     0 u32 magic   4 u16 version   6 u16 type   8 u32 flags  12 i32 status
    16 u64 req_id 24 u32 body_len 28 u32 bulk_len 32 u32 reserved
    36 u32 hdr_crc (CRC32C of bytes 0..35)
Handshake bodies are the ones in net/auth.h and net/proto.h; str is a u16
length and the bytes.
"""

import os
import re
import socket
import struct
import sys
import time

FRAME_MAGIC = 0x53464646  # "FFFS"
FRAME_VERSION = 1
HDR_LEN = 40
F_RESPONSE = 1
F_ONEWAY = 2

MSG_HELLO = 1
MSG_AUTH = 2
MSG_PING = 10

ROLE_BENCH = 6

EBADFRAME = 2001
EBADVERSION = 2003
EAUTH = 2005

# ---- CRC32C (Castagnoli), reflected polynomial 0x82F63B78 ------------------


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data, crc=0):
    """Standard CRC32C of data; chain by passing the previous result."""
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


# ---- frames -----------------------------------------------------------------


def header(type_, body_len=0, bulk_len=0, flags=0, status=0, req_id=0,
           version=FRAME_VERSION, magic=FRAME_MAGIC, reserved=0,
           crc_delta=0):
    """A 40-byte header; crc_delta != 0 spoils the checksum on purpose."""
    head = struct.pack("<IHHIiQIII", magic, version, type_, flags, status,
                       req_id, body_len, bulk_len, reserved)
    assert len(head) == 36
    return head + struct.pack("<I", (crc32c(head) ^ crc_delta) & 0xFFFFFFFF)


def frame(type_, body=b"", **kw):
    return header(type_, body_len=len(body), **kw) + body


def parse_header(buf):
    """(fields dict, None) or (None, why) for 40 bytes from the server."""
    (magic, version, type_, flags, status, req_id, body_len, bulk_len,
     reserved, crc) = struct.unpack("<IHHIiQIIII", buf[:HDR_LEN])
    if magic != FRAME_MAGIC:
        return None, "bad magic 0x%08x" % magic
    if crc != crc32c(buf[:36]):
        return None, "bad header CRC 0x%08x" % crc
    if reserved:
        return None, "reserved field %u" % reserved
    return dict(version=version, type=type_, flags=flags, status=status,
                req_id=req_id, body_len=body_len, bulk_len=bulk_len), None


def pack_str(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


def unpack_str(body):
    """The str at the start of body and what follows, or (None, body)."""
    if len(body) < 2:
        return None, body
    (n,) = struct.unpack("<H", body[:2])
    if len(body) < 2 + n:
        return None, body
    return body[2:2 + n].decode("utf-8", "replace"), body[2 + n:]


def hello_body(proto_min=1, proto_max=1, cluster="fffs", node=0,
               role=ROLE_BENCH, nonce=None):
    return (struct.pack("<HH", proto_min, proto_max) + pack_str(cluster) +
            struct.pack("<IB", node, role) + (nonce or os.urandom(32)))


# ---- talking to the server ------------------------------------------------


class Peer:
    def __init__(self, port, wait):
        self.wait = wait
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.frames = []  # (fields, body)
        self.ended = None  # "eof", "reset", "timeout" or a complaint
        self.t0 = time.monotonic()

    def send(self, data):
        self.sock.sendall(data)

    def shut_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _parse(self):
        while len(self.buf) >= HDR_LEN:
            h, why = parse_header(self.buf)
            if not h:
                self.ended = "server sent a bad header: " + why
                return
            need = HDR_LEN + h["body_len"] + h["bulk_len"]
            if len(self.buf) < need:
                return
            body = self.buf[HDR_LEN:HDR_LEN + h["body_len"]]
            self.frames.append((h, body))
            self.buf = self.buf[need:]

    def read_frame(self):
        """Read until one frame arrived (or the connection ended)."""
        n = len(self.frames)
        while len(self.frames) == n and not self.ended:
            self._recv()
        return self.frames[n] if len(self.frames) > n else None

    def read_to_end(self):
        """Read until the server closes the connection or --wait passes."""
        while not self.ended:
            self._recv()
        self.sock.close()

    def _recv(self):
        left = self.wait - (time.monotonic() - self.t0)
        if left <= 0:
            self.ended = "timeout"
            return
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self.ended = "timeout"
            return
        except ConnectionResetError:
            self.ended = "reset"
            return
        if not data:
            self.ended = "eof"
            if self.buf:
                self.ended = "eof with %d stray bytes" % len(self.buf)
            return
        self.buf += data
        self._parse()


def describe(h, body):
    reason, rest = unpack_str(body)
    s = "frame type %d flags %d status %d body %d bytes" % (
        h["type"], h["flags"], h["status"], h["body_len"])
    if h["status"] < 0 and reason is not None and not rest:
        s += " reason '%s'" % reason
    return s


# ---- the cases ------------------------------------------------------------
# Each returns the expected refusal (type, status, reason regex) or None
# when the server should close without a word.


def case_garbage(p):
    junk = bytearray(os.urandom(64))
    junk[0:4] = b"JUNK"  # never the magic by chance
    p.send(bytes(junk))


def case_bad_magic(p):
    body = hello_body()
    p.send(frame(MSG_HELLO, body, magic=0x46464653))


def case_reserved(p):
    body = hello_body()
    p.send(frame(MSG_HELLO, body, reserved=1))


def case_bad_crc(p):
    body = hello_body()
    p.send(frame(MSG_HELLO, body, crc_delta=1))


def case_bad_flags(p):
    body = hello_body()
    p.send(frame(MSG_HELLO, body, flags=F_RESPONSE | F_ONEWAY))


def case_too_big(p):
    p.send(header(MSG_HELLO, body_len=1 << 30))


def case_bulk_too_big(p):
    p.send(header(MSG_HELLO, body_len=0, bulk_len=0xFFFFFFFF))


def case_truncated(p):
    p.send(frame(MSG_HELLO, hello_body())[:20])
    p.shut_write()


def case_truncated_body(p):
    p.send(frame(MSG_HELLO, hello_body())[:HDR_LEN + 10])
    p.shut_write()


def case_version(p):
    p.send(frame(MSG_HELLO, hello_body(), version=9))
    return (MSG_HELLO, -EBADVERSION, r"frame version 9.*\b1\b")


def case_proto(p):
    p.send(frame(MSG_HELLO, hello_body(proto_min=7, proto_max=9)))
    return (MSG_HELLO, -EBADVERSION, r"protocol 7\.\.9, this server speaks 1\.\.1")


def case_malformed_hello(p):
    p.send(frame(MSG_HELLO, b"\x01\x00\x01"))
    return (MSG_HELLO, -EBADFRAME, r"malformed HELLO \(3 bytes\)")


def case_bad_role(p):
    p.send(frame(MSG_HELLO, hello_body(role=0)))
    return (MSG_HELLO, -EBADFRAME, r"invalid role 0")


def case_ping_first(p):
    p.send(frame(MSG_PING, struct.pack("<Q", 1), req_id=1))
    return (MSG_PING, -EAUTH, r"before authentication")


def case_bulk_in_handshake(p):
    body = hello_body()
    p.send(header(MSG_HELLO, body_len=len(body), bulk_len=16) + body +
           b"\0" * 16)


def case_bad_auth(p):
    """A proper HELLO, then an AUTH whose MAC is not made with the secret."""
    p.send(frame(MSG_HELLO, hello_body()))
    got = p.read_frame()
    if not got:
        raise CaseError("no CHALLENGE (connection %s)" % p.ended)
    h, body = got
    if (h["type"], h["flags"], h["status"]) != (MSG_HELLO, F_RESPONSE, 0):
        raise CaseError("expected a CHALLENGE, got " + describe(h, body))
    print("challenge: %d bytes" % len(body))
    p.frames.clear()
    p.send(frame(MSG_AUTH, b"\0" * 32))
    return (MSG_AUTH, -EAUTH, r"failed authentication: wrong cluster secret")


def case_silent(p):
    """Connect and say nothing: the set-up deadline closes it."""


class CaseError(Exception):
    pass


CASES = {name[5:].replace("_", "-"): fn for name, fn in sorted(globals().items())
         if name.startswith("case_")}


def run_case(port, name, wait):
    p = Peer(port, wait)
    try:
        want = CASES[name](p)
    except (BrokenPipeError, ConnectionResetError) as e:
        # The server may close before we are done sending; that is an
        # answer too, but not the clean one we test for.
        print("case %s: sending failed: %s" % (name, e))
        return 1
    p.read_to_end()
    secs = time.monotonic() - p.t0
    for h, body in p.frames:
        print(describe(h, body))
    print("connection: %s after %.2f s" % (p.ended, secs))

    ok = True
    if p.ended != "eof":
        print("FAIL: expected the server to close the connection (EOF) "
              "within %g s" % wait)
        ok = False
    if want is None:
        if p.frames:
            print("FAIL: expected no frame before the close")
            ok = False
    else:
        type_, status, reason_re = want
        if len(p.frames) != 1:
            print("FAIL: expected one refusal frame, got %d" % len(p.frames))
            ok = False
        else:
            h, body = p.frames[0]
            reason, rest = unpack_str(body)
            if h["type"] != type_ or h["flags"] != F_RESPONSE:
                print("FAIL: refusal should be a response of type %d" % type_)
                ok = False
            if h["status"] != status:
                print("FAIL: refusal status %d, expected %d" %
                      (h["status"], status))
                ok = False
            if reason is None or rest or not re.search(reason_re, reason):
                print("FAIL: refusal reason should be a str matching /%s/" %
                      reason_re)
                ok = False
    print("case %s: %s" % (name, "ok" if ok else "FAILED"))
    return 0 if ok else 1


def selftest():
    ok = True

    def check(cond, what):
        nonlocal ok
        print("%s - %s" % ("ok" if cond else "FAILED", what))
        ok = ok and cond

    check(crc32c(b"123456789") == 0xE3069283, "crc32c check value")
    check(crc32c(b"") == 0, "crc32c of nothing")
    check(crc32c(b"6789", crc32c(b"12345")) == 0xE3069283, "crc32c chains")
    h = header(MSG_PING, body_len=8, req_id=7)
    check(len(h) == HDR_LEN, "header is 40 bytes")
    f, why = parse_header(h)
    check(f is not None and f["type"] == MSG_PING and f["req_id"] == 7 and
          f["body_len"] == 8, "header round trip")
    check(parse_header(header(MSG_PING, crc_delta=1))[0] is None,
          "spoiled CRC detected")
    check(len(hello_body()) == 2 + 2 + 2 + 4 + 4 + 1 + 32, "HELLO body size")
    return 0 if ok else 1


def main(argv):
    args = argv[1:]
    wait = 5.0
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--wait" and args:
            wait = float(args.pop(0))
        elif opt == "--tag" and args:
            args.pop(0)  # only there to name the test's directory
        else:
            sys.stderr.write("frames.py: unknown option %s\n" % opt)
            return 2
    if args == ["selftest"]:
        return selftest()
    if args == ["list"]:
        print("\n".join(CASES))
        return 0
    if len(args) != 2 or args[1] not in CASES or not args[0].isdigit():
        sys.stderr.write(__doc__)
        return 2
    try:
        return run_case(int(args[0]), args[1], wait)
    except CaseError as e:
        print("case %s: FAILED: %s" % (args[1], e))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
