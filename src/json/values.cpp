// The value readers: lazy reads of text that parse() (reader.cpp) has already validated.
#include "json/reader.hpp"

#include "json/grammar.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

namespace switchboard::json {

namespace {

using grammar::Byte;
using grammar::hex4;
using grammar::is_digit;
using grammar::is_number_char;
using grammar::valid_number;

// Decodes the escape at s[i] (a backslash) into a code point and moves i past it. False on a
// malformed escape or a lone surrogate (only possible for text parse() did not accept).
bool decode_escape(std::string_view s, std::size_t& i, char32_t& cp) noexcept {
    if (s.size() - i < 2) return false;
    const char c = s[i + 1];
    i += 2;
    switch (c) {
    case '"': cp = '"'; return true;
    case '\\': cp = '\\'; return true;
    case '/': cp = '/'; return true;
    case 'b': cp = '\b'; return true;
    case 'f': cp = '\f'; return true;
    case 'n': cp = '\n'; return true;
    case 'r': cp = '\r'; return true;
    case 't': cp = '\t'; return true;
    case 'u': break;
    default: return false;
    }
    const auto* p = reinterpret_cast<const Byte*>(s.data()) + i;
    const auto* end = reinterpret_cast<const Byte*>(s.data()) + s.size();
    long hi = hex4(p, end);
    if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF)) return false;
    i += 4;
    if (hi < 0xD800 || hi > 0xDBFF) {
        cp = static_cast<char32_t>(hi);
        return true;
    }
    if (s.size() - i < 6 || s[i] != '\\' || s[i + 1] != 'u') return false;
    long lo = hex4(p + 6, end);
    if (lo < 0xDC00 || lo > 0xDFFF) return false;
    i += 6;
    cp = static_cast<char32_t>(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
    return true;
}

// cp is a Unicode scalar value (decode_escape never yields a surrogate). Returns the length.
std::size_t encode_utf8(char32_t cp, char* out) noexcept {
    if (cp < 0x80) {
        out[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = static_cast<char>(0xC0 | (cp >> 6));
        out[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = static_cast<char>(0xE0 | (cp >> 12));
        out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

// The text between the quotes of a string Value; false if `v` is not one.
bool string_body(const Value& v, std::string_view& body) noexcept {
    if (v.kind != Kind::String || v.raw.size() < 2 || v.raw.front() != '"' || v.raw.back() != '"')
        return false;
    body = v.raw.substr(1, v.raw.size() - 2);
    return true;
}

// from_chars reports both overflow and underflow as result_out_of_range. Which one it was
// follows from the decimal exponent of the first significant digit: overflow needs about +308,
// underflow about -308, so its sign decides.
bool magnitude_is_large(std::string_view raw) noexcept {
    std::size_t i = raw.empty() || raw[0] != '-' ? 0 : 1;
    long long e10 = 0; // position of the first nonzero digit relative to the units digit
    long long int_digits = 0;
    bool seen = false;
    long long frac_pos = 0;
    for (; i < raw.size() && is_digit(static_cast<Byte>(raw[i])); ++i) {
        if (!seen && raw[i] != '0') seen = true;
        if (seen) ++int_digits;
    }
    if (seen) e10 = int_digits - 1;
    if (i < raw.size() && raw[i] == '.') {
        for (++i; i < raw.size() && is_digit(static_cast<Byte>(raw[i])); ++i) {
            --frac_pos;
            if (!seen && raw[i] != '0') {
                seen = true;
                e10 = frac_pos;
            }
        }
    }
    long long exp = 0;
    if (i < raw.size() && (raw[i] == 'e' || raw[i] == 'E')) {
        ++i;
        bool neg = false;
        if (i < raw.size() && (raw[i] == '+' || raw[i] == '-')) neg = raw[i++] == '-';
        for (; i < raw.size() && is_digit(static_cast<Byte>(raw[i])); ++i)
            if (exp < 1000000000) exp = exp * 10 + (raw[i] - '0'); // saturates well past ±308
        if (neg) exp = -exp;
    }
    return e10 + exp >= 0;
}

} // namespace

namespace detail {

Kind kind_of(char first) noexcept {
    switch (first) {
    case '{': return Kind::Object;
    case '[': return Kind::Array;
    case '"': return Kind::String;
    case 't': return Kind::True;
    case 'f': return Kind::False;
    case 'n': return Kind::Null;
    default: return Kind::Number;
    }
}

std::size_t skip_value(std::string_view text, std::size_t pos) noexcept {
    const std::size_t n = text.size();
    if (pos >= n) return n;
    auto skip_string = [&](std::size_t p) {
        for (++p; p < n; ++p) {
            if (text[p] == '\\') ++p;
            else if (text[p] == '"') return p + 1;
        }
        return n;
    };
    const char c = text[pos];
    if (c == '"') return skip_string(pos);
    if (c == '{' || c == '[') {
        // Brackets inside strings do not count; validated text balances the rest.
        std::size_t depth = 0;
        for (std::size_t p = pos; p < n;) {
            const char d = text[p];
            if (d == '"') {
                p = skip_string(p);
                continue;
            }
            if (d == '{' || d == '[') {
                ++depth;
            } else if ((d == '}' || d == ']') && --depth == 0) {
                return p + 1;
            }
            ++p;
        }
        return n;
    }
    // A number or a literal: letters, digits and number punctuation.
    std::size_t p = pos + 1;
    while (p < n) {
        const auto b = static_cast<Byte>(text[p]);
        if (!is_number_char(b) && !(b >= 'a' && b <= 'z')) break;
        ++p;
    }
    return p;
}

} // namespace detail

bool key_is(std::string_view raw_key, std::string_view name) noexcept {
    if (raw_key.find('\\') == std::string_view::npos) return raw_key == name;
    std::size_t j = 0;
    for (std::size_t i = 0; i < raw_key.size();) {
        if (raw_key[i] != '\\') {
            if (j >= name.size() || name[j] != raw_key[i]) return false;
            ++i;
            ++j;
            continue;
        }
        char32_t cp;
        if (!decode_escape(raw_key, i, cp)) return false;
        char buf[4];
        const std::size_t len = encode_utf8(cp, buf);
        if (name.size() - j < len || std::memcmp(name.data() + j, buf, len) != 0) return false;
        j += len;
    }
    return j == name.size();
}

bool plain_string(Value v, std::string_view& out) noexcept {
    std::string_view body;
    if (!string_body(v, body) || body.find('\\') != std::string_view::npos) return false;
    out = body;
    return true;
}

bool get_string(Value v, std::string& out) {
    std::string_view body;
    if (!string_body(v, body)) return false;
    out.clear();
    out.reserve(body.size());
    std::size_t i = 0;
    while (i < body.size()) {
        const std::size_t bs = body.find('\\', i);
        if (bs == std::string_view::npos) {
            out.append(body.substr(i));
            break;
        }
        out.append(body.substr(i, bs - i));
        i = bs;
        char32_t cp;
        if (!decode_escape(body, i, cp)) return false;
        char buf[4];
        out.append(buf, encode_utf8(cp, buf));
    }
    return true;
}

bool get_u64(Value v, std::uint64_t& out) noexcept {
    if (v.kind != Kind::Number || v.raw.empty()) return false;
    std::uint64_t n = 0;
    for (char c : v.raw) {
        if (!is_digit(static_cast<Byte>(c))) return false;
        const auto d = static_cast<unsigned>(c - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
        n = n * 10 + d;
    }
    out = n;
    return true;
}

bool get_i64(Value v, std::int64_t& out) noexcept {
    if (v.kind != Kind::Number || v.raw.empty()) return false;
    const bool neg = v.raw[0] == '-';
    std::uint64_t magnitude;
    if (!get_u64(Value{Kind::Number, v.raw.substr(neg ? 1 : 0)}, magnitude)) return false;
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (magnitude > kMax + (neg ? 1 : 0)) return false;
    if (!neg) out = static_cast<std::int64_t>(magnitude);
    else if (magnitude == kMax + 1) out = std::numeric_limits<std::int64_t>::min();
    else out = -static_cast<std::int64_t>(magnitude);
    return true;
}

bool get_bool(Value v, bool& out) noexcept {
    if (v.kind == Kind::True) out = true;
    else if (v.kind == Kind::False) out = false;
    else return false;
    return true;
}

bool get_double(Value v, double& out) noexcept {
    if (v.kind != Kind::Number || v.raw.empty()) return false;
    const char* first = v.raw.data();
    const char* last = first + v.raw.size();
    // from_chars would also take "inf" and "nan", which are not JSON.
    if (!valid_number(reinterpret_cast<const Byte*>(first), reinterpret_cast<const Byte*>(last)))
        return false;
    double d = 0;
    const auto r = std::from_chars(first, last, d);
    if (r.ptr != last) return false;
    if (r.ec == std::errc::result_out_of_range) {
        if (magnitude_is_large(v.raw)) return false;
        out = v.raw[0] == '-' ? -0.0 : 0.0;
        return true;
    }
    if (r.ec != std::errc{}) return false;
    out = d;
    return true;
}

} // namespace switchboard::json
