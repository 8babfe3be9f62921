// permessage-deflate (RFC 7692): §7 parameter negotiation and §7.2 compression with and without
// context takeover, bounded inflation.
#include "ws/deflate.hpp"

#include "support/printers.hpp"

#include "support/bytes.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace switchboard::ws {
namespace {

using test::Bytes;

DeflateConfig dedicated(int bits = 15) {
    DeflateConfig c;
    c.mode = CompressionMode::Dedicated;
    c.max_window_bits = bits;
    return c;
}
DeflateConfig shared_mode() {
    DeflateConfig c;
    c.mode = CompressionMode::Shared;
    return c;
}

// ---- Negotiation ----------------------------------------------------------------------------

TEST(DeflateNegotiation, PlainOffer) {
    auto a = negotiate_deflate("permessage-deflate", dedicated());
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->server_no_context_takeover);
    EXPECT_FALSE(a->client_no_context_takeover);
    EXPECT_EQ(a->server_max_window_bits, 15);
    EXPECT_EQ(a->client_max_window_bits, 15);
    EXPECT_EQ(a->response, "permessage-deflate");
}

TEST(DeflateNegotiation, NameIsCaseInsensitiveAndWhitespaceTolerated) {
    auto a = negotiate_deflate("  PerMessage-Deflate ;  Server_No_Context_Takeover  ", dedicated());
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->server_no_context_takeover);
    EXPECT_EQ(a->response, "permessage-deflate; server_no_context_takeover");
}

TEST(DeflateNegotiation, ContextTakeoverParameters) {
    auto a = negotiate_deflate(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover", dedicated());
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->server_no_context_takeover);
    EXPECT_TRUE(a->client_no_context_takeover);
    EXPECT_EQ(a->response,
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(DeflateNegotiation, ServerMaxWindowBits) {
    for (int bits = 9; bits <= 15; ++bits) {
        auto a = negotiate_deflate(
            "permessage-deflate; server_max_window_bits=" + std::to_string(bits), dedicated());
        ASSERT_TRUE(a) << bits;
        EXPECT_EQ(a->server_max_window_bits, bits);
        // §7.1.2.1: the response MUST then carry server_max_window_bits, at most the offer.
        EXPECT_EQ(a->response,
                  "permessage-deflate; server_max_window_bits=" + std::to_string(bits));
    }
}

TEST(DeflateNegotiation, ServerMaxWindowBits8IsDeclinedBecauseZlibCannotHonourIt) {
    EXPECT_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=8", dedicated()));
}

TEST(DeflateNegotiation, OurWindowLimitApplies) {
    auto a = negotiate_deflate("permessage-deflate", dedicated(12));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->server_max_window_bits, 12);
    EXPECT_EQ(a->response, "permessage-deflate; server_max_window_bits=12");
    auto b = negotiate_deflate("permessage-deflate; server_max_window_bits=14", dedicated(12));
    ASSERT_TRUE(b);
    EXPECT_EQ(b->server_max_window_bits, 12);
    auto c = negotiate_deflate("permessage-deflate; server_max_window_bits=10", dedicated(12));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->server_max_window_bits, 10);
}

TEST(DeflateNegotiation, ClientMaxWindowBits) {
    // Without a value: the client merely supports the parameter; we need not send it back.
    auto a = negotiate_deflate("permessage-deflate; client_max_window_bits", dedicated());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->client_max_window_bits, 15);
    EXPECT_EQ(a->response, "permessage-deflate");
    // With a value: the client will use that window.
    auto b = negotiate_deflate("permessage-deflate; client_max_window_bits=10", dedicated());
    ASSERT_TRUE(b);
    EXPECT_EQ(b->client_max_window_bits, 10);
    EXPECT_EQ(b->response, "permessage-deflate; client_max_window_bits=10");
    auto c = negotiate_deflate("permessage-deflate; client_max_window_bits=8", dedicated());
    ASSERT_TRUE(c) << "an 8-bit client window is inflated with a 9-bit one";
    EXPECT_EQ(c->client_max_window_bits, 8);
}

TEST(DeflateNegotiation, QuotedValues) {
    auto a = negotiate_deflate("permessage-deflate; server_max_window_bits=\"10\"", dedicated());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->server_max_window_bits, 10);
    auto b = negotiate_deflate("permessage-deflate; client_max_window_bits = \"11\"", dedicated());
    ASSERT_TRUE(b);
    EXPECT_EQ(b->client_max_window_bits, 11);
}

TEST(DeflateNegotiation, AllParametersTogether) {
    auto a = negotiate_deflate(
        "permessage-deflate; client_max_window_bits=12; server_max_window_bits=11; "
        "client_no_context_takeover; server_no_context_takeover",
        dedicated());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->client_max_window_bits, 12);
    EXPECT_EQ(a->server_max_window_bits, 11);
    EXPECT_TRUE(a->server_no_context_takeover);
    EXPECT_TRUE(a->client_no_context_takeover);
    EXPECT_EQ(a->response,
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
              "server_max_window_bits=11; client_max_window_bits=12");
}

TEST(DeflateNegotiation, InvalidOffersAreDeclined) {
    // §7: a server MUST decline an offer with an unknown parameter, a duplicate parameter or an
    // invalid value.
    const char *bad[] = {
        "permessage-deflate; unknown_param",
        "permessage-deflate; x=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_max_window_bits", // a value is required
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010", // no leading zeros
        "permessage-deflate; server_max_window_bits=1O",
        "permessage-deflate; server_max_window_bits=-9",
        "permessage-deflate; server_max_window_bits=9.5",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=\"\"",
        "permessage-deflate; ; server_no_context_takeover", // empty parameter
    };
    for (const char *offer : bad)
        EXPECT_FALSE(negotiate_deflate(offer, dedicated())) << offer;
}

TEST(DeflateNegotiation, OtherExtensionsAreIgnored) {
    EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame", dedicated()));
    EXPECT_FALSE(negotiate_deflate("permessage-deflatex", dedicated()));
    EXPECT_FALSE(negotiate_deflate("", dedicated()));
    auto a = negotiate_deflate("x-webkit-deflate-frame; no_context_takeover, permessage-deflate",
                               dedicated());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->response, "permessage-deflate");
}

TEST(DeflateNegotiation, FirstAcceptableOfSeveralOffersWins) {
    // §5.1: offers are listed in order of preference; decline the ones we can't accept.
    auto a =
        negotiate_deflate("permessage-deflate; foo, permessage-deflate; server_max_window_bits=8, "
                          "permessage-deflate; client_max_window_bits=10, permessage-deflate",
                          dedicated());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->client_max_window_bits, 10);
    EXPECT_EQ(a->response, "permessage-deflate; client_max_window_bits=10");
    auto b = negotiate_deflate("permessage-deflate; server_no_context_takeover, permessage-deflate",
                               dedicated());
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->server_no_context_takeover) << "the first offer is acceptable, so it is the one";
    EXPECT_FALSE(negotiate_deflate("permessage-deflate; a, permessage-deflate; b", dedicated()));
}

TEST(DeflateNegotiation, SharedModeAsksForNoContextTakeoverBothWays) {
    auto a = negotiate_deflate("permessage-deflate; client_max_window_bits", shared_mode());
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->server_no_context_takeover);
    EXPECT_TRUE(a->client_no_context_takeover);
    EXPECT_EQ(a->response,
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    auto b = negotiate_deflate("permessage-deflate; server_no_context_takeover", shared_mode());
    ASSERT_TRUE(b);
    EXPECT_EQ(b->response,
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(DeflateNegotiation, OffModeDeclinesEverything) {
    DeflateConfig off;
    off.mode = CompressionMode::Off;
    EXPECT_FALSE(negotiate_deflate("permessage-deflate", off));
}

// ---- Inflater / Deflater --------------------------------------------------------------------

Bytes compress(Deflater &d, const Bytes &in, bool reset) {
    ByteBuffer out;
    EXPECT_TRUE(d.deflate(in, out, reset));
    return Bytes(out.data(), out.data() + out.size());
}

Bytes expand(Inflater &inf, const Bytes &in, bool reset, std::size_t max_out = 1 << 24,
             Inflater::Status expected = Inflater::Status::Ok) {
    ByteBuffer out;
    EXPECT_EQ(inf.inflate(in, out, max_out, reset), expected);
    return Bytes(out.data(), out.data() + out.size());
}

Bytes random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    Bytes b(n);
    for (auto &c : b)
        c = static_cast<std::uint8_t>(rng());
    return b;
}

Bytes text_like(std::size_t n) {
    static const std::string words =
        "the quick brown fox jumps over the lazy dog and switchboard relays it ";
    Bytes b;
    while (b.size() < n)
        b.push_back(static_cast<std::uint8_t>(words[b.size() % words.size()]));
    return b;
}

TEST(Inflater, RfcExampleHello) {
    // RFC 7692 §7.2.3.1: "Hello" compressed with a fixed Huffman block.
    Inflater inf(15);
    EXPECT_EQ(expand(inf, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true),
              test::to_bytes("Hello"));
}

TEST(Inflater, RfcExampleSharedWindow) {
    // §7.2.3.2: the second "Hello" refers back into the first message.
    Inflater inf(15);
    EXPECT_EQ(expand(inf, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false),
              test::to_bytes("Hello"));
    EXPECT_EQ(expand(inf, {0xf2, 0x00, 0x11, 0x00, 0x00}, false), test::to_bytes("Hello"));
}

TEST(Inflater, RfcExampleStoredBlock) {
    // §7.2.3.3: "Hello" in a stored (uncompressed) block.
    Inflater inf(15);
    EXPECT_EQ(expand(inf, {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}, true),
              test::to_bytes("Hello"));
}

TEST(Inflater, RfcExampleBfinalBlock) {
    // §7.2.3.4: a final block (BFINAL=1) is allowed; the next message starts a new stream.
    Inflater inf(15);
    EXPECT_EQ(expand(inf, {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}, false),
              test::to_bytes("Hello"));
    EXPECT_EQ(expand(inf, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, false),
              test::to_bytes("Hello"));
}

TEST(Inflater, RfcExampleTwoBlocksInOneMessage) {
    // §7.2.3.5: "He" and "llo" in two deflate blocks of one message.
    Inflater inf(15);
    EXPECT_EQ(expand(inf,
                     {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
                     true),
              test::to_bytes("Hello"));
}

TEST(Deflater, EmptyMessageIsASingleZeroByte) {
    // §7.2.3.6: an empty message compresses to 0x00 (an empty stored block without the tail).
    Deflater d(15, 8);
    EXPECT_EQ(compress(d, {}, true), (Bytes{0x00}));
    Inflater inf(15);
    EXPECT_EQ(expand(inf, {0x00}, true), Bytes{});
}

TEST(Deflater, EmptyMessageWithContextTakeoverIsStillASingleZeroByte) {
    // §7.2.1: if the compressed data does not end with an empty stored block, one is appended
    // before the 00 00 FF FF tail is removed, so even an empty message is at least 0x00. On a
    // stream that was already sync-flushed (context takeover, after the first message) zlib
    // emits nothing for empty input; sent as an empty payload, the peer's inflater reads the
    // tail it appends as the start of a stored block and loses sync with every later message.
    Deflater d(15, 8);
    Bytes first = compress(d, test::to_bytes("hello"), false);
    Bytes empty = compress(d, {}, false);
    EXPECT_EQ(empty, (Bytes{0x00}));
    Bytes next = compress(d, test::to_bytes("world"), false);
    Inflater peer(15);
    EXPECT_EQ(expand(peer, first, false), test::to_bytes("hello"));
    EXPECT_EQ(expand(peer, empty, false), Bytes{});
    ByteBuffer out;
    EXPECT_EQ(peer.inflate(next, out, 1 << 20, false), Inflater::Status::Ok);
    EXPECT_EQ(Bytes(out.data(), out.data() + out.size()), test::to_bytes("world"));
}

TEST(Deflater, OutputDoesNotEndWithTheSyncTail) {
    Deflater d(15, 8);
    for (std::size_t n : {1u, 10u, 1000u, 100000u}) {
        Bytes z = compress(d, text_like(n), true);
        ASSERT_GE(z.size(), 1u);
        if (z.size() >= 4) {
            EXPECT_FALSE(z[z.size() - 4] == 0 && z[z.size() - 3] == 0 && z[z.size() - 2] == 0xFF &&
                         z.back() == 0xFF);
        }
    }
}

TEST(DeflateRoundTrip, WithoutContextTakeover) {
    Deflater d(15, 8);
    Inflater inf(15);
    std::vector<Bytes> msgs = {{},
                               {'a'},
                               text_like(100),
                               random_bytes(5000, 1),
                               text_like(300000),
                               Bytes(200000, 0),
                               random_bytes(70000, 2)};
    for (const auto &m : msgs) {
        Bytes z = compress(d, m, true);
        EXPECT_EQ(expand(inf, z, true), m) << m.size();
        // Each message stands alone: a fresh inflater decodes it too.
        Inflater fresh(15);
        EXPECT_EQ(expand(fresh, z, true), m) << m.size();
    }
}

TEST(DeflateRoundTrip, WithContextTakeover) {
    Deflater d(15, 8);
    Inflater inf(15);
    Bytes m = random_bytes(2000, 7); // incompressible alone, so only the window can shrink it
    Bytes z1 = compress(d, m, false);
    Bytes z2 = compress(d, m, false);
    EXPECT_LT(z2.size(), z1.size() / 4) << "the second copy refers back into the window";
    EXPECT_EQ(expand(inf, z1, false), m);
    EXPECT_EQ(expand(inf, z2, false), m);
    // Without the first message's window the second does not decode to the message.
    Inflater fresh(15);
    ByteBuffer out;
    auto st = fresh.inflate(z2, out, 1 << 20, false);
    EXPECT_TRUE(st != Inflater::Status::Ok || Bytes(out.data(), out.data() + out.size()) != m);
}

TEST(DeflateRoundTrip, ManyMessagesWithContextTakeover) {
    Deflater d(15, 8);
    Inflater inf(15);
    for (unsigned i = 0; i < 50; ++i) {
        Bytes m = i % 3 ? text_like(100 + i * 37) : random_bytes(i * 13, i);
        ASSERT_EQ(expand(inf, compress(d, m, false), false), m) << i;
    }
}

TEST(DeflateRoundTrip, SmallWindows) {
    for (int bits = 9; bits <= 15; ++bits) {
        Deflater d(bits, 8);
        Inflater inf(bits);
        EXPECT_EQ(d.window_bits(), bits);
        Bytes m = text_like(20000);
        EXPECT_EQ(expand(inf, compress(d, m, false), false), m) << bits;
        EXPECT_EQ(expand(inf, compress(d, m, false), false), m) << bits;
    }
    Inflater eight(8);
    EXPECT_EQ(eight.window_bits(), 9) << "zlib's raw inflate has no 8-bit window; 9 decodes 8";
}

TEST(Inflater, TooBigStopsAtTheLimit) {
    Deflater d(15, 8);
    Bytes bomb = compress(d, Bytes(1 << 20, 0), true); // 1 MiB of zeros in about a kilobyte
    ASSERT_LT(bomb.size(), 2000u);
    Inflater inf(15);
    ByteBuffer out;
    EXPECT_EQ(inf.inflate(bomb, out, 1000, true), Inflater::Status::TooBig);
    EXPECT_LE(out.size(), 1001u) << "inflation stops just past the limit, not at the full size";
    // The inflater is usable afterwards.
    Bytes ok = compress(d, test::to_bytes("after"), true);
    EXPECT_EQ(expand(inf, ok, true), test::to_bytes("after"));
}

TEST(Inflater, LimitIsInclusive) {
    Deflater d(15, 8);
    Bytes m = text_like(5000);
    Bytes z = compress(d, m, true);
    Inflater inf(15);
    EXPECT_EQ(expand(inf, z, true, 5000), m);
    expand(inf, z, true, 4999, Inflater::Status::TooBig);
    Bytes empty = compress(d, {}, true);
    EXPECT_EQ(expand(inf, empty, true, 0), Bytes{});
    expand(inf, compress(d, {'x'}, true), true, 0, Inflater::Status::TooBig);
}

TEST(Inflater, OutputAppendsToTheBuffer) {
    Deflater d(15, 8);
    Inflater inf(15);
    ByteBuffer out;
    out.append("prefix:", 7);
    Bytes z = compress(d, test::to_bytes("body"), true);
    EXPECT_EQ(inf.inflate(z, out, 4, true), Inflater::Status::Ok)
        << "max_out counts only new bytes";
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(out.data()), out.size()), "prefix:body");
}

TEST(Inflater, CorruptInput) {
    Inflater inf(15);
    expand(inf, {0xff, 0xff, 0xff, 0xff}, true, 1 << 20,
           Inflater::Status::Corrupt); // reserved block type 11
    expand(inf, {0x00, 0x05, 0x00, 0x00, 0x00, 'H', 'e', 'l', 'l', 'o'}, true, 1 << 20,
           Inflater::Status::Corrupt); // stored block with LEN != ~NLEN
    // A distance reaching before the start of the (reset) window.
    expand(inf, {0xf2, 0x00, 0x11, 0x00, 0x00}, true, 1 << 20, Inflater::Status::Corrupt);
    // After corruption the stream was reset and decodes good input.
    EXPECT_EQ(expand(inf, {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, true),
              test::to_bytes("Hello"));
}

TEST(Inflater, RandomGarbageNeverOverrunsTheLimit) {
    for (unsigned seed = 0; seed < 300; ++seed) {
        Bytes junk = random_bytes(1 + seed % 200, seed);
        Inflater inf(15);
        ByteBuffer out;
        auto st = inf.inflate(junk, out, 512, seed % 2);
        if (st == Inflater::Status::Ok) {
            EXPECT_LE(out.size(), 512u);
        } else if (st == Inflater::Status::TooBig) {
            EXPECT_EQ(out.size(), 513u);
        }
    }
}

} // namespace
} // namespace switchboard::ws
