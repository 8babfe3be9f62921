#pragma once
// Stream: one accepted TCP connection (optionally TLS) pinned to one loop. Protocols derive
// from it and see bytes in (on_data) and push bytes out (send / send_shared). Output is corked
// while the stream handles its own input and written with one gather write; what the socket
// does not take waits in a bounded SendQueue (the protocol decides what "too much" means via
// buffered_amount()).
#include "net/loop.hpp"
#include "net/send_queue.hpp"
#include "net/tls.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace switchboard::net {

/// Not thread-safe; lives on one Loop, which owns it (destroyed at the end of the turn in which
/// it closed). Derived classes must not delete it.
class Stream : public IoHandler {
  public:
    Stream(Loop& loop, int fd, std::unique_ptr<TlsSession> tls);
    virtual ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    /// Registers with the loop; call once after construction.
    void start();

    /// Copies `bytes` into the output.
    void send(std::span<const std::uint8_t> bytes);
    /// Queues a reference to an immutable buffer (copied only under TLS, which must encrypt).
    void send_shared(const SharedBytes& bytes);
    /// The same for a loop-local block (fan-out: no atomic operation per stream).
    void send_shared(LocalBlock* block);
    std::size_t buffered_amount() const noexcept { return queue_ ? queue_->size() : 0; }

    /// Writes what is queued, then half-closes and waits (bounded by the caller's timer) for
    /// the peer's EOF before closing, so the last bytes are not lost to a reset.
    void end();
    /// Closes at once; queued output is dropped. Idempotent.
    void close();
    bool closed() const noexcept { return fd_ < 0; }
    bool ending() const noexcept { return ending_; }

    /// Stops or resumes reading (backpressure towards a peer that does not read our replies).
    void pause_reading(bool paused);
    Loop& loop() noexcept { return loop_; }
    /// The socket (-1 once closed), for the few socket options a protocol must read itself.
    int native_fd() const noexcept { return fd_; }
    /// The peer's IP address as text ("" if unknown).
    std::string peer_address() const;

    /// Called once a second by the owner's tick.
    virtual void on_tick(Clock::time_point now) { (void)now; }

    void on_io(std::uint32_t events) override;
    void flush();

  protected:
    /// Bytes may be modified in place (WebSocket unmasking); valid only during the call.
    virtual void on_data(std::span<std::uint8_t> bytes) = 0;
    /// The peer closed its side, or the connection failed. The stream closes after this.
    virtual void on_peer_closed() {}
    /// The send queue became empty.
    virtual void on_drained() {}
    /// Last call before the stream goes away (metrics, registries).
    virtual void on_close() {}

  private:
    friend class Loop;
    void send_raw(const std::uint8_t* p, std::size_t n);
    void send_tls_output();
    void uncork();
    void read_some(bool hangup);
    void after_write();

    Loop& loop_;
    int fd_;
    std::unique_ptr<TlsSession> tls_;
    SendQueue& queue(); // made on first use: most streams never need one
    bool queue_empty() const noexcept { return !queue_ || queue_->empty(); }

    std::unique_ptr<SendQueue> queue_;
    std::uint32_t registry_index_ = 0;
    bool in_dirty_ = false;
    bool in_delayed_ = false;
    bool want_write_ = false; // the socket said EAGAIN; wait for EPOLLOUT
    bool paused_ = false;
    bool ending_ = false;
    bool half_closed_ = false;
    bool reading_ = false;
};

} // namespace switchboard::net
