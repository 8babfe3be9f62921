#pragma once
// RFC 6455 §5.2 base framing: header encoding, masking and the close-code rules. Pure functions.
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-------+-+-------------+-------------------------------+
// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
// | |1|2|3|       |K|             |                               |
// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
// |     Extended payload length continued, if payload len == 127  |
// + - - - - - - - - - - - - - - - +-------------------------------+
// |                               |Masking-key, if MASK set to 1  |
// +-------------------------------+-------------------------------+
#include <cstddef>
#include <cstdint>
#include <span>

namespace switchboard::ws {

enum class Opcode : std::uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

inline constexpr bool is_control(Opcode op) noexcept { return static_cast<std::uint8_t>(op) & 0x8; }

namespace close_code {
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kUnsupportedData = 1003;
inline constexpr std::uint16_t kNoStatus = 1005;   // never on the wire
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kPolicyViolation = 1008;
inline constexpr std::uint16_t kTooBig = 1009;
inline constexpr std::uint16_t kInternalError = 1011;
inline constexpr std::uint16_t kTryAgainLater = 1013;
} // namespace close_code

/// RFC 6455 §7.4: codes a peer may send in a Close frame.
bool is_valid_close_code(std::uint16_t code) noexcept;

inline constexpr std::size_t kMaxHeaderSize = 14;
inline constexpr std::size_t kMaxControlPayload = 125;

/// Size of a header for `len` payload bytes.
std::size_t header_size(std::uint64_t len, bool masked) noexcept;

/// Writes a frame header to `out` (at least header_size() bytes); returns its size.
/// `mask` is written when non-null (client frames).
std::size_t encode_header(std::uint8_t* out, Opcode op, bool fin, bool rsv1, std::uint64_t len,
                          const std::uint8_t* mask = nullptr) noexcept;

/// XORs `data` with the 4-byte `key`, starting at key position `phase` (0-3). Returns the phase
/// after the last byte so a payload split across reads can be unmasked piecewise.
unsigned apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t key[4], unsigned phase) noexcept;

} // namespace switchboard::ws
