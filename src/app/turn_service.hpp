#pragma once
// TurnService: the STUN/TURN server of one loop, wired to sockets. It owns the loop's share of
// the UDP listener (SO_REUSEPORT: the kernel keeps one client's datagrams on one loop), the TCP
// and TLS connections accepted for TURN, and the relay sockets of the allocations made here, and
// implements turn::Host for the sans-I/O turn::Server.
// Not thread-safe; lives on its loop. set_secrets() is posted to it from elsewhere.
#include "app/config.hpp"
#include "net/listener.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "net/udp_socket.hpp"
#include "turn/relay_ports.hpp"
#include "turn/server.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace switchboard::app {

class TurnConnection;
class PeerConnection;

/// Ports held aside for a later Allocate with RESERVATION-TOKEN, shared by every loop: the
/// Allocate that takes one may come from another client address and so reach another loop. A
/// held port is a bound socket registered with no loop (nothing arrives for it to handle).
/// Thread-safe.
class TurnReservations {
  public:
    static constexpr std::size_t kMax = 4096;
    static constexpr std::chrono::seconds kLifetime{30}; // RFC 8656 §7.2
    TurnReservations() = default;
    ~TurnReservations();
    TurnReservations(const TurnReservations&) = delete;
    TurnReservations& operator=(const TurnReservations&) = delete;
    /// Keeps `fd` under a new random token; false (fd untouched) when full.
    bool add(int fd, std::uint64_t& token, net::Clock::time_point now);
    /// The fd held under `token` (removed), or -1.
    int take(std::uint64_t token, net::Clock::time_point now);
    void expire(net::Clock::time_point now);

  private:
    struct Entry {
        int fd;
        net::Clock::time_point expires;
    };
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, Entry> held_;
};

/// What every loop's TURN service shares, fixed at start-up.
struct TurnSettings {
    turn::Limits limits;
    turn::PeerPolicy policy;
    std::string realm;
    std::vector<std::pair<std::string, std::string>> users;
    std::vector<std::string> secrets;
    net::Endpoint listen;
    std::optional<net::Endpoint> tls_listen;
    std::string relay_ip;
    std::string external_ip; // empty: advertise the relay address itself
    static TurnSettings from(const Config& c);
    /// The address relay sockets of `family` bind to (may be the wildcard).
    std::string relay_ip_for(stun::Family family) const;
    /// Where the relays of one family are, seen from this machine and from clients.
    struct RelayAddress {
        stun::Address local; // reaches them from here (a wildcard bind: loopback)
        stun::Address told;  // what clients are told: the external address, else the bound one
        /// Packets between two of our relays must take `local` instead of `told` (and show
        /// `told` again on arrival): a NAT seldom loops its public address back.
        bool mapped() const noexcept { return !told.is_unspecified() && told.ip != local.ip; }
    };
    std::optional<RelayAddress> relay_address(stun::Family family) const;
};

class TurnService final : public turn::Host, public net::DatagramHandler {
  public:
    /// Binds the UDP socket and, with `accept_tcp`, the TCP (and TLS) listeners; throws
    /// std::runtime_error on failure. Port 0 in the settings picks a free port; pass the first
    /// loop's UDP port to the others. TURN over TCP and TLS is served by one loop only: an
    /// RFC 6062 client's control and data connections must meet on the loop that holds its
    /// allocation, and the kernel would spread them over loops.
    TurnService(net::Loop& loop, const TurnSettings& settings, TurnReservations& reservations, turn::UserQuota& quota,
                turn::RelayPorts& relay_ports, const net::TlsContext* tls, std::uint16_t udp_port, bool accept_tcp);
    ~TurnService();
    TurnService(const TurnService&) = delete;
    TurnService& operator=(const TurnService&) = delete;

    void start(); // accept TCP/TLS (on the loop's thread)
    void stop();  // no new TCP/TLS connections
    void tick();  // once a second: lifetimes
    void set_secrets(std::vector<std::string> secrets) { creds_.set_secrets(std::move(secrets)); }

    std::uint16_t udp_port() const noexcept;
    std::uint16_t tcp_port() const noexcept { return tcp_ ? tcp_->port() : 0; }
    std::uint16_t tls_port() const noexcept { return tls_listener_ ? tls_listener_->port() : 0; }
    const turn::Stats& stats() const noexcept { return server_.stats(); }
    const net::UdpStats& udp_stats() const noexcept { return udp_stats_; }
    std::size_t connections() const noexcept { return conns_.size(); }
    bool has_allocation(const turn::ClientTuple& t) const { return server_.find(t) != nullptr; }

    // turn::Host
    std::optional<turn::RelayId> open_relay(stun::Family family, turn::PortRequest port, stun::Address& relayed) override;
    void close_relay(turn::RelayId id) override;
    void to_client(const turn::ClientTuple& to, std::span<const std::uint8_t> bytes) override;
    void to_peer(turn::RelayId from, const stun::Address& peer, std::span<const std::uint8_t> bytes) override;
    bool relay_live(const stun::Address& relayed) const override { return relay_ports_.live(relayed.family, relayed.port); }
    bool reserve(stun::Family family, std::uint16_t port, std::uint64_t& token) override;
    std::optional<turn::RelayId> take_reservation(std::uint64_t token, stun::Address& relayed) override;
    std::optional<turn::RelayId> open_tcp_relay(stun::Family family, stun::Address& relayed) override;
    void connect_peer(turn::RelayId relay, std::uint32_t connection, const stun::Address& peer) override;
    void close_peer(std::uint32_t connection) override;
    void bind_data(std::uint32_t connection, const turn::ClientTuple& data) override;
    // net::DatagramHandler
    void on_datagram(net::UdpSocket& socket, const sockaddr_storage& from, std::span<const std::uint8_t> bytes) override;

    // For TurnConnection.
    void on_stream_message(TurnConnection& c, std::span<const std::uint8_t> bytes);
    void on_stream_closed(TurnConnection& c);
    // For PeerConnection.
    void on_peer_connect_result(PeerConnection& c, bool ok);
    void on_peer_closed(PeerConnection& c);
    void count_tcp_relayed(std::size_t bytes, bool to_peer);
    turn::Server::Now now() const;

  private:
    void accept(int fd, bool tls);
    void sync_clock();
    void accept_peer(turn::RelayId relay, int fd);
    void close_tcp_relay(turn::RelayId id);
    void schedule_reap();
    turn::RelayId new_relay_id();
    std::string relay_ip(stun::Family family) const { return settings_.relay_ip_for(family); }
    stun::Address advertised(stun::Address local) const;
    void track(const net::UdpSocket& relay, bool live);
    // Between two of our relays behind an external address (--turn-external-ip) packets go to
    // the local address (TurnSettings::RelayAddress::mapped); the sender's local address is
    // shown as the external one again on arrival, which is what the receiver's client made its
    // permission for.
    stun::Address to_local_relay(const stun::Address& peer) const;
    stun::Address from_local_relay(const stun::Address& source) const;
    /// `a` with `from`'s IP replaced by `to`'s, when it names a live relay there.
    stun::Address swap_relay_ip(const stun::Address& a, const stun::Address& from, const stun::Address& to) const;

    net::Loop& loop_;
    const TurnSettings& settings_;
    TurnReservations& reservations_;
    turn::RelayPorts& relay_ports_;
    std::optional<TurnSettings::RelayAddress> mapped_relay_[2]; // by family (V4, V6), when mapped
    const net::TlsContext* tls_ctx_;
    // Relays by id (index + 1); closed ones wait in the graveyard until the turn is over, since
    // this turn's events may still name them. Declared before server_, which closes its
    // allocations' relays when it goes.
    std::vector<std::unique_ptr<net::UdpSocket>> relays_;
    std::vector<turn::RelayId> free_ids_;
    std::vector<std::unique_ptr<net::UdpSocket>> graveyard_;
    bool reap_posted_ = false;
    bool destroying_ = false;
    net::UdpStats udp_stats_;
    net::UdpSendBatch batch_; // before the sockets that point at it
    turn::Credentials creds_;
    turn::Server server_;
    std::unique_ptr<net::UdpSocket> udp_;
    stun::Address udp_local_;
    std::unique_ptr<net::Listener> tcp_, tls_listener_;
    std::uint64_t next_conn_ = 1;
    std::size_t peak_allocations_ = 0;
    std::int64_t unix_offset_s_ = 0; // wall clock minus the loop's steady clock, in seconds
    std::unordered_map<std::uint64_t, TurnConnection*> conns_;
    // RFC 6062: TCP relays (a listening socket on the relayed address each) and their peer
    // connections; the streams are owned by the loop.
    struct TcpRelay {
        std::unique_ptr<net::Listener> listener;
        sockaddr_storage local{};
    };
    std::unordered_map<turn::RelayId, TcpRelay> tcp_relays_;
    std::unordered_map<std::uint32_t, PeerConnection*> peers_;
    std::vector<std::unique_ptr<net::Listener>> listener_graveyard_;
};

/// sockaddr <-> stun::Address.
stun::Address to_stun(const sockaddr_storage& a) noexcept;
sockaddr_storage to_sockaddr(const stun::Address& a) noexcept;

} // namespace switchboard::app
