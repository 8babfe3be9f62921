"""HTTPS and WSS with a certificate made by scripts/make-cert.sh, checked by real clients
(Python's ssl module and python3-websockets)."""
import argparse
import asyncio
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import urllib.request

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from switchboard_proc import Switchboard  # noqa: E402
from checks import check, finish  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


async def wss_echo(sb, ctx):
    async with websockets.connect(f"wss://localhost:{sb.port}/echo", ssl=ctx, max_size=None) as ws:
        msgs = ["hello over TLS", b"\x00" * 70000, os.urandom(1 << 20), "é" * 5000]
        for m in msgs:
            await ws.send(m)
        got = [await asyncio.wait_for(ws.recv(), 10) for _ in msgs]
        return got == msgs


async def wss_broadcast(sb, ctx):
    url = f"wss://localhost:{sb.port}/broadcast"
    async with websockets.connect(url, ssl=ctx) as a, websockets.connect(url, ssl=ctx) as b:
        msgs = [f"m{i}" for i in range(300)]
        for m in msgs:
            await a.send(m)
        got_a = [await asyncio.wait_for(a.recv(), 10) for _ in msgs]
        got_b = [await asyncio.wait_for(b.recv(), 10) for _ in msgs]
        return got_a == msgs and got_b == msgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchboard", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([os.path.join(ROOT, "scripts", "make-cert.sh"), d], check=True, capture_output=True)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        check("make-cert.sh wrote a certificate and key", os.path.exists(cert) and os.path.exists(key))
        ctx = ssl.create_default_context(cafile=cert)
        with Switchboard(a.switchboard, "--echo", "--tls-cert", cert, "--tls-key", key) as sb:
            check("serving URL is https", sb.scheme == "https", sb.scheme)
            with urllib.request.urlopen(f"https://localhost:{sb.port}/healthz", context=ctx, timeout=5) as r:
                check("HTTPS /healthz 200", r.status == 200 and r.read() == b"ok\n")
            check("WSS echo incl. 1 MiB binary", asyncio.run(wss_echo(sb, ctx)))
            check("WSS broadcast: 300 messages to both clients in order", asyncio.run(wss_broadcast(sb, ctx)))
            # Plain text and garbage on the TLS port are dropped without harming the server.
            for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(3000)):
                s = socket.create_connection(("127.0.0.1", sb.port), timeout=5)
                s.sendall(junk)
                try:
                    s.recv(100)
                except OSError:
                    pass
                s.close()
            with urllib.request.urlopen(f"https://localhost:{sb.port}/healthz", context=ctx, timeout=5) as r:
                check("still serving after plain text and garbage on the TLS port", r.status == 200)
        # A key that does not match the certificate is refused at start-up with a clear message.
        other = os.path.join(d, "other")
        subprocess.run([os.path.join(ROOT, "scripts", "make-cert.sh"), other], check=True, capture_output=True)
        p = subprocess.run([a.switchboard, "serve", "--listen", "127.0.0.1:0", "--turn-listen", "off", "--tls-cert", cert, "--tls-key",
                            os.path.join(other, "key.pem")], capture_output=True, text=True, timeout=10)
        check("mismatched key refused at start", p.returncode == 1 and "does not match" in p.stderr, p.stderr)
    finish()


if __name__ == "__main__":
    main()
