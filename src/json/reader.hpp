#pragma once
// A validating, zero-allocation JSON reader (RFC 8259). parse() checks the whole text once:
// grammar, number syntax (§6), string escapes and UTF-8 (§7, §8.1) and a nesting limit (§9).
// After that the text is trusted, and values are read lazily as borrowed views: iterating an
// object or array re-scans its raw text instead of building a tree, so reading a message costs
// no allocation and nothing survives the call but views into the caller's buffer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace switchboard::json {

enum class Error : std::uint8_t {
    None,
    Empty,     // nothing but whitespace
    Syntax,    // grammar error, truncated input, unescaped control character in a string
    TooDeep,   // arrays/objects nested deeper than Limits::max_depth
    Trailing,  // a complete value followed by more than whitespace
    BadNumber, // RFC 8259 §6: leading zeros, '+', a lone '-', "1.", ".5", "1e" ...
    BadEscape, // RFC 8259 §7: unknown escape or \u without four hex digits
    BadUtf8,   // RFC 8259 §8.1: invalid UTF-8, or a \u escape naming a lone surrogate
    TooLarge,  // text longer than Limits::max_size
};

/// Short English reason, e.g. "invalid JSON syntax". Never null.
const char* error_text(Error e) noexcept;

enum class Kind : std::uint8_t { Null, False, True, Number, String, Array, Object };

/// A borrowed view of one JSON value: `raw` is its exact text (strings include their quotes).
/// Valid while the parsed text lives. Only Values that come from parse() (or from iterating
/// one) are meaningful; the readers below never read outside `raw`, whatever it holds.
struct Value {
    Kind kind = Kind::Null;
    std::string_view raw;
};

/// max_depth counts nested arrays/objects: "[]" has depth 1, a scalar depth 0. The validator
/// keeps one bit per level on the stack, so a max_depth above kMaxDepthCeiling acts as
/// kMaxDepthCeiling.
struct Limits {
    unsigned max_depth = 32;
    std::size_t max_size = 16 * 1024 * 1024;
};
inline constexpr unsigned kMaxDepthCeiling = 1024;

/// Validates `text` as exactly one JSON value with optional surrounding whitespace. Strings must
/// be valid UTF-8 (including \u escapes: lone surrogates rejected). No allocation. `out` is
/// written only on success. Thread-safe (pure function).
Error parse(std::string_view text, Value& out, const Limits& limits = {}) noexcept;

namespace detail {
// Helpers for the templates below. They assume text that parse() accepted, but stay inside
// `text` on any input: a truncated value ends at text.size().
inline bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
inline std::size_t skip_ws(std::string_view text, std::size_t pos) noexcept {
    while (pos < text.size() && is_ws(text[pos])) ++pos;
    return pos;
}
/// One past the end of the value starting at `pos` (always > pos when pos < text.size()).
std::size_t skip_value(std::string_view text, std::size_t pos) noexcept;
/// The kind of the value whose first character is `first`.
Kind kind_of(char first) noexcept;

template <class F> bool call_member(F& f, std::string_view key, Value v) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, std::string_view, Value>>) {
        f(key, v);
        return true;
    } else {
        return static_cast<bool>(f(key, v));
    }
}
template <class F> bool call_element(F& f, Value v) {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Value>>) {
        f(v);
        return true;
    } else {
        return static_cast<bool>(f(v));
    }
}
} // namespace detail

/// Members of an object produced by parse() (or a nested Value of one), in document order:
/// f(std::string_view key, Value v) -> bool (false stops; a void f visits every member).
/// `key` is the raw key text between the quotes (escapes not decoded; compare with key_is).
/// Duplicate keys are all visited (RFC 8259 §4 leaves them to the reader). Does not allocate.
/// Does nothing when `object` is not an object.
template <class F> void for_each_member(Value object, F&& f) {
    const std::string_view t = object.raw;
    if (object.kind != Kind::Object || t.size() < 2 || t.front() != '{') return;
    std::size_t p = detail::skip_ws(t, 1);
    while (p < t.size() && t[p] == '"') {
        // Every member is followed by ',' or '}', so none of these may run to the end of `t`.
        const std::size_t key_end = detail::skip_value(t, p);
        if (key_end >= t.size()) return;
        const std::string_view key(t.data() + p + 1, key_end - p - 2);
        p = detail::skip_ws(t, key_end);
        if (p >= t.size() || t[p] != ':') return;
        p = detail::skip_ws(t, p + 1);
        const std::size_t end = detail::skip_value(t, p);
        if (end >= t.size()) return;
        if (!detail::call_member(f, key, Value{detail::kind_of(t[p]), t.substr(p, end - p)}))
            return;
        p = detail::skip_ws(t, end);
        if (p >= t.size() || t[p] != ',') return;
        p = detail::skip_ws(t, p + 1);
    }
}

/// Elements of an array, in order: f(Value v) -> bool (false stops; a void f visits all).
/// Does not allocate. Does nothing when `array` is not an array.
template <class F> void for_each_element(Value array, F&& f) {
    const std::string_view t = array.raw;
    if (array.kind != Kind::Array || t.size() < 2 || t.front() != '[') return;
    std::size_t p = detail::skip_ws(t, 1);
    while (p < t.size() && t[p] != ']') {
        const std::size_t end = detail::skip_value(t, p);
        if (end >= t.size()) return;
        if (!detail::call_element(f, Value{detail::kind_of(t[p]), t.substr(p, end - p)})) return;
        p = detail::skip_ws(t, end);
        if (p >= t.size() || t[p] != ',') return;
        p = detail::skip_ws(t, p + 1);
    }
}

/// True when the raw key (as given by for_each_member) equals `name` after decoding escapes.
/// No allocation.
bool key_is(std::string_view raw_key, std::string_view name) noexcept;
/// String contents without quotes when it has no escapes (the common case): no copy. False for
/// a string with escapes (use get_string) and for anything not a string.
bool plain_string(Value v, std::string_view& out) noexcept;
/// Decoded string contents (handles all escapes, \u surrogate pairs -> UTF-8), replacing what
/// `out` held. false if not a string.
bool get_string(Value v, std::string& out);
/// Integer literal only, range-checked (no fraction/exponent, no minus; "-0" is rejected).
bool get_u64(Value v, std::uint64_t& out) noexcept;
/// Integer literal only, range-checked ("-0" reads as 0).
bool get_i64(Value v, std::int64_t& out) noexcept;
bool get_bool(Value v, bool& out) noexcept;
/// Any number, rounded to nearest. False when its magnitude is beyond double's range (1e999);
/// a number too small to represent (1e-999) reads as zero of its sign.
bool get_double(Value v, double& out) noexcept;

} // namespace switchboard::json
