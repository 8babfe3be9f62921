#pragma once
// LocalBlock: a loop's own reference to a SharedBytes, counted without atomics. Fan-out on one
// loop queues the same message on many sockets; with SharedBytes every queue entry would be an
// atomic increment and decrement on one shared cache line (measured: most of the user-space
// cost of a broadcast). A loop instead takes one SharedBytes reference per message and counts
// its own queue entries in a plain integer. Blocks are recycled through a per-loop free list,
// so fan-out allocates nothing per message once warm.
#include "base/shared_bytes.hpp"

#include <cstdint>
#include <vector>

namespace switchboard::net {

class LocalPool;

struct LocalBlock {
    SharedBytes bytes;
    std::uint32_t refs = 0;
    LocalPool* pool = nullptr;
};

/// Not thread-safe; one per loop.
class LocalPool {
  public:
    LocalPool() = default;
    LocalPool(const LocalPool&) = delete;
    LocalPool& operator=(const LocalPool&) = delete;
    ~LocalPool() {
        for (LocalBlock* b : free_) delete b;
    }

    /// A block holding `bytes` with no references yet; the caller takes one with retain().
    LocalBlock* adopt(const SharedBytes& bytes) {
        LocalBlock* b;
        if (!free_.empty()) {
            b = free_.back();
            free_.pop_back();
        } else {
            b = new LocalBlock;
            b->pool = this;
        }
        b->bytes = bytes;
        b->refs = 0;
        return b;
    }
    static void retain(LocalBlock* b) noexcept { ++b->refs; }
    static void release(LocalBlock* b) noexcept {
        if (--b->refs == 0) b->pool->recycle(b);
    }

  private:
    static constexpr std::size_t kMaxFree = 4096;
    void recycle(LocalBlock* b) noexcept {
        b->bytes = SharedBytes{}; // the one atomic decrement for this loop
        if (free_.size() < kMaxFree) {
            try {
                free_.push_back(b);
                return;
            } catch (...) {
            }
        }
        delete b;
    }
    std::vector<LocalBlock*> free_;
};

/// Holds one reference to a block for the duration of a fan-out (RAII).
class LocalRef {
  public:
    LocalRef() noexcept = default;
    explicit LocalRef(LocalBlock* b) noexcept : b_(b) {
        if (b_) LocalPool::retain(b_);
    }
    LocalRef(const LocalRef&) = delete;
    LocalRef& operator=(const LocalRef&) = delete;
    ~LocalRef() {
        if (b_) LocalPool::release(b_);
    }
    LocalBlock* get() const noexcept { return b_; }

  private:
    LocalBlock* b_ = nullptr;
};

} // namespace switchboard::net
