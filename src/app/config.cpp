#include "app/config.hpp"

#include "stun/address.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <limits>
#include <stdexcept>
#include <variant>

namespace switchboard::app {

namespace {

using Target = std::variant<std::string*, std::uint64_t*, unsigned*, bool*, std::vector<std::string>*>;

struct Option {
    const char* name; // flag name; the TOML key and env var derive from it
    const char* arg;  // value placeholder in --help; nullptr for switches
    const char* help;
    Target target;
    const char* key = nullptr; // TOML key / env name when not derived from the flag (lists are plural)
};

std::vector<Option> options(Config& c) {
    return {
        {"config", "FILE", "TOML configuration file (keys as below with '_' for '-')", &c.config_file},
        {"listen", "HOST:PORT", "address for HTTP and WebSocket (port 0 picks a free port)", &c.listen},
        {"loops", "N", "event loops (threads); 0 = one per CPU in the process's affinity mask", &c.loops},
        {"echo", nullptr, "enable the /echo and /broadcast test endpoints", &c.echo},
        {"static-dir", "DIR", "serve the web app's static files from DIR", &c.static_dir},
        {"tls-cert", "FILE", "PEM certificate chain: serve HTTPS/WSS instead of HTTP/WS", &c.tls_cert},
        {"tls-key", "FILE", "PEM private key for --tls-cert", &c.tls_key},
        {"log-level", "LEVEL", "debug, info, warn or error", &c.log_level},
        {"log-format", "FORMAT", "text or json", &c.log_format},
        {"shutdown-timeout", "SECONDS", "on SIGTERM/SIGINT, wait this long for connections to close", &c.shutdown_timeout},
        {"max-request-line", "BYTES", "longest request line (414 beyond)", &c.max_request_line},
        {"max-header-size", "BYTES", "largest request head (431 beyond)", &c.max_header_size},
        {"max-headers", "N", "most header fields in a request (431 beyond; at most 100)", &c.max_headers},
        {"max-body-size", "BYTES", "largest request body (413 beyond)", &c.max_body_size},
        {"http-idle-timeout", "SECONDS", "close a keep-alive connection idle this long", &c.http_idle_timeout},
        {"header-timeout", "SECONDS", "a request head must arrive within this (408 beyond)", &c.header_timeout},
        {"max-message-size", "BYTES", "largest WebSocket message, after inflation (close 1009 beyond)", &c.max_message_size},
        {"max-send-buffer", "BYTES", "per-connection output backlog; a slow consumer beyond it is closed (1013 on /broadcast, 4001 on the hub)", &c.max_send_buffer},
        {"write-delay", "MICROSECONDS", "while a loop is busy with fan-out, hold pushed messages up to this long to write several at once (fewer system calls; a quiet loop writes at once); 0 = never hold", &c.write_delay_us, "write_delay_us"},
        {"ping-interval", "SECONDS", "ping a WebSocket peer that has been quiet this long; 0 = never", &c.ping_interval},
        {"idle-timeout", "SECONDS", "close a WebSocket peer silent this long (close 1001); 0 = never", &c.idle_timeout},
        {"close-timeout", "SECONDS", "wait this long for the peer's side of the close handshake", &c.close_timeout},
        {"allowed-origin", "ORIGIN", "accept WebSocket upgrades only from this Origin (repeatable; default any)", &c.allowed_origins, "allowed_origins"},
        {"subprotocol", "NAME", "a supported WebSocket subprotocol (repeatable)", &c.subprotocols, "subprotocols"},
        {"compression", "MODE", "permessage-deflate: off, shared (no context takeover, one compressor per loop) or dedicated (per connection)", &c.compression},
        {"compression-threshold", "BYTES", "messages shorter than this are sent uncompressed", &c.compression_threshold},
        {"compression-window-bits", "N", "largest deflate window the server compresses with (9-15)", &c.compression_window_bits},
        {"compression-mem-level", "N", "zlib memLevel for dedicated compressors (1-9; memory vs ratio)", &c.compression_mem_level},
        {"data", "DIR", "directory for durable state (the SQLite database of durable namespaces)", &c.data},
        {"durability", "MODE", "full: fsync every group commit (survives power loss); normal: survives a crash of the process, not of the machine", &c.durability},
        {"token-secret", "SECRET", "HS256 secret for connection and subscription tokens (JWT)", &c.token_secret},
        {"token-public-key", "FILE", "PEM public key for RS256/ES256 tokens (repeatable)", &c.token_public_keys, "token_public_keys"},
        {"token-audience", "AUD", "tokens must carry this aud claim", &c.token_audience},
        {"token-issuer", "ISS", "tokens must carry this iss claim", &c.token_issuer},
        {"api-key", "KEY", "key for the server HTTP API (/api/...); empty: the API is off", &c.api_key},
        {"allow-anonymous", nullptr, "accept connections without a token (namespaces with anonymous=true decide what they may do)", &c.allow_anonymous},
        {"namespace", "SPEC", "channel namespace options, e.g. 'news:history_size=100,history_ttl=600,durable,presence' (repeatable; replaces an embedded one of the same name)", &c.namespaces, "namespaces"},
        {"max-channels-per-connection", "N", "subscriptions one connection may hold (error 106 beyond)", &c.max_channels_per_connection},
        {"max-publication-size", "BYTES", "largest publication data (error 111 beyond)", &c.max_publication_size},
        {"publish-rate", "N", "publications per second one connection may make, bursts of twice that (error 110 beyond); 0 = unlimited", &c.publish_rate},
        {"max-connections-per-user", "N", "connections one user may hold (close 4504 beyond); 0 = unlimited", &c.max_connections_per_user},
        {"max-connections-per-ip", "N", "connections from one IP address (close 4504 beyond); 0 = unlimited", &c.max_connections_per_ip},
        {"connect-timeout", "SECONDS", "a client must send its connect command within this (close 4004)", &c.connect_timeout},
        {"room-mesh-limit", "N", "participants of a peer-to-peer (mesh) room; a join beyond is refused with 117", &c.room_mesh_limit},
        {"room-token-required", nullptr, "room_join must carry a room token (switchboard token --room); without it any connected client may join any room", &c.room_token_required},
        {"turn-listen", "HOST:PORT", "STUN/TURN over UDP and TCP; off: none", &c.turn_listen},
        {"turn-tls-listen", "HOST:PORT", "TURN over TLS (needs --tls-cert; default with a certificate: turn-listen's host, port 5349); off: none", &c.turn_tls_listen},
        {"turn-user", "NAME:PASSWORD", "a static TURN user (repeatable)", &c.turn_users, "turn_users"},
        {"turn-secret", "SECRET", "TURN REST API shared secret: time-limited credentials, the ones the hub hands its clients (repeatable: the first signs, all verify)", &c.turn_secrets, "turn_secrets"},
        {"turn-realm", "REALM", "realm of the TURN long-term credentials", &c.turn_realm},
        {"turn-allow-peer", "CIDR", "let TURN relay to this range even if denied by default (loopback, private, link-local, metadata, multicast, own addresses) (repeatable)", &c.turn_allow_peers, "turn_allow_peers"},
        {"turn-external-ip", "IP", "public address to advertise when the server is behind a NAT", &c.turn_external_ip},
        {"turn-relay-ip", "IP", "address relay sockets bind to (default: turn-listen's host)", &c.turn_relay_ip},
        {"turn-max-allocations-per-user", "N", "TURN allocations one user may hold (486 beyond); 0 = unlimited", &c.turn_max_allocations_per_user},
        {"turn-bandwidth", "BYTES", "relayed bytes per second per allocation; 0 = unlimited", &c.turn_bandwidth},
        {"turn-unauth-rate", "N", "answers per second to one source address before it authenticates; 0 = unlimited", &c.turn_unauth_rate},
        {"turn-credential-ttl", "SECONDS", "lifetime of the TURN credentials handed to hub clients (never beyond their token's expiry)", &c.turn_credential_ttl},
        {"turn-url", "URL", "a STUN/TURN URL handed to hub clients, e.g. turn:turn.example.com:3478?transport=udp (repeatable; default: this server's own, from --turn-listen or --turn-external-ip)", &c.turn_urls, "turn_urls"},
    };
}

std::string key_of(const Option& o) {
    std::string k = o.key ? o.key : o.name;
    for (char& ch : k)
        if (ch == '-') ch = '_';
    return k;
}

std::string env_of(const Option& o) {
    std::string k = "SWITCHBOARD_";
    for (const char* p = o.key ? o.key : o.name; *p; ++p) k += *p == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
    return k;
}

std::uint64_t parse_uint(const std::string& name, const std::string& v) {
    if (v.empty()) throw std::invalid_argument(name + ": expected a number");
    std::uint64_t n = 0;
    for (char ch : v) {
        if (ch < '0' || ch > '9') throw std::invalid_argument(name + ": '" + v + "' is not a non-negative integer");
        n = n * 10 + static_cast<std::uint64_t>(ch - '0');
        if (n > (1ull << 53)) throw std::invalid_argument(name + ": '" + v + "' is too large");
    }
    return n;
}

bool parse_bool(const std::string& name, const std::string& v) {
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off") return false;
    throw std::invalid_argument(name + ": '" + v + "' is not true or false");
}

// Lists from the environment are comma-separated.
void assign(const Option& o, const std::string& source, const std::string& v, bool append_list) {
    std::visit(
        [&](auto* t) {
            using T = std::remove_pointer_t<decltype(t)>;
            if constexpr (std::is_same_v<T, std::string>) *t = v;
            else if constexpr (std::is_same_v<T, std::uint64_t>) *t = parse_uint(source, v);
            else if constexpr (std::is_same_v<T, unsigned>) {
                std::uint64_t n = parse_uint(source, v);
                if (n > std::numeric_limits<unsigned>::max()) throw std::invalid_argument(source + ": '" + v + "' is too large");
                *t = static_cast<unsigned>(n);
            }
            else if constexpr (std::is_same_v<T, bool>) *t = parse_bool(source, v);
            else {
                if (!append_list) {
                    t->clear();
                    std::size_t i = 0;
                    while (i <= v.size()) {
                        auto j = v.find(',', i);
                        std::string item = v.substr(i, j == std::string::npos ? std::string::npos : j - i);
                        if (!item.empty()) t->push_back(item);
                        if (j == std::string::npos) break;
                        i = j + 1;
                    }
                } else {
                    t->push_back(v);
                }
            }
        },
        o.target);
}

void load_toml(const std::string& path, std::vector<Option>& opts) {
    toml::table tbl;
    try {
        tbl = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw std::invalid_argument("config " + path + ": " + std::string(e.description()) + " at line " +
                                    std::to_string(e.source().begin.line));
    }
    for (auto&& entry : tbl) {
        std::string key(entry.first.str());
        const toml::node& node = entry.second; // clang 14 can't capture structured bindings
        if (key == "namespaces" && node.is_table()) {
            // [namespaces.NAME] tables: each becomes a spec "NAME:key=value,...".
            auto* target = std::get<std::vector<std::string>*>(
                std::find_if(opts.begin(), opts.end(), [](const Option& o) { return key_of(o) == "namespaces"; })->target);
            target->clear();
            for (auto&& ns : *node.as_table()) {
                auto* opts_tbl = ns.second.as_table();
                if (!opts_tbl) throw std::invalid_argument("config " + path + ": namespaces." + std::string(ns.first.str()) + " must be a table");
                std::string spec = std::string(ns.first.str()) + ":";
                for (auto&& kv : *opts_tbl) {
                    std::string v;
                    if (kv.second.is_boolean()) v = *kv.second.value<bool>() ? "true" : "false";
                    else if (kv.second.is_integer()) v = std::to_string(*kv.second.value<std::int64_t>());
                    else throw std::invalid_argument("config " + path + ": namespaces." + std::string(ns.first.str()) + "." +
                                                     std::string(kv.first.str()) + ": expected a boolean or a number");
                    spec += std::string(kv.first.str()) + "=" + v + ",";
                }
                target->push_back(spec);
            }
            continue;
        }
        const Option* found = nullptr;
        for (const auto& o : opts)
            if (key_of(o) == key && std::string(o.name) != "config") found = &o;
        if (!found) throw std::invalid_argument("config " + path + ": unknown key '" + key + "'");
        std::string where = "config " + path + ": " + key;
        std::visit(
            [&](auto* t) {
                using T = std::remove_pointer_t<decltype(t)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    auto v = node.template value<std::string>();
                    if (!v) throw std::invalid_argument(where + ": expected a string");
                    *t = *v;
                } else if constexpr (std::is_same_v<T, bool>) {
                    auto v = node.template value<bool>();
                    if (!v) throw std::invalid_argument(where + ": expected true or false");
                    *t = *v;
                } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                    auto* arr = node.as_array();
                    if (!arr) throw std::invalid_argument(where + ": expected an array of strings");
                    t->clear();
                    for (auto&& el : *arr) {
                        auto v = el.template value<std::string>();
                        if (!v) throw std::invalid_argument(where + ": expected an array of strings");
                        t->push_back(*v);
                    }
                } else {
                    auto v = node.template value<std::int64_t>();
                    if (!v || *v < 0) throw std::invalid_argument(where + ": expected a non-negative integer");
                    if (static_cast<std::uint64_t>(*v) > std::numeric_limits<T>::max())
                        throw std::invalid_argument(where + ": value too large");
                    *t = static_cast<T>(*v);
                }
            },
            found->target);
    }
}

void validate(const Config& c) {
    if (c.compression != "off" && c.compression != "shared" && c.compression != "dedicated")
        throw std::invalid_argument("compression must be off, shared or dedicated");
    if (c.compression_window_bits < 9 || c.compression_window_bits > 15)
        throw std::invalid_argument("compression-window-bits must be 9-15");
    if (c.compression_mem_level < 1 || c.compression_mem_level > 9)
        throw std::invalid_argument("compression-mem-level must be 1-9");
    if (c.tls_cert.empty() != c.tls_key.empty()) throw std::invalid_argument("tls-cert and tls-key go together");
    if (c.max_headers < 1 || c.max_headers > 100) throw std::invalid_argument("max-headers must be 1-100");
    if (c.max_message_size < 1 || c.max_message_size > (1ull << 30))
        throw std::invalid_argument("max-message-size must be 1 byte to 1 GiB");
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
        throw std::invalid_argument("log-level must be debug, info, warn or error");
    if (c.log_format != "text" && c.log_format != "json") throw std::invalid_argument("log-format must be text or json");
    if (c.loops > 1024) throw std::invalid_argument("loops must be at most 1024");
    if (c.durability != "full" && c.durability != "normal") throw std::invalid_argument("durability must be full or normal");
    if (c.max_publication_size < 1 || c.max_publication_size > (1ull << 30))
        throw std::invalid_argument("max-publication-size must be 1 byte to 1 GiB");
    if (c.write_delay_us > 1000000) throw std::invalid_argument("write-delay must be at most 1000000 microseconds");
    for (const auto& u : c.turn_users) {
        auto colon = u.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == u.size())
            throw std::invalid_argument("turn-user '" + u + "' must look like NAME:PASSWORD");
    }
    for (const auto& r : c.turn_allow_peers)
        if (!stun::Cidr::parse(r)) throw std::invalid_argument("turn-allow-peer '" + r + "' is not an address or CIDR range");
    for (const auto& ip : {c.turn_external_ip, c.turn_relay_ip})
        if (!ip.empty() && !stun::Address::parse(ip, 0)) throw std::invalid_argument("'" + ip + "' is not a numeric IP address");
    if (c.turn_realm.empty() || c.turn_realm.size() > 127) throw std::invalid_argument("turn-realm must be 1-127 characters");
    for (const auto& s : c.turn_secrets)
        if (s.empty()) throw std::invalid_argument("turn-secret must not be empty");
    for (const auto& u : c.turn_urls)
        if (u.rfind("stun:", 0) != 0 && u.rfind("stuns:", 0) != 0 && u.rfind("turn:", 0) != 0 && u.rfind("turns:", 0) != 0)
            throw std::invalid_argument("turn-url '" + u + "' must start with stun:, stuns:, turn: or turns:");
}

} // namespace

std::string serve_help() {
    Config c;
    std::string out = "Usage: switchboard serve [options]\n\n"
                      "Every option can also be set in the TOML file given by --config (key: the option name\n"
                      "with '_' for '-'; the lists allowed_origins, subprotocols and token_public_keys are\n"
                      "arrays; namespaces are [namespaces.NAME] tables of options) or in the\n"
                      "environment as SWITCHBOARD_<KEY> (upper case; lists comma-separated).\n"
                      "Flags override the environment, which overrides the file.\n\n"
                      "Options:\n";
    for (const auto& o : options(c)) {
        std::string lhs = std::string("  --") + o.name + (o.arg ? std::string(" ") + o.arg : "");
        if (lhs.size() < 34) lhs.resize(34, ' ');
        else lhs += "\n" + std::string(34, ' ');
        std::string def;
        std::visit(
            [&](auto* t) {
                using T = std::remove_pointer_t<decltype(t)>;
                if constexpr (std::is_same_v<T, std::string>) { if (!t->empty()) def = *t; }
                else if constexpr (std::is_same_v<T, bool>) {}
                else if constexpr (std::is_same_v<T, std::vector<std::string>>) {}
                else def = std::to_string(*t);
            },
            o.target);
        out += lhs + o.help + (def.empty() ? "" : " [default: " + def + "]") + "\n";
    }
    out += "  -h, --help                      show this help\n";
    return out;
}

ParsedArgs parse_serve_args(int argc, char** argv) {
    ParsedArgs r;
    auto opts = options(r.config);
    auto find = [&](const std::string& name) -> const Option* {
        for (const auto& o : opts)
            if (name == o.name) return &o;
        return nullptr;
    };
    // Pass 1: the config file's path (flag, then environment) and --help.
    std::string config_path;
    if (const char* e = std::getenv("SWITCHBOARD_CONFIG")) config_path = e;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") r.help = true;
        if (a == "--config" && i + 1 < argc) config_path = argv[i + 1];
        if (a.rfind("--config=", 0) == 0) config_path = a.substr(9);
    }
    if (r.help) return r;
    if (!config_path.empty()) load_toml(config_path, opts);
    r.config.config_file = config_path;
    // Pass 2: environment.
    for (const auto& o : opts) {
        if (std::string(o.name) == "config") continue;
        if (const char* e = std::getenv(env_of(o).c_str())) assign(o, env_of(o), e, false);
    }
    // Pass 3: flags. A repeated list flag appends; the first use replaces file/env values.
    std::vector<const Option*> lists_seen;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument '" + a + "' (see --help)");
        std::string name = a.substr(2), value;
        bool has_value = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            has_value = true;
        }
        const Option* o = find(name);
        if (!o) throw std::invalid_argument("unknown option '--" + name + "' (see --help)");
        if (!o->arg) { // switch
            assign(*o, a, has_value ? value : "true", false);
            continue;
        }
        if (!has_value) {
            if (i + 1 >= argc) throw std::invalid_argument("--" + name + " needs a value");
            value = argv[++i];
        }
        if (std::string(o->name) == "config") continue;
        bool is_list = std::holds_alternative<std::vector<std::string>*>(o->target);
        if (is_list) {
            bool seen = false;
            for (auto* s : lists_seen) seen |= s == o;
            if (!seen) {
                std::get<std::vector<std::string>*>(o->target)->clear();
                lists_seen.push_back(o);
            }
        }
        assign(*o, "--" + name, value, is_list);
    }
    validate(r.config);
    return r;
}

} // namespace switchboard::app
