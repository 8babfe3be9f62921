// Hot-path allocation checks (STYLE.md §7, Pion's ShouldNotAllocate): parsing a complete frame
// must not touch the allocator, and neither may a fragmented message once the parser's buffer
// has grown.
#include "ws/parser.hpp"

#include "support/alloc_counter.hpp"
#include "support/bytes.hpp"

#include <gtest/gtest.h>

namespace switchboard::ws {
namespace {

// Counts events without storing anything (a recording sink would allocate).
class CountingSink final : public ParserSink {
  public:
    int messages = 0, controls = 0, closes = 0, errors = 0;
    std::size_t bytes = 0;
    void on_message(Opcode, std::span<std::uint8_t> p, bool) override {
        ++messages;
        bytes += p.size();
    }
    void on_control(Opcode, std::span<const std::uint8_t> p) override {
        ++controls;
        bytes += p.size();
    }
    void on_close(std::uint16_t, std::string_view) override { ++closes; }
    void on_protocol_error(std::uint16_t, std::string_view) override { ++errors; }
};

TEST(ParserAllocation, TheAllocationCounterWorks) {
    // Guards the tests below against a counter that sees nothing.
    test::AllocationScope scope;
    ByteBuffer b;
    b.append("x", 1);
    const std::uint8_t *data = b.data();
    asm volatile("" : : "g"(data) : "memory"); // keep the allocation from being optimised away
    void *p = ::operator new(16);
    asm volatile("" : : "g"(p) : "memory");
    ::operator delete(p);
    EXPECT_EQ(scope.allocations(), 2u);
}

TEST(ParserAllocation, CompleteSmallMaskedFrameDoesNotAllocate) {
    test::Bytes frame = test::client_frame(Opcode::Text, "Hello, allocation-free world");
    test::Bytes ping = test::client_frame(Opcode::Ping, "p");
    CountingSink sink;
    Parser parser;
    test::AllocationScope scope;
    parser.feed(frame, sink);
    parser.feed(ping, sink);
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(sink.messages, 1);
    EXPECT_EQ(sink.controls, 1);
    EXPECT_EQ(sink.errors, 0);
}

TEST(ParserAllocation, ManyFramesInOneReadDoNotAllocate) {
    test::Bytes in;
    for (int i = 0; i < 100; ++i)
        test::append(in, test::client_frame(Opcode::Binary, std::string(200, 'b')));
    CountingSink sink;
    Parser parser;
    test::AllocationScope scope;
    parser.feed(in, sink);
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(sink.messages, 100);
}

TEST(ParserAllocation, FragmentedMessagesDoNotAllocateOnceWarm) {
    auto make = [] {
        test::Bytes in = test::client_frame(Opcode::Text, std::string(100, 'a'), false);
        test::append(in, test::client_frame(Opcode::Ping, "mid"));
        test::append(in, test::client_frame(Opcode::Continuation, std::string(100, 'b'), true));
        return in;
    };
    test::Bytes warm = make(), hot = make();
    CountingSink sink;
    Parser parser;
    parser.feed(warm, sink);
    test::AllocationScope scope;
    // Split reads too: the header and payload of each frame arrive separately.
    for (std::size_t i = 0; i < hot.size(); i += 7)
        parser.feed({hot.data() + i, std::min<std::size_t>(7, hot.size() - i)}, sink);
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(sink.messages, 2);
    EXPECT_EQ(sink.controls, 2);
}

} // namespace
} // namespace switchboard::ws
