#pragma once
// Hub: the messaging hub of one server — its configuration, the per-loop shards, the durable
// store and the connection limits that span loops. Channels are owned by the loop their name
// hashes to; see shard.hpp for how loops cooperate.
#include "auth/jwt.hpp"
#include "hub/namespaces.hpp"
#include "hub/shard.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard::engine {
class Engine;
}

namespace switchboard::hub {

class Extension;

struct HubConfig {
    Namespaces namespaces = Namespaces::defaults();
    bool allow_anonymous = true;
    std::uint32_t max_channels_per_connection = 128;
    std::uint32_t max_publication_size = 64 * 1024;
    std::uint32_t publish_rate = 1000; // per connection per second; burst is twice this; 0: off
    std::uint32_t max_connections_per_user = 100; // 0: off
    std::uint32_t max_connections_per_ip = 0;     // 0: off
    std::uint32_t connect_timeout = 10;           // seconds from upgrade to the connect command
    std::uint32_t client_ping = 25;               // seconds, advertised in the connect reply
    std::string data_dir = "data";                // the SQLite database lives here
    bool sync_full = true;                        // fsync each group commit (power-loss safe)
    std::string version;
    /// RTCIceServer objects (a JSON array) for a connected client, given its identity (user id,
    /// or client id when anonymous), its token's expiry (0: none) and the time; "" or unset:
    /// none. Called on any loop, so it must be thread-safe.
    std::function<std::string(std::string_view identity, std::uint64_t expires, std::uint64_t now_unix)> ice_servers;
};

/// Created on the main thread before the loops start; thread-safe where marked.
class Hub {
  public:
    /// Opens the store when a namespace is durable (throws std::runtime_error on failure).
    Hub(HubConfig cfg, auth::Verifier verifier);
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    /// One shard per loop, in loop order; call before the loops run.
    void add_shard(ShardHost& host);
    Shard& shard(unsigned i) noexcept { return *shards_[i]; }
    unsigned shards() const noexcept { return static_cast<unsigned>(shards_.size()); }
    /// The loop that owns a channel (stable for the life of the process).
    unsigned owner_of(std::string_view channel) const noexcept;

    const HubConfig& config() const noexcept { return cfg_; }
    /// Installs the handler of ops and API methods the hub does not know; before the loops run.
    void set_extension(Extension* e) noexcept { extension_ = e; }
    Extension* extension() const noexcept { return extension_; }
    const auth::Verifier& verifier() const noexcept { return verifier_; }
    engine::Engine* store() noexcept { return store_.get(); }

    /// Thread-safe: counts a connection of `user` (non-empty) and from `ip` against the
    /// limits; false (nothing counted) when either is reached.
    bool acquire(std::string_view user, std::string_view ip);
    void release(std::string_view user, std::string_view ip);

  private:
    void on_commit(std::span<const std::uint64_t> tickets, bool ok);

    HubConfig cfg_;
    auth::Verifier verifier_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::unique_ptr<engine::Engine> store_;
    Extension* extension_ = nullptr;
    std::mutex limits_mutex_;
    std::unordered_map<std::string, std::uint32_t> per_user_, per_ip_;
};

/// Tickets name their shard in the top bits so commits can be routed back.
inline constexpr unsigned kTicketShardShift = 48;

} // namespace switchboard::hub
