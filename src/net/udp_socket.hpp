#pragma once
// UdpSocket: one bound UDP socket on one loop. Reads in batches with recvmmsg (one system call
// for up to kBatch datagrams) and hands each datagram to its handler; writes go straight out
// with sendto (UDP has no backlog to keep: a datagram the kernel refuses is dropped and counted,
// as a router would). Addresses stay sockaddr here; protocols convert them (net/ knows nothing
// of STUN).
// Not thread-safe; owned by the code that opened it, on its loop's thread.
#include "net/loop.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace switchboard::net {

class UdpSocket;

/// Datagrams to send, gathered while a batch of input is handled and written with one sendmmsg
/// per run of datagrams from the same socket (and, when a run is datagrams of one size to one
/// address, one UDP_SEGMENT send). A relay turns each recvmmsg batch into a few system calls
/// instead of one per packet. The bytes are copied into one arena: no allocation per packet.
/// Not thread-safe; one per loop.
class UdpSendBatch {
  public:
    static constexpr std::size_t kMax = 64;
    static constexpr std::size_t kArena = kMax * 2048;
    /// Queues a copy; flushes first when full. Datagrams larger than 2048 bytes go out at once.
    void add(UdpSocket& from, const sockaddr_storage& to, std::span<const std::uint8_t> bytes) noexcept;
    void flush() noexcept;
    /// A socket that closes drops what it still had queued here.
    void forget(UdpSocket* s) noexcept;
    bool empty() const noexcept { return count_ == 0; }

  private:
    struct Item {
        UdpSocket* from;
        sockaddr_storage to;
        std::uint32_t offset, length;
    };
    std::array<Item, kMax> items_{};
    std::size_t count_ = 0, used_ = 0;
    std::array<std::uint8_t, kArena> arena_{};
};

class DatagramHandler {
  public:
    /// `bytes` is borrowed for the call (the loop's read buffer).
    virtual void on_datagram(UdpSocket& socket, const sockaddr_storage& from, std::span<const std::uint8_t> bytes) = 0;

  protected:
    ~DatagramHandler() = default;
};

struct UdpStats {
    Counter datagrams_in, datagrams_out;
    Counter dropped_in;  // truncated (larger than kMaxDatagram)
    Counter dropped_out; // the kernel refused (buffer full, unreachable)
};

class UdpSocket final : public IoHandler {
  public:
    static constexpr std::size_t kBatch = 64;
    static constexpr std::size_t kMaxDatagram = 4096;   // a bigger one is dropped
    static constexpr std::size_t kMaxBatchesPerEvent = 8; // then other sockets get their turn

    /// Binds to `at` (port 0: any free port); throws std::runtime_error on failure. With
    /// `reuse_port`, every loop can bind the same address (the kernel spreads clients by
    /// 4-tuple hash, so one client's datagrams always reach the same loop).
    UdpSocket(Loop& loop, const sockaddr_storage& at, bool reuse_port, DatagramHandler& handler, UdpStats& stats,
              std::uint32_t tag = 0);
    /// nullopt instead of throwing (relay sockets: running out of ports is an answer, 508).
    static std::unique_ptr<UdpSocket> try_open(Loop& loop, const sockaddr_storage& at, DatagramHandler& handler,
                                               UdpStats& stats, std::uint32_t tag);
    /// Takes over a socket made by bind_udp (perhaps on another thread) and registers it here.
    static std::unique_ptr<UdpSocket> adopt(Loop& loop, int fd, DatagramHandler& handler, UdpStats& stats,
                                            std::uint32_t tag);
    ~UdpSocket();
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    std::uint32_t tag() const noexcept { return tag_; }
    /// Closes the descriptor now; the object may still be referenced by this turn's events, so
    /// its owner destroys it later (after the turn).
    void close() noexcept;
    bool closed() const noexcept { return fd_ < 0; }
    const sockaddr_storage& local() const noexcept { return local_; }
    void send_to(const sockaddr_storage& to, std::span<const std::uint8_t> bytes) noexcept;
    /// Output of this socket's handler goes through `batch`, flushed after each input batch.
    void set_batch(UdpSendBatch* batch) noexcept { batch_ = batch; }
    int fd() const noexcept { return fd_; }
    UdpStats& stats() noexcept { return stats_; }
    void on_io(std::uint32_t events) override;

  private:
    UdpSocket(Loop& loop, DatagramHandler& handler, UdpStats& stats, std::uint32_t tag) noexcept
        : loop_(loop), handler_(handler), stats_(stats), tag_(tag) {}
    bool open(const sockaddr_storage& at, bool reuse_port, std::string& error);

    Loop& loop_;
    DatagramHandler& handler_;
    UdpStats& stats_;
    std::uint32_t tag_;
    int fd_ = -1;
    sockaddr_storage local_{};
    UdpSendBatch* batch_ = nullptr;
};

/// A bound non-blocking UDP socket registered nowhere (a port held for later); -1 on failure.
int bind_udp(const sockaddr_storage& at, bool reuse_port, sockaddr_storage* local = nullptr) noexcept;

/// sockaddr helpers shared by the UDP users.
socklen_t sockaddr_length(const sockaddr_storage& a) noexcept;
/// "1.2.3.4" / "::1" and a port into a sockaddr; false if the text is not a numeric address.
bool make_sockaddr(const std::string& host, std::uint16_t port, sockaddr_storage& out) noexcept;

} // namespace switchboard::net
