// RFC 6062 TCP allocations in turn::Server: Connect (the server opens a TCP connection from the
// relayed address to a peer), peers connecting in (ConnectionAttempt to the client), and
// ConnectionBind, which turns a new client data connection into a pipe to one peer connection.
// The sockets are the host's; here are the rules and the waiting.
#include "turn/server.hpp"

#include <algorithm>
#include <cstring>

namespace switchboard::turn {

void Server::send_to_allocation(const Allocation& a, stun::Writer& w) {
    if (a.sha256) w.add_integrity_sha256(a.key);
    else w.add_integrity(a.key);
    w.add_fingerprint();
    if (std::size_t n = w.finish()) host_.to_client(a.tuple, {out_.data(), n});
}

// RFC 6062 §5.2.
void Server::connect(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return send_error(now, from, m, 437, "Allocation Mismatch", &auth);
    Allocation& a = *it->second;
    if (a.username != auth.username) return send_error(now, from, m, 441, "Wrong Credentials", &auth);
    if (!a.tcp) return send_error(now, from, m, 400, "Bad Request: not a TCP allocation", &auth);
    auto peer = m.xor_address(stun::attr::XorPeerAddress);
    if (!peer) return send_error(now, from, m, 400, "Bad Request: no XOR-PEER-ADDRESS", &auth);
    if (peer->family != a.relayed.family) return send_error(now, from, m, 443, "Peer Address Family Mismatch", &auth);
    if (Denial d = policy_.check(*peer); d != Denial::None) {
        stats_.denied[static_cast<std::size_t>(d)].add();
        return send_error(now, from, m, 403, "Forbidden", &auth);
    }
    std::size_t pending = 0;
    for (const auto& [id, pc] : peer_conns_) {
        if (pc.relay != a.relay) continue;
        if (pc.peer == *peer) return send_error(now, from, m, 446, "Connection Already Exists", &auth);
        ++pending;
    }
    if (pending >= limits_.max_peer_connections) return send_error(now, from, m, 508, "Insufficient Capacity", &auth);
    // Connecting to a peer is permission for it to send (and to connect back).
    if (a.permitted(*peer, 0) || a.permissions.size() < limits_.max_permissions)
        a.permit(*peer, now.mono_ms + limits_.permission_lifetime_s * 1000ull);
    std::uint32_t id = next_connection_++;
    if (id == 0) id = next_connection_++;
    // The outcome waits at most as long as a bind would (RFC 6062: at least 30 s).
    peer_conns_[id] = PeerConnection{from, a.relay, *peer, m.transaction_id(), true,
                                     now.mono_ms + limits_.connection_bind_s * 1000ull};
    host_.connect_peer(a.relay, id, *peer);
}

void Server::on_peer_connected(Now now, std::uint32_t connection, bool ok) {
    auto it = peer_conns_.find(connection);
    if (it == peer_conns_.end() || !it->second.connecting) return;
    PeerConnection& pc = it->second;
    auto at = by_tuple_.find(pc.control);
    if (at == by_tuple_.end()) { // the allocation went while connecting
        host_.close_peer(connection);
        peer_conns_.erase(it);
        return;
    }
    const Allocation& a = *at->second;
    if (!ok) {
        stun::Writer w(out_, stun::Method::Connect, stun::Class::Error, pc.connect_tid);
        w.add_error(447, "Connection Timeout or Failure");
        stats_.errors_sent.add();
        peer_conns_.erase(it);
        host_.close_peer(connection);
        return send_to_allocation(a, w);
    }
    pc.connecting = false;
    pc.expires_ms = now.mono_ms + limits_.connection_bind_s * 1000ull;
    stun::Writer w(out_, stun::Method::Connect, stun::Class::Success, pc.connect_tid);
    w.add_u32(stun::attr::ConnectionId, connection);
    send_to_allocation(a, w);
}

// RFC 6062 §5.3.
std::optional<std::uint32_t> Server::on_peer_accepted(Now now, RelayId relay, const stun::Address& peer) {
    auto it = by_relay_.find(relay);
    if (it == by_relay_.end()) return std::nullopt;
    Allocation& a = *it->second;
    if (!a.permitted(peer, now.mono_ms)) {
        stats_.dropped_no_permission.add();
        return std::nullopt;
    }
    std::size_t pending = 0;
    for (const auto& [id, pc] : peer_conns_) pending += pc.relay == relay;
    if (pending >= limits_.max_peer_connections) return std::nullopt;
    std::uint32_t id = next_connection_++;
    if (id == 0) id = next_connection_++;
    peer_conns_[id] = PeerConnection{a.tuple, relay, peer, {}, false, now.mono_ms + limits_.connection_bind_s * 1000ull};
    stun::TransactionId tid{};
    std::memcpy(tid.data(), &id, sizeof id);
    std::memcpy(tid.data() + 4, &now.mono_ms, sizeof now.mono_ms);
    stun::Writer w(out_, stun::Method::ConnectionAttempt, stun::Class::Indication, tid);
    w.add_u32(stun::attr::ConnectionId, id);
    w.add_xor_address(stun::attr::XorPeerAddress, peer);
    w.add_fingerprint();
    if (std::size_t n = w.finish()) host_.to_client(a.tuple, {out_.data(), n});
    return id;
}

// RFC 6062 §5.4: arrives on a new TCP connection of the client, not on the control connection.
void Server::connection_bind(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& auth) {
    if (from.transport == Transport::Udp) return send_error(now, from, m, 400, "Bad Request: ConnectionBind needs TCP", &auth);
    auto id = m.u32(stun::attr::ConnectionId);
    if (!id) return send_error(now, from, m, 400, "Bad Request: no CONNECTION-ID", &auth);
    auto it = peer_conns_.find(*id);
    if (it == peer_conns_.end() || it->second.connecting)
        return send_error(now, from, m, 400, "Bad Request: no such connection", &auth);
    auto at = by_tuple_.find(it->second.control);
    if (at == by_tuple_.end()) return send_error(now, from, m, 400, "Bad Request: no such connection", &auth);
    if (at->second->username != auth.username) return send_error(now, from, m, 441, "Wrong Credentials", &auth);
    if (by_tuple_.count(from)) return send_error(now, from, m, 400, "Bad Request: a control connection", &auth);
    peer_conns_.erase(it);
    stun::Writer w(out_, stun::Method::ConnectionBind, stun::Class::Success, m.transaction_id());
    finish_and_send(from, m, w, &auth); // the answer goes out before the connection turns into a pipe
    host_.bind_data(*id, from);
}

} // namespace switchboard::turn
