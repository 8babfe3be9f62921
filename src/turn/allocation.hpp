#pragma once
// Allocation: one client's relayed transport address and what it has opened on it (RFC 8656
// §2.2): permissions by peer IP, channels bound to peer addresses, and the lifetimes of each.
// Kept small (the goal is under 2 KB per allocation with its socket): permissions and channels
// are short vectors searched linearly, bounded by the server's limits.
// Not thread-safe; owned by the turn::Server of one loop.
#include "stun/address.hpp"
#include "stun/message.hpp"
#include "turn/credentials.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::turn {

enum class Transport : std::uint8_t { Udp, Tcp, Tls };

/// The client side of the 5-tuple (RFC 8656 §2.2): client address, the server address it
/// reached, and the transport; `conn` tells TCP/TLS connections apart (0 for UDP).
struct ClientTuple {
    stun::Address client;
    stun::Address server;
    Transport transport = Transport::Udp;
    std::uint64_t conn = 0;
    friend bool operator==(const ClientTuple&, const ClientTuple&) = default;
};

struct ClientTupleHash {
    std::size_t operator()(const ClientTuple& t) const noexcept {
        stun::AddressHash h;
        return h(t.client) * 31 + h(t.server) + static_cast<std::size_t>(t.transport) * 7 + static_cast<std::size_t>(t.conn);
    }
};

using RelayId = std::uint32_t; // the I/O layer's handle for the relay socket

struct Permission {
    stun::Address peer; // port ignored (RFC 8656 §9: permissions are per IP)
    std::uint64_t expires_ms;
    // The IP is one of the server's relay addresses: only its live relay ports may be reached.
    bool relay_only = false;
};

struct Channel {
    std::uint16_t number;
    stun::Address peer;
    std::uint64_t expires_ms;
};

struct Allocation {
    ClientTuple tuple;
    RelayId relay = 0;
    stun::Address relayed;
    std::string username;
    Key key{};
    bool sha256 = false; // the client used MESSAGE-INTEGRITY-SHA256; answer in kind
    bool tcp = false;    // an RFC 6062 TCP allocation: Connect and peer connections, no datagrams
    std::uint64_t expires_ms = 0;
    stun::TransactionId allocate_tid{}; // a retransmitted Allocate gets the same answer
    std::vector<Permission> permissions;
    std::vector<Channel> channels;
    // Bandwidth cap (token bucket, bytes), refilled at the configured rate.
    std::uint64_t tokens = 0;
    std::uint64_t tokens_at_ms = 0;

    static bool same_ip(const stun::Address& a, const stun::Address& b) noexcept {
        return a.family == b.family && a.ip == b.ip;
    }
    const Permission* permission(const stun::Address& peer, std::uint64_t now_ms) const noexcept {
        for (const auto& p : permissions)
            if (same_ip(p.peer, peer) && p.expires_ms > now_ms) return &p;
        return nullptr;
    }
    bool permitted(const stun::Address& peer, std::uint64_t now_ms) const noexcept {
        return permission(peer, now_ms) != nullptr;
    }
    /// Installs the permission for `peer`'s IP, or extends the one there. Callers check the
    /// peer against PeerPolicy first, so on the data path a permission is the only gate (and,
    /// for a relay-only one, whether the port is a live relay).
    void permit(const stun::Address& peer, std::uint64_t until_ms, bool relay_only = false) {
        for (auto& p : permissions)
            if (same_ip(p.peer, peer)) {
                p.expires_ms = std::max(p.expires_ms, until_ms);
                return;
            }
        permissions.push_back(Permission{peer, until_ms, relay_only});
    }
    const Channel* channel_by_number(std::uint16_t n, std::uint64_t now_ms) const noexcept {
        for (const auto& c : channels)
            if (c.number == n && c.expires_ms > now_ms) return &c;
        return nullptr;
    }
    const Channel* channel_by_peer(const stun::Address& peer, std::uint64_t now_ms) const noexcept {
        for (const auto& c : channels)
            if (c.peer == peer && c.expires_ms > now_ms) return &c;
        return nullptr;
    }
};

} // namespace switchboard::turn
