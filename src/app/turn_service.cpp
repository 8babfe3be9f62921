#include "app/turn_service.hpp"

#include "app/turn_tcp.hpp"

#include "base/byte_buffer.hpp"
#include "base/log.hpp"
#include "net/stream.hpp"
#include "stun/message.hpp"

#include <arpa/inet.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <sys/socket.h>

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace switchboard::app {

stun::Address to_stun(const sockaddr_storage& a) noexcept {
    stun::Address out;
    if (a.ss_family == AF_INET6) {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(&a);
        out.family = stun::Family::V6;
        std::memcpy(out.ip.data(), &s->sin6_addr, 16);
        out.port = ntohs(s->sin6_port);
    } else {
        const auto* s = reinterpret_cast<const sockaddr_in*>(&a);
        out.family = stun::Family::V4;
        std::memcpy(out.ip.data(), &s->sin_addr, 4);
        out.port = ntohs(s->sin_port);
    }
    return out;
}

sockaddr_storage to_sockaddr(const stun::Address& a) noexcept {
    sockaddr_storage out{};
    if (a.family == stun::Family::V6) {
        auto* s = reinterpret_cast<sockaddr_in6*>(&out);
        s->sin6_family = AF_INET6;
        std::memcpy(&s->sin6_addr, a.ip.data(), 16);
        s->sin6_port = htons(a.port);
    } else {
        auto* s = reinterpret_cast<sockaddr_in*>(&out);
        s->sin_family = AF_INET;
        std::memcpy(&s->sin_addr, a.ip.data(), 4);
        s->sin_port = htons(a.port);
    }
    return out;
}

TurnSettings TurnSettings::from(const Config& c) {
    TurnSettings s;
    s.limits.max_allocations_per_user = c.turn_max_allocations_per_user;
    s.limits.bandwidth_bytes_per_s = c.turn_bandwidth;
    s.limits.unauth_per_s = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.turn_unauth_rate, 1u << 30));
    s.realm = c.turn_realm;
    for (const auto& u : c.turn_users) {
        auto colon = u.find(':');
        s.users.emplace_back(u.substr(0, colon), u.substr(colon + 1));
    }
    s.secrets = c.turn_secrets;
    for (const auto& r : c.turn_allow_peers) s.policy.allow(*stun::Cidr::parse(r));
    s.listen = net::parse_endpoint(c.turn_listen);
    if (c.turn_tls_listen != "off") {
        if (!c.turn_tls_listen.empty()) s.tls_listen = net::parse_endpoint(c.turn_tls_listen);
        else if (!c.tls_cert.empty()) s.tls_listen = net::Endpoint{s.listen.host, static_cast<unsigned short>(s.listen.port ? 5349 : 0)};
    }
    s.relay_ip = c.turn_relay_ip.empty() ? s.listen.host : c.turn_relay_ip;
    // A wildcard relay address cannot be advertised; relay on it but tell clients loopback
    // unless an external address is configured.
    s.external_ip = c.turn_external_ip;
    if (s.external_ip.empty() && (s.relay_ip == "0.0.0.0" || s.relay_ip == "::")) s.external_ip = s.relay_ip == "::" ? "::1" : "127.0.0.1";
    // Relaying to our own addresses would let a client reach services bound to them.
    for (const std::string& ip : {s.listen.host, s.relay_ip, s.external_ip})
        if (auto a = stun::Address::parse(ip, 0); a && ip != "0.0.0.0" && ip != "::") s.policy.add_own(*a);
    // ... except other allocations' live relays on the addresses clients are told.
    for (auto family : {stun::Family::V4, stun::Family::V6})
        if (auto r = s.relay_address(family); r && !r->told.is_unspecified()) s.policy.add_relay(r->told);
    return s;
}

std::optional<TurnSettings::RelayAddress> TurnSettings::relay_address(stun::Family family) const {
    auto bound = stun::Address::parse(relay_ip_for(family), 0);
    if (!bound) return std::nullopt;
    RelayAddress r{*bound, *bound};
    if (r.local.is_unspecified()) r.local = *stun::Address::parse(family == stun::Family::V6 ? "::1" : "127.0.0.1", 0);
    if (auto ext = stun::Address::parse(external_ip, 0); ext && ext->family == family) r.told = *ext;
    return r;
}

std::string TurnSettings::relay_ip_for(stun::Family family) const {
    bool v6 = relay_ip.find(':') != std::string::npos;
    if (family == stun::Family::V6 && !v6) return relay_ip == "127.0.0.1" ? "::1" : "::";
    if (family == stun::Family::V4 && v6) return relay_ip == "::1" ? "127.0.0.1" : "0.0.0.0";
    return relay_ip;
}

TurnReservations::~TurnReservations() {
    for (auto& [token, e] : held_) ::close(e.fd);
}

bool TurnReservations::add(int fd, std::uint64_t& token, net::Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (held_.size() >= kMax) return false;
    do {
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&token), sizeof token) != 1) return false;
    } while (token == 0 || held_.count(token));
    held_[token] = Entry{fd, now + kLifetime};
    return true;
}

int TurnReservations::take(std::uint64_t token, net::Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = held_.find(token);
    if (it == held_.end()) return -1;
    int fd = it->second.fd;
    bool live = it->second.expires > now;
    held_.erase(it);
    if (!live) {
        ::close(fd);
        return -1;
    }
    return fd;
}

void TurnReservations::expire(net::Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto it = held_.begin(); it != held_.end();) {
        if (it->second.expires <= now) {
            ::close(it->second.fd);
            it = held_.erase(it);
        } else {
            ++it;
        }
    }
}

TurnService::TurnService(net::Loop& loop, const TurnSettings& settings, TurnReservations& reservations,
                         turn::UserQuota& quota, turn::RelayPorts& relay_ports, const net::TlsContext* tls,
                         std::uint16_t udp_port, bool accept_tcp)
    : loop_(loop), settings_(settings), reservations_(reservations), relay_ports_(relay_ports), tls_ctx_(tls),
      creds_(settings.realm), server_(*this, creds_, settings.policy, quota, settings.limits) {
    sync_clock();
    for (auto family : {stun::Family::V4, stun::Family::V6})
        if (auto r = settings.relay_address(family); r && r->mapped()) mapped_relay_[family == stun::Family::V6] = r;
    for (const auto& [name, password] : settings.users) creds_.add_user(name, password);
    creds_.set_secrets(settings.secrets);
    sockaddr_storage at;
    if (!net::make_sockaddr(settings.listen.host, udp_port ? udp_port : settings.listen.port, at))
        throw std::runtime_error("turn-listen: bad address " + settings.listen.host);
    if (udp_port == 0 && settings.listen.port != 0) {
        for (int type : {SOCK_DGRAM, SOCK_STREAM})
            if (int e = net::port_taken(settings.listen, type))
                throw std::runtime_error("STUN/TURN cannot use " + settings.listen.to_string() +
                                         (type == SOCK_DGRAM ? " (UDP): " : " (TCP): ") + std::strerror(e) +
                                         " (another server there? --turn-listen HOST:PORT or off)");
    }
    net::Endpoint tcp_at = settings.listen;
    for (int attempt = 0;; ++attempt) {
        udp_ = std::make_unique<net::UdpSocket>(loop, at, true, *this, udp_stats_);
        udp_->set_batch(&batch_);
        udp_local_ = to_stun(udp_->local());
        if (!accept_tcp) return;
        // The TCP listener takes the UDP port when that was picked freely (port 0), as clients
        // expect one port for both.
        tcp_at.port = udp_local_.port;
        try {
            tcp_ = std::make_unique<net::Listener>(loop, tcp_at, [this](int fd) { accept(fd, false); });
            break;
        } catch (const std::runtime_error&) {
            // A freely picked UDP port whose TCP twin is taken (an ephemeral connection's port):
            // pick another pair.
            if (settings.listen.port != 0 || udp_port != 0 || attempt >= 20) throw;
            udp_.reset();
        }
    }
    if (settings.tls_listen && tls_ctx_) {
        tls_listener_ = std::make_unique<net::Listener>(loop, *settings.tls_listen, [this](int fd) { accept(fd, true); });
    }
}

TurnService::~TurnService() {
    destroying_ = true; // server_'s destructor closes relays: no posting to the loop then
    for (auto& [id, c] : conns_) c->detach();
    for (auto& [id, c] : peers_) c->detach();
}

std::uint16_t TurnService::udp_port() const noexcept { return udp_local_.port; }

void TurnService::start() {
    if (tcp_) tcp_->start();
    if (tls_listener_) tls_listener_->start();
}

void TurnService::stop() {
    if (tcp_) tcp_->stop();
    if (tls_listener_) tls_listener_->stop();
    // Shutdown: TURN over TCP has no goodbye to send, and the loop ends once its streams are
    // gone, so these close now (their allocations go with them).
    std::vector<net::Stream*> open;
    for (auto& [id, c] : conns_) open.push_back(c);
    for (auto& [id, c] : peers_) open.push_back(c);
    for (net::Stream* s : open)
        if (!s->closed()) s->close();
}

turn::Server::Now TurnService::now() const {
    // Per datagram: the loop's cached steady time, and wall-clock seconds derived from it with
    // an offset taken once a second (a clock call per packet showed in profiles).
    auto mono = std::chrono::duration_cast<std::chrono::milliseconds>(loop_.now().time_since_epoch()).count();
    return {static_cast<std::uint64_t>(mono), static_cast<std::uint64_t>(mono / 1000 + unix_offset_s_)};
}

void TurnService::sync_clock() {
    auto unix_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto mono_s = std::chrono::duration_cast<std::chrono::seconds>(loop_.now().time_since_epoch()).count();
    unix_offset_s_ = unix_s - mono_s;
}

void TurnService::tick() {
    sync_clock();
    server_.tick(now());
    reservations_.expire(loop_.now());
    // Memory goes back to the system after allocations end: once at most half of the peak is
    // left (and at least 256 went), the tables shrink and the allocator returns free pages.
    std::size_t n = server_.allocation_count();
    peak_allocations_ = std::max(peak_allocations_, n);
    if (peak_allocations_ >= n + 256 && n <= peak_allocations_ / 2) {
        server_.compact();
        while (!relays_.empty() && !relays_.back()) relays_.pop_back();
        std::erase_if(free_ids_, [this](turn::RelayId id) { return id > relays_.size(); });
        relays_.shrink_to_fit();
        free_ids_.shrink_to_fit();
        ::malloc_trim(0);
        peak_allocations_ = n;
    }
}

void TurnService::accept(int fd, bool tls) {
    sockaddr_storage peer{}, local{};
    socklen_t len = sizeof peer;
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len);
    len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    std::uint64_t id = next_conn_++;
    turn::ClientTuple t{to_stun(peer), to_stun(local), tls ? turn::Transport::Tls : turn::Transport::Tcp, id};
    std::unique_ptr<net::TlsSession> session;
    if (tls) session = std::make_unique<net::TlsSession>(*tls_ctx_);
    auto* c = new TurnConnection(*this, loop_, fd, std::move(session), t); // owned by the loop from start()
    conns_[id] = c;
    c->start();
}

void TurnService::on_stream_message(TurnConnection& c, std::span<const std::uint8_t> bytes) {
    server_.on_client(now(), c.tuple(), bytes);
    batch_.flush(); // relayed to UDP peers: out now, not with the next UDP batch
}

void TurnService::on_stream_closed(TurnConnection& c) {
    conns_.erase(c.tuple().conn);
    server_.on_client_closed(c.tuple());
}

void TurnService::on_datagram(net::UdpSocket& socket, const sockaddr_storage& from, std::span<const std::uint8_t> bytes) {
    if (&socket == udp_.get()) {
        turn::ClientTuple t{to_stun(from), udp_local_, turn::Transport::Udp, 0};
        server_.on_client(now(), t, bytes);
        return;
    }
    server_.on_peer(now(), socket.tag(), from_local_relay(to_stun(from)), bytes);
}

stun::Address TurnService::to_local_relay(const stun::Address& peer) const {
    const auto& r = mapped_relay_[peer.family == stun::Family::V6];
    return r ? swap_relay_ip(peer, r->told, r->local) : peer;
}

stun::Address TurnService::from_local_relay(const stun::Address& source) const {
    const auto& r = mapped_relay_[source.family == stun::Family::V6];
    return r ? swap_relay_ip(source, r->local, r->told) : source;
}

stun::Address TurnService::swap_relay_ip(const stun::Address& a, const stun::Address& from, const stun::Address& to) const {
    if (a.family != from.family || a.ip != from.ip || !relay_live(a)) return a;
    stun::Address out = to;
    out.port = a.port;
    return out;
}

void TurnService::track(const net::UdpSocket& relay, bool live) {
    stun::Address a = to_stun(relay.local());
    if (live) relay_ports_.add(a.family, a.port);
    else relay_ports_.remove(a.family, a.port);
}

stun::Address TurnService::advertised(stun::Address local) const {
    if (!settings_.external_ip.empty()) {
        auto ext = stun::Address::parse(settings_.external_ip, local.port);
        if (ext && ext->family == local.family) return *ext;
    }
    return local;
}

turn::RelayId TurnService::new_relay_id() {
    if (!free_ids_.empty()) {
        turn::RelayId id = free_ids_.back();
        free_ids_.pop_back();
        return id;
    }
    relays_.emplace_back();
    return static_cast<turn::RelayId>(relays_.size());
}

std::optional<turn::RelayId> TurnService::open_relay(stun::Family family, turn::PortRequest port, stun::Address& relayed) {
    sockaddr_storage at;
    if (!net::make_sockaddr(relay_ip(family), port.exact, at)) return std::nullopt;
    turn::RelayId id = new_relay_id();
    std::unique_ptr<net::UdpSocket> s;
    // EVEN-PORT (RFC 8656 §14.6): a few tries at an even ephemeral port.
    for (int attempt = 0; attempt < (port.even ? 16 : 1); ++attempt) {
        s = net::UdpSocket::try_open(loop_, at, *this, udp_stats_, id);
        if (!s || !port.even || to_stun(s->local()).port % 2 == 0) break;
        s.reset();
    }
    if (!s) {
        free_ids_.push_back(id);
        return std::nullopt;
    }
    s->set_batch(&batch_);
    relayed = advertised(to_stun(s->local()));
    track(*s, true);
    relays_[id - 1] = std::move(s);
    return id;
}

bool TurnService::reserve(stun::Family family, std::uint16_t port, std::uint64_t& token) {
    sockaddr_storage at;
    if (!net::make_sockaddr(relay_ip(family), port, at)) return false;
    int fd = net::bind_udp(at, false);
    if (fd < 0) return false;
    if (!reservations_.add(fd, token, loop_.now())) {
        ::close(fd);
        return false;
    }
    return true;
}

std::optional<turn::RelayId> TurnService::take_reservation(std::uint64_t token, stun::Address& relayed) {
    int fd = reservations_.take(token, loop_.now());
    if (fd < 0) return std::nullopt;
    turn::RelayId id = new_relay_id();
    auto s = net::UdpSocket::adopt(loop_, fd, *this, udp_stats_, id);
    s->set_batch(&batch_);
    relayed = advertised(to_stun(s->local()));
    track(*s, true);
    relays_[id - 1] = std::move(s);
    return id;
}

void TurnService::close_relay(turn::RelayId id) {
    if (tcp_relays_.count(id)) return close_tcp_relay(id);
    if (id == 0 || id > relays_.size() || !relays_[id - 1]) return;
    track(*relays_[id - 1], false);
    relays_[id - 1]->close();
    graveyard_.push_back(std::move(relays_[id - 1]));
    free_ids_.push_back(id);
    schedule_reap();
}

void TurnService::schedule_reap() {
    if (reap_posted_ || destroying_) return;
    reap_posted_ = true;
    // After this turn's events, none of which may name a closed socket any more.
    loop_.post([this] {
        graveyard_.clear();
        listener_graveyard_.clear();
        reap_posted_ = false;
    });
}

void TurnService::to_client(const turn::ClientTuple& to, std::span<const std::uint8_t> bytes) {
    if (to.transport == turn::Transport::Udp) {
        batch_.add(*udp_, to_sockaddr(to.client), bytes);
        return;
    }
    if (auto it = conns_.find(to.conn); it != conns_.end()) it->second->send_frame(bytes);
}

void TurnService::to_peer(turn::RelayId from, const stun::Address& peer, std::span<const std::uint8_t> bytes) {
    if (from == 0 || from > relays_.size() || !relays_[from - 1]) return;
    batch_.add(*relays_[from - 1], to_sockaddr(to_local_relay(peer)), bytes);
}

} // namespace switchboard::app
