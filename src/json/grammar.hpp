#pragma once
// Lexical pieces of RFC 8259 shared by the validator (reader.cpp) and the value readers
// (values.cpp). Internal to the json library: not part of its API.
#include "base/text.hpp"

namespace switchboard::json::grammar {

using Byte = unsigned char;

constexpr bool is_digit(Byte c) noexcept { return c >= '0' && c <= '9'; }

// Characters that can continue a number token. The validator takes the whole run and then
// checks it against the grammar, so "01", "1.", "1e+" and "-" are BadNumber, not Trailing.
constexpr bool is_number_char(Byte c) noexcept {
    return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// RFC 8259 §6:
//   number = [ minus ] int [ frac ] [ exp ]
//   int    = zero / ( digit1-9 *DIGIT )
//   frac   = decimal-point 1*DIGIT
//   exp    = e [ minus / plus ] 1*DIGIT
inline bool valid_number(const Byte* p, const Byte* end) noexcept {
    if (p < end && *p == '-') ++p;
    if (p == end || !is_digit(*p)) return false;
    if (*p == '0') {
        ++p;
    } else {
        while (p < end && is_digit(*p)) ++p;
    }
    if (p < end && *p == '.') {
        ++p;
        if (p == end || !is_digit(*p)) return false;
        while (p < end && is_digit(*p)) ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p < end && (*p == '+' || *p == '-')) ++p;
        if (p == end || !is_digit(*p)) return false;
        while (p < end && is_digit(*p)) ++p;
    }
    return p == end;
}

// Four hex digits of a \u escape; -1 if any is missing or not hex.
inline long hex4(const Byte* p, const Byte* end) noexcept {
    if (end - p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; ++i) {
        int d = hex_digit(p[i]);
        if (d < 0) return -1;
        v = (v << 4) | d;
    }
    return v;
}

} // namespace switchboard::json::grammar
