"""A small STUN/TURN client for tests (RFC 8489 / RFC 8656 over UDP): just enough to allocate with
long-term credentials and ask for permissions and channels, so a test can see the exact answer
codes. The real interoperability checks use coturn's turnutils_* clients."""
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import zlib

COOKIE = 0x2112A442
ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND, BINDING = 0x003, 0x004, 0x008, 0x009, 0x001
USERNAME, MI, ERROR_CODE, LIFETIME, XOR_PEER, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x000D, 0x0012, 0x0014, 0x0015
XOR_RELAYED, REQ_FAMILY, REQ_TRANSPORT, XOR_MAPPED, SOFTWARE, FINGERPRINT = 0x0016, 0x0017, 0x0019, 0x0020, 0x8022, 0x8028
CHANNEL_NUMBER, DATA = 0x000C, 0x0013
SEND, DATA_INDICATION = 0x006, 0x007
REQUEST, INDICATION = 0, 1


def msg_type(method, cls):
    return (method & 0xF) | ((method & 0x70) << 1) | ((method & 0xF80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7)


def xor_addr(addr, tid):
    ip = ipaddress.ip_address(addr[0])
    port = addr[1] ^ (COOKIE >> 16)
    key = struct.pack(">I", COOKIE) + tid
    raw = ip.packed
    x = bytes(a ^ b for a, b in zip(raw, key))
    return struct.pack(">BBH", 0, 1 if ip.version == 4 else 2, port) + x


def parse_xor_addr(v, tid):
    fam, port = v[1], struct.unpack(">H", v[2:4])[0] ^ (COOKIE >> 16)
    key = struct.pack(">I", COOKIE) + tid
    raw = bytes(a ^ b for a, b in zip(v[4:], key))
    return str(ipaddress.ip_address(raw)), port


class Message:
    def __init__(self, data):
        self.raw = data
        t, length, cookie = struct.unpack(">HHI", data[:8])
        self.type, self.tid = t, data[8:20]
        self.cls = ((t >> 4) & 1) | ((t >> 7) & 2)
        self.attrs = []
        off = 20
        while off + 4 <= 20 + length:
            at, al = struct.unpack(">HH", data[off:off + 4])
            self.attrs.append((at, data[off + 4:off + 4 + al]))
            off += 4 + ((al + 3) & ~3)

    def get(self, t):
        for at, v in self.attrs:
            if at == t:
                return v
        return None

    @property
    def code(self):
        if self.cls == 2:
            return 200
        e = self.get(ERROR_CODE)
        return e[2] * 100 + e[3] if e else None


def encode(method, attrs, key=None, fingerprint=False, tid=None, cls=REQUEST):
    tid = tid or os.urandom(12)
    body = b""
    for at, v in attrs:
        body += struct.pack(">HH", at, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    t = msg_type(method, cls)
    if key is not None:
        head = struct.pack(">HHI", t, len(body) + 24, COOKIE) + tid
        body += struct.pack(">HH", MI, 20) + hmac.new(key, head + body, hashlib.sha1).digest()
    if fingerprint:
        head = struct.pack(">HHI", t, len(body) + 8, COOKIE) + tid
        body += struct.pack(">HHI", FINGERPRINT, 4, (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF)
    return struct.pack(">HHI", t, len(body), COOKIE) + tid + body


class TurnClient:
    def __init__(self, server, user, password, realm="switchboard"):
        self.server = server
        self.user, self.password, self.realm = user, password, realm
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2)
        self.sock.bind(("127.0.0.1", 0))
        self.nonce = None
        self.key = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest()

    def close(self):
        self.sock.close()

    def raw(self, data):
        """Sends bytes; returns (answer bytes or None, answer size)."""
        self.sock.sendto(data, self.server)
        try:
            return self.sock.recvfrom(65535)[0]
        except socket.timeout:
            return None

    def request(self, method, attrs, auth=True):
        """One request; on 401/438 retries once with the fresh nonce. Returns the answer."""
        for _ in range(2):
            full = list(attrs)
            if auth and self.nonce:
                full += [(USERNAME, self.user.encode()), (REALM, self.realm.encode()), (NONCE, self.nonce)]
            data = encode(method, full, self.key if auth and self.nonce else None)
            answer = self.raw(data)
            if answer is None:
                return None
            m = Message(answer)
            if m.code in (401, 438) and auth and m.get(NONCE) and (self.nonce is None or m.code == 438):
                self.nonce = m.get(NONCE)
                continue
            return m
        return m

    def allocate(self, family=None):
        attrs = [(REQ_TRANSPORT, bytes([17, 0, 0, 0]))]
        if family == 6:
            attrs.append((REQ_FAMILY, bytes([2, 0, 0, 0])))
        return self.request(ALLOCATE, attrs)

    def send_indication(self, peer, data):
        tid = os.urandom(12)
        self.sock.sendto(encode(SEND, [(XOR_PEER, xor_addr(peer, tid)), (DATA, data)], tid=tid, cls=INDICATION),
                         self.server)

    def receive(self, timeout=1.0):
        """The next datagram from the server as a Message, or None."""
        self.sock.settimeout(timeout)
        try:
            return Message(self.sock.recvfrom(65535)[0])
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(2)

    def permission(self, peer):
        tid = os.urandom(12)
        attrs = [(XOR_PEER, xor_addr(peer, tid))]
        for _ in range(2):
            full = attrs + [(USERNAME, self.user.encode()), (REALM, self.realm.encode()), (NONCE, self.nonce)]
            m = Message(self.raw(encode(CREATE_PERMISSION, full, self.key, tid=tid)))
            if m.code == 438:
                self.nonce = m.get(NONCE)
                continue
            return m
        return m
