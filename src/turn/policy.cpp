#include "turn/policy.hpp"

namespace switchboard::turn {

std::string_view to_string(Denial d) noexcept {
    switch (d) {
    case Denial::None: return "none";
    case Denial::Loopback: return "loopback";
    case Denial::Unspecified: return "unspecified";
    case Denial::Private: return "private";
    case Denial::LinkLocal: return "link_local";
    case Denial::Metadata: return "metadata";
    case Denial::Multicast: return "multicast";
    case Denial::Reserved: return "reserved";
    case Denial::Own: return "own_address";
    case Denial::Count: break;
    }
    return "?";
}

PeerPolicy::PeerPolicy() {
    // Most specific first: the first matching rule names the reason.
    const struct {
        const char* cidr;
        Denial why;
    } rules[] = {
        {"169.254.169.254/32", Denial::Metadata}, // AWS, GCP, Azure, OpenStack metadata
        {"fd00:ec2::254/128", Denial::Metadata},  // AWS metadata over IPv6
        {"127.0.0.0/8", Denial::Loopback},
        {"::1/128", Denial::Loopback},
        {"0.0.0.0/8", Denial::Unspecified}, // "this network"; 0.0.0.0 reaches the local host
        {"::/128", Denial::Unspecified},
        {"10.0.0.0/8", Denial::Private},
        {"172.16.0.0/12", Denial::Private},
        {"192.168.0.0/16", Denial::Private},
        {"100.64.0.0/10", Denial::Private}, // RFC 6598 shared address space (carrier NAT)
        {"fc00::/7", Denial::Private},      // unique local
        {"169.254.0.0/16", Denial::LinkLocal},
        {"fe80::/10", Denial::LinkLocal},
        {"224.0.0.0/4", Denial::Multicast},
        {"ff00::/8", Denial::Multicast},
        {"255.255.255.255/32", Denial::Multicast}, // limited broadcast
        {"240.0.0.0/4", Denial::Reserved},
        {"192.0.0.0/24", Denial::Reserved},     // IETF protocol assignments
        {"198.18.0.0/15", Denial::Reserved},    // benchmarking
        {"192.0.2.0/24", Denial::Reserved},     // documentation (TEST-NET-1..3)
        {"198.51.100.0/24", Denial::Reserved},
        {"203.0.113.0/24", Denial::Reserved},
        {"64:ff9b:1::/48", Denial::Reserved},   // local-use NAT64
        {"2001:db8::/32", Denial::Reserved},    // documentation
        {"::ffff:0:0:0/96", Denial::Reserved},  // SIIT translated form
        {"100::/64", Denial::Reserved},         // discard-only
    };
    for (const auto& r : rules)
        if (auto c = stun::Cidr::parse(r.cidr)) deny_.push_back(Rule{*c, r.why});
}

Denial PeerPolicy::check(const stun::Address& peer) const noexcept {
    stun::Address a = peer.canonical();
    for (const auto& c : allowed_)
        if (c.contains(a)) return Denial::None;
    for (const auto& r : deny_)
        if (r.range.contains(a)) return r.why;
    for (const auto& own : own_)
        if (own.family == a.family && own.ip == a.ip) return Denial::Own;
    return Denial::None;
}

bool PeerPolicy::relay_address(const stun::Address& peer) const noexcept {
    for (const auto& r : relay_)
        if (r.family == peer.family && r.ip == peer.ip) return true;
    return false;
}

} // namespace switchboard::turn
