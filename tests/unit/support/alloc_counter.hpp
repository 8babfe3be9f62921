#pragma once
// Allocation counting for zero-allocation tests (Pion's ShouldNotAllocate). The test binary
// replaces the global operator new and is linked with --wrap=malloc/--wrap=free, so both C++
// allocations and ByteBuffer's malloc growth in the project's libraries are counted.
#include <cstddef>

namespace switchboard::test {

struct AllocStats {
    std::size_t news = 0;    // global operator new / new[] calls
    std::size_t mallocs = 0; // malloc calls from code linked into the test binary
    long live_mallocs = 0;   // those mallocs minus the matching frees
};

AllocStats alloc_stats() noexcept;

/// Counts allocations made between construction and `allocations()`.
class AllocationScope {
  public:
    AllocationScope() noexcept : start_(alloc_stats()) {}
    std::size_t allocations() const noexcept {
        AllocStats now = alloc_stats();
        return (now.news - start_.news) + (now.mallocs - start_.mallocs);
    }
    long live_delta() const noexcept { return alloc_stats().live_mallocs - start_.live_mallocs; }

  private:
    AllocStats start_;
};

} // namespace switchboard::test
