// wsload: a WebSocket load generator for Switchboard (modes: echo, broadcast, idle).
//
// Why our own tool: the numbers we publish must come from a client that is cheaper than the
// server it measures. Each worker thread owns one epoll instance, one large read buffer and a
// share of the connections. Reads are batched, and many frames are parsed per read by a
// streaming parser that never copies payloads. Writes are coalesced, so every frame queued for a
// connection during one event-loop turn goes out in one send(). Frames are stamped into a
// pre-masked template, and nothing is allocated per message.
//
// Linux only (epoll); IPv4 loopback targets only; every run stops by itself.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace wsload {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
constexpr size_t kReadBufferSize = 256 * 1024;
// The fd hard limit here is 20,000 per process; leave room for epoll fds, stdio and /proc reads.
constexpr uint32_t kMaxConnections = 19'500;
// Bounded connect concurrency per thread: a burst of thousands of SYNs overflows the server's
// accept backlog, and each dropped SYN then costs a one-second retransmit.
constexpr uint32_t kMaxConnectingPerThread = 256;
constexpr uint64_t kMaxFramePayload = 64ULL << 20;
constexpr uint64_t kMaxMessageSize = 64ULL << 20;
constexpr size_t kMaxHandshakeBytes = 16 * 1024;
// Per-connection masked templates are the fast path. Past this budget, connections of one thread
// share a mask key and template (the server cannot tell the difference in cost).
constexpr size_t kTemplateBudget = 256ULL << 20;
constexpr uint64_t kMaxOutBytesTotal = 4ULL << 30;
constexpr int kEventBatch = 512;
constexpr double kDrainTimeoutSec = 3.0;
constexpr double kCloseTimeoutSec = 3.0;
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

// ---------------------------------------------------------------------------------------------
// SHA-1 and base64: only for Sec-WebSocket-Accept (RFC 6455 §4.2.2), so plain code beats a
// libcrypto dependency.

std::array<uint8_t, 20> sha1(std::string_view msg) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    std::string data(msg);
    const uint64_t bit_len = static_cast<uint64_t>(msg.size()) * 8;
    data.push_back(static_cast<char>(0x80));
    while (data.size() % 64 != 56) data.push_back('\0');
    for (int i = 7; i >= 0; --i) data.push_back(static_cast<char>((bit_len >> (i * 8)) & 0xff));
    auto rol = [](uint32_t v, int n) { return (v << n) | (v >> (32 - n)); };
    for (size_t off = 0; off < data.size(); off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const uint8_t*>(data.data() + off + i * 4);
            w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            uint32_t f = 0, k = 0;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999u;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1u;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDCu;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6u;
            }
            const uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::array<uint8_t, 20> out{};
    for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 4; ++j) out[i * 4 + j] = static_cast<uint8_t>(h[i] >> (24 - j * 8));
    return out;
}

std::string base64(const uint8_t* p, size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t v = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) |
                           (i + 2 < n ? uint32_t{p[i + 2]} : 0);
        out.push_back(kAlphabet[(v >> 18) & 63]);
        out.push_back(kAlphabet[(v >> 12) & 63]);
        out.push_back(i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=');
        out.push_back(i + 2 < n ? kAlphabet[v & 63] : '=');
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: log-linear buckets, 64 per power of two (about 1.6% resolution), fixed
// size, so recording is a clz and an increment. Values are nanoseconds.

class Histogram {
  public:
    Histogram() : counts_(kBuckets, 0) {}

    void record(uint64_t v) {
        ++counts_[bucket_of(v)];
        ++count_;
        sum_ += v;
        max_ = std::max(max_, v);
    }

    void merge(const Histogram& o) {
        for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
        count_ += o.count_;
        sum_ += o.sum_;
        max_ = std::max(max_, o.max_);
    }

    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

    uint64_t percentile(double p) const {
        if (count_ == 0) return 0;
        auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
        rank = std::clamp<uint64_t>(rank, 1, count_);
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(bucket_mid(i), max_);
        }
        return max_;
    }

  private:
    static constexpr int kSubBits = 6;
    static constexpr uint64_t kSub = 1ULL << kSubBits;
    static constexpr size_t kBuckets = (64 - kSubBits) * kSub + kSub;

    static size_t bucket_of(uint64_t v) {
        if (v < kSub) return static_cast<size_t>(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - kSubBits;
        return (static_cast<size_t>(shift) + 1) * kSub + static_cast<size_t>((v >> shift) - kSub);
    }

    static uint64_t bucket_mid(size_t b) {
        if (b < kSub) return b;
        const size_t shift = b / kSub - 1;
        const uint64_t lo = (kSub + b % kSub) << shift;
        return lo + ((1ULL << shift) >> 1);
    }

    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Configuration (control plane: exceptions are fine here).

enum class Mode { Echo, Broadcast, Idle };

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
    sockaddr_in addr{};
};

const char* mode_name(Mode m) {
    switch (m) {
    case Mode::Echo:
        return "echo";
    case Mode::Broadcast:
        return "broadcast";
    case Mode::Idle:
        return "idle";
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
        "\n"
        "options:\n"
        "  --host ADDR          IPv4 loopback address (default 127.0.0.1)\n"
        "  --port N             server port (required)\n"
        "  --path P             request path (default /echo, or /broadcast)\n"
        "  --connections N      echo: connections (16); broadcast: receivers (100);\n"
        "                       idle: connections (1000); at most 19500 in all\n"
        "  --size S             payload bytes per message (64; broadcast needs >= 16, 32 with\n"
        "                       --text)\n"
        "  --pipeline P         echo: messages in flight per connection (1)\n"
        "  --duration D         measured seconds; idle: hold time, alias --hold (5)\n"
        "  --warmup W           seconds of load before measuring (1)\n"
        "  --text | --binary    message opcode (binary)\n"
        "  --rate M             broadcast: sender messages/s, 0 = only window-bound (0)\n"
        "  --window W           broadcast: sender messages in flight (32)\n"
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
        "\n"
        "exit status: 0 ok, 1 validation errors or lost connections, 2 aborted (protocol error,\n"
        "failed handshake), 64 bad usage\n",
        f);
}

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

Config parse_args(int argc, char** argv) {
    Config cfg;
    if (argc < 2) throw std::invalid_argument("missing MODE (echo, broadcast or idle)");
    const std::string_view mode = argv[1];
    if (mode == "echo")
        cfg.mode = Mode::Echo;
    else if (mode == "broadcast")
        cfg.mode = Mode::Broadcast;
    else if (mode == "idle")
        cfg.mode = Mode::Idle;
    else
        throw std::invalid_argument("unknown mode '" + std::string(mode) + "'");

    bool have_connections = false;
    bool have_size = false;
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
        else if (arg == "--binary")
            cfg.text = false;
        else if (arg == "--server-pid")
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
        else if (arg == "--deflate")
            throw std::invalid_argument("--deflate: permessage-deflate is not implemented");
        else
            throw std::invalid_argument("unknown option '" + arg + "'");
    }

    if (cfg.port == 0) throw std::invalid_argument("--port is required");
    if (cfg.path.empty()) cfg.path = cfg.mode == Mode::Broadcast ? "/broadcast" : "/echo";
    if (cfg.path[0] != '/' || cfg.path.size() > 512 ||
        cfg.path.find_first_of(" \r\n\"\\") != std::string::npos)
        throw std::invalid_argument("--path must start with '/', contain no spaces, quotes or "
                                    "backslashes and be at most 512 bytes");
    if (!have_connections)
        cfg.connections = cfg.mode == Mode::Echo ? 16 : cfg.mode == Mode::Broadcast ? 100 : 1000;
    const uint32_t total = cfg.connections + (cfg.mode == Mode::Broadcast ? 1 : 0);
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

// ---------------------------------------------------------------------------------------------
// Shared run control. The main thread drives the phases; workers only read them.

enum class Phase : int { Connecting, Warmup, Measure, Drain, Closing, Done };

struct Control {
    std::atomic<Phase> phase{Phase::Connecting};
    std::atomic<bool> abort{false};
    std::atomic<uint32_t> opened{0};
    std::atomic<uint32_t> failed{0};
    std::atomic<bool> sender_open{false};
    std::atomic<uint32_t> lost{0}; // open connections the server dropped or closed
    // The broadcast sender publishes how many messages it sent once sending stops, so receivers
    // can tell when they are drained.
    std::atomic<uint64_t> broadcast_total{UINT64_MAX};
    std::mutex error_mu;
    std::string first_error;
    std::string first_failure;

    void fail_run(const std::string& why) {
        {
            std::lock_guard lock(error_mu);
            if (first_error.empty()) first_error = why;
        }
        abort.store(true, std::memory_order_release);
    }
    void note_failure(const std::string& why) {
        std::lock_guard lock(error_mu);
        if (first_failure.empty()) first_failure = why;
    }
};

// Counters are per worker and plain (one writer); the main thread reads them after join().
// "Window" counters only count while the phase is Measure.
struct Stats {
    uint64_t msgs_rx = 0;       // window: echoes (echo) or deliveries to receivers (broadcast)
    uint64_t payload_rx = 0;    // window
    uint64_t msgs_tx = 0;       // window
    uint64_t wire_rx = 0;       // window: bytes read from sockets
    uint64_t wire_tx = 0;       // window: bytes written to sockets
    uint64_t self_rx = 0;       // window: broadcast sender's receipts of its own messages
    uint64_t mismatches = 0;    // wrong opcode or length
    uint64_t seq_errors = 0;    // echo order or content broken
    uint64_t gaps = 0;          // broadcast: messages a receiver never got
    uint64_t duplicates = 0;    // broadcast: sequence went backwards
    uint64_t unexpected = 0;    // data messages nobody asked for
    uint64_t server_closes = 0; // close frames the server sent before we asked
    uint64_t dropped = 0;       // TCP EOF or reset while open
    uint64_t eof_without_close = 0;
    uint64_t close_timeouts = 0;
    uint64_t connect_failed = 0;
    uint64_t handshake_failed = 0;
    uint64_t pings = 0;
    uint64_t out_growths = 0;
    uint16_t last_close_code = 0;
    Histogram lat;
    Histogram self_lat;
};

// ---------------------------------------------------------------------------------------------
// Frame helpers (RFC 6455 §5.2).
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-------+-+-------------+-------------------------------+
// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
// | |1|2|3|       |K|             |                               |
// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
// |     Extended payload length continued, if payload len == 127  |
// + - - - - - - - - - - - - - - - +-------------------------------+
// |                               |Masking-key, if MASK set to 1  |
// +-------------------------------+-------------------------------+
// | Masking-key (continued)       |          Payload Data         |
// +-------------------------------- - - - - - - - - - - - - - - - +

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpText = 0x1;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kOpPing = 0x9;
constexpr uint8_t kOpPong = 0xA;

size_t client_header_len(uint64_t len) { return 2 + (len < 126 ? 0 : len <= 0xFFFF ? 2 : 8) + 4; }

// Writes a FIN client frame header with the mask key; returns its length.
size_t write_client_header(uint8_t* out, uint8_t opcode, uint64_t len,
                           const std::array<uint8_t, 4>& mask) {
    size_t n = 0;
    out[n++] = static_cast<uint8_t>(0x80 | opcode);
    if (len < 126) {
        out[n++] = static_cast<uint8_t>(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[n++] = 0x80 | 126;
        out[n++] = static_cast<uint8_t>(len >> 8);
        out[n++] = static_cast<uint8_t>(len);
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; --i) out[n++] = static_cast<uint8_t>(len >> (i * 8));
    }
    std::memcpy(out + n, mask.data(), 4);
    return n + 4;
}

// RFC 6455 §5.3 masking, 8 bytes at a time. `p` must start at payload offset 0 so that the
// 8-byte mask word (the 4-byte key twice) lines up.
void mask_payload(uint8_t* p, size_t n, uint64_t mask64) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= mask64;
        std::memcpy(p + i, &w, 8);
    }
    uint8_t m[8];
    std::memcpy(m, &mask64, 8);
    for (; i < n; ++i) p[i] ^= m[i & 7];
}

// Sequence numbers and timestamps ride in the first payload bytes: 8 raw bytes in binary mode
// (host order: only wsload reads them back), 16 lowercase hex digits in text mode so the payload
// stays valid UTF-8. `at` must sit at a payload offset that is a multiple of 8.
void put_field_masked(uint8_t* at, uint64_t v, bool text, uint64_t mask64) {
    if (!text) {
        const uint64_t w = v ^ mask64;
        std::memcpy(at, &w, 8);
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    uint8_t hex[16];
    for (int i = 0; i < 16; ++i) hex[15 - i] = static_cast<uint8_t>(kHex[(v >> (4 * i)) & 15]);
    uint64_t w0, w1;
    std::memcpy(&w0, hex, 8);
    std::memcpy(&w1, hex + 8, 8);
    w0 ^= mask64;
    w1 ^= mask64;
    std::memcpy(at, &w0, 8);
    std::memcpy(at + 8, &w1, 8);
}

bool get_field(const uint8_t* at, bool text, uint64_t& v) {
    if (!text) {
        std::memcpy(&v, at, 8);
        return true;
    }
    v = 0;
    for (int i = 0; i < 16; ++i) {
        const uint8_t c = at[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return false;
        v = (v << 4) | d;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Per-connection state.

/// Bounded-by-construction output queue. Capacity is sized at connection set-up for the most a
/// connection can have queued (pipeline or window frames plus control frames); growth is a
/// fallback that is counted, not a per-message allocation.
class OutBuf {
  public:
    void init(size_t capacity) { data_.assign(capacity, 0); }
    size_t size() const { return tail_ - head_; }
    const uint8_t* begin() const { return data_.data() + head_; }

    // Returns room for n bytes at the tail; `grew` is set when the capacity had to grow.
    uint8_t* reserve(size_t n, bool& grew) {
        if (data_.size() - tail_ < n) {
            if (head_ > 0) {
                std::memmove(data_.data(), data_.data() + head_, tail_ - head_);
                tail_ -= head_;
                head_ = 0;
            }
            if (data_.size() - tail_ < n) {
                data_.resize(std::max(data_.size() * 2, tail_ + n));
                grew = true;
            }
        }
        return data_.data() + tail_;
    }
    void commit(size_t n) { tail_ += n; }
    void consume(size_t n) {
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
    }
    void release() {
        std::vector<uint8_t>().swap(data_);
        head_ = tail_ = 0;
    }

  private:
    std::vector<uint8_t> data_;
    size_t head_ = 0;
    size_t tail_ = 0;
};

/// Streaming frame parser state: frames are consumed as bytes arrive; payloads are never copied
/// except the first bytes of a data message (the embedded fields) and control payloads.
struct RxState {
    std::array<uint8_t, 10> hdr{};
    uint8_t hdr_have = 0;
    bool in_payload = false;
    bool in_message = false; // inside a fragmented data message
    bool frame_fin = false;
    uint8_t frame_opcode = 0;
    uint8_t msg_opcode = 0;
    uint8_t field_have = 0;
    uint8_t ctl_len = 0;
    uint64_t payload_left = 0;
    uint64_t msg_len = 0;
    std::array<uint8_t, 32> field{};
    std::array<uint8_t, 125> ctl{};
};

enum class ConnState : uint8_t { NotStarted, Connecting, Handshaking, Open, Closing, Closed };
enum class Role : uint8_t { Echo, Sender, Receiver, Idle };

/// One client connection; owned by its Worker, which keeps it at a fixed index for its life
/// (the index is the epoll user data).
struct Conn {
    int fd = -1;
    ConnState state = ConnState::NotStarted;
    Role role = Role::Idle;
    bool dirty = false;
    bool read_pending = false;
    bool close_received = false;
    bool hup = false; // RDHUP/HUP seen: read on to EOF, no further edge will come
    std::array<uint8_t, 4> mask{};
    uint64_t mask64 = 0;
    const uint8_t* frame_tmpl = nullptr; // header + masked payload, frame_len bytes
    uint64_t send_seq = 0;
    uint64_t recv_seq = 0;
    uint64_t stamped_seq = 0;   // echo: ring slots below this carry a send time
    std::vector<uint64_t> ring; // echo: send time per in-flight message (echo is ordered)
    OutBuf out;
    RxState rx;
    std::string handshake; // response bytes until the 101 is complete; freed once open
    std::string accept;    // expected Sec-WebSocket-Accept
};

// ---------------------------------------------------------------------------------------------
/// Worker: one thread, one epoll, one read buffer, a share of the connections.
/// Not thread-safe: everything but `drained` and `closed` belongs to the worker's thread while
/// run() executes; the main thread reads `stats` only after joining it.

class Worker {
  public:
    Worker(const Config& cfg, Control& ctl, uint32_t index, uint32_t count, bool has_sender)
        : cfg_(cfg), ctl_(ctl), conns_(count), rbuf_(kReadBufferSize), events_(kEventBatch) {
        std::random_device rd;
        rng_.seed((uint64_t{rd()} << 32) ^ rd() ^ (uint64_t{index} << 48));
        opcode_ = cfg.text ? kOpText : kOpBinary;
        field_width_ = cfg.text ? 16 : 8;
        hdr_len_ = client_header_len(cfg.size);
        frame_len_ = hdr_len_ + cfg.size;
        has_seq_ = cfg.size >= field_width_;
        for (uint32_t i = 0; i < count; ++i) {
            Role r = Role::Idle;
            if (cfg.mode == Mode::Echo)
                r = Role::Echo;
            else if (cfg.mode == Mode::Broadcast)
                r = (has_sender && i == 0) ? Role::Sender : Role::Receiver;
            conns_[i].role = r;
        }
        if (has_sender) sender_ = 0;
        source_offset_ = index;
        build_templates();
    }

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    ~Worker() {
        for (auto& c : conns_)
            if (c.fd >= 0) ::close(c.fd);
        if (ep_ >= 0) ::close(ep_);
    }

    void run();

    Stats stats;
    std::atomic<bool> drained{false};
    std::atomic<bool> closed{false};

  private:
    void build_templates();
    void start_connects();
    void start_connect(uint32_t id);
    void finish_connect(uint32_t id);
    void on_readable(uint32_t id);
    bool consume(Conn& c, const uint8_t* p, size_t n);
    bool consume_handshake(Conn& c, const uint8_t* p, size_t n);
    bool parse_frames(Conn& c, const uint8_t* p, size_t n);
    void on_frame_complete(Conn& c);
    void on_message(Conn& c, uint8_t opcode, uint64_t len);
    void on_control(Conn& c, uint8_t opcode);
    void on_open(Conn& c);
    void queue_echo(Conn& c);
    void queue_broadcast(Conn& c, uint64_t ts);
    void queue_control(Conn& c, uint8_t opcode, const uint8_t* payload, size_t len);
    uint8_t* out_reserve(Conn& c, size_t n);
    void mark_dirty(uint32_t id);
    void flush_dirty();
    void flush(uint32_t id, uint64_t now);
    void pump_sender();
    void enter_phase(Phase p);
    void check_progress(Phase p);
    void protocol_error(Conn& c, const char* what);
    void lost(Conn& c, const char* what, int err);
    void close_conn(Conn& c);
    bool sending_allowed() const { return phase_ < Phase::Drain; }

    const Config& cfg_;
    Control& ctl_;
    std::vector<Conn> conns_;
    std::vector<uint8_t> rbuf_;
    std::vector<epoll_event> events_;
    std::vector<uint32_t> dirty_;
    std::vector<uint32_t> pending_reads_;
    std::vector<uint32_t> pending_next_;
    std::vector<std::vector<uint8_t>> templates_;
    std::mt19937_64 rng_;
    int ep_ = -1;
    uint8_t opcode_ = kOpBinary;
    size_t field_width_ = 8;
    size_t hdr_len_ = 0;
    size_t frame_len_ = 0;
    bool has_seq_ = false;
    int64_t sender_ = -1;
    uint32_t next_start_ = 0;
    uint32_t source_offset_ = 0; // spreads threads over different source addresses
    uint32_t connecting_ = 0;
    uint32_t live_ = 0; // fds open
    Phase phase_ = Phase::Connecting;
    bool measuring_ = false;
    uint64_t now_ = 0;
    uint64_t rate_start_ = 0;
    uint64_t rate_sent_ = 0;
    uint64_t last_drain_check_ = 0;
};

void Worker::build_templates() {
    std::vector<uint8_t> plain(cfg_.size);
    for (size_t i = 0; i < plain.size(); ++i)
        plain[i] = cfg_.text ? static_cast<uint8_t>('a' + i % 26)
                             : static_cast<uint8_t>((i * 131 + 7) & 0xff);

    auto new_key = [&](Conn& c) {
        const uint64_t r = rng_();
        for (int i = 0; i < 4; ++i) c.mask[i] = static_cast<uint8_t>(r >> (i * 8));
        uint8_t m8[8];
        std::memcpy(m8, c.mask.data(), 4);
        std::memcpy(m8 + 4, c.mask.data(), 4);
        std::memcpy(&c.mask64, m8, 8);
    };
    auto make_template = [&](const Conn& c) {
        std::vector<uint8_t> t(frame_len_);
        write_client_header(t.data(), opcode_, cfg_.size, c.mask);
        std::memcpy(t.data() + hdr_len_, plain.data(), plain.size());
        mask_payload(t.data() + hdr_len_, plain.size(), c.mask64);
        return t;
    };

    size_t senders = 0;
    for (const auto& c : conns_) senders += (c.role == Role::Echo || c.role == Role::Sender);
    // RFC 6455 §5.3 wants a fresh unpredictable key per frame, to protect intermediaries from
    // cache poisoning by hostile scripts. A loopback benchmark has no such intermediaries, and a
    // fixed key lets every frame be a memcpy of a pre-masked template.
    const bool shared = senders * frame_len_ > kTemplateBudget / cfg_.threads;
    Conn* first = nullptr;
    for (auto& c : conns_) {
        new_key(c);
        if (c.role != Role::Echo && c.role != Role::Sender) continue;
        if (shared && first) {
            c.mask = first->mask;
            c.mask64 = first->mask64;
            c.frame_tmpl = first->frame_tmpl;
            continue;
        }
        templates_.push_back(make_template(c));
        c.frame_tmpl = templates_.back().data();
        if (!first) first = &c;
    }
}

void Worker::protocol_error(Conn& c, const char* what) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "protocol error from server: %s", what);
    ctl_.fail_run(buf);
    if (c.state == ConnState::Handshaking) {
        ++stats.handshake_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        --connecting_;
    }
    close_conn(c);
}

void Worker::lost(Conn& c, const char* what, int err) {
    if (c.state == ConnState::Handshaking || c.state == ConnState::Connecting) {
        ++stats.handshake_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        --connecting_;
    } else {
        ++stats.dropped;
        ctl_.lost.fetch_add(1, std::memory_order_relaxed);
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s%s%s", what, err ? ": " : "", err ? std::strerror(err) : "");
    ctl_.note_failure(buf);
    close_conn(c);
}

void Worker::close_conn(Conn& c) {
    if (c.fd >= 0) {
        ::close(c.fd); // also removes it from the epoll set
        c.fd = -1;
        --live_;
    }
    c.state = ConnState::Closed;
    c.out.release();
    std::string().swap(c.handshake);
}

void Worker::start_connects() {
    while (connecting_ < kMaxConnectingPerThread && next_start_ < conns_.size() &&
           phase_ < Phase::Closing)
        start_connect(next_start_++);
}

void Worker::start_connect(uint32_t id) {
    Conn& c = conns_[id];
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ++stats.connect_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        ctl_.note_failure(std::string("socket: ") + std::strerror(errno));
        c.state = ConnState::Closed;
        return;
    }
    // Our own coalescing decides batching; Nagle would only add latency to small echoes.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.fd = fd;
    ++live_;
    ++connecting_;
    c.state = ConnState::Connecting;
    if (cfg_.sources > 1) {
        // Linux hunts for a free ephemeral port per connect(), and that hunt gets slow once
        // most of the range is taken (and connect() prefers half of it). Other 127/8 source
        // addresses each come with a whole range; NO_PORT defers the choice to connect().
        ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl((127u << 24) | (1u + (id + source_offset_) % cfg_.sources));
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) < 0) {
            const int err = errno;
            ++stats.connect_failed;
            ctl_.failed.fetch_add(1, std::memory_order_relaxed);
            --connecting_;
            ctl_.note_failure(std::string("bind: ") + std::strerror(err));
            close_conn(c);
            return;
        }
    }
    const int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&cfg_.addr), sizeof cfg_.addr);
    if (rc < 0 && errno != EINPROGRESS) {
        const int err = errno;
        ++stats.connect_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        --connecting_;
        ctl_.note_failure(std::string("connect: ") + std::strerror(err));
        close_conn(c);
        return;
    }
    // Edge-triggered with IN and OUT registered once: no epoll_ctl per write or per phase.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = id;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ctl_.fail_run(std::string("epoll_ctl: ") + std::strerror(errno));
        return;
    }
    if (rc == 0) finish_connect(id);
}

void Worker::finish_connect(uint32_t id) {
    Conn& c = conns_[id];
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        ++stats.connect_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        --connecting_;
        ctl_.note_failure(std::string("connect: ") + std::strerror(err));
        close_conn(c);
        return;
    }
    // RFC 6455 §4.1: a random 16-byte nonce, base64-encoded.
    uint8_t nonce[16];
    const uint64_t a = rng_(), b = rng_();
    std::memcpy(nonce, &a, 8);
    std::memcpy(nonce + 8, &b, 8);
    const std::string key = base64(nonce, 16);
    const auto digest = sha1(key + std::string(kWsGuid));
    c.accept = base64(digest.data(), digest.size());

    std::string req;
    req.reserve(256);
    req += "GET " + cfg_.path + " HTTP/1.1\r\nHost: " + cfg_.host + ":" +
           std::to_string(cfg_.port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
           "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wsload\r\n\r\n";

    size_t cap = 512;
    if (c.role == Role::Echo)
        cap += frame_len_ * cfg_.pipeline;
    else if (c.role == Role::Sender)
        cap += frame_len_ * cfg_.window;
    c.out.init(std::max(cap, req.size() + 256));
    bool grew = false;
    std::memcpy(c.out.reserve(req.size(), grew), req.data(), req.size());
    c.out.commit(req.size());
    c.state = ConnState::Handshaking;
    mark_dirty(id);
}

uint8_t* Worker::out_reserve(Conn& c, size_t n) {
    bool grew = false;
    uint8_t* p = c.out.reserve(n, grew);
    if (grew) ++stats.out_growths;
    return p;
}

void Worker::mark_dirty(uint32_t id) {
    Conn& c = conns_[id];
    if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(id);
    }
}

void Worker::queue_echo(Conn& c) {
    uint8_t* dst = out_reserve(c, frame_len_);
    std::memcpy(dst, c.frame_tmpl, frame_len_);
    if (has_seq_) put_field_masked(dst + hdr_len_, c.send_seq, cfg_.text, c.mask64);
    c.out.commit(frame_len_);
    ++c.send_seq;
    if (measuring_) ++stats.msgs_tx;
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::queue_broadcast(Conn& c, uint64_t ts) {
    uint8_t* dst = out_reserve(c, frame_len_);
    std::memcpy(dst, c.frame_tmpl, frame_len_);
    put_field_masked(dst + hdr_len_, ts, cfg_.text, c.mask64);
    put_field_masked(dst + hdr_len_ + field_width_, c.send_seq, cfg_.text, c.mask64);
    c.out.commit(frame_len_);
    ++c.send_seq;
    if (measuring_) ++stats.msgs_tx;
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::queue_control(Conn& c, uint8_t opcode, const uint8_t* payload, size_t len) {
    uint8_t* dst = out_reserve(c, 6 + len);
    const size_t h = write_client_header(dst, opcode, len, c.mask);
    if (len) std::memcpy(dst + h, payload, len);
    mask_payload(dst + h, len, c.mask64);
    c.out.commit(h + len);
    mark_dirty(static_cast<uint32_t>(&c - conns_.data()));
}

void Worker::flush_dirty() {
    if (dirty_.empty()) return;
    const uint64_t now = mono_ns();
    // Index loop: flush() never appends to dirty_, but keep it robust to that anyway.
    for (size_t i = 0; i < dirty_.size(); ++i) {
        const uint32_t id = dirty_[i];
        conns_[id].dirty = false;
        flush(id, now);
    }
    dirty_.clear();
}

void Worker::flush(uint32_t id, uint64_t now) {
    Conn& c = conns_[id];
    if (c.fd < 0 || c.state == ConnState::Connecting) return;
    if (c.role == Role::Echo && !c.ring.empty()) {
        // Stamp at the moment the bytes leave, not when they were queued earlier in the turn.
        for (; c.stamped_seq < c.send_seq; ++c.stamped_seq)
            c.ring[c.stamped_seq % c.ring.size()] = now;
    }
    while (c.out.size() > 0) {
        const ssize_t w = ::send(c.fd, c.out.begin(), c.out.size(), MSG_NOSIGNAL);
        if (w > 0) {
            if (measuring_) stats.wire_tx += static_cast<uint64_t>(w);
            c.out.consume(static_cast<size_t>(w));
            continue; // after a partial write try again: the EAGAIN arms the EPOLLOUT edge
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return; // EPOLLOUT resumes
        lost(c, "send", errno);
        return;
    }
}

void Worker::on_readable(uint32_t id) {
    Conn& c = conns_[id];
    const bool to_eof = c.hup;
    // Fairness: a connection that keeps filling the buffer goes to the back of the line.
    for (int iter = 0; iter < 4 || to_eof; ++iter) {
        const ssize_t n = ::recv(c.fd, rbuf_.data(), rbuf_.size(), 0);
        if (n > 0) {
            now_ = mono_ns();
            if (measuring_) stats.wire_rx += static_cast<uint64_t>(n);
            if (!consume(c, rbuf_.data(), static_cast<size_t>(n)) || c.fd < 0) return;
            // A short read on a stream socket means its queue was empty; the next arrival
            // raises a new edge. After RDHUP/HUP read on until EOF is seen.
            if (static_cast<size_t>(n) < rbuf_.size() && !to_eof) return;
            continue;
        }
        if (n == 0) {
            if (c.state == ConnState::Closing) {
                if (!c.close_received) ++stats.eof_without_close;
                close_conn(c);
            } else {
                lost(c, "server closed the TCP connection", 0);
            }
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (c.state == ConnState::Closing)
            close_conn(c);
        else
            lost(c, "recv", errno);
        return;
    }
    if (!c.read_pending) {
        c.read_pending = true;
        pending_next_.push_back(id);
    }
}

bool Worker::consume(Conn& c, const uint8_t* p, size_t n) {
    if (c.state == ConnState::Handshaking) return consume_handshake(c, p, n);
    if (c.state == ConnState::Open || c.state == ConnState::Closing) return parse_frames(c, p, n);
    return true;
}

bool Worker::consume_handshake(Conn& c, const uint8_t* p, size_t n) {
    const size_t old = c.handshake.size();
    c.handshake.append(reinterpret_cast<const char*>(p), n);
    const size_t search_from = old >= 3 ? old - 3 : 0;
    const size_t end = c.handshake.find("\r\n\r\n", search_from);
    if (end == std::string::npos) {
        if (c.handshake.size() > kMaxHandshakeBytes) {
            protocol_error(c, "handshake response too large");
            return false;
        }
        return true;
    }
    const std::string_view head(c.handshake.data(), end);
    const size_t line_end = head.find("\r\n");
    const std::string_view status = head.substr(0, line_end);
    if (status.rfind("HTTP/1.1 101", 0) != 0) {
        ctl_.fail_run("handshake failed: '" + std::string(status.substr(0, 100)) + "' for " +
                      cfg_.path);
        ++stats.handshake_failed;
        ctl_.failed.fetch_add(1, std::memory_order_relaxed);
        --connecting_;
        close_conn(c);
        return false;
    }
    auto lower = [](std::string_view s) {
        std::string r(s);
        for (auto& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return r;
    };
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    bool upgrade_ok = false, connection_ok = false, accept_ok = false, extensions = false;
    size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        size_t e = head.find("\r\n", pos);
        if (e == std::string_view::npos) e = head.size();
        const std::string_view line = head.substr(pos, e - pos);
        pos = e + 2;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string name = lower(trim(line.substr(0, colon)));
        const std::string_view value = trim(line.substr(colon + 1));
        if (name == "upgrade")
            upgrade_ok = lower(value) == "websocket";
        else if (name == "connection")
            connection_ok = lower(value).find("upgrade") != std::string::npos;
        else if (name == "sec-websocket-accept")
            accept_ok = value == c.accept;
        else if (name == "sec-websocket-extensions")
            extensions = true;
    }
    // RFC 6455 §4.1: the client must fail the connection on any of these.
    const char* bad = !upgrade_ok      ? "handshake: missing or wrong Upgrade header"
                      : !connection_ok ? "handshake: missing or wrong Connection header"
                      : !accept_ok     ? "handshake: wrong Sec-WebSocket-Accept"
                      : extensions     ? "handshake: server chose an extension we did not offer"
                                       : nullptr;
    if (bad) {
        protocol_error(c, bad);
        return false;
    }
    c.state = ConnState::Open;
    --connecting_;
    ctl_.opened.fetch_add(1, std::memory_order_relaxed);
    std::string rest = c.handshake.substr(end + 4);
    std::string().swap(c.handshake);
    std::string().swap(c.accept);
    on_open(c);
    if (!rest.empty())
        return parse_frames(c, reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
    return true;
}

void Worker::on_open(Conn& c) {
    if (c.role == Role::Sender) ctl_.sender_open.store(true, std::memory_order_release);
    if (c.role == Role::Echo) {
        c.ring.assign(cfg_.pipeline, 0);
        if (sending_allowed())
            for (uint32_t i = 0; i < cfg_.pipeline; ++i) queue_echo(c);
    }
}

bool Worker::parse_frames(Conn& c, const uint8_t* p, size_t n) {
    RxState& rx = c.rx;
    while (n > 0 || (rx.in_payload && rx.payload_left == 0)) {
        if (!rx.in_payload) {
            if (rx.hdr_have < 2) {
                const size_t take = std::min<size_t>(2 - rx.hdr_have, n);
                std::memcpy(rx.hdr.data() + rx.hdr_have, p, take);
                rx.hdr_have = static_cast<uint8_t>(rx.hdr_have + take);
                p += take;
                n -= take;
                if (rx.hdr_have < 2) return true;
            }
            // RFC 6455 §5.1: a client must close on a masked frame from the server.
            if (rx.hdr[1] & 0x80) {
                protocol_error(c, "masked frame");
                return false;
            }
            const uint8_t len7 = rx.hdr[1] & 0x7f;
            const size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
            if (rx.hdr_have < need) {
                const size_t take = std::min<size_t>(need - rx.hdr_have, n);
                std::memcpy(rx.hdr.data() + rx.hdr_have, p, take);
                rx.hdr_have = static_cast<uint8_t>(rx.hdr_have + take);
                p += take;
                n -= take;
                if (rx.hdr_have < need) return true;
            }
            uint64_t len = len7;
            if (len7 == 126)
                len = (uint64_t{rx.hdr[2]} << 8) | rx.hdr[3];
            else if (len7 == 127) {
                len = 0;
                for (int i = 0; i < 8; ++i) len = (len << 8) | rx.hdr[2 + i];
            }
            rx.hdr_have = 0;
            const bool fin = rx.hdr[0] & 0x80;
            const uint8_t opcode = rx.hdr[0] & 0x0f;
            // RSV bits need a negotiated extension (§5.2); we negotiate none.
            if (rx.hdr[0] & 0x70) {
                protocol_error(c, "RSV bit set without an extension");
                return false;
            }
            if (opcode >= 0x8) {
                if (opcode != kOpClose && opcode != kOpPing && opcode != kOpPong) {
                    protocol_error(c, "reserved control opcode");
                    return false;
                }
                // §5.5: control frames are never fragmented and carry at most 125 bytes.
                if (!fin || len > 125) {
                    protocol_error(c, "fragmented or oversized control frame");
                    return false;
                }
                rx.ctl_len = 0;
            } else if (opcode == kOpContinuation) {
                if (!rx.in_message) {
                    protocol_error(c, "continuation frame outside a message");
                    return false;
                }
            } else if (opcode == kOpText || opcode == kOpBinary) {
                if (rx.in_message) {
                    protocol_error(c, "new data frame inside a fragmented message");
                    return false;
                }
                rx.in_message = true;
                rx.msg_opcode = opcode;
                rx.msg_len = 0;
                rx.field_have = 0;
            } else {
                protocol_error(c, "reserved data opcode");
                return false;
            }
            if (len > kMaxFramePayload) {
                protocol_error(c, "frame larger than 64 MiB");
                return false;
            }
            rx.frame_fin = fin;
            rx.frame_opcode = opcode;
            rx.payload_left = len;
            rx.in_payload = true;
        }
        const size_t take = static_cast<size_t>(std::min<uint64_t>(rx.payload_left, n));
        if (rx.frame_opcode >= 0x8) {
            std::memcpy(rx.ctl.data() + rx.ctl_len, p, take);
            rx.ctl_len = static_cast<uint8_t>(rx.ctl_len + take);
        } else {
            const size_t want = std::min(rx.field.size(), 2 * field_width_);
            if (rx.field_have < want) {
                const size_t f = std::min(want - rx.field_have, take);
                std::memcpy(rx.field.data() + rx.field_have, p, f);
                rx.field_have = static_cast<uint8_t>(rx.field_have + f);
            }
            rx.msg_len += take;
        }
        p += take;
        n -= take;
        rx.payload_left -= take;
        if (rx.payload_left == 0) {
            rx.in_payload = false;
            on_frame_complete(c);
            if (c.fd < 0) return false;
        }
    }
    return true;
}

void Worker::on_frame_complete(Conn& c) {
    RxState& rx = c.rx;
    if (rx.frame_opcode >= 0x8) {
        on_control(c, rx.frame_opcode);
        return;
    }
    if (!rx.frame_fin) return;
    if (rx.msg_len > kMaxMessageSize) {
        protocol_error(c, "message larger than 64 MiB");
        return;
    }
    rx.in_message = false;
    on_message(c, rx.msg_opcode, rx.msg_len);
}

void Worker::on_control(Conn& c, uint8_t opcode) {
    RxState& rx = c.rx;
    if (opcode == kOpPing) {
        ++stats.pings;
        // §5.5.3: a pong echoes the ping's application data.
        if (c.state == ConnState::Open) queue_control(c, kOpPong, rx.ctl.data(), rx.ctl_len);
        return;
    }
    if (opcode == kOpPong) return;
    // Close (§5.5.1).
    uint16_t code = 1005;
    if (rx.ctl_len == 1) {
        protocol_error(c, "close frame with a 1-byte payload");
        return;
    }
    if (rx.ctl_len >= 2) code = static_cast<uint16_t>((rx.ctl[0] << 8) | rx.ctl[1]);
    if (c.state == ConnState::Closing) {
        // Our close was answered; the server closes TCP first (§7.1.1), so wait for EOF.
        c.close_received = true;
        return;
    }
    ++stats.server_closes;
    ctl_.lost.fetch_add(1, std::memory_order_relaxed);
    stats.last_close_code = code;
    char buf[96];
    std::snprintf(buf, sizeof buf, "server sent close %u before we asked", unsigned{code});
    ctl_.note_failure(buf);
    c.close_received = true;
    c.state = ConnState::Closing;
    const uint8_t echo_code[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    queue_control(c, kOpClose, echo_code, rx.ctl_len >= 2 ? 2 : 0);
}

void Worker::on_message(Conn& c, uint8_t opcode, uint64_t len) {
    const RxState& rx = c.rx;
    if (c.state != ConnState::Open) return; // after our close: drain silently
    switch (c.role) {
    case Role::Echo: {
        if (c.recv_seq >= c.send_seq) {
            ++stats.unexpected;
            return;
        }
        if (opcode != opcode_ || len != cfg_.size) {
            ++stats.mismatches;
        } else if (has_seq_) {
            uint64_t seq = 0;
            if (!get_field(rx.field.data(), cfg_.text, seq) || seq != c.recv_seq)
                ++stats.seq_errors;
        }
        const uint64_t sent_at = c.ring[c.recv_seq % c.ring.size()];
        ++c.recv_seq;
        if (measuring_) {
            ++stats.msgs_rx;
            stats.payload_rx += len;
            stats.lat.record(now_ > sent_at ? now_ - sent_at : 0);
        }
        if (sending_allowed()) queue_echo(c);
        return;
    }
    case Role::Sender:
    case Role::Receiver: {
        uint64_t ts = 0, seq = 0;
        if (opcode != opcode_ || len != cfg_.size || rx.field_have < 2 * field_width_ ||
            !get_field(rx.field.data(), cfg_.text, ts) ||
            !get_field(rx.field.data() + field_width_, cfg_.text, seq)) {
            ++stats.mismatches;
            return;
        }
        const uint64_t lat = now_ > ts ? now_ - ts : 0;
        if (c.role == Role::Sender) {
            // The sender's own copy is its flow control: in flight = sent - received back.
            if (seq != c.recv_seq) ++stats.seq_errors;
            c.recv_seq = std::max(c.recv_seq, seq + 1);
            if (measuring_) {
                ++stats.self_rx;
                stats.self_lat.record(lat);
            }
            return;
        }
        // Receivers were all open before the first send, so sequence starts at 0.
        if (seq > c.recv_seq)
            stats.gaps += seq - c.recv_seq;
        else if (seq < c.recv_seq)
            ++stats.duplicates;
        c.recv_seq = std::max(c.recv_seq, seq + 1);
        if (measuring_) {
            ++stats.msgs_rx;
            stats.payload_rx += len;
            stats.lat.record(lat);
        }
        return;
    }
    case Role::Idle:
        ++stats.unexpected;
        return;
    }
}

void Worker::pump_sender() {
    if (sender_ < 0) return;
    Conn& c = conns_[static_cast<size_t>(sender_)];
    if (c.state != ConnState::Open || (phase_ != Phase::Warmup && phase_ != Phase::Measure)) return;
    const uint64_t in_flight = c.send_seq - c.recv_seq;
    if (in_flight >= cfg_.window) return;
    uint64_t n = cfg_.window - in_flight;
    const uint64_t now = mono_ns();
    if (cfg_.rate > 0) {
        const auto due = static_cast<uint64_t>(static_cast<double>(now - rate_start_) * cfg_.rate /
                                               static_cast<double>(kNsPerSec));
        // Do not bank credit while the window is shut: a backlog would go out as a burst.
        if (due > rate_sent_ + cfg_.window) rate_sent_ = due - cfg_.window;
        n = std::min(n, due - rate_sent_);
        rate_sent_ += n;
    }
    for (uint64_t i = 0; i < n; ++i) queue_broadcast(c, now);
}

void Worker::enter_phase(Phase p) {
    if (p == Phase::Warmup) {
        rate_start_ = mono_ns();
        rate_sent_ = 0;
    } else if (p == Phase::Drain) {
        if (sender_ >= 0) {
            const Conn& s = conns_[static_cast<size_t>(sender_)];
            ctl_.broadcast_total.store(s.state == ConnState::Open ? s.send_seq : 0,
                                       std::memory_order_release);
        }
    } else if (p == Phase::Closing) {
        for (uint32_t id = 0; id < conns_.size(); ++id) {
            Conn& c = conns_[id];
            if (c.state == ConnState::Open) {
                // §7.1.2: start the closing handshake with 1000 (normal closure).
                const uint8_t code[2] = {0x03, 0xE8};
                queue_control(c, kOpClose, code, 2);
                c.state = ConnState::Closing;
            } else if (c.state == ConnState::Connecting || c.state == ConnState::Handshaking) {
                --connecting_;
                close_conn(c);
            }
        }
    }
}

void Worker::check_progress(Phase p) {
    if (p == Phase::Drain && !drained.load(std::memory_order_relaxed)) {
        if (now_ - last_drain_check_ < 1'000'000) return;
        last_drain_check_ = now_;
        const uint64_t total = ctl_.broadcast_total.load(std::memory_order_acquire);
        bool done = true;
        for (const auto& c : conns_) {
            if (c.state != ConnState::Open) continue;
            if ((c.role == Role::Echo || c.role == Role::Sender) && c.recv_seq != c.send_seq)
                done = false;
            else if (c.role == Role::Receiver && (total == UINT64_MAX || c.recv_seq < total))
                done = false;
            if (!done) break;
        }
        if (done) drained.store(true, std::memory_order_release);
    } else if (p == Phase::Closing && live_ == 0) {
        closed.store(true, std::memory_order_release);
    }
}

void Worker::run() {
    ep_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) {
        ctl_.fail_run(std::string("epoll_create1: ") + std::strerror(errno));
        closed.store(true);
        drained.store(true);
        return;
    }
    Phase seen = Phase::Connecting;
    while (true) {
        const Phase p = ctl_.phase.load(std::memory_order_acquire);
        while (seen < p) {
            seen = static_cast<Phase>(static_cast<int>(seen) + 1);
            phase_ = seen;
            enter_phase(seen);
        }
        if (p == Phase::Done) break;
        measuring_ = p == Phase::Measure;
        start_connects();
        flush_dirty();

        int timeout = 20;
        if (!pending_reads_.empty() || !pending_next_.empty())
            timeout = 0;
        else if (sender_ >= 0 && cfg_.rate > 0 && (p == Phase::Warmup || p == Phase::Measure))
            timeout = 1;
        const int n = ::epoll_wait(ep_, events_.data(), static_cast<int>(events_.size()), timeout);
        if (n < 0 && errno != EINTR) {
            ctl_.fail_run(std::string("epoll_wait: ") + std::strerror(errno));
            break;
        }
        now_ = mono_ns();
        pending_reads_.swap(pending_next_);
        pending_next_.clear();
        for (int i = 0; i < n; ++i) {
            const auto id = static_cast<uint32_t>(events_[i].data.u64);
            const uint32_t ev = events_[i].events;
            Conn& c = conns_[id];
            if (c.fd < 0) continue;
            if (c.state == ConnState::Connecting) {
                if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) finish_connect(id);
                if (c.fd < 0) continue;
            }
            if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.hup = true;
            if ((c.hup || (ev & EPOLLIN)) && !c.read_pending) on_readable(id);
            if (c.fd >= 0 && (ev & EPOLLOUT) && c.out.size() > 0) mark_dirty(id);
        }
        for (const uint32_t id : pending_reads_) {
            Conn& c = conns_[id];
            c.read_pending = false;
            if (c.fd >= 0) on_readable(id);
        }
        pending_reads_.clear();
        pump_sender();
        flush_dirty();
        check_progress(p);
    }
    for (auto& c : conns_) {
        if (c.fd >= 0) {
            if (c.state == ConnState::Closing) ++stats.close_timeouts;
            close_conn(c);
        }
    }
    drained.store(true);
    closed.store(true);
}

// ---------------------------------------------------------------------------------------------
// Process-level sampling: /proc for the server, getrusage for ourselves.

struct ServerSample {
    bool ok = false;
    double cpu_s = 0;
    long rss_kb = -1;
    long rss_anon_kb = -1;
    long threads = -1;
};

ServerSample sample_server(int pid) {
    ServerSample s;
    if (pid <= 0) return s;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char buf[2048];
        const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = '\0';
        // comm may contain spaces and parentheses: fields are counted after the last ')'.
        if (const char* rp = std::strrchr(buf, ')')) {
            const char* q = rp + 1;
            unsigned long long utime = 0, stime = 0;
            // Fields after ')': state(3) ... utime(14), stime(15).
            int field = 2;
            while (*q && field < 15) {
                while (*q == ' ') ++q;
                ++field;
                if (field == 14) utime = std::strtoull(q, nullptr, 10);
                if (field == 15) stime = std::strtoull(q, nullptr, 10);
                while (*q && *q != ' ') ++q;
            }
            const long tck = sysconf(_SC_CLK_TCK);
            s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(tck > 0 ? tck : 100);
            s.ok = true;
        }
    }
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            long v = 0;
            if (std::sscanf(line, "VmRSS: %ld kB", &v) == 1)
                s.rss_kb = v;
            else if (std::sscanf(line, "RssAnon: %ld kB", &v) == 1)
                s.rss_anon_kb = v;
            else if (std::sscanf(line, "Threads: %ld", &v) == 1)
                s.threads = v;
        }
        std::fclose(f);
    }
    return s;
}

double self_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

volatile sig_atomic_t g_interrupted = 0;
extern "C" void on_signal(int) { g_interrupted = 1; }

std::string json_escape(const std::string& s) {
    std::string r;
    for (const char ch : s) {
        if (ch == '"' || ch == '\\') {
            r += '\\';
            r += ch;
        } else if (static_cast<unsigned char>(ch) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", ch);
            r += b;
        } else {
            r += ch;
        }
    }
    return r;
}

// Sleeps until `deadline` (monotonic ns) or until `stop()` holds, in short steps.
template <typename Stop> void sleep_until(uint64_t deadline, Stop stop) {
    while (mono_ns() < deadline && !stop()) {
        const uint64_t left = deadline - mono_ns();
        const uint64_t step = std::min<uint64_t>(left, 1'000'000);
        timespec ts{static_cast<time_t>(step / kNsPerSec), static_cast<long>(step % kNsPerSec)};
        nanosleep(&ts, nullptr);
    }
}

int run(const Config& cfg) {
    // Each connection is one fd; make sure the soft limit allows what the hard limit does.
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    const uint32_t total = cfg.connections + (cfg.mode == Mode::Broadcast ? 1 : 0);
    if (rl.rlim_cur < total + 64) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, total + 256);
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < total + 64) {
            std::fprintf(stderr, "wsload: fd limit %llu is too low for %u connections\n",
                         static_cast<unsigned long long>(rl.rlim_cur), total);
            return 64;
        }
    }
    if (cfg.mode == Mode::Idle && cfg.server_pid == 0 && !cfg.json)
        std::fprintf(stderr, "wsload: idle without --server-pid reports no memory figures\n");

    Control ctl;
    const ServerSample before_connect = sample_server(cfg.server_pid);
    const uint32_t threads = std::min(cfg.threads, total);
    std::vector<std::unique_ptr<Worker>> workers;
    for (uint32_t t = 0; t < threads; ++t) {
        // Connection i goes to thread i % T; the broadcast sender is connection 0 on thread 0.
        const uint32_t count = total / threads + (t < total % threads ? 1 : 0);
        workers.push_back(
            std::make_unique<Worker>(cfg, ctl, t, count, cfg.mode == Mode::Broadcast && t == 0));
    }
    std::vector<std::thread> pool;
    const uint64_t t_start = mono_ns();
    for (auto& w : workers) pool.emplace_back([&w] { w->run(); });

    auto stop = [&] {
        // Nothing left to measure once the server has dropped every connection.
        const uint32_t opened = ctl.opened.load();
        if (opened > 0 && ctl.lost.load() >= opened && ctl.phase.load() < Phase::Drain &&
            !ctl.abort.load())
            ctl.fail_run("the server dropped or closed every connection");
        return ctl.abort.load() || g_interrupted;
    };
    auto set_phase = [&](Phase p) { ctl.phase.store(p, std::memory_order_release); };

    // Connect: every connection open or failed, bounded by --connect-timeout.
    sleep_until(t_start + static_cast<uint64_t>(cfg.connect_timeout * 1e9),
                [&] { return stop() || ctl.opened.load() + ctl.failed.load() >= total; });
    const uint64_t t_connected = mono_ns();
    const uint32_t opened_at_start = ctl.opened.load();
    if (opened_at_start == 0 && !ctl.abort.load()) ctl.fail_run("no connection could be opened");
    // Without the sender there is nothing to measure.
    if (cfg.mode == Mode::Broadcast && !stop() && !ctl.sender_open.load())
        ctl.fail_run("broadcast sender did not connect");

    ServerSample s0, s1;
    double cpu0 = 0, cpu1 = 0;
    uint64_t t0 = 0, t1 = 0;
    bool measured = false;
    if (!stop()) {
        set_phase(Phase::Warmup);
        sleep_until(mono_ns() + static_cast<uint64_t>(cfg.warmup * 1e9), stop);
    }
    if (!stop()) {
        s0 = sample_server(cfg.server_pid);
        cpu0 = self_cpu_s();
        t0 = mono_ns();
        set_phase(Phase::Measure);
        sleep_until(t0 + static_cast<uint64_t>(cfg.duration * 1e9), stop);
        t1 = mono_ns();
        set_phase(Phase::Drain);
        cpu1 = self_cpu_s();
        s1 = sample_server(cfg.server_pid);
        measured = true;
    }
    set_phase(Phase::Drain);
    sleep_until(mono_ns() + static_cast<uint64_t>(kDrainTimeoutSec * 1e9), [&] {
        if (ctl.abort.load()) return true;
        for (auto& w : workers)
            if (!w->drained.load()) return false;
        return true;
    });
    bool drain_timed_out = false;
    if (!ctl.abort.load())
        for (auto& w : workers) drain_timed_out |= !w->drained.load();
    set_phase(Phase::Closing);
    sleep_until(mono_ns() + static_cast<uint64_t>(kCloseTimeoutSec * 1e9), [&] {
        for (auto& w : workers)
            if (!w->closed.load()) return false;
        return true;
    });
    set_phase(Phase::Done);
    for (auto& th : pool) th.join();
    const ServerSample after_close = sample_server(cfg.server_pid);

    Stats all;
    for (auto& w : workers) {
        const Stats& s = w->stats;
        all.msgs_rx += s.msgs_rx;
        all.payload_rx += s.payload_rx;
        all.msgs_tx += s.msgs_tx;
        all.wire_rx += s.wire_rx;
        all.wire_tx += s.wire_tx;
        all.self_rx += s.self_rx;
        all.mismatches += s.mismatches;
        all.seq_errors += s.seq_errors;
        all.gaps += s.gaps;
        all.duplicates += s.duplicates;
        all.unexpected += s.unexpected;
        all.server_closes += s.server_closes;
        all.dropped += s.dropped;
        all.eof_without_close += s.eof_without_close;
        all.close_timeouts += s.close_timeouts;
        all.connect_failed += s.connect_failed;
        all.handshake_failed += s.handshake_failed;
        all.pings += s.pings;
        all.out_growths += s.out_growths;
        if (s.last_close_code) all.last_close_code = s.last_close_code;
        all.lat.merge(s.lat);
        all.self_lat.merge(s.self_lat);
    }

    const double window = measured ? static_cast<double>(t1 - t0) / 1e9 : 0.0;
    const double per_s = window > 0 ? 1.0 / window : 0.0;
    const double msgs_per_s = static_cast<double>(all.msgs_rx) * per_s;
    const double mb_per_s = static_cast<double>(all.payload_rx) * per_s / 1e6;
    const double sent_per_s = static_cast<double>(all.msgs_tx) * per_s;
    const double loadgen_cpu = cpu1 - cpu0;
    const bool have_server = s0.ok && s1.ok;
    const double server_cpu = have_server ? s1.cpu_s - s0.cpu_s : 0.0;
    const double msgs_per_server_cpu =
        have_server && server_cpu > 0 ? static_cast<double>(all.msgs_rx) / server_cpu : 0.0;
    const double connect_s = static_cast<double>(t_connected - t_start) / 1e9;
    auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1e3; };

    const uint64_t errors = all.mismatches + all.seq_errors + all.gaps + all.duplicates +
                            all.unexpected + all.server_closes + all.dropped + all.connect_failed +
                            all.handshake_failed;
    const bool aborted = ctl.abort.load();
    std::string first_error, first_failure;
    {
        std::lock_guard lock(ctl.error_mu);
        first_error = ctl.first_error;
        first_failure = ctl.first_failure;
    }
    // Idle: server memory per connection, measured before any connection and at the end of
    // the hold (s1), so lazily grown per-connection state is included.
    const bool have_mem = cfg.mode == Mode::Idle && before_connect.rss_kb >= 0 && s1.rss_kb >= 0 &&
                          opened_at_start > 0;
    const double rss_per_conn =
        have_mem ? static_cast<double>(s1.rss_kb - before_connect.rss_kb) * 1024.0 / opened_at_start
                 : 0.0;
    const double anon_per_conn =
        have_mem ? static_cast<double>(s1.rss_anon_kb - before_connect.rss_anon_kb) * 1024.0 /
                       opened_at_start
                 : 0.0;

    if (cfg.json) {
        std::string j = "{";
        char b[2048];
        auto add = [&](const char* fmt, auto... v) {
            std::snprintf(b, sizeof b, fmt, v...);
            j += b;
        };
        add("\"mode\":\"%s\",\"host\":\"%s\",\"port\":%u,\"path\":\"%s\"", mode_name(cfg.mode),
            cfg.host.c_str(), unsigned{cfg.port}, json_escape(cfg.path).c_str());
        add(",\"connections\":%u,\"opened\":%u,\"connect_s\":%.3f,\"threads\":%u", total,
            opened_at_start, connect_s, threads);
        add(",\"size\":%llu,\"opcode\":\"%s\",\"pipeline\":%u,\"window\":%u,\"rate\":%.0f",
            static_cast<unsigned long long>(cfg.size), cfg.text ? "text" : "binary", cfg.pipeline,
            cfg.window, cfg.rate);
        add(",\"warmup_s\":%.3f,\"duration_s\":%.3f", cfg.warmup, window);
        add(",\"msgs\":%llu,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"sent_per_s\":%.1f",
            static_cast<unsigned long long>(all.msgs_rx), msgs_per_s, mb_per_s, sent_per_s);
        add(",\"wire_rx_mb_per_s\":%.3f,\"wire_tx_mb_per_s\":%.3f",
            static_cast<double>(all.wire_rx) * per_s / 1e6,
            static_cast<double>(all.wire_tx) * per_s / 1e6);
        add(",\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f,\"mean\":%.1f,"
            "\"n\":%llu}",
            us(all.lat.percentile(0.50)), us(all.lat.percentile(0.90)),
            us(all.lat.percentile(0.99)), us(all.lat.max()), all.lat.mean() / 1e3,
            static_cast<unsigned long long>(all.lat.count()));
        if (cfg.mode == Mode::Broadcast)
            add(",\"sender_self\":{\"msgs\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f}",
                static_cast<unsigned long long>(all.self_rx), us(all.self_lat.percentile(0.5)),
                us(all.self_lat.percentile(0.99)));
        add(",\"loadgen_cpu_s\":%.3f", loadgen_cpu);
        if (have_server)
            add(",\"server_cpu_s\":%.3f,\"msgs_per_server_cpu_s\":%.1f", server_cpu,
                msgs_per_server_cpu);
        if (s1.rss_kb >= 0)
            add(",\"server_rss_kb\":%ld,\"server_rss_anon_kb\":%ld,\"server_threads\":%ld",
                s1.rss_kb, s1.rss_anon_kb, s1.threads);
        if (have_mem)
            add(",\"server_rss_before_kb\":%ld,\"server_rss_anon_before_kb\":%ld,"
                "\"rss_bytes_per_conn\":%.0f,\"rss_anon_bytes_per_conn\":%.0f",
                before_connect.rss_kb, before_connect.rss_anon_kb, rss_per_conn, anon_per_conn);
        if (after_close.rss_kb >= 0) add(",\"server_rss_after_close_kb\":%ld", after_close.rss_kb);
        add(",\"errors\":%llu,\"mismatches\":%llu,\"seq_errors\":%llu,\"gaps\":%llu,"
            "\"duplicates\":%llu,\"unexpected\":%llu",
            static_cast<unsigned long long>(errors),
            static_cast<unsigned long long>(all.mismatches),
            static_cast<unsigned long long>(all.seq_errors),
            static_cast<unsigned long long>(all.gaps),
            static_cast<unsigned long long>(all.duplicates),
            static_cast<unsigned long long>(all.unexpected));
        add(",\"server_closes\":%llu,\"dropped\":%llu,\"connect_failed\":%llu,"
            "\"handshake_failed\":%llu,\"close_timeouts\":%llu,\"eof_without_close\":%llu,"
            "\"pings\":%llu,\"drain_timed_out\":%s,\"aborted\":%s,\"interrupted\":%s",
            static_cast<unsigned long long>(all.server_closes),
            static_cast<unsigned long long>(all.dropped),
            static_cast<unsigned long long>(all.connect_failed),
            static_cast<unsigned long long>(all.handshake_failed),
            static_cast<unsigned long long>(all.close_timeouts),
            static_cast<unsigned long long>(all.eof_without_close),
            static_cast<unsigned long long>(all.pings), drain_timed_out ? "true" : "false",
            aborted ? "true" : "false", g_interrupted ? "true" : "false");
        j += ",\"error\":\"" + json_escape(first_error.empty() ? first_failure : first_error) +
             "\"}";
        std::puts(j.c_str());
    } else {
        std::printf("wsload %s ws://%s:%u%s  %s, %u thread%s\n", mode_name(cfg.mode),
                    cfg.host.c_str(), unsigned{cfg.port}, cfg.path.c_str(),
                    cfg.text ? "text" : "binary", threads, threads == 1 ? "" : "s");
        const std::string rate_text =
            cfg.rate > 0 ? std::to_string(static_cast<uint64_t>(cfg.rate)) + "/s" : "unlimited";
        if (cfg.mode == Mode::Echo)
            std::printf("  load         %u connections, %llu-byte messages, pipeline %u\n", total,
                        static_cast<unsigned long long>(cfg.size), cfg.pipeline);
        else if (cfg.mode == Mode::Broadcast)
            std::printf("  load         1 sender + %u receivers, %llu-byte messages, window %u, "
                        "rate %s\n",
                        cfg.connections, static_cast<unsigned long long>(cfg.size), cfg.window,
                        rate_text.c_str());
        else
            std::printf("  load         %u idle connections\n", total);
        std::printf("  connected    %u/%u in %.3f s (%.0f/s)\n", opened_at_start, total, connect_s,
                    connect_s > 0 ? opened_at_start / connect_s : 0.0);
        if (measured) {
            std::printf("  window       %.2f s after %.2f s warm-up\n", window, cfg.warmup);
            if (cfg.mode == Mode::Echo) {
                std::printf("  echoes       %llu (%.0f msg/s), payload %.2f MB/s each way\n",
                            static_cast<unsigned long long>(all.msgs_rx), msgs_per_s, mb_per_s);
            } else if (cfg.mode == Mode::Broadcast) {
                std::printf("  sent         %llu (%.0f msg/s)\n",
                            static_cast<unsigned long long>(all.msgs_tx), sent_per_s);
                std::printf("  delivered    %llu to receivers (%.0f msg/s, %.2f MB/s payload)\n",
                            static_cast<unsigned long long>(all.msgs_rx), msgs_per_s, mb_per_s);
            }
            if (cfg.mode != Mode::Idle) {
                std::printf("  latency us   p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%llu)\n",
                            us(all.lat.percentile(0.50)), us(all.lat.percentile(0.90)),
                            us(all.lat.percentile(0.99)), us(all.lat.max()),
                            static_cast<unsigned long long>(all.lat.count()));
                if (cfg.mode == Mode::Broadcast)
                    std::printf("  sender self  p50 %.1f  p99 %.1f us (its own copy, the flow "
                                "control)\n",
                                us(all.self_lat.percentile(0.5)),
                                us(all.self_lat.percentile(0.99)));
                std::printf("  wire         rx %.2f MB/s  tx %.2f MB/s\n",
                            static_cast<double>(all.wire_rx) * per_s / 1e6,
                            static_cast<double>(all.wire_tx) * per_s / 1e6);
            }
            std::printf("  wsload CPU   %.2f s (%.0f%% of one core)\n", loadgen_cpu,
                        window > 0 ? 100.0 * loadgen_cpu / window : 0.0);
            if (have_server) {
                std::printf("  server CPU   %.2f s (%.0f%% of one core)", server_cpu,
                            window > 0 ? 100.0 * server_cpu / window : 0.0);
                if (cfg.mode != Mode::Idle)
                    std::printf(", %.0f msg per server CPU-second", msgs_per_server_cpu);
                std::printf("\n");
            }
        }
        if (have_mem) {
            std::printf("  server RSS   before %ld kB, held %ld kB, after close %ld kB\n",
                        before_connect.rss_kb, s1.rss_kb, after_close.rss_kb);
            std::printf("  RssAnon      before %ld kB, held %ld kB, after close %ld kB\n",
                        before_connect.rss_anon_kb, s1.rss_anon_kb, after_close.rss_anon_kb);
            std::printf("  per conn     %.0f bytes RSS, %.0f bytes RssAnon\n", rss_per_conn,
                        anon_per_conn);
        } else if (s1.rss_kb >= 0) {
            std::printf("  server RSS   %ld kB (anon %ld kB), %ld threads\n", s1.rss_kb,
                        s1.rss_anon_kb, s1.threads);
        }
        std::printf("  errors       %llu", static_cast<unsigned long long>(errors));
        if (errors)
            std::printf(" (mismatch %llu, seq %llu, gaps %llu, dup %llu, unexpected %llu, "
                        "server closes %llu, dropped %llu, connect %llu, handshake %llu)",
                        static_cast<unsigned long long>(all.mismatches),
                        static_cast<unsigned long long>(all.seq_errors),
                        static_cast<unsigned long long>(all.gaps),
                        static_cast<unsigned long long>(all.duplicates),
                        static_cast<unsigned long long>(all.unexpected),
                        static_cast<unsigned long long>(all.server_closes),
                        static_cast<unsigned long long>(all.dropped),
                        static_cast<unsigned long long>(all.connect_failed),
                        static_cast<unsigned long long>(all.handshake_failed));
        std::printf("\n");
        if (all.close_timeouts || all.eof_without_close || drain_timed_out || all.pings ||
            all.out_growths)
            std::printf("  notes        close timeouts %llu, EOF without close frame %llu, "
                        "drain timed out %s, pings %llu, buffer growths %llu\n",
                        static_cast<unsigned long long>(all.close_timeouts),
                        static_cast<unsigned long long>(all.eof_without_close),
                        drain_timed_out ? "yes" : "no", static_cast<unsigned long long>(all.pings),
                        static_cast<unsigned long long>(all.out_growths));
        if (!first_failure.empty()) std::printf("  first failure: %s\n", first_failure.c_str());
        if (g_interrupted) std::printf("  interrupted: the window was cut short\n");
        if (aborted) std::printf("  ABORTED: %s\n", first_error.c_str());
    }
    std::fflush(stdout);
    if (aborted) return 2;
    return errors ? 1 : 0;
}

} // namespace
} // namespace wsload

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            wsload::print_usage(stdout);
            return 0;
        }
    }
    wsload::Config cfg;
    try {
        cfg = wsload::parse_args(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsload: %s (see wsload --help)\n", e.what());
        return 64;
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, wsload::on_signal);
    std::signal(SIGTERM, wsload::on_signal);
    return wsload::run(cfg);
}
