// Hot-path allocation check for the client protocol's decoder (STYLE.md §7, Pion's
// ShouldNotAllocate): splitting a frame, parsing each line and decoding the command borrow the
// frame's text and must not touch the allocator.
#include "hub/protocol.hpp"

#include "json/json_printers.hpp"
#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace switchboard::hub {
namespace {

TEST(HubProtocolAllocation, TheAllocationCounterSeesDecodedStrings) {
    // Guards the tests below against a counter that sees nothing: decoding an escaped connect
    // name into a std::string (what the handler does) allocates.
    const std::string text = R"({"id":1,"op":"connect","name":"a long client name with an escape \u00e9 in it"})";
    json::Value v;
    Command c;
    ASSERT_EQ(json::parse(text, v), json::Error::None);
    ASSERT_TRUE(decode_command(v, c) == DecodeError::None);
    test::AllocationScope scope;
    std::string name;
    EXPECT_TRUE(json::get_string(c.name, name));
    EXPECT_GE(scope.allocations(), 1u);
}

TEST(HubProtocolAllocation, DecodingATypicalPublishDoesNotAllocate) {
    const std::string text =
        R"({"id":7,"op":"publish","channel":"chat:lobby","data":{"text":"hello \u00e9","n":[1,2.5,{"k":null}]}})";
    json::Value v;
    Command c;
    test::AllocationScope scope;
    const bool parsed = json::parse(text, v) == json::Error::None;
    const bool decoded = parsed && decode_command(v, c) == DecodeError::None;
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_TRUE(decoded);
    EXPECT_EQ(c.op, Op::Publish);
    EXPECT_EQ(c.channel, "chat:lobby");
}

TEST(HubProtocolAllocation, DecodingABatchedFrameDoesNotAllocate) {
    const std::string frame = "{\"id\":2,\"op\":\"subscribe\",\"channel\":\"chat:lobby\","
                              "\"recover\":{\"epoch\":\"Zk3q9x\",\"offset\":41},\"history\":50}\r\n"
                              "{\"id\":7,\"op\":\"publish\",\"channel\":\"chat:lobby\",\"data\":{\"text\":\"hi\"}}\n"
                              "\n"
                              "{\"id\":8,\"op\":\"history\",\"channel\":\"chat:lobby\",\"limit\":20,"
                              "\"reverse\":true}\n";
    unsigned ok = 0, lines = 0;
    test::AllocationScope scope;
    for_each_line(frame, [&](std::string_view line) {
        ++lines;
        json::Value v;
        Command c;
        if (json::parse(line, v) == json::Error::None && decode_command(v, c) == DecodeError::None) ++ok;
    });
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(lines, 3u);
    EXPECT_EQ(ok, 3u);
}

} // namespace
} // namespace switchboard::hub
