#pragma once
// Loop: one epoll event loop on one thread. Everything a connection does happens on the loop
// that accepted it; other threads reach a loop only through post(). A turn of the loop is:
// wait, dispatch I/O (each stream corked while it handles its bytes), run due timers and posted
// tasks, then flush the streams that queued output (a long list over a few turns, see
// flush_dirty), so each socket sees at most one gather write per turn.
#include "base/byte_buffer.hpp"
#include "base/counter.hpp"
#include "net/local_bytes.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <vector>

namespace switchboard::net {

using Clock = std::chrono::steady_clock;
class Stream;

/// Receives epoll readiness; registered with Loop::add. Not owned by the loop.
class IoHandler {
  public:
    virtual void on_io(std::uint32_t events) = 0;

  protected:
    ~IoHandler() = default;
};

using switchboard::Counter;

struct LoopStats {
    Counter connections_open;   // gauge
    Counter connections_total;
    Counter bytes_in, bytes_out;
    Counter write_calls;
    Counter lag_last_us, lag_max_us; // timer lateness: how long ready work waits for the loop
};

/// Not thread-safe except post(), stop() and stats(); owned by the thread that runs it.
class Loop {
  public:
    using TimerId = std::uint64_t;
    static constexpr std::size_t kReadBufferSize = 256 * 1024;
    static constexpr std::size_t kCorkSize = 64 * 1024;

    explicit Loop(unsigned index);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    unsigned index() const noexcept { return index_; }
    /// Registers `fd` edge-triggered for the given events.
    void add(int fd, std::uint32_t events, IoHandler* h);
    /// Registers `fd` level-triggered: a handler that reads a bounded batch per event (UDP) is
    /// called again while data is left, without having to drain the socket first.
    void add_level(int fd, std::uint32_t events, IoHandler* h);
    void remove(int fd) noexcept;

    /// Runs until stop() and until no posted task is left.
    void run();
    void stop() noexcept; // thread-safe
    /// Thread-safe; the task runs on this loop's thread.
    void post(std::function<void()> task);

    TimerId add_timer(std::chrono::milliseconds delay, std::function<void()> fn);
    void cancel_timer(TimerId id) noexcept;

    Clock::time_point now() const noexcept { return now_; }
    std::span<std::uint8_t> read_buffer() noexcept { return {read_buf_.data(), kReadBufferSize}; }
    LoopStats& stats() noexcept { return stats_; }
    LocalPool& local_pool() noexcept { return local_pool_; }

    // Stream bookkeeping (called by Stream only).
    void attach(Stream* s);
    void detach_and_destroy(Stream* s); // deleted at the end of the turn
    void mark_dirty(Stream* s);
    /// Fan-out output that may wait up to write_delay() to be written with what follows.
    void mark_delayed(Stream* s);
    /// While the loop is busy with fan-out (its last turn wrote to kBusyFanout or more
    /// streams), pushed messages wait up to this long so that several go out in one write:
    /// fewer system calls per message when that is what limits throughput. A quiet loop writes
    /// at the end of each turn, so light traffic pays no latency. Replies are never delayed.
    /// 0 turns it off.
    void set_write_delay(std::chrono::microseconds d) noexcept { write_delay_ = d; }
    bool delay_fanout() const noexcept { return write_delay_.count() > 0 && fanout_busy_; }
    static constexpr std::size_t kBusyFanout = 256;
    void want_read_again(Stream* s);
    std::vector<Stream*>& streams() noexcept { return streams_; }
    ByteBuffer& cork_buffer() noexcept { return cork_; }
    /// TLS scratch: decrypted input of the stream being read, and ciphertext on its way out.
    ByteBuffer& tls_plain() noexcept { return tls_plain_; }
    ByteBuffer& tls_cipher() noexcept { return tls_cipher_; }
    Stream* corked() const noexcept { return corked_; }
    void set_corked(Stream* s) noexcept { corked_ = s; }

  private:
    void drain_posts();
    void run_timers();
    /// Writes what waits: unless `all`, a quarter of the waiting streams per turn, at least
    /// kFlushChunk. A fan-out pass over 10,000 sockets takes tens of milliseconds; handing the
    /// loop back to its input three times during it lets the publications that arrived meanwhile
    /// join the queues of the subscribers not yet written (one send carries more, and they wait
    /// less), while a publisher still cannot get more than about four rounds ahead of the
    /// slowest pass, which keeps the queues bounded. Short lists (many channels with a few
    /// subscribers each, where nothing merges) are written in one turn as before. Measured in
    /// docs/benchmarks.md.
    void flush_dirty(bool all);
    static constexpr std::size_t kFlushChunk = 512;
    static constexpr std::size_t kFlushParts = 4;
    void reap();

    unsigned index_;
    int epfd_ = -1;
    int wakefd_ = -1;
    std::atomic<bool> stopping_{false};
    Clock::time_point now_;

    std::mutex post_mutex_;
    std::vector<std::function<void()>> posts_, running_posts_;

    struct Timer {
        TimerId id;
        std::function<void()> fn;
    };
    std::multimap<Clock::time_point, Timer> timers_;
    TimerId next_timer_id_ = 1;

    std::vector<std::uint8_t> read_buf_;
    ByteBuffer cork_;
    ByteBuffer tls_plain_, tls_cipher_;
    Stream* corked_ = nullptr;
    std::vector<Stream*> streams_;
    std::vector<Stream*> dirty_; // [dirty_head_, end) still to flush
    std::size_t dirty_head_ = 0;
    struct Delayed {
        Stream* stream;
        Clock::time_point since;
    };
    std::vector<Delayed> delayed_; // in time order (appended at now_, which only grows)
    std::size_t delayed_head_ = 0;
    std::chrono::microseconds write_delay_{0};
    bool fanout_busy_ = false;
    std::vector<Stream*> read_again_, read_again_running_;
    std::vector<Stream*> graveyard_;
    LoopStats stats_;
    LocalPool local_pool_; // outlives the streams: ~Loop deletes them in its body
};

} // namespace switchboard::net
