#pragma once
// Shard: the hub's part on one loop. It owns the channels that hash to this loop (their order,
// history and presence) and the loop's local view of every channel its clients subscribe to.
// Shards talk only through messages (messages.hpp); nothing is shared between loops but
// immutable framed publications.
#include "hub/channel.hpp"
#include "hub/messages.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/loop.hpp"

namespace switchboard::hub {

class Hub;
class Client;

/// Publications of a durable channel kept in memory; older ones are read from the store.
inline constexpr std::uint32_t kDurableMemoryWindow = 256;

/// A channel as one subscriber loop sees it: which of its clients get its publications.
struct LocalChannel {
    std::string name;
    unsigned owner = 0;
    std::vector<Client*> active;    // subscribed clients, in no particular order
    std::vector<Client*> active_binary; // ... those that take pub pushes as binary frames
    std::uint32_t owner_refs = 0;   // Subscribe messages sent minus Unsubscribe messages sent
};

/// What the hub needs from the loop it runs on (implemented by the application's per-loop
/// context): the loop itself and loop-local references for a fan-out.
class ShardHost {
  public:
    virtual net::Loop& loop() noexcept = 0;
    /// Around one publication's delivery to many local clients (lets the writes share a
    /// loop-local reference instead of one atomic increment per subscriber).
    virtual void begin_fanout(const ws::FramedMessage& m) = 0;
    virtual void end_fanout() = 0;

  protected:
    ~ShardHost() = default;
};

/// Not thread-safe except enqueue(); lives on its loop.
class Shard {
  public:
    Shard(Hub& hub, unsigned index, ShardHost& host);
    ~Shard();
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    unsigned index() const noexcept { return index_; }
    Hub& hub() noexcept { return hub_; }
    net::Loop& loop() noexcept { return host_.loop(); }
    std::int64_t now_ms() const; // Unix time in milliseconds

    /// Sends a message to shard `to` (this one included) in FIFO order with earlier sends.
    void send(unsigned to, Message&& m);
    /// Thread-safe entry for messages from other loops and the store's writer thread.
    void enqueue(Message&& m);

    // Clients of this loop.
    std::uint64_t add_client(Client* c);
    void remove_client(std::uint64_t id) noexcept;
    Client* client(std::uint64_t id) const noexcept;
    const std::unordered_map<std::uint64_t, Client*>& clients() const noexcept { return clients_; }
    std::string new_client_id();

    LocalChannel* local_channel(const std::string& name, bool create);
    /// Frees a local channel with no subscribers and no outstanding owner reference.
    void maybe_free(LocalChannel* lc);

    /// Once a second: history TTLs, idle channels, client timers.
    void on_tick();
    /// The store committed (ok) or failed these durable publications, in append order.
    void on_committed(const std::vector<std::uint64_t>& tickets, bool ok);

    /// Counters for /metrics and the info API: written on this loop only, read anywhere.
    struct Stats {
        net::Counter clients;        // gauge: hub connections on this loop
        net::Counter channels;       // gauge: channels owned here
        net::Counter publications;   // offsets assigned (and committed) here
        net::Counter deliveries;     // publications written to a subscriber on this loop
        net::Counter commit_failures;
    };
    Stats stats;
    std::size_t owned_channels() const noexcept { return owned_.size(); }
    /// Channels owned here with their subscriber counts (server API "channels").
    template <class F> void for_each_owned(F&& f) const {
        for (const auto& [name, ch] : owned_) f(*ch);
    }
    void drop_history(const std::string& channel);

  private:
    void run_local();
    void drain_inbox();
    void handle(Message& m);
    void on(msg::Deliver& m);
    void on(msg::Subscribe& m);
    void on(msg::SubscribeDone& m);
    void on(msg::Unsubscribe& m);
    void on(msg::Release& m);
    void on(msg::Publish& m);
    void on(msg::Query& m);
    void on(msg::Reply& m);
    void on(msg::Task& m);

    /// The channel owned here; created (and, if durable, loaded) on first use. Null for a
    /// name that is invalid or in no namespace, or a durable channel the store failed to load.
    OwnedChannel* owned(const std::string& name, bool create);
    std::string new_epoch();
    void fan_out(OwnedChannel& ch, std::string_view text, std::string_view binary = {});
    void reply(const ClientRef& to, std::uint32_t cmd, const ApiDone& api, ErrorCode e, std::string result);
    void commit(OwnedChannel& ch, std::uint64_t offset, std::int64_t time_ms, std::string pub_json);
    void settle_after_failure(OwnedChannel& ch);
    void publish_durable(OwnedChannel& ch, msg::Publish& m, std::int64_t time_ms);
    /// Publications (after, after+count] of a durable channel from the store, as a JSON list's
    /// items, stopping at the first gap or past the top; false if the store failed.
    bool read_stored(const OwnedChannel& ch, std::uint64_t after, std::uint64_t count, std::string& items,
                     std::uint64_t& got, bool reverse = false);
    /// Subscribe/history answers that need more than a durable channel's memory window: true
    /// (history: 1) when `out` was written from the store, false (0) when memory can answer;
    /// history gives -1 when the position is unrecoverable.
    bool durable_subscribe_result(const OwnedChannel& ch, const msg::Subscribe& m, std::string& out);
    int durable_history_result(const OwnedChannel& ch, const msg::Query& m, std::string& out);

    Hub& hub_;
    unsigned index_;
    ShardHost& host_;

    std::deque<Message> local_;
    bool draining_ = false;
    std::mutex inbox_mutex_;
    std::vector<Message> inbox_, inbox_running_;

    std::unordered_map<std::uint64_t, Client*> clients_;
    std::uint64_t next_client_ = 1;
    std::unordered_map<std::string, std::unique_ptr<LocalChannel>> locals_;
    std::unordered_map<std::string, std::unique_ptr<OwnedChannel>> owned_;
    std::mt19937_64 rng_;

    struct Pending { // a durable publication waiting for its commit
        std::uint64_t ticket;
        OwnedChannel* ch;
        std::uint64_t offset;
        std::int64_t time_ms;
        std::string pub_json;
        ClientRef reply;
        std::uint32_t cmd;
        ApiDone api;
    };
    std::deque<Pending> pending_;
    std::uint64_t next_ticket_ = 1;
    std::string scratch_, scratch_binary_;
};

} // namespace switchboard::hub
