#pragma once
// ChannelData (RFC 8656 §12.4): TURN's 4-byte-header framing of application data on a bound
// channel, told apart from STUN by its first byte. RFC 8656 narrowed the channel numbers to
// 0x4000-0x4FFF (first byte 64-79, RFC 7983); RFC 5766 allowed 0x4000-0x7FFF and clients
// written to it (coturn's own among them) still pick numbers up there. A TURN port carries no
// DTLS or QUIC to collide with, so the server takes the older, wider range.
//
//     0                   1                   2                   3
//    |         Channel Number        |            Length             |
//    |                   Application Data (Length bytes)             |
//
// Over UDP the datagram may be longer than 4 + Length (padding); over a stream transport the
// frame is padded to 4 bytes (frame_length() in message.hpp). Pure functions.
#include "base/byte_reader.hpp"

#include <cstdint>
#include <optional>
#include <span>

namespace switchboard::stun {

inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannel = 0x7FFF;

constexpr bool valid_channel(std::uint16_t c) noexcept { return c >= kMinChannel && c <= kMaxChannel; }

struct ChannelData {
    std::uint16_t channel;
    std::span<const std::uint8_t> data; // borrows the input
};

/// A ChannelData message in `in` (the whole datagram, or a frame); nullopt if the channel number
/// is outside 0x4000-0x7FFF or the length runs past the end.
inline std::optional<ChannelData> parse_channel_data(std::span<const std::uint8_t> in) noexcept {
    if (in.size() < 4) return std::nullopt;
    std::uint16_t channel = get_u16be(in.data());
    std::uint16_t len = get_u16be(in.data() + 2);
    if (!valid_channel(channel) || in.size() - 4 < len) return std::nullopt;
    return ChannelData{channel, in.subspan(4, len)};
}

/// Writes the 4-byte header for `len` bytes on `channel`.
inline void write_channel_header(std::uint8_t* out, std::uint16_t channel, std::uint16_t len) noexcept {
    put_u16be(out, channel);
    put_u16be(out + 2, len);
}

} // namespace switchboard::stun
