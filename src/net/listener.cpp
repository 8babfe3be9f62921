#include "net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace switchboard::net {

std::string Endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& s) {
    Endpoint e;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        auto close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            throw std::invalid_argument("address '" + s + "' must look like [::1]:8080");
        e.host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string::npos) throw std::invalid_argument("address '" + s + "' must look like HOST:PORT");
        e.host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    if (e.host.empty() || e.host == "*") e.host = "0.0.0.0";
    if (e.host == "localhost") e.host = "127.0.0.1";
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end || p < 0 || p > 65535) throw std::invalid_argument("port in '" + s + "' must be 0-65535");
    e.port = static_cast<unsigned short>(p);
    in6_addr a6;
    in_addr a4;
    if (inet_pton(AF_INET, e.host.c_str(), &a4) != 1 && inet_pton(AF_INET6, e.host.c_str(), &a6) != 1)
        throw std::invalid_argument("host in '" + s + "' must be a numeric IP address");
    return e;
}

int port_taken(const Endpoint& at, int type) noexcept {
    sockaddr_storage ss{};
    socklen_t len;
    if (at.host.find(':') != std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(at.port);
        inet_pton(AF_INET6, at.host.c_str(), &a->sin6_addr);
        len = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(at.port);
        inet_pton(AF_INET, at.host.c_str(), &a->sin_addr);
        len = sizeof *a;
    }
    int fd = ::socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    int one = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int e = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? 0 : errno;
    ::close(fd);
    return e;
}

Listener::Listener(Loop& loop, const Endpoint& at, AcceptFn on_accept) : loop_(loop), on_accept_(std::move(on_accept)) {
    sockaddr_storage ss{};
    socklen_t len;
    int family;
    if (at.host.find(':') != std::string::npos) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(at.port);
        inet_pton(AF_INET6, at.host.c_str(), &a->sin6_addr);
        len = sizeof *a;
        family = AF_INET6;
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(at.port);
        inet_pton(AF_INET, at.host.c_str(), &a->sin_addr);
        len = sizeof *a;
        family = AF_INET;
    }
    fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        int e = errno;
        ::close(fd_);
        throw std::runtime_error("cannot listen on " + at.to_string() + ": " + std::strerror(e));
    }
    if (::listen(fd_, 4096) != 0) {
        int e = errno;
        ::close(fd_);
        throw std::runtime_error("listen on " + at.to_string() + ": " + std::strerror(e));
    }
    sockaddr_storage bound{};
    socklen_t blen = sizeof bound;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

Listener::~Listener() {
    if (fd_ >= 0) ::close(fd_);
}

void Listener::start() { loop_.add(fd_, EPOLLIN, this); }

void Listener::stop() {
    if (fd_ < 0) return;
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
}

void Listener::on_io(std::uint32_t) {
    while (fd_ >= 0) {
        int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if ((errno == EMFILE || errno == ENFILE) && !retry_pending_) {
                // Out of descriptors. The waiting connections raise no new edge, so look again
                // shortly (closing connections free descriptors) instead of stalling until the
                // next connection attempt.
                retry_pending_ = true;
                loop_.add_timer(std::chrono::milliseconds(100), [this] {
                    retry_pending_ = false;
                    on_io(EPOLLIN);
                });
            }
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        on_accept_(fd);
    }
}

} // namespace switchboard::net
