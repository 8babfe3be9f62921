#pragma once
// The hashes STUN needs (RFC 8489 §9, §14.5-14.7): HMAC-SHA1 and HMAC-SHA256 for message
// integrity, CRC-32 for FINGERPRINT, and the long-term credential key. Through OpenSSL and
// zlib; pure functions.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace switchboard::stun {

using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

/// HMAC over the concatenation of `parts` (a message is hashed as the header with an adjusted
/// length followed by the attributes, without copying them together).
Sha1Digest hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts) noexcept;
Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts) noexcept;
Sha1Digest sha1(std::string_view text) noexcept; // the TURN REST password: base64(HMAC-SHA1)
/// RFC 8489 §14.7: CRC-32 of the message up to the FINGERPRINT attribute, XOR 0x5354554e.
std::uint32_t fingerprint(std::span<const std::uint8_t> head, std::span<const std::uint8_t> rest = {}) noexcept;

/// RFC 8489 §9.2.2: key = MD5(username ":" realm ":" password) (the password already
/// OpaqueString-prepared; we take it as configured).
std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username, std::string_view realm, std::string_view password) noexcept;
/// PASSWORD-ALGORITHM SHA-256 (RFC 8489 §18.5.1.2).
Sha256Digest long_term_key_sha256(std::string_view username, std::string_view realm, std::string_view password) noexcept;

/// Compares without an early exit, so the time taken says nothing about where keys differ.
bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

} // namespace switchboard::stun
