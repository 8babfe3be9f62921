#pragma once
// WebSocket framing for a client (RFC 6455 §5.2), plus the fields wsload embeds in payloads.
// Header-only on purpose: these run once per message and must inline into the worker's loop.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-------+-+-------------+-------------------------------+
// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
// | |1|2|3|       |K|             |                               |
// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
// |     Extended payload length continued, if payload len == 127  |
// + - - - - - - - - - - - - - - - +-------------------------------+
// |                               |Masking-key, if MASK set to 1  |
// +-------------------------------+-------------------------------+
// | Masking-key (continued)       |          Payload Data         |
// +-------------------------------- - - - - - - - - - - - - - - - +
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace wsload {

inline constexpr uint8_t kOpContinuation = 0x0;
inline constexpr uint8_t kOpText = 0x1;
inline constexpr uint8_t kOpBinary = 0x2;
inline constexpr uint8_t kOpClose = 0x8;
inline constexpr uint8_t kOpPing = 0x9;
inline constexpr uint8_t kOpPong = 0xA;

inline size_t client_header_len(uint64_t len) {
    return 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + 4;
}

// Writes a FIN client frame header with the mask key; returns its length.
inline size_t write_client_header(uint8_t* out, uint8_t opcode, uint64_t len,
                                  const std::array<uint8_t, 4>& mask) {
    size_t n = 0;
    out[n++] = static_cast<uint8_t>(0x80 | opcode);
    if (len < 126) {
        out[n++] = static_cast<uint8_t>(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[n++] = 0x80 | 126;
        out[n++] = static_cast<uint8_t>(len >> 8);
        out[n++] = static_cast<uint8_t>(len);
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; --i) out[n++] = static_cast<uint8_t>(len >> (i * 8));
    }
    std::memcpy(out + n, mask.data(), 4);
    return n + 4;
}

// RFC 6455 §5.3 masking, 8 bytes at a time. `p` must start at payload offset 0 so that the
// 8-byte mask word (the 4-byte key twice) lines up.
inline void mask_payload(uint8_t* p, size_t n, uint64_t mask64) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= mask64;
        std::memcpy(p + i, &w, 8);
    }
    uint8_t m[8];
    std::memcpy(m, &mask64, 8);
    for (; i < n; ++i) p[i] ^= m[i & 7];
}

// Sequence numbers and timestamps ride in the first payload bytes: 8 raw bytes in binary mode
// (host order: only wsload reads them back), 16 lowercase hex digits in text mode so the payload
// stays valid UTF-8. `at` must sit at a payload offset that is a multiple of 8.
inline void put_field_masked(uint8_t* at, uint64_t v, bool text, uint64_t mask64) {
    if (!text) {
        const uint64_t w = v ^ mask64;
        std::memcpy(at, &w, 8);
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    uint8_t hex[16];
    for (int i = 0; i < 16; ++i) hex[15 - i] = static_cast<uint8_t>(kHex[(v >> (4 * i)) & 15]);
    uint64_t w0, w1;
    std::memcpy(&w0, hex, 8);
    std::memcpy(&w1, hex + 8, 8);
    w0 ^= mask64;
    w1 ^= mask64;
    std::memcpy(at, &w0, 8);
    std::memcpy(at + 8, &w1, 8);
}

inline bool get_field(const uint8_t* at, bool text, uint64_t& v) {
    if (!text) {
        std::memcpy(&v, at, 8);
        return true;
    }
    v = 0;
    for (int i = 0; i < 16; ++i) {
        const uint8_t c = at[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = (v << 4) | d;
    }
    return true;
}

} // namespace wsload
