#include "json/reader.hpp"

#include "base/text.hpp"

#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

namespace switchboard::json {

const char* error_text(Error e) noexcept {
    switch (e) {
    case Error::None: return "ok";
    case Error::Empty: return "empty JSON text";
    case Error::Syntax: return "invalid JSON syntax";
    case Error::TooDeep: return "JSON nested too deeply";
    case Error::Trailing: return "unexpected data after the JSON value";
    case Error::BadNumber: return "invalid JSON number";
    case Error::BadEscape: return "invalid escape in JSON string";
    case Error::BadUtf8: return "invalid UTF-8 in JSON string";
    case Error::TooLarge: return "JSON text too large";
    }
    return "unknown JSON error";
}

namespace {

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
bool valid_number(const Byte* p, const Byte* end) noexcept {
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
long hex4(const Byte* p, const Byte* end) noexcept {
    if (end - p < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; ++i) {
        int d = hex_digit(p[i]);
        if (d < 0) return -1;
        v = (v << 4) | d;
    }
    return v;
}

// p at a backslash inside a string. RFC 8259 §7: a code point outside the BMP is escaped as a
// UTF-16 surrogate pair; a lone surrogate has no UTF-8 form (RFC 3629 §3), so it is rejected.
Error scan_escape(const Byte*& p, const Byte* end) noexcept {
    if (end - p < 2) return Error::Syntax;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        p += 2;
        return Error::None;
    case 'u': break;
    default: return Error::BadEscape;
    }
    long cp = hex4(p + 2, end);
    if (cp < 0) return Error::BadEscape;
    p += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return Error::BadUtf8;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - p < 2 || p[0] != '\\' || p[1] != 'u') return Error::BadUtf8;
        long lo = hex4(p + 2, end);
        if (lo < 0) return Error::BadEscape;
        if (lo < 0xDC00 || lo > 0xDFFF) return Error::BadUtf8;
        p += 6;
    }
    return Error::None;
}

// p at a byte >= 0x80. RFC 3629 §4: no overlong forms, no surrogates, nothing above U+10FFFF.
bool scan_utf8(const Byte*& p, const Byte* end) noexcept {
    const Byte c = *p;
    int need;
    Byte lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else {
        return false;
    }
    if (end - p <= need) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= need; ++i)
        if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += need + 1;
    return true;
}

// p at the opening quote; on success p is past the closing one.
Error scan_string(const Byte*& p, const Byte* end) noexcept {
    ++p;
    for (;;) {
        // The common run: printable ASCII.
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
        if (p == end) return Error::Syntax;
        const Byte c = *p;
        if (c == '"') {
            ++p;
            return Error::None;
        }
        if (c == '\\') {
            if (Error e = scan_escape(p, end); e != Error::None) return e;
        } else if (c < 0x20) {
            return Error::Syntax; // RFC 8259 §7: control characters must be escaped
        } else if (!scan_utf8(p, end)) {
            return Error::BadUtf8;
        }
    }
}

bool scan_literal(const Byte*& p, const Byte* end, std::string_view word) noexcept {
    if (static_cast<std::size_t>(end - p) < word.size() ||
        std::memcmp(p, word.data(), word.size()) != 0)
        return false;
    p += word.size();
    return true;
}

// One bit per open container (1 = object), so validation needs no allocation and no recursion.
class ContainerStack {
  public:
    void push(bool object) noexcept {
        const std::uint64_t bit = std::uint64_t{1} << (depth_ % 64);
        if (object) bits_[depth_ / 64] |= bit;
        else bits_[depth_ / 64] &= ~bit;
        ++depth_;
    }
    void pop() noexcept { --depth_; }
    unsigned depth() const noexcept { return depth_; }
    bool in_object() const noexcept {
        const unsigned i = depth_ - 1;
        return (bits_[i / 64] >> (i % 64)) & 1;
    }

  private:
    std::uint64_t bits_[kMaxDepthCeiling / 64] = {};
    unsigned depth_ = 0;
};

const Byte* skip_ws(const Byte* p, const Byte* end) noexcept {
    while (p < end && detail::is_ws(static_cast<char>(*p))) ++p;
    return p;
}

// After '{' or ',' in an object: a key, optional whitespace and ':' then whitespace.
Error scan_key(const Byte*& p, const Byte* end) noexcept {
    if (p == end || *p != '"') return Error::Syntax;
    if (Error e = scan_string(p, end); e != Error::None) return e;
    p = skip_ws(p, end);
    if (p == end || *p != ':') return Error::Syntax;
    p = skip_ws(p + 1, end);
    return Error::None;
}

Error validate(const Byte*& p, const Byte* end, unsigned max_depth) noexcept {
    ContainerStack stack;
    for (;;) {
        // Expecting a value at p (whitespace already skipped).
        if (p == end) return Error::Syntax;
        switch (*p) {
        case '{':
        case '[': {
            const bool object = *p == '{';
            if (stack.depth() >= max_depth) return Error::TooDeep;
            stack.push(object);
            p = skip_ws(p + 1, end);
            if (p < end && *p == (object ? '}' : ']')) {
                ++p;
                stack.pop();
                break;
            }
            if (object) {
                if (Error e = scan_key(p, end); e != Error::None) return e;
            }
            continue; // a value must follow
        }
        case '"':
            if (Error e = scan_string(p, end); e != Error::None) return e;
            break;
        case 't':
            if (!scan_literal(p, end, "true")) return Error::Syntax;
            break;
        case 'f':
            if (!scan_literal(p, end, "false")) return Error::Syntax;
            break;
        case 'n':
            if (!scan_literal(p, end, "null")) return Error::Syntax;
            break;
        default: {
            // '+' and '.' cannot start a value, but say why when they try to start a number.
            if (!is_number_char(*p) || *p == 'e' || *p == 'E') return Error::Syntax;
            const Byte* start = p;
            while (p < end && is_number_char(*p)) ++p;
            if (!valid_number(start, p)) return Error::BadNumber;
            break;
        }
        }
        // A value ended at p: close containers until one continues with ','.
        for (;;) {
            if (stack.depth() == 0) return Error::None;
            p = skip_ws(p, end);
            if (p == end) return Error::Syntax;
            const bool object = stack.in_object();
            if (*p == ',') {
                p = skip_ws(p + 1, end);
                if (object) {
                    if (Error e = scan_key(p, end); e != Error::None) return e;
                }
                break;
            }
            if (*p != (object ? '}' : ']')) return Error::Syntax;
            ++p;
            stack.pop();
        }
    }
}

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

Error parse(std::string_view text, Value& out, const Limits& limits) noexcept {
    if (text.size() > limits.max_size) return Error::TooLarge;
    const auto* begin = reinterpret_cast<const Byte*>(text.data());
    const auto* end = begin + text.size();
    const Byte* p = skip_ws(begin, end);
    if (p == end) return Error::Empty;
    const Byte* start = p;
    const unsigned depth =
        limits.max_depth < kMaxDepthCeiling ? limits.max_depth : kMaxDepthCeiling;
    if (Error e = validate(p, end, depth); e != Error::None) return e;
    const Byte* value_end = p;
    if (skip_ws(p, end) != end) return Error::Trailing;
    out.kind = detail::kind_of(static_cast<char>(*start));
    out.raw = text.substr(static_cast<std::size_t>(start - begin),
                          static_cast<std::size_t>(value_end - start));
    return Error::None;
}

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
