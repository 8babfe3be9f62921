#pragma once
// Sockets for native clients, which run no event loop of the server's kind: a TCP connection
// (connected with a deadline, then non-blocking with a write queue) and UDP ports bound to this
// host's addresses. The caller polls their descriptors. Addresses stay sockaddr here.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace switchboard::net {

/// Resolves `host` (a name or an IP literal) for `port`; "" or the reason.
std::string resolve(const std::string& host, std::uint16_t port, std::vector<sockaddr_storage>& out);

/// This host's IPv4 interface addresses that are up, in host order, loopback last.
std::vector<std::uint32_t> local_ipv4_addresses();

class TcpClient {
  public:
    TcpClient() = default;
    ~TcpClient();
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;

    /// Connects to the first address of `host` that answers within `timeout_ms`; "" or why not.
    std::string connect(const std::string& host, std::uint16_t port, int timeout_ms);
    int fd() const noexcept { return fd_; }
    /// Appends what can be read now. False when the peer closed or the connection broke.
    bool read(std::vector<std::uint8_t>& into);
    /// Queues bytes and writes what the socket takes now.
    bool write(std::span<const std::uint8_t> bytes);
    /// Writes more of the queue (call when poll says writable). False on error.
    bool flush();
    std::size_t queued() const noexcept { return out_.size() - out_at_; }
    void close() noexcept;

  private:
    int fd_ = -1;
    std::vector<std::uint8_t> out_;
    std::size_t out_at_ = 0;
};

class UdpPort {
  public:
    UdpPort() = default;
    ~UdpPort();
    UdpPort(UdpPort&& o) noexcept : fd_(o.fd_), ip_(o.ip_), port_(o.port_) { o.fd_ = -1; }
    UdpPort& operator=(UdpPort&&) = delete;
    UdpPort(const UdpPort&) = delete;

    /// Binds to `ip` (host order) on a free port; "" or why not.
    std::string bind_v4(std::uint32_t ip);
    int fd() const noexcept { return fd_; }
    std::uint32_t ip() const noexcept { return ip_; }
    std::uint16_t port() const noexcept { return port_; }
    /// One datagram into `buf`; its size, or -1 when none is waiting. `from_ip` in host order.
    long receive(std::span<std::uint8_t> buf, std::uint32_t& from_ip, std::uint16_t& from_port);
    void send_v4(std::uint32_t ip, std::uint16_t port, std::span<const std::uint8_t> bytes);

  private:
    int fd_ = -1;
    std::uint32_t ip_ = 0;
    std::uint16_t port_ = 0;
};

} // namespace switchboard::net
