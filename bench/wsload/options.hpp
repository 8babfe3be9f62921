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
// The payload of a hub publish starts with two 16-digit hex fields: send time and sequence.
inline constexpr uint64_t kHubMinSize = 32;

const char* mode_name(Mode m);
void print_usage(FILE* f);
// Throws std::invalid_argument with a message fit for the user; the caller exits with 64.
Config parse_args(int argc, char** argv);

} // namespace wsload
