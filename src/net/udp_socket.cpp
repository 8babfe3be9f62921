#include "net/udp_socket.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace switchboard::net {

socklen_t sockaddr_length(const sockaddr_storage& a) noexcept {
    return a.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

bool make_sockaddr(const std::string& host, std::uint16_t port, sockaddr_storage& out) noexcept {
    out = {};
    auto* a4 = reinterpret_cast<sockaddr_in*>(&out);
    if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        return true;
    }
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&out);
    if (inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        return true;
    }
    return false;
}

int bind_udp(const sockaddr_storage& at, bool reuse_port, sockaddr_storage* local) noexcept {
    int fd = ::socket(at.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (at.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&at), sockaddr_length(at)) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    if (local) {
        socklen_t len = sizeof *local;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(local), &len);
    }
    return fd;
}

bool UdpSocket::open(const sockaddr_storage& at, bool reuse_port, std::string& error) {
    fd_ = bind_udp(at, reuse_port, &local_);
    if (fd_ < 0) {
        error = std::string("bind: ") + std::strerror(errno);
        return false;
    }
    loop_.add_level(fd_, EPOLLIN, this);
    return true;
}

std::unique_ptr<UdpSocket> UdpSocket::adopt(Loop& loop, int fd, DatagramHandler& handler, UdpStats& stats, std::uint32_t tag) {
    std::unique_ptr<UdpSocket> s(new UdpSocket(loop, handler, stats, tag));
    s->fd_ = fd;
    socklen_t len = sizeof s->local_;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&s->local_), &len);
    loop.add_level(fd, EPOLLIN, s.get());
    return s;
}

UdpSocket::UdpSocket(Loop& loop, const sockaddr_storage& at, bool reuse_port, DatagramHandler& handler, UdpStats& stats,
                     std::uint32_t tag)
    : UdpSocket(loop, handler, stats, tag) {
    std::string error;
    if (!open(at, reuse_port, error)) throw std::runtime_error("UDP " + error);
}

std::unique_ptr<UdpSocket> UdpSocket::try_open(Loop& loop, const sockaddr_storage& at, DatagramHandler& handler,
                                               UdpStats& stats, std::uint32_t tag) {
    std::unique_ptr<UdpSocket> s(new UdpSocket(loop, handler, stats, tag));
    std::string error;
    if (!s->open(at, false, error)) return nullptr;
    return s;
}

UdpSocket::~UdpSocket() { close(); }

void UdpSocket::close() noexcept {
    if (fd_ < 0) return;
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
}

void UdpSocket::send_to(const sockaddr_storage& to, std::span<const std::uint8_t> bytes) noexcept {
    if (fd_ < 0) return;
    ssize_t n = ::sendto(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to),
                         sockaddr_length(to));
    if (n < 0) stats_.dropped_out.add();
    else stats_.datagrams_out.add();
}

void UdpSocket::on_io(std::uint32_t events) {
    if (!(events & EPOLLIN) || fd_ < 0) return;
    // The loop's read buffer holds one batch: kBatch slots of kMaxDatagram bytes.
    static_assert(kBatch * kMaxDatagram <= Loop::kReadBufferSize);
    auto buf = loop_.read_buffer();
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    for (std::size_t batch = 0; batch < kMaxBatchesPerEvent && fd_ >= 0; ++batch) {
        for (std::size_t i = 0; i < kBatch; ++i) {
            iov[i] = {buf.data() + i * kMaxDatagram, kMaxDatagram};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int n = ::recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                stats_.dropped_in.add();
                continue;
            }
            stats_.datagrams_in.add();
            // The handler may close this socket (a relay whose allocation ends): stop then.
            handler_.on_datagram(*this, from[i], {buf.data() + i * kMaxDatagram, msgs[i].msg_len});
            if (fd_ < 0) return;
        }
        if (static_cast<std::size_t>(n) < kBatch) return;
    }
}

} // namespace switchboard::net
