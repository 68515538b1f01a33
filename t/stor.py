#!/usr/bin/env python3
"""t/stor.py - a small authenticated client of the storage protocol, for tests.

    stor.py selftest
    stor.py [global options] PORT SECRET_FILE COMMAND [ARGS] [+ COMMAND ...]

Connects to 127.0.0.1:PORT, runs the handshake of net/auth.h with the
cluster secret in SECRET_FILE (and checks the server's MAC), then sends the
commands one after another on that one connection, each waiting for its
answer. Commands:

    write TARGET INODE INDEX OFFSET DATA [--crc X] [--chunk-size N]
          [--length N] [--client C] [--req-id R] [--chain C --chain-ver V]
        DATA is hex digits, "" (nothing) or @FILE. --crc (hex) replaces the
        CRC32C of the payload, --length the length field (the payload sent
        stays DATA). --client/--req-id default to a random client id of this
        process and a counter.
    read TARGET INODE INDEX OFFSET LEN [TARGET INODE INDEX OFFSET LEN ...]
         [--out FILE] [--no-data] [--chain C --chain-ver V]
        One batch. --out writes the reply's bulk (every ok range, in order).
        --chain (and the chain version) address the targets as members of
        chain C (chain/craq_srv.h); without, the targets alone.
    remove TARGET INODE INDEX [TARGET INODE INDEX ...] [--chain C --chain-ver V]
    truncate TARGET INODE INDEX LENGTH [--chunk-size N] [--client C]
             [--req-id R] [--chain C --chain-ver V]
    last TARGET INODE
    space
    dump TARGET [--start-inode I] [--start-index X] [--max M]
    ping
    raw TYPE BODY [--bulk DATA]
        BODY and DATA as for write; prints the answer's status and body.
    watch TARGET INODE INDEX OFFSET LEN [--chain C --chain-ver V]
          [--every MS] [--until STATUS] [--max-s S]
        The read again and again (every MS ms, default 50) on the one
        connection until an item's status is STATUS (default 0) or S s
        passed, printing "watch SENT_MS ANSWERED_MS STATUS (NAME)" for
        each (wall clock, ms since the epoch).
    wait FILE
        Sends nothing; waits (up to 120 s) until FILE exists, so that the
        next command leaves on the open connection at a moment of the
        test's choosing.

Numbers are decimal or 0x-hex. Output, one fact a line:
    status S (NAME)                  every command; S is the frame status
    version V / chunk_length L / chunk_crc C      write, truncate (status 0)
    n N / item K status S (NAME) length L crc C version V crc-check ok|BAD
    data K HEX                       read (unless --no-data, and L > 0)
    index X / length L               last
    target T state S capacity C used U free F chunks N      space
    chunk inode I index X length L committed V pending P chain_ver C crc X
    more 0|1                         dump
    reason TEXT                      a refusal with a reason string
    body HEX / bulk_len N            raw
With more than one command every line starts with "K: " (K from 1).

Global options: --cluster NAME (default fffs), --node N (0), --role N
(4, client), --timeout SECONDS (10), --tag X (ignored; lets a test put its
directory on the command line).

Exit status: 0 when the server answered every command (whatever status),
1 on usage errors or an answer that does not decode, 2 when the connection
or the handshake failed (or the server closed the connection instead of
answering).

Python 3 standard library only; frame headers and CRC32C come from
t/frames.py. The handshake (net/auth.c):
    transcript = BLAKE2b-256(HELLO body || CHALLENGE body without its MAC)
    server MAC = HMAC-SHA-512(secret, "fffs-server" || transcript)[:32]
    client MAC = HMAC-SHA-512(secret, "fffs-client" || transcript)[:32]
"""

import errno
import hashlib
import hmac
import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import frames  # noqa: E402
from frames import HDR_LEN, F_RESPONSE, crc32c  # noqa: E402

MSG_HELLO = 1
MSG_AUTH = 2
MSG_PING = 10
MSG_WRITE = 30
MSG_READ = 31
MSG_REMOVE = 32
MSG_TRUNCATE = 33
MSG_QUERY_LAST = 34
MSG_SPACE = 35
MSG_DUMP = 36

ROLE_CLIENT = 4
NONCE_LEN = 32
MAC_LEN = 32

# fffs.h FFFS_ERRORS; below 2000 the errno names of this system.
FFFS_ERRNAMES = {
    2001: "EBADFRAME", 2002: "ETOOBIG", 2003: "EBADVERSION",
    2004: "EBADCLUSTER", 2005: "EAUTH", 2006: "ECRC", 2007: "EUNKNOWNMSG",
    2008: "ECONFIG", 2009: "ESHUTDOWN", 2010: "ECHAINVER",
    2011: "ENOTSERVING", 2012: "EREMOTE", 2013: "EVERSION",
    2014: "ENOTHEAD", 2015: "EFENCED", 2016: "EDIRTY",
}


def errname(status):
    if status == 0:
        return "ok"
    if -status in FFFS_ERRNAMES:
        return FFFS_ERRNAMES[-status]
    return errno.errorcode.get(-status, "?")


class ConnError(Exception):
    """The connection or the handshake failed: exit 2."""


class Malformed(Exception):
    """An answer that does not decode: exit 1."""


class Usage(Exception):
    pass


# ---- crypto -----------------------------------------------------------------


def transcript_hash(hello_body, challenge_wo_mac):
    return hashlib.blake2b(hello_body + challenge_wo_mac,
                           digest_size=32).digest()


def mac(key, label, thash):
    """libsodium crypto_auth: HMAC-SHA-512 truncated to 32 bytes."""
    return hmac.new(key, label + thash, hashlib.sha512).digest()[:MAC_LEN]


def load_secret(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as e:
        raise ConnError("cannot read secret file '%s': %s" % (path, e))
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConnError("secret file '%s': expected 64 hex digits" % path)
    return key


# ---- bodies -----------------------------------------------------------------


class Reader:
    """Little-endian fields off a body; Malformed when it runs short."""

    def __init__(self, body, what):
        self.b = body
        self.p = 0
        self.what = what

    def take(self, n):
        if self.p + n > len(self.b):
            raise Malformed("%s: body of %d bytes is too short" %
                            (self.what, len(self.b)))
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def i32(self):
        return struct.unpack("<i", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def str_(self):
        return self.take(self.u16())

    def left(self):
        return len(self.b) - self.p

    def finish(self):
        if self.p != len(self.b):
            raise Malformed("%s: %d trailing bytes in a body of %d" %
                            (self.what, len(self.b) - self.p, len(self.b)))


def reason_of(body):
    """The refusal/err reason string of a body, or None."""
    r = Reader(body, "reason")
    try:
        s = r.str_()
        r.finish()
    except Malformed:
        return None
    return s.decode("utf-8", "replace")


# ---- the connection ---------------------------------------------------------


class Client:
    def __init__(self, port, key, cluster="fffs", node=0, role=ROLE_CLIENT,
                 timeout=10.0):
        self.key = key
        self.req_id = 0
        self.write_req = 0
        self.client_id = int.from_bytes(os.urandom(8), "little") | 1
        try:
            self.sock = socket.create_connection(("127.0.0.1", port),
                                                 timeout=timeout)
        except OSError as e:
            raise ConnError("cannot connect to 127.0.0.1:%d: %s" % (port, e))
        self.sock.settimeout(timeout)
        self.buf = b""
        self.handshake(cluster, node, role)

    def close(self):
        self.sock.close()

    def send(self, type_, body=b"", bulk=b"", flags=0, req_id=0):
        h = frames.header(type_, body_len=len(body), bulk_len=len(bulk),
                          flags=flags, req_id=req_id)
        try:
            self.sock.sendall(h + body + bulk)
        except OSError as e:
            raise ConnError("send failed: %s" % e)

    def _fill(self, n):
        while len(self.buf) < n:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise ConnError("no answer within %g s" %
                                self.sock.gettimeout())
            except OSError as e:
                raise ConnError("receive failed: %s" % e)
            if not data:
                raise ConnError("server closed the connection")
            self.buf += data

    def recv(self):
        """(header fields, body, bulk) of the next frame."""
        self._fill(HDR_LEN)
        h, why = frames.parse_header(self.buf[:HDR_LEN])
        if not h:
            raise ConnError("server sent a bad header: " + why)
        need = HDR_LEN + h["body_len"] + h["bulk_len"]
        self._fill(need)
        body = self.buf[HDR_LEN:HDR_LEN + h["body_len"]]
        bulk = self.buf[HDR_LEN + h["body_len"]:need]
        self.buf = self.buf[need:]
        return h, body, bulk

    def handshake(self, cluster, node, role):
        nonce = os.urandom(NONCE_LEN)
        hello = (struct.pack("<HH", 1, 1) + frames.pack_str(cluster) +
                 struct.pack("<IB", node, role) + nonce)
        self.send(MSG_HELLO, hello)
        h, body, _ = self.recv()
        if h["status"] < 0 or h["type"] != MSG_HELLO or \
                not h["flags"] & F_RESPONSE:
            raise ConnError("HELLO refused: status %d %s%s" % (
                h["status"], errname(h["status"]),
                (": " + reason_of(body)) if reason_of(body) else ""))
        if len(body) < MAC_LEN:
            raise ConnError("CHALLENGE of %d bytes" % len(body))
        chal, server_mac = body[:-MAC_LEN], body[-MAC_LEN:]
        th = transcript_hash(hello, chal)
        if not hmac.compare_digest(server_mac,
                                   mac(self.key, b"fffs-server", th)):
            raise ConnError("server failed to prove the cluster secret "
                            "(wrong secret file?)")
        self.send(MSG_AUTH, mac(self.key, b"fffs-client", th))
        h, body, _ = self.recv()
        if h["type"] != MSG_AUTH or not h["flags"] & F_RESPONSE or \
                h["status"] != 0:
            raise ConnError("AUTH refused: status %d %s%s" % (
                h["status"], errname(h["status"]),
                (": " + reason_of(body)) if reason_of(body) else ""))

    def call(self, type_, body=b"", bulk=b""):
        """Send a request, wait for its answer: (status, body, bulk)."""
        self.req_id += 1
        self.send(type_, body, bulk, req_id=self.req_id)
        while True:
            h, rbody, rbulk = self.recv()
            if not h["flags"] & F_RESPONSE:
                raise Malformed("server sent a request (type %d)" % h["type"])
            if h["req_id"] != self.req_id:
                continue  # an answer to something earlier: not ours
            if h["type"] != type_:
                raise Malformed("answer of type %d to a request of type %d"
                                % (h["type"], type_))
            return h["status"], rbody, rbulk

    def next_write_req(self):
        self.write_req += 1
        return self.write_req

    # ---- requests: each returns (status, decoded body, bulk) ----------------

    def write(self, target, inode, index, offset, data, crc=None,
              chunk_size=0, length=None, client=None, req_id=None,
              chain=0, chain_ver=0):
        body = struct.pack(
            "<QIIQIIIIIQQ", target, chain, chain_ver, inode, index, offset,
            len(data) if length is None else length, chunk_size,
            crc32c(data) if crc is None else crc,
            self.client_id if client is None else client,
            self.next_write_req() if req_id is None else req_id)
        st, rb, bulk = self.call(MSG_WRITE, body, data)
        return st, decode_single(st, rb, "write"), bulk

    def truncate(self, target, inode, index, length, chunk_size=0,
                 client=None, req_id=None, chain=0, chain_ver=0):
        body = struct.pack(
            "<QIIQIIIQQ", target, chain, chain_ver, inode, index, length,
            chunk_size,
            self.client_id if client is None else client,
            self.next_write_req() if req_id is None else req_id)
        st, rb, bulk = self.call(MSG_TRUNCATE, body)
        return st, decode_single(st, rb, "truncate"), bulk

    def read(self, ranges, chain=0, chain_ver=0):
        """ranges: (target, inode, index, offset, length) tuples."""
        body = struct.pack("<I", len(ranges)) + b"".join(
            struct.pack("<QIIQIII", r[0], chain, chain_ver, *r[1:])
            for r in ranges)
        st, rb, bulk = self.call(MSG_READ, body)
        if st:
            return st, None, bulk
        r = Reader(rb, "read answer")
        n = r.u32()
        items = []
        for _ in range(n):
            items.append(dict(status=r.i32(), length=r.u32(), crc=r.u32(),
                              version=r.u64()))
        r.finish()
        pos = 0
        for it in items:
            if it["status"] == 0:
                it["data"] = bulk[pos:pos + it["length"]]
                pos += it["length"]
            else:
                it["data"] = b""
        if pos != len(bulk):
            raise Malformed("read answer: items cover %d bytes, bulk has %d"
                            % (pos, len(bulk)))
        if n != len(ranges):
            raise Malformed("read answer: %d items for %d ranges" %
                            (n, len(ranges)))
        return st, items, bulk

    def remove(self, chunks, chain=0, chain_ver=0):
        """chunks: (target, inode, index) tuples."""
        body = struct.pack("<I", len(chunks)) + b"".join(
            struct.pack("<QIIQI", c[0], chain, chain_ver, *c[1:])
            for c in chunks)
        st, rb, bulk = self.call(MSG_REMOVE, body)
        if st:
            return st, None, bulk
        r = Reader(rb, "remove answer")
        items = [r.i32() for _ in range(r.u32())]
        r.finish()
        return st, items, bulk

    def query_last(self, target, inode):
        st, rb, bulk = self.call(MSG_QUERY_LAST, struct.pack("<QQ", target,
                                                              inode))
        if st:
            return st, None, bulk
        r = Reader(rb, "query_last answer")
        d = dict(index=r.u32(), length=r.u32())
        r.finish()
        return st, d, bulk

    def space(self):
        st, rb, bulk = self.call(MSG_SPACE)
        if st:
            return st, None, bulk
        r = Reader(rb, "space answer")
        out = []
        for _ in range(r.u32()):
            out.append(dict(target=r.u64(), state=r.u8(), capacity=r.u64(),
                            used=r.u64(), free=r.u64(), chunks=r.u64()))
        r.finish()
        return st, out, bulk

    def dump(self, target, start_inode=0, start_index=0, max_=0):
        st, rb, bulk = self.call(MSG_DUMP, struct.pack(
            "<QQII", target, start_inode, start_index, max_))
        if st:
            return st, None, bulk
        r = Reader(rb, "dump answer")
        chunks = []
        for _ in range(r.u32()):
            chunks.append(dict(inode=r.u64(), index=r.u32(), length=r.u32(),
                               committed=r.u64(), pending=r.u64(),
                               chain_ver=r.u32(), crc=r.u32()))
        more = r.u8()
        r.finish()
        return st, dict(chunks=chunks, more=more), bulk

    def ping(self, token=0x1234):
        st, rb, bulk = self.call(MSG_PING, struct.pack("<Q", token))
        if st:
            return st, None, bulk
        r = Reader(rb, "ping answer")
        d = dict(token=r.u64(), time_ns=r.u64())
        r.finish()
        return st, d, bulk

    def raw(self, type_, body, bulk=b""):
        return self.call(type_, body, bulk)


def decode_single(st, body, what):
    if st:
        return None
    r = Reader(body, what + " answer")
    d = dict(version=r.u64(), chunk_length=r.u32(), chunk_crc=r.u32())
    r.finish()
    return d


# ---- the command line -------------------------------------------------------


def num(s):
    try:
        return int(s, 0)
    except ValueError:
        raise Usage("not a number: '%s'" % s)


def data_arg(s):
    if s.startswith("@"):
        try:
            with open(s[1:], "rb") as f:
                return f.read()
        except OSError as e:
            raise Usage("cannot read %s: %s" % (s[1:], e))
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise Usage("not hex digits or @FILE: '%s'" % s[:40])


def split_opts(args, known, flags=()):
    """Positional arguments and a dict of --options (known: take a value)."""
    pos, opts = [], {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--") and a[2:] in known:
            if i + 1 >= len(args):
                raise Usage("%s needs a value" % a)
            opts[a[2:]] = args[i + 1]
            i += 2
        elif a.startswith("--") and a[2:] in flags:
            opts[a[2:]] = True
            i += 1
        elif a.startswith("--"):
            raise Usage("unknown option %s" % a)
        else:
            pos.append(a)
            i += 1
    return pos, opts


def want(pos, n, cmd, multiple=False):
    if (multiple and (not pos or len(pos) % n)) or \
            (not multiple and len(pos) != n):
        raise Usage("%s: wrong number of arguments" % cmd)


def opt_num(opts, name, default=None):
    return num(opts[name]) if name in opts else default


def out_status(out, st, body=None):
    out("status %d (%s)" % (st, errname(st)))
    if st and body:
        reason = reason_of(body)
        if reason is not None:
            out("reason %s" % reason)


def run_command(cl, cmd, args, out):
    if cmd == "write":
        pos, o = split_opts(args, ("crc", "chunk-size", "length", "client",
                                   "req-id", "chain", "chain-ver"))
        want(pos, 5, cmd)
        t, ino, idx, off = (num(x) for x in pos[:4])
        data = data_arg(pos[4])
        crc = int(o["crc"], 16) if "crc" in o else None
        st, d, _ = cl.write(t, ino, idx, off, data, crc=crc,
                            chunk_size=opt_num(o, "chunk-size", 0),
                            length=opt_num(o, "length"),
                            client=opt_num(o, "client"),
                            req_id=opt_num(o, "req-id"),
                            chain=opt_num(o, "chain", 0),
                            chain_ver=opt_num(o, "chain-ver", 0))
        out_status(out, st)
        if d:
            out("version %d" % d["version"])
            out("chunk_length %d" % d["chunk_length"])
            out("chunk_crc %08x" % d["chunk_crc"])
    elif cmd == "truncate":
        pos, o = split_opts(args, ("chunk-size", "client", "req-id",
                                   "chain", "chain-ver"))
        want(pos, 4, cmd)
        t, ino, idx, length = (num(x) for x in pos)
        st, d, _ = cl.truncate(t, ino, idx, length,
                               chunk_size=opt_num(o, "chunk-size", 0),
                               client=opt_num(o, "client"),
                               req_id=opt_num(o, "req-id"),
                               chain=opt_num(o, "chain", 0),
                               chain_ver=opt_num(o, "chain-ver", 0))
        out_status(out, st)
        if d:
            out("version %d" % d["version"])
            out("chunk_length %d" % d["chunk_length"])
            out("chunk_crc %08x" % d["chunk_crc"])
    elif cmd == "read":
        pos, o = split_opts(args, ("out", "chain", "chain-ver"),
                            ("no-data",))
        want(pos, 5, cmd, multiple=True)
        nums = [num(x) for x in pos]
        ranges = [tuple(nums[i:i + 5]) for i in range(0, len(nums), 5)]
        st, items, bulk = cl.read(ranges, chain=opt_num(o, "chain", 0),
                                  chain_ver=opt_num(o, "chain-ver", 0))
        out_status(out, st)
        if "out" in o:
            with open(o["out"], "wb") as f:
                f.write(bulk)
        if items is None:
            return
        out("n %d" % len(items))
        for k, it in enumerate(items):
            check = "ok" if crc32c(it["data"]) == it["crc"] or \
                it["status"] else "BAD"
            out("item %d status %d (%s) length %d crc %08x version %d "
                "crc-check %s" % (k, it["status"], errname(it["status"]),
                                  it["length"], it["crc"], it["version"],
                                  check))
            if it["data"] and "no-data" not in o:
                out("data %d %s" % (k, it["data"].hex()))
    elif cmd == "remove":
        pos, o = split_opts(args, ("chain", "chain-ver"))
        want(pos, 3, cmd, multiple=True)
        nums = [num(x) for x in pos]
        st, items, _ = cl.remove([tuple(nums[i:i + 3])
                                  for i in range(0, len(nums), 3)],
                                 chain=opt_num(o, "chain", 0),
                                 chain_ver=opt_num(o, "chain-ver", 0))
        out_status(out, st)
        if items is not None:
            out("n %d" % len(items))
            for k, s in enumerate(items):
                out("item %d status %d (%s)" % (k, s, errname(s)))
    elif cmd == "last":
        pos, _ = split_opts(args, ())
        want(pos, 2, cmd)
        st, d, _ = cl.query_last(num(pos[0]), num(pos[1]))
        out_status(out, st)
        if d:
            out("index %d" % d["index"])
            out("length %d" % d["length"])
    elif cmd == "space":
        pos, _ = split_opts(args, ())
        want(pos, 0, cmd)
        st, ts, _ = cl.space()
        out_status(out, st)
        if ts is not None:
            out("n %d" % len(ts))
            for t in ts:
                out("target %d state %d capacity %d used %d free %d "
                    "chunks %d" % (t["target"], t["state"], t["capacity"],
                                   t["used"], t["free"], t["chunks"]))
    elif cmd == "dump":
        pos, o = split_opts(args, ("start-inode", "start-index", "max"))
        want(pos, 1, cmd)
        st, d, _ = cl.dump(num(pos[0]), opt_num(o, "start-inode", 0),
                           opt_num(o, "start-index", 0), opt_num(o, "max", 0))
        out_status(out, st)
        if d:
            out("n %d" % len(d["chunks"]))
            for c in d["chunks"]:
                out("chunk inode %d index %d length %d committed %d "
                    "pending %d chain_ver %d crc %08x" % (
                        c["inode"], c["index"], c["length"], c["committed"],
                        c["pending"], c["chain_ver"], c["crc"]))
            out("more %d" % d["more"])
    elif cmd == "ping":
        pos, _ = split_opts(args, ())
        want(pos, 0, cmd)
        st, d, _ = cl.ping()
        out_status(out, st)
        if d:
            out("token %d" % d["token"])
    elif cmd == "raw":
        pos, o = split_opts(args, ("bulk",))
        want(pos, 2, cmd)
        bulk = data_arg(o["bulk"]) if "bulk" in o else b""
        st, body, rbulk = cl.raw(num(pos[0]), data_arg(pos[1]), bulk)
        out_status(out, st, body)
        out("body %s" % body.hex())
        out("bulk_len %d" % len(rbulk))
    elif cmd == "watch":
        # watch TARGET INODE INDEX OFFSET LEN --every MS --until STATUS
        pos, o = split_opts(args, ("chain", "chain-ver", "every", "until",
                                   "max-s"))
        want(pos, 5, cmd)
        rng = tuple(num(x) for x in pos)
        every = opt_num(o, "every", 50) / 1000.0
        until = opt_num(o, "until", 0)
        deadline = time.time() + opt_num(o, "max-s", 60)
        while True:
            t0 = time.time()
            st, items, _ = cl.read([rng], chain=opt_num(o, "chain", 0),
                                   chain_ver=opt_num(o, "chain-ver", 0))
            item = items[0]["status"] if items else st
            out("watch %d %d %d (%s)" % (int(t0 * 1000),
                                          int(time.time() * 1000), item,
                                          errname(item)))
            if item == until or time.time() > deadline:
                break
            time.sleep(max(0.0, every - (time.time() - t0)))
    elif cmd == "wait":
        pos, _ = split_opts(args, ())
        want(pos, 1, cmd)
        deadline = time.time() + 120
        while not os.path.exists(pos[0]) and time.time() < deadline:
            time.sleep(0.01)
        out("waited %s" % ("ok" if os.path.exists(pos[0]) else "timeout"))
    else:
        raise Usage("unknown command '%s'" % cmd)


COMMANDS = ("write", "read", "remove", "truncate", "last", "space", "dump",
            "ping", "raw", "wait", "watch")


def split_commands(args):
    cmds, cur = [], []
    for a in args:
        if a == "+":
            cmds.append(cur)
            cur = []
        else:
            cur.append(a)
    cmds.append(cur)
    for c in cmds:
        if not c or c[0] not in COMMANDS:
            raise Usage("expected a command (%s), got '%s'" %
                        (", ".join(COMMANDS), c[0] if c else ""))
    return cmds


# ---- selftest ---------------------------------------------------------------


def selftest():
    ok = True

    def check(cond, what):
        nonlocal ok
        print("%s - %s" % ("ok" if cond else "FAILED", what))
        ok = ok and cond

    check(crc32c(b"123456789") == 0xE3069283, "crc32c check value")
    check(hashlib.blake2b(b"", digest_size=32).hexdigest() ==
          "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8",
          "BLAKE2b-256 of nothing")
    check(hashlib.blake2b(b"abc", digest_size=32).hexdigest() ==
          "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
          "BLAKE2b-256 of 'abc'")
    # RFC 4231 test case 2, HMAC-SHA-512, first 32 bytes (HMAC-SHA-512-256)
    check(mac(b"Jefe", b"what do ya want", b" for nothing?").hex() ==
          "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554",
          "HMAC-SHA-512-256 (RFC 4231 case 2)")
    key = bytes(range(32))
    th = transcript_hash(b"hello", b"challenge")
    check(mac(key, b"fffs-server", th) != mac(key, b"fffs-client", th),
          "server and client MACs differ")
    check(mac(key, b"fffs-server", th) !=
          mac(bytes(32), b"fffs-server", th), "the MAC depends on the key")
    check(len(struct.pack("<QIIQIIIIIQQ", *[0] * 11)) == 60,
          "write body 60 bytes")
    check(len(struct.pack("<QIIQIII", *[0] * 7)) == 36,
          "read range 36 bytes")
    check(len(struct.pack("<QIIQIIIQQ", *[0] * 9)) == 52, "truncate body 52")

    hdr = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "fffs.h")
    if os.path.exists(hdr):
        with open(hdr) as f:
            found = dict((int(n), name) for name, n in re.findall(
                r"X\((E[A-Z]+), (\d+),", f.read()))
        check(found == FFFS_ERRNAMES, "error names match fffs.h")

    # Against libsodium itself, when it can be loaded.
    try:
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("sodium")
        lib = ctypes.CDLL(name) if name else None
    except OSError:
        lib = None
    if lib is None or lib.sodium_init() < 0:
        print("ok - # SKIP libsodium not loadable, no cross-check")
        return 0 if ok else 1
    for n in (0, 1, 43, 200):
        msg = os.urandom(n)
        key = os.urandom(32)
        out = ctypes.create_string_buffer(32)
        lib.crypto_auth(out, msg, ctypes.c_ulonglong(n), key)
        check(out.raw == hmac.new(key, msg, hashlib.sha512).digest()[:32],
              "crypto_auth of %d bytes matches HMAC-SHA-512[:32]" % n)
        lib.crypto_generichash(out, ctypes.c_size_t(32), msg,
                               ctypes.c_ulonglong(n), None, ctypes.c_size_t(0))
        check(out.raw == hashlib.blake2b(msg, digest_size=32).digest(),
              "crypto_generichash of %d bytes matches BLAKE2b-256" % n)
    return 0 if ok else 1


def main(argv):
    args = argv[1:]
    gopts = dict(cluster="fffs", node="0", role=str(ROLE_CLIENT),
                 timeout="10")
    while args and args[0].startswith("--"):
        opt = args.pop(0)[2:]
        if opt in ("cluster", "node", "role", "timeout", "tag") and args:
            gopts[opt] = args.pop(0)
        else:
            sys.stderr.write("stor.py: unknown option --%s\n" % opt)
            return 1
    if args == ["selftest"]:
        return selftest()
    try:
        if len(args) < 3 or not args[0].isdigit():
            raise Usage("expected PORT SECRET_FILE COMMAND ...")
        cmds = split_commands(args[2:])
        port = int(args[0])
        key = load_secret(args[1])
        cl = Client(port, key, cluster=gopts["cluster"],
                    node=num(gopts["node"]), role=num(gopts["role"]),
                    timeout=float(gopts["timeout"]))
    except Usage as e:
        sys.stderr.write("stor.py: %s\n\n%s" % (e, __doc__))
        return 1
    except ConnError as e:
        sys.stderr.write("stor.py: %s\n" % e)
        return 2
    try:
        for k, c in enumerate(cmds, 1):
            if len(cmds) > 1:
                def out(line, k=k):
                    print("%d: %s" % (k, line))
            else:
                def out(line):
                    print(line)
            run_command(cl, c[0], c[1:], out)
            sys.stdout.flush()
    except Usage as e:
        sys.stderr.write("stor.py: %s\n" % e)
        return 1
    except Malformed as e:
        sys.stderr.write("stor.py: malformed answer: %s\n" % e)
        return 1
    except ConnError as e:
        sys.stderr.write("stor.py: %s\n" % e)
        return 2
    finally:
        if "cl" in locals():
            cl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
