#include "rtc/sctp/dcep.hpp"

#include "base/byte_reader.hpp"

#include <algorithm>

namespace switchboard::rtc::sctp {

namespace {
constexpr std::uint8_t kUnordered = 0x80;
} // namespace

std::optional<OpenView> parse_open(std::span<const std::uint8_t> m) noexcept {
    ByteReader r(m);
    if (r.u8() != kDcepOpen) return std::nullopt;
    const std::uint8_t type = r.u8();
    OpenView v;
    v.priority = r.u16be();
    v.param = r.u32be();
    const std::uint16_t label_len = r.u16be(), protocol_len = r.u16be();
    auto label = r.take(label_len);
    auto protocol = r.take(protocol_len);
    if (!r.ok()) return std::nullopt;
    v.ordered = (type & kUnordered) == 0;
    switch (type & ~kUnordered) {
    case 0x00: v.reliability = Reliability::Reliable; break;
    case 0x01: v.reliability = Reliability::Rexmit; break;
    case 0x02: v.reliability = Reliability::Timed; break;
    default: return std::nullopt;
    }
    if (v.reliability == Reliability::Reliable) v.param = 0; // "ignored" (RFC 8832 §5.1)
    v.label = {reinterpret_cast<const char*>(label.data()), label.size()};
    v.protocol = {reinterpret_cast<const char*>(protocol.data()), protocol.size()};
    return v;
}

void encode_open(const ChannelOptions& o, std::vector<std::uint8_t>& out) {
    const std::size_t label = std::min<std::size_t>(o.label.size(), 0xffff);
    const std::size_t protocol = std::min<std::size_t>(o.protocol.size(), 0xffff);
    const std::size_t at = out.size();
    out.resize(at + 12 + label + protocol);
    std::uint8_t* p = out.data() + at;
    p[0] = kDcepOpen;
    p[1] = static_cast<std::uint8_t>((o.ordered ? 0 : kUnordered) | static_cast<std::uint8_t>(o.reliability));
    put_u16be(p + 2, o.priority);
    put_u32be(p + 4, o.reliability == Reliability::Reliable ? 0 : o.param);
    put_u16be(p + 8, static_cast<std::uint16_t>(label));
    put_u16be(p + 10, static_cast<std::uint16_t>(protocol));
    std::copy_n(o.label.data(), label, p + 12);
    std::copy_n(o.protocol.data(), protocol, p + 12 + label);
}

} // namespace switchboard::rtc::sctp
