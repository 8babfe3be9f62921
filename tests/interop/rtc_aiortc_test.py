#!/usr/bin/env python3
"""Interop test: our native WebRTC data channels (`switchboard peer`) against python3-aiortc, an
independent implementation, in both roles on loopback: the channel opens, text messages come
back in order, binary messages are hashed on our side and the digest matches. Signalling is
relayed between aiortc and the native peer's stdin/stdout by this script."""
import argparse
import asyncio
import hashlib
import json
import os
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, finish  # noqa: E402

# aioice leaves out loopback addresses when it gathers; this test lives on loopback.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class Native:
    def __init__(self, binary, role):
        self.binary, self.role = binary, role
        self.proc = None
        self.lines = asyncio.Queue()

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(self.binary, "peer", f"--{self.role}",
                                                         stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                await self.lines.put(None)
                return
            try:
                await self.lines.put(json.loads(line))
            except ValueError:
                pass

    def send(self, obj):
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())

    async def next(self, pred, timeout=15):
        async def loop():
            while True:
                m = await self.lines.get()
                if m is None or pred(m):
                    return m
        return await asyncio.wait_for(loop(), timeout)

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def exchange(channel, n=100):
    got, done = [], asyncio.get_running_loop().create_future()

    @channel.on("message")
    def on_message(m):
        if isinstance(m, str):
            got.append(m)
            if (len(got) == n or m.startswith("digest:")) and not done.done():
                done.set_result(True)

    for i in range(n):
        channel.send(f"m{i}")
    await asyncio.wait_for(done, 15)
    echoed = list(got)
    # Binary messages, then "digest": our side answers with what it hashed.
    got.clear()
    done = asyncio.get_running_loop().create_future()
    blob = bytes((i * 7 + 3) & 0xFF for i in range(256 * 1024))
    for at in range(0, len(blob), 16 * 1024):
        channel.send(blob[at:at + 16 * 1024])
    channel.send("digest")
    await asyncio.wait_for(done, 30)
    return echoed, got[-1], f"digest:{len(blob)}:{hashlib.sha256(blob).hexdigest()}"


async def trickle(pc, native):
    """Candidates the native peer trickles go to aiortc."""
    while True:
        m = await native.lines.get()
        if m is None:
            return
        if m.get("candidate"):
            c = candidate_from_sdp(m["candidate"].split(":", 1)[1])
            c.sdpMid = "0"
            await pc.addIceCandidate(c)


async def aiortc_offers(binary):
    native = Native(binary, "answer")
    await native.start()
    pc = RTCPeerConnection()
    channel = pc.createDataChannel("reliable")
    opened = asyncio.get_running_loop().create_future()
    channel.on("open", lambda: opened.done() or opened.set_result(True))
    await pc.setLocalDescription(await pc.createOffer())
    native.send({"type": "offer", "sdp": pc.localDescription.sdp})
    answer = await native.next(lambda m: m.get("type") == "answer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    t = asyncio.get_running_loop().create_task(trickle(pc, native))
    try:
        await asyncio.wait_for(opened, 15)
        check("aiortc offers, we answer: the data channel opens", True)
        echoed, digest, want = await exchange(channel)
        check("100 messages come back in order", echoed == [f"m{i}" for i in range(100)], echoed[:5])
        check("256 KiB of binary messages hash the same on our side", digest == want, (digest, want))
    except asyncio.TimeoutError:
        check("aiortc offers, we answer: the data channel opens", False, "timed out")
    t.cancel()
    await pc.close()
    await native.stop()


async def native_offers(binary):
    native = Native(binary, "offer")
    await native.start()
    pc = RTCPeerConnection()
    got_channel = asyncio.get_running_loop().create_future()

    @pc.on("datachannel")
    def on_channel(ch):
        if not got_channel.done():
            got_channel.set_result(ch)

    offer = await native.next(lambda m: m.get("type") == "offer")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    native.send({"type": "answer", "sdp": pc.localDescription.sdp})
    t = asyncio.get_running_loop().create_task(trickle(pc, native))
    try:
        channel = await asyncio.wait_for(got_channel, 15)
        check("we offer, aiortc answers: our data channel opens in aiortc", channel.label == "native", channel.label)
        if channel.readyState != "open":
            opened = asyncio.get_running_loop().create_future()
            channel.on("open", lambda: opened.done() or opened.set_result(True))
            await asyncio.wait_for(opened, 10)
        echoed, digest, want = await exchange(channel)
        check("messages on our channel come back in order", echoed == [f"m{i}" for i in range(100)], echoed[:5])
        check("binary messages on our channel hash the same", digest == want, (digest, want))
    except asyncio.TimeoutError:
        check("we offer, aiortc answers: our data channel opens in aiortc", False, "timed out")
    t.cancel()
    await pc.close()
    await native.stop()


async def main_async(binary):
    await aiortc_offers(binary)
    await native_offers(binary)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchboard", required=True)
    binary = ap.parse_args().switchboard
    asyncio.run(asyncio.wait_for(main_async(binary), 150))
    finish()


if __name__ == "__main__":
    main()
