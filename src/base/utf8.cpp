#include "base/utf8.hpp"

#include <cstring>

namespace switchboard {

bool Utf8Validator::feed(std::span<const std::uint8_t> bytes) noexcept {
    const std::uint8_t* p = bytes.data();
    const std::uint8_t* end = p + bytes.size();
    std::uint8_t need = need_, lo = lo_, hi = hi_;
    while (p < end) {
        if (need == 0) {
            // ASCII runs dominate real traffic: check eight bytes at a time.
            while (end - p >= 8) {
                std::uint64_t w;
                std::memcpy(&w, p, 8);
                if (w & 0x8080808080808080ull) break;
                p += 8;
            }
            if (p == end) break;
            std::uint8_t b = *p++;
            if (b < 0x80) continue;
            if (b >= 0xC2 && b <= 0xDF) { need = 1; lo = 0x80; hi = 0xBF; }
            else if (b == 0xE0) { need = 2; lo = 0xA0; hi = 0xBF; }           // no overlongs
            else if (b == 0xED) { need = 2; lo = 0x80; hi = 0x9F; }           // no surrogates
            else if (b >= 0xE1 && b <= 0xEF) { need = 2; lo = 0x80; hi = 0xBF; }
            else if (b == 0xF0) { need = 3; lo = 0x90; hi = 0xBF; }           // no overlongs
            else if (b >= 0xF1 && b <= 0xF3) { need = 3; lo = 0x80; hi = 0xBF; }
            else if (b == 0xF4) { need = 3; lo = 0x80; hi = 0x8F; }           // <= U+10FFFF
            else { need_ = need; return false; }
        } else {
            std::uint8_t b = *p++;
            if (b < lo || b > hi) { need_ = need; return false; }
            --need;
            lo = 0x80;
            hi = 0xBF;
        }
    }
    need_ = need;
    lo_ = lo;
    hi_ = hi;
    return true;
}

bool is_valid_utf8(std::span<const std::uint8_t> bytes) noexcept {
    Utf8Validator v;
    return v.feed(bytes) && v.complete();
}

} // namespace switchboard
