// Connection life cycle: non-blocking connect, the opening handshake (RFC 6455 §4.1) and every
// way a connection ends, each counted once in Stats and Control.
#include "worker.hpp"

#include "base64.hpp"
#include "limits.hpp"
#include "sha1.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace wsload {
namespace {

// RFC 6455 §1.3: the GUID every server appends to the key before hashing.
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
// docs/protocol.md: the JSON client protocol's subprotocol, offered by the hub modes.
constexpr std::string_view kHubSubprotocol = "switchboard.v1.json";

} // namespace

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
           "\r\nSec-WebSocket-Version: 13\r\n";
    if (hub_mode_) req += "Sec-WebSocket-Protocol: " + std::string(kHubSubprotocol) + "\r\n";
    req += "User-Agent: wsload\r\n\r\n";

    size_t cap = 512;
    if (c.role == Role::Echo)
        cap += frame_len_ * cfg_.pipeline;
    else if (c.role == Role::Sender)
        cap += frame_len_ * cfg_.window;
    else if (c.role == Role::Publisher)
        cap += publish_frame_max_ * cfg_.window;
    c.out.init(std::max(cap, req.size() + 256));
    bool grew = false;
    std::memcpy(c.out.reserve(req.size(), grew), req.data(), req.size());
    c.out.commit(req.size());
    c.state = ConnState::Handshaking;
    mark_dirty(id);
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
    bool subprotocol_ok = true;
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
        else if (name == "sec-websocket-protocol" && hub_mode_)
            subprotocol_ok = value == kHubSubprotocol;
    }
    // RFC 6455 §4.1: the client must fail the connection on any of these.
    const char* bad = !upgrade_ok       ? "handshake: missing or wrong Upgrade header"
                      : !connection_ok  ? "handshake: missing or wrong Connection header"
                      : !accept_ok      ? "handshake: wrong Sec-WebSocket-Accept"
                      : extensions      ? "handshake: server chose an extension we did not offer"
                      : !subprotocol_ok ? "handshake: server chose a subprotocol we did not offer"
                                        : nullptr;
    if (bad) {
        protocol_error(c, bad);
        return false;
    }
    c.state = ConnState::Open;
    --connecting_;
    if (counted_open(c)) ctl_.opened.fetch_add(1, std::memory_order_relaxed);
    std::string rest = c.handshake.substr(end + 4);
    std::string().swap(c.handshake);
    std::string().swap(c.accept);
    on_open(c);
    if (!rest.empty())
        return parse_frames(c, reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
    return true;
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
    } else if (!counted_open(c)) {
        setup_lost();
    } else {
        ++stats.dropped;
        ctl_.lost.fetch_add(1, std::memory_order_relaxed);
    }
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s%s%s%s",
                  c.state == ConnState::Open && !counted_open(c) ? "before connect/subscribe "
                                                                   "completed: "
                                                                 : "",
                  what, err ? ": " : "", err ? std::strerror(err) : "");
    ctl_.note_failure(buf);
    close_conn(c);
}

void Worker::setup_lost() {
    ++stats.setup_failed;
    ctl_.failed.fetch_add(1, std::memory_order_relaxed); // the connect phase waits for it
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

} // namespace wsload
