#pragma once
// RTCP (RFC 3550 §6) as WebRTC uses it: compound packets of sender and receiver reports, and the
// feedback an SFU reads and writes: generic NACK (RFC 4585), PLI, FIR (RFC 5104), REMB
// (draft-alvestrand-rmcat-remb) and transport-wide congestion control feedback
// (draft-holmer-rmcat-transport-wide-cc-extensions). Sans-I/O: for_each() walks a compound
// packet; the parse_* functions read one packet; the write_* functions append one.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace switchboard::rtc::rtcp {

namespace type {
inline constexpr std::uint8_t kSr = 200, kRr = 201, kSdes = 202, kBye = 203, kApp = 204, kRtpfb = 205, kPsfb = 206;
}
namespace fmt {
inline constexpr std::uint8_t kNack = 1, kTransportCc = 15; // RTPFB
inline constexpr std::uint8_t kPli = 1, kFir = 4, kAfb = 15; // PSFB (REMB is an AFB)
}

/// One packet of a compound packet.
struct View {
    std::uint8_t type = 0;
    std::uint8_t count = 0; // report count, or FMT for feedback
    std::span<const std::uint8_t> body; // after the 4-byte header, padding removed
};

/// Calls f(const View&) for each packet; false if the compound packet is malformed (then f has
/// seen the packets before the fault). At most 64 packets are read.
template <class F> bool for_each(std::span<const std::uint8_t> d, F&& f);

struct ReportBlock {
    std::uint32_t ssrc = 0;
    std::uint8_t fraction_lost = 0;
    std::int32_t cumulative_lost = 0; // 24-bit signed
    std::uint32_t highest_sequence = 0;
    std::uint32_t jitter = 0;
    std::uint32_t last_sr = 0;
    std::uint32_t delay_since_last_sr = 0;
};

struct SenderInfo {
    std::uint64_t ntp = 0;
    std::uint32_t rtp_timestamp = 0;
    std::uint32_t packets = 0;
    std::uint32_t octets = 0;
};

struct Report { // SR or RR
    std::uint32_t ssrc = 0;
    bool sender = false;
    SenderInfo info; // SR only
    std::vector<ReportBlock> blocks;
};

struct Nack {
    std::uint32_t sender = 0, media = 0;
    std::vector<std::uint16_t> lost; // every sequence number asked for, in order
};

struct Pli {
    std::uint32_t sender = 0, media = 0;
};

struct Fir {
    std::uint32_t sender = 0;
    struct Entry {
        std::uint32_t ssrc;
        std::uint8_t sequence;
    };
    std::vector<Entry> entries;
};

struct Remb {
    std::uint32_t sender = 0;
    std::uint64_t bitrate = 0; // bits per second
    std::vector<std::uint32_t> ssrcs;
};

struct TransportCc {
    std::uint32_t sender = 0, media = 0;
    std::uint16_t base_sequence = 0;
    std::int32_t reference_time = 0; // in 64 ms units (24-bit signed)
    std::uint8_t feedback_count = 0;
    struct Status {
        std::uint16_t sequence;
        bool received;
        std::int64_t delta_us; // since the previous received packet (the reference time for the first)
    };
    std::vector<Status> packets;
};

// Each parse_* leaves `out` untouched unless `v` is of its type (so one View can be tried
// against several), and returns false if it is not or is malformed.
bool parse_report(const View& v, Report& out);
bool parse_nack(const View& v, Nack& out);
bool parse_pli(const View& v, Pli& out) noexcept;
bool parse_fir(const View& v, Fir& out);
bool parse_remb(const View& v, Remb& out);
bool parse_transport_cc(const View& v, TransportCc& out);

void write_report(const Report& r, std::vector<std::uint8_t>& out);
/// Groups `lost` (any order) into PID/BLP items.
void write_nack(std::uint32_t sender, std::uint32_t media, std::vector<std::uint16_t> lost, std::vector<std::uint8_t>& out);
void write_pli(std::uint32_t sender, std::uint32_t media, std::vector<std::uint8_t>& out);
void write_fir(std::uint32_t sender, std::span<const Fir::Entry> entries, std::vector<std::uint8_t>& out);
void write_remb(std::uint32_t sender, std::uint64_t bitrate, std::span<const std::uint32_t> ssrcs, std::vector<std::uint8_t>& out);

// ---- implementation of the template

template <class F> bool for_each(std::span<const std::uint8_t> d, F&& f) {
    for (int n = 0; !d.empty(); ++n) {
        if (n >= 64 || d.size() < 4 || (d[0] >> 6) != 2) return false;
        const std::size_t len = 4u * (static_cast<std::size_t>(d[2]) << 8 | d[3]) + 4;
        if (len > d.size()) return false;
        std::size_t body_end = len;
        if (d[0] & 0x20) { // padding, only valid on the last packet but tolerated anywhere
            const std::uint8_t pad = d[len - 1];
            if (pad == 0 || pad > len - 4) return false;
            body_end -= pad;
        }
        f(View{d[1], static_cast<std::uint8_t>(d[0] & 0x1f), d.subspan(4, body_end - 4)});
        d = d.subspan(len);
    }
    return true;
}

} // namespace switchboard::rtc::rtcp
