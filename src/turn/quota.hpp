#pragma once
// UserQuota: allocations per user across every loop. A user's clients reach different loops (the
// kernel spreads them by address), so a per-loop count would let a user hold the limit times
// the number of loops. Allocations are rare next to packets, so one mutex is cheap enough.
// Thread-safe.
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard::turn {

class UserQuota {
  public:
    /// Counts one more allocation for `user` unless that would pass `limit` (0: no limit).
    bool acquire(std::string_view user, std::size_t limit) {
        std::lock_guard lock(mutex_);
        auto& n = counts_[std::string(user)];
        if (limit && n >= limit) {
            if (n == 0) counts_.erase(std::string(user));
            return false;
        }
        ++n;
        return true;
    }
    void release(std::string_view user) {
        std::lock_guard lock(mutex_);
        auto it = counts_.find(std::string(user));
        if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    }

  private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t> counts_;
};

} // namespace switchboard::turn
