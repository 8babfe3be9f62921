"""Server memory per WebSocket connection with permessage-deflate, by compression mode.

Opens N connections with python3-websockets offering permessage-deflate, has each send and
receive one compressible message (so that any per-connection zlib state is really allocated),
holds them, and reads the server's anonymous RSS from /proc before and after.

  /usr/bin/python3 bench/deflate_memory.py --port P --server-pid PID [--connections 1000]
"""
import argparse
import asyncio
import json

import websockets


def rss_anon_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise RuntimeError("no RssAnon")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--no-deflate", action="store_true")
    a = ap.parse_args()
    before = rss_anon_kb(a.server_pid)
    comp = None if a.no_deflate else "deflate"
    conns = []
    for i in range(a.connections):
        ws = await websockets.connect(f"ws://127.0.0.1:{a.port}/echo", compression=comp, max_size=None)
        conns.append(ws)
    msg = ("switchboard compresses this line well " * 40)[:1500]
    for ws in conns:
        await ws.send(msg)
    for ws in conns:
        assert await ws.recv() == msg
    ext = conns[0].response_headers.get("Sec-WebSocket-Extensions", "")
    await asyncio.sleep(0.5)
    held = rss_anon_kb(a.server_pid)
    for ws in conns:
        await ws.close()
    print(json.dumps({"connections": a.connections, "extensions": ext,
                      "rss_anon_before_kb": before, "rss_anon_held_kb": held,
                      "bytes_per_connection": round((held - before) * 1024 / a.connections)}))


asyncio.run(main())
