#pragma once
// Command line: modes, options and their validation (control plane: exceptions are fine here).
#include <netinet/in.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace wsload {

enum class Mode { Echo, Broadcast, Idle, Hub, Durable };

/// A validated run description. Built once by parse_args() on the main thread, then shared
/// read-only with every worker for the whole run.
struct Config {
    Mode mode = Mode::Echo;
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string path;
    uint32_t connections = 0;
    uint64_t size = 64;
    uint32_t pipeline = 1;
    double duration = 5.0;
    double warmup = 1.0;
    bool text = false;
    int server_pid = 0;
    bool json = false;
    uint32_t threads = 1;
    double rate = 0.0;
    uint32_t window = 32;
    double connect_timeout = 30.0;
    uint32_t sources = 1;
    // hub and durable: the Switchboard client protocol (docs/protocol.md) on /connection.
    uint32_t channels = 1;
    // hub: subscriptions per subscriber connection (K) and how they are laid out over the
    // channels (subscriber_channel()).
    uint32_t subs_per_conn = 1;
    bool packed = false; // --sub-layout packed (else spread)
    bool binary_pubs = false; // hub: subscribers ask for binary pub pushes (docs/protocol.md)
    std::string ns; // channel namespace: channels are "<ns>:<k % channels>"
    sockaddr_in addr{};
};

// Modes that speak the client protocol (JSON text frames) instead of raw echo/broadcast frames.
inline bool is_hub_mode(Mode m) { return m == Mode::Hub || m == Mode::Durable; }
// Connections the run opens: broadcast and hub add one sender (the publisher) to --connections.
inline uint32_t total_connections(const Config& cfg) {
    return cfg.connections + (cfg.mode == Mode::Broadcast || cfg.mode == Mode::Hub ? 1 : 0);
}
// Publisher connections: hub has one, durable has --connections.
inline uint32_t publisher_count(const Config& cfg) {
    return cfg.mode == Mode::Hub ? 1 : cfg.mode == Mode::Durable ? cfg.connections : 0;
}
// Hub: subscriptions in all (N*K).
inline uint64_t subscriptions(const Config& cfg) {
    return uint64_t{cfg.connections} * cfg.subs_per_conn;
}
// Hub: where the K subscriptions of subscriber i (0 <= i < N) go. Subscription j (0 <= j < K) is
// channel (base(i) + j * stride) % C:
//   spread (default): base = i % C, stride = S = floor(C / K): channels i, i+S, i+2S, ...
//   packed:           base = (i * K) % C, stride = 1: channels i*K .. i*K+K-1 (mod C), i.e.
//                     slot m = i*K + j is channel m % C
// Either way K * stride <= C, so one connection's K channels are distinct (no error 105) and a
// channel's subscribers are distinct connections, and K = 1 is channel i % C in both.
// Balance: packed gives every channel floor(N*K/C) or ceil(N*K/C) subscribers; spread gives
// exactly N*K/C when C divides N, else within K of it. N = C = 10,000, K = 10: both give every
// channel exactly 10 subscribers.
// Why spread is the default: the publisher goes round-robin over the channels, and with packed a
// connection's channels are consecutive, so K consecutive publishes all go to the same K
// connections and the server can write them with one syscall per connection: it measures write
// coalescing that real channel layouts do not offer. With spread, consecutive channels have
// disjoint subscribers, and each connection gets one of every S consecutive publishes.
inline uint32_t subscriber_stride(const Config& cfg) {
    return cfg.packed ? 1 : cfg.channels / cfg.subs_per_conn;
}
inline uint32_t subscriber_base(const Config& cfg, uint64_t i) {
    return static_cast<uint32_t>((cfg.packed ? i * cfg.subs_per_conn : i) % cfg.channels);
}
inline uint32_t subscriber_channel(const Config& cfg, uint64_t i, uint32_t j) {
    return static_cast<uint32_t>(
        (subscriber_base(cfg, i) + uint64_t{j} * subscriber_stride(cfg)) % cfg.channels);
}
// The payload of a hub publish starts with two 16-digit hex fields: send time and sequence.
inline constexpr uint64_t kHubMinSize = 32;

const char* mode_name(Mode m);
void print_usage(FILE* f);
// Throws std::invalid_argument with a message fit for the user; the caller exits with 64.
Config parse_args(int argc, char** argv);

} // namespace wsload
