#include "rtc/rtp/rtcp.hpp"

#include "base/byte_reader.hpp"

#include <algorithm>

namespace switchboard::rtc::rtcp {

namespace {

constexpr std::size_t kMaxBlocks = 31;        // 5 bits of report count
constexpr std::size_t kMaxTwccPackets = 8192; // far more than one MTU can describe

// Starts a packet: V=2, count/FMT, PT, length filled in by finish().
std::size_t begin(std::vector<std::uint8_t>& out, std::uint8_t count, std::uint8_t pt) {
    const std::size_t at = out.size();
    out.push_back(static_cast<std::uint8_t>(0x80 | (count & 0x1f)));
    out.push_back(pt);
    out.push_back(0);
    out.push_back(0);
    return at;
}

void finish(std::vector<std::uint8_t>& out, std::size_t at) {
    while ((out.size() - at) % 4) out.push_back(0);
    put_u16be(out.data() + at + 2, static_cast<std::uint16_t>((out.size() - at) / 4 - 1));
}

void u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    const std::size_t at = out.size();
    out.resize(at + 4);
    put_u32be(out.data() + at, v);
}

void u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    const std::size_t at = out.size();
    out.resize(at + 2);
    put_u16be(out.data() + at, v);
}

bool feedback_ssrcs(ByteReader& r, std::uint32_t& sender, std::uint32_t& media) noexcept {
    sender = r.u32be();
    media = r.u32be();
    return r.ok();
}

} // namespace

bool parse_report(const View& v, Report& out) {
    if (v.type != type::kSr && v.type != type::kRr) return false;
    out = Report{};
    ByteReader r(v.body);
    out.ssrc = r.u32be();
    out.sender = v.type == type::kSr;
    if (out.sender) {
        out.info.ntp = static_cast<std::uint64_t>(r.u32be()) << 32;
        out.info.ntp |= r.u32be();
        out.info.rtp_timestamp = r.u32be();
        out.info.packets = r.u32be();
        out.info.octets = r.u32be();
    }
    for (unsigned i = 0; i < v.count; ++i) {
        ReportBlock b;
        b.ssrc = r.u32be();
        const std::uint32_t lost = r.u32be();
        b.fraction_lost = static_cast<std::uint8_t>(lost >> 24);
        b.cumulative_lost = static_cast<std::int32_t>(lost << 8) >> 8; // sign-extend 24 bits
        b.highest_sequence = r.u32be();
        b.jitter = r.u32be();
        b.last_sr = r.u32be();
        b.delay_since_last_sr = r.u32be();
        if (!r.ok()) return false;
        out.blocks.push_back(b);
    }
    return r.ok();
}

bool parse_nack(const View& v, Nack& out) {
    if (v.type != type::kRtpfb || v.count != fmt::kNack) return false;
    out = Nack{};
    ByteReader r(v.body);
    if (!feedback_ssrcs(r, out.sender, out.media)) return false;
    while (r.remaining() >= 4) {
        const std::uint16_t pid = r.u16be();
        const std::uint16_t blp = r.u16be();
        out.lost.push_back(pid);
        for (unsigned bit = 0; bit < 16; ++bit)
            if (blp & (1u << bit)) out.lost.push_back(static_cast<std::uint16_t>(pid + bit + 1));
    }
    return !out.lost.empty();
}

bool parse_pli(const View& v, Pli& out) noexcept {
    if (v.type != type::kPsfb || v.count != fmt::kPli) return false;
    ByteReader r(v.body);
    return feedback_ssrcs(r, out.sender, out.media);
}

bool parse_fir(const View& v, Fir& out) {
    if (v.type != type::kPsfb || v.count != fmt::kFir) return false;
    out = Fir{};
    ByteReader r(v.body);
    std::uint32_t unused = 0;
    if (!feedback_ssrcs(r, out.sender, unused)) return false;
    while (r.remaining() >= 8) {
        Fir::Entry e{r.u32be(), r.u8()};
        r.skip(3);
        out.entries.push_back(e);
    }
    return !out.entries.empty();
}

bool parse_remb(const View& v, Remb& out) {
    if (v.type != type::kPsfb || v.count != fmt::kAfb) return false;
    out = Remb{};
    ByteReader r(v.body);
    std::uint32_t unused = 0;
    if (!feedback_ssrcs(r, out.sender, unused)) return false;
    auto id = r.take(4);
    if (!r.ok() || !std::equal(id.begin(), id.end(), "REMB")) return false;
    const std::uint8_t count = r.u8();
    const std::uint8_t b0 = r.u8();
    const std::uint16_t mantissa_low = r.u16be();
    const unsigned exponent = b0 >> 2;
    const std::uint64_t mantissa = static_cast<std::uint64_t>(b0 & 3) << 16 | mantissa_low;
    if (exponent > 46) return false; // 18-bit mantissa << 46 stays within 64 bits
    out.bitrate = mantissa << exponent;
    for (unsigned i = 0; i < count; ++i) {
        const std::uint32_t ssrc = r.u32be();
        if (!r.ok()) return false;
        out.ssrcs.push_back(ssrc);
    }
    return r.ok();
}

bool parse_transport_cc(const View& v, TransportCc& out) {
    if (v.type != type::kRtpfb || v.count != fmt::kTransportCc) return false;
    out = TransportCc{};
    ByteReader r(v.body);
    if (!feedback_ssrcs(r, out.sender, out.media)) return false;
    out.base_sequence = r.u16be();
    const std::uint16_t count = r.u16be();
    const std::uint32_t ref = r.u32be();
    if (!r.ok() || count > kMaxTwccPackets) return false;
    out.reference_time = static_cast<std::int32_t>(ref) >> 8; // 24-bit signed, then the count
    out.feedback_count = static_cast<std::uint8_t>(ref & 0xff);
    // Status chunks until `count` symbols are known.
    std::vector<std::uint8_t> symbols; // 0 not received, 1 small delta, 2 large delta
    symbols.reserve(count);
    while (symbols.size() < count) {
        const std::uint16_t chunk = r.u16be();
        if (!r.ok()) return false;
        if (!(chunk & 0x8000)) { // run length
            const std::uint8_t symbol = (chunk >> 13) & 3;
            const std::size_t run = std::min<std::size_t>(chunk & 0x1fff, count - symbols.size());
            symbols.insert(symbols.end(), run, symbol);
        } else if (!(chunk & 0x4000)) { // 14 one-bit symbols
            for (int i = 13; i >= 0 && symbols.size() < count; --i) symbols.push_back((chunk >> i) & 1);
        } else { // 7 two-bit symbols
            for (int i = 6; i >= 0 && symbols.size() < count; --i) symbols.push_back((chunk >> (2 * i)) & 3);
        }
    }
    std::uint16_t seq = out.base_sequence;
    out.packets.reserve(count);
    for (std::uint8_t s : symbols) {
        TransportCc::Status st{seq++, s == 1 || s == 2, 0};
        if (s == 1) st.delta_us = 250 * static_cast<std::int64_t>(r.u8());
        else if (s == 2) st.delta_us = 250 * static_cast<std::int64_t>(static_cast<std::int16_t>(r.u16be()));
        else if (s == 3) return false; // reserved symbol
        if (!r.ok()) return false;
        out.packets.push_back(st);
    }
    return true;
}

void write_report(const Report& rep, std::vector<std::uint8_t>& out) {
    const std::size_t n = std::min(rep.blocks.size(), kMaxBlocks);
    const std::size_t at = begin(out, static_cast<std::uint8_t>(n), rep.sender ? type::kSr : type::kRr);
    u32(out, rep.ssrc);
    if (rep.sender) {
        u32(out, static_cast<std::uint32_t>(rep.info.ntp >> 32));
        u32(out, static_cast<std::uint32_t>(rep.info.ntp));
        u32(out, rep.info.rtp_timestamp);
        u32(out, rep.info.packets);
        u32(out, rep.info.octets);
    }
    for (std::size_t i = 0; i < n; ++i) {
        const ReportBlock& b = rep.blocks[i];
        u32(out, b.ssrc);
        u32(out, static_cast<std::uint32_t>(b.fraction_lost) << 24 | (static_cast<std::uint32_t>(b.cumulative_lost) & 0xffffff));
        u32(out, b.highest_sequence);
        u32(out, b.jitter);
        u32(out, b.last_sr);
        u32(out, b.delay_since_last_sr);
    }
    finish(out, at);
}

void write_nack(std::uint32_t sender, std::uint32_t media, std::vector<std::uint16_t> lost, std::vector<std::uint8_t>& out) {
    // Oldest first in serial-number order relative to the first one, without duplicates.
    if (lost.empty()) return;
    const std::uint16_t origin = *std::min_element(lost.begin(), lost.end(), [&](std::uint16_t a, std::uint16_t b) {
        return static_cast<std::uint16_t>(a - lost.front()) < static_cast<std::uint16_t>(b - lost.front());
    });
    std::sort(lost.begin(), lost.end(), [&](std::uint16_t a, std::uint16_t b) {
        return static_cast<std::uint16_t>(a - origin) < static_cast<std::uint16_t>(b - origin);
    });
    lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
    const std::size_t at = begin(out, fmt::kNack, type::kRtpfb);
    u32(out, sender);
    u32(out, media);
    for (std::size_t i = 0; i < lost.size();) {
        const std::uint16_t pid = lost[i++];
        std::uint16_t blp = 0;
        while (i < lost.size()) {
            const std::uint16_t d = static_cast<std::uint16_t>(lost[i] - pid);
            if (d == 0 || d > 16) break;
            blp = static_cast<std::uint16_t>(blp | 1u << (d - 1));
            ++i;
        }
        u16(out, pid);
        u16(out, blp);
    }
    finish(out, at);
}

void write_pli(std::uint32_t sender, std::uint32_t media, std::vector<std::uint8_t>& out) {
    const std::size_t at = begin(out, fmt::kPli, type::kPsfb);
    u32(out, sender);
    u32(out, media);
    finish(out, at);
}

void write_fir(std::uint32_t sender, std::span<const Fir::Entry> entries, std::vector<std::uint8_t>& out) {
    const std::size_t at = begin(out, fmt::kFir, type::kPsfb);
    u32(out, sender);
    u32(out, 0);
    for (const auto& e : entries) {
        u32(out, e.ssrc);
        u32(out, static_cast<std::uint32_t>(e.sequence) << 24);
    }
    finish(out, at);
}

void write_remb(std::uint32_t sender, std::uint64_t bitrate, std::span<const std::uint32_t> ssrcs, std::vector<std::uint8_t>& out) {
    unsigned exponent = 0;
    while ((bitrate >> exponent) > 0x3ffff) ++exponent; // 18-bit mantissa
    const std::uint64_t mantissa = bitrate >> exponent;
    const std::size_t at = begin(out, fmt::kAfb, type::kPsfb);
    u32(out, sender);
    u32(out, 0);
    for (char c : {'R', 'E', 'M', 'B'}) out.push_back(static_cast<std::uint8_t>(c));
    const std::size_t n = std::min<std::size_t>(ssrcs.size(), 255);
    out.push_back(static_cast<std::uint8_t>(n));
    out.push_back(static_cast<std::uint8_t>(exponent << 2 | (mantissa >> 16)));
    u16(out, static_cast<std::uint16_t>(mantissa));
    for (std::size_t i = 0; i < n; ++i) u32(out, ssrcs[i]);
    finish(out, at);
}

} // namespace switchboard::rtc::rtcp
