#pragma once
// turn::Server: the STUN/TURN server of one loop, sans-I/O (RFC 8489 Binding, RFC 8656 TURN,
// RFC 6156 IPv6). The I/O layer hands it what arrives from clients (STUN or ChannelData, per
// 5-tuple) and on relay sockets (per peer), and it answers through Host: bytes to a client, bytes
// to a peer, relay sockets to open and close. Time comes in with every call.
//
// Safe by default: nothing is kept for a client before it authenticates (stateless nonces);
// unauthenticated answers are small and rate-limited per source address; peers are checked by
// PeerPolicy on their canonical address; allocations per user, permissions and channels per
// allocation, and bytes per second are bounded.
// Not thread-safe; one per loop. Allocations live on the loop whose socket received them.
#include "base/counter.hpp"
#include "stun/message.hpp"
#include "turn/allocation.hpp"
#include "turn/credentials.hpp"
#include "turn/policy.hpp"
#include "turn/quota.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard::turn {

/// Which port a relay socket should get: any, an even one (RFC 8656 EVEN-PORT), or exactly one
/// (the odd port after a reserved even one).
struct PortRequest {
    bool even = false;
    std::uint16_t exact = 0;
};

class Host {
  public:
    /// Opens a relay socket of `family` on the port asked for; sets `relayed` to its address.
    /// nullopt when that port, any port or a descriptor is not to be had.
    virtual std::optional<RelayId> open_relay(stun::Family family, PortRequest port, stun::Address& relayed) = 0;
    virtual void close_relay(RelayId id) = 0;
    /// Holds `port` of `family` aside for a later Allocate with RESERVATION-TOKEN (RFC 8656
    /// §7.2), for about 30 s; sets `token`. Reservations are the host's, not one loop's: the
    /// Allocate that uses one may come from another client address, hence another loop.
    virtual bool reserve(stun::Family family, std::uint16_t port, std::uint64_t& token) = 0;
    /// Opens the relay reserved under `token` (once); nullopt if there is none or it expired.
    virtual std::optional<RelayId> take_reservation(std::uint64_t token, stun::Address& relayed) = 0;

    // TCP allocations (RFC 6062). A TCP relay is a listening socket on the relayed address;
    // close_relay() on one also closes its peer connections and the data connections bound to
    // them.
    virtual std::optional<RelayId> open_tcp_relay(stun::Family family, stun::Address& relayed) = 0;
    /// Starts a TCP connection from the relay's address to `peer`; the outcome comes back
    /// through Server::on_peer_connected(connection, ...).
    virtual void connect_peer(RelayId relay, std::uint32_t connection, const stun::Address& peer) = 0;
    virtual void close_peer(std::uint32_t connection) = 0;
    /// From now on the client's data connection `data` and peer connection `connection` are
    /// one pipe: bytes go across unchanged, and when one side closes so does the other.
    virtual void bind_data(std::uint32_t connection, const ClientTuple& data) = 0;
    virtual void to_client(const ClientTuple& to, std::span<const std::uint8_t> bytes) = 0;
    virtual void to_peer(RelayId from, const stun::Address& peer, std::span<const std::uint8_t> bytes) = 0;
    /// Whether a relay socket (of any loop) holds `relayed`'s port now; the caller has checked
    /// that the IP is one of the relay addresses. A host without relays of its own says no.
    virtual bool relay_live(const stun::Address& relayed) const {
        (void)relayed;
        return false;
    }

  protected:
    ~Host() = default;
};

struct Limits {
    std::uint32_t default_lifetime_s = 600; // RFC 8656 §7.2
    std::uint32_t max_lifetime_s = 3600;
    std::uint32_t permission_lifetime_s = 300; // fixed by RFC 8656 §9
    std::uint32_t channel_lifetime_s = 600;    // fixed by RFC 8656 §12
    std::uint32_t connection_bind_s = 30;      // RFC 6062 §5.2, §5.3
    std::size_t max_peer_connections = 32;     // per TCP allocation, not yet bound
    std::size_t max_allocations = 50000;       // per loop; then 508
    std::size_t max_allocations_per_user = 16; // 0: unlimited; then 486
    std::size_t max_permissions = 32;          // per allocation; then 508
    std::size_t max_channels = 32;             // per allocation; then 508
    std::uint64_t bandwidth_bytes_per_s = 0;   // per allocation, each way summed; 0: unlimited
    std::uint32_t unauth_per_s = 100;          // unauthenticated answers per source IP per second
    bool software = false;                     // send SOFTWARE (off: say nothing about us)
};

struct Stats {
    Counter allocations; // gauge
    Counter allocations_total;
    Counter bindings;
    Counter packets_to_peer, bytes_to_peer;
    Counter packets_to_client, bytes_to_client;
    Counter dropped_no_permission, dropped_bandwidth;
    Counter auth_failures, stale_nonces, rate_limited;
    Counter errors_sent;
    std::array<Counter, static_cast<std::size_t>(Denial::Count)> denied;
};

class Server {
  public:
    struct Now {
        std::uint64_t mono_ms;  // steady clock, for lifetimes
        std::uint64_t unix_s;   // wall clock, for REST usernames and nonces
    };

    Server(Host& host, Credentials& creds, const PeerPolicy& policy, UserQuota& quota, Limits limits);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// A datagram from a client (UDP), or one frame cut by stun::frame_length (TCP/TLS).
    void on_client(Now now, const ClientTuple& from, std::span<const std::uint8_t> bytes);
    /// A datagram that arrived on relay socket `relay` from `peer`.
    void on_peer(Now now, RelayId relay, const stun::Address& peer, std::span<const std::uint8_t> bytes);
    /// A TCP/TLS client connection closed: its allocation goes with it (RFC 8656 §7.1).
    void on_client_closed(const ClientTuple& t);
    /// The TCP connection Host::connect_peer started is up (or failed): the Connect is answered.
    void on_peer_connected(Now now, std::uint32_t connection, bool ok);
    /// A peer connected to TCP relay `relay`. Returns the connection's id when it is let in
    /// (a permission exists for the peer's address; the client is told with a
    /// ConnectionAttempt), nullopt when the host must close it.
    std::optional<std::uint32_t> on_peer_accepted(Now now, RelayId relay, const stun::Address& peer);
    /// Expires allocations, permissions and channels; call about once a second.
    void tick(Now now);

    const Stats& stats() const noexcept { return stats_; }
    Stats& stats() noexcept { return stats_; }
    std::size_t allocation_count() const noexcept { return by_tuple_.size(); }
    const Allocation* find(const ClientTuple& t) const;
    /// Gives back the tables' spare room after many allocations ended (the host then returns
    /// the freed memory to the system).
    void compact();

  private:
    struct Auth {
        Key key{};
        bool sha256 = false;
        std::string username;
    };
    void handle_request(Now now, const ClientTuple& from, const stun::MessageView& m);
    void handle_indication(Now now, const ClientTuple& from, const stun::MessageView& m);
    void handle_channel_data(Now now, const ClientTuple& from, std::span<const std::uint8_t> bytes);
    bool authenticate(Now now, const ClientTuple& from, const stun::MessageView& m, Auth& out);
    void allocate(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    void refresh(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    void create_permission(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    void channel_bind(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    void binding(const ClientTuple& from, const stun::MessageView& m);
    void connect(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    void connection_bind(Now now, const ClientTuple& from, const stun::MessageView& m, const Auth& a);
    /// Signs and sends an answer to `a`'s client that is not the reply to a request in hand.
    void send_to_allocation(const Allocation& a, stun::Writer& w);

    /// Error answer; 401/438 carry REALM and NONCE, authenticated ones are signed.
    void send_error(Now now, const ClientTuple& to, const stun::MessageView& m, int code, std::string_view reason,
                    const Auth* auth = nullptr, std::span<const std::uint16_t> unknown = {});
    void finish_and_send(const ClientTuple& to, const stun::MessageView& m, stun::Writer& w, const Auth* auth);
    bool allow_unauthenticated(Now now, const stun::Address& from);
    bool spend(Allocation& a, std::size_t bytes, std::uint64_t now_ms);
    /// The policy's verdict on `peer`, except that the server's relay addresses are let through
    /// with `relay_only` set: the permission earned reaches live relays at that IP and nothing
    /// else there. A permission's port means nothing (RFC 8656 §9.1: clients may send 0), so
    /// only a channel (`exact_port`) is judged by its port up front.
    Denial judge(const stun::Address& peer, bool exact_port, bool& relay_only) const;
    /// The data-path gate for client-to-peer packets: a permission, and for a relay-only one a
    /// live relay at that port (counted as an own-address denial otherwise).
    bool may_send(const Allocation& a, const stun::Address& peer, std::uint64_t now_ms);
    void remove(Allocation* a);

    Host& host_;
    Credentials& creds_;
    const PeerPolicy& policy_;
    Limits limits_;
    NonceMaker nonces_;
    Stats stats_;
    std::unordered_map<ClientTuple, std::unique_ptr<Allocation>, ClientTupleHash> by_tuple_;
    std::unordered_map<RelayId, Allocation*> by_relay_;
    UserQuota& quota_;
    bool open_with_reservation(stun::Family family, RelayId& relay, stun::Address& relayed, std::uint64_t& token);

    // RFC 6062 peer connections not yet bound to a client data connection.
    struct PeerConnection {
        ClientTuple control;        // the allocation's client
        RelayId relay;
        stun::Address peer;
        stun::TransactionId connect_tid{}; // the Connect waiting for the outcome (connecting)
        bool connecting = false;
        std::uint64_t expires_ms = 0;      // ConnectionBind must come by then (30 s)
    };
    std::unordered_map<std::uint32_t, PeerConnection> peer_conns_;
    std::uint32_t next_connection_ = 1;
    // Per-source answer budget: a fixed table indexed by a hash of the IP (bounded memory; two
    // addresses that collide share a budget, which errs on the side of answering less).
    struct Bucket {
        std::uint64_t second = 0;
        std::uint32_t used = 0;
    };
    std::vector<Bucket> buckets_;
    std::vector<std::uint8_t> out_;     // scratch for one answer
    std::vector<Key> keys_;             // scratch for credential lookup
};

} // namespace switchboard::turn
