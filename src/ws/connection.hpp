#pragma once
// The WebSocket connection state machine, sans-I/O: bytes and time in, messages and bytes out.
// It answers pings, runs the close handshake (§7), keeps the connection alive with pings and
// ends it when idle, compresses and inflates with permessage-deflate, and frames outgoing
// messages. Output goes through ConnectionOutput (the socket side, in net/ via app/).
#include "base/byte_buffer.hpp"
#include "base/shared_bytes.hpp"
#include "ws/deflate.hpp"
#include "ws/parser.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace switchboard::ws {

using TimePoint = std::chrono::steady_clock::time_point;

struct ConnectionConfig {
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    std::size_t compression_threshold = 64;      // smaller messages go out uncompressed
    std::chrono::seconds ping_interval{30};      // 0: never ping
    std::chrono::seconds idle_timeout{120};      // 0: never; nothing received for this long
    std::chrono::seconds close_timeout{5};       // wait for the peer's close reply / EOF
    std::size_t max_send_buffer = 4 * 1024 * 1024; // pushes beyond this close the connection
};

/// Compression state one loop shares among its connections in shared mode: no context
/// takeover, so a single stream per window size serves everyone (reset after each message).
class LoopCompression {
  public:
    explicit LoopCompression(int mem_level = 8) : mem_level_(mem_level) {}
    Deflater& deflater(int window_bits);
    Inflater& inflater();
    /// Inflated messages are assembled here; valid until the next inflate on this loop.
    ByteBuffer& inflate_scratch() noexcept { return inflate_scratch_; }
    ByteBuffer& deflate_scratch() noexcept { return deflate_scratch_; }

  private:
    int mem_level_;
    std::unique_ptr<Deflater> deflaters_[16];
    std::unique_ptr<Inflater> inflater_;
    ByteBuffer inflate_scratch_;
    ByteBuffer deflate_scratch_;
};

/// A message framed once for many connections: the plain frame and, when worth it, the
/// compressed frame for connections without context takeover at the default window.
struct FramedMessage {
    SharedBytes plain;
    SharedBytes deflated; // empty when not compressed
    Opcode op = Opcode::Binary;
    std::span<const std::uint8_t> payload() const noexcept; // the plain payload
};

FramedMessage frame_message(Opcode op, std::span<const std::uint8_t> payload, LoopCompression* comp,
                            std::size_t compression_threshold);

/// What a connection needs from its owner: the socket side (implemented over net::Stream),
/// the application's handlers, and the shared configuration. One interface, so the owner pays
/// for one vtable pointer and the connection keeps one pointer to it.
class ConnectionIo {
  public:
    virtual void write(std::span<const std::uint8_t> bytes) = 0;
    virtual void write_shared(const SharedBytes& bytes) = 0;
    virtual std::size_t buffered() const noexcept = 0;
    /// Flush what is queued, then close the transport.
    virtual void end_transport() = 0;
    /// Close the transport now, dropping what is queued.
    virtual void abort_transport() = 0;

    virtual void on_message(Opcode op, std::span<std::uint8_t> payload) = 0;
    /// The connection is finished; `code` as sent or received (1006 when the transport died).
    virtual void on_closed(std::uint16_t code, std::string_view reason) { (void)code; (void)reason; }

    virtual const ConnectionConfig& config() const noexcept = 0;
    /// Per-loop compression state; nullptr when compression is off.
    virtual LoopCompression* compression() noexcept = 0;

  protected:
    ~ConnectionIo() = default;
};

enum class SendResult { Sent, Dropped };

/// Not thread-safe; owned by one loop's connection object. Kept small (about 100 bytes): an
/// idle server holds one per connection.
class Connection final : private ParserSink {
  public:
    Connection(ConnectionIo& io, const std::optional<DeflateAgreement>& deflate, TimePoint now);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Bytes from the peer (unmasked in place).
    void on_bytes(std::span<std::uint8_t> bytes, TimePoint now);
    /// Once a second or so: keep-alive pings, idle and close timeouts.
    void on_tick(TimePoint now);
    /// The transport ended (EOF or error).
    void on_transport_closed();

    /// Frames and sends one message (compressed when agreed and over the threshold).
    SendResult send(Opcode op, std::span<const std::uint8_t> payload);
    /// Sends a message framed once for many connections (the fan-out path). A connection over
    /// its send-buffer limit is closed with 1013 (slow consumer) and the message dropped.
    SendResult send(const FramedMessage& m);
    /// Starts the close handshake.
    void close(std::uint16_t code, std::string_view reason);

    bool open() const noexcept { return state_ == State::Open; }
    bool uses_deflate() const noexcept { return deflate_; }
    std::size_t memory_estimate() const noexcept;

  private:
    enum class State : std::uint8_t { Open, Closing, Closed };
    struct OwnStreams; // per-connection zlib streams (context takeover), made on first use

    void on_message(Opcode op, std::span<std::uint8_t> payload, bool compressed) override;
    void on_control(Opcode op, std::span<const std::uint8_t> payload) override;
    void on_close(std::uint16_t code, std::string_view reason) override;
    void on_protocol_error(std::uint16_t code, std::string_view reason) override;
    void send_frame(Opcode op, std::span<const std::uint8_t> payload, bool rsv1);
    void send_close_frame(std::uint16_t code, std::string_view reason);
    void finish(std::uint16_t code, std::string_view reason);
    Deflater* deflater();
    Inflater* inflater();

    ConnectionIo& io_;
    Parser parser_;
    std::unique_ptr<OwnStreams> own_;
    // Milliseconds on the steady clock, 32-bit: compared by unsigned difference, which is
    // exact for intervals under 49 days.
    std::uint32_t last_rx_ms_;
    std::uint32_t closing_since_ms_ = 0;
    State state_ = State::Open;
    bool ping_outstanding_ = false;
    bool close_sent_ = false;
    bool closing_timer_started_ = false;
    // The agreed permessage-deflate parameters.
    bool deflate_ = false;
    bool server_no_takeover_ = false;
    bool client_no_takeover_ = false;
    std::uint8_t server_bits_ = 15;
    std::uint8_t client_bits_ = 15;
};

} // namespace switchboard::ws
