"""A small client of the hub's JSON protocol (docs/protocol.md) over python3-websockets, for
tests: commands with ids and awaited replies, pushes collected per kind, close codes kept."""
import asyncio
import itertools
import json
import struct
import urllib.request

import websockets


class ProtocolError(Exception):
    def __init__(self, code, reason):
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


def decode_binary_pub(b):
    """A binary pub push (docs/protocol.md, "Binary pub pushes") as the JSON push it stands for."""
    kind, clen, klen, zero, ulen, ilen, offset, time_ms = struct.unpack_from(">BBBBIIQq", b, 0)
    if kind != 1 or zero != 0:
        raise ValueError(f"not a binary pub push: {b[:8]!r}")
    at = 28
    channel = b[at:at + clen].decode(); at += clen
    client = b[at:at + klen].decode(); at += klen
    user = b[at:at + ulen].decode(); at += ulen
    info = b[at:at + ilen]; at += ilen
    msg = {"push": "pub", "channel": channel, "offset": offset, "time": time_ms, "data": json.loads(b[at:]),
           "binary": True}
    if klen:
        msg["from"] = {"user": user, "client": client}
        if ilen:
            msg["from"]["info"] = json.loads(info)
    return msg


class HubClient:
    def __init__(self, url):
        self.url = url
        self.ws = None
        self.ids = itertools.count(1)
        self.waiting = {}
        self.pushes = asyncio.Queue()
        self.close_code = None
        self.close_reason = None
        self.reader = None

    async def open(self, **kw):
        self.ws = await websockets.connect(self.url + "/connection", subprotocols=["switchboard.v1.json"],
                                           max_size=None, **kw)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self):
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    await self.pushes.put(decode_binary_pub(frame))
                    continue
                for line in frame.split("\n"):
                    if not line.strip():
                        continue
                    msg = json.loads(line)
                    if "id" in msg and msg["id"] in self.waiting:
                        self.waiting.pop(msg["id"]).set_result(msg)
                    else:
                        await self.pushes.put(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None or True:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason
            for f in self.waiting.values():
                if not f.done():
                    f.set_exception(ConnectionError(f"closed {self.ws.close_code}"))
            await self.pushes.put(None)

    async def call(self, op, timeout=10, **fields):
        cid = next(self.ids)
        fut = asyncio.get_running_loop().create_future()
        self.waiting[cid] = fut
        await self.ws.send(json.dumps({"id": cid, "op": op, **fields}))
        msg = await asyncio.wait_for(fut, timeout)
        if "error" in msg:
            raise ProtocolError(msg["error"]["code"], msg["error"]["reason"])
        return msg["result"]

    async def raw(self, text):
        await self.ws.send(text)

    async def connect(self, token=None, name=None, binary_pubs=None):
        fields = {}
        if binary_pubs is not None:
            fields["binary_pubs"] = binary_pubs
        if token is not None:
            fields["token"] = token
        if name is not None:
            fields["name"] = name
        return await self.call("connect", **fields)

    async def push(self, timeout=5, kind=None):
        """The next push (of `kind` if given; others are dropped); None once closed."""
        while True:
            msg = await asyncio.wait_for(self.pushes.get(), timeout)
            if msg is None:
                await self.pushes.put(None)
                return None
            if kind is None or msg.get("push") == kind:
                return msg

    async def pubs(self, n, timeout=10):
        out = []
        while len(out) < n:
            m = await self.push(timeout, "pub")
            if m is None:
                break
            out.append(m)
        return out

    async def wait_closed(self, timeout=10):
        await asyncio.wait_for(self.reader, timeout)
        return self.close_code

    async def close(self):
        if self.ws:
            await self.ws.close()
        if self.reader:
            try:
                await asyncio.wait_for(self.reader, 5)
            except Exception:
                pass


async def client(url, token=None, name=None, binary_pubs=None):
    c = await HubClient(url).open()
    await c.connect(token=token, name=name, binary_pubs=binary_pubs)
    return c


def api(sb, method, body=None, key="test-key"):
    req = urllib.request.Request(sb.http_url + "/api/" + method, data=json.dumps(body or {}).encode(),
                                 method="POST", headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")
