#include "hub/hub.hpp"

#include "engine/sqlite_store.hpp"

#include <functional>

namespace switchboard::hub {

Hub::Hub(HubConfig cfg, auth::Verifier verifier) : cfg_(std::move(cfg)), verifier_(std::move(verifier)) {
    if (cfg_.namespaces.any_durable()) {
        engine::SqliteStoreOptions o;
        o.path = cfg_.data_dir + "/switchboard.db";
        o.sync = cfg_.sync_full ? engine::Sync::Full : engine::Sync::Normal;
        store_ = std::make_unique<engine::SqliteStore>(
            std::move(o), [this](std::span<const std::uint64_t> t, bool ok) { on_commit(t, ok); });
    }
}

Hub::~Hub() {
    // The store's destructor commits what is queued and calls on_commit, which must not reach
    // shards that are gone: stop it first.
    store_.reset();
}

void Hub::add_shard(ShardHost& host) {
    shards_.push_back(std::make_unique<Shard>(*this, static_cast<unsigned>(shards_.size()), host));
}

unsigned Hub::owner_of(std::string_view channel) const noexcept {
    // FNV-1a: stable across runs and builds (std::hash need not be).
    std::uint64_t h = 1469598103934665603ull;
    for (char c : channel) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return static_cast<unsigned>(h % shards_.size());
}

void Hub::on_commit(std::span<const std::uint64_t> tickets, bool ok) {
    // Runs on the store's writer thread: split the batch by owner shard and post each part.
    std::vector<std::vector<std::uint64_t>> by_shard(shards_.size());
    for (std::uint64_t t : tickets) {
        auto s = static_cast<std::size_t>(t >> kTicketShardShift);
        if (s < by_shard.size()) by_shard[s].push_back(t);
    }
    for (std::size_t s = 0; s < by_shard.size(); ++s) {
        if (by_shard[s].empty()) continue;
        shards_[s]->enqueue(msg::Task{[t = std::move(by_shard[s]), ok](Shard& sh) { sh.on_committed(t, ok); }});
    }
}

bool Hub::acquire(std::string_view user, std::string_view ip) {
    std::lock_guard lock(limits_mutex_);
    std::uint32_t* u = nullptr;
    std::uint32_t* a = nullptr;
    if (!user.empty() && cfg_.max_connections_per_user) {
        u = &per_user_[std::string(user)];
        if (*u >= cfg_.max_connections_per_user) return false;
    }
    if (!ip.empty() && cfg_.max_connections_per_ip) {
        a = &per_ip_[std::string(ip)];
        if (*a >= cfg_.max_connections_per_ip) {
            if (u && *u == 0) per_user_.erase(std::string(user));
            return false;
        }
    }
    if (u) ++*u;
    if (a) ++*a;
    return true;
}

void Hub::release(std::string_view user, std::string_view ip) {
    std::lock_guard lock(limits_mutex_);
    if (!user.empty() && cfg_.max_connections_per_user) {
        auto it = per_user_.find(std::string(user));
        if (it != per_user_.end() && --it->second == 0) per_user_.erase(it);
    }
    if (!ip.empty() && cfg_.max_connections_per_ip) {
        auto it = per_ip_.find(std::string(ip));
        if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
    }
}

} // namespace switchboard::hub
