#pragma once
// SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept (RFC 6455 §4.2.2). SHA-1 is broken for
// signatures but that is not what the handshake uses it for, and plain code beats a libcrypto
// dependency in a tool that must stay standalone.
#include <array>
#include <cstdint>
#include <string_view>

namespace wsload {

std::array<uint8_t, 20> sha1(std::string_view msg);

} // namespace wsload
