// The validator: parse() checks the whole text once, without allocating or recursing. The
// value readers, which trust what it accepted, are in values.cpp.
#include "json/reader.hpp"

#include "json/grammar.hpp"

#include <cstring>

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

using grammar::Byte;
using grammar::hex4;
using grammar::is_number_char;
using grammar::valid_number;

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

} // namespace switchboard::json
