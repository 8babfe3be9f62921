#include "net/stream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace switchboard::net {

namespace {
constexpr std::size_t kMaxReadPerEvent = 1024 * 1024; // then yield to other streams
constexpr int kMaxIov = 256;
constexpr std::size_t kCopyBelowAverage = 1024; // segment size under which flush copies
} // namespace

Stream::Stream(Loop& loop, int fd, std::unique_ptr<TlsSession> tls)
    : loop_(loop), fd_(fd), tls_(std::move(tls)) {}

Stream::~Stream() {
    if (fd_ >= 0) ::close(fd_);
}

SendQueue& Stream::queue() {
    if (!queue_) queue_ = std::make_unique<SendQueue>();
    return *queue_;
}

void Stream::start() {
    loop_.attach(this);
    loop_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
}

void Stream::send(std::span<const std::uint8_t> bytes) {
    if (fd_ < 0 || bytes.empty()) return;
    if (tls_) {
        if (!tls_->write(bytes)) { close(); return; }
        send_tls_output();
        return;
    }
    send_raw(bytes.data(), bytes.size());
}

void Stream::send_shared(const SharedBytes& bytes) {
    if (fd_ < 0 || bytes.size() == 0) return;
    if (tls_) { send(bytes.span()); return; }
    LocalRef hold(loop_.local_pool().adopt(bytes));
    send_shared(hold.get());
}

void Stream::send_shared(LocalBlock* block) {
    if (fd_ < 0 || block->bytes.size() == 0) return;
    if (tls_) { send(block->bytes.span()); return; }
    if (loop_.corked() == this && !loop_.cork_buffer().empty()) {
        // Keep order: what was corked goes first.
        ByteBuffer& cork = loop_.cork_buffer();
        queue().push_owned(cork.data(), cork.size());
        cork.clear();
    }
    queue().push_shared(block);
    if (loop_.delay_fanout() && loop_.corked() != this) {
        // Pushed to a subscriber: may wait for the messages that follow (see Loop).
        if (!in_dirty_ && !in_delayed_) { in_delayed_ = true; loop_.mark_delayed(this); }
        return;
    }
    if (!in_dirty_) { in_dirty_ = true; loop_.mark_dirty(this); }
}

void Stream::send_tls_output() {
    ByteBuffer& scratch = loop_.cork_buffer();
    if (loop_.corked() == this && queue_empty()) {
        tls_->take_output(scratch); // stays corked; written at uncork
        return;
    }
    ByteBuffer& cipher = loop_.tls_cipher();
    cipher.clear();
    tls_->take_output(cipher);
    send_raw(cipher.data(), cipher.size());
    cipher.clear();
}

void Stream::send_raw(const std::uint8_t* p, std::size_t n) {
    if (loop_.corked() == this && queue_empty()) {
        ByteBuffer& cork = loop_.cork_buffer();
        if (cork.size() + n <= Loop::kCorkSize) {
            cork.append(p, n);
            return;
        }
        queue().push_owned(cork.data(), cork.size());
        cork.clear();
    }
    queue().push_owned(p, n);
    if (!in_dirty_) { in_dirty_ = true; loop_.mark_dirty(this); }
}

void Stream::uncork() {
    ByteBuffer& cork = loop_.cork_buffer();
    loop_.set_corked(nullptr);
    if (fd_ < 0) { cork.clear(); return; }
    if (cork.empty()) {
        // Nothing to write, but an end() requested while corked still needs its half-close.
        after_write();
        return;
    }
    if (queue_empty() && !want_write_) {
        ssize_t w = ::send(fd_, cork.data(), cork.size(), MSG_NOSIGNAL);
        loop_.stats().write_calls.add();
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) { cork.clear(); close(); return; }
            w = 0;
            want_write_ = true;
        }
        loop_.stats().bytes_out.add(static_cast<std::uint64_t>(w));
        if (static_cast<std::size_t>(w) < cork.size()) {
            queue().push_owned(cork.data() + w, cork.size() - static_cast<std::size_t>(w));
            want_write_ = true;
        }
    } else {
        queue().push_owned(cork.data(), cork.size());
    }
    cork.clear();
    if (cork.capacity() > 4 * Loop::kCorkSize) {
        // TLS records of a large message went through the cork: don't keep that much.
        cork.release();
        cork.prepare(Loop::kCorkSize);
    }
    if (!queue_empty() && !in_dirty_ && !want_write_) { in_dirty_ = true; loop_.mark_dirty(this); }
    after_write();
}

void Stream::flush() {
    in_dirty_ = false;
    if (fd_ < 0 || want_write_) return;
    iovec iov[kMaxIov];
    while (!queue_empty()) {
        int n = queue_->gather(iov, kMaxIov);
        std::size_t total = 0;
        for (int i = 0; i < n; ++i) total += iov[i].iov_len;
        ssize_t w;
        if (n > 1 && total <= Loop::kCorkSize && total < static_cast<std::size_t>(n) * kCopyBelowAverage) {
            // Many small segments (fan-out of short messages): one copy into the loop's cork
            // buffer, free outside a read, costs less than the kernel walking every iovec.
            ByteBuffer& scratch = loop_.cork_buffer();
            scratch.clear();
            for (int i = 0; i < n; ++i) scratch.append(iov[i].iov_base, iov[i].iov_len);
            w = ::send(fd_, scratch.data(), scratch.size(), MSG_NOSIGNAL);
            scratch.clear();
        } else {
            w = ::writev(fd_, iov, n);
        }
        loop_.stats().write_calls.add();
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) { want_write_ = true; break; }
            if (errno == EINTR) continue;
            close();
            return;
        }
        loop_.stats().bytes_out.add(static_cast<std::uint64_t>(w));
        queue_->consume(static_cast<std::size_t>(w));
        if (static_cast<std::size_t>(w) < total) { want_write_ = true; break; }
    }
    after_write();
}

void Stream::after_write() {
    if (fd_ < 0 || !queue_empty()) return;
    on_drained();
    if (ending_ && !half_closed_ && queue_empty() && fd_ >= 0) {
        if (tls_) {
            tls_->shutdown();
            ByteBuffer tmp;
            tls_->take_output(tmp);
            if (!tmp.empty()) [[maybe_unused]] auto r = ::send(fd_, tmp.data(), tmp.size(), MSG_NOSIGNAL);
        }
        ::shutdown(fd_, SHUT_WR);
        half_closed_ = true;
    }
}

void Stream::end() {
    if (fd_ < 0 || ending_) return;
    ending_ = true;
    if (queue_empty() && loop_.corked() != this) after_write();
}

void Stream::close() {
    if (fd_ < 0) return;
    if (loop_.corked() == this) {
        loop_.cork_buffer().clear();
        loop_.set_corked(nullptr);
    }
    on_close();
    loop_.remove(fd_);
    ::close(fd_);
    fd_ = -1;
    queue_.reset();
    loop_.detach_and_destroy(this);
}

void Stream::pause_reading(bool paused) {
    if (paused_ == paused) return;
    paused_ = paused;
    // Edge-triggered: bytes that arrived while paused raise no new edge, so look again.
    if (!paused && fd_ >= 0 && !reading_) loop_.want_read_again(this);
}

void Stream::on_io(std::uint32_t events) {
    if (fd_ < 0) return;
    if (events & EPOLLOUT) {
        want_write_ = false;
        flush();
        if (fd_ < 0) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        if (events & EPOLLERR && !(events & EPOLLIN)) {
            on_peer_closed();
            close();
            return;
        }
        read_some((events & (EPOLLRDHUP | EPOLLHUP)) != 0);
    }
}

void Stream::read_some(bool hangup) {
    if (paused_ || fd_ < 0) return;
    reading_ = true;
    loop_.set_corked(this);
    std::size_t total = 0;
    auto buf = loop_.read_buffer();
    ByteBuffer& plain = loop_.tls_plain(); // only this stream reads during the call
    bool eof = false;
    while (fd_ >= 0 && !paused_) {
        ssize_t r = ::recv(fd_, buf.data(), buf.size(), 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) eof = true;
            break;
        }
        if (r == 0) { eof = true; break; }
        loop_.stats().bytes_in.add(static_cast<std::uint64_t>(r));
        total += static_cast<std::size_t>(r);
        if (half_closed_) continue; // draining towards the peer's EOF
        if (tls_) {
            plain.clear();
            bool ok = tls_->feed({buf.data(), static_cast<std::size_t>(r)}, plain);
            if (tls_->has_output()) send_tls_output();
            if (!ok) { eof = true; break; }
            if (!plain.empty()) on_data(plain.span());
        } else {
            on_data({buf.data(), static_cast<std::size_t>(r)});
        }
        if (static_cast<std::size_t>(r) < buf.size() && !hangup) {
            // A short read drained the socket (later bytes raise a new edge): skip the EAGAIN
            // round trip. After a hang-up keep reading to see the EOF.
            break;
        }
        if (total >= kMaxReadPerEvent) {
            loop_.want_read_again(this);
            break;
        }
    }
    reading_ = false;
    if (fd_ >= 0) uncork();
    else if (loop_.corked() == this) loop_.set_corked(nullptr);
    if (eof && fd_ >= 0) {
        on_peer_closed();
        close();
    }
}

std::string Stream::peer_address() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (fd_ < 0 || ::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = ss.ss_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr)
                                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr);
    if (!::inet_ntop(ss.ss_family, addr, buf, sizeof buf)) return {};
    return buf;
}

} // namespace switchboard::net
