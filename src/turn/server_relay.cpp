// The data path of turn::Server: Send indications and ChannelData from clients to peers, peer
// datagrams back as Data indications or ChannelData, and the per-allocation byte budget. Kept
// apart from the request handling in server.cpp: this is what runs per packet.
#include "turn/server.hpp"

#include "stun/channel_data.hpp"

#include <algorithm>
#include <cstring>

namespace switchboard::turn {

bool Server::spend(Allocation& a, std::size_t bytes, std::uint64_t now_ms) {
    if (limits_.bandwidth_bytes_per_s == 0) return true;
    std::uint64_t cap = limits_.bandwidth_bytes_per_s; // a one-second burst
    a.tokens = std::min(cap, a.tokens + (now_ms - a.tokens_at_ms) * limits_.bandwidth_bytes_per_s / 1000);
    a.tokens_at_ms = now_ms;
    if (a.tokens < bytes) {
        stats_.dropped_bandwidth.add();
        return false;
    }
    a.tokens -= bytes;
    return true;
}

Denial Server::judge(const stun::Address& peer, bool exact_port, bool& relay_only) const {
    relay_only = false;
    Denial d = policy_.check(peer);
    if (d != Denial::None && policy_.relay_address(peer) && (!exact_port || host_.relay_live(peer))) {
        relay_only = true;
        return Denial::None;
    }
    return d;
}

bool Server::may_send(const Allocation& a, const stun::Address& peer, std::uint64_t now_ms) {
    const Permission* p = a.permission(peer, now_ms);
    if (!p) {
        stats_.dropped_no_permission.add();
        return false;
    }
    // The relay may have gone since the permission was made; its port may be someone else's.
    if (p->relay_only && !host_.relay_live(peer)) {
        stats_.denied[static_cast<std::size_t>(Denial::Own)].add();
        return false;
    }
    return true;
}

void Server::handle_indication(Now now, const ClientTuple& from, const stun::MessageView& m) {
    if (m.method() != stun::Method::Send) return;
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return;
    Allocation& a = *it->second;
    auto peer = m.xor_address(stun::attr::XorPeerAddress);
    auto data = m.find(stun::attr::Data);
    if (!peer || !data) return;
    // Indications get no answer: what is not permitted is dropped and counted (RFC 8656 §10.2).
    // Permissions exist only for peers the policy allowed, so no policy check per packet.
    if (!may_send(a, *peer, now.mono_ms)) return;
    if (!spend(a, data->size(), now.mono_ms)) return;
    stats_.packets_to_peer.add();
    stats_.bytes_to_peer.add(data->size());
    host_.to_peer(a.relay, *peer, *data);
}

void Server::handle_channel_data(Now now, const ClientTuple& from, std::span<const std::uint8_t> bytes) {
    auto cd = stun::parse_channel_data(bytes);
    if (!cd) return;
    auto it = by_tuple_.find(from);
    if (it == by_tuple_.end()) return;
    Allocation& a = *it->second;
    const Channel* c = a.channel_by_number(cd->channel, now.mono_ms);
    if (!c) {
        stats_.dropped_no_permission.add();
        return;
    }
    if (!may_send(a, c->peer, now.mono_ms)) return;
    if (!spend(a, cd->data.size(), now.mono_ms)) return;
    stats_.packets_to_peer.add();
    stats_.bytes_to_peer.add(cd->data.size());
    host_.to_peer(a.relay, c->peer, cd->data);
}

void Server::on_peer(Now now, RelayId relay, const stun::Address& peer, std::span<const std::uint8_t> bytes) {
    auto it = by_relay_.find(relay);
    if (it == by_relay_.end()) return;
    Allocation& a = *it->second;
    if (!a.permitted(peer, now.mono_ms)) {
        stats_.dropped_no_permission.add();
        return;
    }
    if (bytes.size() > 0xFFFF - 64 || !spend(a, bytes.size(), now.mono_ms)) return;
    std::size_t n;
    if (const Channel* c = a.channel_by_peer(peer, now.mono_ms)) {
        // Over a stream the frame is padded to 4 bytes (RFC 8656 §12.5).
        std::size_t pad = a.tuple.transport == Transport::Udp ? 0 : (4 - bytes.size() % 4) % 4;
        n = 4 + bytes.size() + pad;
        if (out_.size() < n) out_.resize(n);
        stun::write_channel_header(out_.data(), c->number, static_cast<std::uint16_t>(bytes.size()));
        std::memcpy(out_.data() + 4, bytes.data(), bytes.size());
        std::memset(out_.data() + 4 + bytes.size(), 0, pad);
    } else {
        if (out_.size() < bytes.size() + 64) out_.resize(bytes.size() + 64);
        stun::TransactionId tid{};
        // Indications need no unique id for the server's sake; a counter keeps them distinct.
        static thread_local std::uint64_t seq = 0;
        ++seq;
        std::memcpy(tid.data(), &seq, sizeof seq);
        stun::Writer w(out_, stun::Method::Data, stun::Class::Indication, tid);
        w.add_xor_address(stun::attr::XorPeerAddress, peer);
        w.add(stun::attr::Data, bytes);
        n = w.finish();
        if (n == 0) return;
    }
    stats_.packets_to_client.add();
    stats_.bytes_to_client.add(bytes.size());
    host_.to_client(a.tuple, {out_.data(), n});
}

} // namespace switchboard::turn
