#pragma once
// The recent history of one channel, in memory: the newest publications with contiguous
// offsets, bounded by count and age. Durable channels keep the same window in memory (loaded
// from SQLite on first use) so history reads and recovery never wait for the disk.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace switchboard::engine {

struct HistoryEntry {
    std::uint64_t offset = 0;
    std::int64_t time_ms = 0;
    std::string json; // the publication object as sent to clients
};

/// Not thread-safe; owned by the channel's owner loop.
class MemoryHistory {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// max_size 0 keeps nothing; ttl_ms 0 keeps entries until max_size pushes them out.
    void configure(std::uint32_t max_size, std::int64_t ttl_ms) noexcept {
        max_size_ = max_size;
        ttl_ms_ = ttl_ms;
    }
    /// Appends the next publication. An offset that does not follow the newest entry starts
    /// the window over (the older entries could no longer form a contiguous run).
    void append(std::uint64_t offset, std::int64_t time_ms, std::string json);
    /// Drops entries older than the TTL.
    void expire(std::int64_t now_ms);
    void clear() noexcept {
        entries_.clear();
        bytes_ = 0;
    }

    bool empty() const noexcept { return entries_.empty(); }
    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    std::uint64_t first_offset() const noexcept { return entries_.empty() ? 0 : entries_.front().offset; }
    std::uint64_t last_offset() const noexcept { return entries_.empty() ? 0 : entries_.back().offset; }
    const HistoryEntry& operator[](std::size_t i) const noexcept { return entries_[i]; }
    /// Position of the entry with this offset, or npos.
    std::size_t index_of(std::uint64_t offset) const noexcept;

  private:
    std::deque<HistoryEntry> entries_;
    std::size_t bytes_ = 0;
    std::uint32_t max_size_ = 0;
    std::int64_t ttl_ms_ = 0;
};

} // namespace switchboard::engine
