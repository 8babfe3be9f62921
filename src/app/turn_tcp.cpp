#include "app/turn_tcp.hpp"

#include "app/turn_service.hpp"
#include "stun/message.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace switchboard::app {

// ---- PipeStream ------------------------------------------------------------------------------

bool PipeStream::forward(std::span<const std::uint8_t> bytes) {
    if (!partner_) return false;
    partner_->send(bytes);
    if (partner_ && partner_->buffered_amount() > kPipeBacklog) pause_reading(true); // resumed on its drain
    return true;
}

void PipeStream::on_drained() {
    if (partner_) partner_->pause_reading(false);
}

void PipeStream::unpipe() {
    if (!partner_) return;
    PipeStream* p = partner_;
    partner_ = nullptr;
    p->partner_ = nullptr;
    p->ending_since_ = p->loop().now();
    p->end(); // its unwritten bytes go out, then it closes too
}

void PipeStream::close_if_ended_long_ago(net::Clock::time_point now) {
    if (ending() && !closed() && now - ending_since_ >= kEndGrace) close();
}

// ---- TurnConnection --------------------------------------------------------------------------

void TurnConnection::send_frame(std::span<const std::uint8_t> bytes) {
    if (buffered_amount() > kMaxBacklog) return; // a client that does not read loses data, not memory
    send(bytes);
}

void TurnConnection::on_tick(net::Clock::time_point now) {
    close_if_ended_long_ago(now);
    if (closed() || !svc_ || piped() || now - last_rx_ < kIdleWithoutAllocation) return;
    if (!svc_->has_allocation(tuple_)) close();
}

void TurnConnection::on_data(std::span<std::uint8_t> bytes) {
    last_rx_ = loop().now();
    if (piped()) { // a data connection: the bytes are the application's
        if (svc_) svc_->count_tcp_relayed(bytes.size(), true);
        forward(bytes);
        return;
    }
    std::span<const std::uint8_t> in = bytes;
    if (!pending_.empty()) {
        pending_.append(bytes);
        in = pending_.span();
    }
    std::size_t used = 0;
    while (used < in.size()) {
        auto n = stun::frame_length(in.subspan(used));
        if (!n) { // neither STUN nor ChannelData: not a TURN client
            close();
            return;
        }
        if (*n == 0 || *n > in.size() - used) break;
        if (svc_) svc_->on_stream_message(*this, in.subspan(used, *n));
        if (closed()) return;
        used += *n;
        if (piped()) {
            // ConnectionBind made this a data connection: what follows is for the peer.
            auto rest = in.subspan(used);
            if (!rest.empty()) {
                if (svc_) svc_->count_tcp_relayed(rest.size(), true);
                forward(rest);
            }
            pending_.clear();
            return;
        }
    }
    std::span<const std::uint8_t> rest = in.subspan(used);
    if (rest.size() > kMaxFrame) {
        close();
        return;
    }
    if (pending_.empty()) pending_.append(rest);
    else {
        ByteBuffer keep;
        keep.append(rest);
        pending_ = std::move(keep);
    }
}

void TurnConnection::on_close() {
    unpipe();
    if (svc_) svc_->on_stream_closed(*this);
}

// ---- PeerConnection --------------------------------------------------------------------------

void PeerConnection::connected(bool ok) {
    connecting_ = false;
    if (svc_) svc_->on_peer_connect_result(*this, ok);
}

void PeerConnection::on_io(std::uint32_t events) {
    if (connecting_ && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        if (closed() || ::getsockopt(native_fd(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = EIO;
        connected(err == 0);
        if (err != 0 || closed()) return;
    }
    net::Stream::on_io(events);
}

void PeerConnection::on_tick(net::Clock::time_point now) {
    close_if_ended_long_ago(now);
    if (!closed() && connecting_ && now - since_ >= kConnectTimeout) connected(false);
}

void PeerConnection::on_data(std::span<std::uint8_t> bytes) {
    if (svc_) svc_->count_tcp_relayed(bytes.size(), false);
    forward(bytes);
}

void PeerConnection::on_close() {
    unpipe();
    if (svc_) svc_->on_peer_closed(*this);
}

// ---- TurnService: the RFC 6062 host ----------------------------------------------------------

std::optional<turn::RelayId> TurnService::open_tcp_relay(stun::Family family, stun::Address& relayed) {
    turn::RelayId id = new_relay_id();
    std::unique_ptr<net::Listener> l;
    try {
        l = std::make_unique<net::Listener>(loop_, net::Endpoint{relay_ip(family), 0}, [this, id](int fd) { accept_peer(id, fd); });
    } catch (const std::exception&) {
        free_ids_.push_back(id);
        return std::nullopt;
    }
    l->start();
    TcpRelay r;
    std::string ip = relay_ip(family);
    if (!net::make_sockaddr(ip, l->port(), r.local)) {
        free_ids_.push_back(id);
        return std::nullopt;
    }
    r.listener = std::move(l);
    relayed = advertised(to_stun(r.local));
    tcp_relays_[id] = std::move(r);
    return id;
}

void TurnService::accept_peer(turn::RelayId relay, int fd) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
    auto id = server_.on_peer_accepted(now(), relay, to_stun(peer));
    if (!id) {
        ::close(fd);
        return;
    }
    auto* c = new PeerConnection(*this, loop_, fd, *id, relay, false); // owned by the loop
    peers_[*id] = c;
    c->start();
    c->pause_reading(true); // until a data connection is bound to it
}

void TurnService::connect_peer(turn::RelayId relay, std::uint32_t connection, const stun::Address& peer) {
    auto it = tcp_relays_.find(relay);
    sockaddr_storage to = to_sockaddr(peer);
    int fd = it == tcp_relays_.end() ? -1 : ::socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0;
    if (ok) {
        // From the relayed address itself (RFC 6062 §5.2), which the listener holds too.
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&it->second.local), net::sockaddr_length(it->second.local)) == 0 &&
             (::connect(fd, reinterpret_cast<const sockaddr*>(&to), net::sockaddr_length(to)) == 0 || errno == EINPROGRESS);
    }
    if (!ok) {
        if (fd >= 0) ::close(fd);
        server_.on_peer_connected(now(), connection, false);
        return;
    }
    auto* c = new PeerConnection(*this, loop_, fd, connection, relay, true); // owned by the loop
    peers_[connection] = c;
    c->start();
    c->pause_reading(true);
}

void TurnService::on_peer_connect_result(PeerConnection& c, bool ok) {
    server_.on_peer_connected(now(), c.id(), ok);
    if (!ok && !c.closed()) c.close();
}

void TurnService::close_peer(std::uint32_t connection) {
    auto it = peers_.find(connection);
    if (it == peers_.end()) return;
    PeerConnection* c = it->second;
    if (!c->closed()) c->close(); // on_close removes it from peers_
}

void TurnService::bind_data(std::uint32_t connection, const turn::ClientTuple& data) {
    auto p = peers_.find(connection);
    auto d = conns_.find(data.conn);
    if (p == peers_.end() || d == conns_.end()) {
        close_peer(connection);
        return;
    }
    p->second->pipe_to(d->second);
    d->second->pipe_to(p->second);
    p->second->pause_reading(false);
}

void TurnService::on_peer_closed(PeerConnection& c) { peers_.erase(c.id()); }

void TurnService::close_tcp_relay(turn::RelayId id) {
    auto it = tcp_relays_.find(id);
    if (it == tcp_relays_.end()) return;
    it->second.listener->stop();
    listener_graveyard_.push_back(std::move(it->second.listener));
    tcp_relays_.erase(it);
    std::vector<PeerConnection*> of_relay;
    for (auto& [cid, c] : peers_)
        if (c->relay() == id) of_relay.push_back(c);
    for (PeerConnection* c : of_relay) c->close(); // and the data connections piped to them end
    free_ids_.push_back(id);
    schedule_reap();
}

void TurnService::count_tcp_relayed(std::size_t bytes, bool to_peer) {
    auto& st = server_.stats();
    if (to_peer) st.bytes_to_peer.add(bytes);
    else st.bytes_to_client.add(bytes);
}

} // namespace switchboard::app
