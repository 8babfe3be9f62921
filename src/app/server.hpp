#pragma once
// Server: the loops, their listeners and the application state each loop owns.
#include "app/config.hpp"
#include "app/ice.hpp"
#include "app/stats.hpp"
#include "app/turn_service.hpp"
#include "http/request.hpp"
#include "http/static_files.hpp"
#include "hub/hub.hpp"
#include "net/listener.hpp"
#include "net/loop.hpp"
#include "net/tls.hpp"
#include "signal/rooms.hpp"
#include "ws/connection.hpp"
#include "ws/handshake.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace switchboard::app {

class Server;
class Session;

/// Everything one loop owns. Touched only on that loop's thread, except `stats`, which is read
/// (relaxed) by whichever loop renders /metrics.
struct LoopContext final : hub::ShardHost {
    LoopContext(Server& s, unsigned index);
    // hub::ShardHost
    net::Loop& loop() noexcept override { return loop_; }
    void begin_fanout(const ws::FramedMessage& m) override;
    void end_fanout() override;

    void deliver_broadcast(const ws::FramedMessage& m);
    /// Thread-safe: queues a message framed on another loop for this loop's subscribers.
    /// Messages are handed over in batches: one wake-up (and one task) per batch, not per
    /// message, and the inbox's storage is reused.
    void enqueue_broadcast(const ws::FramedMessage& m);

    Server& server;
    net::Loop loop_;
    hub::Shard* shard = nullptr;
    // Server-API requests waiting for the hub, by ticket (a session that closes leaves).
    std::unordered_map<std::uint64_t, Session*> api_waiting;
    std::uint64_t next_api_ticket = 1;
    ws::LoopCompression compression;
    AppStats stats;
    std::vector<Session*> broadcast; // sessions on /broadcast on this loop
    // The message being fanned out on this loop right now, as loop-local blocks, so that
    // queuing it on each subscriber costs no atomic operation (see net/local_bytes.hpp).
    const std::uint8_t* fanout_plain = nullptr;
    const std::uint8_t* fanout_deflated = nullptr;
    net::LocalBlock* fanout_plain_block = nullptr;
    net::LocalBlock* fanout_deflated_block = nullptr;
    ByteBuffer http_out;             // scratch for HTTP responses
    /// Debug logs about bad peers, at most kDebugLogsPerSecond a second on this loop (hostile
    /// input must not turn into a flood of log lines).
    bool may_log_peer_error();
    static constexpr unsigned kDebugLogsPerSecond = 20;
    net::Clock::time_point log_window{};
    unsigned logs_in_window = 0;
    std::unique_ptr<net::Listener> listener;
    std::unique_ptr<TurnService> turn; // null when STUN/TURN is off
    std::thread thread;

  private:
    void drain_inbox();
    std::mutex inbox_mutex_;
    std::vector<ws::FramedMessage> inbox_, inbox_running_;
};

/// Thread-safe: start/stop from the main thread; everything else runs on the loops.
class Server {
  public:
    explicit Server(Config cfg);
    ~Server();

    /// Binds every listener (throws on failure) and starts the threads of loops 1..n-1.
    /// SIGINT and SIGTERM must already be blocked in the calling thread.
    void start();
    /// Runs loop 0 on the calling thread until SIGINT/SIGTERM and the graceful shutdown that
    /// follows are done (see begin_shutdown), then joins the other loops.
    void run();
    unsigned short port() const noexcept { return port_; }
    /// The STUN/TURN settings, or null when --turn-listen is off.
    const TurnSettings* turn_settings() const noexcept { return turn_settings_ ? &*turn_settings_ : nullptr; }
    /// The UDP/TCP port of STUN/TURN (0 when off).
    std::uint16_t turn_port() const noexcept { return turn_port_; }
    std::uint16_t turn_tls_port() const noexcept { return loops_.empty() || !loops_.front()->turn ? 0 : loops_.front()->turn->tls_port(); }
    /// Replaces the TURN REST secrets everywhere (the first signs, all verify). Thread-safe.
    void set_turn_secrets(std::vector<std::string> secrets);
    std::string url() const;
    /// Graceful stop: no new connections, close 1001 to WebSocket peers; each loop ends when
    /// its connections are gone or the shutdown timeout passed. Thread-safe.
    void begin_shutdown();

    const Config& config() const noexcept { return cfg_; }
    const ws::ConnectionConfig& ws_config() const noexcept { return ws_cfg_; }
    const ws::HandshakeConfig& handshake_config() const noexcept { return handshake_; }
    const http::Limits& http_limits() const noexcept { return http_limits_; }
    const http::StaticFiles& static_files() const noexcept { return statics_; }
    const net::TlsContext* tls() const noexcept { return tls_.get(); }
    bool compression_enabled() const noexcept { return handshake_.deflate.mode != ws::CompressionMode::Off; }
    hub::Hub& hub() noexcept { return *hub_; }
    std::vector<LoopContext*> loops() const;

    /// Frames once and hands the same bytes to every /broadcast session on every loop.
    void broadcast(LoopContext& origin, ws::Opcode op, std::span<const std::uint8_t> payload);
    /// Broadcast subscribers that negotiated permessage-deflate; none: don't compress at all.
    std::atomic<int>& deflate_subscribers() noexcept { return deflate_subscribers_; }

  private:
    void on_accept(LoopContext& ctx, int fd);
    void tick(LoopContext& ctx);

    Config cfg_;
    ws::ConnectionConfig ws_cfg_;
    ws::HandshakeConfig handshake_;
    http::Limits http_limits_;
    http::StaticFiles statics_;
    std::unique_ptr<net::TlsContext> tls_;
    TurnReservations turn_reservations_; // before loops_: their TURN services refer to these
    turn::UserQuota turn_quota_;
    turn::RelayPorts turn_relay_ports_;
    IceServers ice_;                     // before hub_, which mints with it
    std::unique_ptr<signal::Rooms> rooms_; // before loops_: their clients leave rooms as they close
    std::vector<std::unique_ptr<LoopContext>> loops_;
    std::unique_ptr<hub::Hub> hub_; // after loops_, so it goes first: shards refer to the loops
    unsigned short port_ = 0;
    std::optional<TurnSettings> turn_settings_;
    std::uint16_t turn_port_ = 0;
    std::atomic<int> deflate_subscribers_{0};
};

/// The CPUs this process may run on (its affinity mask), at least 1.
unsigned available_cpus();

} // namespace switchboard::app
