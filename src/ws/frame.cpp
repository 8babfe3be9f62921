#include "ws/frame.hpp"

#include <cstring>

namespace switchboard::ws {

bool is_valid_close_code(std::uint16_t c) noexcept {
    if (c >= 3000 && c <= 4999) return true; // registered (3000-3999) and private (4000-4999)
    switch (c) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008: case 1009: case 1010:
    case 1011: case 1012: case 1013: case 1014:
        return true;
    default:
        return false; // 1004-1006 and 1015 are reserved; the rest of 0-2999 is unassigned
    }
}

std::size_t header_size(std::uint64_t len, bool masked) noexcept {
    std::size_t n = len < 126 ? 2 : (len <= 0xFFFF ? 4 : 10);
    return masked ? n + 4 : n;
}

std::size_t encode_header(std::uint8_t* out, Opcode op, bool fin, bool rsv1, std::uint64_t len,
                          const std::uint8_t* mask) noexcept {
    out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(op));
    std::uint8_t m = mask ? 0x80 : 0;
    std::size_t n;
    if (len < 126) {
        out[1] = static_cast<std::uint8_t>(m | len);
        n = 2;
    } else if (len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = static_cast<std::uint8_t>(len >> 8);
        out[3] = static_cast<std::uint8_t>(len);
        n = 4;
    } else {
        out[1] = m | 127;
        for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        std::memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

unsigned apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t key[4], unsigned phase) noexcept {
    std::uint8_t k[4] = {key[phase & 3], key[(phase + 1) & 3], key[(phase + 2) & 3], key[(phase + 3) & 3]};
    std::size_t i = 0;
    if (n >= 16) {
        // 16 bytes a step through a vector type (GCC and clang both have the extension), so
        // unmasking a large payload costs about as much as a copy.
        typedef std::uint8_t V16 __attribute__((vector_size(16)));
        V16 kv;
        for (int j = 0; j < 16; ++j) kv[j] = k[j & 3];
        for (; i + 64 <= n; i += 64) {
            V16 a, b, c, d;
            std::memcpy(&a, data + i, 16);
            std::memcpy(&b, data + i + 16, 16);
            std::memcpy(&c, data + i + 32, 16);
            std::memcpy(&d, data + i + 48, 16);
            a ^= kv;
            b ^= kv;
            c ^= kv;
            d ^= kv;
            std::memcpy(data + i, &a, 16);
            std::memcpy(data + i + 16, &b, 16);
            std::memcpy(data + i + 32, &c, 16);
            std::memcpy(data + i + 48, &d, 16);
        }
        for (; i + 16 <= n; i += 16) {
            V16 a;
            std::memcpy(&a, data + i, 16);
            a ^= kv;
            std::memcpy(data + i, &a, 16);
        }
    }
    for (; i < n; ++i) data[i] ^= k[i & 3];
    return static_cast<unsigned>((phase + n) & 3);
}

} // namespace switchboard::ws
