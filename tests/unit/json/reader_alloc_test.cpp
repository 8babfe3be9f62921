// Hot-path allocation check (STYLE.md §7, Pion's ShouldNotAllocate): reading a typical client
// message - validate, walk its members, read strings and numbers - must not touch the allocator.
#include "json/reader.hpp"

#include "json_printers.hpp"
#include "support/alloc_counter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>

namespace switchboard::json {
namespace {

constexpr std::string_view kMessage =
    R"({"id":7,"op":"publish","channel":"chat:room1","data":{"text":"hi","n":[1,2,3]}})";

struct Fields {
    std::uint64_t id = 0;
    std::string_view op, channel, text;
    std::uint64_t sum = 0;
    int members = 0;
};

// Everything a request handler would do with the message; no std::string anywhere.
Error read(std::string_view text, Fields &f) {
    Value root;
    Error e = parse(text, root);
    if (e != Error::None)
        return e;
    for_each_member(root, [&](std::string_view key, Value v) {
        ++f.members;
        if (key_is(key, "id")) {
            get_u64(v, f.id);
        } else if (key_is(key, "op")) {
            plain_string(v, f.op);
        } else if (key_is(key, "channel")) {
            plain_string(v, f.channel);
        } else if (key_is(key, "data")) {
            for_each_member(v, [&](std::string_view k, Value d) {
                if (key_is(k, "text"))
                    plain_string(d, f.text);
                if (key_is(k, "n"))
                    for_each_element(d, [&](Value n) {
                        std::uint64_t x = 0;
                        if (get_u64(n, x))
                            f.sum += x;
                        return true;
                    });
                return true;
            });
        }
        return true;
    });
    return Error::None;
}

TEST(JsonReaderAllocation, TypicalMessageDoesNotAllocate) {
    Fields f;
    test::AllocationScope scope;
    Error e = read(kMessage, f);
    const std::size_t allocations = scope.allocations();
    EXPECT_EQ(allocations, 0u);
    ASSERT_EQ(e, Error::None);
    EXPECT_EQ(f.members, 4);
    EXPECT_EQ(f.id, 7u);
    EXPECT_EQ(f.op, "publish");
    EXPECT_EQ(f.channel, "chat:room1");
    EXPECT_EQ(f.text, "hi");
    EXPECT_EQ(f.sum, 6u);
}

TEST(JsonReaderAllocation, EscapedKeysAndRejectedInputDoNotAllocate) {
    constexpr std::string_view escaped = R"({"\u006fp":"x","bad":"\ud800"})";
    constexpr std::string_view deep = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]";
    Fields f;
    test::AllocationScope scope;
    Error bad = read(escaped, f);
    Error too_deep = read(deep, f);
    Value v;
    Error ok = parse(R"({"\u006fp":"x"})", v);
    bool op = false;
    for_each_member(v, [&](std::string_view k, Value) { op = key_is(k, "op"); });
    EXPECT_EQ(scope.allocations(), 0u);
    EXPECT_EQ(bad, Error::BadUtf8);
    EXPECT_EQ(too_deep, Error::TooDeep);
    EXPECT_EQ(ok, Error::None);
    EXPECT_TRUE(op);
}

} // namespace
} // namespace switchboard::json
