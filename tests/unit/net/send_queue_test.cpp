#include "net/send_queue.hpp"

#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::net {
namespace {

// Queues take loop-local blocks; the pool stands in for the loop's.
LocalPool &pool() {
    static LocalPool p;
    return p;
}

void push_shared(SendQueue &q, const SharedBytes &b) {
    LocalRef hold(pool().adopt(b));
    q.push_shared(hold.get());
}

SharedBytes shared(std::string_view s) {
    return SharedBytes::copy_of({reinterpret_cast<const std::uint8_t *>(s.data()), s.size()});
}

// Everything gather() offers, concatenated.
std::string gathered(const SendQueue &q, int max = 64) {
    std::vector<iovec> iov(static_cast<std::size_t>(max));
    int n = q.gather(iov.data(), max);
    std::string out;
    for (int i = 0; i < n; ++i)
        out.append(static_cast<const char *>(iov[static_cast<std::size_t>(i)].iov_base),
                   iov[static_cast<std::size_t>(i)].iov_len);
    return out;
}

// Drains the queue the way a socket with a small send window would: gather up to `max_iov`
// segments, "write" at most `chunk` bytes, consume them.
std::string drain(SendQueue &q, std::size_t chunk, int max_iov = 4) {
    std::string out;
    while (!q.empty()) {
        std::vector<iovec> iov(static_cast<std::size_t>(max_iov));
        int n = q.gather(iov.data(), max_iov);
        EXPECT_GT(n, 0);
        std::size_t wrote = 0;
        for (int i = 0; i < n && wrote < chunk; ++i) {
            auto &v = iov[static_cast<std::size_t>(i)];
            std::size_t take = std::min(v.iov_len, chunk - wrote);
            out.append(static_cast<const char *>(v.iov_base), take);
            wrote += take;
        }
        q.consume(wrote);
    }
    return out;
}

TEST(SendQueue, EmptyQueue) {
    SendQueue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    iovec iov[2];
    EXPECT_EQ(q.gather(iov, 2), 0);
    q.push_owned("", 0);
    push_shared(q, SharedBytes{});
    push_shared(q, SharedBytes::allocate(0));
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.gather(iov, 2), 0);
}

TEST(SendQueue, OwnedBytesCoalesceIntoOneSegment) {
    SendQueue q;
    q.push_owned("abc", 3);
    q.push_owned("def", 3);
    iovec iov[4];
    ASSERT_EQ(q.gather(iov, 4), 1);
    EXPECT_EQ(iov[0].iov_len, 6u);
    EXPECT_EQ(gathered(q), "abcdef");
    EXPECT_EQ(q.size(), 6u);
}

TEST(SendQueue, OwnedAndSharedKeepTheirOrder) {
    SendQueue q;
    q.push_owned("A1", 2);
    push_shared(q, shared("S1"));
    q.push_owned("A2", 2);
    q.push_owned("A3", 2);
    push_shared(q, shared("S2"));
    push_shared(q, shared("S3"));
    q.push_owned("A4", 2);
    EXPECT_EQ(q.size(), 14u);
    iovec iov[16];
    EXPECT_EQ(q.gather(iov, 16), 6); // A1 | S1 | A2A3 | S2 | S3 | A4
    EXPECT_EQ(gathered(q), "A1S1A2A3S2S3A4");
}

TEST(SendQueue, GatherRespectsMaxIov) {
    SendQueue q;
    q.push_owned("a", 1);
    push_shared(q, shared("b"));
    q.push_owned("c", 1);
    iovec iov[2];
    EXPECT_EQ(q.gather(iov, 2), 2);
    EXPECT_EQ(gathered(q, 2), "ab");
    EXPECT_EQ(gathered(q, 1), "a");
}

TEST(SendQueue, PartialWritesAcrossSegmentBoundaries) {
    const std::string expected = "owned-1|shared-1|owned-2 more|shared-2|shared-3|owned-3";
    for (std::size_t chunk = 1; chunk <= expected.size() + 1; ++chunk) {
        for (int max_iov : {1, 2, 3, 16}) {
            SendQueue q;
            q.push_owned("owned-1|", 8);
            push_shared(q, shared("shared-1|"));
            q.push_owned("owned-2", 7);
            q.push_owned(" more|", 6);
            push_shared(q, shared("shared-2|"));
            push_shared(q, shared("shared-3|"));
            q.push_owned("owned-3", 7);
            ASSERT_EQ(q.size(), expected.size());
            EXPECT_EQ(drain(q, chunk, max_iov), expected)
                << "chunk " << chunk << " iov " << max_iov;
            EXPECT_EQ(q.size(), 0u);
        }
    }
}

TEST(SendQueue, PushingWhilePartiallyDrained) {
    // New bytes arrive between writes: the owned buffer's consumed prefix and new appends must
    // not confuse which bytes belong to which segment.
    SendQueue q;
    q.push_owned("0123456789", 10);
    push_shared(q, shared("SS"));
    q.consume(4);
    EXPECT_EQ(gathered(q), "456789SS");
    q.push_owned("ab", 2);
    EXPECT_EQ(gathered(q), "456789SSab");
    q.consume(7); // into the shared segment
    EXPECT_EQ(gathered(q), "Sab");
    push_shared(q, shared("TT"));
    q.push_owned("cd", 2);
    EXPECT_EQ(gathered(q), "SabTTcd");
    EXPECT_EQ(q.size(), 7u);
    EXPECT_EQ(drain(q, 3), "SabTTcd");
}

TEST(SendQueue, ManySegmentsStayOrderedThroughCompaction) {
    // More than 64 drained segments triggers the front erase; order must survive it.
    SendQueue q;
    std::string expected;
    for (int i = 0; i < 300; ++i) {
        std::string s = std::to_string(i) + ",";
        if (i % 2)
            push_shared(q, shared(s));
        else
            q.push_owned(s.data(), s.size());
        expected += s;
    }
    std::string out;
    // Interleave: write a little, push more.
    for (int i = 300; i < 400; ++i) {
        std::vector<iovec> iov(3);
        int n = q.gather(iov.data(), 3);
        ASSERT_GT(n, 0);
        out.append(static_cast<const char *>(iov[0].iov_base), iov[0].iov_len);
        q.consume(iov[0].iov_len);
        std::string s = std::to_string(i) + ",";
        if (i % 3)
            push_shared(q, shared(s));
        else
            q.push_owned(s.data(), s.size());
        expected += s;
    }
    out += drain(q, 5, 8);
    EXPECT_EQ(out, expected);
}

TEST(SendQueue, SharedSegmentsAreReferencedNotCopiedAndReleasedWhenWritten) {
    SharedBytes a = shared("fan-out payload");
    SendQueue q1, q2;
    push_shared(q1, a);
    push_shared(q2, a);
    EXPECT_EQ(a.use_count(), 3);
    iovec iov[1];
    ASSERT_EQ(q1.gather(iov, 1), 1);
    EXPECT_EQ(iov[0].iov_base, a.data()) << "the queue points into the shared buffer";
    q1.consume(5);
    EXPECT_EQ(a.use_count(), 3) << "a partly written segment keeps its reference";
    ASSERT_EQ(q1.gather(iov, 1), 1);
    EXPECT_EQ(iov[0].iov_base, a.data() + 5);
    q1.consume(a.size() - 5);
    EXPECT_EQ(a.use_count(), 2);
    q2.clear();
    EXPECT_EQ(a.use_count(), 1);
}

TEST(SendQueue, DrainedQueueReleasesLargeOwnedBuffer) {
    test::AllocationScope scope;
    {
        SendQueue q;
        std::string big(200 * 1024, 'x');
        q.push_owned(big.data(), big.size());
        EXPECT_GE(scope.live_delta(), 1);
        q.consume(100 * 1024);
        EXPECT_GE(scope.live_delta(), 1) << "still holding unwritten bytes";
        q.consume(100 * 1024);
        EXPECT_TRUE(q.empty());
        EXPECT_EQ(scope.live_delta(), 0) << "a burst's buffer is given back once drained";
    }
    EXPECT_EQ(scope.live_delta(), 0);
}

TEST(SendQueue, ClearDropsEverything) {
    SharedBytes a = shared("x");
    test::AllocationScope scope;
    SendQueue q;
    q.push_owned("abc", 3);
    push_shared(q, a);
    q.clear();
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(a.use_count(), 1);
    EXPECT_EQ(scope.live_delta(), 0);
    q.push_owned("z", 1);
    EXPECT_EQ(gathered(q), "z");
}

TEST(SendQueue, SteadyStateQueueingDoesNotAllocatePerMessage) {
    SendQueue q;
    SharedBytes s = shared("shared");
    // Warm up: let the buffers grow.
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 50; ++i) {
            q.push_owned("reply", 5);
            push_shared(q, s);
        }
        drain(q, 1 << 20, 128);
    }
    test::AllocationScope scope;
    for (int i = 0; i < 50; ++i) {
        q.push_owned("reply", 5);
        push_shared(q, s);
    }
    EXPECT_EQ(scope.allocations(), 0u);
    drain(q, 1 << 20, 128);
}

} // namespace
} // namespace switchboard::net
