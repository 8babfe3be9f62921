#pragma once
// A small compact-JSON writer (RFC 8259) for the messages the server sends. It appends to a
// caller-owned std::string, so a caller that reuses one string per connection or per loop
// allocates only when that string grows.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace switchboard::json {

/// Appends compact JSON to a std::string; commas between members/elements are automatic.
/// The caller keeps the structure balanced and calls key() before each member value; the
/// writer does not check (it is meant for code-built messages, not for peer input).
/// Borrows `out` for its whole life. Not thread-safe.
class Writer {
  public:
    explicit Writer(std::string& out) noexcept : out_(out) {}

    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    /// An object member's name, escaped.
    Writer& key(std::string_view k);
    /// Escaped per RFC 8259 §7: '"', '\' and control characters (short forms where they exist,
    /// else \u00XX). Input is assumed to be valid UTF-8; other bytes are copied as they are.
    Writer& string(std::string_view utf8);
    Writer& number(std::uint64_t v);
    Writer& number(std::int64_t v);
    /// Shortest text that reads back as the same double (std::to_chars). RFC 8259 §6 has no
    /// NaN or infinity: those are written as null.
    Writer& number(double v);
    /// Other integer types (int, unsigned, long long, ...), which would otherwise be ambiguous
    /// between the three overloads above.
    template <std::integral T>
        requires(!std::same_as<T, bool>)
    Writer& number(T v) {
        if constexpr (std::is_signed_v<T>) return number(static_cast<std::int64_t>(v));
        else return number(static_cast<std::uint64_t>(v));
    }
    Writer& boolean(bool v);
    Writer& null();
    /// An already valid JSON value, written verbatim (not checked).
    Writer& raw(std::string_view json);

  private:
    void before_value();

    std::string& out_;
    bool need_comma_ = false; // a value was written at this level: the next one needs ','
};

/// Appends `utf8` as a JSON string, with the quotes (escaping as Writer::string).
void append_escaped(std::string& out, std::string_view utf8);

} // namespace switchboard::json
