#include "rtc/rtp/rtp.hpp"

#include "base/byte_reader.hpp"

#include <algorithm>

namespace switchboard::rtc::rtp {

namespace {
constexpr std::uint16_t kOneByteProfile = 0xBEDE;
constexpr std::uint16_t kTwoByteProfileMask = 0xFFF0;
constexpr std::uint16_t kTwoByteProfile = 0x1000;
} // namespace

bool parse(std::span<const std::uint8_t> d, Packet& p) noexcept {
    p = Packet{};
    if (d.size() < 12 || (d[0] >> 6) != 2) return false;
    const bool padding = d[0] & 0x20;
    const bool extension = d[0] & 0x10;
    p.csrc_count = d[0] & 0x0f;
    p.marker = d[1] & 0x80;
    p.payload_type = d[1] & 0x7f;
    p.sequence = get_u16be(d.data() + 2);
    p.timestamp = get_u32be(d.data() + 4);
    p.ssrc = get_u32be(d.data() + 8);
    std::size_t at = 12;
    if (d.size() < at + 4u * p.csrc_count) return false;
    for (unsigned i = 0; i < p.csrc_count; ++i, at += 4) p.csrc[i] = get_u32be(d.data() + at);
    if (extension) {
        if (d.size() < at + 4) return false;
        p.extension_profile = get_u16be(d.data() + at);
        const std::size_t words = get_u16be(d.data() + at + 2);
        at += 4;
        if (d.size() < at + 4 * words) return false;
        p.extension = d.subspan(at, 4 * words);
        at += 4 * words;
    }
    p.header_size = at;
    std::size_t end = d.size();
    if (padding) {
        const std::uint8_t n = d[end - 1];
        if (n == 0 || end - at < n) return false;
        p.padding = n;
        end -= n;
    }
    p.payload = d.subspan(at, end - at);
    return true;
}

bool extensions(const Packet& p, std::span<Extension> out, std::size_t& count) noexcept {
    count = 0;
    const auto& e = p.extension;
    const bool one = p.extension_profile == kOneByteProfile;
    const bool two = (p.extension_profile & kTwoByteProfileMask) == kTwoByteProfile;
    if (!one && !two) return false;
    std::size_t i = 0;
    while (i < e.size() && count < out.size()) {
        if (e[i] == 0) { // padding between elements
            ++i;
            continue;
        }
        std::uint8_t id;
        std::size_t len;
        if (one) {
            id = e[i] >> 4;
            len = (e[i] & 0x0f) + 1u;
            if (id == 15) return true; // RFC 8285 §4.2: stop here
            ++i;
        } else {
            if (i + 2 > e.size()) return false;
            id = e[i];
            len = e[i + 1];
            i += 2;
        }
        if (i + len > e.size()) return false;
        out[count++] = Extension{id, e.subspan(i, len)};
        i += len;
    }
    return true;
}

std::span<const std::uint8_t> find_extension(const Packet& p, std::uint8_t id) noexcept {
    std::array<Extension, 16> all;
    std::size_t n = 0;
    if (!extensions(p, all, n)) return {};
    for (std::size_t i = 0; i < n; ++i)
        if (all[i].id == id) return all[i].data;
    return {};
}

void write(const Header& h, std::span<const Extension> ext, std::span<const std::uint8_t> payload,
           std::vector<std::uint8_t>& out) {
    const bool one = std::all_of(ext.begin(), ext.end(), [](const Extension& x) {
        return x.id >= 1 && x.id <= 14 && !x.data.empty() && x.data.size() <= 16;
    });
    std::size_t ext_bytes = 0;
    for (const auto& x : ext) ext_bytes += (one ? 1 : 2) + std::min<std::size_t>(x.data.size(), 255);
    const std::size_t ext_words = (ext_bytes + 3) / 4;
    const std::size_t at = out.size();
    out.resize(at + 12 + (ext.empty() ? 0 : 4 + 4 * ext_words) + payload.size());
    std::uint8_t* p = out.data() + at;
    p[0] = static_cast<std::uint8_t>(0x80 | (ext.empty() ? 0 : 0x10));
    p[1] = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7f));
    put_u16be(p + 2, h.sequence);
    put_u32be(p + 4, h.timestamp);
    put_u32be(p + 8, h.ssrc);
    std::size_t i = 12;
    if (!ext.empty()) {
        put_u16be(p + i, one ? kOneByteProfile : kTwoByteProfile);
        put_u16be(p + i + 2, static_cast<std::uint16_t>(ext_words));
        i += 4;
        const std::size_t start = i;
        for (const auto& x : ext) {
            const std::size_t len = std::min<std::size_t>(x.data.size(), 255);
            if (one) {
                p[i++] = static_cast<std::uint8_t>(x.id << 4 | (len - 1));
            } else {
                p[i++] = x.id;
                p[i++] = static_cast<std::uint8_t>(len);
            }
            std::copy_n(x.data.data(), len, p + i);
            i += len;
        }
        std::fill(p + i, p + start + 4 * ext_words, 0);
        i = start + 4 * ext_words;
    }
    std::copy(payload.begin(), payload.end(), p + i);
}

void set_sequence(std::span<std::uint8_t> d, std::uint16_t seq) noexcept { put_u16be(d.data() + 2, seq); }
void set_timestamp(std::span<std::uint8_t> d, std::uint32_t ts) noexcept { put_u32be(d.data() + 4, ts); }
void set_ssrc(std::span<std::uint8_t> d, std::uint32_t ssrc) noexcept { put_u32be(d.data() + 8, ssrc); }
void set_payload_type(std::span<std::uint8_t> d, std::uint8_t pt) noexcept {
    d[1] = static_cast<std::uint8_t>((d[1] & 0x80) | (pt & 0x7f));
}

} // namespace switchboard::rtc::rtp
