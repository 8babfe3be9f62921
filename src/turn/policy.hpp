#pragma once
// PeerPolicy: which peer addresses a TURN allocation may relay to. Denied by default: loopback,
// unspecified, private (RFC 1918, RFC 6598 shared, ULA), link-local, the cloud metadata address,
// multicast and broadcast, reserved ranges, and the server's own addresses; an allow-list opens
// ranges (tests open loopback). Every check looks at the canonical address, so an IPv4-mapped
// IPv6 peer (::ffff:127.0.0.1) is judged as the IPv4 address it is.
// Not thread-safe; built once from the config and then read-only (one copy per loop is fine).
#include "stun/address.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace switchboard::turn {

enum class Denial : std::uint8_t {
    None,
    Loopback,
    Unspecified,
    Private,
    LinkLocal,
    Metadata,
    Multicast,
    Reserved,
    Own, // one of the server's own addresses
    Count,
};
std::string_view to_string(Denial d) noexcept;

class PeerPolicy {
  public:
    PeerPolicy(); // the default deny list, nothing allowed on top
    /// Opens a range even if a default rule denies it (--turn-allow-peer).
    void allow(const stun::Cidr& c) { allowed_.push_back(c); }
    /// The server's own addresses (listeners, relay addresses, the advertised external IP).
    void add_own(const stun::Address& a) { own_.push_back(a.canonical()); }
    /// An address relays are handed out on (what clients are told): own, yet another
    /// allocation's live relay port on it may be reached (the Server asks its Host which ports
    /// are live), so two clients relaying through this server can talk.
    void add_relay(const stun::Address& a) {
        add_own(a);
        relay_.push_back(a.canonical());
    }
    /// Why `peer` may not be reached, or Denial::None.
    Denial check(const stun::Address& peer) const noexcept;
    /// Whether `peer`'s IP is, as written, one added with add_relay(). Clients are told relayed
    /// addresses in plain form, so a mapped form (::ffff:a.b.c.d) never is one.
    bool relay_address(const stun::Address& peer) const noexcept;

  private:
    struct Rule {
        stun::Cidr range;
        Denial why;
    };
    std::vector<Rule> deny_;
    std::vector<stun::Cidr> allowed_;
    std::vector<stun::Address> own_;
    std::vector<stun::Address> relay_;
};

} // namespace switchboard::turn
