#pragma once
// SendQueue: what a stream still has to write, in order: shared segments (a reference to an
// immutable buffer framed once for many sockets) and owned bytes (copied, for replies to this
// connection alone). Owned bytes live in one buffer in order; an owned segment records only its
// length, so queuing never allocates per message once the buffers have grown.
#include "base/byte_buffer.hpp"
#include "net/local_bytes.hpp"

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchboard::net {

class SendQueue {
  public:
    SendQueue() = default;
    SendQueue(const SendQueue&) = delete;
    SendQueue& operator=(const SendQueue&) = delete;
    ~SendQueue() { clear(); }

    bool empty() const noexcept { return bytes_ == 0; }
    std::size_t size() const noexcept { return bytes_; }

    void push_owned(const void* p, std::size_t n);
    /// Queues a loop-local reference (taken here, released once written).
    void push_shared(LocalBlock* b);

    /// Fills up to `max` iovecs from the front; returns how many.
    int gather(iovec* iov, int max) const noexcept;
    /// Drops `n` written bytes from the front.
    void consume(std::size_t n) noexcept;
    void clear() noexcept;

  private:
    struct Segment {
        LocalBlock* ref; // null: the next `len` bytes of owned_
        std::uint32_t off;
        std::uint32_t len;
    };
    std::vector<Segment> segs_;
    std::size_t head_ = 0;
    ByteBuffer owned_;
    std::size_t bytes_ = 0;
};

} // namespace switchboard::net
