#!/usr/bin/env python3
"""Rooms and WebRTC signalling over the hub's protocol (docs/protocol.md, "Rooms"), driven with
python3-websockets: joins and leaves with their pushes, signalling routed and validated (SDP,
candidates, sizes, rate, membership), room chat limited to members, the mesh limit, room
tokens and grants, duplicate identities, ICE servers on join, and the server API's room calls."""
import argparse
import asyncio
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hub"))
from switchboard_proc import Switchboard  # noqa: E402
from checks import check, finish  # noqa: E402
from hubclient import HubClient, ProtocolError, api, client  # noqa: E402

BIN = None
FP = ":".join(["AB"] * 32)


async def expect_error(coro, code):
    try:
        await coro
    except ProtocolError as e:
        return e.code == code, (e.code, e.reason)
    return False, "no error"


def token(*args):
    return subprocess.check_output([BIN, "token", *args], text=True).strip()


def sdp(send=True, ufrag="abcd"):
    """A description shaped like Chromium's: audio with a track (or receive-only) and data."""
    lines = [
        "v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
        "a=group:BUNDLE 0 1", "a=extmap-allow-mixed", "a=msid-semantic: WMS s1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {FP}", "a=setup:actpass", "a=mid:0",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "a=sendrecv" if send else "a=recvonly",
    ]
    if send:
        lines += ["a=msid:s1 t1"]
    lines += ["a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=rtcp-fb:111 transport-cc",
              "a=fmtp:111 minptime=10;useinbandfec=1", "a=rtpmap:63 red/48000/2"]
    if send:
        lines += ["a=ssrc:1001 cname:abc", "a=ssrc:1001 msid:s1 t1"]
    lines += ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
              f"a=ice-ufrag:{ufrag}", "a=ice-pwd:abcdefghijklmnopqrstuvwx", "a=ice-options:trickle",
              f"a=fingerprint:sha-256 {FP}", "a=setup:actpass", "a=mid:1", "a=sctp-port:5000",
              "a=max-message-size:262144"]
    return "\r\n".join(lines) + "\r\n"


CANDIDATE = {"candidate": "candidate:842163049 1 udp 1677729535 127.0.0.1 50000 typ srflx raddr 0.0.0.0 rport 0 "
                          "generation 0 ufrag abcd network-cost 999", "sdpMid": "0", "sdpMLineIndex": 0}


async def join(url, room, name=None, token_=None, **fields):
    c = await client(url, name=name)
    args = {"room": room, **fields}
    if token_ is not None:
        args["token"] = token_
    r = await c.call("room_join", **args)
    return c, r


async def test_open_rooms(sb):
    url = sb.ws_url
    a, ra = await join(url, "r1", name="Ann", metadata={"avatar": "a.png"})
    me = ra["participant"]
    check("room_join answers with the participant, no others yet, the chat channel and the mesh limit",
          me["sid"] and me["identity"] == me["sid"] and ra["participants"] == [] and ra["chat"] == "room:r1"
          and ra["mesh_limit"] == 4 and me["metadata"] == {"avatar": "a.png"} and me["info"] == {"name": "Ann"}, ra)
    ice = ra.get("ice_servers") or []
    turn = [s for s in ice if any(u.startswith("turn:") for u in s["urls"])]
    check("room_join hands out ICE servers with TURN credentials bound to the participant",
          turn and turn[0]["username"].endswith(":" + me["identity"]) and turn[0]["credential"], ice)

    b, rb = await join(url, "r1", name="Ben")
    check("the second participant sees the first in its answer",
          [p["sid"] for p in rb["participants"]] == [me["sid"]], rb)
    j = await a.push(kind="room_join")
    check("the first participant gets a room_join push", j and j["participant"]["sid"] == rb["participant"]["sid"]
          and j["room"] == "r1", j)
    bsid = rb["participant"]["sid"]

    await a.call("signal", room="r1", to=bsid, kind="offer", data={"type": "offer", "sdp": sdp()})
    s = await b.push(kind="signal")
    check("an offer reaches its target with the sender's id", s and s["from"] == me["sid"] and s["kind"] == "offer"
          and s["data"]["sdp"] == sdp(), s)
    await b.call("signal", room="r1", to=me["sid"], kind="answer", data={"type": "answer", "sdp": sdp()})
    s = await a.push(kind="signal")
    check("the answer comes back", s and s["kind"] == "answer" and s["from"] == bsid, s)
    await a.call("signal", room="r1", to=bsid, kind="candidate", data=CANDIDATE)
    await a.call("signal", room="r1", to=bsid, kind="candidate", data={"candidate": "", "sdpMid": "0"})
    s1, s2 = await b.push(kind="signal"), await b.push(kind="signal")
    check("trickled candidates and the end of candidates are delivered in order",
          s1["data"] == CANDIDATE and s2["data"]["candidate"] == "", (s1, s2))
    await a.call("signal", room="r1", to=bsid, kind="offer", data={"type": "offer", "sdp": sdp(ufrag="efgh")})
    s = await b.push(kind="signal")
    check("an ICE restart offer (new ufrag) is routed like any offer", "a=ice-ufrag:efgh" in s["data"]["sdp"], s)

    bad = sdp().replace("a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", "", 1)
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="offer", data={"type": "offer", "sdp": bad}), 107)
    check("an offer without ICE credentials in a section gets 107 naming the line",
          ok and got[1].startswith("bad SDP: line 8"), got)
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="offer",
                                        data={"type": "offer", "sdp": "v=0\r\nhello\r\n"}), 107)
    check("an offer that is not SDP gets 107 'bad SDP: line 2'", ok and got[1].startswith("bad SDP: line 2"), got)
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="answer",
                                        data={"type": "offer", "sdp": sdp()}), 107)
    check("a description whose type differs from the kind gets 107", ok, got)
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="candidate",
                                        data={"candidate": "candidate:1 1 udp 1 127.0.0.1 99999 typ host"}), 107)
    check("a candidate with a bad port gets 107", ok and "port" in got[1], got)
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="hello", data={}), 107)
    check("an unknown signal kind gets 107", ok, got)
    ok, got = await expect_error(a.call("signal", room="r1", to="nobody", kind="candidate", data=CANDIDATE), 119)
    check("a signal to someone not in the room gets 119", ok, got)
    ok, got = await expect_error(a.call("signal", room="r2", to=bsid, kind="candidate", data=CANDIDATE), 118)
    check("a signal in a room one is not in gets 118", ok, got)
    big = {"type": "offer", "sdp": sdp() + "a=x:" + "y" * 70000 + "\r\n"}
    ok, got = await expect_error(a.call("signal", room="r1", to=bsid, kind="offer", data=big), 111)
    check("a signal over 64 KiB gets 111", ok, got)

    # Only members of the same room: a participant of r2 cannot be reached from r1.
    o, ro = await join(url, "r2", name="Otto")
    ok, got = await expect_error(a.call("signal", room="r1", to=ro["participant"]["sid"], kind="candidate",
                                        data=CANDIDATE), 119)
    check("a member of another room cannot be signalled", ok, got)

    # Track metadata.
    tracks = [{"id": "t1", "kind": "audio", "source": "microphone", "muted": False}]
    await a.call("room_tracks", room="r1", tracks=tracks)
    u = await b.push(kind="room_update")
    check("room_tracks reaches the others as room_update", u and u["participant"]["tracks"] == tracks, u)
    await a.call("room_update", room="r1", metadata={"hand": True})
    u = await b.push(kind="room_update")
    check("room_update carries new metadata", u and u["participant"]["metadata"] == {"hand": True}, u)

    # Room chat: members only.
    await b.call("subscribe", channel="room:r1")
    await a.call("subscribe", channel="room:r1")
    await a.call("publish", channel="room:r1", data={"text": "hi"})
    p = await b.push(kind="pub")
    check("room chat reaches members", p and p["data"] == {"text": "hi"}, p)
    ok, got = await expect_error(o.call("subscribe", channel="room:r1"), 103)
    check("a non-member cannot subscribe to the room's chat", ok, got)
    ok, got = await expect_error(o.call("publish", channel="room:r1", data="x"), 103)
    check("a non-member cannot publish to the room's chat", ok, got)

    # Mesh limit: 4 by default.
    c3, _ = await join(url, "r1", name="Cy")
    c4, _ = await join(url, "r1", name="Di")
    ok, got = await expect_error(join(url, "r1", name="Eve"), 117)
    check("a fifth participant is refused with 117 and the reason", ok and "at most 4 participants" in got[1], got)

    # Leaving.
    await c4.call("room_leave", room="r1")
    l = await a.push(kind="room_leave")
    check("room_leave tells the others (cause left)", l and l["cause"] == "left", l)
    await c3.close()
    l = await a.push(kind="room_leave")
    check("a closed connection leaves its rooms (cause disconnected)", l and l["cause"] == "disconnected", l)
    await b.call("room_leave", room="r1")
    un = await b.push(kind="unsubscribe")
    check("leaving ends the room chat subscription", un and un["channel"] == "room:r1", un)
    ok, got = await expect_error(b.call("publish", channel="room:r1", data="x"), 103)
    check("after leaving the room chat is closed to it", ok, got)
    ok, got = await expect_error(b.call("signal", room="r1", to=me["sid"], kind="candidate", data=CANDIDATE), 118)
    check("after leaving, signals get 118", ok, got)

    # Bad joins.
    ok, got = await expect_error(a.call("room_join", room="r1"), 107)
    check("joining a room twice gets 107", ok, got)
    ok, got = await expect_error(a.call("room_join", room="bad room"), 107)
    check("a bad room name gets 107", ok, got)

    # Signal rate: bursts of 200, then 110.
    codes = []
    for _ in range(30):
        batch = [a.call("signal", room="r1", to="nobody", kind="candidate", data=CANDIDATE) for _ in range(10)]
        for r in await asyncio.gather(*batch, return_exceptions=True):
            codes.append(r.code if isinstance(r, ProtocolError) else 0)
    check("signalling faster than 100/s gets 110 after the burst", 110 in codes and codes.count(110) < 150,
          codes.count(110))

    # Server API.
    status, body = api(sb, "rooms")
    rooms = {r["room"]: r["participants"] for r in body["result"]["rooms"]}
    check("API rooms lists rooms with participant counts", status == 200 and rooms == {"r1": 1, "r2": 1}, body)
    status, body = api(sb, "room_participants", {"room": "r1"})
    check("API room_participants lists the participants",
          status == 200 and [p["sid"] for p in body["result"]["participants"]] == [me["sid"]], body)
    d, _ = await join(url, "r2", name="Dan")
    await o.push(kind="room_join")
    ident = _["participant"]["identity"]
    status, body = api(sb, "room_kick", {"room": "r2", "identity": ident, "reason": "be nice"})
    left = await d.push(kind="room_left")
    gone = await o.push(kind="room_leave")
    check("API room_kick removes the participant with its reason", status == 200 and body["result"]["kicked"] == 1
          and left["cause"] == "kicked" and left["reason"] == "be nice" and gone["cause"] == "kicked", (body, left, gone))
    status, body = api(sb, "room_close", {"room": "r1"})
    left = await a.push(kind="room_left")
    check("API room_close removes everyone", status == 200 and body["result"]["closed"] == 1 and left["cause"] == "closed",
          (body, left))
    status, body = api(sb, "rooms")
    check("a closed room is gone", [r["room"] for r in body["result"]["rooms"]] == ["r2"], body)
    for x in (a, b, o, d):
        await x.close()


async def test_room_tokens():
    secret = "room-secret"
    with Switchboard(BIN, "--loops", "2", "--token-secret", secret, "--room-token-required",
                     "--room-mesh-limit", "2") as sb:
        url = sb.ws_url
        c = await client(url)
        ok, got = await expect_error(c.call("room_join", room="t1"), 101)
        check("with --room-token-required a join without a token gets 101", ok, got)
        ok, got = await expect_error(c.call("room_join", room="t1", token=token("--secret", secret, "--user", "x",
                                                                                "--room", "t2")), 103)
        check("a room token for another room gets 103", ok, got)
        ok, got = await expect_error(c.call("room_join", room="t1", token=token("--secret", "wrong", "--user", "x",
                                                                                "--room", "t1")), 114)
        check("a forged room token gets 114", ok, got)
        viewer_tok = token("--secret", secret, "--user", "viewer", "--room", "t1", "--deny", "publish",
                           "--info", '{"name":"V"}')
        rv = await c.call("room_join", room="t1", token=viewer_tok)
        check("a room token's sub is the identity and its grants are shown",
              rv["participant"]["identity"] == "viewer" and rv["participant"]["grants"]["publish"] is False
              and rv["participant"]["info"] == {"name": "V"}, rv)
        turn = [s for s in rv.get("ice_servers", []) if any(u.startswith("turn:") for u in s["urls"])]
        exp = int(turn[0]["username"].split(":")[0]) if turn else 0
        check("the TURN credential expires with the room token", turn and abs(exp - rv["expires"]) <= 1, (turn, rv))
        h = await client(url)
        rh = await h.call("room_join", room="t1", token=token("--secret", secret, "--user", "host", "--room", "t1"))
        hsid = rh["participant"]["sid"]
        ok, got = await expect_error(c.call("signal", room="t1", to=hsid, kind="offer",
                                            data={"type": "offer", "sdp": sdp(send=True)}), 103)
        check("a participant without the publish grant cannot offer media", ok and "publish" in got[1], got)
        await c.call("signal", room="t1", to=hsid, kind="offer", data={"type": "offer", "sdp": sdp(send=False)})
        check("it can offer to receive", (await h.push(kind="signal"))["kind"] == "offer")
        ok, got = await expect_error(c.call("room_tracks", room="t1", tracks=[{"kind": "video"}]), 103)
        check("nor announce tracks", ok, got)
        nosub = token("--secret", secret, "--user", "blind", "--room", "t1", "--deny", "subscribe")
        # Same identity again: the newer join replaces the older (mesh limit 2 is not hit).
        c2 = await client(url)
        await c2.call("room_join", room="t1", token=token("--secret", secret, "--user", "viewer", "--room", "t1"))
        left = await c.push(kind="room_left")
        check("the same identity joining again replaces the older participant", left and left["cause"] == "replaced", left)
        ok, got = await expect_error(_join_tok(url, "t1", nosub), 117)
        check("--room-mesh-limit 2 refuses the third with 117", ok and "at most 2" in got[1], got)
        expired = token("--secret", secret, "--user", "late", "--room", "t1", "--ttl", "1")
        await asyncio.sleep(2.1)
        ok, got = await expect_error(_join_tok(url, "t1", expired), 109)
        check("an expired room token gets 109", ok, got)
        for x in (c, c2, h):
            await x.close()


async def _join_tok(url, room, tok):
    c = await client(url)
    return await c.call("room_join", room=room, token=tok)


async def main_async():
    with Switchboard(BIN, "--loops", "2", "--api-key", "test-key") as sb:
        await test_open_rooms(sb)
    await test_room_tokens()


def main():
    global BIN
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchboard", required=True)
    BIN = ap.parse_args().switchboard
    asyncio.run(main_async())
    finish()


if __name__ == "__main__":
    main()
