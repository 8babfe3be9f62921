"""Case family 6: UTF-8 handling in text messages (RFC 6455 §5.6, §8.1; RFC 3629).

The byte sequences follow the classic UTF-8 decoder stress test. Every sequence is sent
  6.G.N        as one text frame,
  6.G.N.f1     as text fragments of one byte each,
  6.G.N.sP     as two fragments split after byte P (for every P, sequences up to 12 bytes),
  6.G.N.ff     (invalid ones only) wrapped as "κόσμε" + seq + "edited", cut right after the first
               invalid byte, followed by a ping: a fail-fast server closes with 1007 before it
               answers the ping; answering the ping first is graded non-strict.
Valid sequences must come back unchanged; invalid ones must end in close 1007.
"""
import time

from harness import (OP_BINARY, OP_PING, OP_TEXT, Fail, case, close_handshake, expect_fail,
                     expect_message, finish_close, next_event)
from wsclient import OP_CONT, build_frame, utf8_fail_index

KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε"
SAMPLE = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode()


def _h(s):
    return bytes.fromhex(s)


# (group, description, [sequences]); validity is computed, then cross-checked with Python.
GROUPS = [
    ("6.5", "valid UTF-8 samples", [
        KOSME, SAMPLE, "\U0001F600 grinning face".encode(), "\u00a9 \u20ac \U00010348".encode(),
        "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8".encode()]),
    ("6.6", "prefixes of \u03ba\u1f79\u03c3\u03bc\u03b5", [KOSME[:i] for i in range(1, 12)]),
    ("6.7", "first possible sequence of each length", [
        _h("00"), _h("c280"), _h("e0a080"), _h("f0908080")]),
    ("6.8", "first possible 5- and 6-byte sequences (not UTF-8)", [
        _h("f888808080"), _h("fc8480808080")]),
    ("6.9", "last possible sequence of each length", [
        _h("7f"), _h("dfbf"), _h("efbfbf"), _h("f48fbfbf")]),
    ("6.10", "last possible 4-, 5- and 6-byte patterns (beyond U+10FFFF)", [
        _h("f7bfbfbf"), _h("fbbfbfbfbf"), _h("fdbfbfbfbfbf")]),
    ("6.11", "other boundary conditions", [
        _h("ed9fbf"), _h("ee8080"), _h("efbfbd"), _h("f48fbfbf"), _h("f4908080")]),
    ("6.12", "unexpected continuation bytes", [
        _h("80"), _h("bf"), _h("80bf"), _h("80bf80"), _h("80bf80bf"), _h("80bf80bf80"),
        _h("80bf80bf80bf"), _h("80bf80bf80bf80"), bytes(range(0x80, 0xC0))]),
    ("6.13", "lonely start bytes followed by a space", [
        b"".join(bytes([b, 0x20]) for b in range(lo, hi + 1))
        for lo, hi in ((0xC0, 0xDF), (0xE0, 0xEF), (0xF0, 0xF7), (0xF8, 0xFB), (0xFC, 0xFD))]),
    ("6.14", "sequences with the last continuation byte missing", [
        _h("c0"), _h("e080"), _h("f08080"), _h("f8808080"), _h("fc80808080"), _h("df"), _h("efbf"),
        _h("f7bfbf"), _h("fbbfbfbf"), _h("fdbfbfbfbf"), _h("c2"), _h("e0a0"), _h("f09080"),
        _h("f48fbf")]),
    ("6.15", "concatenation of incomplete sequences", [
        _h("c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf")]),
    ("6.16", "impossible bytes", [_h("fe"), _h("ff"), _h("fefeffff"), _h("f5808080"), _h("c1")]),
    ("6.17", "overlong encodings of '/'", [
        _h("c0af"), _h("e080af"), _h("f08080af"), _h("f8808080af"), _h("fc80808080af")]),
    ("6.18", "maximum overlong sequences", [
        _h("c1bf"), _h("e09fbf"), _h("f08fbfbf"), _h("f887bfbfbf"), _h("fc83bfbfbfbf")]),
    ("6.19", "overlong encodings of NUL", [
        _h("c080"), _h("e08080"), _h("f0808080"), _h("f880808080"), _h("fc8080808080")]),
    ("6.20", "single UTF-16 surrogates", [
        _h("eda080"), _h("edadbf"), _h("edae80"), _h("edafbf"), _h("edb080"), _h("edbe80"),
        _h("edbfbf")]),
    ("6.21", "paired UTF-16 surrogates", [
        _h("eda080edb080"), _h("eda080edbfbf"), _h("edadbfedb080"), _h("edadbfedbfbf"),
        _h("edae80edb080"), _h("edae80edbfbf"), _h("edafbfedb080"), _h("edafbfedbfbf")]),
    ("6.22", "noncharacters (valid UTF-8)", [
        chr(cp).encode() for cp in
        [0xFFFE, 0xFFFF, 0xFDD0, 0xFDEF] + [p * 0x10000 + x for p in range(1, 17)
                                            for x in (0xFFFE, 0xFFFF)]]),
    ("6.23", "other valid code points", [
        _h("efbfbd"), _h("efbbbf"), b"abc" + _h("efbbbf") + b"def", _h("e2808b"), _h("f0908080"),
        _h("f3bfbfbf")]),
    ("6.24", "invalid sequences between valid text", [
        KOSME + _h("eda080") + b"edited", b"ab" + _h("c0af") + b"cd", KOSME + _h("f4908080"),
        b"valid" + _h("ff"), _h("e282") + b"x", b"x" + _h("f0") + b"\x80\x80"]),
]

SEQUENCES = []
for group, desc, seqs in GROUPS:
    for n, seq in enumerate(seqs, 1):
        valid = utf8_fail_index(seq) is None
        try:
            seq.decode("utf-8")
            py_valid = True
        except UnicodeDecodeError:
            py_valid = False
        assert valid == py_valid, (group, n, seq)
        SEQUENCES.append((f"{group}.{n}", desc, seq, valid))


def _expect_outcome(ctx, conn, seq, valid):
    if valid:
        expect_message(conn, OP_TEXT, seq)
        close_handshake(ctx, conn)
    else:
        expect_fail(ctx, conn, (1007,), why=f" for invalid UTF-8 {seq[:16].hex(' ')}"
                    f"{'…' if len(seq) > 16 else ''} (RFC 6455 §8.1)")


def _single(ctx, seq, valid):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, seq))
    _expect_outcome(ctx, conn, seq, valid)


def _bytewise(ctx, seq, valid):
    conn = ctx.connect()
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, seq[i:i + 1], fin=i == len(seq) - 1)
              for i in range(len(seq))]
    conn.send(b"".join(frames))
    _expect_outcome(ctx, conn, seq, valid)


def _split(ctx, seq, valid, at):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, seq[:at], fin=False) + build_frame(OP_CONT, seq[at:]))
    _expect_outcome(ctx, conn, seq, valid)


def fail_fast(ctx, msg, cut, final_parts=None):
    """Send msg[:cut] as a non-final fragment and a ping; a fail-fast server closes with 1007
    before answering the ping (it processes frames in order). Otherwise finish the message."""
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, msg[:cut], fin=False) + build_frame(OP_PING, b"barrier"))
    ev = next_event(conn)
    if ev.kind == "pong" and ev.payload == b"barrier":
        ctx.nonstrict(f"not fail-fast: the text fragment {msg[:cut][-8:].hex(' ')} is already "
                      f"invalid UTF-8 but the server answered the following ping instead of "
                      f"closing with 1007 (RFC 6455 §8.1)")
        rest = final_parts or [msg[cut:]]
        conn.send(b"".join(build_frame(OP_CONT, p, fin=i == len(rest) - 1)
                           for i, p in enumerate(rest)))
        return expect_fail(ctx, conn, (1007,))
    if ev.kind == "close":
        if ev.code != 1007:
            raise Fail(f"expected close 1007 for invalid UTF-8, got {ev.describe()}")
        return finish_close(ctx, conn, ev)
    if ev.kind == "eof":
        ctx.nonstrict("server dropped TCP without a close 1007 frame (RFC 6455 §7.1.7 SHOULD)")
        return
    raise Fail(f"expected close 1007 (or a pong, if not fail-fast), got {ev.describe()}")


def _ff(ctx, seq):
    msg = KOSME + seq + b"edited"
    cut = utf8_fail_index(msg) + 1
    fail_fast(ctx, msg, cut)


for name, desc, seq, valid in SEQUENCES:
    verdict = "valid" if valid else "invalid -> 1007"
    case(name, f"{desc}: {seq[:12].hex(' ')} ({verdict})", args=(seq, valid))(_single)
    if len(seq) > 1:
        case(f"{name}.f1", f"{desc}, 1-byte fragments ({verdict})", args=(seq, valid))(_bytewise)
    if 1 < len(seq) <= 12:
        for at in range(1, len(seq)):
            case(f"{name}.s{at}", f"{desc}, split after byte {at} ({verdict})",
                 args=(seq, valid, at))(_split)
    if not valid:
        case(f"{name}.ff", f"{desc}: fail-fast inside a fragmented message", args=(seq,))(_ff)


# --- 6.1-6.4: empty messages, fragmented valid text, the classic fail-fast cases ---------------

@case("6.1.1", "empty text message")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b""))
    expect_message(conn, OP_TEXT, b"")
    close_handshake(ctx, conn)


@case("6.1.2", "empty text message in 3 empty fragments")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"", fin=False)
              + build_frame(OP_CONT, b""))
    expect_message(conn, OP_TEXT, b"")
    close_handshake(ctx, conn)


@case("6.1.3", "text of empty, non-empty, empty fragments")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"", fin=False) + build_frame(OP_CONT, b"middle frame payload",
                                                                 fin=False)
              + build_frame(OP_CONT, b""))
    expect_message(conn, OP_TEXT, b"middle frame payload")
    close_handshake(ctx, conn)


def _frag_at_codepoints(ctx, text):
    conn = ctx.connect()
    chars = [c.encode() for c in text.decode()]
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, c, fin=i == len(chars) - 1)
              for i, c in enumerate(chars)]
    conn.send(b"".join(frames))
    expect_message(conn, OP_TEXT, text)
    close_handshake(ctx, conn)


case("6.2.1", "valid UTF-8 text in one fragment", args=(SAMPLE, True))(_single)
case("6.2.2", "valid UTF-8 text fragmented on code points", args=(SAMPLE,))(_frag_at_codepoints)
case("6.2.3", "valid UTF-8 text in 1-byte fragments", args=(SAMPLE, True))(_bytewise)
case("6.2.4", "\u03ba\u1f79\u03c3\u03bc\u03b5 in 1-byte fragments", args=(KOSME, True))(_bytewise)

INVALID_SURROGATE = KOSME + _h("eda080") + b"edited"
case("6.3.1", "invalid UTF-8 (surrogate) in one fragment",
     args=(INVALID_SURROGATE, False))(_single)
case("6.3.2", "invalid UTF-8 (surrogate) in 1-byte fragments",
     args=(INVALID_SURROGATE, False))(_bytewise)


@case("6.4.1", "fail-fast: fragments '\u03ba\u1f79\u03c3\u03bc\u03b5', f4 90 80 80, 'edited'")
def _c(ctx):
    # 0xF4 0x90 is already beyond U+10FFFF, so the second fragment is invalid as a whole.
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, KOSME, fin=False))
    fail_fast_fragments(ctx, conn, [_h("f4908080")], b"edited")


@case("6.4.2", "fail-fast: fragments '\u03ba\u1f79\u03c3\u03bc\u03b5' f4, 90, 80 80 'edited'")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, KOSME + b"\xf4", fin=False))
    fail_fast_fragments(ctx, conn, [b"\x90"], b"\x80\x80edited")


def fail_fast_fragments(ctx, conn, invalid_fragments, final):
    frames = b"".join(build_frame(OP_CONT, f, fin=False) for f in invalid_fragments)
    conn.send(frames + build_frame(OP_PING, b"barrier"))
    ev = next_event(conn)
    if ev.kind == "pong":
        ctx.nonstrict("not fail-fast: answered a ping sent after an invalid UTF-8 fragment "
                      "instead of closing with 1007")
        conn.send(build_frame(OP_CONT, final))
        return expect_fail(ctx, conn, (1007,))
    if ev.kind == "close" and ev.code == 1007:
        return finish_close(ctx, conn, ev)
    if ev.kind == "eof":
        ctx.nonstrict("server dropped TCP without a close 1007 frame")
        return
    raise Fail(f"expected close 1007, got {ev.describe()}")


def _chopped_frame_fail_fast(ctx, chops):
    """One text frame written in chops; the first invalid byte arrives in the second chop.
    Failing before the frame is complete is strict; failing at its end is non-strict."""
    conn = ctx.connect()
    payload = b"".join(chops)
    frame = build_frame(OP_TEXT, payload)
    header = len(frame) - len(payload)
    conn.send(frame[:header + len(chops[0])])
    time.sleep(0.02)
    conn.send(frame[header + len(chops[0]):header + len(chops[0]) + len(chops[1])])
    ev = next_event(conn, 0.25)
    if ev.kind == "timeout":
        ctx.nonstrict("not fail-fast within a frame: no close 1007 until the frame was complete")
        conn.send(frame[header + len(chops[0]) + len(chops[1]):])
        return expect_fail(ctx, conn, (1007,))
    if ev.kind == "close" and ev.code == 1007:
        return finish_close(ctx, conn, ev)
    if ev.kind == "eof":
        ctx.nonstrict("server dropped TCP without a close 1007 frame")
        return
    raise Fail(f"expected close 1007, got {ev.describe()}")


case("6.4.3", "fail-fast within one frame: chops '\u03ba\u1f79\u03c3\u03bc\u03b5', f4 90 80 80, 'edited'",
     args=([KOSME, _h("f4908080"), b"edited"],))(_chopped_frame_fail_fast)
case("6.4.4", "fail-fast within one frame: chops '\u03ba\u1f79\u03c3\u03bc\u03b5', f4 90, 80 80 'edited'",
     args=([KOSME, _h("f490"), b"\x80\x80edited"],))(_chopped_frame_fail_fast)


@case("6.4.5", "fail-fast: invalid second fragment of a 100-fragment message")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"valid start ", fin=False))
    rest = [b"more text %d " % i for i in range(97)]
    conn.send(build_frame(OP_CONT, b"bad \xc0\xaf here", fin=False) + build_frame(OP_PING, b"barrier"))
    ev = next_event(conn)
    if ev.kind == "pong":
        ctx.nonstrict("not fail-fast: kept reading a text message after an invalid fragment")
        conn.send(b"".join(build_frame(OP_CONT, r, fin=False) for r in rest)
                  + build_frame(OP_CONT, b"end"))
        return expect_fail(ctx, conn, (1007,))
    if ev.kind == "close" and ev.code == 1007:
        return finish_close(ctx, conn, ev)
    if ev.kind == "eof":
        ctx.nonstrict("server dropped TCP without a close 1007 frame")
        return
    raise Fail(f"expected close 1007, got {ev.describe()}")


@case("6.4.6", "truncated sequence at the very end of a fragmented message -> 1007")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, KOSME, fin=False) + build_frame(OP_CONT, b"\xce"))
    expect_fail(ctx, conn, (1007,))


@case("6.4.7", "valid message after an invalid one is never processed")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_TEXT, b"\xff") + build_frame(OP_TEXT, b"after"))
    expect_fail(ctx, conn, (1007,))


@case("6.4.8", "binary message with invalid UTF-8 is fine")
def _c(ctx):
    conn = ctx.connect()
    conn.send(build_frame(OP_BINARY, b"\xff\xfe\xc0\xaf\xed\xa0\x80"))
    expect_message(conn, OP_BINARY, b"\xff\xfe\xc0\xaf\xed\xa0\x80")
    close_handshake(ctx, conn)


# --- 6.25: invalid bytes at word and block boundaries of long messages ------------------------
# Validators that check 8, 16 or 32 bytes at a time have their own edge cases: a sequence that
# straddles a block boundary, or a bad byte right after a long ASCII run.

LONG = 70000
_OFFSETS = [0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 127, 4095, 65535, LONG - 1]
_n = 0
for bad, label in ((b"\xff", "ff"), (b"\xc3\x28", "c3 28"), (b"\xed\xa0\x80", "ed a0 80"),
                   (b"\xf4\x90\x80\x80", "f4 90 80 80"), (b"\xe2\x82", "truncated e2 82")):
    for off in _OFFSETS:
        if off + len(bad) > LONG:
            off = LONG - len(bad)
        msg = b"a" * off + bad + b"a" * (LONG - off - len(bad))
        if label.startswith("truncated") and off + len(bad) == LONG:
            msg = b"a" * off + bad
        _n += 1
        case(f"6.25.{_n}", f"{LONG}-byte text, invalid {label} at offset {off} -> 1007",
             args=(msg, False))(_single)
for good, label in (("\u20ac".encode(), "e2 82 ac"), ("\U0001F600".encode(), "f0 9f 98 80"),
                    ("\u00e9".encode(), "c3 a9")):
    for off in (5, 6, 7, 13, 14, 15, 29, 30, 31, 61, 62, 63):
        msg = (b"a" * off + good) * 50 + b"a" * 100
        _n += 1
        case(f"6.25.{_n}", f"valid {label} straddling offset {off} of a block, repeated",
             args=(msg, True))(_single)
_n += 1
case(f"6.25.{_n}", "1 MiB of mixed multi-byte text", args=(
    ("\u03ba\u1f79\u03c3\u03bc\u03b5 \u20ac \U0001F600 abc \u00e9" * 40000).encode()[:1 << 20]
    .decode("utf-8", "ignore").encode(), True))(_single)


def _late_invalid_fragment(ctx, frag_size):
    conn = ctx.connect()
    msg = b"b" * 200000 + b"\xc0\x80" + b"b" * 1000
    conn.send_message(OP_TEXT, msg, frag=frag_size)
    expect_fail(ctx, conn, (1007,))


for i, fs in enumerate((1000, 4096, 65536), 1):
    case(f"6.26.{i}", f"invalid bytes 200000 bytes into a message in {fs}-byte fragments",
         args=(fs,))(_late_invalid_fragment)
