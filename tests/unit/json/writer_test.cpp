// The JSON writer: compact output, automatic commas, RFC 8259 §7 string escaping and §6
// numbers; everything it writes must parse back (with json/reader) to what went in.
#include "json/writer.hpp"

#include "json_printers.hpp"
#include "json/reader.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace switchboard::json {
namespace {

using namespace std::string_literals;

// Writes `s` as a JSON string, parses it and decodes it again.
std::string round_trip(std::string_view s) {
    std::string out;
    Writer(out).string(s);
    Value v;
    Error e = parse(out, v);
    EXPECT_EQ(e, Error::None) << out;
    std::string back;
    EXPECT_TRUE(get_string(v, back)) << out;
    return back;
}

TEST(JsonWriter, CompactNestedDocumentWithAutomaticCommas) {
    std::string out;
    Writer w(out);
    // The indentation shows the document's nesting.
    // clang-format off
    w.begin_object()
        .key("id").number(std::uint64_t{7})
        .key("op").string("publish")
        .key("data").begin_object()
            .key("n").begin_array()
                .number(1).number(2).begin_array().end_array().number(3)
            .end_array()
            .key("empty").begin_object().end_object()
            .key("ok").boolean(true)
            .key("no").boolean(false)
            .key("nothing").null()
        .end_object()
        .key("info").raw(R"({"a":[1]})")
    .end_object();
    // clang-format on
    EXPECT_EQ(out, R"({"id":7,"op":"publish","data":{"n":[1,2,[],3],"empty":{},"ok":true,)"
                   R"("no":false,"nothing":null},"info":{"a":[1]}})");
    Value v;
    EXPECT_EQ(parse(out, v), Error::None);
}

TEST(JsonWriter, TopLevelArrayOfObjects) {
    std::string out;
    Writer w(out);
    w.begin_array();
    for (int i = 0; i < 3; ++i)
        w.begin_object().key("i").number(i).end_object();
    w.end_array();
    EXPECT_EQ(out, R"([{"i":0},{"i":1},{"i":2}])");
}

TEST(JsonWriter, AppendsToWhatTheStringHeld) {
    std::string out = "prefix:";
    Writer(out).string("x");
    EXPECT_EQ(out, "prefix:\"x\"");
}

TEST(JsonWriter, Integers) {
    std::string out;
    Writer w(out);
    w.begin_array()
        .number(std::numeric_limits<std::uint64_t>::max())
        .number(std::numeric_limits<std::int64_t>::min())
        .number(std::int64_t{-1})
        .number(0)
        .number(42u)
        .number(-7LL)
        .number(static_cast<short>(-3))
        .end_array();
    EXPECT_EQ(out, "[18446744073709551615,-9223372036854775808,-1,0,42,-7,-3]");
}

TEST(JsonWriter, DoublesUseTheShortestRoundTripForm) {
    std::string out;
    Writer w(out);
    w.begin_array().number(0.1).number(1.5).number(-0.0).number(1e100).number(5e-324).number(100.0);
    w.end_array();
    EXPECT_EQ(out, "[0.1,1.5,-0,1e+100,5e-324,100]");
    Value v;
    ASSERT_EQ(parse(out, v), Error::None); // every form to_chars picks is a JSON number
}

TEST(JsonWriter, NonFiniteDoublesAreNull) {
    std::string out;
    Writer w(out);
    w.begin_array()
        .number(std::numeric_limits<double>::quiet_NaN())
        .number(std::numeric_limits<double>::infinity())
        .number(-std::numeric_limits<double>::infinity())
        .end_array();
    EXPECT_EQ(out, "[null,null,null]");
}

TEST(JsonWriter, DoublesReadBackExactly) {
    const double values[] = {0.1,
                             1.0 / 3,
                             -2.5e-300,
                             6.02214076e23,
                             1e21,
                             1e22,
                             123456.789,
                             std::numeric_limits<double>::max(),
                             std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::denorm_min(),
                             9007199254740993.0};
    for (double d : values) {
        std::string out;
        Writer(out).number(d);
        Value v;
        ASSERT_EQ(parse(out, v), Error::None) << out;
        double back = 0;
        ASSERT_TRUE(get_double(v, back)) << out;
        EXPECT_EQ(back, d) << out;
    }
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
    std::string out;
    append_escaped(out, "a\"b\\c/d\b\f\n\r\t\x01\x1f\x7f\0e"s);
    EXPECT_EQ(out, R"("a\"b\\c/d\b\f\n\r\t\u0001\u001f)"
                   "\x7f"
                   R"(\u0000e")");
    out.clear();
    append_escaped(out, "");
    EXPECT_EQ(out, R"("")");
    out.clear();
    append_escaped(out, "caf\xc3\xa9 \xf0\x9f\x98\x80"); // UTF-8 passes through unescaped
    EXPECT_EQ(out, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
}

TEST(JsonWriter, KeysAreEscapedToo) {
    std::string out;
    Writer(out).begin_object().key("a\"b\n").number(1).end_object();
    EXPECT_EQ(out, R"({"a\"b\n":1})");
    Value v;
    ASSERT_EQ(parse(out, v), Error::None);
    bool found = false;
    for_each_member(v, [&](std::string_view k, Value) { found = key_is(k, "a\"b\n"); });
    EXPECT_TRUE(found);
}

TEST(JsonWriter, StringRoundTrip) {
    std::string every_ascii;
    for (int c = 0; c < 0x80; ++c)
        every_ascii.push_back(static_cast<char>(c));
    const std::vector<std::string> strings = {
        "",
        "hello",
        every_ascii,
        "\"\\/",
        "\0\0"s,
        "caf\xc3\xa9",
        "\xe2\x82\xac\xef\xbf\xbf",         // 3-byte forms, U+FFFF
        "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", // 4-byte forms, U+10FFFF
        "\xe2\x80\xa8\xe2\x80\xa9",         // U+2028/2029 are fine in JSON
        std::string(5000, 'x') + "\n" + std::string(5000, '"'),
    };
    for (const auto &s : strings)
        EXPECT_EQ(round_trip(s), s) << testing::PrintToString(s);
}

} // namespace
} // namespace switchboard::json
