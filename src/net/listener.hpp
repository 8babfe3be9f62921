#pragma once
// Listener: a SO_REUSEPORT TCP listening socket owned by one loop; the kernel spreads new
// connections over the loops' listeners, so accepting takes no lock shared between loops.
#include "net/loop.hpp"

#include <functional>
#include <string>

namespace switchboard::net {

struct Endpoint {
    std::string host; // numeric IPv4 or IPv6 address
    unsigned short port = 0;
    std::string to_string() const;
};

/// Parses "HOST:PORT", "[V6]:PORT"; throws std::invalid_argument with a clear message.
Endpoint parse_endpoint(const std::string& s);

/// 0 if a socket of `type` (SOCK_STREAM or SOCK_DGRAM) could bind `at` on its own, else the
/// errno. Every loop binds its listeners with SO_REUSEPORT, which would also let a second server
/// started by the same user share a fixed port and quietly take part of its clients; checking
/// first turns that into a clear "in use". (For TCP, an earlier run's TIME_WAIT connections do
/// not count: the check uses SO_REUSEADDR.)
int port_taken(const Endpoint& at, int type) noexcept;

/// Not thread-safe; owned by its loop's thread after start.
class Listener final : public IoHandler {
  public:
    using AcceptFn = std::function<void(int fd)>;
    /// Binds and listens (throws std::runtime_error on failure); port 0 picks a free port.
    Listener(Loop& loop, const Endpoint& at, AcceptFn on_accept);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    unsigned short port() const noexcept { return port_; }
    void start();  // on the loop's thread
    void stop();   // on the loop's thread: no new connections
    void on_io(std::uint32_t events) override;

  private:
    Loop& loop_;
    int fd_ = -1;
    unsigned short port_ = 0;
    bool retry_pending_ = false;
    AcceptFn on_accept_;
};

} // namespace switchboard::net
