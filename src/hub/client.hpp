#pragma once
// Client: one WebSocket connection speaking the client protocol (docs/protocol.md). It checks
// every command (auth, namespace rules, limits), answers what it can at once and sends the
// rest to the channel's owner shard; the owner's answers come back through the shard.
#include "hub/messages.hpp"
#include "hub/protocol.hpp"
#include "json/writer.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::hub {

class Shard;
struct LocalChannel;
struct NamespaceOptions;

/// The connection under a Client (implemented by the server's session).
class ClientIo {
  public:
    /// One text frame: replies and pushes for this client alone.
    virtual void send_text(std::string_view text) = 0;
    /// A frame shared by many subscribers. May close a slow consumer (and so this Client).
    virtual void deliver(const ws::FramedMessage& m) = 0;
    /// Sends a disconnect push if there is room, then closes with `code`.
    virtual void disconnect(std::uint16_t code, std::string_view reason) = 0;
    /// Stops or resumes reading the peer's frames (too many commands waiting for owners).
    virtual void pause_input(bool paused) = 0;

  protected:
    ~ClientIo() = default;
};

/// Not thread-safe; lives on its loop as long as its connection.
class Client {
  public:
    /// Commands waiting for another loop's answer, per client. At this many the connection is
    /// not read until half of them are answered, which bounds the loops' inboxes by the number
    /// of clients rather than by how fast they can write.
    static constexpr std::uint32_t kMaxInFlight = 1024;
    /// Commands in one frame: more is a protocol error (4500).
    static constexpr std::uint32_t kMaxCommandsPerFrame = 1024;

    Client(Shard& shard, ClientIo& io, std::string ip);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// One text frame from the peer: one or more '\n'-separated commands.
    void on_text(std::string_view frame);
    /// The connection is gone (or going): leave every channel. Idempotent.
    void on_closed();
    /// Once a second: connect timeout and token expiry.
    void on_tick();

    void deliver(const ws::FramedMessage& m) { io_.deliver(m); }
    void on_subscribed(msg::SubscribeDone& m);
    void on_reply(msg::Reply& m);

    /// Server API: close this connection / end one subscription.
    void kick(std::uint16_t code, std::string_view reason) { io_.disconnect(code, reason); }
    bool unsubscribe_by_server(const std::string& channel);

    // For the Extension (rooms): answers, pushes and what it needs to know about the client.
    void reply_ok(std::uint32_t id, std::string_view result);
    void reply_error(std::uint32_t id, ErrorCode e, std::string_view reason = {});
    /// One push (a JSON object); after the replies of the frame being handled, if any.
    void send_push(std::string_view json);
    /// Lets the client subscribe to and publish on `channel` as if its token's channels claim
    /// named it; revoke_channel takes that back and ends a subscription to it.
    void grant_channel(const std::string& channel);
    void revoke_channel(const std::string& channel);
    Shard& shard() noexcept { return shard_; }
    ClientRef ref() const noexcept;
    const std::string& info() const noexcept { return info_; }
    std::int64_t expires() const noexcept { return expires_; }
    bool closed() const noexcept { return closed_; }

    bool connected() const noexcept { return connected_; }
    const std::string& user() const noexcept { return user_; }
    const std::string& client_id() const noexcept { return client_id_; }
    std::size_t subscriptions() const noexcept { return subs_.size(); }

  private:
    struct Sub {
        LocalChannel* lc = nullptr;
        std::uint32_t index = 0; // position in lc->active (or active_binary) while active
        std::uint32_t cmd = 0;   // the subscribe command waiting for its reply
        bool active = false;
    };
    std::vector<Client*>& active_list(LocalChannel* lc) const noexcept;
    using Subs = std::unordered_map<std::string, Sub>;

    void handle(const Command& c);
    void connect(const Command& c);
    void refresh(const Command& c);
    void append_ice_servers(json::Writer& w);
    void subscribe(const Command& c);
    void unsubscribe(const Command& c);
    void publish(const Command& c);
    void query(const Command& c, msg::QueryKind kind);

    /// Namespace rules for this client on `channel`; `ns` is set when the name is valid.
    ErrorCode check(std::string_view channel, bool for_publish, std::string_view sub_token,
                    const NamespaceOptions** ns);
    void leave(Subs::iterator it);
    bool take_publish_token();
    void sent_to_owner();
    void answered();

    void flush();

    Shard& shard_;
    ClientIo& io_;
    std::string ip_;
    std::uint64_t id_ = 0;
    std::string client_id_;
    std::string user_;
    std::string info_;        // raw JSON ("" if none)
    std::string client_info_; // {"user":..,"client":..,"info":..}
    std::vector<std::string> token_channels_;
    std::vector<std::string> granted_; // by grant_channel, one entry per grant
    std::int64_t expires_ = 0; // Unix seconds; 0: never
    std::int64_t created_ms_ = 0;
    double publish_tokens_ = 0;
    std::int64_t refilled_ms_ = 0;
    Subs subs_;
    std::string out_; // replies gathered while one frame is handled: one frame back
    std::uint32_t in_flight_ = 0;
    bool in_frame_ = false;
    bool input_paused_ = false;
    bool connected_ = false;
    bool counted_ = false;
    bool binary_pubs_ = false; // asked for in connect
    bool closed_ = false;
};

} // namespace switchboard::hub
