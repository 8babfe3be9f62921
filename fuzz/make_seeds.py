#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (small, hand-made inputs that reach the
main paths of each target). Re-run after changing a target's input layout; crash reproducers
added by hand to the corpus directories are left alone."""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])


def frame(op, payload=b"", fin=True, rsv1=False, masked=True):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        hdr = bytes([b0, m | n])
    elif n <= 0xFFFF:
        hdr = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not masked:
        return hdr + payload
    return hdr + KEY + bytes(c ^ KEY[i % 4] for i, c in enumerate(payload))


def raw_deflate(data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def parser_seed(flags, sizes, stream):
    return bytes([flags, len(sizes)]) + bytes(sizes) + stream


# ws_parser_fuzz: [flags][n][n split sizes][client frames]
T = "ws_parser_fuzz"
write(T, "hello", parser_seed(0, [], frame(1, b"Hello")))
write(T, "fragmented_with_ping", parser_seed(0, [1, 5, 2], frame(1, b"Hel", fin=False) + frame(9, b"ping")
                                             + frame(0, b"lo", fin=True)))
write(T, "close_with_reason", parser_seed(0, [2], frame(2, b"\x00\x01\x02") + frame(8, struct.pack(">H", 1000) + b"bye")))
write(T, "compressed_rsv1", parser_seed(1, [4], frame(1, raw_deflate(b"Hello Hello Hello"), rsv1=True)
                                        + frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")))
write(T, "len16_split", parser_seed(6, [3, 100], frame(2, bytes(range(200))) + frame(10, b"")))
write(T, "unmasked_error", parser_seed(0, [], frame(1, b"x", masked=False)))
write(T, "utf8_across_fragments", parser_seed(0, [7], frame(1, b"ok \xf0\x9f", fin=False) + frame(0, b"\x98\x80", fin=True)
                                              + frame(1, b"bad \xed\xa0\x80")))
write(T, "too_big", parser_seed(4, [], frame(2, b"x" * 130, fin=False) + frame(0, b"y")))

# http_request_fuzz: raw request bytes
T = "http_request_fuzz"
write(T, "get", b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n")
write(T, "upgrade", b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
write(T, "post_pipelined", b"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n")
write(T, "http10_keepalive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
write(T, "bad_header", b"GET / HTTP/1.1\r\nHost : h\r\nX: a\r\n folded\r\n\r\n")
write(T, "chunked", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
write(T, "conflicting_length", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")

# ws_inflate_fuzz: [config][compressed message]; config = bits-8 | reset<<3 | limit<<4
T = "ws_inflate_fuzz"
write(T, "rfc_hello", bytes([0x87 | 0x08]) + bytes([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]))
write(T, "rfc_stored", bytes([0x47]) + bytes([0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]))
write(T, "rfc_two_blocks", bytes([0x2F]) + bytes([0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00]))
write(T, "rfc_bfinal", bytes([0x37]) + bytes([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]))
write(T, "text", bytes([0xF7]) + raw_deflate(b"the quick brown fox jumps over the lazy dog " * 8))
write(T, "bomb", bytes([0x1F]) + raw_deflate(b"\x00" * 60000))
write(T, "empty", bytes([0x0F]) + b"\x00")

# ws_handshake_fuzz: a request head, or just an extensions header value
T = "ws_handshake_fuzz"
write(T, "rfc_upgrade", b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://example.com\r\n"
                        b"Sec-WebSocket-Protocol: superchat, chat\r\nSec-WebSocket-Version: 13\r\n"
                        b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
write(T, "bad_version", b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                        b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 8\r\n\r\n")
write(T, "offer_all_params", b"permessage-deflate; client_max_window_bits=12; server_max_window_bits=10; "
                             b"client_no_context_takeover; server_no_context_takeover")
write(T, "offers_list", b"x-webkit-deflate-frame, permessage-deflate; bogus, permessage-deflate; "
                        b"server_max_window_bits=\"9\", permessage-deflate")

# stun_message_fuzz: one datagram (STUN message or ChannelData)
T = "stun_message_fuzz"
import hashlib
import hmac as hmac_mod


def stun(mtype, tid, attrs, mi_key=None, fingerprint=False):
    body = b""
    for at, v in attrs:
        body += struct.pack(">HH", at, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    if mi_key is not None:
        head = struct.pack(">HHI", mtype, len(body) + 24, 0x2112A442) + tid
        body += struct.pack(">HH", 0x0008, 20) + hmac_mod.new(mi_key, head + body, hashlib.sha1).digest()
    if fingerprint:
        head = struct.pack(">HHI", mtype, len(body) + 8, 0x2112A442) + tid
        body += struct.pack(">HHI", 0x8028, 4, (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF)
    return struct.pack(">HHI", mtype, len(body), 0x2112A442) + tid + body


def xor_v4(ip, port):
    cookie = struct.pack(">I", 0x2112A442)
    return struct.pack(">BBH", 0, 1, port ^ 0x2112) + bytes(a ^ b for a, b in zip(ip, cookie))


TID = bytes(range(12))
UDP = bytes([17, 0, 0, 0])
write(T, "binding", stun(0x0001, TID, [], fingerprint=True))
write(T, "allocate_noauth", stun(0x0003, TID, [(0x0019, UDP)], fingerprint=True))
write(T, "allocate_auth", stun(0x0003, TID, [(0x0019, UDP), (0x0006, b"alice"), (0x0014, b"switchboard"),
                                             (0x0015, b"nonce123")], mi_key=b"k" * 16, fingerprint=True))
write(T, "create_permission", stun(0x0008, TID, [(0x0012, xor_v4(bytes([127, 0, 0, 1]), 5000)),
                                                 (0x0012, xor_v4(bytes([10, 0, 0, 1]), 1))], mi_key=b"k" * 16))
write(T, "send_indication", stun(0x0016, TID, [(0x0012, xor_v4(bytes([127, 0, 0, 1]), 5000)), (0x0013, b"hello")]))
write(T, "error", stun(0x0113, TID, [(0x0009, bytes([0, 0, 4, 1]) + b"Unauthorized"), (0x000A, b"\x00\x31\x00\x32")]))
write(T, "channel_data", struct.pack(">HH", 0x4001, 5) + b"hello\0\0\0")
write(T, "xor_v6", stun(0x0101, TID, [(0x0020, struct.pack(">BBH", 0, 2, 0x1234) + bytes(16))]))

# turn_server_fuzz: records [kind | who << 2][length: 2][bytes]; kind 1 re-signs the message.
T = "turn_server_fuzz"


def rec(kind, body, who=0):
    return bytes([kind | (who << 2)]) + struct.pack(">H", len(body)) + body


ALLOC = stun(0x0003, TID, [(0x0019, UDP)])
PERM = stun(0x0008, TID, [(0x0012, xor_v4(bytes([127, 0, 0, 1]), 5000))])
BIND = stun(0x0009, TID, [(0x000C, b"\x40\x01\x00\x00"), (0x0012, xor_v4(bytes([127, 0, 0, 1]), 5000))])
SEND = stun(0x0016, TID, [(0x0012, xor_v4(bytes([127, 0, 0, 1]), 5000)), (0x0013, b"hello")])
REFRESH0 = stun(0x0004, TID, [(0x000D, bytes(4))])
EVEN = stun(0x0003, TID, [(0x0019, UDP), (0x0018, b"\x80\x00\x00\x00")])
write(T, "allocate_relay", rec(0, ALLOC) + rec(1, ALLOC) + rec(1, PERM) + rec(0, SEND) + rec(2, b"from peer")
      + rec(1, BIND) + rec(0, struct.pack(">HH", 0x4001, 3) + b"abc\0") + rec(2, b"via channel"))
write(T, "refresh_zero", rec(0, ALLOC) + rec(1, ALLOC) + rec(1, REFRESH0) + rec(1, ALLOC))
write(T, "expiry", rec(0, ALLOC) + rec(1, ALLOC) + rec(1, PERM) + bytes([3, 0x01, 0x2D]) + rec(2, b"late")
      + bytes([3, 0x02, 0x58]) + rec(1, PERM))
write(T, "reservation", rec(0, EVEN) + rec(1, EVEN) + rec(0, ALLOC, 1))
write(T, "tcp_client", rec(0, ALLOC, 4) + rec(1, ALLOC, 4) + rec(1, BIND, 4) + rec(2, b"x" * 5))

# client_hub_fuzz: [flags][n][n split sizes][server bytes]; flags bit 0: after a valid 101
T = "client_hub_fuzz"
write(T, "reply_and_push", bytes([1, 1, 7]) + frame(1, b'{"id":1,"result":{"client":"c"}}\n{"push":"signal","room":"r"}', masked=False))
write(T, "ping_then_close", bytes([1, 0]) + frame(9, b"hi", masked=False) + frame(8, struct.pack(">H", 4001) + b"bye", masked=False))
write(T, "refused_upgrade", bytes([0, 0]) + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
write(T, "masked_server_frame", bytes([1, 0]) + frame(1, b"{}", masked=True))
