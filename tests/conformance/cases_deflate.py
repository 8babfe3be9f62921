"""Case families 12 and 13 and deflate.*: permessage-deflate (RFC 7692).

12.x    echo of compressed messages of many sizes with the default offer
13.x    parameter negotiation (context takeover, window bits) followed by traffic that would
        break if the server ignored what it agreed to
deflate.inv.*  offers a server MUST decline (RFC 7692 §5, §7)
deflate.*      frame-level rules: RSV1 placement, bad deflate data, limits after inflation
"""
import random
import re
import zlib

from harness import (DEDICATED_MAX, MAIN_MAX, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, Fail,
                     big_timeout, case, close_handshake, expect_fail, expect_message, expect_pong,
                     finish_close, next_event)
from wsclient import (OP_CONT, RSV1, HandshakeError, build_frame, build_request, close_payload,
                      http_exchange, parse_extensions)

MAIN_THRESHOLD = 64  # --compression-threshold default
PARAMS = ("server_no_context_takeover", "client_no_context_takeover", "server_max_window_bits",
          "client_max_window_bits")
_BITS = re.compile(r"^(?:[89]|1[0-5])$")  # RFC 7692 §7.1.2: 8..15, no leading zeroes


def compressible_text(n, seed=0):
    rnd = random.Random(seed)
    words = ["switchboard", "frame", "deflate", "window", "message", "socket", "echo", "loop",
             "buffer", "context", "takeover", "\u00fcber", "\u03ba\u1f79\u03c3\u03bc\u03b5"]
    out, size = [], 0
    while size < n:
        w = rnd.choice(words) + " "
        out.append(w)
        size += len(w.encode())
    data = "".join(out).encode()[:n].decode("utf-8", "ignore").encode()  # no cut character
    return data + b"." * (n - len(data))


def random_bytes(n, seed=0):
    return random.Random(seed).randbytes(n)


def window_probe(seed=0):
    """Text whose natural compression uses back-references 300 and 600 bytes long: it cannot be
    produced with a 2^8 (or 2^9) window unless the compressor really limits its window."""
    rnd = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    b300 = "".join(rnd.choice(alphabet) for _ in range(300)).encode()
    b600 = "".join(rnd.choice(alphabet) for _ in range(600)).encode()
    return b300 * 3 + b600 * 3


# --- response validation -----------------------------------------------------------------------

def offers_of(header):
    return [params for name, params in parse_extensions([header]) if name == "permessage-deflate"]


def offer_problem(params):
    """Why a server must decline this offer (RFC 7692 §7), or None if it is acceptable."""
    seen = set()
    for k, v in params:
        if k in seen:
            return f"duplicate parameter {k}"
        seen.add(k)
        if k not in PARAMS:
            return f"unknown parameter {k}"
        if k.endswith("no_context_takeover") and v is not None:
            return f"{k} takes no value"
        if k == "server_max_window_bits" and (v is None or not _BITS.match(v)):
            return f"server_max_window_bits={v}"
        if k == "client_max_window_bits" and v is not None and not _BITS.match(v):
            return f"client_max_window_bits={v}"
    return None


def response_problem(offer, resp):
    """Why `resp` is not a valid acceptance of `offer` (RFC 7692 §7.1), or None."""
    o = dict(offer)
    seen = set()
    for k, v in resp:
        if k in seen:
            return f"duplicate parameter {k} in the response"
        seen.add(k)
        if k not in PARAMS:
            return f"unknown parameter {k} in the response"
        if k.endswith("no_context_takeover") and v is not None:
            return f"{k} with a value in the response"
        if k.endswith("max_window_bits"):
            if v is None or not _BITS.match(v):
                return f"{k}={v} in the response (must be 8..15)"
            if k == "client_max_window_bits" and k not in o:
                return ("client_max_window_bits in the response to an offer without it "
                        "(RFC 7692 §7.1.2.2)")
            if o.get(k) is not None and int(v) > int(o[k]):
                return f"{k}={v} in the response exceeds the offered {o[k]} (RFC 7692 §7.1.2)"
    r = dict(resp)
    if "server_no_context_takeover" in o and "server_no_context_takeover" not in r:
        return ("offer had server_no_context_takeover but the response lacks it "
                "(RFC 7692 §7.1.1.1)")
    if "server_max_window_bits" in o and "server_max_window_bits" not in r:
        return "offer had server_max_window_bits but the response lacks it (RFC 7692 §7.1.2.1)"
    return None


def connect_deflate(ctx, offer, server=None, must_accept=True, client_reset=None, shared=None):
    """Open a connection with `offer`; validate the negotiated parameters."""
    offers = offers_of(offer)
    cbits = [int(v) for p in offers for k, v in p if k == "client_max_window_bits" and v]
    conn = ctx.connect(server=server, extensions=offer, client_reset=client_reset,
                       offered_client_bits=min(cbits) if len(cbits) == len(offers) and cbits else None)
    resp = conn.extension_params
    if resp is None:
        if must_accept:
            raise Fail(f"server declined the valid offer {offer!r}")
        return conn
    valid_offers = [o for o in offers if offer_problem(o) is None]
    problems = [response_problem(o, resp) for o in valid_offers]
    if not valid_offers:
        raise Fail(f"server accepted permessage-deflate although every offer was invalid "
                   f"({offer_problem(offers[0])}); RFC 7692 §5 says it MUST decline")
    if all(problems):
        raise Fail(f"response {fmt_params(resp)} is not a valid answer to {offer!r}: {problems[0]}")
    is_shared = (server or ctx.case.server) == "main" if shared is None else shared
    if is_shared and "server_no_context_takeover" not in dict(resp):
        raise Fail("--compression shared must answer with server_no_context_takeover, got "
                   f"{fmt_params(resp)}")
    return conn


def fmt_params(params):
    return "; ".join(["permessage-deflate"] + [k if v is None else f"{k}={v}" for k, v in params])


def check_window(ctx, conn):
    d = conn.deflate
    if d is None or d.window_violation is None:
        return
    if d.window_note:
        ctx.nonstrict(d.window_note)
    else:
        raise Fail(d.window_violation)


def exchange(ctx, conn, msgs, threshold=None):
    """msgs: (opcode, payload, compress, frag). Checks echoes and the server's threshold."""
    uncompressed_big = 0
    for i, (op, payload, compress, frag) in enumerate(msgs):
        if not conn.send_message(op, payload, compress=compress, frag=frag):
            raise Fail(f"server closed the connection while message #{i} was being sent")
        ev = expect_message(conn, op, payload, big_timeout(len(payload)), what=f" #{i}")
        if threshold is not None and conn.deflate is not None:
            if len(payload) < threshold and ev.compressed:
                raise Fail(f"server compressed a {len(payload)}-byte message although "
                           f"--compression-threshold is {threshold}")
            if len(payload) >= max(threshold, 1) and not ev.compressed and op == OP_TEXT:
                uncompressed_big += 1
    if uncompressed_big:
        ctx.nonstrict(f"{uncompressed_big} compressible message(s) at or above the threshold came "
                      f"back uncompressed")
    check_window(ctx, conn)


# --- 12: echo of compressed messages -----------------------------------------------------------

SIZES_12 = [16, 64, 256, 1024, 4096, 16384, 65536, 131072]


def _c12(ctx, kind, size, frag, offer="permessage-deflate"):
    conn = connect_deflate(ctx, offer)
    gen = compressible_text if kind == "text" else random_bytes
    op = OP_TEXT if kind == "text" else OP_BINARY
    msgs = [(op, gen(size, seed), True, frag) for seed in range(10)]
    threshold = MAIN_THRESHOLD if ctx.case.server == "main" else 0
    exchange(ctx, conn, msgs, threshold)
    close_handshake(ctx, conn)


for i, size in enumerate(SIZES_12, 1):
    case(f"12.1.{i}", f"shared: 10 compressed text messages of {size} bytes",
         args=("text", size, None))(_c12)
    case(f"12.2.{i}", f"shared: 10 compressed random binary messages of {size} bytes",
         args=("binary", size, None))(_c12)
    case(f"12.3.{i}", f"dedicated: 10 compressed text messages of {size} bytes",
         server="dedicated", args=("text", size, None))(_c12)
    case(f"12.4.{i}", f"dedicated: 10 compressed random binary messages of {size} bytes",
         server="dedicated", args=("binary", size, None))(_c12)
    case(f"12.5.{i}", f"shared: 10 compressed text messages of {size} bytes in 4 fragments, "
         f"client_no_context_takeover",
         args=("text", size, max(1, size // 8), "permessage-deflate; client_no_context_takeover"))(_c12)


# --- 13: negotiation ---------------------------------------------------------------------------

OFFERS_13 = [
    ("permessage-deflate", True),
    ("permessage-deflate; client_no_context_takeover", True),
    ("permessage-deflate; server_max_window_bits=9", False),
    ("permessage-deflate; server_max_window_bits=15", True),
    ("permessage-deflate; client_no_context_takeover; server_max_window_bits=9", False),
    ("permessage-deflate; client_no_context_takeover; server_max_window_bits=15", True),
    ("permessage-deflate; client_no_context_takeover; server_max_window_bits=8, "
     "permessage-deflate; client_no_context_takeover, permessage-deflate", True),
    ("permessage-deflate; server_no_context_takeover", True),
    ("permessage-deflate; client_max_window_bits", True),
    ("permessage-deflate; client_max_window_bits=10", True),
    ("permessage-deflate; server_max_window_bits=8", False),
    ("permessage-deflate; client_max_window_bits; server_max_window_bits=10; "
     "client_no_context_takeover; server_no_context_takeover", False),
    ('permessage-deflate; server_max_window_bits="10"', False),
    ("permessage-deflate; client_max_window_bits=8", True),
    ("permessage-deflate; server_no_context_takeover; client_no_context_takeover", True),
    ("permessage-deflate; client_max_window_bits=9; server_max_window_bits=12", False),
]


def _c13(ctx, offer, must_accept):
    conn = connect_deflate(ctx, offer, must_accept=must_accept)
    if conn.deflate is None:
        ctx.nonstrict(f"declined {offer!r} (allowed, RFC 7692 §7.1.2.1)")
    msgs = [(OP_TEXT, window_probe(1), True, None),
            (OP_TEXT, compressible_text(3000, 1), True, None),
            (OP_TEXT, window_probe(1), True, None),  # repeats: context takeover helps here
            (OP_BINARY, window_probe(2), True, 700),
            (OP_TEXT, compressible_text(200, 2), False, None),
            (OP_TEXT, window_probe(1) + compressible_text(5000, 3), True, None)]
    if conn.deflate is None:
        msgs = [(op, p, False, f) for op, p, _, f in msgs]
    exchange(ctx, conn, msgs)
    close_handshake(ctx, conn)


for i, (offer, must) in enumerate(OFFERS_13, 1):
    case(f"13.{i}.1", f"shared: offer {offer!r}", args=(offer, must))(_c13)
    case(f"13.{i}.2", f"dedicated: offer {offer!r}", server="dedicated", args=(offer, must))(_c13)


# --- offers that must be declined --------------------------------------------------------------

INVALID_OFFERS = [
    "server_max_window_bits=7", "server_max_window_bits=16", "server_max_window_bits",
    "server_max_window_bits=010", "client_max_window_bits=16", "client_max_window_bits=abc",
    "client_max_window_bits=7", "server_no_context_takeover=1", "client_no_context_takeover=true",
    "foo=bar", "x_unknown", "server_no_context_takeover; server_no_context_takeover",
    "client_max_window_bits=10; client_max_window_bits=11",
    "server_max_window_bits=10; server_max_window_bits=10", "server_max_window_bits=9.5",
    "server_max_window_bits=-9", "client_max_window_bits=0", 'server_max_window_bits="16"',
]


def _declined(ctx, offer, server=None):
    s = ctx.srv(server)
    request, _ = build_request(s.host, s.port, extensions=offer)
    try:
        resp, sock, _ = http_exchange(s.host, s.port, request)
    except HandshakeError as e:
        raise Fail(f"handshake failed: {e}")
    if sock is not None:
        sock.close()
    if resp.status != 101:
        ctx.nonstrict(f"refused the handshake with {resp.status} instead of declining the "
                      f"extension (RFC 7692 §5)")
        return
    exts = parse_extensions(resp.headers_all("sec-websocket-extensions"))
    if exts:
        raise Fail(f"server accepted {offer!r} with {resp.header('sec-websocket-extensions')!r}; "
                   f"RFC 7692 §5 says it MUST decline")


for i, params in enumerate(INVALID_OFFERS, 1):
    case(f"deflate.inv.{i}", f"offer 'permessage-deflate; {params}' is declined",
         args=(f"permessage-deflate; {params}",))(_declined)
case("deflate.inv.30", "unknown extension alone is not accepted", args=("x-unknown-ext",))(_declined)
case("deflate.inv.31", "unknown extension with parameters is not accepted",
     args=("x-unknown-ext; a=1; b",))(_declined)


def _fallback(ctx, offer):
    s = ctx.srv()
    request, _ = build_request(s.host, s.port, extensions=offer)
    resp, sock, _ = http_exchange(s.host, s.port, request)
    if sock is not None:
        sock.close()
    if resp.status != 101:
        raise Fail(f"expected 101, got {resp.status}")
    exts = parse_extensions(resp.headers_all("sec-websocket-extensions"))
    names = [n for n, _ in exts]
    if names != ["permessage-deflate"]:
        if not names:
            ctx.nonstrict(f"declined every offer of {offer!r} although one was valid")
            return
        raise Fail(f"expected only permessage-deflate accepted, got "
                   f"{resp.header('sec-websocket-extensions')!r}")
    valid = [o for o in offers_of(offer) if offer_problem(o) is None]
    if all(response_problem(o, exts[0][1]) for o in valid):
        raise Fail(f"response {fmt_params(exts[0][1])} answers none of the valid offers in {offer!r}")


case("deflate.inv.40", "invalid offer followed by a valid one: the valid one is accepted",
     args=("permessage-deflate; foo, permessage-deflate",))(_fallback)
case("deflate.inv.41", "invalid window bits, then a valid offer",
     args=("permessage-deflate; server_max_window_bits=20, permessage-deflate; "
           "client_max_window_bits",))(_fallback)
case("deflate.inv.42", "unknown extension listed before permessage-deflate",
     args=("x-webkit-deflate-frame, permessage-deflate",))(_fallback)
@case("deflate.inv.43", "offers split over two Sec-WebSocket-Extensions header lines")
def _c(ctx):
    conn = ctx.connect(extra=[("Sec-WebSocket-Extensions", "x-unknown-ext"),
                              ("Sec-WebSocket-Extensions", "permessage-deflate")])
    if conn.response is None or not conn.response.headers_all("sec-websocket-extensions"):
        ctx.nonstrict("did not accept permessage-deflate offered on a second header line "
                      "(RFC 7230 §3.2.2 combines repeated fields)")
    close_handshake(ctx, conn)


@case("deflate.inv.44", "compression off: offer declined, RSV1 frame -> 1002", server="handshake")
def _c(ctx):
    conn = ctx.connect(extensions="permessage-deflate; client_max_window_bits")
    if conn.extension_params is not None:
        raise Fail("--compression off accepted permessage-deflate")
    conn.send(build_frame(OP_TEXT, zlib.compress(b"hello")[2:-4], rsv=RSV1))
    expect_fail(ctx, conn, why=" (RSV1 without a negotiated extension)")


# --- frame-level rules -------------------------------------------------------------------------

def _pmd(ctx, server=None, offer="permessage-deflate", **kw):
    return connect_deflate(ctx, offer, server=server, **kw)


@case("deflate.1", "RSV1 on a continuation frame -> 1002")
def _c(ctx):
    conn = _pmd(ctx)
    data = conn.deflate.compress(compressible_text(500))
    conn.send(build_frame(OP_TEXT, data[:100], fin=False, rsv=RSV1)
              + build_frame(OP_CONT, data[100:], rsv=RSV1))
    expect_fail(ctx, conn, why=" (RFC 7692 §6.1: RSV1 only on the first frame)")


def _rsv1_control(ctx, opcode, payload):
    conn = _pmd(ctx)
    conn.send(build_frame(opcode, payload, rsv=RSV1))
    expect_fail(ctx, conn, why=" (RFC 7692 §6: RSV1 is for data messages only)")


case("deflate.2", "RSV1 on a ping -> 1002", args=(OP_PING, b"ping"))(_rsv1_control)
case("deflate.3", "RSV1 on a close -> 1002", args=(OP_CLOSE, close_payload(1000)))(_rsv1_control)
case("deflate.4", "RSV1 on a pong -> 1002", args=(OP_PONG, b"pong"))(_rsv1_control)


@case("deflate.5", "RSV2 on a compressed message -> 1002")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_TEXT, conn.deflate.compress(b"hello"), rsv=RSV1 | 2))
    expect_fail(ctx, conn)


def _bad_deflate(ctx, payload):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_BINARY, payload, rsv=RSV1))
    expect_fail(ctx, conn, (1007, 1002), why=" (invalid deflate data)")


case("deflate.6", "reserved deflate block type -> 1007 or 1002",
     args=(b"\x07\xff\xff\xff",))(_bad_deflate)
case("deflate.7", "stored block with LEN != ~NLEN -> 1007 or 1002",
     args=(b"\x00\x05\x00\x00\x00hello",))(_bad_deflate)
def _dictionary_reference():
    """Deflate data that refers back into a preset dictionary the server never saw."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=b"switchboard conformance dictionary")
    return (c.compress(b"switchboard conformance dictionary") + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


case("deflate.8", "back-reference before the start of the stream -> 1007 or 1002",
     args=(_dictionary_reference(),))(_bad_deflate)


@case("deflate.9", "compressed text that inflates to invalid UTF-8 -> 1007")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_TEXT, conn.deflate.compress(b"valid then \xed\xa0\x80 surrogate"),
                          rsv=RSV1))
    expect_fail(ctx, conn, (1007,))


def _frag_compressed(ctx, frag):
    conn = _pmd(ctx)
    payload = compressible_text(4096, 9)
    exchange(ctx, conn, [(OP_TEXT, payload, True, frag), (OP_BINARY, payload, True, frag)])
    close_handshake(ctx, conn)


case("deflate.10", "compressed message in 5 fragments", args=(300,))(_frag_compressed)
case("deflate.11", "compressed message in 1-byte fragments", args=(1,))(_frag_compressed)


@case("deflate.12", "compressed, uncompressed, compressed messages on one connection")
def _c(ctx):
    conn = _pmd(ctx)
    exchange(ctx, conn, [(OP_TEXT, compressible_text(1000, 1), True, None),
                         (OP_TEXT, compressible_text(1000, 2), False, None),
                         (OP_TEXT, compressible_text(1000, 1), True, None)])
    close_handshake(ctx, conn)


@case("deflate.13", "compressed empty message (payload 0x00)")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_TEXT, b"\x00", rsv=RSV1))
    expect_message(conn, OP_TEXT, b"")
    conn.send(build_frame(OP_BINARY, conn.deflate.compress(b""), rsv=RSV1))
    expect_message(conn, OP_BINARY, b"")
    close_handshake(ctx, conn)


@case("deflate.14", "message ending in a BFINAL block (RFC 7692 §7.2.3.4)")
def _c(ctx):
    conn = _pmd(ctx, offer="permessage-deflate; client_no_context_takeover")
    payload = compressible_text(2000, 14)
    conn.send_message(OP_TEXT, payload, compress=True, bfinal=True)
    expect_message(conn, OP_TEXT, payload)
    close_handshake(ctx, conn)


@case("deflate.15", "message made of several sync-flushed deflate blocks")
def _c(ctx):
    conn = _pmd(ctx)
    payload = compressible_text(3000, 15)
    conn.send_message(OP_TEXT, payload, compress=True, flush_every=100)
    expect_message(conn, OP_TEXT, payload)
    close_handshake(ctx, conn)


def _context(ctx, server):
    conn = _pmd(ctx, server=server)
    base = compressible_text(2000, 16)
    msgs = [(OP_TEXT, base + b" #%d" % i, True, None) for i in range(50)]
    exchange(ctx, conn, msgs)
    close_handshake(ctx, conn)


case("deflate.16", "shared: 50 messages relying on the client's context takeover",
     args=("main",))(_context)
case("deflate.17", "dedicated: 50 messages relying on context takeover both ways",
     server="dedicated", args=("dedicated",))(_context)


@case("deflate.18", "ping between compressed fragments")
def _c(ctx):
    conn = _pmd(ctx)
    payload = compressible_text(2000, 18)
    data = conn.deflate.compress(payload)
    conn.send(build_frame(OP_TEXT, data[:len(data) // 2], fin=False, rsv=RSV1)
              + build_frame(OP_PING, b"mid"))
    expect_pong(conn, b"mid")
    conn.send(build_frame(OP_CONT, data[len(data) // 2:]))
    expect_message(conn, OP_TEXT, payload)
    close_handshake(ctx, conn)


@case("deflate.19", "shared compressor: interleaved traffic on 4 connections stays separate")
def _c(ctx):
    conns = [_pmd(ctx) for _ in range(3)] + [ctx.connect()]
    for rnd in range(5):
        sent = []
        for i, c in enumerate(conns):
            p = compressible_text(300 + 50 * i, 100 * rnd + i)
            c.send_message(OP_TEXT, p, compress=c.deflate is not None)
            sent.append(p)
        for i, c in enumerate(conns):
            ev = expect_message(c, OP_TEXT, sent[i], what=f" on connection {i}")
            if c.deflate is None and ev.compressed:
                raise Fail("compressed frame sent to a connection without permessage-deflate")
    for c in conns:
        close_handshake(ctx, c)


@case("deflate.20", "compressed message inflating to limit + 1 -> 1009", server="dedicated")
def _c(ctx):
    conn = _pmd(ctx, server="dedicated")
    conn.send_message(OP_BINARY, b"\0" * (DEDICATED_MAX + 1), compress=True)
    expect_fail(ctx, conn, (1009,), why=" (inflated size over --max-message-size)")


@case("deflate.21", "compressed message inflating to exactly the limit", server="dedicated")
def _c(ctx):
    conn = _pmd(ctx, server="dedicated")
    payload = compressible_text(DEDICATED_MAX, 21)
    exchange(ctx, conn, [(OP_TEXT, payload, True, None)])
    close_handshake(ctx, conn)


@case("deflate.22", "20 MiB of zeros compressed to ~20 KiB (default limit 16 MiB) -> 1009")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send_message(OP_BINARY, b"\0" * (MAIN_MAX + 4 * 1024 * 1024), compress=True)
    expect_fail(ctx, conn, (1009,), timeout=5.0, why=" (inflated size over --max-message-size)")


@case("deflate.23", "compressed fragmented message inflating over the limit -> 1009",
      server="dedicated")
def _c(ctx):
    conn = _pmd(ctx, server="dedicated")
    data = conn.deflate.compress(b"z" * (2 * DEDICATED_MAX))
    step = max(1, len(data) // 8)
    frames = [build_frame(OP_TEXT if i == 0 else OP_CONT, data[i:i + step],
                          fin=i + step >= len(data), rsv=RSV1 if i == 0 else 0)
              for i in range(0, len(data), step)]
    conn.send(b"".join(frames))
    expect_fail(ctx, conn, (1009,))


@case("deflate.24", "compressed 4 MiB text message")
def _c(ctx):
    conn = _pmd(ctx)
    exchange(ctx, conn, [(OP_TEXT, compressible_text(4 << 20, 24), True, None)])
    close_handshake(ctx, conn)


@case("deflate.25", "threshold: 63 bytes come back uncompressed, 4 KiB compressed")
def _c(ctx):
    conn = _pmd(ctx)
    exchange(ctx, conn, [(OP_TEXT, compressible_text(MAIN_THRESHOLD - 1, 25), True, None),
                         (OP_TEXT, compressible_text(4096, 25), True, None)],
             threshold=MAIN_THRESHOLD)
    close_handshake(ctx, conn)


@case("deflate.26", "uncompressed text with invalid UTF-8 on a deflate connection -> 1007")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_TEXT, b"abc\xff"))
    expect_fail(ctx, conn, (1007,))


@case("deflate.27", "client uses the window the server granted via client_max_window_bits")
def _c(ctx):
    conn = _pmd(ctx, offer="permessage-deflate; client_max_window_bits")
    exchange(ctx, conn, [(OP_TEXT, window_probe(27), True, None)] * 3)
    close_handshake(ctx, conn)


@case("deflate.28", "compressed text split so a UTF-8 sequence straddles the inflate output")
def _c(ctx):
    conn = _pmd(ctx)
    payload = "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001F600 ".encode() * 300
    conn.send_message(OP_TEXT, payload, compress=True, frag=7, flush_every=13)
    expect_message(conn, OP_TEXT, payload)
    close_handshake(ctx, conn)


@case("deflate.29", "compressed invalid UTF-8 detected before the message ends (fail-fast)")
def _c(ctx):
    conn = _pmd(ctx, offer="permessage-deflate; client_no_context_takeover")
    payload = b"valid " * 50 + b"\xc0\xaf" + b" tail" * 200
    data = conn.deflate.compress(payload, flush_every=100)
    # First fragment holds everything up to the invalid bytes, flushed, so it inflates alone.
    cut = _flushed_prefix_len(payload, 400)
    conn.send(build_frame(OP_TEXT, data[:cut], fin=False, rsv=RSV1) + build_frame(OP_PING, b"barrier"))
    ev = next_event(conn)
    if ev.kind == "pong":
        ctx.nonstrict("compressed text: invalid UTF-8 detected only at the end of the message")
        conn.send(build_frame(OP_CONT, data[cut:]))
        return expect_fail(ctx, conn, (1007,))
    if ev.kind == "close" and ev.code == 1007:
        return finish_close(ctx, conn, ev)
    raise Fail(f"expected close 1007, got {ev.describe()}")


def _flushed_prefix_len(payload, upto):
    """Compressed length of payload[:upto] when compressed in 100-byte sync-flushed pieces."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = b""
    for i in range(0, upto, 100):
        out += c.compress(payload[i:i + 100]) + c.flush(zlib.Z_SYNC_FLUSH)
    return len(out)


@case("deflate.30", "ping and pong payloads are never compressed")
def _c(ctx):
    conn = _pmd(ctx)
    conn.send(build_frame(OP_PING, b"a" * 125))
    expect_pong(conn, b"a" * 125)
    close_handshake(ctx, conn, 1000, b"reason " * 10)


@case("deflate.31", "close in the middle of a compressed fragmented message")
def _c(ctx):
    conn = _pmd(ctx)
    data = conn.deflate.compress(compressible_text(1000, 31))
    conn.send(build_frame(OP_TEXT, data[:10], fin=False, rsv=RSV1))
    close_handshake(ctx, conn, 1000)


@case("deflate.inv.45", "offer with extra whitespace around ';' and '=' is accepted")
def _c(ctx):
    conn = ctx.connect(extensions="permessage-deflate ;  client_max_window_bits ; "
                                  "server_max_window_bits = 12")
    if conn.extension_params is None:
        ctx.nonstrict("declined an offer with optional whitespace (RFC 7230 OWS)")
    close_handshake(ctx, conn)
