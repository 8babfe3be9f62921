#pragma once
// Base64 (RFC 4648 §4, with padding), only for the handshake's Sec-WebSocket-Key and
// Sec-WebSocket-Accept (RFC 6455 §4.1, §4.2.2).
#include <cstddef>
#include <cstdint>
#include <string>

namespace wsload {

std::string base64(const uint8_t* p, size_t n);

} // namespace wsload
