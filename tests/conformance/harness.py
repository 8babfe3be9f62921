"""Case registry, per-case context and the expectations the case families share.

Grading follows the usual conformance-suite scale: a case passes strictly, passes non-strictly
(the server did something the RFC allows but not what our contract or the RFC's SHOULD asks for;
the note is shown with -v), or fails with a reason.
"""

from wsclient import (OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, HandshakeError,  # noqa: F401
                      ServerViolation, build_frame, close_payload, open_ws)

CASES = []

# Server flag sets. The runner starts each one the selected cases need, once, and shares it.
SERVERS = {
    "main": ["--echo"],
    "dedicated": ["--echo", "--compression", "dedicated", "--compression-threshold", "0",
                  "--max-message-size", "1048576"],
    "handshake": ["--echo", "--compression", "off",
                  "--allowed-origin", "https://good.example",
                  "--allowed-origin", "http://localhost:8080",
                  "--subprotocol", "chat.v2", "--subprotocol", "chat.v1"],
    "timers": ["--echo", "--ping-interval", "1", "--idle-timeout", "2",
               "--max-send-buffer", "1048576"],
}
DEDICATED_MAX = 1048576
MAIN_MAX = 16 * 1024 * 1024


class Fail(Exception):
    pass


class Case:
    def __init__(self, name, fn, server, desc, args):
        self.name, self.fn, self.server, self.desc, self.args = name, fn, server, desc, args


def case(name, desc="", server="main", args=()):
    """Register `fn(ctx, *args)` as case `name`; usable as a decorator or called directly."""
    def register(fn):
        CASES.append(Case(name, fn, server, desc, tuple(args)))
        return fn
    return register


class Ctx:
    def __init__(self, runner, case_):
        self.runner = runner
        self.case = case_
        self.notes = []
        self.conns = []

    def srv(self, key=None):
        return self.runner.server(key or self.case.server)

    def connect(self, path="/echo", server=None, **kw):
        key = server or self.case.server
        s = self.srv(key)
        if key == "handshake":
            kw.setdefault("origin", "https://good.example")  # that server has an allow-list
        kw.setdefault("timeout", 1.5)
        try:
            conn = open_ws(s.host, s.port, path, **kw)
        except HandshakeError as e:
            raise Fail(f"opening handshake failed: {e}")
        self.conns.append(conn)
        return conn

    def private_server(self, *flags):
        """A server of this case's own (e.g. to shut it down); the case must stop it."""
        return self.runner.spawn(f"{self.case.name}", list(flags))

    def nonstrict(self, note):
        self.notes.append(note)

    def cleanup(self):
        for c in self.conns:
            c.abort()


def _fmt_payload(p, limit=24):
    p = bytes(p)
    if len(p) <= limit:
        return repr(p)
    return f"{len(p)} bytes starting {p[:limit]!r}"


def next_event(conn, timeout=None):
    try:
        return conn.next_event(timeout)
    except ServerViolation as e:
        raise Fail(str(e))


def expect_message(conn, opcode, payload, timeout=None, what=""):
    ev = next_event(conn, timeout)
    kind = "text" if opcode == OP_TEXT else "binary"
    if ev.kind != "message":
        raise Fail(f"expected echo of {kind} message{what} ({len(payload)} bytes), got "
                   f"{ev.describe()}")
    if ev.opcode != opcode:
        raise Fail(f"expected {kind} message{what}, got opcode {ev.opcode}")
    if ev.payload != payload:
        raise Fail(f"echoed {kind} message{what} differs: expected {_fmt_payload(payload)}, got "
                   f"{_fmt_payload(ev.payload)}")
    return ev


def expect_pong(conn, payload, timeout=None, what=""):
    ev = next_event(conn, timeout)
    if ev.kind != "pong":
        raise Fail(f"expected pong{what} with {_fmt_payload(payload)}, got {ev.describe()}")
    if ev.payload != payload:
        raise Fail(f"pong{what} payload {_fmt_payload(ev.payload)} != ping payload "
                   f"{_fmt_payload(payload)} (RFC 6455 §5.5.3)")
    return ev


def finish_close(ctx, conn, ev, eof_timeout=2.0):
    """After the server's close frame: reply (RFC 6455 §5.5.1) and require the server to close
    the TCP connection (RFC 6455 §7.1.1: the server closes first)."""
    reply = b"" if ev.code is None else close_payload(ev.code)
    conn.send(build_frame(OP_CLOSE, reply))
    end = next_event(conn, eof_timeout)
    if end.kind == "timeout":
        raise Fail(f"server sent close {ev.code}, the client replied with close, but the server "
                   f"did not close the TCP connection within {eof_timeout:g} s (RFC 6455 §5.5.1: "
                   f"after sending and receiving a close it MUST close TCP; §7.1.1)")
    if end.kind != "eof":
        raise Fail(f"server sent {end.describe()} after its close frame (RFC 6455 §5.5.1)")
    conn.abort()  # the server closed first; now the client closes its side (RFC 6455 §7.1.1)


def expect_fail(ctx, conn, codes=(1002,), timeout=None, allow=(), why=""):
    """The server must _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): a close frame with one
    of `codes`, then TCP close. Dropping TCP without a close frame is non-strict (the RFC says
    SHOULD send a close frame). `allow` lists event kinds that may come first (e.g. "pong" when
    the server could have answered a ping that came before the violation)."""
    want = "/".join(str(c) for c in codes)
    while True:
        ev = next_event(conn, timeout)
        if ev.kind in allow:
            continue
        break
    if ev.kind == "close":
        if ev.code not in codes:
            raise Fail(f"expected close {want}{why}, got {ev.describe()}")
        finish_close(ctx, conn, ev)
        return ev
    if ev.kind == "eof":
        ctx.nonstrict(f"server dropped TCP without a close {want} frame (RFC 6455 §7.1.7 SHOULD)")
        return ev
    if ev.kind == "timeout":
        raise Fail(f"expected close {want}{why}, server did nothing")
    raise Fail(f"expected close {want}{why}, got {ev.describe()}")




def close_handshake(ctx, conn, code=1000, reason=b"", expect=None, timeout=None):
    """Client-initiated close: the server must answer with a close frame and then close TCP.
    RFC 6455 §5.5.1: the reply typically echoes the code; our contract says it does."""
    conn.send(build_frame(OP_CLOSE, close_payload(code, reason)))
    ev = next_event(conn, timeout)
    if ev.kind != "close":
        raise Fail(f"expected close reply to close {code}, got {ev.describe()}")
    accepted = expect if expect is not None else ((None, 1000) if code is None else (code,))
    if ev.code not in accepted:
        if code is not None and ev.code == 1000 and expect is None:
            ctx.nonstrict(f"close {code} answered with 1000 instead of echoing the code")
        else:
            raise Fail(f"close {code} answered with {ev.describe()}, expected "
                       f"{'/'.join(str(c) for c in accepted)}")
    end = next_event(conn, 2.0)
    if end.kind == "timeout":
        raise Fail("server answered the close but did not close the TCP connection within 2 s "
                   "(RFC 6455 §5.5.1, §7.1.1: the server closes TCP first)")
    if end.kind != "eof":
        raise Fail(f"server sent {end.describe()} after its close frame")
    conn.abort()
    return ev


def echo_roundtrip(ctx, conn, opcode, payload, frag=None, compress=False, timeout=None):
    conn.send_message(opcode, payload, compress=compress, frag=frag)
    return expect_message(conn, opcode, payload, timeout)


def big_timeout(nbytes):
    return 3.0 + nbytes / 10e6

