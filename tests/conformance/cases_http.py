"""Opening handshake (RFC 6455 §4), subprotocols, Origin allow-list, keep-alive pings, idle
timeout and the /broadcast endpoint."""
import signal
import threading
import time

from harness import (OP_BINARY, OP_TEXT, Fail, case, close_handshake, expect_fail, expect_message,
                     finish_close, next_event)
from wsclient import (HandshakeError, WsConn, accept_for, build_frame, build_request,
                      http_exchange, make_key, open_ws)

GOOD_ORIGIN = "https://good.example"


def _request(ctx, server=None, chop=None, **kw):
    s = ctx.srv(server)
    if "raw" in kw:
        request = kw.pop("raw").replace(b"{HOST}", f"{s.host}:{s.port}".encode())
    else:
        request, _ = build_request(s.host, s.port, **kw)
    try:
        resp, sock, _ = http_exchange(s.host, s.port, request, chop=chop)
    except HandshakeError as e:
        raise Fail(f"bad HTTP response: {e}")
    except OSError as e:
        raise Fail(f"I/O error during the handshake: {e}")
    if sock is not None:
        sock.close()
    return resp


def _expect_status(ctx, want, nonstrict=(), why="", **kw):
    resp = _request(ctx, **kw)
    if resp.status in want:
        return resp
    if resp.status in nonstrict:
        ctx.nonstrict(f"answered {resp.status}, expected {'/'.join(map(str, want))}{why}")
        return resp
    raise Fail(f"expected HTTP {'/'.join(map(str, want))}{why}, got {resp.status} {resp.reason}")


# --- hs: opening handshake ---------------------------------------------------------------------

@case("hs.1", "valid handshake: 101 with Upgrade, Connection and the right Sec-WebSocket-Accept")
def _c(ctx):
    close_handshake(ctx, ctx.connect())


def _bad(ctx, want=(400,), nonstrict=(), why="", **kw):
    _expect_status(ctx, want, nonstrict, why, **kw)


case("hs.2", "missing Sec-WebSocket-Key -> 400", args=((400,), (), " (RFC 6455 §4.2.1 item 5)"))(
    lambda ctx, *a: _bad(ctx, *a, omit=("Sec-WebSocket-Key",)))
case("hs.3", "Sec-WebSocket-Key that is not base64 -> 400", args=((400,),))(
    lambda ctx, *a: _bad(ctx, *a, key="not base64 at all!!!!!!!"))
case("hs.4", "Sec-WebSocket-Key of 15 bytes -> 400", args=((400,),))(
    lambda ctx, *a: _bad(ctx, *a, key=make_key(15)))
case("hs.5", "Sec-WebSocket-Key of 17 bytes -> 400", args=((400,),))(
    lambda ctx, *a: _bad(ctx, *a, key=make_key(17)))
case("hs.6", "Sec-WebSocket-Key of 16 bytes without base64 padding -> 400", args=((400,), (101,)))(
    lambda ctx, *a: _bad(ctx, *a, key=make_key(16).rstrip("=")))
case("hs.7", "missing Upgrade header -> 400", args=((400,), (426,)))(
    lambda ctx, *a: _bad(ctx, *a, omit=("Upgrade",)))
case("hs.8", "Upgrade: h2c -> 400", args=((400,), (426,)))(
    lambda ctx, *a: _bad(ctx, *a, upgrade="h2c"))
case("hs.9", "missing Connection header -> 400", args=((400,), (426,)))(
    lambda ctx, *a: _bad(ctx, *a, omit=("Connection",)))
case("hs.10", "Connection: keep-alive without upgrade -> 400", args=((400,), (426,)))(
    lambda ctx, *a: _bad(ctx, *a, connection="keep-alive"))
case("hs.13", "POST instead of GET -> 400", args=((400,), (405,), " (RFC 6455 §4.2.1 item 1)"))(
    lambda ctx, *a: _bad(ctx, *a, method="POST"))
case("hs.14", "HTTP/1.0 -> 400", args=((400,), (505,), " (RFC 6455 §4.2.1 item 1)"))(
    lambda ctx, *a: _bad(ctx, *a, http="HTTP/1.0"))
case("hs.19", "missing Host header -> 400", args=((400,), (), " (RFC 7230 §5.4 MUST)"))(
    lambda ctx, *a: _bad(ctx, *a, omit=("Host",)))
case("hs.20", "Sec-WebSocket-Key twice -> 400", args=((400,), (), " (RFC 6455 §11.3.1)"))(
    lambda ctx, *a: _bad(ctx, *a, extra=[("Sec-WebSocket-Key", make_key())]))


@case("hs.11", "Connection: keep-alive, Upgrade -> 101")
def _c(ctx):
    resp = _expect_status(ctx, (101,), connection="keep-alive, Upgrade")
    del resp


@case("hs.12", "Upgrade: WebSocket and Connection: upgrade (case-insensitive) -> 101")
def _c(ctx):
    _expect_status(ctx, (101,), upgrade="WebSocket", connection="upgrade")


def _version(ctx, version, nonstrict=()):
    omit = ("Sec-WebSocket-Version",) if version is None else ()
    resp = _expect_status(ctx, (426,), nonstrict, " (RFC 6455 §4.4)",
                          version=version or "13", omit=omit)
    if resp.status == 426:
        vals = resp.tokens("sec-websocket-version")
        if "13" not in vals:
            raise Fail(f"426 without 'Sec-WebSocket-Version: 13' (got {vals!r}; RFC 6455 §4.4)")


case("hs.15", "Sec-WebSocket-Version: 8 -> 426 with Sec-WebSocket-Version: 13",
     args=("8",))(_version)
case("hs.16", "missing Sec-WebSocket-Version -> 426", args=(None, (400,)))(_version)
case("hs.17", "Sec-WebSocket-Version: abc -> 426", args=("abc", (400,)))(_version)
case("hs.18", "Sec-WebSocket-Version: 14 -> 426", args=("14",))(_version)


@case("hs.21", "unknown path -> 4xx, not 101")
def _c(ctx):
    resp = _request(ctx, path="/no-such-endpoint")
    if not 400 <= resp.status < 500:
        raise Fail(f"expected 4xx for an unknown path, got {resp.status}")


@case("hs.22", "handshake written one byte at a time")
def _c(ctx):
    s = ctx.srv()
    try:
        conn = open_ws(s.host, s.port, chop=1, timeout=5.0)
    except HandshakeError as e:
        raise Fail(str(e))
    ctx.conns.append(conn)
    conn.send(build_frame(OP_TEXT, b"after byte-wise handshake"))
    expect_message(conn, OP_TEXT, b"after byte-wise handshake")
    close_handshake(ctx, conn)


@case("hs.23", "lower-case header names")
def _c(ctx):
    s = ctx.srv()
    key = make_key()
    raw = (f"GET /echo HTTP/1.1\r\nhost: {s.host}:{s.port}\r\nupgrade: websocket\r\n"
           f"connection: upgrade\r\nsec-websocket-key: {key}\r\nsec-websocket-version: 13\r\n\r\n")
    resp = _expect_status(ctx, (101,), raw=raw.encode())
    if resp.header("sec-websocket-accept") != accept_for(key):
        raise Fail("wrong Sec-WebSocket-Accept")


@case("hs.24", "GET /healthz -> 200")
def _c(ctx):
    try:
        status, _ = ctx.srv().get("/healthz")
    except Exception as e:  # urllib raises HTTPError for non-2xx
        raise Fail(f"GET /healthz failed: {e}")
    if status != 200:
        raise Fail(f"GET /healthz returned {status}")


@case("hs.25", "query string on the endpoint path -> 101")
def _c(ctx):
    _expect_status(ctx, (101,), (400, 404), path="/echo?client=conformance")


@case("hs.26", "header values with extra whitespace -> 101")
def _c(ctx):
    s = ctx.srv()
    key = make_key()
    raw = (f"GET /echo HTTP/1.1\r\nHost: {s.host}:{s.port}\r\nUpgrade:   websocket  \r\n"
           f"Connection:Upgrade\r\nSec-WebSocket-Key:  {key} \r\nSec-WebSocket-Version: 13\r\n\r\n")
    resp = _expect_status(ctx, (101,), raw=raw.encode())
    if resp.header("sec-websocket-accept") != accept_for(key):
        raise Fail("wrong Sec-WebSocket-Accept (was the key's whitespace stripped? RFC 7230 §3.2.4)")


@case("hs.27", "/broadcast handshake -> 101")
def _c(ctx):
    close_handshake(ctx, ctx.connect("/broadcast"))


@case("hs.28", "bad handshake on /broadcast (no key) -> 400")
def _c(ctx):
    _expect_status(ctx, (400,), path="/broadcast", omit=("Sec-WebSocket-Key",))


@case("hs.29", "Upgrade token list 'websocket, foo/1' -> 101", )
def _c(ctx):
    _expect_status(ctx, (101,), (400,), upgrade="foo/1, websocket")


@case("hs.31", "Host header twice -> 400")
def _c(ctx):
    _expect_status(ctx, (400,), why=" (RFC 7230 §5.4 MUST)", extra=[("Host", "other.example:1")])


@case("hs.32", "Sec-WebSocket-Version twice (13 and 8) -> 400 or 426")
def _c(ctx):
    _expect_status(ctx, (400, 426), why=" (RFC 6455 §11.3.5: at most once in a request)",
                   extra=[("Sec-WebSocket-Version", "8")])


@case("hs.30", "Sec-WebSocket-Key of 24 characters that is not base64 -> 400")
def _c(ctx):
    _expect_status(ctx, (400,), key="*" * 22 + "==")


# --- sp: subprotocols (server: --subprotocol chat.v2 --subprotocol chat.v1) -------------------

def _subprotocol(ctx, offer, want, extra=(), server="handshake"):
    origin = GOOD_ORIGIN if server == "handshake" else None
    conn = ctx.connect(server=server, protocols=offer, extra=extra, origin=origin)
    got = conn.response.headers_all("sec-websocket-protocol")
    if want is None and got:
        raise Fail(f"offered {offer!r}, server selected {got!r}; it MUST NOT send the header "
                   f"when it selects none (RFC 6455 §4.2.2)")
    if want is not None and got != [want]:
        if extra and not got:
            ctx.nonstrict(f"subprotocols offered on two header lines were not combined "
                          f"(RFC 7230 §3.2.2); expected {want}")
        else:
            raise Fail(f"offered {offer!r}, expected {want!r} (first supported in the client's "
                       f"order), got {got!r}")
    close_handshake(ctx, conn)


case("sp.1", "offer chat.v1 -> chat.v1", server="handshake", args=("chat.v1", "chat.v1"))(_subprotocol)
case("sp.2", "offer x, chat.v1, chat.v2 -> chat.v1", server="handshake",
     args=("x, chat.v1, chat.v2", "chat.v1"))(_subprotocol)
case("sp.3", "offer chat.v2, chat.v1 -> chat.v2", server="handshake",
     args=("chat.v2, chat.v1", "chat.v2"))(_subprotocol)
case("sp.4", "offer unknown -> no Sec-WebSocket-Protocol", server="handshake",
     args=("unknown", None))(_subprotocol)
case("sp.5", "no offer -> no Sec-WebSocket-Protocol", server="handshake",
     args=(None, None))(_subprotocol)
case("sp.6", "offers on two header lines", server="handshake",
     args=("foo", "chat.v1", [("Sec-WebSocket-Protocol", "chat.v1")]))(_subprotocol)
case("sp.7", "server without --subprotocol selects none", args=("chat", None, (), "main"))(_subprotocol)
case("sp.8", "offer without spaces: chat.v1,chat.v2 -> chat.v1", server="handshake",
     args=("chat.v1,chat.v2", "chat.v1"))(_subprotocol)
case("sp.9", "subprotocol names are case-sensitive: CHAT.V1 is not chat.v1", server="handshake",
     args=("CHAT.V1", None))(_subprotocol)


# --- or: Origin allow-list (server: --allowed-origin https://good.example, http://localhost:8080)

def _origin(ctx, origin, want, nonstrict=()):
    resp = _expect_status(ctx, want, nonstrict, f" for Origin {origin!r}", server="handshake",
                          origin=origin)
    if resp.status == 101 and want == (403,):
        raise Fail(f"Origin {origin!r} was accepted")


case("or.1", "allowed Origin -> 101", server="handshake", args=(GOOD_ORIGIN, (101,)))(_origin)
case("or.2", "second allowed Origin -> 101", server="handshake",
     args=("http://localhost:8080", (101,)))(_origin)
case("or.3", "other Origin -> 403", server="handshake", args=("https://evil.example", (403,)))(_origin)
case("or.4", "allowed Origin as a prefix of another -> 403", server="handshake",
     args=("https://good.example.evil.com", (403,)))(_origin)
case("or.5", "Origin: null -> 403", server="handshake", args=("null", (403,)))(_origin)
case("or.6", "allowed host with another scheme -> 403", server="handshake",
     args=("http://good.example", (403,)))(_origin)
case("or.7", "allowed host with another port -> 403", server="handshake",
     args=("http://localhost:8081", (403,)))(_origin)


@case("or.8", "no Origin header with an allow-list: 101 or 403 (reported)", server="handshake")
def _c(ctx):
    resp = _expect_status(ctx, (101, 403), server="handshake")
    ctx.nonstrict(f"no Origin header -> {resp.status} (informational)")


@case("or.9", "server without an allow-list accepts any Origin")
def _c(ctx):
    _expect_status(ctx, (101,), origin="https://evil.example")


# --- keep-alive and idle timeout (server: --ping-interval 1 --idle-timeout 2) ------------------

@case("ka.1", "quiet connection receives a server ping; the pong keeps it usable", server="timers")
def _c(ctx):
    conn = ctx.connect(server="timers")
    t0 = time.monotonic()
    ev = next_event(conn, 3.0)
    waited = time.monotonic() - t0
    if ev.kind != "ping":
        raise Fail(f"expected a ping within 3 s (--ping-interval 1), got {ev.describe()}")
    if waited < 0.5:
        raise Fail(f"first ping after {waited:.2f} s, before the 1 s ping interval")
    conn.send(build_frame(0xA, ev.payload))
    conn.send(build_frame(OP_TEXT, b"still here"))
    while True:
        ev = next_event(conn)
        if ev.kind != "ping":
            break
        conn.send(build_frame(0xA, ev.payload))
    if ev.kind != "message" or ev.payload != b"still here":
        raise Fail(f"expected echo after answering the ping, got {ev.describe()}")
    close_handshake(ctx, conn)


@case("ka.2", "active client (a message every 0.25 s for 3 s) is not closed", server="timers")
def _c(ctx):
    conn = ctx.connect(server="timers", auto_pong=True)
    for i in range(12):
        payload = b"tick %d" % i
        conn.send(build_frame(OP_TEXT, payload))
        t_end = time.monotonic() + 0.25
        got = False
        while time.monotonic() < t_end:
            ev = next_event(conn, max(0.0, t_end - time.monotonic()))
            if ev.kind == "ping":
                continue
            if ev.kind == "timeout":
                break
            if ev.kind == "message" and ev.payload == payload:
                got = True
                continue
            raise Fail(f"active connection got {ev.describe()} at tick {i}")
        if not got:
            raise Fail(f"no echo for tick {i}")
    close_handshake(ctx, conn)


@case("idle.1", "silent client that ignores pings is closed after --idle-timeout 2", server="timers")
def _c(ctx):
    conn = ctx.connect(server="timers")
    t0 = time.monotonic()
    pings = 0
    while True:
        ev = next_event(conn, max(0.05, t0 + 5.0 - time.monotonic()))
        if ev.kind == "ping":
            pings += 1
            continue
        break
    waited = time.monotonic() - t0
    if ev.kind == "timeout":
        raise Fail("silent connection still open after 5 s with --idle-timeout 2")
    if waited < 1.5:
        raise Fail(f"closed after {waited:.2f} s, before the 2 s idle timeout")
    if ev.kind == "close":
        finish_close(ctx, conn, ev)
    elif ev.kind == "eof":
        ctx.nonstrict("idle connection dropped without a close frame")
    else:
        raise Fail(f"expected the idle connection to be closed, got {ev.describe()}")


@case("idle.2", "without --idle-timeout a silent connection stays open")
def _c(ctx):
    conn = ctx.connect()
    ev = next_event(conn, 2.5)
    if ev.kind != "timeout":
        raise Fail(f"silent connection on a server without timers got {ev.describe()}")
    conn.send(build_frame(OP_TEXT, b"late"))
    expect_message(conn, OP_TEXT, b"late")
    close_handshake(ctx, conn)


# --- bc: /broadcast ----------------------------------------------------------------------------

def _drain_until(conn, marker, what):
    while True:
        ev = next_event(conn, 3.0)
        if ev.kind == "ping":
            continue
        if ev.kind != "message":
            raise Fail(f"{what}: waiting for {marker!r}, got {ev.describe()}")
        if ev.payload == marker:
            return


def _join(ctx, n, **kw):
    conns = [ctx.connect("/broadcast", **(kw.get("per", [{}] * n)[i])) for i in range(n)]
    # Registration may trail the 101 on another loop: ping-pong a marker until every client
    # sees one, then flush all markers with a final one (per-sender order is preserved).
    for attempt in range(40):
        conns[0].send(build_frame(OP_TEXT, b"sync %d" % attempt))
        if all(next_event(c, 0.3 if attempt < 39 else 1.0).kind == "message" for c in conns):
            break
    else:
        raise Fail("broadcast clients never all received a sync message")
    conns[0].send(build_frame(OP_TEXT, b"sync end"))
    for i, c in enumerate(conns):
        _drain_until(c, b"sync end", f"client {i}")
    return conns


def _bc_message(sender, seq, size=20):
    head = b"bc %d %d " % (sender, seq)
    return head + b"." * max(0, size - len(head))


@case("bc.1", "one sender, 4 clients: everyone (sender too) gets every message in order")
def _c(ctx):
    conns = _join(ctx, 4)
    msgs = [(OP_TEXT if i % 2 == 0 else OP_BINARY, _bc_message(0, i, 20 + i)) for i in range(30)]
    for op, p in msgs:
        conns[0].send(build_frame(op, p))
    for i, c in enumerate(conns):
        for op, p in msgs:
            expect_message(c, op, p, what=f" at client {i}")
    for c in conns:
        close_handshake(ctx, c)


@case("bc.2", "4 concurrent senders: each client gets all 80 messages, per-sender order kept")
def _c(ctx):
    conns = _join(ctx, 4)
    per = 20
    batches = [b"".join(build_frame(OP_TEXT, _bc_message(s, i)) for i in range(per))
               for s in range(4)]
    threads = [threading.Thread(target=conns[s].send, args=(batches[s],)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    orders = []
    for ci, c in enumerate(conns):
        seen = []
        for _ in range(4 * per):
            ev = next_event(c, 3.0)
            if ev.kind != "message":
                raise Fail(f"client {ci} got {ev.describe()} after {len(seen)} of {4 * per} messages")
            seen.append(ev.payload)
        for s in range(4):
            mine = [p for p in seen if p.startswith(b"bc %d " % s)]
            if mine != [_bc_message(s, i) for i in range(per)]:
                raise Fail(f"client {ci}: messages from sender {s} missing or out of order")
        orders.append(seen)
    if any(o != orders[0] for o in orders):
        ctx.nonstrict("clients saw the concurrent senders interleaved in different orders")
    for c in conns:
        close_handshake(ctx, c)


@case("bc.3", "a client leaving does not disturb the others")
def _c(ctx):
    conns = _join(ctx, 3)
    close_handshake(ctx, conns[2])
    conns[1].abort()  # abrupt TCP close, no close frame
    time.sleep(0.05)
    for i in range(10):
        conns[0].send(build_frame(OP_TEXT, _bc_message(0, i)))
    for i in range(10):
        expect_message(conns[0], OP_TEXT, _bc_message(0, i))
    close_handshake(ctx, conns[0])


@case("bc.4", "compressed and plain clients on /broadcast each get what they negotiated")
def _c(ctx):
    from cases_deflate import compressible_text  # imported late to keep the case order
    per = [{"extensions": "permessage-deflate"}, {}, {"extensions": "permessage-deflate"}, {}]
    conns = _join(ctx, 4, per=per)
    msgs = [compressible_text(100 * (i + 1), i) for i in range(8)]
    # Senders take turns; each message reaches everyone before the next is sent, because only
    # the order of one sender's messages is defined.
    for i, p in enumerate(msgs):
        sender = conns[i % 4]
        sender.send_message(OP_TEXT, p, compress=sender.deflate is not None)
        for ci, c in enumerate(conns):
            ev = expect_message(c, OP_TEXT, p, what=f" #{i} at client {ci}")
            if c.deflate is not None and len(p) >= 64 and not ev.compressed:
                ctx.nonstrict(f"client {ci} negotiated permessage-deflate but got message #{i} "
                              f"uncompressed")
    for c in conns:
        close_handshake(ctx, c)


@case("bc.5", "fragmented message and a 1 MiB message are broadcast whole")
def _c(ctx):
    conns = _join(ctx, 3)
    conns[1].send_message(OP_TEXT, b"fragmented broadcast message", frag=5)
    for ci, c in enumerate(conns):
        expect_message(c, OP_TEXT, b"fragmented broadcast message", what=f" at client {ci}")
    big = bytes(range(256)) * 4096
    conns[2].send(build_frame(OP_BINARY, big))
    for ci, c in enumerate(conns):
        expect_message(c, OP_BINARY, big, 5.0, what=f" at client {ci}")
    for c in conns:
        close_handshake(ctx, c)


@case("bc.6", "/echo connections do not receive broadcast traffic")
def _c(ctx):
    echo = ctx.connect()
    conns = _join(ctx, 2)
    conns[0].send(build_frame(OP_TEXT, b"for broadcast only"))
    for c in conns:
        expect_message(c, OP_TEXT, b"for broadcast only")
    echo.send(build_frame(OP_TEXT, b"echo only"))
    expect_message(echo, OP_TEXT, b"echo only")
    for c in conns + [echo]:
        close_handshake(ctx, c)


@case("bc.7", "protocol error on one broadcast client closes only that client")
def _c(ctx):
    conns = _join(ctx, 3)
    conns[2].send(build_frame(OP_TEXT, b"\xff"))
    expect_fail(ctx, conns[2], (1007,))
    conns[0].send(build_frame(OP_TEXT, b"after the error"))
    for c in conns[:2]:
        expect_message(c, OP_TEXT, b"after the error")
    for c in conns[:2]:
        close_handshake(ctx, c)




@case("hs.33", "100 KB header: an HTTP error (or 101), no hang, server keeps serving")
def _c(ctx):
    resp = _request(ctx, extra=[("X-Padding", "p" * 100000)])
    if resp.status not in (101, 400, 413, 431):
        raise Fail(f"unexpected status {resp.status} for an oversized header")
    close_handshake(ctx, ctx.connect())


@case("hs.34", "garbage request line -> 400")
def _c(ctx):
    _expect_status(ctx, (400,), raw=b"HELLO THERE\r\n\r\n")


@case("hs.35", "header line without a colon -> 400")
def _c(ctx):
    _expect_status(ctx, (400,),
                   raw=b"GET /echo HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
                       b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       b"Sec-WebSocket-Version: 13\r\nthis line has no colon\r\n\r\n")


@case("bc.8", "slow consumer over --max-send-buffer is closed; the sender is unaffected",
      server="timers")
def _c(ctx):
    slow = ctx.connect("/broadcast", server="timers")
    fast = ctx.connect("/broadcast", server="timers", auto_pong=True)
    # Make sure both are registered before flooding (see _join); the slow one reads only this.
    for attempt in range(40):
        fast.send(build_frame(OP_TEXT, b"sync %d" % attempt))
        if next_event(fast, 1.0).kind == "message" and next_event(slow, 0.3).kind == "message":
            break
    fast.send(build_frame(OP_TEXT, b"sync end"))
    _drain_until(fast, b"sync end", "fast client")
    _drain_until(slow, b"sync end", "slow client")
    # 400 x 64 KiB = 25 MiB: more than the kernel buffers (a few MiB) plus the 1 MiB limit.
    count, size = 400, 65536
    for i in range(count):
        p = i.to_bytes(4, "big") + b"y" * (size - 4)
        if not fast.send(build_frame(OP_BINARY, p)):
            raise Fail(f"sender was disconnected after {i} messages because of a slow consumer")
        ev = next_event(fast, 3.0)
        while ev.kind == "ping":
            ev = next_event(fast, 3.0)
        if ev.kind != "message" or ev.payload != p:
            raise Fail(f"sender got {ev.describe()} instead of its message #{i} while another "
                       f"client was slow")
    n = 0
    while True:
        ev = next_event(slow, 3.0)
        if ev.kind == "ping":
            continue
        if ev.kind != "message":
            break
        if int.from_bytes(ev.payload[:4], "big") != n:
            raise Fail(f"slow consumer got message #{int.from_bytes(ev.payload[:4], 'big')} "
                       f"where #{n} was due")
        n += 1
    if ev.kind == "close":
        finish_close(ctx, slow, ev)
    elif ev.kind == "eof":
        ctx.nonstrict(f"slow consumer dropped without a close frame after {n} messages")
    elif n >= count:
        raise Fail(f"slow consumer received all {count} messages (25 MiB) although "
                   f"--max-send-buffer is 1 MiB: the server buffered without limit")
    else:
        raise Fail(f"slow consumer: {ev.describe()} after {n} messages")
    close_handshake(ctx, fast)


@case("shutdown.1", "SIGTERM: clients get close 1001, TCP closes, process exits 0")
def _c(ctx):
    srv = ctx.private_server("--echo")
    try:
        conns = [open_ws(srv.host, srv.port, "/echo", timeout=1.5),
                 open_ws(srv.host, srv.port, "/broadcast", timeout=1.5),
                 open_ws(srv.host, srv.port, "/echo", timeout=1.5)]
        ctx.conns.extend(conns)
        conns[2].send(build_frame(OP_TEXT, b"half a message", fin=False))
        time.sleep(0.05)
        srv.proc.send_signal(signal.SIGTERM)
        problems = []
        for i, c in enumerate(conns):
            ev = next_event(c, 3.0)
            if ev.kind == "eof":
                ctx.nonstrict(f"client {i} dropped without a close frame on shutdown")
                continue
            if ev.kind != "close":
                raise Fail(f"client {i}: expected close 1001 on shutdown, got {ev.describe()}")
            if ev.code != 1001:
                ctx.nonstrict(f"client {i}: shutdown close code {ev.code}, 1001 (going away) "
                              f"expected")
            c.send(build_frame(0x8, (ev.code or 1000).to_bytes(2, "big")))
            end = next_event(c, 2.0)
            if end.kind != "eof":
                problems.append(f"client {i}: server sent close {ev.code}, client replied, TCP "
                                f"not closed within 2 s (RFC 6455 §5.5.1)")
            c.abort()
        try:
            code = srv.proc.wait(3.0)
        except Exception:
            raise Fail("server did not exit within 3 s of SIGTERM although every client had "
                       "completed the close handshake and closed its socket")
        if code != 0:
            problems.append(f"exit status {code} after SIGTERM")
        if problems:
            raise Fail("; ".join(problems))
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


@case("hs.36", "first frame in the same TCP write as the handshake")
def _c(ctx):
    s = ctx.srv()
    request, key = build_request(s.host, s.port)
    try:
        resp, sock, rest = http_exchange(s.host, s.port, request + build_frame(OP_TEXT, b"early"))
    except HandshakeError as e:
        raise Fail(str(e))
    if resp.status != 101:
        raise Fail(f"expected 101, got {resp.status}")
    conn = WsConn(sock, rest, resp, timeout=1.5)
    ctx.conns.append(conn)
    ev = next_event(conn)
    if ev.kind != "message" or ev.payload != b"early":
        # RFC 6455 §4.1 says a client MUST wait for the 101; dropping the frame is tolerable.
        ctx.nonstrict(f"frame sent along with the handshake: {ev.describe()}")
        return
    close_handshake(ctx, conn)


# Cases that mostly wait; the runner runs them in threads alongside the rest.
SLOW = {"ka.1", "ka.2", "idle.1", "idle.2", "bc.8", "shutdown.1"}
