#include "stun/address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace switchboard::stun {

Address Address::v4(std::uint32_t host_order_ip, std::uint16_t port) noexcept {
    Address a;
    a.ip[0] = static_cast<std::uint8_t>(host_order_ip >> 24);
    a.ip[1] = static_cast<std::uint8_t>(host_order_ip >> 16);
    a.ip[2] = static_cast<std::uint8_t>(host_order_ip >> 8);
    a.ip[3] = static_cast<std::uint8_t>(host_order_ip);
    a.port = port;
    return a;
}

Address Address::canonical() const noexcept {
    if (family == Family::V4) return *this;
    static constexpr std::uint8_t kZero10[10] = {};
    if (std::memcmp(ip.data(), kZero10, 10) != 0) return *this;
    bool mapped = ip[10] == 0xff && ip[11] == 0xff;
    bool compatible = ip[10] == 0 && ip[11] == 0;
    if (compatible) {
        // :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4 in disguise.
        std::uint32_t low = std::uint32_t{ip[12]} << 24 | std::uint32_t{ip[13]} << 16 | std::uint32_t{ip[14]} << 8 | ip[15];
        if (low <= 1) return *this;
    }
    if (!mapped && !compatible) return *this;
    Address a;
    a.family = Family::V4;
    std::memcpy(a.ip.data(), ip.data() + 12, 4);
    a.port = port;
    return a;
}

std::string Address::ip_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family == Family::V4 ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
    return buf;
}

std::string Address::to_string() const {
    // Appended step by step: g++ 12 at -O3 warns (-Wrestrict) on chains of operator+.
    std::string out;
    if (family == Family::V6) out += '[';
    out += ip_string();
    if (family == Family::V6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

namespace {
bool parse_ip(std::string_view s, Address& a) {
    if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
    char buf[INET6_ADDRSTRLEN] = {};
    std::memcpy(buf, s.data(), s.size());
    a.ip.fill(0);
    if (::inet_pton(AF_INET, buf, a.ip.data()) == 1) {
        a.family = Family::V4;
        return true;
    }
    if (::inet_pton(AF_INET6, buf, a.ip.data()) == 1) {
        a.family = Family::V6;
        return true;
    }
    return false;
}

bool parse_port(std::string_view s, std::uint16_t& port) {
    if (s.empty() || s.size() > 5) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535) return false;
    port = static_cast<std::uint16_t>(v);
    return true;
}
} // namespace

std::optional<Address> Address::parse(std::string_view text, std::optional<std::uint16_t> default_port) {
    Address a;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || !parse_ip(text.substr(1, close - 1), a) || a.family != Family::V6) return std::nullopt;
        auto rest = text.substr(close + 1);
        if (rest.empty() && default_port) a.port = *default_port;
        else if (rest.size() < 2 || rest[0] != ':' || !parse_port(rest.substr(1), a.port)) return std::nullopt;
        return a;
    }
    if (parse_ip(text, a)) { // a bare address (IPv6 without brackets has no port)
        if (!default_port) return std::nullopt;
        a.port = *default_port;
        return a;
    }
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || !parse_ip(text.substr(0, colon), a) || a.family != Family::V4 ||
        !parse_port(text.substr(colon + 1), a.port))
        return std::nullopt;
    return a;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    Cidr c;
    auto slash = text.find('/');
    if (!parse_ip(text.substr(0, slash), c.base)) return std::nullopt;
    unsigned max = c.base.family == Family::V4 ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3) return std::nullopt;
        prefix = 0;
        for (char ch : p) {
            if (ch < '0' || ch > '9') return std::nullopt;
            prefix = prefix * 10 + static_cast<unsigned>(ch - '0');
        }
        if (prefix > max) return std::nullopt;
    }
    c.prefix = static_cast<std::uint8_t>(prefix);
    c.base = c.base.canonical(); // "::ffff:10.0.0.0/104" is not offered; a mapped host is IPv4
    if (c.base.family == Family::V4 && max == 128) c.prefix = static_cast<std::uint8_t>(prefix >= 96 ? prefix - 96 : 0);
    return c;
}

bool Cidr::contains(const Address& a) const noexcept {
    if (a.family != base.family) return false;
    unsigned full = prefix / 8, bits = prefix % 8;
    if (std::memcmp(a.ip.data(), base.ip.data(), full) != 0) return false;
    if (bits == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - bits));
    return (a.ip[full] & mask) == (base.ip[full] & mask);
}

std::string Cidr::to_string() const {
    std::string out = base.ip_string();
    out += '/';
    out += std::to_string(prefix);
    return out;
}

std::size_t AddressHash::operator()(const Address& a) const noexcept {
    // FNV-1a over the bytes that matter; fine for tables keyed by client or peer address.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 1099511628211ull; };
    mix(static_cast<std::uint8_t>(a.family));
    for (std::size_t i = 0; i < a.ip_size(); ++i) mix(a.ip[i]);
    mix(static_cast<std::uint8_t>(a.port >> 8));
    mix(static_cast<std::uint8_t>(a.port));
    return static_cast<std::size_t>(h);
}

} // namespace switchboard::stun
