#include "net/client_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace switchboard::net {

std::string resolve(const std::string& host, std::uint16_t port, std::vector<sockaddr_storage>& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0)
        return "cannot resolve " + host + ": " + ::gai_strerror(rc);
    for (addrinfo* a = res; a; a = a->ai_next) {
        sockaddr_storage ss{};
        std::memcpy(&ss, a->ai_addr, std::min<std::size_t>(a->ai_addrlen, sizeof ss));
        out.push_back(ss);
    }
    ::freeaddrinfo(res);
    return out.empty() ? "no address for " + host : std::string();
}

std::vector<std::uint32_t> local_ipv4_addresses() {
    std::vector<std::uint32_t> out, loopback;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {0x7F000001u};
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
        sockaddr_in sin{};
        std::memcpy(&sin, i->ifa_addr, sizeof sin);
        const std::uint32_t ip = ntohl(sin.sin_addr.s_addr);
        auto& to = (i->ifa_flags & IFF_LOOPBACK) ? loopback : out;
        if (std::find(to.begin(), to.end(), ip) == to.end()) to.push_back(ip);
    }
    ::freeifaddrs(list);
    out.insert(out.end(), loopback.begin(), loopback.end());
    return out;
}

TcpClient::~TcpClient() { close(); }

void TcpClient::close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    out_.clear();
    out_at_ = 0;
}

std::string TcpClient::connect(const std::string& host, std::uint16_t port, int timeout_ms) {
    close();
    std::vector<sockaddr_storage> addrs;
    if (std::string err = resolve(host, port, addrs); !err.empty()) return err;
    std::string why;
    for (const auto& a : addrs) {
        const int fd = ::socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        const socklen_t len = a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
        int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), len);
        if (rc < 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            rc = ::poll(&p, 1, timeout_ms);
            int err = 0;
            socklen_t elen = sizeof err;
            if (rc == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
            else err = ETIMEDOUT;
            rc = err ? -1 : 0;
            errno = err;
        }
        if (rc == 0) {
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fd_ = fd;
            return {};
        }
        why = std::strerror(errno);
        ::close(fd);
    }
    return "cannot connect to " + host + ":" + std::to_string(port) + ": " + why;
}

bool TcpClient::read(std::vector<std::uint8_t>& into) {
    if (fd_ < 0) return false;
    std::uint8_t buf[65536];
    for (int i = 0; i < 64; ++i) {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
            into.insert(into.end(), buf, buf + n);
            continue;
        }
        if (n == 0) return false;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    return true;
}

bool TcpClient::write(std::span<const std::uint8_t> bytes) {
    if (fd_ < 0) return false;
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return flush();
}

bool TcpClient::flush() {
    while (fd_ >= 0 && out_at_ < out_.size()) {
        const ssize_t n = ::send(fd_, out_.data() + out_at_, out_.size() - out_at_, MSG_NOSIGNAL);
        if (n > 0) {
            out_at_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        return false;
    }
    if (out_at_ == out_.size()) {
        out_.clear();
        out_at_ = 0;
    }
    return fd_ >= 0;
}

UdpPort::~UdpPort() {
    if (fd_ >= 0) ::close(fd_);
}

std::string UdpPort::bind_v4(std::uint32_t ip) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return std::strerror(errno);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(ip);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0) return std::strerror(errno);
    // Room for a burst of SCTP packets while the caller is busy elsewhere.
    const int size = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    socklen_t len = sizeof sin;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len);
    ip_ = ip;
    port_ = ntohs(sin.sin_port);
    return {};
}

long UdpPort::receive(std::span<std::uint8_t> buf, std::uint32_t& from_ip, std::uint16_t& from_port) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 || from.sin_family != AF_INET) return -1;
    from_ip = ntohl(from.sin_addr.s_addr);
    from_port = ntohs(from.sin_port);
    return static_cast<long>(n);
}

void UdpPort::send_v4(std::uint32_t ip, std::uint16_t port, std::span<const std::uint8_t> bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(ip);
    to.sin_port = htons(port);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
}

} // namespace switchboard::net
