#pragma once
// Address: an IP address and port as STUN and TURN carry them, independent of the socket API so
// the codecs stay sans-I/O. IPv4 is kept as 4 bytes; canonical() turns the IPv4-mapped and
// IPv4-compatible IPv6 forms into plain IPv4, which is what every access check must look at
// (a relay policy that compares only the IPv6 form lets ::ffff:127.0.0.1 through).
// A plain value type.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::stun {

enum class Family : std::uint8_t { V4 = 1, V6 = 2 }; // the STUN address family codes

struct Address {
    Family family = Family::V4;
    std::array<std::uint8_t, 16> ip{}; // V4 uses the first 4 bytes; the rest stay zero
    std::uint16_t port = 0;

    static Address v4(std::uint32_t host_order_ip, std::uint16_t port) noexcept;
    std::size_t ip_size() const noexcept { return family == Family::V4 ? 4 : 16; }
    bool is_v4() const noexcept { return family == Family::V4; }
    bool is_unspecified() const noexcept { return ip == std::array<std::uint8_t, 16>{}; }
    /// IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not :: or ::1) IPv6
    /// addresses become IPv4; anything else is returned unchanged.
    Address canonical() const noexcept;
    /// "1.2.3.4:5" or "[::1]:5".
    std::string to_string() const;
    std::string ip_string() const;
    /// Parses "1.2.3.4:5", "[::1]:5" (and, with default_port, "1.2.3.4", "::1").
    static std::optional<Address> parse(std::string_view text, std::optional<std::uint16_t> default_port = {});

    friend bool operator==(const Address&, const Address&) = default;
};

/// An address range ("10.0.0.0/8", "::1/128", a bare address = one host). IPv4 ranges match
/// canonical IPv4 addresses only.
struct Cidr {
    Address base; // port unused
    std::uint8_t prefix = 0;

    static std::optional<Cidr> parse(std::string_view text);
    bool contains(const Address& a) const noexcept; // `a` should be canonical
    std::string to_string() const;
};

struct AddressHash {
    std::size_t operator()(const Address& a) const noexcept;
};

} // namespace switchboard::stun
