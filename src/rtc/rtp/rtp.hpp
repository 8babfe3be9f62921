#pragma once
// RTP packets (RFC 3550 §5.1) with header extensions (RFC 8285, one- and two-byte forms), and the
// RFC 7983/5761 demultiplexing of what arrives on a WebRTC transport. Sans-I/O: parse() gives a
// view into the packet; writers compose into caller buffers; the setters rewrite fields in place
// (an SFU forwards a packet by changing its SSRC, sequence number and payload type only).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//   |                           timestamp                           |
//   |                             SSRC                              |
//   |                  CSRC list (CC entries) ...                   |
//   |  extension profile (0xBEDE)   |   length in 32-bit words      |  if X
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace switchboard::rtc::rtp {

/// RFC 7983: 128-191 is RTP or RTCP.
inline bool looks_like_rtp_or_rtcp(std::span<const std::uint8_t> d) noexcept {
    return d.size() >= 2 && d[0] >= 128 && d[0] <= 191;
}
/// RFC 5761 §4: with rtcp-mux, payload types 192-223 (the RTCP packet types 200-204 and the
/// feedback ones 205-206 among them) are RTCP.
inline bool looks_like_rtcp(std::span<const std::uint8_t> d) noexcept {
    return looks_like_rtp_or_rtcp(d) && d[1] >= 192 && d[1] <= 223;
}

struct Packet {
    bool marker = false;
    std::uint8_t payload_type = 0;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
    std::uint8_t csrc_count = 0;
    std::array<std::uint32_t, 15> csrc{};
    std::uint16_t extension_profile = 0; // 0: no extension block
    std::span<const std::uint8_t> extension; // the block's data (without its 4-byte header)
    std::span<const std::uint8_t> payload;   // padding removed
    std::size_t header_size = 0;
    std::uint8_t padding = 0;
};

/// Parses an RTP packet; false if it is not a well-formed one (version, lengths, padding).
bool parse(std::span<const std::uint8_t> data, Packet& out) noexcept;

/// One header extension element.
struct Extension {
    std::uint8_t id = 0;
    std::span<const std::uint8_t> data;
};

/// The elements of a one-byte (0xBEDE) or two-byte (0x100X) extension block, in order; false if
/// the block is malformed or of another profile. At most `out.size()` elements are read.
bool extensions(const Packet& p, std::span<Extension> out, std::size_t& count) noexcept;

/// Finds element `id`; an empty span if absent.
std::span<const std::uint8_t> find_extension(const Packet& p, std::uint8_t id) noexcept;

struct Header {
    bool marker = false;
    std::uint8_t payload_type = 0;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t ssrc = 0;
};

/// Appends an RTP packet to `out`: the header, the extension elements (one-byte form when every
/// id is 1-14 and every value 1-16 bytes, else two-byte form), the payload.
void write(const Header& h, std::span<const Extension> ext, std::span<const std::uint8_t> payload,
           std::vector<std::uint8_t>& out);

// In-place rewrites of a packet already parsed (the caller checked it is RTP).
void set_sequence(std::span<std::uint8_t> packet, std::uint16_t seq) noexcept;
void set_timestamp(std::span<std::uint8_t> packet, std::uint32_t ts) noexcept;
void set_ssrc(std::span<std::uint8_t> packet, std::uint32_t ssrc) noexcept;
void set_payload_type(std::span<std::uint8_t> packet, std::uint8_t pt) noexcept;

/// Serial-number arithmetic on 16-bit sequence numbers (RFC 1982): a is newer than b.
inline bool seq_newer(std::uint16_t a, std::uint16_t b) noexcept {
    return a != b && static_cast<std::uint16_t>(a - b) < 0x8000;
}

} // namespace switchboard::rtc::rtp
