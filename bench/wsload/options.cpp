#include "options.hpp"

#include "hub_wire.hpp"
#include "limits.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

namespace wsload {
namespace {

double parse_double(std::string_view name, const std::string& v, double lo, double hi) {
    char* end = nullptr;
    errno = 0;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !(d >= lo && d <= hi))
        throw std::invalid_argument(std::string(name) + ": expected a number in [" +
                                    std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                    v + "'");
    return d;
}

uint64_t parse_uint(std::string_view name, const std::string& v, uint64_t lo, uint64_t hi) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long u = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || v[0] == '-' || *end != '\0' || errno != 0 || u < lo || u > hi)
        throw std::invalid_argument(std::string(name) + ": expected an integer in [" +
                                    std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                    v + "'");
    return u;
}

} // namespace

const char* mode_name(Mode m) {
    switch (m) {
    case Mode::Echo:
        return "echo";
    case Mode::Broadcast:
        return "broadcast";
    case Mode::Idle:
        return "idle";
    case Mode::Hub:
        return "hub";
    case Mode::Durable:
        return "durable";
    }
    return "?";
}

void print_usage(FILE* f) {
    std::fputs(
        "usage: wsload MODE --port N [options]\n"
        "\n"
        "modes:\n"
        "  echo       N connections to /echo, each keeps --pipeline messages in flight;\n"
        "             reports msgs/s, MB/s and round-trip latency\n"
        "  broadcast  N receivers + 1 sender on /broadcast; the sender's own receipts bound its\n"
        "             in-flight window; reports deliveries/s and sender-to-receiver latency\n"
        "  idle       N connections to /echo held for --duration seconds; reports the server's\n"
        "             memory per connection (needs --server-pid)\n"
        "  hub        Switchboard client protocol on /connection: N subscribers + 1 publisher;\n"
        "             subscriber i (0..N-1) subscribes to K = --subs-per-conn channels (see\n"
        "             --sub-layout; K = 1: NS:(i % C)), the publisher publishes round-robin\n"
        "             over the C channels with --window publishes unacknowledged; reports\n"
        "             deliveries/s, acknowledged publishes/s, latency, and checks that every\n"
        "             subscription sees offsets increasing by exactly 1 (any violation fails)\n"
        "  durable    P publisher connections only (--connections P), each with --window\n"
        "             publishes in flight to NS:(k % C); reports acknowledged publishes/s and\n"
        "             ack latency (for a durable namespace: group commit through the server)\n"
        "             (hub, durable: the server needs the namespace with publish and anonymous,\n"
        "             and --publish-rate 0 or one above the load)\n"
        "\n"
        "options:\n"
        "  --host ADDR          IPv4 loopback address (default 127.0.0.1)\n"
        "  --port N             server port (required)\n"
        "  --path P             request path (default /echo, /broadcast, or /connection)\n"
        "  --connections N      echo: connections (16); broadcast: receivers, hub: subscribers\n"
        "                       (100); idle: connections (1000); durable: publishers (16);\n"
        "                       at most 19500 in all\n"
        "  --size S             payload bytes per message (64; broadcast needs >= 16, 32 with\n"
        "                       --text; hub and durable: bytes of the data string, >= 32)\n"
        "  --pipeline P         echo: messages in flight per connection (1)\n"
        "  --duration D         measured seconds; idle: hold time, alias --hold (5)\n"
        "  --warmup W           seconds of load before measuring (1)\n"
        "  --text | --binary    message opcode (binary)\n"
        "  --rate M             broadcast: sender messages/s; hub, durable: publishes/s in all;\n"
        "                       0 = only window-bound (0)\n"
        "  --window W           broadcast: sender messages in flight; hub, durable: publishes\n"
        "                       not yet acknowledged, per publisher (32)\n"
        "  --channels C         hub, durable: channels NS:0 .. NS:C-1 (1)\n"
        "  --subs-per-conn K    hub: channels each subscriber subscribes to, 1..64, <= C (1);\n"
        "                       all K subscribes are sent in one frame, and a subscriber counts\n"
        "                       as open once all are answered; the server's\n"
        "                       --max-channels-per-connection must be >= K\n"
        "  --sub-layout L       hub: which K channels subscriber i takes (j = 0..K-1):\n"
        "                       spread: (i + j*floor(C/K)) % C (default); packed: (i*K + j) % C.\n"
        "                       Both give N*K/C subscribers per channel when C divides N, and\n"
        "                       the same channels when K = 1. packed puts a connection's channels\n"
        "                       next to each other in the publisher's round-robin, so the server\n"
        "                       can coalesce their pubs into one write: a best case, not a\n"
        "                       typical layout\n"
        "  --namespace NS       hub, durable: channel namespace (bench; durable: dbench)\n"
        "  --binary-pubs        hub: subscribers take pub pushes as binary frames (connect\n"
        "                       option binary_pubs); every one is still order-checked\n"
        "  --threads T          worker threads, each with its own epoll (1)\n"
        "  --server-pid PID     sample the server's CPU (/proc/PID/stat) and RSS\n"
        "  --connect-timeout S  give up on connections not open after S seconds (30)\n"
        "  --sources K          spread connections over source addresses 127.0.0.1..K (1);\n"
        "                       each address has its own ephemeral ports, which makes\n"
        "                       opening many thousands of connections much faster\n"
        "  --json               print one JSON line instead of the summary\n"
        "\n"
        "examples:\n"
        "  wsload echo --port 8080 --connections 64 --pipeline 16 --duration 10 --server-pid PID\n"
        "  wsload broadcast --port 8080 --connections 1000 --rate 1000 --json\n"
        "  wsload idle --port 8080 --connections 19000 --threads 2 --sources 4 --server-pid PID\n"
        "  wsload hub --port 8080 --connections 1000 --size 64 --window 32 --server-pid PID\n"
        "  wsload hub --port 8080 --connections 10000 --subs-per-conn 10 --channels 10000 \\\n"
        "      --sources 4 --server-pid PID   (10,000 channels x 10 subscribers)\n"
        "  wsload durable --port 8080 --connections 16 --window 64 --channels 1000\n"
        "\n"
        "exit status: 0 ok, 1 validation errors (hub: order violations, missing deliveries,\n"
        "publish errors) or lost connections, 2 aborted (protocol error, failed handshake,\n"
        "refused connect or subscribe), 64 bad usage\n",
        f);
}

Config parse_args(int argc, char** argv) {
    Config cfg;
    if (argc < 2)
        throw std::invalid_argument("missing MODE (echo, broadcast, idle, hub or durable)");
    const std::string_view mode = argv[1];
    if (mode == "echo")
        cfg.mode = Mode::Echo;
    else if (mode == "broadcast")
        cfg.mode = Mode::Broadcast;
    else if (mode == "idle")
        cfg.mode = Mode::Idle;
    else if (mode == "hub")
        cfg.mode = Mode::Hub;
    else if (mode == "durable")
        cfg.mode = Mode::Durable;
    else
        throw std::invalid_argument("unknown mode '" + std::string(mode) + "'");

    bool have_connections = false;
    bool have_size = false;
    bool have_binary = false;
    bool have_channels = false;
    bool have_subs = false;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool have_value = false;
        if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            have_value = true;
        }
        auto next = [&]() -> const std::string& {
            if (!have_value) {
                if (i + 1 >= argc) throw std::invalid_argument(arg + ": missing value");
                value = argv[++i];
                have_value = true;
            }
            return value;
        };
        if (arg == "--host")
            cfg.host = next();
        else if (arg == "--port")
            cfg.port = static_cast<uint16_t>(parse_uint(arg, next(), 1, 65535));
        else if (arg == "--path")
            cfg.path = next();
        else if (arg == "--connections" || arg == "--receivers") {
            cfg.connections = static_cast<uint32_t>(parse_uint(arg, next(), 1, kMaxConnections));
            have_connections = true;
        } else if (arg == "--size") {
            cfg.size = parse_uint(arg, next(), 0, kMaxMessageSize);
            have_size = true;
        } else if (arg == "--pipeline")
            cfg.pipeline = static_cast<uint32_t>(parse_uint(arg, next(), 1, 1u << 16));
        else if (arg == "--duration" || arg == "--hold")
            cfg.duration = parse_double(arg, next(), 0.01, 3600);
        else if (arg == "--warmup")
            cfg.warmup = parse_double(arg, next(), 0, 600);
        else if (arg == "--text")
            cfg.text = true;
        else if (arg == "--binary") {
            cfg.text = false;
            have_binary = true;
        } else if (arg == "--server-pid")
            cfg.server_pid = static_cast<int>(parse_uint(arg, next(), 1, 1u << 30));
        else if (arg == "--json")
            cfg.json = true;
        else if (arg == "--threads")
            cfg.threads = static_cast<uint32_t>(parse_uint(arg, next(), 1, 64));
        else if (arg == "--rate")
            cfg.rate = parse_double(arg, next(), 0, 1e9);
        else if (arg == "--window")
            cfg.window = static_cast<uint32_t>(parse_uint(arg, next(), 1, 1u << 20));
        else if (arg == "--connect-timeout")
            cfg.connect_timeout = parse_double(arg, next(), 0.1, 600);
        else if (arg == "--sources")
            cfg.sources = static_cast<uint32_t>(parse_uint(arg, next(), 1, 250));
        else if (arg == "--channels") {
            cfg.channels = static_cast<uint32_t>(parse_uint(arg, next(), 1, 1'000'000));
            have_channels = true;
        } else if (arg == "--subs-per-conn") {
            cfg.subs_per_conn =
                static_cast<uint32_t>(parse_uint(arg, next(), 1, hub::kMaxSubsPerConn));
            have_subs = true;
        } else if (arg == "--sub-layout") {
            const std::string& v = next();
            if (v == "spread")
                cfg.packed = false;
            else if (v == "packed")
                cfg.packed = true;
            else
                throw std::invalid_argument("--sub-layout: spread or packed, got '" + v + "'");
            have_subs = true;
        } else if (arg == "--binary-pubs")
            cfg.binary_pubs = true;
        else if (arg == "--namespace")
            cfg.ns = next();
        else if (arg == "--deflate")
            throw std::invalid_argument("--deflate: permessage-deflate is not implemented");
        else
            throw std::invalid_argument("unknown option '" + arg + "'");
    }

    if (cfg.port == 0) throw std::invalid_argument("--port is required");
    if (cfg.path.empty())
        cfg.path = cfg.mode == Mode::Broadcast ? "/broadcast"
                   : is_hub_mode(cfg.mode)     ? "/connection"
                                               : "/echo";
    if (cfg.path[0] != '/' || cfg.path.size() > 512 ||
        cfg.path.find_first_of(" \r\n\"\\") != std::string::npos)
        throw std::invalid_argument("--path must start with '/', contain no spaces, quotes or "
                                    "backslashes and be at most 512 bytes");
    if (!have_connections)
        cfg.connections = cfg.mode == Mode::Echo                                 ? 16
                          : cfg.mode == Mode::Broadcast || cfg.mode == Mode::Hub ? 100
                          : cfg.mode == Mode::Durable                            ? 16
                                                                                 : 1000;
    const uint32_t total = total_connections(cfg);
    if (total > kMaxConnections)
        throw std::invalid_argument("at most " + std::to_string(kMaxConnections) +
                                    " connections in all (the fd limit is 20000)");
    const uint64_t field_width = cfg.text ? 16 : 8;
    if (cfg.mode == Mode::Broadcast) {
        if (!have_size) cfg.size = std::max<uint64_t>(cfg.size, 2 * field_width);
        if (cfg.size < 2 * field_width)
            throw std::invalid_argument(
                "broadcast: --size must be >= " + std::to_string(2 * field_width) +
                " (timestamp and sequence are embedded)");
    }
    if (is_hub_mode(cfg.mode)) {
        // The client protocol is JSON in text frames; the payload fields are hex digits.
        if (have_binary) throw std::invalid_argument(std::string(mode) + ": frames are text");
        cfg.text = true;
        if (cfg.size < kHubMinSize)
            throw std::invalid_argument(std::string(mode) +
                                        ": --size must be >= " + std::to_string(kHubMinSize) +
                                        " (timestamp and sequence are embedded)");
        if (cfg.ns.empty()) cfg.ns = cfg.mode == Mode::Hub ? "bench" : "dbench";
        // Channel names are pasted into JSON unescaped (docs/protocol.md: printable ASCII, no
        // spaces); the namespace is the part before the first ':'.
        if (cfg.ns.size() > 200 || cfg.ns.find_first_of(" :\"\\#") != std::string::npos ||
            std::any_of(cfg.ns.begin(), cfg.ns.end(),
                        [](char ch) { return ch <= 0x20 || ch >= 0x7f; }))
            throw std::invalid_argument("--namespace: printable ASCII without spaces, quotes, "
                                        "backslashes, ':' or '#', at most 200 bytes");
        const uint64_t frame = cfg.size + 512;
        if (frame * cfg.window * publisher_count(cfg) > kMaxOutBytesTotal)
            throw std::invalid_argument("publishers * window * size exceeds 4 GiB");
    } else if (have_channels || !cfg.ns.empty()) {
        throw std::invalid_argument("--channels and --namespace are for hub and durable");
    }
    if ((have_subs || cfg.binary_pubs) && cfg.mode != Mode::Hub)
        throw std::invalid_argument("--subs-per-conn, --sub-layout and --binary-pubs are for hub");
    // The K channels of one subscriber must be distinct (a second subscribe is error 105).
    if (cfg.subs_per_conn > cfg.channels)
        throw std::invalid_argument("--subs-per-conn must be <= --channels");
    if (cfg.mode == Mode::Echo) {
        const uint64_t frame = cfg.size + 14;
        if (frame * cfg.pipeline * cfg.connections > kMaxOutBytesTotal)
            throw std::invalid_argument("connections * pipeline * size exceeds 4 GiB");
    }

    if (cfg.host == "localhost") cfg.host = "127.0.0.1";
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons(cfg.port);
    if (inet_pton(AF_INET, cfg.host.c_str(), &cfg.addr.sin_addr) != 1)
        throw std::invalid_argument("--host must be an IPv4 address, got '" + cfg.host + "'");
    // Load is only ever aimed at this machine (policy, not just a default).
    if ((ntohl(cfg.addr.sin_addr.s_addr) >> 24) != 127)
        throw std::invalid_argument("--host must be a loopback address (127.0.0.0/8)");
    return cfg;
}

} // namespace wsload
