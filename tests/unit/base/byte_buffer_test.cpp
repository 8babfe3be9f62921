#include "base/byte_buffer.hpp"

#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

namespace switchboard {
namespace {

std::string str(const ByteBuffer &b) {
    return std::string(reinterpret_cast<const char *>(b.data()), b.size());
}

TEST(ByteBuffer, EmptyOwnsNoMemory) {
    test::AllocationScope scope;
    ByteBuffer b;
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(b.capacity(), 0u);
    b.append(nullptr, 0);
    EXPECT_EQ(b.capacity(), 0u) << "appending nothing must not allocate";
    EXPECT_EQ(scope.allocations(), 0u);
}

TEST(ByteBuffer, AppendAndConsumeFromTheFront) {
    ByteBuffer b;
    b.append("hello ", 6);
    b.append("world", 5);
    EXPECT_EQ(str(b), "hello world");
    b.consume(6);
    EXPECT_EQ(str(b), "world");
    EXPECT_EQ(b.span().size(), 5u);
    b.consume(5);
    EXPECT_TRUE(b.empty());
    EXPECT_GT(b.capacity(), 0u) << "consume keeps the memory for reuse";
}

TEST(ByteBuffer, ConsumingEverythingRewindsSoTheSpaceIsReused) {
    ByteBuffer b;
    b.append(std::string(100, 'x').data(), 100);
    const std::size_t cap = b.capacity();
    const std::uint8_t *first = b.data();
    b.consume(100);
    b.append("y", 1);
    EXPECT_EQ(b.data(), first);
    EXPECT_EQ(b.capacity(), cap);
}

TEST(ByteBuffer, ConsumeMoreThanSizeEmpties) {
    ByteBuffer b;
    b.append("abc", 3);
    b.consume(10);
    EXPECT_TRUE(b.empty());
    b.append("d", 1);
    EXPECT_EQ(str(b), "d");
}

TEST(ByteBuffer, GrowthKeepsContentsAcrossReallocation) {
    ByteBuffer b;
    std::vector<std::uint8_t> expected;
    for (int i = 0; i < 5000; ++i) {
        auto c = static_cast<std::uint8_t>(i * 7);
        b.append(&c, 1);
        expected.push_back(c);
    }
    ASSERT_EQ(b.size(), expected.size());
    EXPECT_EQ(std::memcmp(b.data(), expected.data(), expected.size()), 0);
    EXPECT_GE(b.capacity(), 5000u);
}

TEST(ByteBuffer, CompactsAConsumedPrefixInsteadOfGrowing) {
    ByteBuffer b;
    std::vector<std::uint8_t> big(200);
    std::iota(big.begin(), big.end(), 0);
    b.append(big);
    const std::size_t cap = b.capacity(); // 256
    b.consume(150);                       // 50 left at offset 150
    std::vector<std::uint8_t> more(100, 0xAB);
    b.append(more); // 150 free at the front, 56 at the back: compaction fits
    EXPECT_EQ(b.capacity(), cap);
    ASSERT_EQ(b.size(), 150u);
    for (int i = 0; i < 50; ++i)
        EXPECT_EQ(b.data()[i], 150 + i);
    for (int i = 50; i < 150; ++i)
        EXPECT_EQ(b.data()[i], 0xAB);
}

TEST(ByteBuffer, GrowAndPrepareCommit) {
    ByteBuffer b;
    std::uint8_t *p = b.grow(3);
    std::memcpy(p, "abc", 3);
    EXPECT_EQ(str(b), "abc");
    std::uint8_t *q = b.prepare(10);
    EXPECT_EQ(b.size(), 3u) << "prepare does not count the bytes";
    std::memcpy(q, "defgh", 5);
    b.commit(5);
    EXPECT_EQ(str(b), "abcdefgh");
    b.shrink_back(2);
    EXPECT_EQ(str(b), "abcdef");
}

TEST(ByteBuffer, ClearKeepsAndReleaseFreesMemory) {
    test::AllocationScope scope;
    {
        ByteBuffer b;
        b.append("abc", 3);
        EXPECT_EQ(scope.live_delta(), 1);
        b.clear();
        EXPECT_TRUE(b.empty());
        EXPECT_GT(b.capacity(), 0u);
        b.release();
        EXPECT_EQ(b.capacity(), 0u);
        EXPECT_EQ(scope.live_delta(), 0) << "release() returns the memory";
        b.append("x", 1);
        EXPECT_EQ(str(b), "x");
    }
    EXPECT_EQ(scope.live_delta(), 0) << "the destructor frees";
}

TEST(ByteBuffer, MoveTransfersOwnership) {
    ByteBuffer a;
    a.append("payload", 7);
    a.consume(3);
    ByteBuffer b(std::move(a));
    EXPECT_EQ(str(b), "load");
    EXPECT_EQ(a.capacity(), 0u); // NOLINT(bugprone-use-after-move): moved-from state is specified
    ByteBuffer c;
    c.append("zz", 2);
    c = std::move(b);
    EXPECT_EQ(str(c), "load");
    ByteBuffer &same = c;
    c = std::move(same); // self-move assignment leaves the buffer intact
    EXPECT_EQ(str(c), "load");
}

} // namespace
} // namespace switchboard
