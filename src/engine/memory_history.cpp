#include "engine/memory_history.hpp"

namespace switchboard::engine {

void MemoryHistory::append(std::uint64_t offset, std::int64_t time_ms, std::string json) {
    if (max_size_ == 0) return;
    if (!entries_.empty() && offset != entries_.back().offset + 1) clear();
    bytes_ += json.size();
    entries_.push_back(HistoryEntry{offset, time_ms, std::move(json)});
    while (entries_.size() > max_size_) {
        bytes_ -= entries_.front().json.size();
        entries_.pop_front();
    }
}

void MemoryHistory::expire(std::int64_t now_ms) {
    if (ttl_ms_ <= 0) return;
    while (!entries_.empty() && entries_.front().time_ms + ttl_ms_ <= now_ms) {
        bytes_ -= entries_.front().json.size();
        entries_.pop_front();
    }
}

std::size_t MemoryHistory::index_of(std::uint64_t offset) const noexcept {
    if (entries_.empty() || offset < first_offset() || offset > last_offset()) return npos;
    return static_cast<std::size_t>(offset - first_offset());
}

} // namespace switchboard::engine
