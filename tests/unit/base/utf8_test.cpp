// RFC 3629 §3-4 well-formedness, checked whole and streamed (RFC 6455 §8.1 fail-fast).
#include "base/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace switchboard {
namespace {

using Bytes = std::vector<std::uint8_t>;

bool valid(const Bytes &b) { return is_valid_utf8(b); }

// Streams `b` split at every position (two pieces) and byte by byte; returns whether every way
// of feeding agrees with `expected` (valid and complete at the end).
void expect_streaming(const Bytes &b, bool expected) {
    for (std::size_t cut = 0; cut <= b.size(); ++cut) {
        Utf8Validator v;
        bool ok =
            v.feed({b.data(), cut}) && v.feed({b.data() + cut, b.size() - cut}) && v.complete();
        EXPECT_EQ(ok, expected) << "split at " << cut;
    }
    Utf8Validator v;
    bool ok = true;
    for (std::uint8_t c : b)
        ok = ok && v.feed({&c, 1});
    EXPECT_EQ(ok && v.complete(), expected) << "byte by byte";
}

TEST(Utf8, EmptyIsValid) {
    EXPECT_TRUE(valid({}));
    Utf8Validator v;
    EXPECT_TRUE(v.complete());
    EXPECT_TRUE(v.feed({}));
    EXPECT_TRUE(v.complete());
}

TEST(Utf8, AsciiIncludingLongRunsForTheWordPath) {
    std::string s;
    for (int i = 0; i < 200; ++i)
        s += static_cast<char>(i % 128);
    EXPECT_TRUE(valid(Bytes(s.begin(), s.end())));
    // A non-ASCII byte at every offset of a long run must still be seen.
    for (std::size_t at = 0; at < 40; ++at) {
        Bytes b(40, 'a');
        b[at] = 0xFF;
        EXPECT_FALSE(valid(b)) << "0xFF at " << at;
    }
}

TEST(Utf8, ValidMultibyteBoundaries) {
    const std::vector<Bytes> ok = {
        {0xC2, 0x80},             // U+0080, smallest 2-byte
        {0xDF, 0xBF},             // U+07FF
        {0xE0, 0xA0, 0x80},       // U+0800, smallest 3-byte
        {0xED, 0x9F, 0xBF},       // U+D7FF, just below the surrogates
        {0xEE, 0x80, 0x80},       // U+E000, just above them
        {0xEF, 0xBF, 0xBF},       // U+FFFF
        {0xEF, 0xBB, 0xBF},       // BOM is an ordinary code point
        {0xF0, 0x90, 0x80, 0x80}, // U+10000, smallest 4-byte
        {0xF4, 0x8F, 0xBF, 0xBF}, // U+10FFFF, the last code point
        {0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE,
         0xB5}, // "κόσμε" (Autobahn 6.2)
    };
    for (const auto &b : ok) {
        EXPECT_TRUE(valid(b));
        expect_streaming(b, true);
    }
}

TEST(Utf8, Overlongs) {
    const std::vector<Bytes> bad = {
        {0xC0, 0x80},
        {0xC1, 0xBF}, // 2-byte overlongs (C0, C1 never valid)
        {0xE0, 0x80, 0x80},
        {0xE0, 0x9F, 0xBF}, // 3-byte overlongs
        {0xF0, 0x80, 0x80, 0x80},
        {0xF0, 0x8F, 0xBF, 0xBF}, // 4-byte overlongs
        {0xC0, 0xAF},
        {0xE0, 0x80, 0xAF}, // overlong '/'
    };
    for (const auto &b : bad) {
        EXPECT_FALSE(valid(b));
        expect_streaming(b, false);
    }
}

TEST(Utf8, SurrogatesD800ToDFFF) {
    for (std::uint8_t second = 0xA0; second <= 0xBF; ++second) {
        Bytes b = {0xED, second, 0x80};
        EXPECT_FALSE(valid(b)) << std::hex << int(second);
        expect_streaming(b, false);
    }
    EXPECT_FALSE(valid({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80})); // a CESU-8 pair
}

TEST(Utf8, AboveU10FFFF) {
    const std::vector<Bytes> bad = {
        {0xF4, 0x90, 0x80, 0x80}, // U+110000
        {0xF5, 0x80, 0x80, 0x80},
        {0xF7, 0xBF, 0xBF, 0xBF},
        {0xF8, 0x88, 0x80, 0x80, 0x80}, // old 5-byte form
        {0xFC, 0x84, 0x80, 0x80, 0x80, 0x80},
        {0xFE},
        {0xFF},
    };
    for (const auto &b : bad) {
        EXPECT_FALSE(valid(b));
        expect_streaming(b, false);
    }
}

TEST(Utf8, StrayContinuationBytes) {
    for (int c = 0x80; c <= 0xBF; ++c) {
        EXPECT_FALSE(valid({static_cast<std::uint8_t>(c)}));
        EXPECT_FALSE(valid({'a', static_cast<std::uint8_t>(c), 'b'}));
    }
    EXPECT_FALSE(valid({0xC2, 0x80, 0x80})); // one continuation too many
}

TEST(Utf8, TruncatedSequences) {
    const std::vector<Bytes> cut = {
        {0xC2}, {0xE0, 0xA0}, {0xE1}, {0xF0, 0x90, 0x80}, {0xF4, 0x8F}, {'a', 0xF0},
    };
    for (const auto &b : cut) {
        EXPECT_FALSE(valid(b));
        Utf8Validator v;
        EXPECT_TRUE(v.feed(b)) << "a prefix of a valid sequence is not an error yet";
        EXPECT_FALSE(v.complete());
    }
    // A lead byte followed by a non-continuation byte.
    EXPECT_FALSE(valid({0xC2, 'a'}));
    EXPECT_FALSE(valid({0xE1, 0x80, 'a'}));
    EXPECT_FALSE(valid({0xF1, 0x80, 0x80, 0xC2}));
}

TEST(Utf8, FailsFastInTheMiddleOfAStream) {
    // Autobahn 6.4.x: the error must be seen at the byte that makes the text invalid, even
    // though more bytes would follow.
    Utf8Validator v;
    EXPECT_TRUE(v.feed(Bytes{0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5}));
    EXPECT_TRUE(v.feed(Bytes{0xF4}));
    EXPECT_FALSE(v.feed(Bytes{0x90})) << "0xF4 0x90 is above U+10FFFF";
}

TEST(Utf8, StreamingEverySplitOfAMixedText) {
    // 1-, 2-, 3- and 4-byte code points back to back, with ASCII runs long enough for the
    // eight-byte fast path on both sides of every split.
    Bytes b;
    const std::string s = "Hello, world! ";
    for (int i = 0; i < 3; ++i) {
        b.insert(b.end(), s.begin(), s.end());
        for (std::uint8_t c :
             {0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xED, 0x9F, 0xBF})
            b.push_back(c);
    }
    EXPECT_TRUE(valid(b));
    expect_streaming(b, true);
    Bytes bad = b;
    bad.insert(bad.begin() + 20, 0xED);
    bad.insert(bad.begin() + 21, 0xA0); // a surrogate in the middle
    bad.insert(bad.begin() + 22, 0x80);
    expect_streaming(bad, false);
}

TEST(Utf8, CompleteTracksCodePointBoundaries) {
    Utf8Validator v;
    const Bytes euro = {0xE2, 0x82, 0xAC};
    EXPECT_TRUE(v.feed({euro.data(), 1}));
    EXPECT_FALSE(v.complete());
    EXPECT_TRUE(v.feed({euro.data() + 1, 1}));
    EXPECT_FALSE(v.complete());
    EXPECT_TRUE(v.feed({euro.data() + 2, 1}));
    EXPECT_TRUE(v.complete());
}

TEST(Utf8, ResetClearsAPendingSequence) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(Bytes{0xED}));
    v.reset();
    EXPECT_TRUE(v.complete());
    // After reset the surrogate restriction from 0xED must not linger.
    EXPECT_TRUE(v.feed(Bytes{'a'}));
    EXPECT_TRUE(v.feed(Bytes{0xE1, 0xA0, 0x80}));
    EXPECT_TRUE(v.complete());
}

TEST(Utf8, ExhaustiveTwoByteSequences) {
    for (int a = 0; a < 256; ++a)
        for (int b = 0; b < 256; ++b) {
            Bytes s = {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)};
            bool expected;
            if (a < 0x80)
                expected = b < 0x80;
            else if (a >= 0xC2 && a <= 0xDF)
                expected = b >= 0x80 && b <= 0xBF;
            else
                expected = false;
            ASSERT_EQ(valid(s), expected) << std::hex << a << " " << b;
        }
}

} // namespace
} // namespace switchboard
