"""STUN/TURN against the real binary with clients nobody here wrote (coturn's turnutils_stunclient,
turnutils_uclient and turnutils_peer) and a small raw client for exact answer codes: Binding,
allocations over UDP and TCP with static and REST credentials, send indications and channels,
and the safe defaults (denied peer ranges including the IPv4-mapped form, quotas, rate limits,
answer sizes)."""
import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "hub"))
sys.path.insert(0, os.path.dirname(__file__))
from switchboard_proc import Switchboard  # noqa: E402
from checks import check, finish  # noqa: E402
import stunclient as sc  # noqa: E402
from hubclient import HubClient, api  # noqa: E402
import asyncio  # noqa: E402


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def metrics(sb):
    with urllib.request.urlopen(sb.http_url + "/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def uclient(port, peer_port, *args, clients=2, timeout=60):
    cmd = ["turnutils_uclient", *args, "-e", "127.0.0.1", "-r", str(peer_port), "-p", str(port),
           "-n", "20", "-m", str(clients), "-l", "120", "-z", "5", "127.0.0.1"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def relayed_all(out):
    m = re.search(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
    lost = re.search(r"Total lost packets (\d+)", out)
    return m is not None and int(m.group(1)) > 0 and m.group(1) == m.group(2) and lost and lost.group(1) == "0", \
        (m.groups() if m else None, lost.group(1) if lost else None)


def test_stun(sb):
    out = subprocess.run(["turnutils_stunclient", "-p", str(sb.turn_port), "127.0.0.1"], capture_output=True,
                         text=True, timeout=20).stdout
    check("turnutils_stunclient gets its reflexive address", "UDP reflexive addr: 127.0.0.1:" in out, out[-300:])
    c = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
    req = sc.encode(sc.BINDING, [], fingerprint=True)
    ans = c.raw(req)
    m = sc.Message(ans)
    mapped = sc.parse_xor_addr(m.get(sc.XOR_MAPPED), m.tid)
    check("Binding answers the client's address", mapped == c.sock.getsockname(), mapped)
    check("Binding answer at most 1.6x the request", len(ans) * 10 <= len(req) * 16, (len(ans), len(req)))
    check("no SOFTWARE in answers by default", m.get(sc.SOFTWARE) is None)
    req = sc.encode(sc.ALLOCATE, [(sc.REQ_TRANSPORT, bytes([17, 0, 0, 0]))])
    ans = c.raw(req)
    m = sc.Message(ans)
    check("unauthenticated Allocate gets 401 with realm and nonce",
          m.code == 401 and m.get(sc.REALM) == b"switchboard" and m.get(sc.NONCE), m.code)
    check("401 at most 2.7x the request", len(ans) * 10 <= len(req) * 27, (len(ans), len(req)))
    c.close()


def test_relay(sb, peer_port):
    for name, args in [("UDP, static user", ["-u", "alice", "-w", "secret"]),
                       ("TCP, static user", ["-t", "-u", "alice", "-w", "secret"]),
                       ("UDP, REST credentials", ["-W", "rest-secret", "-u", "bob"]),
                       ("TCP, REST credentials", ["-t", "-W", "rest-secret", "-u", "carol"]),
                       ("UDP, send indications", ["-s", "-u", "alice", "-w", "secret"]),
                       ("UDP, client to client", ["-y", "-c", "-u", "alice", "-w", "secret"]),
                       ("TCP relay allocations (RFC 6062), client to client", ["-T", "-u", "alice", "-w", "secret"])]:
        rc, out = uclient(sb.turn_port, peer_port, *args)
        ok, detail = relayed_all(out)
        check(f"turnutils_uclient relays every packet back ({name})", rc == 0 and ok, (rc, detail, out[-400:]))
    rc, out = uclient(sb.turn_port, peer_port, "-u", "alice", "-w", "wrong")
    check("a wrong password gets no allocation and nothing is relayed",
          "Cannot complete Allocation" in out and not relayed_all(out)[0], out[-300:])
    m = metrics(sb)
    check("allocations and relayed packets are counted",
          m.get("switchboard_turn_allocations_total", 0) >= 14
          and m.get('switchboard_turn_relayed_packets_total{direction="to_peer"}', 0) >= 200
          and m.get('switchboard_turn_relayed_packets_total{direction="to_client"}', 0) >= 200, m)
    check("bad credentials are counted", m.get('switchboard_turn_refused_total{reason="bad_credentials"}', 0) >= 1)

    # Refresh 0 frees the allocation at once: allocating again from the same address works.
    c = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
    a1 = c.allocate()
    r = c.request(sc.REFRESH, [(sc.LIFETIME, bytes(4))])
    a2 = c.allocate()
    check("reallocation right after Refresh 0 succeeds (no 437)", (a1.code, r.code, a2.code) == (200, 200, 200),
          (a1.code, r.code, a2.code))
    a3 = c.allocate()
    check("a second Allocate on the same 5-tuple gets 437", a3.code == 437, a3.code)
    c.close()


def test_defaults(binary, peer_port):
    # No --turn-allow-peer: the default deny list applies, loopback included.
    with Switchboard(binary, "--turn-user", "alice:secret", "--turn-user", "bob:pw", "--turn-user", "uc:pw",
                     "--turn-max-allocations-per-user", "2") as sb:
        # 127.0.0.1 is also this server's relay address, which other clients' relays live on: the
        # channel to a loopback peer whose port is no relay is what gets the 403.
        rc, out = uclient(sb.turn_port, peer_port, "-c", "-u", "uc", "-w", "pw", clients=1)
        check("a loopback peer is refused by default (403)", "403" in out and not relayed_all(out)[0], out[-300:])
        c = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
        check("allocation for the checks below", c.allocate().code == 200)
        for peer in ["127.0.0.2", "127.255.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.1", "100.64.0.1", "169.254.169.254",
                     "169.254.1.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "240.0.0.1"]:
            m = c.permission((peer, 9))
            check(f"CreatePermission to {peer} gets 403", m.code == 403, m.code)
        m = c.permission(("198.51.100.20", 9))
        check("a documentation range is refused too", m.code == 403, m.code)
        m = c.permission(("8.8.8.8", 53))
        check("a public peer is permitted", m.code == 200, m.code)
        c6 = sc.TurnClient(("127.0.0.1", sb.turn_port), "bob", "pw")
        a6 = c6.allocate(family=6)
        check("an IPv6 relay is allocated on request", a6.code == 200, a6.code)
        # (::1 is left out: it is this server's IPv6 relay address; see test_relay_to_relay.)
        for peer in ["::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "fd00::1", "fe80::1"]:
            m = c6.permission((peer, 9))
            check(f"CreatePermission to {peer} gets 403 (judged in canonical form)", m.code == 403, m.code)
        m = c6.permission(("127.0.0.1", 9))
        check("an IPv4 peer on an IPv6 relay gets 443", m.code == 443, m.code)
        # Quota: alice may hold two allocations.
        c2 = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
        c3 = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
        codes = (c2.allocate().code, c3.allocate().code)
        check("allocations per user are capped (486)", codes == (200, 486), codes)
        m = metrics(sb)
        check("denials are counted by rule",
              m.get('switchboard_turn_peer_denied_total{reason="loopback"}', 0) >= 2
              and m.get('switchboard_turn_peer_denied_total{reason="metadata"}', 0) >= 2
              and m.get('switchboard_turn_peer_denied_total{reason="private"}', 0) >= 5, m)
        for c in (c, c6, c2, c3):
            c.close()

    with Switchboard(binary, "--turn-unauth-rate", "5") as sb:
        c = sc.TurnClient(("127.0.0.1", sb.turn_port), "x", "y")
        c.sock.settimeout(0.2)
        answers = 0
        start = time.monotonic()
        for _ in range(30):
            if c.raw(sc.encode(sc.BINDING, [])) is not None:
                answers += 1
        seconds = time.monotonic() - start
        # 5 per second per source; the burst may straddle a second boundary.
        check("unauthenticated answers are rate-limited per source", 1 <= answers <= 5 * (int(seconds) + 2),
              (answers, seconds))
        check("rate-limited requests are counted",
              metrics(sb).get('switchboard_turn_refused_total{reason="rate_limited"}', 0) >= 1)
        c.close()


def two_relayed_clients(sb):
    """alice and bob, each with an allocation: (a, b, relayed_a, relayed_b)."""
    a = sc.TurnClient(("127.0.0.1", sb.turn_port), "alice", "secret")
    b = sc.TurnClient(("127.0.0.1", sb.turn_port), "bob", "pw")
    ma, mb = a.allocate(), b.allocate()
    return a, b, sc.parse_xor_addr(ma.get(sc.XOR_RELAYED), ma.tid), sc.parse_xor_addr(mb.get(sc.XOR_RELAYED), mb.tid)


def check_relay_to_relay(what, a, b, relayed_a, relayed_b, data):
    """Permissions both ways, then a's send indication must reach b from a's relayed address."""
    codes = (a.permission(relayed_b).code, b.permission(relayed_a).code)
    check(f"permissions for the other client's relayed address ({what})", codes == (200, 200), codes)
    a.send_indication(relayed_b, data)
    got = b.receive()
    peer = got and sc.parse_xor_addr(got.get(sc.XOR_PEER), got.tid)
    check(f"a send indication arrives as a data indication from the other relayed address ({what})",
          got is not None and got.get(sc.DATA) == data and peer == relayed_a, got and (got.get(sc.DATA), peer))


def test_relay_to_relay(binary, peer_port):
    # No --turn-allow-peer: two clients relaying through this server reach each other, though
    # their relayed addresses are the server's own (and loopback); nothing else there opens.
    with Switchboard(binary, "--turn-user", "alice:secret", "--turn-user", "bob:pw") as sb:
        rc, out = uclient(sb.turn_port, peer_port, "-y", "-c", "-u", "alice", "-w", "secret", clients=1)
        check("turnutils_uclient client to client through our relays, no allow-list",
              rc == 0 and relayed_all(out)[0], (rc, relayed_all(out)[1], out[-400:]))
        a, b, relayed_a, relayed_b = two_relayed_clients(sb)
        check_relay_to_relay("loopback", a, b, relayed_a, relayed_b, b"ping")
        # The permission covers 127.0.0.1, but a port that is no relay stays out of reach.
        listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(0.5)
        a.send_indication(listener.getsockname(), b"probe")
        try:
            leaked = listener.recvfrom(100)
        except socket.timeout:
            leaked = None
        check("another port at the relay address stays unreachable", leaked is None, leaked)
        m = metrics(sb)
        check("that attempt is counted as an own-address denial",
              m.get('switchboard_turn_peer_denied_total{reason="own_address"}', 0) >= 1, m)
        # Once b's allocation is gone its port is no longer reachable.
        b.request(sc.REFRESH, [(sc.LIFETIME, bytes(4))])
        before = metrics(sb).get('switchboard_turn_peer_denied_total{reason="own_address"}', 0)
        a.send_indication(relayed_b, b"late")
        time.sleep(0.3)
        after = metrics(sb).get('switchboard_turn_peer_denied_total{reason="own_address"}', 0)
        check("a relay that ended is not reachable any more", after == before + 1, (before, after))
        listener.close()
        a.close()
        b.close()

    # Behind a NAT (--turn-external-ip) clients are told the external address; between two of our
    # relays the packets take the local address, and arrive shown as the external one.
    with Switchboard(binary, "--turn-user", "alice:secret", "--turn-user", "bob:pw",
                     "--turn-external-ip", "203.0.113.9") as sb:
        a, b, relayed_a, relayed_b = two_relayed_clients(sb)
        check("relayed addresses carry the external IP", relayed_a[0] == relayed_b[0] == "203.0.113.9",
              (relayed_a, relayed_b))
        check_relay_to_relay("behind the external address", a, b, relayed_a, relayed_b, b"via nat")
        key = 'switchboard_turn_peer_denied_total{reason="own_address"}'
        before = metrics(sb).get(key, 0)
        a.send_indication(("203.0.113.9", 9), b"probe")
        time.sleep(0.3)
        check("the external address at a port that is no relay stays unreachable",
              metrics(sb).get(key, 0) == before + 1)
        a.close()
        b.close()


def test_tls(binary, peer_port):
    import tempfile
    d = tempfile.mkdtemp(prefix="sb-turn-tls-")
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    subprocess.run([os.path.join(root, "scripts", "make-cert.sh"), d], check=True, capture_output=True)
    with Switchboard(binary, "--turn-user", "alice:secret", "--turn-allow-peer", "127.0.0.0/8",
                     "--tls-cert", os.path.join(d, "cert.pem"), "--tls-key", os.path.join(d, "key.pem"),
                     "--turn-tls-listen", "127.0.0.1:0") as sb:
        check("the server reports its TURN over TLS port", sb.turn_tls_port, sb.turn_tls_port)
        rc, out = uclient(sb.turn_tls_port, peer_port, "-t", "-S", "-u", "alice", "-w", "secret")
        check("turnutils_uclient relays every packet over TLS", rc == 0 and relayed_all(out)[0], out[-400:])


async def hub_ice(sb, token=None):
    c = await HubClient(sb.ws_url).open()
    r = await c.connect(token=token)
    await c.close()
    return r


def test_ice_servers(binary, peer_port):
    """The hub hands each client STUN/TURN URLs and TURN REST credentials bound to its identity
    and token; they work with a TURN client nobody here wrote; rotating the secret keeps or ends
    them as asked."""
    with Switchboard(binary, "--turn-secret", "s1", "--turn-allow-peer", "127.0.0.0/8", "--token-secret", "jwt",
                     "--api-key", "test-key", "--turn-credential-ttl", "3600") as sb:
        r = asyncio.run(hub_ice(sb))
        ice = r.get("ice_servers") or []
        urls = [u for s in ice for u in s.get("urls", [])]
        turn = next((s for s in ice if "credential" in s), None)
        hp = f"127.0.0.1:{sb.turn_port}"
        check("connect reply lists this server's STUN and TURN URLs",
              f"stun:{hp}" in urls and f"turn:{hp}?transport=udp" in urls and f"turn:{hp}?transport=tcp" in urls, ice)
        user = turn["username"] if turn else ""
        expiry = int(user.split(":")[0]) if user else 0
        check("an anonymous client's TURN username is expiry:client id, within the configured TTL",
              user.endswith(":" + r["client"]) and 0 < expiry - time.time() <= 3600 + 5, (user, r["client"]))
        rc, out = uclient(sb.turn_port, peer_port, "-u", user, "-w", turn["credential"] if turn else "")
        check("the minted credential relays with turnutils_uclient", rc == 0 and relayed_all(out)[0], out[-300:])

        exp = int(time.time()) + 600
        tok = subprocess.check_output([binary, "token", "--secret", "jwt", "--user", "dana", "--ttl", "600"],
                                      text=True).strip()
        r2 = asyncio.run(hub_ice(sb, tok))
        t2 = next((s for s in r2.get("ice_servers", []) if "credential" in s), {})
        u2 = t2.get("username", "")
        check("an authenticated client's credential names its user and ends with its token",
              u2.endswith(":dana") and abs(int(u2.split(":")[0]) - exp) <= 5, (u2, exp))

        status, body = api(sb, "turn_secrets", {"secrets": ["s2", "s1"]})
        check("turn_secrets replaces the secrets", status == 200 and body.get("result", {}).get("secrets") == 2,
              (status, body))
        time.sleep(0.2)
        rc, out = uclient(sb.turn_port, peer_port, "-u", user, "-w", turn["credential"])
        check("credentials signed with the kept old secret still work", rc == 0 and relayed_all(out)[0], out[-300:])
        r3 = asyncio.run(hub_ice(sb))
        t3 = next((s for s in r3.get("ice_servers", []) if "credential" in s), {})
        rc, out = uclient(sb.turn_port, peer_port, "-u", t3.get("username", ""), "-w", t3.get("credential", ""))
        check("credentials signed with the new secret work", rc == 0 and relayed_all(out)[0], out[-300:])
        status, body = api(sb, "turn_secrets", {"secrets": ["s2"]})
        time.sleep(0.2)
        rc, out = uclient(sb.turn_port, peer_port, "-u", user, "-w", turn["credential"])
        check("dropping the old secret ends its credentials without a restart",
              status == 200 and not relayed_all(out)[0], out[-300:])
        status, body = api(sb, "turn_secrets", {"secrets": []})
        check("an empty secret list is refused", status == 400, (status, body))


def tcp_open(port):
    t = socket.create_connection(("127.0.0.1", port), timeout=5)
    return t


def tcp_closed(t):
    t.settimeout(0.5)
    try:
        return t.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def tcp_allocate(t, user, password):
    """Allocates over a TCP connection; returns the final answer code."""
    import hashlib
    key = None
    nonce = None
    realm = b"switchboard"
    for _ in range(2):
        attrs = [(sc.REQ_TRANSPORT, bytes([17, 0, 0, 0]))]
        if nonce:
            attrs += [(sc.USERNAME, user.encode()), (sc.REALM, realm), (sc.NONCE, nonce)]
            key = hashlib.md5(f"{user}:switchboard:{password}".encode()).digest()
        t.sendall(sc.encode(sc.ALLOCATE, attrs, key))
        head = t.recv(20)
        body = t.recv(int.from_bytes(head[2:4], "big"))
        m = sc.Message(head + body)
        if m.code == 401:
            nonce = m.get(sc.NONCE)
            continue
        return m.code
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchboard", required=True)
    a = ap.parse_args()
    peer_port = free_udp_port()
    peer = subprocess.Popen(["turnutils_peer", "-L", "127.0.0.1", "-p", str(peer_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # TCP connections that hold no allocation are closed after 30 s of silence; one with an
    # allocation stays. Opened first, checked last, so the wait costs no extra time.
    idle_sb = Switchboard(a.switchboard, "--turn-user", "alice:secret").start()
    started = time.monotonic()
    silent = tcp_open(idle_sb.turn_port)
    allocated = tcp_open(idle_sb.turn_port)
    check("an allocation over TCP", tcp_allocate(allocated, "alice", "secret") == 200)
    try:
        with Switchboard(a.switchboard, "--turn-user", "alice:secret", "--turn-secret", "rest-secret",
                         "--turn-allow-peer", "127.0.0.0/8") as sb:
            check("the server reports its STUN/TURN port", sb.turn_port, sb.turn_port)
            test_stun(sb)
            test_relay(sb, peer_port)
        test_defaults(a.switchboard, peer_port)
        test_relay_to_relay(a.switchboard, peer_port)
        test_ice_servers(a.switchboard, peer_port)
        test_tls(a.switchboard, peer_port)
        time.sleep(max(0.0, 33 - (time.monotonic() - started)))
        check("a silent TCP connection without an allocation is closed after 30 s", tcp_closed(silent))
        check("a TCP connection holding an allocation stays open", not tcp_closed(allocated))
    finally:
        peer.terminate()
        peer.wait()
        silent.close()
        allocated.close()
        idle_sb.stop()
    finish()


if __name__ == "__main__":
    main()
