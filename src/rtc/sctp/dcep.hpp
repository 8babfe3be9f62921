#pragma once
// DCEP, the Data Channel Establishment Protocol (RFC 8832), and the SCTP payload protocol
// identifiers of WebRTC data channels (RFC 8831 §8). Sans-I/O codec: bytes in, views out.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Message Type |  Channel Type |            Priority           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Reliability Parameter                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Label Length          |       Protocol Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Label ...                    |  Protocol ...                 |
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::rtc::sctp {

namespace ppid {
inline constexpr std::uint32_t kDcep = 50;
inline constexpr std::uint32_t kString = 51;
inline constexpr std::uint32_t kBinary = 53;
inline constexpr std::uint32_t kStringEmpty = 56;
inline constexpr std::uint32_t kBinaryEmpty = 57;
} // namespace ppid

inline constexpr std::uint8_t kDcepOpen = 0x03;
inline constexpr std::uint8_t kDcepAck = 0x02;

enum class Reliability : std::uint8_t {
    Reliable, // retransmit until delivered
    Rexmit,   // at most `param` retransmissions (maxRetransmits)
    Timed,    // retransmit for at most `param` milliseconds (maxPacketLifeTime)
};

struct ChannelOptions {
    bool ordered = true;
    Reliability reliability = Reliability::Reliable;
    std::uint32_t param = 0;
    std::uint16_t priority = 256; // RFC 8831 §6.4 "normal"
    std::string label;
    std::string protocol;
};

/// A DATA_CHANNEL_OPEN as read; the strings borrow the input.
struct OpenView {
    bool ordered = true;
    Reliability reliability = Reliability::Reliable;
    std::uint32_t param = 0;
    std::uint16_t priority = 0;
    std::string_view label, protocol;
};

/// Reads a DATA_CHANNEL_OPEN; nullopt if it is not a well-formed one (unknown channel type,
/// lengths beyond the message).
std::optional<OpenView> parse_open(std::span<const std::uint8_t> message) noexcept;

/// Appends a DATA_CHANNEL_OPEN for `o` to `out` (labels and protocols longer than 65535 bytes
/// are cut there).
void encode_open(const ChannelOptions& o, std::vector<std::uint8_t>& out);

/// The message type of a DCEP message, 0 when empty.
inline std::uint8_t dcep_type(std::span<const std::uint8_t> m) noexcept { return m.empty() ? 0 : m[0]; }

} // namespace switchboard::rtc::sctp
