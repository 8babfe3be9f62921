"""Case families 1-5, 7 and 9 (framing, pings, reserved bits, opcodes, fragmentation, close
handling, limits), plus the max-message-size cases. Numbering follows the conformance case list
this suite is modelled on; cases we added carry numbers past the end of each family."""
import random
import socket
import struct
import threading
import time

from harness import (DEDICATED_MAX, MAIN_MAX, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT,
                     Fail, big_timeout, case, close_handshake, expect_fail, expect_message,
                     expect_pong, next_event)
from wsclient import OP_CONT, build_frame, close_payload

HELLO = b"Hello, world!"
UTF8_SAMPLE = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode()


def text_payload(n, seed=0):
    """n bytes of ASCII text, different per seed so echo mix-ups show."""
    base = (f"*{seed}-" + "abcdefghijklmnopqrstuvwxyz0123456789 ") * (n // 30 + 2)
    return base.encode()[:n]


def binary_payload(n, seed=0):
    return random.Random(seed).randbytes(n)


def fe_payload(n):
    return b"\xfe" * n


# --- 1: framing --------------------------------------------------------------------------------

def _echo_case(ctx, opcode, payload, chop=None, timeout=None):
    payload = payload() if callable(payload) else payload
    conn = ctx.connect()
    frame = build_frame(opcode, payload)
    if chop:
        conn.send_chopped(frame, chop)
    else:
        conn.send(frame)
    expect_message(conn, opcode, payload, timeout or big_timeout(len(payload)))
    close_handshake(ctx, conn)


for i, n in enumerate([0, 125, 126, 127, 128, 65535, 65536], 1):
    case(f"1.1.{i}", f"text message, {n} bytes", args=(OP_TEXT, b"*" * n))(_echo_case)
    case(f"1.2.{i}", f"binary message, {n} bytes", args=(OP_BINARY, fe_payload(n)))(_echo_case)
case("1.1.8", "text 65536 bytes written in 997-byte chops",
     args=(OP_TEXT, b"*" * 65536, 997))(_echo_case)
case("1.2.8", "binary 65536 bytes written in 997-byte chops",
     args=(OP_BINARY, fe_payload(65536), 997))(_echo_case)


@case("1.3.1", "text message of 1 MiB")
def _c(ctx):
    _echo_case(ctx, OP_TEXT, text_payload(1 << 20, 131))


@case("1.3.2", "binary message of 4 MiB")
def _c(ctx):
    _echo_case(ctx, OP_BINARY, binary_payload(4 << 20, 132))


@case("1.3.3", "binary message of exactly --max-message-size (16 MiB)")
def _c(ctx):
    _echo_case(ctx, OP_BINARY, binary_payload(MAIN_MAX, 133))


def _length_form_case(ctx, n, form):
    """RFC 6455 §5.2 asks the *sender* for the minimal length encoding and leaves the receiver's
    reaction open: echo and 1002 both pass."""
    conn = ctx.connect()
    payload = b"x" * n
    conn.send(build_frame(OP_TEXT, payload, len_form=form))
    ev = next_event(conn)
    if ev.kind == "message" and ev.payload == payload:
        return close_handshake(ctx, conn)
    if ev.kind == "close" and ev.code == 1002:
        return expect_fail(ctx, _Replay(conn, ev))
    raise Fail(f"non-minimal {form}-bit length for {n} bytes: expected echo or close 1002, got "
               f"{ev.describe()}")


class _Replay:
    """Feeds one already-read event back to expect_fail()."""

    def __init__(self, conn, ev):
        self._conn, self._ev = conn, ev

    def next_event(self, timeout=None):
        ev, self._ev = self._ev, None
        return ev if ev is not None else self._conn.next_event(timeout)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def expect_fail_after(ctx, conn, ev, codes=(1002,)):
    return expect_fail(ctx, _Replay(conn, ev), codes)


case("1.4.1", "5-byte payload with a 16-bit length", args=(5, 16))(_length_form_case)
case("1.4.2", "200-byte payload with a 64-bit length", args=(200, 64))(_length_form_case)


@case("1.4.3", "64-bit length with the most significant bit set -> 1002 (or 1009)")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_BINARY, b"", length=(1 << 63) + 5) + b"abcd")
    expect_fail(ctx, conn, (1002, 1009), why=" (RFC 6455 §5.2: the MSB of a 64-bit length MUST be 0)")


@case("1.4.4", "all-zero masking key")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, HELLO, key=b"\0\0\0\0"))
    expect_message(conn, OP_TEXT, HELLO)
    close_handshake(ctx, conn)


def _unmasked(ctx, frames):
    conn = ctx.connect()
    conn.send(b"".join(frames))
    expect_fail(ctx, conn, (1002,), why=" (RFC 6455 §5.1: unmasked client frame)")


case("1.5.1", "unmasked text frame -> 1002",
     args=([build_frame(OP_TEXT, HELLO, mask=False)],))(_unmasked)
case("1.5.2", "unmasked 200-byte binary frame -> 1002",
     args=([build_frame(OP_BINARY, fe_payload(200), mask=False)],))(_unmasked)
case("1.5.3", "unmasked ping -> 1002",
     args=([build_frame(OP_PING, b"ping", mask=False)],))(_unmasked)
case("1.5.4", "unmasked close -> 1002",
     args=([build_frame(OP_CLOSE, close_payload(1000), mask=False)],))(_unmasked)
case("1.5.5", "unmasked continuation of a masked fragmented message -> 1002",
     args=([build_frame(OP_TEXT, b"frag", fin=False),
            build_frame(OP_CONT, b"ment", mask=False)],))(_unmasked)


@case("1.6.1", "text frame written one byte at a time")
def _c(ctx):
    conn = ctx.connect()
    payload = text_payload(200, 161)
    conn.send_chopped(build_frame(OP_TEXT, payload), 1, delay=0.0003)
    expect_message(conn, OP_TEXT, payload)
    close_handshake(ctx, conn)


@case("1.6.2", "frame with a 64-bit length, header split into 1-byte writes")
def _c(ctx):
    conn = ctx.connect()
    payload = binary_payload(70000, 162)
    frame = build_frame(OP_BINARY, payload)
    conn.send_chopped(frame[:14], 1, delay=0.0003)
    conn.send(frame[14:])
    expect_message(conn, OP_BINARY, payload)
    close_handshake(ctx, conn)


@case("1.6.3", "two frames in one TCP write")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"one") + build_frame(OP_BINARY, b"two"))
    expect_message(conn, OP_TEXT, b"one")
    expect_message(conn, OP_BINARY, b"two")
    close_handshake(ctx, conn)


@case("1.6.4", "100 messages and a close in one TCP write")
def _c(ctx):
    conn = ctx.connect()
    msgs = [text_payload(i * 7, i) for i in range(100)]
    conn.send(b"".join(build_frame(OP_TEXT, m) for m in msgs))
    for i, m in enumerate(msgs):
        expect_message(conn, OP_TEXT, m, what=f" #{i}")
    close_handshake(ctx, conn)


# --- 2: pings and pongs ------------------------------------------------------------------------

def _ping_case(ctx, payload, chop=None):
    conn = ctx.connect()
    frame = build_frame(OP_PING, payload)
    conn.send_chopped(frame, chop, delay=0.0003) if chop else conn.send(frame)
    expect_pong(conn, payload)
    close_handshake(ctx, conn)


case("2.1", "ping without payload", args=(b"",))(_ping_case)
case("2.2", "ping with small text payload", args=(HELLO,))(_ping_case)
case("2.3", "ping with small binary payload", args=(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff",))(_ping_case)
case("2.4", "ping with 125-byte payload", args=(fe_payload(125),))(_ping_case)


@case("2.5", "ping with 126-byte payload -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_PING, fe_payload(126)))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5: control payload <= 125)")


case("2.6", "ping with 125-byte payload written one byte at a time",
     args=(fe_payload(125), 1))(_ping_case)


def _unsolicited_pong(ctx, payload):
    conn = ctx.connect()
    conn.send(build_frame(OP_PONG, payload))
    # RFC 6455 §5.5.3: an unsolicited pong is ignored; the next thing we see must be the echo.
    conn.send(build_frame(OP_TEXT, HELLO))
    expect_message(conn, OP_TEXT, HELLO)
    close_handshake(ctx, conn)


case("2.7", "unsolicited pong without payload is ignored", args=(b"",))(_unsolicited_pong)
case("2.8", "unsolicited pong with payload is ignored",
     args=(b"unsolicited pong payload",))(_unsolicited_pong)


@case("2.9", "unsolicited pong, then ping: only the ping is answered")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_PONG, b"unsolicited pong payload") + build_frame(OP_PING, b"ping payload"))
    expect_pong(conn, b"ping payload")
    close_handshake(ctx, conn)


def _ten_pings(ctx, chop):
    conn = ctx.connect()
    frames = [build_frame(OP_PING, b"payload-%d" % i) for i in range(10)]
    if chop:
        for f in frames:
            conn.send_chopped(f, chop)
    else:
        conn.send(b"".join(frames))
    # RFC 6455 §5.5.3 lets an endpoint answer only the most recent of several pings.
    got = []
    while True:
        ev = next_event(conn, 1.0 if got else None)
        if ev.kind == "timeout" and got:
            break
        if ev.kind != "pong":
            raise Fail(f"expected pongs, got {ev.describe()} after {len(got)} pongs")
        got.append(ev.payload)
        if len(got) == 10:
            break
    want = [b"payload-%d" % i for i in range(10)]
    if got != want:
        if got and got[-1] == want[-1] and all(p in want for p in got):
            ctx.nonstrict(f"answered {len(got)} of 10 pings (allowed: only the latest must be)")
        else:
            raise Fail(f"pongs {got!r} do not match pings in order")
    close_handshake(ctx, conn)


case("2.10", "10 pings in a row", args=(None,))(_ten_pings)
case("2.11", "10 pings in a row, each written in 2-byte chops", args=(2,))(_ten_pings)


@case("2.12", "pong with 126-byte payload -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_PONG, fe_payload(126)))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5: control payload <= 125)")


@case("2.13", "ping with 125-byte payload declared with a 16-bit length")
def _c(ctx):
    # The length is legal (<= 125) though not minimally encoded; accept a pong or 1002.
    conn = ctx.connect()
    conn.send(build_frame(OP_PING, fe_payload(125), len_form=16))
    ev = next_event(conn)
    if ev.kind == "pong" and ev.payload == fe_payload(125):
        return close_handshake(ctx, conn)
    if ev.kind == "close" and ev.code == 1002:
        return expect_fail_after(ctx, conn, ev)
    raise Fail(f"expected pong or close 1002, got {ev.describe()}")


# --- 3: reserved bits --------------------------------------------------------------------------

def _rsv_case(ctx, rsv, opcode, payload, before_text, chop):
    conn = ctx.connect()
    frames = []
    if before_text:
        frames.append(build_frame(OP_TEXT, HELLO))
    frames.append(build_frame(opcode, payload, rsv=rsv))
    if before_text:
        frames.append(build_frame(OP_PING, HELLO))
    data = b"".join(frames)
    if chop == "frame":
        for f in frames:
            conn.send(f)
            time.sleep(0.001)
    elif chop == "byte":
        conn.send_chopped(data, 1)
    else:
        conn.send(data)
    if before_text:
        expect_message(conn, OP_TEXT, HELLO)
    expect_fail(ctx, conn, why=f" (RFC 6455 §5.2: RSV={rsv:03b} with no extension)")


case("3.1", "text with RSV=1 -> 1002", args=(4, OP_TEXT, HELLO, False, None))(_rsv_case)
case("3.2", "text, text with RSV=2, ping -> echo, 1002",
     args=(2, OP_TEXT, HELLO, True, None))(_rsv_case)
case("3.3", "text, text with RSV=3, ping, written frame-wise",
     args=(6, OP_TEXT, HELLO, True, "frame"))(_rsv_case)
case("3.4", "text, text with RSV=4, ping, written byte-wise",
     args=(1, OP_TEXT, HELLO, True, "byte"))(_rsv_case)
case("3.5", "binary with RSV=5 -> 1002", args=(5, OP_BINARY, fe_payload(8), False, None))(_rsv_case)
case("3.6", "ping with RSV=6 -> 1002", args=(3, OP_PING, HELLO, False, None))(_rsv_case)
case("3.7", "close with RSV=7 -> 1002",
     args=(7, OP_CLOSE, close_payload(1000), False, None))(_rsv_case)


@case("3.8", "RSV1 on a continuation frame without extension -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"frag", fin=False) + build_frame(OP_CONT, b"ment", rsv=4))
    expect_fail(ctx, conn)


# --- 4: opcodes --------------------------------------------------------------------------------

def _opcode_case(ctx, opcode, payload, before_text, fin=True):
    conn = ctx.connect()
    frames = []
    if before_text:
        frames.append(build_frame(OP_TEXT, HELLO))
    frames.append(build_frame(opcode, payload, fin=fin))
    if before_text:
        frames.append(build_frame(OP_PING, HELLO))
    conn.send(b"".join(frames))
    if before_text:
        expect_message(conn, OP_TEXT, HELLO)
    expect_fail(ctx, conn, why=f" (RFC 6455 §5.2: reserved opcode {opcode})")


for fam, ops in (("4.1", (3, 4, 5, 6, 7)), ("4.2", (11, 12, 13, 14, 15))):
    for i, op in enumerate(ops, 1):
        with_payload = i in (2, 4, 5)
        before = i >= 3
        case(f"{fam}.{i}", f"reserved opcode {op}{' with payload' if with_payload else ''}"
             f"{' after a text message, then ping' if before else ''} -> 1002",
             args=(op, fe_payload(16) if with_payload else b"", before))(_opcode_case)
case("4.3.1", "reserved data opcode 3 with FIN=0 -> 1002", args=(3, b"abc", False, False))(_opcode_case)
case("4.3.2", "reserved control opcode 11 with FIN=0 -> 1002",
     args=(11, b"abc", False, False))(_opcode_case)


# --- 5: fragmentation --------------------------------------------------------------------------

def _send_frames(conn, frames, mode):
    if mode == "frame":
        for f in frames:
            conn.send(f)
            time.sleep(0.001)
    elif mode == "byte":
        for f in frames:
            conn.send_chopped(f, 1, delay=0.0002)
    else:
        conn.send(b"".join(frames))


@case("5.1", "ping in 2 fragments -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_PING, b"frag", fin=False) + build_frame(OP_CONT, b"ment"))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5: control frames MUST NOT be fragmented)")


@case("5.2", "pong in 2 fragments -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_PONG, b"frag", fin=False) + build_frame(OP_CONT, b"ment"))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5: control frames MUST NOT be fragmented)")


def _two_frags(ctx, mode, ping):
    conn = ctx.connect()
    frames = [build_frame(OP_TEXT, b"fragment1", fin=False)]
    if ping:
        frames.append(build_frame(OP_PING, b"ping payload"))
    frames.append(build_frame(OP_CONT, b"fragment2"))
    _send_frames(conn, frames, mode)
    if ping:
        expect_pong(conn, b"ping payload")
    expect_message(conn, OP_TEXT, b"fragment1fragment2")
    close_handshake(ctx, conn)


case("5.3", "text in 2 fragments", args=(None, False))(_two_frags)
case("5.4", "text in 2 fragments, written frame-wise", args=("frame", False))(_two_frags)
case("5.5", "text in 2 fragments, written byte-wise", args=("byte", False))(_two_frags)
case("5.6", "text in 2 fragments with a ping in between", args=(None, True))(_two_frags)
case("5.7", "same, written frame-wise", args=("frame", True))(_two_frags)
case("5.8", "same, written byte-wise", args=("byte", True))(_two_frags)


def _orphan_cont(ctx, fin, mode):
    conn = ctx.connect()
    frames = [build_frame(OP_CONT, b"fragment1", fin=fin), build_frame(OP_TEXT, b"fragment2")]
    _send_frames(conn, frames, mode)
    expect_fail(ctx, conn, why=" (RFC 6455 §5.4: continuation with nothing to continue)")


case("5.9", "continuation FIN=1 with nothing to continue, then text", args=(True, None))(_orphan_cont)
case("5.10", "same, written frame-wise", args=(True, "frame"))(_orphan_cont)
case("5.11", "same, written byte-wise", args=(True, "byte"))(_orphan_cont)
case("5.12", "continuation FIN=0 with nothing to continue, then text",
     args=(False, None))(_orphan_cont)
case("5.13", "same, written frame-wise", args=(False, "frame"))(_orphan_cont)
case("5.14", "same, written byte-wise", args=(False, "byte"))(_orphan_cont)


@case("5.15", "2-fragment text, then orphan continuation FIN=0, then text -> echo, 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False) + build_frame(OP_CONT, b"fragment2")
              + build_frame(OP_CONT, b"fragment3", fin=False) + build_frame(OP_TEXT, b"fragment4"))
    expect_message(conn, OP_TEXT, b"fragment1fragment2")
    expect_fail(ctx, conn)


def _orphan_then_msg(ctx, fin):
    conn = ctx.connect()
    one = (build_frame(OP_CONT, b"fragment1", fin=fin) + build_frame(OP_TEXT, b"fragment2", fin=False)
           + build_frame(OP_CONT, b"fragment3"))
    conn.send(one + one)
    expect_fail(ctx, conn)


case("5.16", "2x: orphan continuation FIN=0, then 2-fragment text -> 1002",
     args=(False,))(_orphan_then_msg)
case("5.17", "2x: orphan continuation FIN=1, then 2-fragment text -> 1002",
     args=(True,))(_orphan_then_msg)


@case("5.18", "2 fragments both with text opcode -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False) + build_frame(OP_TEXT, b"fragment2"))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.4: new data frame inside a fragmented message)")


def _pings_between(ctx, mode):
    conn = ctx.connect()
    _send_frames(conn, [build_frame(OP_TEXT, b"fragment1", fin=False),
                        build_frame(OP_CONT, b"fragment2", fin=False),
                        build_frame(OP_PING, b"pongme 1!")], mode)
    # The pong must come while the message is still open (RFC 6455 §5.4: control frames may be
    # injected in the middle of a fragmented message and are handled right away).
    expect_pong(conn, b"pongme 1!", what=" while the message is still open")
    _send_frames(conn, [build_frame(OP_CONT, b"fragment3", fin=False),
                        build_frame(OP_CONT, b"fragment4", fin=False),
                        build_frame(OP_PING, b"pongme 2!")], mode)
    expect_pong(conn, b"pongme 2!", what=" while the message is still open")
    _send_frames(conn, [build_frame(OP_CONT, b"fragment5")], mode)
    expect_message(conn, OP_TEXT, b"fragment1fragment2fragment3fragment4fragment5")
    close_handshake(ctx, conn)


case("5.19", "5-fragment text with 2 pings in between, pongs due before the end",
     args=(None,))(_pings_between)
case("5.20", "same, written frame-wise", args=("frame",))(_pings_between)


def _one_byte_frags(ctx, opcode, payload):
    conn = ctx.connect()
    conn.send_message(opcode, payload, frag=1)
    expect_message(conn, opcode, payload, timeout=5.0)
    close_handshake(ctx, conn)


case("5.21", "text in 1-byte fragments", args=(OP_TEXT, b"Hello fragmented world!"))(_one_byte_frags)
case("5.22", "binary of 256 bytes in 1-byte fragments",
     args=(OP_BINARY, bytes(range(256))))(_one_byte_frags)
case("5.23", "text of 2000 bytes in 1-byte fragments",
     args=(OP_TEXT, text_payload(2000, 523)))(_one_byte_frags)


@case("5.24", "empty first fragment and empty final continuation")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b""))
    expect_message(conn, OP_TEXT, b"")
    close_handshake(ctx, conn)


@case("5.25", "binary in 10 fragments with a ping between every two")
def _c(ctx):
    conn = ctx.connect()
    payload = binary_payload(100, 525)
    frames = []
    for i in range(10):
        frames.append(build_frame(OP_BINARY if i == 0 else OP_CONT, payload[i * 10:(i + 1) * 10],
                                  fin=i == 9))
        if i < 9:
            frames.append(build_frame(OP_PING, b"p%d" % i))
    conn.send(b"".join(frames))
    for i in range(9):
        expect_pong(conn, b"p%d" % i)
    expect_message(conn, OP_BINARY, payload)
    close_handshake(ctx, conn)


@case("5.26", "close in the middle of a fragmented message: close reply, no echo")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False))
    close_handshake(ctx, conn, 1000)


@case("5.27", "binary FIN=0, then text FIN=1 -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_BINARY, b"fragment1", fin=False) + build_frame(OP_TEXT, b"fragment2"))
    expect_fail(ctx, conn)


@case("5.28", "text FIN=0, then binary FIN=0 -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False)
              + build_frame(OP_BINARY, b"fragment2", fin=False) + build_frame(OP_CONT, b"x"))
    expect_fail(ctx, conn)


@case("5.29", "5 empty fragments, then a 1-byte final fragment")
def _c(ctx):
    conn = ctx.connect()
    frames = [build_frame(OP_TEXT, b"", fin=False)] + [build_frame(OP_CONT, b"", fin=False)] * 4
    conn.send(b"".join(frames) + build_frame(OP_CONT, b"x"))
    expect_message(conn, OP_TEXT, b"x")
    close_handshake(ctx, conn)


@case("5.30", "pong in the middle of a fragmented message is ignored")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False) + build_frame(OP_PONG, b"pong")
              + build_frame(OP_CONT, b"fragment2"))
    expect_message(conn, OP_TEXT, b"fragment1fragment2")
    close_handshake(ctx, conn)


@case("5.31", "continuation with FIN=0 after a complete message -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_BINARY, b"whole") + build_frame(OP_CONT, b"orphan"))
    expect_message(conn, OP_BINARY, b"whole")
    expect_fail(ctx, conn)


# --- 7: close handling -------------------------------------------------------------------------

@case("7.1.1", "text message, then close")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, HELLO))
    expect_message(conn, OP_TEXT, HELLO)
    close_handshake(ctx, conn)


def _after_close(ctx, extra):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000)) + extra)
    ev = next_event(conn)
    if ev.kind != "close" or ev.code != 1000:
        raise Fail(f"expected close 1000 reply, got {ev.describe()} (RFC 6455 §5.5.1: nothing is "
                   f"processed after a close frame)")
    end = next_event(conn, 2.0)
    if end.kind != "eof":
        raise Fail(f"expected TCP close after the close handshake, got {end.describe()}")


case("7.1.2", "close twice", args=(build_frame(OP_CLOSE, close_payload(1000)),))(_after_close)
case("7.1.3", "close, then ping: no pong", args=(build_frame(OP_PING, HELLO),))(_after_close)
case("7.1.4", "close, then text: no echo", args=(build_frame(OP_TEXT, HELLO),))(_after_close)


@case("7.1.5", "text fragment, close, final fragment: no echo")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"fragment1", fin=False))
    conn.send(build_frame(OP_CLOSE, close_payload(1000)) + build_frame(OP_CONT, b"fragment2"))
    ev = next_event(conn)
    if ev.kind != "close" or ev.code != 1000:
        raise Fail(f"expected close 1000 reply, got {ev.describe()}")
    end = next_event(conn, 2.0)
    if end.kind != "eof":
        raise Fail(f"expected TCP close, got {end.describe()}")


@case("7.1.6", "256 KiB text, close and ping sent at once: echo optional, then close 1000")
def _c(ctx):
    conn = ctx.connect()
    payload = text_payload(256 * 1024, 716)
    conn.send(build_frame(OP_TEXT, payload) + build_frame(OP_CLOSE, close_payload(1000))
              + build_frame(OP_PING, HELLO))
    ev = next_event(conn, 5.0)
    if ev.kind == "message":
        if ev.payload != payload:
            raise Fail("echo of the 256 KiB message differs")
        ev = next_event(conn)
    if ev.kind != "close" or ev.code != 1000:
        raise Fail(f"expected close 1000, got {ev.describe()}")
    end = next_event(conn, 2.0)
    if end.kind != "eof":
        raise Fail(f"expected TCP close, got {end.describe()}")


@case("7.3.1", "close with empty payload -> empty close or 1000")
def _c(ctx):
    conn = ctx.connect()
    close_handshake(ctx, conn, None)


@case("7.3.2", "close with 1-byte payload -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, b"\x03"))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5.1: a close body starts with a 2-byte code)")


@case("7.3.3", "close 1000 without reason")
def _c(ctx):
    close_handshake(ctx, ctx.connect(), 1000)


@case("7.3.4", "close 1000 with a short reason")
def _c(ctx):
    close_handshake(ctx, ctx.connect(), 1000, b"Hello World!")


@case("7.3.5", "close 1000 with a 123-byte reason (125-byte payload)")
def _c(ctx):
    close_handshake(ctx, ctx.connect(), 1000, b"*" * 123)


@case("7.3.6", "close with a 124-byte reason (126-byte payload) -> 1002")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000, b"*" * 124)))
    expect_fail(ctx, conn, why=" (RFC 6455 §5.5: control payload <= 125)")


@case("7.5.1", "close reason that is not UTF-8 -> 1007")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited")))
    expect_fail(ctx, conn, (1007,), why=" (RFC 6455 §5.5.1 / §8.1)")


@case("7.5.2", "close reason that is valid multi-byte UTF-8")
def _c(ctx):
    close_handshake(ctx, ctx.connect(), 1000, UTF8_SAMPLE)


@case("7.5.3", "close reason with a truncated UTF-8 sequence at the end -> 1007")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000, b"abc\xce")))
    expect_fail(ctx, conn, (1007,))


VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999]


def _valid_code(ctx, code):
    close_handshake(ctx, ctx.connect(), code, b"reason")


def _invalid_code(ctx, code):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(code)))
    expect_fail(ctx, conn, why=f" (RFC 6455 §7.4: {code} may not be sent)")


for i, code in enumerate(VALID_CODES, 1):
    case(f"7.7.{i}", f"close with valid code {code}: echoed", args=(code,))(_valid_code)
for i, code in enumerate(INVALID_CODES, 1):
    case(f"7.9.{i}", f"close with invalid code {code} -> 1002", args=(code,))(_invalid_code)
case("7.13.1", "close with code 5000 -> 1002", args=(5000,))(_invalid_code)
case("7.13.2", "close with code 65535 -> 1002", args=(65535,))(_invalid_code)


@case("7.14.1", "data sent right after a server-acknowledged close is ignored")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000)))
    ev = next_event(conn)
    if ev.kind != "close":
        raise Fail(f"expected close reply, got {ev.describe()}")
    conn.send(build_frame(OP_TEXT, HELLO))
    end = next_event(conn, 2.0)
    if end.kind != "eof":
        raise Fail(f"expected TCP close, got {end.describe()}")


# --- 9: limits and throughput (sizes kept small) -----------------------------------------------

SIZES_9 = [64 * 1024, 256 * 1024, 1 << 20, 4 << 20]
for i, n in enumerate(SIZES_9, 1):
    case(f"9.1.{i}", f"text message of {n} bytes", args=(OP_TEXT, lambda n=n, i=i: text_payload(n, 910 + i)))(_echo_case)
    case(f"9.2.{i}", f"binary message of {n} bytes",
         args=(OP_BINARY, lambda n=n, i=i: binary_payload(n, 920 + i)))(_echo_case)


def _frag_big(ctx, opcode, payload, frag):
    payload = payload() if callable(payload) else payload
    conn = ctx.connect()
    conn.send_message(opcode, payload, frag=frag)
    expect_message(conn, opcode, payload, big_timeout(len(payload)))
    close_handshake(ctx, conn)


FRAGS_9 = [64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20]
for i, f in enumerate(FRAGS_9, 1):
    case(f"9.3.{i}", f"1 MiB text in {f}-byte fragments",
         args=(OP_TEXT, lambda i=i: text_payload(1 << 20, 930 + i), f))(_frag_big)
    case(f"9.4.{i}", f"1 MiB binary in {f}-byte fragments",
         args=(OP_BINARY, lambda i=i: binary_payload(1 << 20, 940 + i), f))(_frag_big)

CHOPS_9 = [64, 128, 256, 512, 1024, 2048]
for i, c in enumerate(CHOPS_9, 1):
    case(f"9.5.{i}", f"256 KiB text frame written in {c}-byte chops",
         args=(OP_TEXT, lambda i=i: text_payload(256 * 1024, 950 + i), c))(_echo_case)
    case(f"9.6.{i}", f"256 KiB binary frame written in {c}-byte chops",
         args=(OP_BINARY, lambda i=i: binary_payload(256 * 1024, 960 + i), c))(_echo_case)


def _roundtrips(ctx, size, count):
    conn = ctx.connect()
    for i in range(count):
        payload = text_payload(size, i)
        conn.send(build_frame(OP_TEXT, payload))
        expect_message(conn, OP_TEXT, payload, what=f" #{i}")
    close_handshake(ctx, conn)


def _pipelined(ctx, size, count):
    conn = ctx.connect()
    msgs = [binary_payload(size, i) for i in range(count)]
    conn.send(b"".join(build_frame(OP_BINARY, m) for m in msgs))
    for i, m in enumerate(msgs):
        expect_message(conn, OP_BINARY, m, what=f" #{i}")
    close_handshake(ctx, conn)


for i, n in enumerate([0, 16, 64, 256, 1024, 4096], 1):
    case(f"9.7.{i}", f"200 sequential round trips of {n}-byte text", args=(n, 200))(_roundtrips)
    case(f"9.8.{i}", f"1000 pipelined {n}-byte binary messages", args=(n, 1000))(_pipelined)


# --- limits: --max-message-size ---------------------------------------------------------------

def _too_big(ctx, frames, why):
    conn = ctx.connect()
    for f in frames:
        if not conn.send(f):
            break
    expect_fail(ctx, conn, (1009,), timeout=5.0, why=why)


@case("limits.1", "binary of 16 MiB + 1 (default limit) -> 1009")
def _c(ctx):
    _too_big(ctx, [build_frame(OP_BINARY, b"\0" * (MAIN_MAX + 1))], " (message over --max-message-size)")


@case("limits.2", "17 fragments of 1 MiB (default limit 16 MiB) -> 1009")
def _c(ctx):
    chunk = b"a" * (1 << 20)
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, chunk, fin=i == 16) for i in range(17)]
    _too_big(ctx, frames, " (fragmented message over --max-message-size)")


@case("limits.3", "binary of exactly the limit (1 MiB) is echoed", server="dedicated")
def _c(ctx):
    conn = ctx.connect()
    payload = binary_payload(DEDICATED_MAX, 13)
    conn.send(build_frame(OP_BINARY, payload))
    expect_message(conn, OP_BINARY, payload, big_timeout(DEDICATED_MAX))
    close_handshake(ctx, conn)


@case("limits.4", "binary of limit + 1 -> 1009", server="dedicated")
def _c(ctx):
    _too_big(ctx, [build_frame(OP_BINARY, b"\1" * (DEDICATED_MAX + 1))], "")


@case("limits.5", "fragments of limit/2, limit/2 and 1 byte -> 1009", server="dedicated")
def _c(ctx):
    half = b"h" * (DEDICATED_MAX // 2)
    _too_big(ctx, [build_frame(OP_TEXT, half, fin=False), build_frame(OP_CONT, half, fin=False),
                   build_frame(OP_CONT, b"!")], "")


@case("limits.6", "header declaring a 2 GiB frame, no payload: 1009 without waiting", server="dedicated")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_BINARY, b"", length=1 << 31))
    expect_fail(ctx, conn, (1009,), timeout=2.0,
                why=" (the declared length already exceeds --max-message-size)")


@case("limits.7", "header declaring a 1 TiB frame on the default limit -> 1009")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"", length=1 << 40))
    expect_fail(ctx, conn, (1009,), timeout=2.0,
                why=" (the declared length already exceeds --max-message-size)")


@case("limits.8", "many small fragments adding up to limit + 1 -> 1009", server="dedicated")
def _c(ctx):
    piece = b"p" * 65536
    n = DEDICATED_MAX // len(piece)
    frames = [build_frame(OP_BINARY if i == 0 else OP_CONT, piece, fin=False) for i in range(n)]
    frames.append(build_frame(OP_CONT, b"+"))
    _too_big(ctx, frames, "")


@case("limits.9", "control frames inside a message at the limit do not count towards it",
      server="dedicated")
def _c(ctx):
    conn = ctx.connect()
    half = b"h" * (DEDICATED_MAX // 2)
    conn.send(build_frame(OP_TEXT, half, fin=False) + build_frame(OP_PING, b"x" * 125)
              + build_frame(OP_CONT, half))
    expect_pong(conn, b"x" * 125)
    expect_message(conn, OP_TEXT, half + half, big_timeout(DEDICATED_MAX))
    close_handshake(ctx, conn)


# --- more robustness: half-close, abrupt disconnects, concurrency ------------------------------

@case("7.15.1", "close, then TCP half-close (FIN): server still answers and closes")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_CLOSE, close_payload(1000)))
    conn.sock.shutdown(socket.SHUT_WR)
    ev = next_event(conn)
    if ev.kind != "close" or ev.code != 1000:
        raise Fail(f"expected close 1000 after close + FIN, got {ev.describe()}")
    end = next_event(conn, 2.0)
    if end.kind != "eof":
        raise Fail(f"expected TCP close, got {end.describe()}")


def _abrupt(ctx, data):
    conn = ctx.connect()
    conn.send(data)
    conn.abort()
    # The server must survive and keep serving.
    other = ctx.connect()
    other.send(build_frame(OP_TEXT, HELLO))
    expect_message(other, OP_TEXT, HELLO)
    close_handshake(ctx, other)


case("7.15.2", "TCP close in the middle of a frame header; server keeps serving",
     args=(build_frame(OP_TEXT, b"x" * 300)[:3],))(_abrupt)
case("7.15.3", "TCP close in the middle of a payload",
     args=(build_frame(OP_BINARY, b"x" * 100000)[:5000],))(_abrupt)
case("7.15.4", "TCP close in the middle of a fragmented message",
     args=(build_frame(OP_TEXT, b"frag", fin=False),))(_abrupt)
case("7.15.5", "TCP close right after a ping, before reading the pong",
     args=(build_frame(OP_PING, b"x" * 125),))(_abrupt)


@case("7.15.6", "TCP reset with unread echo data pending; server keeps serving")
def _c(ctx):
    conn = ctx.connect()
    conn.send(b"".join(build_frame(OP_BINARY, binary_payload(60000, i)) for i in range(40)))
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.abort()
    other = ctx.connect()
    other.send(build_frame(OP_TEXT, HELLO))
    expect_message(other, OP_TEXT, HELLO)
    close_handshake(ctx, other)


@case("9.9.1", "32 concurrent connections, 50 echoes each")
def _c(ctx):
    conns = [ctx.connect() for _ in range(32)]
    errors = []

    def work(i, conn):
        try:
            for k in range(50):
                p = text_payload(10 + (k * 37 + i) % 3000, i * 1000 + k)
                op = OP_TEXT if k % 2 else OP_BINARY
                conn.send(build_frame(op, p))
                expect_message(conn, op, p, what=f" #{k} on connection {i}")
        except Exception as e:  # collected and reported below
            errors.append(str(e))

    threads = [threading.Thread(target=work, args=(i, c)) for i, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    if errors:
        raise Fail(errors[0])
    for c in conns:
        close_handshake(ctx, c)


case("9.1.5", "text message of 4 MiB mixed multi-byte UTF-8", args=(
    OP_TEXT, lambda: ("\u03ba\u1f79\u03c3\u03bc\u03b5 \u20ac \U0001F600 abc " * 200000)
    .encode()[:4 << 20].decode("utf-8", "ignore").encode()))(_echo_case)
case("9.1.6", "text message of exactly 16 MiB",
     args=(OP_TEXT, lambda: text_payload(MAIN_MAX, 916)))(_echo_case)


def _write_all_then_read(ctx, msgs, server=None, offer=None, wait=0.3):
    """Write every message before reading anything (from a thread, so TCP can push back), then
    read the echoes: the server has to stop reading while its replies pile up and resume
    afterwards, without losing or reordering anything."""
    conn = ctx.connect(server=server, extensions=offer) if offer else ctx.connect(server=server)
    data = b"".join(build_frame(op, p) if conn.deflate is None else
                    build_frame(op, conn.deflate.compress(p), rsv=4) for op, p in msgs)
    errors = []

    def writer():
        try:
            conn.sock.sendall(data)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(wait)
    total = sum(len(p) for _, p in msgs)
    for i, (op, p) in enumerate(msgs):
        expect_message(conn, op, p, timeout=big_timeout(total), what=f" #{i} of {len(msgs)}")
    t.join(10)
    if errors:
        raise Fail(f"writing failed: {errors[0]}")
    close_handshake(ctx, conn)


@case("9.10.1", "100 x 256 KiB binary written before reading any echo")
def _c(ctx):
    _write_all_then_read(ctx, [(OP_BINARY, binary_payload(256 * 1024, i)) for i in range(100)])


@case("9.10.2", "20000 x 100-byte text written before reading any echo")
def _c(ctx):
    _write_all_then_read(ctx, [(OP_TEXT, text_payload(100, i)) for i in range(20000)])


@case("9.10.3", "100 x 256 KiB echo with --max-send-buffer 1 MiB: paused, not closed",
      server="timers")
def _c(ctx):
    _write_all_then_read(ctx, [(OP_BINARY, binary_payload(256 * 1024, i)) for i in range(100)],
                         server="timers")


@case("9.10.4", "800 compressed 8 KiB text messages written before reading any echo",
      server="dedicated")
def _c(ctx):
    from cases_deflate import compressible_text  # imported late to keep the case order
    _write_all_then_read(ctx, [(OP_TEXT, compressible_text(8192, i)) for i in range(800)],
                         server="dedicated", offer="permessage-deflate")


@case("2.14", "1000 pings written at once: pongs in order, the last one included")
def _c(ctx):
    conn = ctx.connect()
    conn.send(b"".join(build_frame(OP_PING, b"ping %d" % i) for i in range(1000)))
    got = []
    while True:
        ev = next_event(conn, 1.0 if got else None)
        if ev.kind == "timeout" and got:
            break
        if ev.kind != "pong":
            raise Fail(f"expected pongs, got {ev.describe()} after {len(got)}")
        got.append(int(ev.payload.split()[1]))
        if got[-1] == 999:
            break
    if got != sorted(got) or got[-1] != 999:
        raise Fail(f"pongs out of order or the last ping unanswered (got {len(got)} pongs)")
    if len(got) < 1000:
        ctx.nonstrict(f"answered {len(got)} of 1000 pings (only the latest must be answered)")
    close_handshake(ctx, conn)
