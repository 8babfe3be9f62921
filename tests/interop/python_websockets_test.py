#!/usr/bin/python3
"""Interop test: Switchboard against the `websockets` library (Debian's python3-websockets).

Usage (from the repo root):
    /usr/bin/python3 tests/interop/python_websockets_test.py --switchboard build/dev/switchboard

Prints one line per check (PASS/FAIL), then a final line `N passed, N failed`.
Exit status 0 only if every check passed. Every wait is bounded; a watchdog ends the script
(counting a failure) if it runs longer than --budget seconds.
"""
import argparse
import asyncio
import base64
import os
import random
import signal
import sys
import time
import urllib.error

sys.dont_write_bytecode = True  # keep tests/support free of __pycache__
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))

from switchboard_proc import Switchboard  # noqa: E402

import websockets  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidHandshake  # noqa: E402
from websockets.extensions.permessage_deflate import (  # noqa: E402
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]
MAX_SIZE = 16 << 20          # client-side limit on received messages (websockets' default is 1 MiB)
OP_TIMEOUT = 10.0            # any single send/receive/handshake
SHUTDOWN_TIMEOUT = 15.0      # SIGTERM -> client sees close, server exits

UNICODE_SAMPLES = [
    "héllo wörld",                                   # 2-byte sequences
    "日本語のテキスト — “quotes” ‘and’ …",              # 3-byte sequences
    "emoji 🎉🚀👍🏽 family 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵",  # 4-byte sequences, ZWJ, modifiers
    "\u0000nul inside\u0000 and \u007f del",           # control characters are valid UTF-8
    "max code point \U0010ffff, \ufeff BOM, \ufffd replacement char",
    "mixed: aé日🎉" * 5000,                          # ~70 KB of mixed widths
]

# ---------------------------------------------------------------------------------------------
# reporting

class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        line = f"{'PASS' if ok else 'FAIL'} {name}"
        if detail:
            line += f" -- {detail}"
        print(line, flush=True)
        return ok

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)


R = Report()
SERVERS = []   # every Switchboard started, so the watchdog can kill leftovers


# ---------------------------------------------------------------------------------------------
# payloads (deterministic)

_rng = random.Random(6455)
_TEXT_UNIT = "The quick brown fox jumps over the lazy dog. 0123456789 Switchboard!\n"
_cache = {}


def payload(kind, n):
    key = (kind, n)
    if key in _cache:
        return _cache[key]
    if kind == "text-compressible":
        v = (_TEXT_UNIT * (n // len(_TEXT_UNIT) + 1))[:n]
    elif kind == "text-random":
        v = base64.b64encode(_rng.randbytes(n * 3 // 4 + 3)).decode("ascii")[:n]
    elif kind == "binary-compressible":
        v = (bytes(range(256)) * (n // 256 + 1))[:n]
    elif kind == "binary-random":
        v = _rng.randbytes(n)
    else:
        raise ValueError(kind)
    assert len(v) == n
    if n <= (1 << 20):
        _cache[key] = v
    return v


KINDS = ["text-compressible", "text-random", "binary-compressible", "binary-random"]


def describe_mismatch(sent, got):
    if type(sent) is not type(got):
        return f"sent {type(sent).__name__}, got {type(got).__name__} (len {len(got)})"
    if len(sent) != len(got):
        return f"length sent {len(sent)}, got {len(got)}"
    for i, (a, b) in enumerate(zip(sent, got)):
        if a != b:
            return f"first difference at index {i}: sent {a!r}, got {b!r}"
    return "equal"


# ---------------------------------------------------------------------------------------------
# helpers

def start_server(*args):
    sb = Switchboard(BIN, *args, timeout=10.0)
    SERVERS.append(sb)
    sb.start()
    return sb


def stop_server(sb, label):
    try:
        code = sb.stop(timeout=SHUTDOWN_TIMEOUT)
        R.check(f"[{label}] server exits 0 on SIGTERM", code == 0, f"exit code {code}")
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] server exits 0 on SIGTERM", False, repr(e))


async def connect(url, **kw):
    kw.setdefault("max_size", MAX_SIZE)
    kw.setdefault("open_timeout", OP_TIMEOUT)
    kw.setdefault("close_timeout", 5)
    kw.setdefault("ping_interval", None)
    return await asyncio.wait_for(websockets.connect(url, **kw), OP_TIMEOUT + 1)


async def recv(ws, timeout=OP_TIMEOUT):
    return await asyncio.wait_for(ws.recv(), timeout)


async def send(ws, msg, timeout=OP_TIMEOUT):
    await asyncio.wait_for(ws.send(msg), timeout)


async def echo_one(ws, msg, timeout=OP_TIMEOUT):
    await send(ws, msg, timeout)
    return await recv(ws, timeout)


def pmd_of(ws):
    for ext in ws.extensions:
        if isinstance(ext, PerMessageDeflate):
            return ext
    return None


def watch_rsv1(ws):
    """Records (opcode, rsv1) of every compressed-capable data frame the client receives."""
    log = []
    ext = pmd_of(ws)
    if ext is None:
        return log
    orig = ext.decode

    def decode(frame, *, max_size=None):
        log.append((frame.opcode, frame.rsv1, frame.fin))
        return orig(frame, max_size=max_size)

    ext.decode = decode
    return log


async def close_quietly(ws):
    try:
        await asyncio.wait_for(ws.close(), 6)
    except Exception:  # noqa: BLE001
        pass


# ---------------------------------------------------------------------------------------------
# scenarios

async def echo_matrix(sb, label, **connect_kw):
    ws = await connect(sb.ws_url + "/echo", **connect_kw)
    try:
        for n in SIZES:
            for kind in KINDS:
                name = f"[{label}] echo {kind} {n} B"
                msg = payload(kind, n)
                try:
                    got = await echo_one(ws, msg, timeout=OP_TIMEOUT + n / (256 * 1024))
                    R.check(name, type(got) is type(msg) and got == msg,
                            "" if got == msg else describe_mismatch(msg, got))
                except Exception as e:  # noqa: BLE001
                    R.check(name, False, repr(e))
    finally:
        await close_quietly(ws)


async def unicode_checks(ws, label):
    for i, s in enumerate(UNICODE_SAMPLES):
        try:
            got = await echo_one(ws, s)
            ok = isinstance(got, str) and got.encode("utf-8") == s.encode("utf-8")
            R.check(f"[{label}] unicode text #{i} ({len(s.encode())} B UTF-8) byte-exact", ok,
                    "" if ok else describe_mismatch(s, got))
        except Exception as e:  # noqa: BLE001
            R.check(f"[{label}] unicode text #{i} byte-exact", False, repr(e))
    # A fragmented text message (websockets sends each str of the iterable as one frame).
    frags = ["frag-α ", "🎉 middle ", "日本 ", "end"]
    try:
        await send(ws, iter(frags))
        got = await recv(ws)
        R.check(f"[{label}] fragmented unicode text reassembled", got == "".join(frags),
                describe_mismatch("".join(frags), got) if got != "".join(frags) else "")
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] fragmented unicode text reassembled", False, repr(e))
    frags_b = [b"\x00\x01", b"", b"\xff" * 70000, b"tail"]
    try:
        await send(ws, iter(frags_b))
        got = await recv(ws)
        R.check(f"[{label}] fragmented binary reassembled", got == b"".join(frags_b),
                describe_mismatch(b"".join(frags_b), got) if got != b"".join(frags_b) else "")
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] fragmented binary reassembled", False, repr(e))


def pipelined_msg(i):
    n = (i * 37) % 1500 + (70000 if i % 250 == 7 else 0)
    head = f"#{i:05d}:"
    body = (head + _TEXT_UNIT * (n // len(_TEXT_UNIT) + 1))[:max(n, len(head))]
    return body if i % 2 == 0 else body.encode("ascii")


async def pipelined(ws, label, count=1000):
    name = f"[{label}] {count} pipelined text/binary messages echoed in order"
    msgs = [pipelined_msg(i) for i in range(count)]

    async def sender():
        for m in msgs:
            await ws.send(m)

    async def receiver():
        out = []
        for _ in range(count):
            out.append(await ws.recv())
        return out

    try:
        st = asyncio.ensure_future(sender())
        got = await asyncio.wait_for(receiver(), 30)
        await asyncio.wait_for(st, 5)
        bad = next((i for i, (a, b) in enumerate(zip(msgs, got))
                    if type(a) is not type(b) or a != b), None)
        R.check(name, bad is None and len(got) == count,
                "" if bad is None else f"message {bad}: {describe_mismatch(msgs[bad], got[bad])}")
    except Exception as e:  # noqa: BLE001
        R.check(name, False, repr(e))


async def ping_and_close(sb, label, **kw):
    ws = await connect(sb.ws_url + "/echo", **kw)
    try:
        pong = await ws.ping(b"switchboard-ping")
        await asyncio.wait_for(pong, OP_TIMEOUT)
        R.check(f"[{label}] ping answered with pong", True)
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] ping answered with pong", False, repr(e))
    try:
        await asyncio.wait_for(ws.close(1000, "bye"), 8)
        R.check(f"[{label}] client close 1000: server echoes close code 1000",
                ws.close_code == 1000, f"close_code={ws.close_code}")
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] client close 1000: server echoes close code 1000", False, repr(e))


async def scenario_default_server():
    sb = start_server("--echo")
    label = "shared"
    try:
        try:
            status, _ = await asyncio.get_running_loop().run_in_executor(None, sb.get, "/healthz")
            R.check("GET /healthz -> 200", status == 200, f"status {status}")
        except Exception as e:  # noqa: BLE001
            R.check("GET /healthz -> 200", False, repr(e))

        # -- client without compression
        ws = await connect(sb.ws_url + "/echo", compression=None)
        R.check(f"[{label}/client-no-deflate] no extension negotiated", ws.extensions == [],
                f"extensions={ws.extensions}")
        await close_quietly(ws)
        await echo_matrix(sb, f"{label}/client-no-deflate", compression=None)

        # -- client offering permessage-deflate (websockets' default offer)
        ws = await connect(sb.ws_url + "/echo")
        ext = pmd_of(ws)
        R.check(f"[{label}/deflate] permessage-deflate negotiated", ext is not None,
                f"extensions={ws.extensions}")
        R.check(f"[{label}/deflate] server replied server_no_context_takeover",
                ext is not None and ext.remote_no_context_takeover,
                f"response header={ws.response_headers.get('Sec-WebSocket-Extensions')!r}")
        await close_quietly(ws)
        await echo_matrix(sb, f"{label}/deflate")

        # -- compression threshold (default 64) observed through RSV1 of received frames
        ws = await connect(sb.ws_url + "/echo")
        log = watch_rsv1(ws)
        for n, must_be_compressed in ((10, False), (63, False), (4096, True)):
            for kind in ("text-compressible", "binary-compressible"):
                log.clear()
                try:
                    got = await echo_one(ws, payload(kind, n))
                    rsv1 = log[0][1] if log else None
                    ok = got == payload(kind, n) and rsv1 is must_be_compressed
                    R.check(f"[{label}/deflate] {kind} {n} B echoed "
                            f"{'compressed' if must_be_compressed else 'uncompressed'} (threshold 64)",
                            ok, f"RSV1={rsv1}")
                except Exception as e:  # noqa: BLE001
                    R.check(f"[{label}/deflate] {kind} {n} B threshold", False, repr(e))
        await close_quietly(ws)

        # -- unicode and pipelining, with and without deflate
        for sub, kw in (("client-no-deflate", {"compression": None}), ("deflate", {})):
            ws = await connect(sb.ws_url + "/echo", **kw)
            try:
                await unicode_checks(ws, f"{label}/{sub}")
                await pipelined(ws, f"{label}/{sub}")
            finally:
                await close_quietly(ws)

        # -- client restricts the server's LZ77 window: server must honour it or decline
        await window_bits_check(sb, label)
        await ping_and_close(sb, label)
    finally:
        stop_server(sb, label)


async def window_bits_check(sb, label):
    name = f"[{label}] offer server_max_window_bits=10: honoured or declined, long-range data echoes"
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=True)
    try:
        ws = await connect(sb.ws_url + "/echo", extensions=[factory], compression=None)
    except Exception as e:  # noqa: BLE001
        R.check(name, False, f"handshake failed: {e!r}")
        return
    try:
        ext = pmd_of(ws)
        block = random.Random(7692).randbytes(3000)          # repeats at distance 3000 > 1024
        msg = block * 40
        got = await echo_one(ws, msg)
        ok = got == msg and (ext is None or ext.remote_max_window_bits <= 10)
        R.check(name, ok, f"extension={ext!r}")
        text = base64.b64encode(block).decode() * 30
        got = await echo_one(ws, text)
        R.check(f"[{label}] server_max_window_bits=10: long-range text echoes", got == text,
                "" if got == text else describe_mismatch(text, got))
    except Exception as e:  # noqa: BLE001
        R.check(name, False, f"{e!r} (extension={pmd_of(ws)!r}, response="
                f"{ws.response_headers.get('Sec-WebSocket-Extensions')!r})")
    finally:
        await close_quietly(ws)


async def scenario_dedicated():
    label = "dedicated"
    sb = start_server("--echo", "--compression", "dedicated")
    try:
        ws = await connect(sb.ws_url + "/echo")
        R.check(f"[{label}] permessage-deflate negotiated", pmd_of(ws) is not None,
                f"response={ws.response_headers.get('Sec-WebSocket-Extensions')!r}")
        await close_quietly(ws)
        await echo_matrix(sb, label)
        ws = await connect(sb.ws_url + "/echo")
        try:
            await unicode_checks(ws, label)
            await pipelined(ws, label)
            # the same compressible message repeatedly: exercises a kept compression context
            msg = payload("text-compressible", 5000)
            ok = True
            for _ in range(50):
                if await echo_one(ws, msg) != msg:
                    ok = False
                    break
            R.check(f"[{label}] 50 identical compressible messages (context takeover)", ok)
        finally:
            await close_quietly(ws)
        # client asks for server_no_context_takeover: server must include it or decline
        name = f"[{label}] offer server_no_context_takeover: honoured or declined"
        try:
            f = ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                               client_max_window_bits=True)
            ws = await connect(sb.ws_url + "/echo", extensions=[f], compression=None)
            ext = pmd_of(ws)
            msg = payload("text-compressible", 5000)
            ok = all([await echo_one(ws, msg) == msg for _ in range(5)])
            R.check(name, ok and (ext is None or ext.remote_no_context_takeover),
                    f"extension={ext!r}")
            await close_quietly(ws)
        except Exception as e:  # noqa: BLE001
            R.check(name, False, repr(e))
        await window_bits_check(sb, label)
    finally:
        stop_server(sb, label)


async def scenario_compression_off():
    label = "compression-off"
    sb = start_server("--echo", "--compression", "off")
    try:
        ws = await connect(sb.ws_url + "/echo")  # offers deflate
        R.check(f"[{label}] client offers deflate, server negotiates no extension",
                ws.extensions == [] and ws.response_headers.get("Sec-WebSocket-Extensions") is None,
                f"response={ws.response_headers.get('Sec-WebSocket-Extensions')!r}")
        await close_quietly(ws)
        await echo_matrix(sb, label)
        ws = await connect(sb.ws_url + "/echo")
        try:
            await unicode_checks(ws, label)
            await pipelined(ws, label)
        finally:
            await close_quietly(ws)
    finally:
        stop_server(sb, label)


async def scenario_threshold():
    label = "threshold-1000"
    sb = start_server("--echo", "--compression-threshold", "1000")
    try:
        ws = await connect(sb.ws_url + "/echo")
        log = watch_rsv1(ws)
        for n, compressed in ((999, False), (4096, True)):
            log.clear()
            try:
                msg = payload("text-compressible", n)
                got = await echo_one(ws, msg)
                rsv1 = log[0][1] if log else None
                R.check(f"[{label}] text-compressible {n} B echoed "
                        f"{'compressed' if compressed else 'uncompressed'}",
                        got == msg and rsv1 is compressed, f"RSV1={rsv1}")
            except Exception as e:  # noqa: BLE001
                R.check(f"[{label}] {n} B", False, repr(e))
        await close_quietly(ws)
    finally:
        stop_server(sb, label)


def bc_msg(sender, seq):
    pad = (_TEXT_UNIT * 30)[: (seq * 53) % 2000]
    s = f"{sender}:{seq}:{pad}"
    return s if seq % 3 else s.encode("ascii")


def bc_key(m):
    s = m.decode("ascii") if isinstance(m, bytes) else m
    sender, seq, _ = s.split(":", 2)
    return sender, int(seq), isinstance(m, bytes)


async def scenario_broadcast():
    label = "broadcast"
    sb = start_server("--echo")
    clients = []
    try:
        # mixed negotiation: the server must compress per connection as negotiated
        opts = [{}, {"compression": None}, {}]
        for o in opts:
            clients.append(await connect(sb.ws_url + "/broadcast", **o))
        R.check(f"[{label}] 3 clients connected (deflate, none, deflate)",
                [pmd_of(c) is not None for c in clients] == [True, False, True],
                f"{[c.extensions for c in clients]}")

        async def collect(ws, count):
            out = []
            for _ in range(count):
                out.append(await ws.recv())
            return out

        # phase 1: one sender, every client (sender included) receives all, in order
        n1 = 100
        msgs = [bc_msg("A", i) for i in range(n1)]
        recvs = [asyncio.ensure_future(collect(c, n1)) for c in clients]
        for m in msgs:
            await send(clients[0], m)
        for i, t in enumerate(recvs):
            try:
                got = await asyncio.wait_for(t, 15)
                R.check(f"[{label}] client {i} got all {n1} messages from client 0 in order",
                        got == msgs, f"received {len(got)}")
            except Exception as e:  # noqa: BLE001
                R.check(f"[{label}] client {i} got all {n1} messages from client 0 in order",
                        False, repr(e))

        # phase 2: all three send concurrently; each receives everything, per-sender FIFO
        n2 = 60
        recvs = [asyncio.ensure_future(collect(c, 3 * n2)) for c in clients]

        async def sender(idx):
            for i in range(n2):
                await clients[idx].send(bc_msg("SABC"[idx + 1], i))

        await asyncio.wait_for(asyncio.gather(*(sender(i) for i in range(3))), 15)
        for i, t in enumerate(recvs):
            name = f"[{label}] client {i} got all {3 * n2} messages of 3 concurrent senders, per-sender order"
            try:
                got = await asyncio.wait_for(t, 15)
                per = {}
                ok = True
                for m in got:
                    snd, seq, is_bin = bc_key(m)
                    if m != bc_msg(snd, seq):
                        ok = False
                    per.setdefault(snd, []).append(seq)
                ok = ok and all(per.get(s) == list(range(n2)) for s in "ABC")
                R.check(name, ok, "" if ok else f"per-sender seqs: { {k: v[:10] for k, v in per.items()} }")
            except Exception as e:  # noqa: BLE001
                R.check(name, False, repr(e))

        # large messages through broadcast
        big = payload("binary-random", 1 << 20)
        recvs = [asyncio.ensure_future(collect(c, 1)) for c in clients]
        await send(clients[2], big)
        for i, t in enumerate(recvs):
            try:
                got = await asyncio.wait_for(t, 15)
                R.check(f"[{label}] client {i} got 1 MiB binary broadcast intact", got == [big])
            except Exception as e:  # noqa: BLE001
                R.check(f"[{label}] client {i} got 1 MiB binary broadcast intact", False, repr(e))
    except Exception as e:  # noqa: BLE001
        R.check(f"[{label}] scenario", False, repr(e))
    finally:
        for c in clients:
            await close_quietly(c)
        stop_server(sb, label)


async def scenario_subprotocol():
    label = "subprotocol"
    sb = start_server("--echo", "--subprotocol", "superchat")
    try:
        try:
            ws = await connect(sb.ws_url + "/echo", subprotocols=["chat", "superchat"])
            R.check(f"[{label}] offer [chat, superchat] -> superchat", ws.subprotocol == "superchat",
                    f"subprotocol={ws.subprotocol!r}")
            got = await echo_one(ws, "hello")
            R.check(f"[{label}] echo works on negotiated subprotocol", got == "hello")
            await close_quietly(ws)
        except Exception as e:  # noqa: BLE001
            R.check(f"[{label}] offer [chat, superchat] -> superchat", False, repr(e))
        try:
            ws = await connect(sb.ws_url + "/echo")
            R.check(f"[{label}] no offer -> no subprotocol in response", ws.subprotocol is None,
                    f"subprotocol={ws.subprotocol!r}")
            await close_quietly(ws)
        except Exception as e:  # noqa: BLE001
            R.check(f"[{label}] no offer -> no subprotocol in response", False, repr(e))
    finally:
        stop_server(sb, label)


async def scenario_origin():
    label = "origin"
    sb = start_server("--echo", "--allowed-origin", "http://good.example")
    try:
        name = f"[{label}] Origin http://evil.example rejected with HTTP 403"
        try:
            ws = await connect(sb.ws_url + "/echo", origin="http://evil.example")
            R.check(name, False, "handshake succeeded")
            await close_quietly(ws)
        except InvalidHandshake as e:
            status = getattr(e, "status_code", None)
            if status is None and getattr(e, "response", None) is not None:
                status = e.response.status_code
            R.check(name, type(e).__name__ in ("InvalidStatusCode", "InvalidStatus") and status == 403,
                    f"{type(e).__name__} status={status}")
        except Exception as e:  # noqa: BLE001
            R.check(name, False, repr(e))
        name = f"[{label}] Origin http://good.example accepted"
        try:
            ws = await connect(sb.ws_url + "/echo", origin="http://good.example")
            got = await echo_one(ws, "origin ok")
            R.check(name, got == "origin ok")
            await close_quietly(ws)
        except Exception as e:  # noqa: BLE001
            R.check(name, False, repr(e))
    finally:
        stop_server(sb, label)


async def scenario_shutdown():
    label = "shutdown"
    sb = start_server("--echo")
    loop = asyncio.get_running_loop()
    try:
        e_ws = await connect(sb.ws_url + "/echo")
        b_ws = await connect(sb.ws_url + "/broadcast", compression=None)
        R.check(f"[{label}] echo works before SIGTERM", await echo_one(e_ws, "before") == "before")
        t0 = time.monotonic()
        sb.proc.send_signal(signal.SIGTERM)
        for name, ws in (("/echo", e_ws), ("/broadcast", b_ws)):
            try:
                await asyncio.wait_for(ws.wait_closed(), SHUTDOWN_TIMEOUT)
                took = time.monotonic() - t0
                R.check(f"[{label}] {name} client sees close code 1001 after SIGTERM",
                        ws.close_code == 1001,
                        f"close_code={ws.close_code} reason={ws.close_reason!r} after {took:.2f}s")
                # RFC 6455 5.5.1 / 7.1.1: once it has sent and received a Close frame the server
                # MUST close the TCP connection (and SHOULD be the one to close it first). This
                # client (close_timeout=5) waits for that, so a late FIN shows up here as delay.
                R.check(f"[{label}] {name} server closes TCP promptly after the close handshake",
                        took < 2.0, f"connection fully closed {took:.2f}s after SIGTERM")
            except Exception as e:  # noqa: BLE001
                R.check(f"[{label}] {name} client sees close code 1001 after SIGTERM", False, repr(e))
        try:
            code = await asyncio.wait_for(loop.run_in_executor(None, sb.proc.wait), SHUTDOWN_TIMEOUT)
            R.check(f"[{label}] server exits 0 after SIGTERM", code == 0,
                    f"exit code {code} after {time.monotonic() - t0:.2f}s")
        except Exception as e:  # noqa: BLE001
            R.check(f"[{label}] server exits 0 after SIGTERM", False, repr(e))
    finally:
        if sb.proc.poll() is None:
            sb.proc.kill()
            sb.proc.wait()


# ---------------------------------------------------------------------------------------------

def kill_all():
    for sb in SERVERS:
        try:
            if sb.proc is not None and sb.proc.poll() is None:
                sb.proc.kill()
        except Exception:  # noqa: BLE001
            pass


async def main():
    scenarios = [scenario_default_server, scenario_dedicated, scenario_compression_off,
                 scenario_threshold, scenario_broadcast, scenario_subprotocol, scenario_origin,
                 scenario_shutdown]
    for sc in scenarios:
        try:
            await sc()
        except Exception as e:  # noqa: BLE001
            R.check(f"{sc.__name__} completed", False, repr(e))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--switchboard", required=True, help="path to the switchboard binary")
    ap.add_argument("--budget", type=float, default=55.0, help="watchdog, seconds")
    args = ap.parse_args()
    BIN = os.path.abspath(args.switchboard)
    print(f"# python websockets {websockets.__version__}, switchboard {BIN}", flush=True)

    def on_alarm(*_):
        R.check("watchdog: script finished within budget", False, f"{args.budget}s exceeded")
        kill_all()
        R.summary()
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, args.budget)
    t_start = time.monotonic()
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        R.check("switchboard binary exists and is executable", False, BIN)
    else:
        try:
            asyncio.run(main())
        finally:
            kill_all()
    signal.setitimer(signal.ITIMER_REAL, 0)
    print(f"# took {time.monotonic() - t_start:.1f}s", flush=True)
    R.summary()
    sys.exit(0 if R.failed == 0 and R.passed > 0 else 1)
