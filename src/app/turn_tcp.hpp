#pragma once
// The TCP side of the STUN/TURN service: client connections (TURN over TCP and TLS, framed by the
// STUN and ChannelData lengths), and for RFC 6062 TCP allocations the connections to peers and
// the pipes between a client's data connection and a peer connection.
// Not thread-safe; these streams live on their service's loop, which owns them.
#include "net/stream.hpp"
#include "turn/allocation.hpp"

#include "base/byte_buffer.hpp"

#include <chrono>
#include <cstdint>

namespace switchboard::app {

class TurnService;

/// A stream that can be joined to another into a pipe: bytes go across unchanged, a side whose
/// partner has too much unwritten stops reading until the partner drains, and when one side
/// closes the other ends too.
class PipeStream : public net::Stream {
  public:
    using net::Stream::Stream;
    static constexpr std::size_t kPipeBacklog = 256 * 1024;
    void pipe_to(PipeStream* other) noexcept { partner_ = other; }
    bool piped() const noexcept { return partner_ != nullptr; }

  protected:
    /// Sends `bytes` to the partner (returns false when there is none).
    bool forward(std::span<const std::uint8_t> bytes);
    void on_drained() override;
    /// Call from on_close: the partner is told to finish and forgets us.
    void unpipe();
    /// Call from on_tick: a side told to finish gets this long to write what it has and see
    /// its peer close, then it is closed (end() alone would wait for the peer forever).
    static constexpr auto kEndGrace = std::chrono::seconds(5);
    void close_if_ended_long_ago(net::Clock::time_point now);

  private:
    PipeStream* partner_ = nullptr;
    net::Clock::time_point ending_since_{};
};

/// One TURN client over TCP or TLS; after a ConnectionBind it is a data connection piped to a
/// peer connection.
class TurnConnection final : public PipeStream {
  public:
    static constexpr std::size_t kMaxFrame = 20 + 0xFFFF;
    static constexpr std::size_t kMaxBacklog = 1 << 20; // relayed data beyond this is dropped
    /// A connection that holds no allocation and has sent nothing for this long is closed: an
    /// idle TCP connection costs a descriptor, and descriptors are what an attacker would use up.
    static constexpr auto kIdleWithoutAllocation = std::chrono::seconds(30);

    TurnConnection(TurnService& svc, net::Loop& loop, int fd, std::unique_ptr<net::TlsSession> tls, turn::ClientTuple tuple)
        : PipeStream(loop, fd, std::move(tls)), svc_(&svc), tuple_(tuple) {}
    const turn::ClientTuple& tuple() const noexcept { return tuple_; }
    /// The service is going away first (shutdown): no callbacks into it any more.
    void detach() noexcept { svc_ = nullptr; }
    void send_frame(std::span<const std::uint8_t> bytes);
    void on_tick(net::Clock::time_point now) override;

  protected:
    void on_data(std::span<std::uint8_t> bytes) override;
    void on_close() override;

  private:
    TurnService* svc_;
    turn::ClientTuple tuple_;
    ByteBuffer pending_;
    net::Clock::time_point last_rx_ = loop().now();
};

/// A TCP connection between a TCP relay and a peer (RFC 6062): made by Connect or accepted on the
/// relay's listening socket. It reads nothing until bound to a client data connection, so what
/// the peer sends meanwhile waits in the kernel.
class PeerConnection final : public PipeStream {
  public:
    static constexpr auto kConnectTimeout = std::chrono::seconds(30);
    PeerConnection(TurnService& svc, net::Loop& loop, int fd, std::uint32_t id, turn::RelayId relay, bool connecting)
        : PipeStream(loop, fd, nullptr), svc_(&svc), id_(id), relay_(relay), connecting_(connecting) {}
    std::uint32_t id() const noexcept { return id_; }
    turn::RelayId relay() const noexcept { return relay_; }
    void detach() noexcept { svc_ = nullptr; }
    void on_io(std::uint32_t events) override;
    void on_tick(net::Clock::time_point now) override;

  protected:
    void on_data(std::span<std::uint8_t> bytes) override;
    void on_close() override;

  private:
    void connected(bool ok);
    TurnService* svc_;
    std::uint32_t id_;
    turn::RelayId relay_;
    bool connecting_;
    net::Clock::time_point since_ = loop().now();
};

} // namespace switchboard::app
