// The JSON reader against RFC 8259: grammar (§2-§5), numbers (§6), strings and escapes (§7),
// UTF-8 (§8.1, RFC 3629 §3-§4) and the limits an implementation may set (§9). Many cases follow
// the names of JSONTestSuite's y_/n_ files (Nicolas Seriot, "Parsing JSON is a Minefield").
#include "json/reader.hpp"

#include "json_printers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::json {
namespace {

using namespace std::string_literals;

Error check(std::string_view text, const Limits &limits = {}) {
    Value v;
    return parse(text, v, limits);
}

Value must_parse(std::string_view text) {
    Value v;
    Error e = parse(text, v);
    EXPECT_EQ(e, Error::None) << text;
    return v;
}

Value number(std::string_view raw) { return Value{Kind::Number, raw}; }

std::string nested(std::size_t depth, std::string_view open = "[", std::string_view close = "]") {
    std::string s;
    for (std::size_t i = 0; i < depth; ++i)
        s += open;
    for (std::size_t i = 0; i < depth; ++i)
        s += close;
    return s;
}

// ---- Grammar table -------------------------------------------------------------------------

struct Case {
    std::string text;
    Error expected;
};

TEST(JsonReader, AcceptsValidDocuments) {
    const std::vector<std::string> valid = {
        "null",
        "true",
        "false",
        "0",
        "-0",
        "1",
        "-1",
        "0.5",
        "-0.0e-0",
        "1e5",
        "1E5",
        "1e+5",
        "1e-5",
        "1.25E+10",
        "123456789012345678901234567890",
        "1e999", // grammar allows any size
        R"("")",
        R"("a")",
        "[]",
        "{}",
        "[[]]",
        "[{}]",
        R"({"":0})",
        " \t\n\r[1] \n\t\r ", // the four whitespace characters, around and inside
        "[ 1 , 2 ]",
        "{ \"a\" : 1 , \"b\" : [ ] }",
        R"({"a":[1,{"b":null}],"c":{"d":"e"}})",
        R"({"a":1,"a":2})", // §4: duplicate names are the reader's business
        R"("\"\\\/\b\f\n\r\t")",
        R"("\u0000")",
        R"("\u0041\u00e9\u20AC\uFFFF")",
        R"("\ud83d\ude00")",
        R"("\uDBFF\uDFFF")",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
        "\"\x7f\"",             // DEL is not a control character for JSON
        "\"\xef\xbf\xbf\"",     // U+FFFF: a noncharacter, but valid UTF-8
        "\"\xf4\x8f\xbf\xbf\"", // U+10FFFF, the last code point
        "\"\xed\x9f\xbf\"",     // U+D7FF, just below the surrogates
        R"("[{]}")",            // brackets inside a string
        "[1,\"2\",[3],{\"4\":5},true,false,null]",
    };
    for (const auto &t : valid)
        EXPECT_EQ(check(t), Error::None) << t;
}

TEST(JsonReader, RejectsInvalidDocuments) {
    const std::vector<Case> cases = {
        {"", Error::Empty},
        {" \t\r\n", Error::Empty},
        // Structure
        {"[1,]", Error::Syntax},        // n_array_extra_comma
        {R"({"a":1,})", Error::Syntax}, // n_object_trailing_comma
        {"[,1]", Error::Syntax},
        {"[1,,2]", Error::Syntax},
        {"[1 2]", Error::Syntax},
        {R"({"a" 1})", Error::Syntax},
        {R"({"a":})", Error::Syntax},
        {R"({"a"})", Error::Syntax},
        {"{a:1}", Error::Syntax},   // unquoted key
        {"{'a':1}", Error::Syntax}, // single quotes
        {"{1:1}", Error::Syntax},
        {"[1}", Error::Syntax},
        {R"({"a":1])", Error::Syntax},
        {"[", Error::Syntax},
        {"{", Error::Syntax},
        {"[1", Error::Syntax},
        {R"({"a":1)", Error::Syntax},
        {R"("abc)", Error::Syntax},
        {"]", Error::Syntax},
        {",", Error::Syntax},
        {"tru", Error::Syntax},
        {"nul", Error::Syntax},
        {"True", Error::Syntax},
        {"NaN", Error::Syntax},
        {"Infinity", Error::Syntax},
        {"undefined", Error::Syntax},
        {"\xef\xbb\xbf[]", Error::Syntax}, // a byte order mark is not whitespace
        {"\f[]", Error::Syntax},           // form feed is not JSON whitespace
        {"\xc2\xa0[]", Error::Syntax},     // nor is U+00A0
        {"\xff", Error::Syntax},
        {"[1]]", Error::Trailing},
        {"1 2", Error::Trailing},
        {"{} {}", Error::Trailing},
        {R"("a"x)", Error::Trailing},
        {"nullx", Error::Trailing},
        {"truefalse", Error::Trailing},
        {"[1]\f", Error::Trailing},
        {"[1]\0"s, Error::Trailing},
        {"0x10", Error::Trailing},
        // Numbers (§6)
        {"01", Error::BadNumber}, // n_number_with_leading_zero
        {"-01", Error::BadNumber},
        {"00", Error::BadNumber},
        {"[012]", Error::BadNumber},
        {"+1", Error::BadNumber}, // n_number_+1
        {".5", Error::BadNumber},
        {"1.", Error::BadNumber}, // n_number_real_without_fractional_part
        {"1.e5", Error::BadNumber},
        {"1e", Error::BadNumber},
        {"1e+", Error::BadNumber},
        {"1E-", Error::BadNumber},
        {"-", Error::BadNumber},
        {"--1", Error::BadNumber},
        {"-Infinity", Error::BadNumber},
        {"1.5.5", Error::BadNumber},
        {"1-2", Error::BadNumber},
        {"2e3e4", Error::BadNumber},
        {"[-]", Error::BadNumber},
        {"e5", Error::Syntax},
        // Strings (§7)
        {"\"\t\"", Error::Syntax}, // unescaped control characters
        {"\"\n\"", Error::Syntax},
        {"\"\x1f\"", Error::Syntax},
        {"\"\0\""s, Error::Syntax},
        {R"("\")", Error::Syntax}, // the escaped quote leaves it unterminated
        {R"("\x41")", Error::BadEscape},
        {R"("\U0041")", Error::BadEscape},
        {R"("\'")", Error::BadEscape},
        {R"("\a")", Error::BadEscape},
        {R"("\u12")", Error::BadEscape},
        {R"("\u12g4")", Error::BadEscape},
        {R"("\u")", Error::BadEscape},
        {R"("\ud800\u12")", Error::BadEscape},
        {R"("\ud800")", Error::BadUtf8},       // lone high surrogate
        {R"("\udc00")", Error::BadUtf8},       // lone low surrogate
        {R"("\ude00\ud83d")", Error::BadUtf8}, // pair in the wrong order
        {R"("\ud800\u0041")", Error::BadUtf8},
        {R"("\ud800\ud800")", Error::BadUtf8},
        {R"("\ud800x")", Error::BadUtf8},
        {R"("\ud800\n")", Error::BadUtf8},
        {R"(["\ud800"])", Error::BadUtf8},
        {R"({"\udfff":1})", Error::BadUtf8}, // keys are strings too
        // UTF-8 (§8.1, RFC 3629)
        {"\"\xc0\xaf\"", Error::BadUtf8}, // overlong '/'
        {"\"\xc1\xbf\"", Error::BadUtf8},
        {"\"\xe0\x80\xaf\"", Error::BadUtf8}, // overlong in three bytes
        {"\"\xe0\x9f\xbf\"", Error::BadUtf8},
        {"\"\xf0\x80\x80\xaf\"", Error::BadUtf8}, // overlong in four bytes
        {"\"\xf0\x8f\xbf\xbf\"", Error::BadUtf8},
        {"\"\xed\xa0\x80\"", Error::BadUtf8}, // an encoded surrogate (CESU-8)
        {"\"\xed\xbf\xbf\"", Error::BadUtf8},
        {"\"\xf4\x90\x80\x80\"", Error::BadUtf8}, // above U+10FFFF
        {"\"\xf5\x80\x80\x80\"", Error::BadUtf8},
        {"\"\xff\"", Error::BadUtf8},
        {"\"\xfe\"", Error::BadUtf8},
        {"\"\x80\"", Error::BadUtf8}, // a lone continuation byte
        {"\"\xc3\"", Error::BadUtf8}, // truncated sequences
        {"\"\xe2\x82\"", Error::BadUtf8},
        {"\"\xf0\x9f\x98\"", Error::BadUtf8},
        {"\"\xc3\xa9\xa9\"", Error::BadUtf8}, // one continuation too many
        {"\"\xe2\x82", Error::BadUtf8},       // and at the end of the input
    };
    for (const auto &c : cases)
        EXPECT_EQ(check(c.text), c.expected) << testing::PrintToString(c.text);
}

TEST(JsonReader, ErrorTextIsShortEnglish) {
    EXPECT_STREQ(error_text(Error::Syntax), "invalid JSON syntax");
    for (int i = 0; i <= static_cast<int>(Error::TooLarge); ++i)
        EXPECT_GT(std::string_view(error_text(static_cast<Error>(i))).size(), 1u);
}

// ---- Limits --------------------------------------------------------------------------------

TEST(JsonReader, DepthJustUnderAndOverTheLimit) {
    EXPECT_EQ(check(nested(32)), Error::None);
    EXPECT_EQ(check(nested(33)), Error::TooDeep);
    std::string objects;
    for (int i = 0; i < 32; ++i)
        objects += R"({"a":)";
    objects += "1" + std::string(32, '}');
    EXPECT_EQ(check(objects), Error::None);
    EXPECT_EQ(check("[" + objects + "]"), Error::TooDeep);
    // Mixed nesting, and a depth that goes down and up again without exceeding the limit.
    EXPECT_EQ(check(nested(16, "{\"k\":[", "]}")), Error::None);
    EXPECT_EQ(check("[" + nested(16, "{\"k\":[", "]}") + "]"), Error::TooDeep);
    EXPECT_EQ(check("[" + nested(31) + "," + nested(31) + "]"), Error::None);

    Limits tight{3, 1024};
    EXPECT_EQ(check("[[[1]]]", tight), Error::None);
    EXPECT_EQ(check("[[[[1]]]]", tight), Error::TooDeep);
    EXPECT_EQ(check(R"({"a":{"b":{"c":[]}}})", tight), Error::TooDeep);
    EXPECT_EQ(check(R"([{"a":[]},{"b":{}}])", tight), Error::None);

    Limits scalars_only{0, 1024};
    EXPECT_EQ(check("1", scalars_only), Error::None);
    EXPECT_EQ(check("[]", scalars_only), Error::TooDeep);
}

TEST(JsonReader, DeepInputFailsWithoutRecursion) {
    // 100 000 open brackets: rejected at the limit, not by overflowing the stack.
    EXPECT_EQ(check(std::string(100000, '[')), Error::TooDeep);
    Limits huge{1000000, std::size_t(1) << 30};
    EXPECT_EQ(check(nested(kMaxDepthCeiling), huge), Error::None);
    EXPECT_EQ(check(nested(kMaxDepthCeiling + 1), huge), Error::TooDeep);
}

TEST(JsonReader, SizeLimit) {
    Limits small{32, 4};
    EXPECT_EQ(check("1234", small), Error::None);
    EXPECT_EQ(check("12345", small), Error::TooLarge);
    EXPECT_EQ(check("     ", small), Error::TooLarge); // checked before anything else
}

// ---- Values --------------------------------------------------------------------------------

TEST(JsonReader, ValueIsTheExactTextWithoutSurroundingWhitespace) {
    Value v = must_parse("  {\"a\" : [1, 2]}\r\n");
    EXPECT_EQ(v.kind, Kind::Object);
    EXPECT_EQ(v.raw, "{\"a\" : [1, 2]}");
    v = must_parse(" \"x\\n\" ");
    EXPECT_EQ(v.kind, Kind::String);
    EXPECT_EQ(v.raw, "\"x\\n\"");
    EXPECT_EQ(must_parse("-1.5e3").kind, Kind::Number);
    EXPECT_EQ(must_parse("true").kind, Kind::True);
    EXPECT_EQ(must_parse("false").kind, Kind::False);
    EXPECT_EQ(must_parse("null").kind, Kind::Null);
    EXPECT_EQ(must_parse("[]").kind, Kind::Array);
}

TEST(JsonReader, OutputUntouchedOnError) {
    Value v{Kind::True, "sentinel"};
    EXPECT_EQ(parse("[1,]", v), Error::Syntax);
    EXPECT_EQ(v.kind, Kind::True);
    EXPECT_EQ(v.raw, "sentinel");
}

struct Member {
    std::string key;
    Kind kind;
    std::string raw;
    bool operator==(const Member &) const = default;
};

std::vector<Member> members(Value v) {
    std::vector<Member> out;
    for_each_member(v, [&](std::string_view k, Value m) {
        out.push_back({std::string(k), m.kind, std::string(m.raw)});
        return true;
    });
    return out;
}

TEST(JsonReader, MemberIterationWithNestedValues) {
    Value v = must_parse(R"( { "id" : 7, "s":"a}]\"{[", "obj": {"x": [1, {"y": "}"}]},
                             "arr":[ [], {} ,"]" ], "t":true, "f":false, "n":null,
                             "neg":-1.5e-3, "e\"sc":"" } )");
    ASSERT_EQ(v.kind, Kind::Object);
    const std::vector<Member> expected = {
        {"id", Kind::Number, "7"},
        {"s", Kind::String, R"("a}]\"{[")"},
        {"obj", Kind::Object, R"({"x": [1, {"y": "}"}]})"},
        {"arr", Kind::Array, R"([ [], {} ,"]" ])"},
        {"t", Kind::True, "true"},
        {"f", Kind::False, "false"},
        {"n", Kind::Null, "null"},
        {"neg", Kind::Number, "-1.5e-3"},
        {R"(e\"sc)", Kind::String, R"("")"},
    };
    EXPECT_EQ(members(v), expected);

    // A nested value iterates like a top-level one.
    Value obj;
    for_each_member(v, [&](std::string_view k, Value m) {
        if (key_is(k, "obj"))
            obj = m;
    });
    Value x;
    for_each_member(obj, [&](std::string_view, Value m) {
        x = m;
        return false;
    });
    std::vector<std::string> elements;
    for_each_element(x, [&](Value e) {
        elements.emplace_back(e.raw);
        return true;
    });
    EXPECT_EQ(elements, (std::vector<std::string>{"1", R"({"y": "}"})"}));
}

TEST(JsonReader, IterationStopsWhenTheCallbackSaysSo) {
    Value v = must_parse(R"({"a":1,"b":2,"c":3})");
    int seen = 0;
    for_each_member(v, [&](std::string_view, Value) { return ++seen < 2; });
    EXPECT_EQ(seen, 2);
    seen = 0;
    for_each_element(must_parse("[1,2,3]"), [&](Value) { return ++seen < 1; });
    EXPECT_EQ(seen, 1);
}

TEST(JsonReader, ElementIteration) {
    std::vector<std::pair<Kind, std::string>> got;
    for_each_element(must_parse("[1,\"2\" , [3,[4]] ,{\"5\":[]},true,false,null,-0]"),
                     [&](Value e) {
                         got.emplace_back(e.kind, std::string(e.raw));
                         return true;
                     });
    const std::vector<std::pair<Kind, std::string>> expected = {
        {Kind::Number, "1"},           {Kind::String, "\"2\""}, {Kind::Array, "[3,[4]]"},
        {Kind::Object, R"({"5":[]})"}, {Kind::True, "true"},    {Kind::False, "false"},
        {Kind::Null, "null"},          {Kind::Number, "-0"},
    };
    EXPECT_EQ(got, expected);
}

TEST(JsonReader, IteratingEmptyOrWrongKindVisitsNothing) {
    int calls = 0;
    auto member = [&](std::string_view, Value) { ++calls; };
    auto element = [&](Value) { ++calls; };
    for_each_member(must_parse("{ }"), member);
    for_each_element(must_parse("[ ]"), element);
    for_each_member(must_parse("[1]"), member);
    for_each_element(must_parse(R"({"a":1})"), element);
    for_each_member(must_parse("\"{}\""), member);
    // Values that did not come from parse() must not make it read out of bounds.
    for_each_member(Value{Kind::Object, "{"}, member);
    for_each_member(Value{Kind::Object, R"({"a)"}, member);
    for_each_member(Value{Kind::Object, R"({"a":)"}, member);
    for_each_member(Value{Kind::Object, R"({"a":[1,2)"}, member);
    for_each_element(Value{Kind::Array, "["}, element);
    for_each_element(Value{Kind::Array, "[\"abc"}, element);
    EXPECT_EQ(calls, 0);
}

TEST(JsonReader, KeyIsDecodesEscapes) {
    EXPECT_TRUE(key_is("channel", "channel"));
    EXPECT_FALSE(key_is("channel", "channels"));
    EXPECT_FALSE(key_is("channels", "channel"));
    EXPECT_FALSE(key_is("Channel", "channel"));
    EXPECT_TRUE(key_is("", ""));
    EXPECT_TRUE(key_is(R"(ch\u0061nnel)", "channel"));
    EXPECT_TRUE(key_is(R"(\u0063\u0068annel)", "channel"));
    EXPECT_TRUE(key_is(R"(a\"b)", "a\"b"));
    EXPECT_TRUE(key_is(R"(a\\b)", "a\\b"));
    EXPECT_TRUE(key_is(R"(a\/b)", "a/b"));
    EXPECT_TRUE(key_is(R"(\n\t)", "\n\t"));
    EXPECT_TRUE(key_is(R"(caf\u00e9)", "caf\xc3\xa9"));
    EXPECT_TRUE(key_is(R"(caf\u00E9)", "caf\xc3\xa9"));
    EXPECT_TRUE(key_is(R"(\ud83d\ude00!)", "\xf0\x9f\x98\x80!"));
    EXPECT_FALSE(key_is(R"(\ud83d\ude00!)", "\xf0\x9f\x98\x80"));
    EXPECT_FALSE(key_is(R"(\ud83d\ude00)", "\xf0\x9f\x98"));
    EXPECT_FALSE(key_is(R"(\n)", "\\n"));
    EXPECT_FALSE(key_is(R"(ab\u0063)", "ab"));
    EXPECT_FALSE(key_is(R"(ab\u0063)", "abcd"));
    EXPECT_FALSE(key_is(R"(\u00)", "\u0000")); // malformed raw keys never match
    EXPECT_FALSE(key_is(R"(\ud800)", "\xed\xa0\x80"));
    EXPECT_FALSE(key_is("\\", "\\"));
    // Found through iteration.
    bool found = false;
    for_each_member(must_parse(R"({"op\u0000":1,"o\u0070":2})"), [&](std::string_view k, Value v) {
        std::uint64_t n = 0;
        if (key_is(k, "op") && get_u64(v, n))
            found = n == 2;
    });
    EXPECT_TRUE(found);
}

TEST(JsonReader, PlainString) {
    std::string_view s;
    ASSERT_TRUE(plain_string(must_parse(R"("hello")"), s));
    EXPECT_EQ(s, "hello");
    ASSERT_TRUE(plain_string(must_parse(R"("")"), s));
    EXPECT_EQ(s, "");
    ASSERT_TRUE(plain_string(must_parse("\"caf\xc3\xa9\""), s));
    EXPECT_EQ(s, "caf\xc3\xa9");
    s = "unchanged";
    EXPECT_FALSE(plain_string(must_parse(R"("a\nb")"), s));
    EXPECT_FALSE(plain_string(must_parse("1"), s));
    EXPECT_FALSE(plain_string(must_parse("null"), s));
    EXPECT_FALSE(plain_string(must_parse(R"(["a"])"), s));
    EXPECT_EQ(s, "unchanged");
}

TEST(JsonReader, GetStringDecodesEveryEscape) {
    std::string s = "old contents";
    ASSERT_TRUE(get_string(must_parse(R"("a\"b\\c\/d\be\ff\ng\rh\ti")"), s));
    EXPECT_EQ(s, "a\"b\\c/d\be\ff\ng\rh\ti");
    ASSERT_TRUE(get_string(must_parse(R"("\u0041\u00e9\u20AC")"), s));
    EXPECT_EQ(s, "A\xc3\xa9\xe2\x82\xac");
    ASSERT_TRUE(get_string(must_parse(R"("x\u0000y")"), s));
    EXPECT_EQ(s, "x\0y"s);
    ASSERT_TRUE(get_string(must_parse("\"plain \xf0\x9f\x98\x80 text\""), s));
    EXPECT_EQ(s, "plain \xf0\x9f\x98\x80 text");
    ASSERT_TRUE(get_string(must_parse(R"("")"), s));
    EXPECT_EQ(s, "");
}

TEST(JsonReader, GetStringJoinsSurrogatePairs) {
    std::string s;
    ASSERT_TRUE(get_string(must_parse(R"("\ud83d\ude00")"), s)); // U+1F600
    EXPECT_EQ(s, "\xf0\x9f\x98\x80");
    ASSERT_TRUE(get_string(must_parse(R"("\uD800\uDC00")"), s)); // U+10000, the first
    EXPECT_EQ(s, "\xf0\x90\x80\x80");
    ASSERT_TRUE(get_string(must_parse(R"("\uDBFF\uDFFF")"), s)); // U+10FFFF, the last
    EXPECT_EQ(s, "\xf4\x8f\xbf\xbf");
    ASSERT_TRUE(get_string(must_parse(R"("a\ud834\udd1eb")"), s)); // U+1D11E between letters
    EXPECT_EQ(s, "a\xf0\x9d\x84\x9e"
                 "b");
    // Values parse() would not produce are refused rather than decoded into invalid UTF-8.
    EXPECT_FALSE(get_string(Value{Kind::String, R"("\ud800")"}, s));
    EXPECT_FALSE(get_string(Value{Kind::String, R"("\q")"}, s));
    EXPECT_FALSE(get_string(must_parse("1"), s));
    EXPECT_FALSE(get_string(must_parse("[\"a\"]"), s));
}

TEST(JsonReader, GetU64) {
    std::uint64_t n = 99;
    ASSERT_TRUE(get_u64(must_parse("0"), n));
    EXPECT_EQ(n, 0u);
    ASSERT_TRUE(get_u64(must_parse("18446744073709551615"), n));
    EXPECT_EQ(n, std::numeric_limits<std::uint64_t>::max());
    n = 99;
    EXPECT_FALSE(get_u64(must_parse("18446744073709551616"), n)); // 2^64
    EXPECT_FALSE(get_u64(must_parse("99999999999999999999"), n));
    EXPECT_FALSE(get_u64(must_parse("123456789012345678901234567890"), n));
    EXPECT_FALSE(get_u64(must_parse("-0"), n));
    EXPECT_FALSE(get_u64(must_parse("-1"), n));
    EXPECT_FALSE(get_u64(must_parse("1.0"), n));
    EXPECT_FALSE(get_u64(must_parse("1e2"), n));
    EXPECT_FALSE(get_u64(must_parse("\"1\""), n));
    EXPECT_FALSE(get_u64(must_parse("true"), n));
    EXPECT_EQ(n, 99u);
}

TEST(JsonReader, GetI64) {
    std::int64_t n = 99;
    ASSERT_TRUE(get_i64(must_parse("-9223372036854775808"), n));
    EXPECT_EQ(n, std::numeric_limits<std::int64_t>::min());
    ASSERT_TRUE(get_i64(must_parse("9223372036854775807"), n));
    EXPECT_EQ(n, std::numeric_limits<std::int64_t>::max());
    ASSERT_TRUE(get_i64(must_parse("-0"), n));
    EXPECT_EQ(n, 0);
    ASSERT_TRUE(get_i64(must_parse("-42"), n));
    EXPECT_EQ(n, -42);
    n = 99;
    EXPECT_FALSE(get_i64(must_parse("9223372036854775808"), n));
    EXPECT_FALSE(get_i64(must_parse("-9223372036854775809"), n));
    EXPECT_FALSE(get_i64(must_parse("-18446744073709551616"), n));
    EXPECT_FALSE(get_i64(must_parse("1.5"), n));
    EXPECT_FALSE(get_i64(must_parse("-1e3"), n));
    EXPECT_FALSE(get_i64(number("-"), n));
    EXPECT_FALSE(get_i64(must_parse("null"), n));
    EXPECT_EQ(n, 99);
}

TEST(JsonReader, GetBool) {
    bool b = false;
    ASSERT_TRUE(get_bool(must_parse("true"), b));
    EXPECT_TRUE(b);
    ASSERT_TRUE(get_bool(must_parse("false"), b));
    EXPECT_FALSE(b);
    EXPECT_FALSE(get_bool(must_parse("null"), b));
    EXPECT_FALSE(get_bool(must_parse("1"), b));
    EXPECT_FALSE(get_bool(must_parse("\"true\""), b));
}

TEST(JsonReader, GetDouble) {
    double d = 0;
    ASSERT_TRUE(get_double(must_parse("1.5"), d));
    EXPECT_EQ(d, 1.5);
    ASSERT_TRUE(get_double(must_parse("7"), d));
    EXPECT_EQ(d, 7.0);
    ASSERT_TRUE(get_double(must_parse("0.1"), d));
    EXPECT_EQ(d, 0.1);
    ASSERT_TRUE(get_double(must_parse("-2.5E-3"), d));
    EXPECT_EQ(d, -0.0025);
    ASSERT_TRUE(get_double(must_parse("-0"), d));
    EXPECT_EQ(d, 0.0);
    EXPECT_TRUE(std::signbit(d));
    ASSERT_TRUE(get_double(must_parse("123456789012345678901234567890"), d));
    EXPECT_EQ(d, 1.2345678901234568e29);
    ASSERT_TRUE(get_double(must_parse("1.7976931348623157e308"), d));
    EXPECT_EQ(d, std::numeric_limits<double>::max());
    ASSERT_TRUE(get_double(must_parse("4.9e-324"), d));
    EXPECT_EQ(d, std::numeric_limits<double>::denorm_min());
    ASSERT_TRUE(get_double(must_parse("0e999999999999999999"), d));
    EXPECT_EQ(d, 0.0);
}

TEST(JsonReader, GetDoubleOutOfRange) {
    // RFC 8259 §6 lets an implementation limit the range. Overflow is an error: infinity has no
    // JSON form and would poison arithmetic. Underflow is the nearest double, a signed zero.
    double d = 42;
    EXPECT_FALSE(get_double(must_parse("1e999"), d));
    EXPECT_FALSE(get_double(must_parse("-1e999"), d));
    EXPECT_FALSE(get_double(must_parse("1.8e308"), d));
    EXPECT_FALSE(get_double(must_parse("0.01e311"), d));
    EXPECT_FALSE(get_double(must_parse("1" + std::string(400, '0')), d));
    EXPECT_EQ(d, 42);
    ASSERT_TRUE(get_double(must_parse("1e-999"), d));
    EXPECT_EQ(d, 0.0);
    EXPECT_FALSE(std::signbit(d));
    ASSERT_TRUE(get_double(must_parse("-1e-999"), d));
    EXPECT_EQ(d, 0.0);
    EXPECT_TRUE(std::signbit(d));
    ASSERT_TRUE(get_double(must_parse("1000e-330"), d));
    EXPECT_EQ(d, 0.0);
    ASSERT_TRUE(get_double(must_parse("0.000001e-320"), d));
    EXPECT_EQ(d, 0.0);
    // Not JSON numbers, though from_chars would take them.
    EXPECT_FALSE(get_double(number("inf"), d));
    EXPECT_FALSE(get_double(number("nan"), d));
    EXPECT_FALSE(get_double(must_parse("\"1\""), d));
}

} // namespace
} // namespace switchboard::json
