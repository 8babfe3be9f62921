#include "turn/server.hpp"

#include "stun/channel_data.hpp"
#include "stun/integrity.hpp"

#include <algorithm>
#include <cstring>

namespace switchboard::turn {

namespace {
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kTcp = 6;
constexpr std::size_t kBuckets = 4096;
constexpr std::size_t kMaxAnswer = 1500;
constexpr std::size_t kMaxPeersPerRequest = 8;

// Attributes this server understands (RFC 8489 §14: any other below 0x8000 fails with 420).
constexpr std::uint16_t kKnown[] = {
    stun::attr::Username,          stun::attr::Realm,           stun::attr::Nonce,
    stun::attr::ErrorCode,         stun::attr::Lifetime,        stun::attr::XorPeerAddress,
    stun::attr::Data,              stun::attr::RequestedTransport, stun::attr::DontFragment,
    stun::attr::RequestedAddressFamily, stun::attr::EvenPort,   stun::attr::ReservationToken,
    stun::attr::ChannelNumber,     stun::attr::XorMappedAddress, stun::attr::Priority,
    stun::attr::UseCandidate,      stun::attr::PasswordAlgorithm, stun::attr::Userhash,
    stun::attr::MappedAddress,     stun::attr::ConnectionId,
};
} // namespace

Server::Server(Host& host, Credentials& creds, const PeerPolicy& policy, UserQuota& quota, Limits limits)
    : host_(host), creds_(creds), policy_(policy), limits_(limits), quota_(quota), buckets_(kBuckets), out_(kMaxAnswer) {}

Server::~Server() {
    for (auto& [tuple, a] : by_tuple_) {
        host_.close_relay(a->relay);
        quota_.release(a->username);
    }
}

const Allocation* Server::find(const ClientTuple& t) const {
    auto it = by_tuple_.find(t);
    return it == by_tuple_.end() ? nullptr : it->second.get();
}

bool Server::allow_unauthenticated(Now now, const stun::Address& from) {
    if (limits_.unauth_per_s == 0) return true;
    stun::Address ip = from.canonical();
    ip.port = 0;
    Bucket& b = buckets_[stun::AddressHash{}(ip) % kBuckets];
    if (b.second != now.unix_s) {
        b.second = now.unix_s;
        b.used = 0;
    }
    if (b.used >= limits_.unauth_per_s) {
        stats_.rate_limited.add();
        return false;
    }
    ++b.used;
    return true;
}

void Server::on_client(Now now, const ClientTuple& from, std::span<const std::uint8_t> bytes) {
    if (bytes.empty()) return;
    if (bytes[0] >= 0x40 && bytes[0] <= 0x7F) return handle_channel_data(now, from, bytes);
    auto m = stun::parse(bytes);
    if (!m) return; // not STUN, or malformed: dropped without an answer (RFC 8489 §6.3)
    if (m->has_fingerprint() && !m->fingerprint_ok()) return;
    if (m->cls() == stun::Class::Request) return handle_request(now, from, *m);
    if (m->cls() == stun::Class::Indication) return handle_indication(now, from, *m);
    // Responses from clients mean nothing to a server.
}

void Server::handle_request(Now now, const ClientTuple& from, const stun::MessageView& m) {
    if (auto unknown = m.unknown_required(kKnown)) {
        if (!allow_unauthenticated(now, from.client)) return;
        std::uint16_t u[] = {*unknown};
        return send_error(now, from, m, 420, "Unknown Attribute", nullptr, u);
    }
    if (m.method() == stun::Method::Binding) {
        if (!allow_unauthenticated(now, from.client)) return;
        return binding(from, m);
    }
    switch (m.method()) {
    case stun::Method::Allocate:
    case stun::Method::Refresh:
    case stun::Method::CreatePermission:
    case stun::Method::ChannelBind:
    case stun::Method::Connect:
    case stun::Method::ConnectionBind: break;
    default:
        if (!allow_unauthenticated(now, from.client)) return;
        return send_error(now, from, m, 400, "Bad Request");
    }
    Auth auth;
    if (!authenticate(now, from, m, auth)) return;
    switch (m.method()) {
    case stun::Method::Allocate: return allocate(now, from, m, auth);
    case stun::Method::Refresh: return refresh(now, from, m, auth);
    case stun::Method::CreatePermission: return create_permission(now, from, m, auth);
    case stun::Method::ChannelBind: return channel_bind(now, from, m, auth);
    case stun::Method::Connect: return connect(now, from, m, auth);
    case stun::Method::ConnectionBind: return connection_bind(now, from, m, auth);
    default: return;
    }
}

void Server::binding(const ClientTuple& from, const stun::MessageView& m) {
    stats_.bindings.add();
    stun::Writer w(out_, stun::Method::Binding, stun::Class::Success, m.transaction_id());
    w.add_xor_address(stun::attr::XorMappedAddress, from.client);
    finish_and_send(from, m, w, nullptr);
}

// RFC 8489 §9.2.4: no integrity -> 401 with realm and nonce; a nonce that is not ours or too
// old -> 438 with a fresh one; a wrong key -> 401. Only then does any state get touched.
bool Server::authenticate(Now now, const ClientTuple& from, const stun::MessageView& m, Auth& out) {
    if (!m.has_integrity() && !m.has_integrity_sha256()) {
        if (allow_unauthenticated(now, from.client)) send_error(now, from, m, 401, "Unauthorized");
        return false;
    }
    auto username = m.text(stun::attr::Username);
    auto realm = m.text(stun::attr::Realm);
    auto nonce = m.text(stun::attr::Nonce);
    if (!username || !realm || !nonce) {
        if (allow_unauthenticated(now, from.client)) send_error(now, from, m, 400, "Bad Request");
        return false;
    }
    if (*realm != creds_.realm() || nonces_.check(*nonce, from.client, now.unix_s) != NonceMaker::Check::Ok) {
        stats_.stale_nonces.add();
        if (allow_unauthenticated(now, from.client)) send_error(now, from, m, 438, "Stale Nonce");
        return false;
    }
    creds_.keys(*username, now.unix_s, keys_);
    for (const Key& k : keys_) {
        bool ok = m.has_integrity_sha256() ? m.integrity_sha256_ok(k) : m.integrity_ok(k);
        if (!ok) continue;
        out.key = k;
        out.sha256 = m.has_integrity_sha256();
        out.username.assign(*username);
        return true;
    }
    stats_.auth_failures.add();
    if (allow_unauthenticated(now, from.client)) send_error(now, from, m, 401, "Unauthorized");
    return false;
}

void Server::finish_and_send(const ClientTuple& to, const stun::MessageView& m, stun::Writer& w, const Auth* auth) {
    if (limits_.software) w.add(stun::attr::Software, std::string_view("switchboard"));
    if (auth) {
        if (auth->sha256) w.add_integrity_sha256(auth->key);
        else w.add_integrity(auth->key);
    }
    if (m.has_fingerprint()) w.add_fingerprint();
    if (std::size_t n = w.finish()) host_.to_client(to, {out_.data(), n});
}

void Server::send_error(Now now, const ClientTuple& to, const stun::MessageView& m, int code, std::string_view reason,
                        const Auth* auth, std::span<const std::uint16_t> unknown) {
    // An answer to an unauthenticated request must not amplify: at most 2.7x the request. The
    // reason phrase is only a diagnostic (RFC 8489 §14.8), so it is the first thing left out.
    std::size_t bound = auth ? out_.size() : m.bytes().size() * 27 / 10;
    for (std::string_view text : {reason, std::string_view()}) {
        stun::Writer w(out_, m.raw_method(), stun::Class::Error, m.transaction_id());
        w.add_error(code, text);
        if (!unknown.empty()) w.add_unknown_attributes(unknown);
        if (code == 401 || code == 438) {
            w.add(stun::attr::Realm, creds_.realm());
            w.add(stun::attr::Nonce, nonces_.make(to.client, now.unix_s));
        }
        std::size_t fixed = w.size() + (m.has_fingerprint() ? 8 : 0) + (limits_.software ? 16 : 0);
        if (fixed > bound) {
            if (!text.empty()) continue;
            // Even the bare answer is too big for so small a request (no real client sends one
            // that small): say nothing rather than amplify.
            stats_.rate_limited.add();
            return;
        }
        stats_.errors_sent.add();
        return finish_and_send(to, m, w, auth);
    }
}

void Server::allocate(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    if (auto it = by_tuple_.find(from); it != by_tuple_.end()) {
        Allocation& a = *it->second;
        if (a.allocate_tid != m.transaction_id() || a.username != auth.username)
            return send_error(now, from, m, 437, "Allocation Mismatch", &auth);
        // A retransmission of the request that made this allocation: answer it again.
        stun::Writer w(out_, stun::Method::Allocate, stun::Class::Success, m.transaction_id());
        w.add_xor_address(stun::attr::XorRelayedAddress, a.relayed);
        w.add_u32(stun::attr::Lifetime, static_cast<std::uint32_t>((a.expires_ms - std::min(a.expires_ms, now.mono_ms)) / 1000));
        w.add_xor_address(stun::attr::XorMappedAddress, from.client);
        return finish_and_send(from, m, w, &auth);
    }
    auto transport = m.u32(stun::attr::RequestedTransport);
    if (!transport) return send_error(now, from, m, 400, "Bad Request: no REQUESTED-TRANSPORT", &auth);
    const std::uint32_t proto = *transport >> 24;
    if (proto != kUdp && proto != kTcp) return send_error(now, from, m, 442, "Unsupported Transport Protocol", &auth);
    // RFC 6062 §5.1: a TCP relay is controlled over TCP, and has no even ports or reservations.
    if (proto == kTcp && (from.transport == Transport::Udp || m.has(stun::attr::EvenPort) ||
                          m.has(stun::attr::ReservationToken) || m.has(stun::attr::DontFragment)))
        return send_error(now, from, m, 400, "Bad Request: TCP relay needs a TCP control connection", &auth);
    stun::Family family = stun::Family::V4;
    if (auto f = m.find(stun::attr::RequestedAddressFamily)) {
        if (f->size() != 4) return send_error(now, from, m, 400, "Bad Request", &auth);
        if ((*f)[0] == 2) family = stun::Family::V6;
        else if ((*f)[0] != 1) return send_error(now, from, m, 440, "Address Family not Supported", &auth);
        if (m.has(stun::attr::AdditionalAddressFamily)) return send_error(now, from, m, 400, "Bad Request", &auth);
    }
    if (by_tuple_.size() >= limits_.max_allocations) return send_error(now, from, m, 508, "Insufficient Capacity", &auth);
    if (!quota_.acquire(auth.username, limits_.max_allocations_per_user))
        return send_error(now, from, m, 486, "Allocation Quota Reached", &auth);
    auto refuse = [&](int code, std::string_view reason) {
        quota_.release(auth.username);
        send_error(now, from, m, code, reason, &auth);
    };
    auto token_attr = m.find(stun::attr::ReservationToken);
    auto even_attr = m.find(stun::attr::EvenPort);
    if (token_attr && (even_attr || m.has(stun::attr::RequestedAddressFamily))) return refuse(400, "Bad Request");
    stun::Address relayed;
    std::optional<RelayId> relay;
    std::uint64_t new_token = 0;
    if (token_attr) {
        // The odd port an earlier Allocate with EVEN-PORT R=1 set aside.
        std::uint64_t token = 0;
        if (token_attr->size() != 8) return refuse(400, "Bad Request");
        std::memcpy(&token, token_attr->data(), 8);
        relay = host_.take_reservation(token, relayed);
        if (!relay) return refuse(508, "Insufficient Capacity: no such reservation");
    } else if (proto == kTcp) {
        relay = host_.open_tcp_relay(family, relayed);
        if (!relay) return refuse(508, "Insufficient Capacity");
    } else if (even_attr && !even_attr->empty() && ((*even_attr)[0] & 0x80)) {
        RelayId id = 0;
        if (!open_with_reservation(family, id, relayed, new_token)) return refuse(508, "Insufficient Capacity");
        relay = id;
    } else {
        relay = host_.open_relay(family, PortRequest{even_attr.has_value(), 0}, relayed);
        if (!relay) return refuse(508, "Insufficient Capacity");
    }
    std::uint32_t lifetime = limits_.default_lifetime_s;
    if (auto l = m.u32(stun::attr::Lifetime)) lifetime = std::clamp(*l, limits_.default_lifetime_s, limits_.max_lifetime_s);
    auto a = std::make_unique<Allocation>();
    a->tuple = from;
    a->relay = *relay;
    a->relayed = relayed;
    a->username = auth.username;
    a->key = auth.key;
    a->sha256 = auth.sha256;
    a->expires_ms = now.mono_ms + lifetime * 1000ull;
    a->allocate_tid = m.transaction_id();
    a->tcp = proto == kTcp;
    a->tokens = limits_.bandwidth_bytes_per_s;
    a->tokens_at_ms = now.mono_ms;
    by_relay_[*relay] = a.get();
    by_tuple_.emplace(from, std::move(a));
    stats_.allocations.set(by_tuple_.size());
    stats_.allocations_total.add();

    stun::Writer w(out_, stun::Method::Allocate, stun::Class::Success, m.transaction_id());
    w.add_xor_address(stun::attr::XorRelayedAddress, relayed);
    w.add_u32(stun::attr::Lifetime, lifetime);
    w.add_xor_address(stun::attr::XorMappedAddress, from.client);
    if (new_token) {
        std::uint8_t t[8];
        std::memcpy(t, &new_token, 8);
        w.add(stun::attr::ReservationToken, t);
    }
    if (m.has(stun::attr::AdditionalAddressFamily)) {
        // Dual allocations (RFC 8656 §7.2) are not offered: say so for the second family.
        std::uint8_t v[] = {0, 0, 4, 40};
        w.add(stun::attr::AddressErrorCode, v);
    }
    finish_and_send(from, m, w, &auth);
}

void Server::refresh(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return send_error(now, from, m, 437, "Allocation Mismatch", &auth);
    Allocation& a = *it->second;
    if (a.username != auth.username) return send_error(now, from, m, 441, "Wrong Credentials", &auth);
    if (auto f = m.find(stun::attr::RequestedAddressFamily)) {
        if (f->size() != 4 || static_cast<stun::Family>((*f)[0]) != a.relayed.family)
            return send_error(now, from, m, 443, "Peer Address Family Mismatch", &auth);
    }
    std::uint32_t lifetime = limits_.default_lifetime_s;
    if (auto l = m.u32(stun::attr::Lifetime)) lifetime = *l == 0 ? 0 : std::clamp(*l, limits_.default_lifetime_s, limits_.max_lifetime_s);
    stun::Writer w(out_, stun::Method::Refresh, stun::Class::Success, m.transaction_id());
    w.add_u32(stun::attr::Lifetime, lifetime);
    Auth keep = auth;
    if (lifetime == 0) {
        // Gone at once, so the client may allocate again from the same address right away
        // (no 437 for a reallocation after Refresh 0).
        remove(&a);
    } else {
        a.expires_ms = now.mono_ms + lifetime * 1000ull;
    }
    finish_and_send(from, m, w, &keep);
}

void Server::create_permission(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return send_error(now, from, m, 437, "Allocation Mismatch", &auth);
    Allocation& a = *it->second;
    if (a.username != auth.username) return send_error(now, from, m, 441, "Wrong Credentials", &auth);
    stun::Address peers[kMaxPeersPerRequest];
    int n = m.xor_addresses(stun::attr::XorPeerAddress, peers);
    if (n <= 0) return send_error(now, from, m, 400, "Bad Request: no XOR-PEER-ADDRESS", &auth);
    // All or nothing (RFC 8656 §9.2): check every peer before installing any.
    bool relay_only[kMaxPeersPerRequest];
    for (int i = 0; i < n; ++i) {
        if (peers[i].family != a.relayed.family) return send_error(now, from, m, 443, "Peer Address Family Mismatch", &auth);
        if (Denial d = judge(peers[i], false, relay_only[i]); d != Denial::None) {
            stats_.denied[static_cast<std::size_t>(d)].add();
            return send_error(now, from, m, 403, "Forbidden", &auth);
        }
    }
    std::uint64_t expires = now.mono_ms + limits_.permission_lifetime_s * 1000ull;
    std::size_t added = 0;
    for (int i = 0; i < n; ++i)
        if (!a.permitted(peers[i], 0)) ++added;
    std::erase_if(a.permissions, [&](const Permission& p) { return p.expires_ms <= now.mono_ms; });
    if (a.permissions.size() + added > limits_.max_permissions) return send_error(now, from, m, 508, "Insufficient Capacity", &auth);
    for (int i = 0; i < n; ++i) a.permit(peers[i], expires, relay_only[i]);
    stun::Writer w(out_, stun::Method::CreatePermission, stun::Class::Success, m.transaction_id());
    finish_and_send(from, m, w, &auth);
}

void Server::channel_bind(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return send_error(now, from, m, 437, "Allocation Mismatch", &auth);
    Allocation& a = *it->second;
    if (a.username != auth.username) return send_error(now, from, m, 441, "Wrong Credentials", &auth);
    if (a.tcp) return send_error(now, from, m, 400, "Bad Request: no channels on a TCP allocation", &auth);
    auto number = m.u32(stun::attr::ChannelNumber);
    auto peer = m.xor_address(stun::attr::XorPeerAddress);
    if (!number || !peer || !stun::valid_channel(static_cast<std::uint16_t>(*number >> 16)))
        return send_error(now, from, m, 400, "Bad Request", &auth);
    auto ch = static_cast<std::uint16_t>(*number >> 16);
    if (peer->family != a.relayed.family) return send_error(now, from, m, 443, "Peer Address Family Mismatch", &auth);
    bool relay_only = false;
    if (Denial d = judge(*peer, true, relay_only); d != Denial::None) {
        stats_.denied[static_cast<std::size_t>(d)].add();
        return send_error(now, from, m, 403, "Forbidden", &auth);
    }
    std::erase_if(a.channels, [&](const Channel& c) { return c.expires_ms <= now.mono_ms; });
    // RFC 8656 §12.2: a channel is bound to one peer and a peer to one channel.
    for (const Channel& c : a.channels)
        if ((c.number == ch) != (c.peer == *peer)) return send_error(now, from, m, 400, "Bad Request: channel or peer bound otherwise", &auth);
    std::uint64_t expires = now.mono_ms + limits_.channel_lifetime_s * 1000ull;
    auto c = std::find_if(a.channels.begin(), a.channels.end(), [&](const Channel& x) { return x.number == ch; });
    bool new_permission = !a.permitted(*peer, now.mono_ms);
    if (c == a.channels.end() && a.channels.size() >= limits_.max_channels)
        return send_error(now, from, m, 508, "Insufficient Capacity", &auth);
    if (new_permission) std::erase_if(a.permissions, [&](const Permission& p) { return p.expires_ms <= now.mono_ms; });
    if (new_permission && a.permissions.size() >= limits_.max_permissions)
        return send_error(now, from, m, 508, "Insufficient Capacity", &auth);
    if (c != a.channels.end()) c->expires_ms = expires;
    else a.channels.push_back(Channel{ch, *peer, expires});
    // Binding a channel installs or refreshes the permission for its peer (§12.2).
    a.permit(*peer, now.mono_ms + limits_.permission_lifetime_s * 1000ull, relay_only);
    stun::Writer w(out_, stun::Method::ChannelBind, stun::Class::Success, m.transaction_id());
    finish_and_send(from, m, w, &auth);
}

bool Server::open_with_reservation(stun::Family family, RelayId& relay, stun::Address& relayed, std::uint64_t& token) {
    // An even port whose odd neighbour is free too; a few tries, as ports come and go.
    for (int attempt = 0; attempt < 8; ++attempt) {
        auto even = host_.open_relay(family, PortRequest{true, 0}, relayed);
        if (!even) return false;
        if (relayed.port != 0xFFFF && host_.reserve(family, static_cast<std::uint16_t>(relayed.port + 1), token)) {
            relay = *even;
            return true;
        }
        host_.close_relay(*even);
    }
    return false;
}

void Server::remove(Allocation* a) {
    std::erase_if(peer_conns_, [a](const auto& kv) { return kv.second.relay == a->relay; });
    host_.close_relay(a->relay);
    by_relay_.erase(a->relay);
    quota_.release(a->username);
    ClientTuple t = a->tuple;
    by_tuple_.erase(t); // destroys *a
    stats_.allocations.set(by_tuple_.size());
}

void Server::compact() {
    by_tuple_.rehash(0); // as few buckets as the remaining allocations need
    by_relay_.rehash(0);
}

void Server::on_client_closed(const ClientTuple& t) {
    if (auto it = by_tuple_.find(t); it != by_tuple_.end()) remove(it->second.get());
}

void Server::tick(Now now) {
    std::vector<Allocation*> expired;
    for (auto& [tuple, a] : by_tuple_) {
        if (a->expires_ms <= now.mono_ms) {
            expired.push_back(a.get());
            continue;
        }
        std::erase_if(a->permissions, [&](const Permission& p) { return p.expires_ms <= now.mono_ms; });
        std::erase_if(a->channels, [&](const Channel& c) { return c.expires_ms <= now.mono_ms; });
    }
    for (Allocation* a : expired) remove(a);
    // Peer connections nobody bound in time (RFC 6062: 30 s), and Connects still waiting.
    for (auto it = peer_conns_.begin(); it != peer_conns_.end();) {
        if (it->second.expires_ms <= now.mono_ms) {
            host_.close_peer(it->first);
            it = peer_conns_.erase(it);
        } else {
            ++it;
        }
    }
}

} // namespace switchboard::turn
