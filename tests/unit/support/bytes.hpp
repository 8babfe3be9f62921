#pragma once
// Small helpers shared by the unit tests: byte vectors from strings and WebSocket frames as a
// client would send them (masked) or a server does (unmasked).
#include "ws/frame.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(std::span<const std::uint8_t> b) {
    return std::string(b.begin(), b.end());
}

inline void append(Bytes &out, const Bytes &more) {
    out.insert(out.end(), more.begin(), more.end());
}

inline constexpr std::array<std::uint8_t, 4> kMask = {0x37, 0xfa, 0x21, 0x3d}; // RFC 6455 §5.7

/// A masked client frame (RFC 6455 §5.2) with the minimal length encoding.
inline Bytes client_frame(ws::Opcode op, std::span<const std::uint8_t> payload, bool fin = true,
                          bool rsv1 = false, std::array<std::uint8_t, 4> key = kMask) {
    Bytes out(ws::kMaxHeaderSize + payload.size());
    std::size_t h = ws::encode_header(out.data(), op, fin, rsv1, payload.size(), key.data());
    for (std::size_t i = 0; i < payload.size(); ++i)
        out[h + i] = static_cast<std::uint8_t>(payload[i] ^ key[i & 3]);
    out.resize(h + payload.size());
    return out;
}

inline Bytes client_frame(ws::Opcode op, std::string_view payload, bool fin = true,
                          bool rsv1 = false) {
    Bytes p = to_bytes(payload);
    return client_frame(op, p, fin, rsv1);
}

inline Bytes close_payload(std::uint16_t code, std::string_view reason = {}) {
    Bytes p = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    append(p, to_bytes(reason));
    return p;
}

/// A frame as a server sends it, decoded (no masking).
struct ServerFrame {
    bool fin = false;
    bool rsv1 = false;
    ws::Opcode op = ws::Opcode::Continuation;
    Bytes payload;
};

/// Decodes back-to-back unmasked frames; `ok` is false if the bytes end inside a frame or a
/// frame is masked.
inline std::vector<ServerFrame> decode_server_frames(std::span<const std::uint8_t> in,
                                                     bool *ok = nullptr) {
    std::vector<ServerFrame> out;
    std::size_t i = 0;
    bool good = true;
    while (i < in.size()) {
        if (in.size() - i < 2) {
            good = false;
            break;
        }
        ServerFrame f;
        f.fin = in[i] & 0x80;
        f.rsv1 = in[i] & 0x40;
        f.op = static_cast<ws::Opcode>(in[i] & 0x0F);
        if (in[i + 1] & 0x80) {
            good = false;
            break;
        }
        std::uint64_t len = in[i + 1] & 0x7F;
        std::size_t p = i + 2;
        std::size_t ext = len == 126 ? 2 : (len == 127 ? 8 : 0);
        if (in.size() - p < ext) {
            good = false;
            break;
        }
        if (ext) {
            len = 0;
            for (std::size_t k = 0; k < ext; ++k)
                len = (len << 8) | in[p + k];
            p += ext;
        }
        if (in.size() - p < len) {
            good = false;
            break;
        }
        f.payload.assign(in.begin() + static_cast<std::ptrdiff_t>(p),
                         in.begin() + static_cast<std::ptrdiff_t>(p + len));
        out.push_back(std::move(f));
        i = p + static_cast<std::size_t>(len);
    }
    if (ok)
        *ok = good;
    return out;
}

} // namespace switchboard::test
