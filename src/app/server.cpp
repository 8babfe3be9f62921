#include "app/server.hpp"
#include "app/version.hpp"

#include "app/session.hpp"
#include "base/for_each_self_removing.hpp"
#include "base/log.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <functional>
#include <random>
#include <cstdio>
#include <stdexcept>

namespace switchboard::app {

unsigned available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? static_cast<unsigned>(n) : 1;
}

LoopContext::LoopContext(Server& s, unsigned index)
    : server(s), loop_(index), compression(static_cast<int>(s.config().compression_mem_level)) {}

void LoopContext::begin_fanout(const ws::FramedMessage& m) {
    // One loop-local reference for all of this loop's subscribers (see net/local_bytes.hpp).
    fanout_plain_block = loop_.local_pool().adopt(m.plain);
    net::LocalPool::retain(fanout_plain_block);
    fanout_plain = m.plain.data();
    if (m.deflated) {
        fanout_deflated_block = loop_.local_pool().adopt(m.deflated);
        net::LocalPool::retain(fanout_deflated_block);
        fanout_deflated = m.deflated.data();
    }
}

void LoopContext::end_fanout() {
    if (fanout_plain_block) net::LocalPool::release(fanout_plain_block);
    if (fanout_deflated_block) net::LocalPool::release(fanout_deflated_block);
    fanout_plain = fanout_deflated = nullptr;
    fanout_plain_block = fanout_deflated_block = nullptr;
}

bool LoopContext::may_log_peer_error() {
    if (!log::enabled(log::Level::Debug)) return false;
    auto now = loop_.now();
    if (now - log_window >= std::chrono::seconds(1)) {
        log_window = now;
        logs_in_window = 0;
    }
    return ++logs_in_window <= kDebugLogsPerSecond;
}

void LoopContext::enqueue_broadcast(const ws::FramedMessage& m) {
    bool wake;
    {
        std::lock_guard lock(inbox_mutex_);
        wake = inbox_.empty();
        inbox_.push_back(m);
    }
    if (wake) loop_.post([this] { drain_inbox(); });
}

void LoopContext::drain_inbox() {
    {
        std::lock_guard lock(inbox_mutex_);
        inbox_running_.swap(inbox_);
    }
    for (const auto& m : inbox_running_) deliver_broadcast(m);
    inbox_running_.clear(); // keeps its capacity for the next batch
}

void LoopContext::deliver_broadcast(const ws::FramedMessage& m) {
    begin_fanout(m);
    // A delivery may close a slow consumer, which removes it from the list.
    for_each_self_removing(broadcast, [&m](Session* s) { s->deliver(m); });
    end_fanout();
}

namespace {
hub::HubConfig hub_config(const Config& c) {
    hub::HubConfig h;
    for (const auto& spec : c.namespaces) h.namespaces.set(hub::parse_namespace_spec(spec));
    h.allow_anonymous = c.allow_anonymous;
    h.max_channels_per_connection = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.max_channels_per_connection, 1u << 20));
    h.max_publication_size = static_cast<std::uint32_t>(c.max_publication_size);
    h.publish_rate = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.publish_rate, 1u << 30));
    h.max_connections_per_user = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.max_connections_per_user, 1u << 30));
    h.max_connections_per_ip = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.max_connections_per_ip, 1u << 30));
    h.connect_timeout = static_cast<std::uint32_t>(std::min<std::uint64_t>(c.connect_timeout, 3600));
    h.data_dir = c.data;
    h.sync_full = c.durability == "full";
    h.version = kVersion;
    return h;
}

auth::Verifier make_verifier(const Config& c) {
    auth::Verifier v;
    if (!c.token_secret.empty()) v.set_hmac_secret(c.token_secret);
    for (const auto& file : c.token_public_keys) {
        std::ifstream in(file);
        if (!in) throw std::runtime_error("cannot read token public key " + file);
        std::stringstream pem;
        pem << in.rdbuf();
        v.add_public_key_pem(pem.str());
    }
    v.set_options(auth::VerifierOptions{c.token_audience, c.token_issuer, 0});
    return v;
}
} // namespace

Server::Server(Config cfg) : cfg_(std::move(cfg)), statics_(cfg_.static_dir) {
    ws_cfg_.max_message_size = cfg_.max_message_size;
    ws_cfg_.compression_threshold = cfg_.compression_threshold;
    ws_cfg_.ping_interval = std::chrono::seconds(cfg_.ping_interval);
    ws_cfg_.idle_timeout = std::chrono::seconds(cfg_.idle_timeout);
    ws_cfg_.close_timeout = std::chrono::seconds(cfg_.close_timeout);
    ws_cfg_.max_send_buffer = cfg_.max_send_buffer;
    handshake_.allowed_origins = cfg_.allowed_origins;
    handshake_.subprotocols = cfg_.subprotocols;
    handshake_.deflate.mode = cfg_.compression == "off"      ? ws::CompressionMode::Off
                              : cfg_.compression == "shared" ? ws::CompressionMode::Shared
                                                             : ws::CompressionMode::Dedicated;
    handshake_.deflate.max_window_bits = static_cast<int>(cfg_.compression_window_bits);
    handshake_.deflate.mem_level = static_cast<int>(cfg_.compression_mem_level);
    http_limits_.max_request_line = cfg_.max_request_line;
    http_limits_.max_head_size = cfg_.max_header_size;
    http_limits_.max_headers = cfg_.max_headers;
    http_limits_.max_body_size = cfg_.max_body_size;
    if (!cfg_.tls_cert.empty()) tls_ = std::make_unique<net::TlsContext>(cfg_.tls_cert, cfg_.tls_key);
    // The client protocol's subprotocol is always offered (docs/protocol.md).
    if (std::find(handshake_.subprotocols.begin(), handshake_.subprotocols.end(), "switchboard.v1.json") ==
        handshake_.subprotocols.end())
        handshake_.subprotocols.push_back("switchboard.v1.json");
    auto hc = hub_config(cfg_);
    if (cfg_.turn_listen != "off") {
        // Without a configured secret the server makes one, so the ICE servers it hands out
        // carry TURN credentials too; several servers behind one name need a shared one.
        if (cfg_.turn_secrets.empty()) {
            std::random_device rd;
            std::string secret;
            for (int i = 0; i < 8; ++i) {
                char part[9];
                std::snprintf(part, sizeof part, "%08x", rd());
                secret += part;
            }
            cfg_.turn_secrets.push_back(std::move(secret));
        }
        turn_settings_ = TurnSettings::from(cfg_);
        ice_.set_secrets(cfg_.turn_secrets);
        hc.ice_servers = [this](std::string_view identity, std::uint64_t expires, std::uint64_t now) {
            return ice_.json(identity, expires, now);
        };
    }
    hub_ = std::make_unique<hub::Hub>(std::move(hc), make_verifier(cfg_));
}

Server::~Server() {
    for (auto& l : loops_)
        if (l->thread.joinable()) {
            l->loop_.stop();
            l->thread.join();
        }
}

std::vector<LoopContext*> Server::loops() const {
    std::vector<LoopContext*> v;
    for (auto& l : loops_) v.push_back(l.get());
    return v;
}

std::string Server::url() const {
    net::Endpoint e = net::parse_endpoint(cfg_.listen);
    e.port = port_;
    if (e.host == "0.0.0.0") e.host = "127.0.0.1";
    if (e.host == "::") e.host = "::1";
    return std::string(tls_ ? "https://" : "http://") + e.to_string();
}

void Server::start() {
    unsigned n = cfg_.loops ? cfg_.loops : available_cpus();
    net::Endpoint at = net::parse_endpoint(cfg_.listen);
    if (at.port != 0)
        if (int e = net::port_taken(at, SOCK_STREAM))
            throw std::runtime_error("cannot listen on " + at.to_string() + ": " + std::strerror(e) +
                                     " (another server there? --listen HOST:PORT)");
    for (unsigned i = 0; i < n; ++i) {
        auto ctx = std::make_unique<LoopContext>(*this, i);
        LoopContext* c = ctx.get();
        // Port 0: the first listener picks the port and the others share it (SO_REUSEPORT).
        if (i > 0) at.port = port_;
        c->listener = std::make_unique<net::Listener>(c->loop_, at, [this, c](int fd) { on_accept(*c, fd); });
        if (i == 0) port_ = c->listener->port();
        if (turn_settings_) {
            // The first loop picks any free ports (port 0) and the others bind the same ones.
            LoopContext* first = i == 0 ? c : loops_.front().get();
            std::uint16_t udp = i == 0 ? 0 : first->turn->udp_port();
            c->turn = std::make_unique<TurnService>(c->loop_, *turn_settings_, turn_reservations_, turn_quota_, turn_relay_ports_, tls_.get(), udp, i == 0);
            if (i == 0) turn_port_ = c->turn->udp_port();
        }
        loops_.push_back(std::move(ctx));
        hub_->add_shard(*c);
        if (i == 0) {
            signal::RoomsConfig rc;
            rc.mesh_limit = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(cfg_.room_mesh_limit, 1, 64));
            rc.token_required = cfg_.room_token_required;
            rooms_ = std::make_unique<signal::Rooms>(*hub_, rc, n);
            hub_->set_extension(rooms_.get());
        }
        c->shard = &hub_->shard(i);
    }
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
    for (auto& l : loops_) {
        LoopContext* c = l.get();
        c->listener->start();
        if (c->turn) c->turn->start();
        c->loop_.set_write_delay(std::chrono::microseconds(cfg_.write_delay_us));
        c->loop_.add_timer(std::chrono::milliseconds(1000), [this, c] { tick(*c); });
        // Loop 0 runs on the calling thread (run()): with one loop the process then has one
        // thread, and the kernel's fd lookup on every socket call skips its atomic refcount.
        if (c->loop_.index() > 0) c->thread = std::thread([c] { c->loop_.run(); });
        // One loop per CPU: pin it there so its connections' state stays in that CPU's cache.
        if (loops_.size() == cpus.size() && cpus.size() > 1) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpus[c->loop_.index()], &one);
            pthread_t t = c->loop_.index() > 0 ? c->thread.native_handle() : pthread_self();
            pthread_setaffinity_np(t, sizeof one, &one);
        }
    }
    log::info("listening", {{"url", url()}, {"loops", std::to_string(loops_.size())},
                            {"data", hub_->store() ? cfg_.data : std::string("(no durable namespace)")},
                            {"api", cfg_.api_key.empty() ? "off" : "on"},
                            {"echo", cfg_.echo ? "on" : "off"}, {"compression", cfg_.compression}});
    if (turn_settings_) {
        const LoopContext& first = *loops_.front();
        // What hub clients are told: the configured URLs, or this server's own.
        std::vector<std::string> stun_urls, turn_urls;
        for (const auto& u : cfg_.turn_urls) (u.rfind("stun", 0) == 0 ? stun_urls : turn_urls).push_back(u);
        if (cfg_.turn_urls.empty()) {
            std::string host = turn_settings_->external_ip.empty() ? turn_settings_->listen.host : turn_settings_->external_ip;
            if (host == "0.0.0.0") host = "127.0.0.1";
            if (host == "::") host = "::1";
            if (host.find(':') != std::string::npos) host = "[" + host + "]";
            std::string hp = host + ":" + std::to_string(turn_port_);
            stun_urls.push_back("stun:" + hp);
            turn_urls.push_back("turn:" + hp + "?transport=udp");
            turn_urls.push_back("turn:" + hp + "?transport=tcp");
            if (first.turn->tls_port()) turn_urls.push_back("turns:" + host + ":" + std::to_string(first.turn->tls_port()) + "?transport=tcp");
        }
        ice_.configure(std::move(stun_urls), std::move(turn_urls), cfg_.turn_credential_ttl);
        net::Endpoint e = turn_settings_->listen;
        e.port = turn_port_;
        log::info("stun/turn listening",
                  {{"udp_tcp", e.to_string()},
                   {"tls", first.turn->tls_port() ? std::to_string(first.turn->tls_port()) : std::string("off")},
                   {"realm", turn_settings_->realm},
                   {"users", std::to_string(turn_settings_->users.size())},
                   {"rest_secrets", std::to_string(turn_settings_->secrets.size())},
                   {"relay_ip", turn_settings_->relay_ip}});
    }
}

void Server::set_turn_secrets(std::vector<std::string> secrets) {
    ice_.set_secrets(secrets);
    for (auto& l : loops_) {
        LoopContext* c = l.get();
        if (c->turn) c->loop_.post([c, secrets] { c->turn->set_secrets(secrets); });
    }
}

void Server::on_accept(LoopContext& ctx, int fd) {
    std::unique_ptr<net::TlsSession> tls;
    if (tls_) tls = std::make_unique<net::TlsSession>(*tls_);
    auto* s = new Session(ctx, fd, std::move(tls)); // owned by the loop from start() on
    s->start();
}

void Server::tick(LoopContext& ctx) {
    auto now = ctx.loop_.now();
    for_each_self_removing(ctx.loop_.streams(), [now](net::Stream* s) { s->on_tick(now); });
    ctx.shard->on_tick();
    if (ctx.turn) ctx.turn->tick();
    ctx.loop_.add_timer(std::chrono::milliseconds(1000), [this, &ctx] { tick(ctx); });
}

void Server::broadcast(LoopContext& origin, ws::Opcode op, std::span<const std::uint8_t> payload) {
    bool compress = compression_enabled() && deflate_subscribers_.load(std::memory_order_relaxed) > 0;
    auto m = ws::frame_message(op, payload, compress ? &origin.compression : nullptr, ws_cfg_.compression_threshold);
    for (auto& l : loops_) {
        if (l.get() == &origin) continue;
        LoopContext* c = l.get();
        c->enqueue_broadcast(m);
    }
    origin.deliver_broadcast(m);
}

namespace {
// SIGINT/SIGTERM arrive through a signalfd on loop 0 (the signals are blocked in every thread).
class SignalWatch final : public net::IoHandler {
  public:
    SignalWatch(net::Loop& loop, std::function<void(int)> on_signal) : loop_(loop), on_signal_(std::move(on_signal)) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd_ < 0) throw std::runtime_error("signalfd failed");
        loop_.add(fd_, EPOLLIN, this);
    }
    ~SignalWatch() {
        loop_.remove(fd_);
        ::close(fd_);
    }
    SignalWatch(const SignalWatch&) = delete;
    SignalWatch& operator=(const SignalWatch&) = delete;
    void on_io(std::uint32_t) override {
        signalfd_siginfo info;
        while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
            on_signal_(static_cast<int>(info.ssi_signo));
    }

  private:
    net::Loop& loop_;
    int fd_ = -1;
    std::function<void(int)> on_signal_;
};
} // namespace

void Server::run() {
    LoopContext* first = loops_.front().get();
    bool stopping = false;
    SignalWatch signals(first->loop_, [this, &stopping](int sig) {
        if (stopping) return; // a second signal changes nothing: the deadline already bounds us
        stopping = true;
        log::info("shutting down", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        begin_shutdown();
    });
    first->loop_.run();
    std::size_t left = first->loop_.streams().size();
    for (auto& l : loops_) {
        if (l->thread.joinable()) l->thread.join();
        if (l.get() != first) left += l->loop_.streams().size();
    }
    log::info("stopped", {{"connections_dropped", std::to_string(left)}});
}

void Server::begin_shutdown() {
    auto deadline = net::Clock::now() + std::chrono::seconds(cfg_.shutdown_timeout);
    for (auto& l : loops_) {
        LoopContext* c = l.get();
        c->loop_.post([c, deadline] {
            c->listener->stop();
            if (c->turn) c->turn->stop();
            for_each_self_removing(c->loop_.streams(), [](net::Stream* s) { static_cast<Session*>(s)->shut_down(); });
            // The loop ends once its connections are gone or the deadline passed.
            auto check = std::make_shared<std::function<void()>>();
            *check = [c, deadline, check] {
                if (c->loop_.streams().empty() || net::Clock::now() >= deadline) {
                    c->loop_.stop();
                    *check = nullptr; // break the self-reference
                    return;
                }
                c->loop_.add_timer(std::chrono::milliseconds(20), *check);
            };
            (*check)();
        });
    }
}

} // namespace switchboard::app
