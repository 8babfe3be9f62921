#pragma once
// TurnClient: one TURN allocation (RFC 8656, UDP) that gives the ICE agent a relayed candidate
// when no direct path exists. Sans-I/O: the agent hands it datagrams that came from the server
// and takes the datagrams it wants sent there. Long-term credentials (static or the TURN REST
// scheme the hub hands out): Allocate, the 401 with realm and nonce, Allocate again signed; the
// allocation refreshed before it expires, permissions created for the peers checks go to and
// refreshed while used, data wrapped in Send indications and unwrapped from Data indications
// (no ChannelBind: 36 bytes more per packet, one round trip less). A stale nonce (438) is
// retried with the new one; a signed request refused with 401 fails the allocation.
#include "stun/address.hpp"
#include "stun/message.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace switchboard::rtc::ice {

using stun::Address;

struct TurnServer {
    Address address;
    std::string username, password;
};

class TurnClient {
  public:
    enum class State : std::uint8_t { Allocating, Allocated, Failed, Closed };

    /// `host`: the local address the allocation is made from. `new_tid` makes transaction ids.
    TurnClient(const Address& host, TurnServer server, std::function<stun::TransactionId()> new_tid);

    void start(std::int64_t now);
    State state() const noexcept { return state_; }
    const Address& host() const noexcept { return host_; }
    const Address& server() const noexcept { return server_.address; }
    const Address& relayed() const noexcept { return relayed_; }
    const Address& mapped() const noexcept { return mapped_; }
    /// Why the allocation failed ("" otherwise).
    const std::string& error() const noexcept { return error_; }

    /// A datagram the server sent to `host()`. Returns true when it was ours; when it carried
    /// a peer's data, `peer` and `payload` (borrowing `d`) are set and `has_data` is true.
    bool on_datagram(std::span<const std::uint8_t> d, std::int64_t now, Address& peer,
                     std::span<const std::uint8_t>& payload, bool& has_data);
    /// Lets `peer` send to us through the relay (CreatePermission, kept fresh while used).
    void permit(const Address& peer, std::int64_t now);
    /// `payload` for `peer`, wrapped for the server (a Send indication); false if not allocated.
    bool wrap(const Address& peer, std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out);

    bool poll_transmit(std::vector<std::uint8_t>& out);
    std::optional<std::int64_t> next_timeout() const;
    void on_timeout(std::int64_t now);
    /// Releases the allocation (Refresh with lifetime 0).
    void close();

  private:
    enum class Kind : std::uint8_t { Allocate, Refresh, Permission };
    struct Request {
        Kind kind;
        stun::TransactionId tid{};
        Address peer; // Permission
        std::uint32_t lifetime = 600; // Refresh
        int attempts = 0;
        std::int64_t next_send = 0, rto = 500;
        std::vector<std::uint8_t> bytes;
    };
    struct Permission {
        Address peer; // port 0
        std::int64_t expires = 0, requested = -1;
    };
    void send(Kind kind, std::int64_t now, const Address& peer = {}, std::uint32_t lifetime = 600);
    void compose(Request& r);
    void on_response(const stun::MessageView& m, std::size_t index, std::int64_t now); // requests_[index]'s
    void fail(std::string why);

    Address host_;
    TurnServer server_;
    std::function<stun::TransactionId()> new_tid_;
    State state_ = State::Allocating;
    std::string error_, realm_, nonce_;
    std::array<std::uint8_t, 16> key_{};
    bool authenticated_ = false; // realm and nonce known
    int auth_retries_ = 0;
    Address relayed_, mapped_;
    std::int64_t refresh_at_ = -1;
    std::vector<Request> requests_;
    std::vector<Permission> permissions_;
    std::deque<std::vector<std::uint8_t>> out_;
};

} // namespace switchboard::rtc::ice
