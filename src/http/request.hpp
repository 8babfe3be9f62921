#pragma once
// HTTP/1.1 request head parser (RFC 9112), sans-I/O: bytes in, a parsed head or a status code
// out. Views borrow the input buffer. Limits are enforced before anything is stored, and every
// rejection maps to the status the client should see.
#include "base/text.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace switchboard::http {

struct Limits {
    std::size_t max_request_line = 8 * 1024;  // 414 beyond
    std::size_t max_head_size = 16 * 1024;    // 431 beyond (request line + headers)
    std::size_t max_headers = 64;             // 431 beyond
    std::size_t max_body_size = 1024 * 1024;  // 413 beyond
};

inline constexpr std::size_t kHeaderCapacity = 100; // hard ceiling for Limits::max_headers

struct Header {
    std::string_view name;
    std::string_view value;
};

/// Borrowed view of a parsed request head; valid while the parsed bytes are.
struct RequestHead {
    std::string_view method;
    std::string_view target; // as sent
    std::string_view path;   // target up to '?'
    std::string_view query;  // after '?', without it
    int version_minor = 1;   // HTTP/1.x
    std::array<Header, kHeaderCapacity> headers;
    std::size_t header_count = 0;
    std::uint64_t content_length = 0;
    bool chunked = false;     // Transfer-Encoding: chunked (see chunked.hpp)

    /// First value of a header (names compare case-insensitively).
    std::optional<std::string_view> header(std::string_view name) const noexcept;
    /// True if any value of the header, as a comma-separated list, contains `token`
    /// (case-insensitive), e.g. Connection: keep-alive, Upgrade.
    bool has_token(std::string_view name, std::string_view token) const noexcept;
    /// HTTP/1.1 keeps the connection unless "Connection: close"; 1.0 only with keep-alive.
    bool keep_alive() const noexcept;
};

struct ParseResult {
    enum class Kind { Incomplete, Complete, Error } kind = Kind::Incomplete;
    std::size_t consumed = 0; // bytes of the head, including the blank line
    int status = 0;           // for errors: 400, 413, 414, 431, 501, 505
    std::string_view reason;  // for errors: why, for the response body and logs
};

/// Parses a request head from the start of `in`.
ParseResult parse_request_head(std::string_view in, const Limits& limits, RequestHead& out) noexcept;

using switchboard::iequals;

} // namespace switchboard::http
