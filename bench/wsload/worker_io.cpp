// Socket I/O. Reads are bounded per connection per turn for fairness; writes are coalesced so
// that everything queued for a connection during one turn leaves in one send().
#include "worker.hpp"

#include "mono_clock.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace wsload {

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

} // namespace wsload
