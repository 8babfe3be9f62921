#pragma once
// base64url (RFC 4648 §5) as JWS uses it (RFC 7515 §2): the URL-safe alphabet without padding.
// Pure functions, thread-safe.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::auth {

/// RFC 7515 §2 / RFC 4648 §5: URL-safe alphabet, no padding.
std::string base64url_encode(std::span<const std::uint8_t> bytes);
/// Strict inverse of base64url_encode: no padding, no whitespace, no other alphabet, and the
/// unused bits of the last character must be zero, so each byte string has exactly one
/// accepted encoding. Replaces `out`; false (out unspecified) on bad input.
bool base64url_decode(std::string_view text, std::string& out);

} // namespace switchboard::auth
