"""A raw WebSocket client for the conformance suite: sockets, framing, masking, permessage-deflate.

The client is deliberately permissive about what it *sends* (any opcode, any RSV bits, unmasked
frames, wrong lengths, frames split at arbitrary byte positions) and strict about what it
*receives*: every frame from the server is checked against RFC 6455 §5 and RFC 7692 §6, and a
violation raises `ServerViolation`, which fails the case that observed it.

Ownership: a `WsConn` owns its socket; close it with `WsConn.abort()` (the runner does this after
every case). Not thread-safe; one thread per connection.
"""
import base64
import hashlib
import os
import select
import socket
import time
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (OP_CONT, OP_TEXT, OP_BINARY)
CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)
RSV1, RSV2, RSV3 = 4, 2, 1
DEFLATE_TAIL = b"\x00\x00\xff\xff"


class ServerViolation(Exception):
    """The server sent something RFC 6455 / RFC 7692 forbids."""


class HandshakeError(Exception):
    def __init__(self, msg, response=None):
        super().__init__(msg)
        self.response = response


# --- UTF-8 -------------------------------------------------------------------------------------

def utf8_fail_index(data):
    """Index of the first byte at which `data` stops being a prefix of well-formed UTF-8.

    Returns None if `data` is complete, well-formed UTF-8, and len(data) if it is a valid but
    truncated prefix. Follows Unicode Table 3-7 (well-formed byte sequences), so it flags an
    overlong, surrogate or > U+10FFFF sequence at its second byte, which is as early as a
    fail-fast receiver can (RFC 6455 §8.1 wants a receiver to fail as soon as it knows).
    """
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if 0xC2 <= b <= 0xDF:
            ranges = [(0x80, 0xBF)]
        elif b == 0xE0:
            ranges = [(0xA0, 0xBF), (0x80, 0xBF)]
        elif 0xE1 <= b <= 0xEC or 0xEE <= b <= 0xEF:
            ranges = [(0x80, 0xBF), (0x80, 0xBF)]
        elif b == 0xED:
            ranges = [(0x80, 0x9F), (0x80, 0xBF)]
        elif b == 0xF0:
            ranges = [(0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF)]
        elif 0xF1 <= b <= 0xF3:
            ranges = [(0x80, 0xBF)] * 3
        elif b == 0xF4:
            ranges = [(0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF)]
        else:
            return i
        for k, (lo, hi) in enumerate(ranges, 1):
            if i + k >= n:
                return n
            if not lo <= data[i + k] <= hi:
                return i + k
        i += 1 + len(ranges)
    return None


def utf8_valid(data):
    return utf8_fail_index(data) is None


# --- Framing -----------------------------------------------------------------------------------

def mask_bytes(key, data):
    """RFC 6455 §5.3: octet i of the payload is XORed with octet i mod 4 of the masking key."""
    n = len(data)
    if n == 0:
        return b""
    stream = (bytes(key) * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(n, "little")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None, length=None,
                len_form=None):
    """Serialize one frame (RFC 6455 §5.2).

          0                   1                   2                   3
          0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
         +-+-+-+-+-------+-+-------------+-------------------------------+
         |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
         |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
         |N|V|V|V|       |S|             |   (if payload len==126/127)   |
         | |1|2|3|       |K|             |                               |
         +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
         |     Extended payload length continued, if payload len == 127  |
         + - - - - - - - - - - - - - - - +-------------------------------+
         |                               |Masking-key, if MASK set to 1  |
         +-------------------------------+-------------------------------+
         | Masking-key (continued)       |          Payload Data         |
         +-------------------------------- - - - - - - - - - - - - - - - +

    `length` overrides the declared payload length; `len_form` (7, 16 or 64) forces a length
    encoding, including non-minimal ones; `mask=False` sends an unmasked (illegal) client frame.
    """
    payload = bytes(payload)
    n = len(payload) if length is None else length
    if len_form is None:
        len_form = 7 if n < 126 else (16 if n < 65536 else 64)
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if len_form == 7:
        header = bytes([b0, mbit | n])
    elif len_form == 16:
        header = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4) if key is None else bytes(key)
        return header + key + mask_bytes(key, payload)
    return header + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return code.to_bytes(2, "big") + reason


def valid_close_code(code):
    """RFC 6455 §7.4 and the IANA registry: codes a peer may put on the wire."""
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "payload", "masked")

    def __init__(self, fin, rsv, opcode, payload, masked):
        self.fin, self.rsv, self.opcode, self.payload, self.masked = fin, rsv, opcode, payload, masked

    def __repr__(self):
        return (f"Frame(fin={int(self.fin)} rsv={self.rsv} op={self.opcode} "
                f"len={len(self.payload)})")


class Event:
    """What the server did next: kind is message, ping, pong, close, eof or timeout."""
    __slots__ = ("kind", "opcode", "payload", "code", "reason", "compressed", "reset")

    def __init__(self, kind, opcode=None, payload=b"", code=None, reason=b"", compressed=False,
                 reset=False):
        self.kind, self.opcode, self.payload = kind, opcode, payload
        self.code, self.reason, self.compressed, self.reset = code, reason, compressed, reset

    def describe(self):
        if self.kind == "message":
            kind = "text" if self.opcode == OP_TEXT else "binary"
            return f"{kind} message of {len(self.payload)} bytes{' (compressed)' if self.compressed else ''}"
        if self.kind in ("ping", "pong"):
            return f"{self.kind} with {len(self.payload)}-byte payload"
        if self.kind == "close":
            return "close with empty payload" if self.code is None else f"close {self.code}"
        if self.kind == "eof":
            return "TCP reset without close frame" if self.reset else "TCP close without close frame"
        return "nothing (timeout)"

    __repr__ = describe


# --- permessage-deflate (RFC 7692) -------------------------------------------------------------

def parse_extensions(values):
    """Parse Sec-WebSocket-Extensions header values into [(name, [(param, value|None)])].

    RFC 6455 §9.1 grammar; values may be tokens or quoted strings (RFC 7692 §7: the unquoted
    value must still satisfy the parameter's own grammar).
    """
    result = []
    for value in values:
        for ext in _split_outside_quotes(value, ","):
            parts = _split_outside_quotes(ext, ";")
            if not parts or not parts[0].strip():
                continue
            params = []
            for p in parts[1:]:
                p = p.strip()
                if not p:
                    continue
                if "=" in p:
                    k, v = p.split("=", 1)
                    v = v.strip()
                    if len(v) >= 2 and v[0] == v[-1] == '"':
                        v = v[1:-1]
                    params.append((k.strip().lower(), v))
                else:
                    params.append((p.lower(), None))
            result.append((parts[0].strip().lower(), params))
    return result


def _split_outside_quotes(s, sep):
    out, cur, quoted = [], [], False
    for ch in s:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


class Deflate:
    """Negotiated permessage-deflate state for one connection (RFC 7692 §7)."""

    def __init__(self, params, offered_client_bits=None, client_reset=None, level=6):
        self.params = dict(params)
        self.server_no_context_takeover = "server_no_context_takeover" in self.params
        self.client_no_context_takeover = "client_no_context_takeover" in self.params
        self.server_bits = int(self.params.get("server_max_window_bits") or 15)
        cb = int(self.params.get("client_max_window_bits") or 15)
        if offered_client_bits:
            cb = min(cb, offered_client_bits)
        self.client_bits = cb
        # Resetting our own context is always allowed; keeping it is the interesting default
        # because it exercises the server's per-connection inflater.
        self.client_reset = self.client_no_context_takeover if client_reset is None else client_reset
        self.level = level
        self._comp = None
        self._inflate = None
        self._shadows = None
        self.window_violation = None  # set when server output needs a larger window than agreed
        self.window_note = None

    def _new_compressor(self):
        if self.client_bits < 9:
            # zlib cannot deflate with a 256-byte window; stored blocks hold no back-references,
            # so they respect any window size.
            return zlib.compressobj(0, zlib.DEFLATED, -9)
        return zlib.compressobj(self.level, zlib.DEFLATED, -self.client_bits)

    def compress(self, payload, flush_every=None, bfinal=False):
        """Compress one message; strips the 00 00 ff ff tail (RFC 7692 §7.2.1)."""
        if bfinal:
            c = zlib.compressobj(self.level, zlib.DEFLATED, -max(9, self.client_bits))
            return c.compress(payload) + c.flush(zlib.Z_FINISH)
        if self._comp is None or self.client_reset:
            self._comp = self._new_compressor()
        out = []
        if flush_every:
            for i in range(0, len(payload), flush_every):
                out.append(self._comp.compress(payload[i:i + flush_every]))
                out.append(self._comp.flush(zlib.Z_SYNC_FLUSH))
        else:
            out.append(self._comp.compress(payload))
            out.append(self._comp.flush(zlib.Z_SYNC_FLUSH))
        data = b"".join(out)
        assert data.endswith(DEFLATE_TAIL)
        return data[:-4]

    def decompress(self, data):
        """Inflate one server message; raises ServerViolation on bad data."""
        if self._inflate is None or self.server_no_context_takeover or self._inflate.eof:
            self._inflate = zlib.decompressobj(-15)
            self._shadows = [(b, zlib.decompressobj(-b)) for b in sorted({self.server_bits, 9})
                             if b < 15]
        try:
            out = self._inflate.decompress(data + DEFLATE_TAIL)
        except zlib.error as e:
            what = ("(server_no_context_takeover was agreed, so every message must inflate "
                    "on its own)" if self.server_no_context_takeover else "")
            raise ServerViolation(f"server sent invalid deflate data: {e} {what}".strip())
        if self._inflate.unconsumed_tail:
            raise ServerViolation("server compressed message did not fully inflate")
        alive = []
        for bits, d in self._shadows or []:
            try:
                d.decompress(data + DEFLATE_TAIL)
                alive.append((bits, d))
            except zlib.error:
                if bits == self.server_bits and self.window_violation is None:
                    self.window_violation = (
                        f"server output needs a window larger than the agreed "
                        f"server_max_window_bits={self.server_bits} (RFC 7692 §7.1.2.1)")
        if self.server_bits == 8 and self.window_violation and any(b == 9 for b, _ in alive):
            self.window_note = self.window_violation + "; it fits in 2^9 (zlib cannot deflate with 2^8)"
        self._shadows = alive
        return out


# --- HTTP --------------------------------------------------------------------------------------

class HttpResponse:
    def __init__(self, status, reason, headers, body, raw):
        self.status, self.reason, self.headers, self.body, self.raw = status, reason, headers, body, raw

    def header(self, name):
        vals = self.headers_all(name)
        return ", ".join(vals) if vals else None

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name):
        return [t.strip().lower() for v in self.headers_all(name) for t in v.split(",") if t.strip()]


def _recv_until(sock, buf, marker, deadline):
    while marker not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out waiting for HTTP response")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        buf += chunk
    return True


def parse_http_head(head):
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HandshakeError(f"malformed status line {lines[0]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            raise HandshakeError(f"malformed header line {line!r}")
        k, v = line.split(":", 1)
        headers.append((k.strip(), v.strip()))
    return status, reason, headers


def connect_tcp(host, port, timeout):
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def http_exchange(host, port, request, timeout=3.0, chop=None):
    """Send a raw HTTP request; returns (HttpResponse, socket, leftover bytes).

    For a 101 response the socket stays open and `leftover` holds any bytes that followed the
    head. Otherwise the body is read (Content-Length or until EOF) and the socket is closed.
    """
    deadline = time.monotonic() + timeout
    sock = connect_tcp(host, port, timeout)
    try:
        if chop:
            for i in range(0, len(request), chop):
                sock.sendall(request[i:i + chop])
                time.sleep(0.0005)
        else:
            sock.sendall(request)
        buf = bytearray()
        if not _recv_until(sock, buf, b"\r\n\r\n", deadline):
            raise HandshakeError(f"connection closed before a complete HTTP response "
                                 f"({len(buf)} bytes received)")
        idx = buf.index(b"\r\n\r\n")
        head, rest = bytes(buf[:idx]), bytes(buf[idx + 4:])
        status, reason, headers = parse_http_head(head)
        resp = HttpResponse(status, reason, headers, b"", head)
        if status == 101:
            return resp, sock, rest
        length = resp.header("content-length")
        body = bytearray(rest)
        try:
            if length is not None and length.strip().isdigit():
                want = int(length.strip())
                while len(body) < want and time.monotonic() < deadline:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
            else:
                sock.settimeout(0.3)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    body += chunk
        except (socket.timeout, OSError):
            pass
        resp.body = bytes(body)
        sock.close()
        return resp, None, b""
    except BaseException:
        sock.close()
        raise


def make_key(nbytes=16):
    return base64.b64encode(os.urandom(nbytes)).decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def build_request(host, port, path="/echo", key=None, version="13", extensions=None,
                  protocols=None, origin=None, extra=(), method="GET", http="HTTP/1.1",
                  upgrade="websocket", connection="Upgrade", omit=()):
    """Build an opening handshake (RFC 6455 §4.1). `omit` lists header names to leave out."""
    key = make_key() if key is None else key
    hdrs = [("Host", f"{host}:{port}"), ("Upgrade", upgrade), ("Connection", connection),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)]
    if extensions:
        hdrs.append(("Sec-WebSocket-Extensions", extensions))
    if protocols:
        hdrs.append(("Sec-WebSocket-Protocol", protocols))
    if origin is not None:
        hdrs.append(("Origin", origin))
    hdrs.extend(extra)
    omit = {o.lower() for o in omit}
    lines = [f"{method} {path} {http}"]
    lines += [f"{k}: {v}" for k, v in hdrs if k.lower() not in omit and v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


def open_ws(host, port, path="/echo", extensions=None, protocols=None, origin=None, extra=(),
            timeout=3.0, client_reset=None, offered_client_bits=None, chop=None, auto_pong=False):
    """Perform the opening handshake and validate the 101 response (RFC 6455 §4.1, §4.2.2)."""
    request, key = build_request(host, port, path, extensions=extensions, protocols=protocols,
                                 origin=origin, extra=extra)
    resp, sock, rest = http_exchange(host, port, request, timeout, chop=chop)
    if resp.status != 101:
        raise HandshakeError(f"expected 101 Switching Protocols, got {resp.status} {resp.reason}",
                             resp)
    try:
        if "websocket" not in resp.tokens("upgrade"):
            raise HandshakeError("101 response lacks 'Upgrade: websocket' (RFC 6455 §4.2.2)", resp)
        if "upgrade" not in resp.tokens("connection"):
            raise HandshakeError("101 response lacks 'Connection: Upgrade' (RFC 6455 §4.2.2)", resp)
        got = resp.headers_all("sec-websocket-accept")
        if got != [accept_for(key)]:
            raise HandshakeError(f"bad Sec-WebSocket-Accept {got!r}, expected "
                                 f"{accept_for(key)!r} (RFC 6455 §4.2.2)", resp)
        proto = resp.headers_all("sec-websocket-protocol")
        if proto:
            lines = ([protocols] if protocols else []) + [
                v for k, v in extra if k.lower() == "sec-websocket-protocol"]
            offered = [p.strip() for v in lines for p in v.split(",") if p.strip()]
            if len(proto) != 1 or proto[0] not in offered:
                raise HandshakeError(f"server selected subprotocol {proto!r} that the client did "
                                     f"not offer (RFC 6455 §4.1 step 6)", resp)
        exts = parse_extensions(resp.headers_all("sec-websocket-extensions"))
        deflate = None
        offered_values = ([extensions] if extensions else []) + [
            v for k, v in extra if k.lower() == "sec-websocket-extensions"]
        offered_names = {n for n, _ in parse_extensions(offered_values)}
        for name, params in exts:
            if name not in offered_names:
                raise HandshakeError(f"server accepted extension {name!r} that the client did not "
                                     f"offer (RFC 6455 §9.1)", resp)
            if name == "permessage-deflate":
                if deflate is not None:
                    raise HandshakeError("permessage-deflate accepted twice (RFC 7692 §5)", resp)
                deflate = params
    except BaseException:
        sock.close()
        raise
    conn = WsConn(sock, rest, resp, timeout=timeout, auto_pong=auto_pong)
    conn.extension_params = deflate
    if deflate is not None:
        conn.deflate = Deflate(deflate, offered_client_bits=offered_client_bits,
                               client_reset=client_reset)
    return conn


# --- Connection --------------------------------------------------------------------------------

class WsConn:
    def __init__(self, sock, leftover=b"", response=None, timeout=3.0, auto_pong=False):
        self.sock = sock
        self.sock.setblocking(True)
        self.buf = bytearray(leftover)
        self.response = response
        self.timeout = timeout
        self.auto_pong = auto_pong
        self.deflate = None
        self.extension_params = None
        self.eof = False
        self.reset = False
        self.send_failed = False
        self.closed_by_server = None  # Event of the server's close frame, once seen
        self.frames = []  # every frame received, for diagnostics
        self._msg_opcode = None
        self._msg_parts = []
        self._msg_compressed = False

    # sending
    def send(self, data, deadline=None):
        """Write bytes while draining incoming data, so a server that answers early cannot
        deadlock us. Returns False if the peer closed or reset before everything was written."""
        if self.send_failed:
            return False
        view = memoryview(data)
        deadline = deadline or (time.monotonic() + max(self.timeout, len(data) / 20e6 + 5))
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out sending to server")
            r, w, _ = select.select([self.sock] if not self.eof else [], [self.sock], [],
                                    remaining)
            if r:
                self._recv_some()
                if self.eof:
                    self.send_failed = True
                    return False
            if w:
                try:
                    n = self.sock.send(view[:1 << 20], socket.MSG_DONTWAIT)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                    self.send_failed = True
                    return False
                view = view[n:]
        return True

    def send_frame(self, opcode, payload=b"", **kw):
        return self.send(build_frame(opcode, payload, **kw))

    def send_chopped(self, data, chop, delay=0.0):
        for i in range(0, len(data), chop):
            if not self.send(data[i:i + chop]):
                return False
            if delay:
                time.sleep(delay)
        return True

    def send_message(self, opcode, payload, compress=False, frag=None, flush_every=None,
                     bfinal=False):
        """Send one data message, optionally compressed and/or split into `frag`-byte frames.
        RFC 7692 §6.1: RSV1 goes on the first frame only."""
        data = self.deflate.compress(payload, flush_every, bfinal) if compress else payload
        rsv1 = RSV1 if compress else 0
        if not frag or len(data) <= frag:
            return self.send(build_frame(opcode, data, rsv=rsv1))
        out = []
        for i in range(0, len(data), frag):
            chunk = data[i:i + frag]
            out.append(build_frame(opcode if i == 0 else OP_CONT, chunk,
                                   fin=i + frag >= len(data), rsv=rsv1 if i == 0 else 0))
        return self.send(b"".join(out))

    def send_close(self, code=None, reason=b""):
        return self.send(build_frame(OP_CLOSE, close_payload(code, reason)))

    # receiving
    def _recv_some(self):
        try:
            chunk = self.sock.recv(1 << 20, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = self.reset = True
            return
        if not chunk:
            self.eof = True
        else:
            self.buf += chunk

    def _fill(self, deadline):
        """Wait for more bytes. Returns False on EOF or timeout (check self.eof)."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            return False
        before = len(self.buf)
        self._recv_some()
        return len(self.buf) > before

    def _parse_frame(self):
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = int.from_bytes(buf[2:4], "big")
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = int.from_bytes(buf[2:10], "big")
            pos = 10
        masked = bool(b1 & 0x80)
        key = None
        if masked:
            if len(buf) < pos + 4:
                return None
            key = bytes(buf[pos:pos + 4])
            pos += 4
        if len(buf) < pos + n:
            return None
        payload = bytes(buf[pos:pos + n])
        del buf[:pos + n]
        if masked:
            payload = mask_bytes(key, payload)
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, payload, masked)

    def read_frame(self, timeout=None):
        """Next raw frame, or None on EOF/timeout (self.eof tells which)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            f = self._parse_frame()
            if f is not None:
                self.frames.append(f)
                return f
            if not self._fill(deadline):
                if self.eof:
                    # Parse once more in case the last chunk completed a frame.
                    f = self._parse_frame()
                    if f is not None:
                        self.frames.append(f)
                        return f
                    if self.buf:
                        raise ServerViolation(f"connection closed inside a frame "
                                              f"({len(self.buf)} bytes of a partial frame)")
                    return None
                if time.monotonic() >= deadline:
                    return None

    def next_event(self, timeout=None):
        """Next message/ping/pong/close/eof/timeout, validating every server frame."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()))
            if f is None:
                if self.eof:
                    return Event("eof", reset=self.reset)
                return Event("timeout")
            ev = self._on_frame(f)
            if ev is not None:
                if ev.kind == "ping" and self.auto_pong:
                    self.send(build_frame(OP_PONG, ev.payload))
                return ev

    def _on_frame(self, f):
        if self.closed_by_server is not None:
            raise ServerViolation(f"server sent {f!r} after its close frame (RFC 6455 §5.5.1)")
        if f.masked:
            raise ServerViolation("server sent a masked frame (RFC 6455 §5.1)")
        allowed_rsv = RSV1 if (self.deflate and f.opcode in (OP_TEXT, OP_BINARY)) else 0
        if f.rsv & ~allowed_rsv:
            raise ServerViolation(f"server set reserved bits {f.rsv:03b} on {f!r} "
                                  f"(RFC 6455 §5.2 / RFC 7692 §6)")
        if f.opcode in CONTROL_OPCODES:
            if not f.fin:
                raise ServerViolation("server fragmented a control frame (RFC 6455 §5.5)")
            if len(f.payload) > 125:
                raise ServerViolation("server sent a control frame over 125 bytes (RFC 6455 §5.5)")
            if f.opcode == OP_PING:
                return Event("ping", payload=f.payload)
            if f.opcode == OP_PONG:
                return Event("pong", payload=f.payload)
            p = f.payload
            if len(p) == 1:
                raise ServerViolation("server sent a 1-byte close payload (RFC 6455 §5.5.1)")
            code = int.from_bytes(p[:2], "big") if p else None
            reason = p[2:]
            if code is not None and not valid_close_code(code):
                raise ServerViolation(f"server sent close code {code}, which may not be sent "
                                      f"(RFC 6455 §7.4.1)")
            if not utf8_valid(reason):
                raise ServerViolation("server sent a close reason that is not UTF-8 "
                                      "(RFC 6455 §5.5.1)")
            ev = Event("close", code=code, reason=reason)
            self.closed_by_server = ev
            return ev
        if f.opcode in (OP_TEXT, OP_BINARY):
            if self._msg_opcode is not None:
                raise ServerViolation("server started a new message inside a fragmented one "
                                      "(RFC 6455 §5.4)")
            self._msg_opcode = f.opcode
            self._msg_compressed = bool(f.rsv & RSV1)
            self._msg_parts = [f.payload]
        elif f.opcode == OP_CONT:
            if self._msg_opcode is None:
                raise ServerViolation("server sent a continuation frame with no message open "
                                      "(RFC 6455 §5.4)")
            if f.rsv & RSV1:
                raise ServerViolation("server set RSV1 on a continuation frame (RFC 7692 §6.1)")
            self._msg_parts.append(f.payload)
        else:
            raise ServerViolation(f"server used reserved opcode {f.opcode} (RFC 6455 §5.2)")
        if not f.fin:
            return None
        payload = b"".join(self._msg_parts)
        opcode, compressed = self._msg_opcode, self._msg_compressed
        self._msg_opcode, self._msg_parts = None, []
        if compressed:
            payload = self.deflate.decompress(payload)
        if opcode == OP_TEXT and not utf8_valid(payload):
            raise ServerViolation("server sent a text message that is not valid UTF-8 "
                                  "(RFC 6455 §8.1)")
        return Event("message", opcode=opcode, payload=payload, compressed=compressed)

    def abort(self):
        try:
            self.sock.close()
        except OSError:
            pass
