#!/usr/bin/env python3
"""Our native peer to our native peer across two NATs, in network namespaces this test makes
(as root): each host sits behind its own router that masquerades (nftables), the routers meet
on a "public" network where `switchboard serve` answers STUN. The hosts' own addresses are not
routable from each other, so the data channel can only open through server-reflexive
candidates (hole punching through both NATs). Checks: both sides learn a server-reflexive
candidate with their router's public address, the channel opens, messages echo, and bytes sent
one way hash the same on the other side.
Then the routers turn symmetric (a random public port for every destination, as carrier-grade
NATs do), so hole punching cannot work: the peers ask the server for TURN allocations and the
channel opens through a relayed candidate, carrying 4 MiB whole."""
import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, finish  # noqa: E402

TAG = f"sb{os.getpid() % 100000}"
NS = {name: f"{TAG}-{name}" for name in ("pub", "nata", "natb", "a", "b")}


def sh(*args, ns=None):
    cmd = (["ip", "netns", "exec", NS[ns]] if ns else []) + list(args)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def veth(left, right, lname, rname, laddr, raddr):
    sh("ip", "link", "add", lname, "netns", NS[left], "type", "veth", "peer", "name", rname, "netns", NS[right])
    sh("ip", "addr", "add", laddr, "dev", lname, ns=left)
    sh("ip", "addr", "add", raddr, "dev", rname, ns=right)
    sh("ip", "link", "set", lname, "up", ns=left)
    sh("ip", "link", "set", rname, "up", ns=right)


def build_network():
    for n in NS.values():
        sh("ip", "netns", "add", n)
    for n in NS:
        sh("ip", "link", "set", "lo", "up", ns=n)
    # public: 203.0.113.0/24 towards NAT A, 198.51.100.0/24 towards NAT B; it routes between them.
    veth("pub", "nata", "pa", "ap", "203.0.113.1/24", "203.0.113.2/24")
    veth("pub", "natb", "pb", "bp", "198.51.100.1/24", "198.51.100.2/24")
    veth("nata", "a", "ah", "ha", "10.1.0.1/24", "10.1.0.2/24")
    veth("natb", "b", "bh", "hb", "10.2.0.1/24", "10.2.0.2/24")
    for n in ("pub", "nata", "natb"):
        sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", ns=n)
    sh("ip", "route", "add", "default", "via", "203.0.113.1", ns="nata")
    sh("ip", "route", "add", "default", "via", "198.51.100.1", ns="natb")
    sh("ip", "route", "add", "default", "via", "10.1.0.1", ns="a")
    sh("ip", "route", "add", "default", "via", "10.2.0.1", ns="b")
    for n, out in (("nata", "ap"), ("natb", "bp")):
        sh("nft", "add", "table", "ip", "nat", ns=n)
        sh("nft", "add", "chain", "ip", "nat", "post", "{ type nat hook postrouting priority 100; }", ns=n)
        sh("nft", "add", "rule", "ip", "nat", "post", "oifname", out, "masquerade", ns=n)
        # Like a home router: nothing listens on its public side. Dropping there keeps an
        # unsolicited packet from leaving a connection-tracking entry that would clash with the
        # host's own outgoing flow (and make the masquerade pick another port).
        sh("nft", "add", "table", "inet", "filter", ns=n)
        sh("nft", "add", "chain", "inet", "filter", "input", "{ type filter hook input priority 0; }", ns=n)
        sh("nft", "add", "rule", "inet", "filter", "input", "iifname", out, "meta", "l4proto", "udp", "drop", ns=n)


def teardown():
    for n in NS.values():
        subprocess.run(["ip", "netns", "del", n], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Peer:
    def __init__(self, binary, ns, role, bind, turn=None):
        extra = ["--turn", turn] if turn else []
        self.proc = subprocess.Popen(["ip", "netns", "exec", NS[ns], binary, "peer", f"--{role}", "--bind", bind,
                                      "--stun", "203.0.113.1:3478"] + extra,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            self.seen.append(m)
            self.lines.put(m)

    def send(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def relay(a, b, until, timeout):
    """Moves signalling between the peers until until() or the timeout."""
    end = time.time() + timeout
    while time.time() < end and not until():
        for src, dst in ((a, b), (b, a)):
            try:
                while True:
                    m = src.lines.get_nowait()
                    if "type" in m or "candidate" in m:
                        dst.send({k: v for k, v in m.items() if k != "ms"})
            except queue.Empty:
                pass
        time.sleep(0.02)
    return until()


def both_open(a, b, timeout):
    """Relays signalling until the channel is open on both sides."""
    return relay(a, b, lambda: any(m.get("event") == "open" for m in a.seen) and
                 any(m.get("event") == "open" for m in b.seen), timeout)


def four_mib_arrive(a, b, timeout):
    """Sends 4 MiB from a to b; true once b has counted every byte."""
    a.send({"send_bytes": 4 << 20})

    def digest_done():
        b.send({"digest": True})
        time.sleep(0.1)
        return any(m.get("event") == "digest" and m.get("bytes") == 4 << 20 for m in b.seen)

    return relay(a, b, digest_done, timeout), [m for m in b.seen if m.get("event") == "digest"][-1:]


def symmetric_nats_need_the_relay(binary):
    for n, out in (("nata", "ap"), ("natb", "bp")):
        sh("nft", "flush", "chain", "ip", "nat", "post", ns=n)
        sh("nft", "add", "rule", "ip", "nat", "post", "oifname", out, "masquerade", "random", ns=n)
    a = Peer(binary, "a", "offer", "10.1.0.2", turn="nat:test@203.0.113.1:3478")
    b = Peer(binary, "b", "answer", "10.2.0.2", turn="nat:test@203.0.113.1:3478")
    try:
        ok = both_open(a, b, 40)
        relayed = [m["candidate"] for m in a.seen + b.seen if "typ relay" in m.get("candidate", "")]
        check("symmetric NATs: both sides get a relayed candidate from our TURN",
              any(" 203.0.113.1 " in c for c in relayed) and len(relayed) >= 2, relayed)
        check("symmetric NATs: the data channel opens", ok,
              [m for m in a.seen + b.seen if m.get("event") in ("state", "error")])
        routes = [m.get("route") for m in a.seen + b.seen if m.get("event") == "state" and m.get("state") == "connected"]
        check("... through the relay (a relayed candidate on the selected path)", "relay" in routes, routes)
        if ok:
            check("4 MiB arrive whole through the relay", *four_mib_arrive(a, b, 30))
    finally:
        a.stop()
        b.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchboard", required=True)
    binary = os.path.abspath(ap.parse_args().switchboard)
    if os.geteuid() != 0:
        print("FAIL this test makes network namespaces and needs root")
        sys.exit(1)
    server = peers = None
    try:
        build_network()
        server = subprocess.Popen(["ip", "netns", "exec", NS["pub"], binary, "serve", "--listen", "203.0.113.1:0",
                                   "--turn-listen", "203.0.113.1:3478", "--turn-user", "nat:test",
                                   # The test network uses documentation ranges, which TURN refuses to relay to by default.
                                   "--turn-allow-peer", "203.0.113.0/24", "--turn-allow-peer", "198.51.100.0/24",
                                   "--data", f"/tmp/{TAG}-data"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        a = Peer(binary, "a", "offer", "10.1.0.2")
        b = Peer(binary, "b", "answer", "10.2.0.2")
        peers = (a, b)
        ok = both_open(a, b, 30)
        srflx_a = [m["candidate"] for m in a.seen if "typ srflx" in m.get("candidate", "")]
        srflx_b = [m["candidate"] for m in b.seen if "typ srflx" in m.get("candidate", "")]
        check("each side learns its NAT's public address from our STUN",
              any(" 203.0.113.2 " in c for c in srflx_a) and any(" 198.51.100.2 " in c for c in srflx_b),
              (srflx_a, srflx_b))
        check("the data channel opens through both NATs", ok,
              [m for m in a.seen + b.seen if m.get("event") in ("state", "error") or m.get("candidate")])
        if ok:
            check("4 MiB sent one way arrive whole across the NATs", *four_mib_arrive(a, b, 20))
        for p in peers:
            p.stop()
        symmetric_nats_need_the_relay(binary)
    finally:
        for p in peers or ():
            p.stop()
        if server:
            server.kill()
            server.wait()
        if not os.environ.get("SB_KEEP_NETNS"):
            teardown()
    finish()


if __name__ == "__main__":
    main()
