#include "net/udp_socket.hpp"

#include <arpa/inet.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 // linux/udp.h; older libc headers lack it
#endif

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
    if (reuse_port) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        // A shared listening socket takes every client's bursts: give it room (the kernel caps
        // this at net.core.rmem_max / wmem_max).
        int big = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    }
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
    if (batch_) batch_->forget(this);
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
            if (fd_ < 0) {
                if (batch_) batch_->flush();
                return;
            }
        }
        if (batch_) batch_->flush();
        if (static_cast<std::size_t>(n) < kBatch) return;
    }
}

void UdpSendBatch::add(UdpSocket& from, const sockaddr_storage& to, std::span<const std::uint8_t> bytes) noexcept {
    if (bytes.size() > 2048) {
        from.send_to(to, bytes);
        return;
    }
    if (count_ == kMax || used_ + bytes.size() > kArena) flush();
    std::memcpy(arena_.data() + used_, bytes.data(), bytes.size());
    items_[count_++] = Item{&from, to, static_cast<std::uint32_t>(used_), static_cast<std::uint32_t>(bytes.size())};
    used_ += bytes.size();
}

void UdpSendBatch::forget(UdpSocket* s) noexcept {
    for (std::size_t i = 0; i < count_; ++i)
        if (items_[i].from == s) items_[i].from = nullptr;
}

namespace {
std::atomic<bool> gso_ok{true}; // cleared (process-wide, any loop) the first time the kernel refuses UDP_SEGMENT

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) noexcept {
    return std::memcmp(&a, &b, sockaddr_length(a)) == 0;
}
} // namespace

void UdpSendBatch::flush() noexcept {
    mmsghdr msgs[kMax];
    iovec iov[kMax];
    std::size_t i = 0;
    while (i < count_) {
        UdpSocket* s = items_[i].from;
        std::size_t j = i + 1;
        while (j < count_ && items_[j].from == s) ++j;
        if (!s || s->closed()) {
            i = j;
            continue;
        }
        std::size_t m = 0; // single datagrams gathered for one sendmmsg
        auto queue_one = [&](std::size_t k) {
            iov[m] = {arena_.data() + items_[k].offset, items_[k].length};
            msgs[m].msg_hdr = {};
            msgs[m].msg_hdr.msg_name = &items_[k].to;
            msgs[m].msg_hdr.msg_namelen = sockaddr_length(items_[k].to);
            msgs[m].msg_hdr.msg_iov = &iov[m];
            msgs[m].msg_hdr.msg_iovlen = 1;
            ++m;
        };
        auto send_queued = [&] {
            if (!m) return;
            int sent = ::sendmmsg(s->fd(), msgs, static_cast<unsigned>(m), MSG_DONTWAIT);
            auto ok = static_cast<std::size_t>(sent > 0 ? sent : 0);
            s->stats().datagrams_out.add(ok);
            if (ok < m) s->stats().dropped_out.add(m - ok);
            m = 0;
        };
        // Within a run from one socket, datagrams of one size to one address leave as one
        // buffer the kernel cuts up (UDP_SEGMENT): one pass through the stack for the run.
        std::size_t k = i;
        while (k < j) {
            std::size_t r = k + 1;
            while (gso_ok && r < j && items_[r].length == items_[k].length && same_address(items_[r].to, items_[k].to) &&
                   items_[r].offset == items_[r - 1].offset + items_[r - 1].length && r - k < 64 &&
                   (r - k + 1) * items_[k].length <= 65000)
                ++r;
            if (r - k == 1) {
                queue_one(k);
                k = r;
                continue;
            }
            send_queued(); // what came before goes first, in order
            char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
            iovec one{arena_.data() + items_[k].offset, static_cast<std::size_t>(items_[k].length) * (r - k)};
            msghdr mh{};
            mh.msg_name = &items_[k].to;
            mh.msg_namelen = sockaddr_length(items_[k].to);
            mh.msg_iov = &one;
            mh.msg_iovlen = 1;
            mh.msg_control = control;
            mh.msg_controllen = sizeof control;
            cmsghdr* cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            auto seg = static_cast<std::uint16_t>(items_[k].length);
            std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
            if (::sendmsg(s->fd(), &mh, MSG_DONTWAIT) >= 0) {
                s->stats().datagrams_out.add(r - k);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                s->stats().dropped_out.add(r - k);
            } else {
                // A kernel or route without UDP segmentation: send them one by one from now on.
                gso_ok = false;
                r = k + 1;
                queue_one(k);
            }
            k = r;
        }
        send_queued();
        i = j;
    }
    count_ = 0;
    used_ = 0;
}

} // namespace switchboard::net
