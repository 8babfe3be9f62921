// MemoryHistory (engine/memory_history): a window of the newest publications with contiguous
// offsets, bounded by count (max_size) and age (ttl_ms), with byte accounting. Recovery in
// hub/channel relies on the window being contiguous: an append that does not follow the newest
// offset starts the window over.
#include "engine/memory_history.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard::engine {
namespace {

using Offsets = std::vector<std::uint64_t>;

Offsets offsets(const MemoryHistory& h) {
    Offsets o;
    for (std::size_t i = 0; i < h.size(); ++i) o.push_back(h[i].offset);
    return o;
}

std::size_t sum_bytes(const MemoryHistory& h) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < h.size(); ++i) n += h[i].json.size();
    return n;
}

// A publication whose JSON size varies with its offset, so byte accounting is tested per entry.
std::string pub(std::uint64_t offset) {
    return "{\"offset\":" + std::to_string(offset) + ",\"d\":\"" + std::string(offset % 7, 'x') + "\"}";
}

void append_range(MemoryHistory& h, std::uint64_t first, std::uint64_t last, std::int64_t time_ms = 0) {
    for (std::uint64_t o = first; o <= last; ++o) h.append(o, time_ms, pub(o));
}

TEST(MemoryHistory, EmptyWindow) {
    MemoryHistory h;
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.size(), 0u);
    EXPECT_EQ(h.bytes(), 0u);
    EXPECT_EQ(h.first_offset(), 0u);
    EXPECT_EQ(h.last_offset(), 0u);
    EXPECT_EQ(h.index_of(0), MemoryHistory::npos);
    EXPECT_EQ(h.index_of(1), MemoryHistory::npos);
}

TEST(MemoryHistory, UnconfiguredKeepsNothing) {
    MemoryHistory h;
    append_range(h, 1, 3);
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.bytes(), 0u);
}

TEST(MemoryHistory, SizeZeroKeepsNothing) {
    MemoryHistory h;
    h.configure(0, 1000);
    append_range(h, 1, 3);
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.bytes(), 0u);
}

TEST(MemoryHistory, AppendKeepsEntriesInOrder) {
    MemoryHistory h;
    h.configure(10, 0);
    h.append(1, 100, "{\"a\":1}");
    h.append(2, 200, "{\"b\":2}");
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h.first_offset(), 1u);
    EXPECT_EQ(h.last_offset(), 2u);
    EXPECT_EQ(h[0].offset, 1u);
    EXPECT_EQ(h[0].time_ms, 100);
    EXPECT_EQ(h[0].json, "{\"a\":1}");
    EXPECT_EQ(h[1].offset, 2u);
    EXPECT_EQ(h[1].time_ms, 200);
    EXPECT_EQ(h[1].json, "{\"b\":2}");
    EXPECT_EQ(h.bytes(), 14u);
}

TEST(MemoryHistory, TheFirstAppendMayStartAnywhere) {
    // A durable channel loads its window from SQLite: it starts at whatever offset is oldest.
    MemoryHistory h;
    h.configure(10, 0);
    append_range(h, 41, 45);
    EXPECT_EQ(offsets(h), (Offsets{41, 42, 43, 44, 45}));
}

TEST(MemoryHistory, SizeBoundDropsTheOldest) {
    MemoryHistory h;
    h.configure(3, 0);
    append_range(h, 1, 10);
    EXPECT_EQ(offsets(h), (Offsets{8, 9, 10}));
    EXPECT_EQ(h.bytes(), sum_bytes(h));
    EXPECT_EQ(h.first_offset(), 8u);
    EXPECT_EQ(h.last_offset(), 10u);
}

TEST(MemoryHistory, SizeOneKeepsTheNewest) {
    MemoryHistory h;
    h.configure(1, 0);
    append_range(h, 1, 4);
    EXPECT_EQ(offsets(h), (Offsets{4}));
    EXPECT_EQ(h.bytes(), pub(4).size());
}

TEST(MemoryHistory, IndexOf) {
    MemoryHistory h;
    h.configure(5, 0);
    append_range(h, 1, 8); // 4..8
    EXPECT_EQ(h.index_of(4), 0u);
    EXPECT_EQ(h.index_of(6), 2u);
    EXPECT_EQ(h.index_of(8), 4u);
    EXPECT_EQ(h.index_of(3), MemoryHistory::npos);
    EXPECT_EQ(h.index_of(9), MemoryHistory::npos);
    EXPECT_EQ(h.index_of(0), MemoryHistory::npos);
    EXPECT_EQ(h.index_of(18446744073709551615u), MemoryHistory::npos);
    for (std::uint64_t o = 4; o <= 8; ++o) EXPECT_EQ(h[h.index_of(o)].offset, o);
}

TEST(MemoryHistory, GapForwardRestartsTheWindow) {
    MemoryHistory h;
    h.configure(10, 0);
    append_range(h, 1, 5);
    h.append(7, 0, pub(7));
    EXPECT_EQ(offsets(h), (Offsets{7}));
    EXPECT_EQ(h.bytes(), pub(7).size());
    append_range(h, 8, 9);
    EXPECT_EQ(offsets(h), (Offsets{7, 8, 9}));
    EXPECT_EQ(h.bytes(), sum_bytes(h));
}

TEST(MemoryHistory, OffsetGoingBackRestartsTheWindow) {
    // A new epoch starts again at 1.
    MemoryHistory h;
    h.configure(10, 0);
    append_range(h, 1, 5);
    h.append(1, 0, pub(1));
    EXPECT_EQ(offsets(h), (Offsets{1}));
    EXPECT_EQ(h.bytes(), pub(1).size());
}

TEST(MemoryHistory, RepeatedOffsetRestartsTheWindow) {
    MemoryHistory h;
    h.configure(10, 0);
    append_range(h, 1, 5);
    h.append(5, 0, "{}");
    EXPECT_EQ(offsets(h), (Offsets{5}));
    EXPECT_EQ(h[0].json, "{}");
    EXPECT_EQ(h.bytes(), 2u);
}

TEST(MemoryHistory, ExpireDropsEntriesOlderThanTheTtl) {
    MemoryHistory h;
    h.configure(100, 1000);
    append_range(h, 1, 2, 0);
    append_range(h, 3, 4, 500);
    append_range(h, 5, 5, 2000);

    h.expire(999);
    EXPECT_EQ(offsets(h), (Offsets{1, 2, 3, 4, 5}));
    h.expire(1000); // an entry is kept for less than ttl_ms: age == ttl expires it
    EXPECT_EQ(offsets(h), (Offsets{3, 4, 5}));
    EXPECT_EQ(h.bytes(), sum_bytes(h));
    h.expire(1499);
    EXPECT_EQ(offsets(h), (Offsets{3, 4, 5}));
    h.expire(2999);
    EXPECT_EQ(offsets(h), (Offsets{5}));
    h.expire(3000);
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.bytes(), 0u);
    EXPECT_EQ(h.first_offset(), 0u);
}

TEST(MemoryHistory, ExpireWithoutTtlKeepsEverything) {
    MemoryHistory h;
    h.configure(100, 0);
    append_range(h, 1, 3, 0);
    h.expire(9'000'000'000'000);
    EXPECT_EQ(offsets(h), (Offsets{1, 2, 3}));
}

TEST(MemoryHistory, ExpireInThePastKeepsEverything) {
    MemoryHistory h;
    h.configure(100, 1000);
    append_range(h, 1, 3, 5000);
    h.expire(0);
    h.expire(-1000);
    EXPECT_EQ(h.size(), 3u);
}

TEST(MemoryHistory, AppendAfterExpireContinuesTheWindow) {
    MemoryHistory h;
    h.configure(100, 1000);
    append_range(h, 1, 3, 0);
    h.expire(5000);
    ASSERT_TRUE(h.empty());
    h.append(4, 5000, pub(4));
    EXPECT_EQ(offsets(h), (Offsets{4}));
    h.append(5, 5000, pub(5));
    EXPECT_EQ(offsets(h), (Offsets{4, 5}));
}

TEST(MemoryHistory, BytesAccounting) {
    MemoryHistory h;
    h.configure(4, 1000);
    std::size_t expected = 0;
    for (std::uint64_t o = 1; o <= 4; ++o) {
        h.append(o, static_cast<std::int64_t>(o) * 100, pub(o));
        expected += pub(o).size();
        EXPECT_EQ(h.bytes(), expected);
    }
    append_range(h, 5, 9, 1000); // trims by size
    EXPECT_EQ(h.bytes(), sum_bytes(h));
    h.expire(1999);
    EXPECT_EQ(h.bytes(), sum_bytes(h));
    h.append(20, 3000, std::string(1000, ' ')); // restart
    EXPECT_EQ(h.bytes(), 1000u);
    h.append(21, 3000, "");
    EXPECT_EQ(h.bytes(), 1000u);
    EXPECT_EQ(h.size(), 2u);
    h.clear();
    EXPECT_TRUE(h.empty());
    EXPECT_EQ(h.bytes(), 0u);
    h.append(22, 3000, "ab");
    EXPECT_EQ(h.bytes(), 2u) << "clear() keeps the configuration";
}

TEST(MemoryHistory, ConfigureShrinkingAppliesAtTheNextAppend) {
    MemoryHistory h;
    h.configure(10, 0);
    append_range(h, 1, 8);
    h.configure(3, 0);
    h.append(9, 0, pub(9));
    EXPECT_EQ(offsets(h), (Offsets{7, 8, 9}));
    EXPECT_EQ(h.bytes(), sum_bytes(h));
}

} // namespace
} // namespace switchboard::engine
