#pragma once
// The epoll worker. Its member functions are spread over worker*.cpp by job (see the groups
// below); they share one class because they share one connection table and one thread.
#include "conn.hpp"
#include "control.hpp"
#include "frame.hpp"
#include "hub_wire.hpp"
#include "options.hpp"
#include "stats.hpp"

#include <sys/epoll.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace wsload {

/// Worker: one thread, one epoll, one read buffer, a share of the connections.
/// Not thread-safe: everything but `drained` and `closed` belongs to the worker's thread while
/// run() executes; the main thread reads `stats` only after joining it.
class Worker {
  public:
    Worker(const Config& cfg, Control& ctl, uint32_t index, uint32_t count, bool has_sender);
    ~Worker();

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void run();

    Stats stats;
    std::atomic<bool> drained{false};
    std::atomic<bool> closed{false};

  private:
    // worker.cpp: set-up and the phase machinery.
    void build_templates();
    void enter_phase(Phase p);
    void check_progress(Phase p);
    bool sending_allowed() const { return phase_ < Phase::Drain; }

    // worker_connection.cpp: connect, opening handshake (RFC 6455 §4) and teardown.
    void start_connects();
    void start_connect(uint32_t id);
    void finish_connect(uint32_t id);
    bool consume_handshake(Conn& c, const uint8_t* p, size_t n);
    void protocol_error(Conn& c, const char* what);
    void lost(Conn& c, const char* what, int err);
    // Hub modes count a connection as opened only once its set-up is done (HubStage::Ready).
    bool counted_open(const Conn& c) const { return !hub_mode_ || c.hub.stage == HubStage::Ready; }
    void setup_lost();
    void close_conn(Conn& c);

    // worker_io.cpp: socket reads and coalesced writes.
    void on_readable(uint32_t id);
    bool consume(Conn& c, const uint8_t* p, size_t n);
    uint8_t* out_reserve(Conn& c, size_t n);
    void mark_dirty(uint32_t id);
    void flush_dirty();
    void flush(uint32_t id, uint64_t now);

    // worker_frames.cpp: the streaming frame parser and control frames (RFC 6455 §5).
    bool parse_frames(Conn& c, const uint8_t* p, size_t n);
    void on_frame_complete(Conn& c);
    void on_control(Conn& c, uint8_t opcode);

    // worker_messages.cpp: what each role sends and checks.
    void on_open(Conn& c);
    void on_message(Conn& c, uint8_t opcode, uint64_t len);
    void queue_echo(Conn& c);
    void queue_broadcast(Conn& c, uint64_t ts);
    void queue_control(Conn& c, uint8_t opcode, const uint8_t* payload, size_t len);
    void pump_sender();

    // worker_messages.cpp, hub and durable modes: the client protocol's roles.
    void on_hub_open(Conn& c);
    void on_hub_message(Conn& c, hub::Bytes m);
    void on_hub_object(Conn& c, hub::Bytes o);
    void on_hub_reply(Conn& c, const hub::Reply& r, hub::Bytes o);
    /// A pub push, as JSON text or in the binary layout (--binary-pubs).
    void on_hub_pub(Conn& c, hub::Bytes o, bool binary);
    void queue_text(Conn& c, const uint8_t* payload, size_t len);
    void queue_publish(Conn& c, uint64_t now);
    void queue_subscribes(Conn& c);
    void pump_publishers();
    bool publishers_idle() const;
    void publish_finals();
    void count_undelivered();
    void hub_failure(const char* what, hub::Bytes o);

    const Config& cfg_;
    Control& ctl_;
    std::vector<Conn> conns_;
    std::vector<uint8_t> rbuf_;
    std::vector<epoll_event> events_;
    std::vector<uint32_t> dirty_;
    std::vector<uint32_t> pending_reads_;
    std::vector<uint32_t> pending_next_;
    std::vector<std::vector<uint8_t>> templates_;
    std::mt19937_64 rng_;
    int ep_ = -1;
    uint8_t opcode_ = kOpBinary;
    size_t field_width_ = 8;
    size_t hdr_len_ = 0;
    size_t frame_len_ = 0;
    bool has_seq_ = false;
    int64_t sender_ = -1;
    // Hub modes.
    bool hub_mode_ = false;
    std::vector<uint32_t> publishers_; // connection ids with Role::Publisher
    uint32_t sub_stride_ = 1;          // hub: subscriber_stride() (options.hpp)
    std::string padding_;              // the data string after its two hex fields
    size_t publish_frame_max_ = 0;     // header + the longest publish command
    double rate_per_publisher_ = 0;
    hub::Bytes direct_;        // the message being delivered, when it is in one piece
    bool hub_noted_ = false;   // this worker has reported its first hub failure
    bool order_noted_ = false; // ... and its first order violation
    uint32_t next_start_ = 0;
    uint32_t source_offset_ = 0; // spreads threads over different source addresses
    uint32_t connecting_ = 0;
    uint32_t live_ = 0; // fds open
    Phase phase_ = Phase::Connecting;
    bool measuring_ = false;
    uint64_t now_ = 0;
    uint64_t rate_start_ = 0;
    uint64_t rate_sent_ = 0;
    uint64_t last_drain_check_ = 0;
};

} // namespace wsload
