#pragma once
// Server configuration: embedded defaults, then a TOML file, then SWITCHBOARD_* environment
// variables, then command-line flags (each later source wins). One table describes every option
// so the three sources and `--help` can't drift apart.
#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::app {

struct Config {
    std::string config_file;
    std::string listen = "127.0.0.1:8080";
    unsigned loops = 0; // 0: one per CPU the process may run on
    bool echo = false;
    std::string static_dir;
    std::string tls_cert;
    std::string tls_key;
    std::string log_level = "info";
    std::string log_format = "text";
    std::uint64_t shutdown_timeout = 10; // seconds

    // HTTP
    std::uint64_t max_request_line = 8 * 1024;
    std::uint64_t max_header_size = 16 * 1024;
    std::uint64_t max_headers = 64;
    std::uint64_t max_body_size = 1024 * 1024;
    std::uint64_t http_idle_timeout = 60; // keep-alive connection without a request
    std::uint64_t header_timeout = 10;    // a request head must arrive within this

    // WebSocket
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    std::uint64_t max_send_buffer = 4 * 1024 * 1024;
    std::uint64_t write_delay_us = 1000; // fan-out coalescing delay while a loop is busy
    std::uint64_t ping_interval = 30;
    std::uint64_t idle_timeout = 120;
    std::uint64_t close_timeout = 5;
    std::vector<std::string> allowed_origins;
    std::vector<std::string> subprotocols;
    std::string compression = "shared"; // off | shared | dedicated
    std::uint64_t compression_threshold = 64;
    std::uint64_t compression_window_bits = 15;
    std::uint64_t compression_mem_level = 8;

    // Messaging hub
    std::string data = "data";           // durable state (SQLite) lives here
    std::string durability = "full";     // full: fsync each group commit; normal: survive crashes, not power loss
    std::string token_secret;            // HS256 connection and subscription tokens
    std::vector<std::string> token_public_keys; // PEM files: RS256 / ES256 tokens
    std::string token_audience;
    std::string token_issuer;
    std::string api_key;                 // server API; empty: the API is off
    bool allow_anonymous = true;         // connections without a token (namespaces decide what they may do)
    std::vector<std::string> namespaces; // specs "name:opt=val,opt,..." over the embedded defaults
    std::uint64_t max_channels_per_connection = 128;
    std::uint64_t max_publication_size = 64 * 1024;
    std::uint64_t publish_rate = 1000;   // per connection per second; 0 = unlimited
    std::uint64_t max_connections_per_user = 100;
    std::uint64_t max_connections_per_ip = 0;
    std::uint64_t connect_timeout = 10;

    // Rooms (WebRTC signalling)
    std::uint64_t room_mesh_limit = 4;   // participants of a peer-to-peer room
    bool room_token_required = false;    // room_join needs a room token

    // STUN/TURN
    std::string turn_listen = "127.0.0.1:3478"; // UDP and TCP; "off": no STUN/TURN
    std::string turn_tls_listen;                // TURN over TLS; default with tls-cert: turn-listen's host, port 5349
    std::vector<std::string> turn_users;        // "name:password"
    std::vector<std::string> turn_secrets;      // TURN REST shared secrets; the first signs
    std::string turn_realm = "switchboard";
    std::vector<std::string> turn_allow_peers;  // CIDRs opened over the default deny list
    std::string turn_external_ip;               // advertised in relayed addresses and ICE URLs
    std::string turn_relay_ip;                  // relay sockets bind here; default: turn-listen's host
    std::uint64_t turn_max_allocations_per_user = 16;
    std::uint64_t turn_bandwidth = 0;           // bytes/s per allocation; 0: unlimited
    std::uint64_t turn_unauth_rate = 100;       // unauthenticated answers per source IP per second
    std::uint64_t turn_credential_ttl = 86400;  // seconds the ICE credentials handed to hub clients live
    std::vector<std::string> turn_urls;         // advertised to hub clients; default: derived
};

struct ParsedArgs {
    Config config;
    bool help = false;
};

/// Parses `serve`'s arguments (argv after the subcommand) with the file and environment under
/// them. Throws std::invalid_argument with a message for the user on any bad value.
ParsedArgs parse_serve_args(int argc, char** argv);
std::string serve_help();

} // namespace switchboard::app
