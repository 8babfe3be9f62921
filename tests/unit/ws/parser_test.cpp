// The server's streaming frame parser against RFC 6455 §5 (framing), §5.4-5.5 (fragmentation and
// control frames), §7.4 (close codes), §8.1 (UTF-8, fail fast) and RFC 7692 §6.1 (RSV1).
#include "ws/parser.hpp"

#include "support/printers.hpp"

#include "support/bytes.hpp"
#include "support/recording_sink.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace switchboard::ws {
namespace {

using test::Bytes;
using test::client_frame;
using test::closed;
using test::control;
using test::error;
using test::Event;
using test::message;
using test::to_bytes;

std::vector<Event> run(Bytes bytes, ParserLimits limits = {}) {
    Parser p(limits);
    test::RecordingSink sink;
    p.feed(bytes, sink);
    return sink.events;
}

// Feeds `bytes` in pieces of the given sizes (the last piece takes the rest).
std::vector<Event> run_chunked(Bytes bytes, const std::vector<std::size_t> &sizes,
                               ParserLimits limits = {}) {
    Parser p(limits);
    test::RecordingSink sink;
    std::size_t at = 0;
    for (std::size_t s : sizes) {
        std::size_t n = std::min(s, bytes.size() - at);
        p.feed({bytes.data() + at, n}, sink);
        at += n;
    }
    p.feed({bytes.data() + at, bytes.size() - at}, sink);
    return sink.events;
}

Bytes raw(std::initializer_list<std::uint8_t> b) { return Bytes(b); }

// A masked frame with an explicit header byte 0 and a chosen (maybe non-minimal) length form.
Bytes frame_with_length_form(std::uint8_t b0, std::uint64_t len, int form /*7, 16, 64*/) {
    Bytes out = {b0};
    if (form == 7)
        out.push_back(static_cast<std::uint8_t>(0x80 | len));
    else if (form == 16) {
        out.push_back(0x80 | 126);
        out.push_back(static_cast<std::uint8_t>(len >> 8));
        out.push_back(static_cast<std::uint8_t>(len));
    } else {
        out.push_back(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
    }
    for (auto k : test::kMask)
        out.push_back(k);
    return out;
}

Bytes with_payload(Bytes header, std::size_t n, std::uint8_t fill = 'x') {
    // Payload bytes that unmask to `fill`.
    for (std::size_t i = 0; i < n; ++i)
        header.push_back(static_cast<std::uint8_t>(fill ^ test::kMask[i & 3]));
    return header;
}

std::uint16_t first_error(const std::vector<Event> &ev) {
    for (const auto &e : ev)
        if (e.kind == Event::Kind::Error)
            return e.code;
    return 0;
}

// ---- Well-formed input ---------------------------------------------------------------------

TEST(Parser, RfcSingleFrameMaskedText) {
    // §5.7: a single-frame masked text message containing "Hello".
    EXPECT_EQ(run(raw({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})),
              (std::vector<Event>{message(Opcode::Text, "Hello")}));
}

TEST(Parser, EmptyTextAndBinaryMessages) {
    Bytes in = client_frame(Opcode::Text, "");
    test::append(in, client_frame(Opcode::Binary, ""));
    EXPECT_EQ(run(in),
              (std::vector<Event>{message(Opcode::Text, ""), message(Opcode::Binary, "")}));
}

TEST(Parser, LengthEncodings) {
    for (std::size_t n : {125u, 126u, 127u, 65535u, 65536u, 70000u}) {
        std::string payload(n, 'a');
        for (std::size_t i = 0; i < n; ++i)
            payload[i] = static_cast<char>('a' + i % 26);
        auto ev = run(client_frame(Opcode::Binary, payload));
        ASSERT_EQ(ev.size(), 1u) << n;
        EXPECT_EQ(ev[0], message(Opcode::Binary, payload)) << n;
    }
}

TEST(Parser, BackToBackMessagesInOneRead) {
    Bytes in = client_frame(Opcode::Text, "one");
    test::append(in, client_frame(Opcode::Binary, "two"));
    test::append(in, client_frame(Opcode::Text, "three"));
    EXPECT_EQ(run(in),
              (std::vector<Event>{message(Opcode::Text, "one"), message(Opcode::Binary, "two"),
                                  message(Opcode::Text, "three")}));
}

TEST(Parser, RfcFragmentedText) {
    // §5.7: "Hel" then "lo" as two fragments.
    Bytes in = client_frame(Opcode::Text, "Hel", false);
    test::append(in, client_frame(Opcode::Continuation, "lo", true));
    EXPECT_EQ(run(in), (std::vector<Event>{message(Opcode::Text, "Hello")}));
}

TEST(Parser, ManyFragmentsIncludingEmptyOnes) {
    Bytes in = client_frame(Opcode::Binary, "", false);
    test::append(in, client_frame(Opcode::Continuation, "a", false));
    test::append(in, client_frame(Opcode::Continuation, "", false));
    test::append(in, client_frame(Opcode::Continuation, "bc", false));
    test::append(in, client_frame(Opcode::Continuation, "", true));
    EXPECT_EQ(run(in), (std::vector<Event>{message(Opcode::Binary, "abc")}));
}

TEST(Parser, ControlFramesInterleavedWithFragments) {
    // §5.4: control frames MAY be injected in the middle of a fragmented message.
    Bytes in = client_frame(Opcode::Text, "frag1-", false);
    test::append(in, client_frame(Opcode::Ping, "p1"));
    test::append(in, client_frame(Opcode::Continuation, "frag2-", false));
    test::append(in, client_frame(Opcode::Pong, "p2"));
    test::append(in, client_frame(Opcode::Ping, ""));
    test::append(in, client_frame(Opcode::Continuation, "frag3", true));
    EXPECT_EQ(run(in), (std::vector<Event>{control(Opcode::Ping, "p1"), control(Opcode::Pong, "p2"),
                                           control(Opcode::Ping, ""),
                                           message(Opcode::Text, "frag1-frag2-frag3")}));
}

TEST(Parser, ControlFramePayloadUpTo125) {
    std::string p125(125, 'q');
    EXPECT_EQ(run(client_frame(Opcode::Ping, p125)),
              (std::vector<Event>{control(Opcode::Ping, p125)}));
    EXPECT_EQ(run(client_frame(Opcode::Pong, p125)),
              (std::vector<Event>{control(Opcode::Pong, p125)}));
}

TEST(Parser, CloseWithCodeAndReason) {
    Bytes p = test::close_payload(1000, "bye");
    EXPECT_EQ(run(client_frame(Opcode::Close, p)), (std::vector<Event>{closed(1000, "bye")}));
}

TEST(Parser, EmptyCloseMeansNoStatus) {
    EXPECT_EQ(run(client_frame(Opcode::Close, "")),
              (std::vector<Event>{closed(close_code::kNoStatus)}));
}

TEST(Parser, CloseReasonUpTo123Bytes) {
    std::string reason(123, 'r');
    Bytes p = test::close_payload(4000, reason);
    EXPECT_EQ(run(client_frame(Opcode::Close, p)), (std::vector<Event>{closed(4000, reason)}));
}

TEST(Parser, NothingAfterClose) {
    Bytes in = client_frame(Opcode::Close, test::close_payload(1001));
    test::append(in, client_frame(Opcode::Text, "ignored"));
    Parser p;
    test::RecordingSink sink;
    p.feed(in, sink);
    EXPECT_TRUE(p.stopped());
    Bytes more = client_frame(Opcode::Text, "also ignored");
    p.feed(more, sink);
    EXPECT_EQ(sink.events, (std::vector<Event>{closed(1001)}));
}

TEST(Parser, ValidCloseCodesAccepted) {
    for (std::uint16_t c :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
        EXPECT_EQ(run(client_frame(Opcode::Close, test::close_payload(c))),
                  (std::vector<Event>{closed(c)}))
            << c;
    }
}

TEST(Parser, Utf8ValidAcrossFragmentBoundaries) {
    // "κόσμε" split inside code points (Autobahn 6.2.x).
    const Bytes text = {0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5};
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
        Bytes in =
            client_frame(Opcode::Text, std::span<const std::uint8_t>(text.data(), cut), false);
        test::append(
            in, client_frame(Opcode::Continuation,
                             std::span<const std::uint8_t>(text.data() + cut, text.size() - cut)));
        EXPECT_EQ(run(in), (std::vector<Event>{message(Opcode::Text, test::to_string(text))}))
            << cut;
    }
}

TEST(Parser, BinaryIsNotUtf8Checked) {
    Bytes bad = {0xFF, 0xFE, 0xED, 0xA0, 0x80};
    EXPECT_EQ(run(client_frame(Opcode::Binary, bad)),
              (std::vector<Event>{message(Opcode::Binary, test::to_string(bad))}));
}

TEST(Parser, Rsv1AllowedWhenDeflateNegotiated) {
    ParserLimits l;
    l.allow_rsv1 = true;
    Bytes in =
        client_frame(Opcode::Text, "\xf2\x48", false, true); // compressed bytes: not UTF-8 checked
    test::append(in, client_frame(Opcode::Continuation, "\xcd\xc9", true, false));
    test::append(in, client_frame(Opcode::Binary, "plain"));
    EXPECT_EQ(run(in, l), (std::vector<Event>{message(Opcode::Text, "\xf2\x48\xcd\xc9", true),
                                              message(Opcode::Binary, "plain", false)}));
}

TEST(Parser, BufferedReportsAPendingFragmentedMessage) {
    Parser p;
    test::RecordingSink sink;
    Bytes a = client_frame(Opcode::Binary, std::string(1000, 'a'), false);
    p.feed(a, sink);
    EXPECT_EQ(p.buffered(), 1000u);
    Bytes b = client_frame(Opcode::Continuation, "b", true);
    p.feed(b, sink);
    EXPECT_EQ(p.buffered(), 0u);
    ASSERT_EQ(sink.events.size(), 1u);
    EXPECT_EQ(sink.events[0].payload.size(), 1001u);
    p.release_memory();
    Bytes c = client_frame(Opcode::Text, "after release", false);
    test::append(c, client_frame(Opcode::Continuation, "!"));
    p.feed(c, sink);
    EXPECT_EQ(sink.events.back(), message(Opcode::Text, "after release!"));
}

// ---- Protocol errors, each with its close code ---------------------------------------------

TEST(ParserErrors, UnmaskedClientFrameIs1002) {
    // §5.1: a server MUST close the connection upon receiving an unmasked frame.
    EXPECT_EQ(run(raw({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'})), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(raw({0x89, 0x00})), (std::vector<Event>{error(1002)}));
}

TEST(ParserErrors, ReservedBits) {
    for (std::uint8_t rsv : {0x40, 0x20, 0x10, 0x70}) {
        Bytes in = client_frame(Opcode::Text, "x");
        in[0] |= rsv;
        EXPECT_EQ(run(in), (std::vector<Event>{error(1002)})) << std::hex << int(rsv);
    }
    // RSV2/RSV3 stay errors with deflate negotiated; RSV1 on control and continuation too.
    ParserLimits l;
    l.allow_rsv1 = true;
    for (std::uint8_t rsv : {0x20, 0x10}) {
        Bytes in = client_frame(Opcode::Text, "x");
        in[0] |= rsv;
        EXPECT_EQ(run(in, l), (std::vector<Event>{error(1002)}));
    }
    EXPECT_EQ(run(client_frame(Opcode::Ping, "x", true, true), l),
              (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Close, "", true, true), l),
              (std::vector<Event>{error(1002)}));
    Bytes in = client_frame(Opcode::Text, "a", false, true);
    test::append(in, client_frame(Opcode::Continuation, "b", true, true));
    EXPECT_EQ(run(in, l), (std::vector<Event>{error(1002)}))
        << "RFC 7692 §6.1: RSV1 only on the first frame";
}

TEST(ParserErrors, ReservedOpcodes) {
    for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        Bytes in = client_frame(Opcode::Binary, "x");
        in[0] = static_cast<std::uint8_t>(0x80 | op);
        EXPECT_EQ(run(in), (std::vector<Event>{error(1002)})) << int(op);
    }
}

TEST(ParserErrors, ControlFrameOver125Bytes) {
    std::string p126(126, 'x');
    EXPECT_EQ(run(client_frame(Opcode::Ping, p126)), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Pong, p126)), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Close, p126)), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(frame_with_length_form(0x89, 70000, 64)), (std::vector<Event>{error(1002)}));
}

TEST(ParserErrors, FragmentedControlFrame) {
    EXPECT_EQ(run(client_frame(Opcode::Ping, "x", false)), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Pong, "", false)), (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Close, "", false)), (std::vector<Event>{error(1002)}));
}

TEST(ParserErrors, ContinuationWithoutAMessage) {
    EXPECT_EQ(run(client_frame(Opcode::Continuation, "x", true)),
              (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(client_frame(Opcode::Continuation, "x", false)),
              (std::vector<Event>{error(1002)}));
    // ...also right after a complete message.
    Bytes in = client_frame(Opcode::Text, "a");
    test::append(in, client_frame(Opcode::Continuation, "b"));
    EXPECT_EQ(run(in), (std::vector<Event>{message(Opcode::Text, "a"), error(1002)}));
}

TEST(ParserErrors, DataFrameInsideAFragmentedMessage) {
    for (Opcode op : {Opcode::Text, Opcode::Binary}) {
        Bytes in = client_frame(Opcode::Text, "a", false);
        test::append(in, client_frame(op, "b", true));
        EXPECT_EQ(run(in), (std::vector<Event>{error(1002)}));
    }
}

TEST(ParserErrors, InvalidUtf8InASingleFrame) {
    EXPECT_EQ(
        run(client_frame(Opcode::Text, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                                       "edited")),
        (std::vector<Event>{error(1007)}));
    EXPECT_EQ(run(client_frame(Opcode::Text, "ends mid sequence \xe2\x82")),
              (std::vector<Event>{error(1007)}));
    EXPECT_EQ(run(client_frame(Opcode::Text, "\xc0\xaf")), (std::vector<Event>{error(1007)}));
}

TEST(ParserErrors, InvalidUtf8SplitAcrossFragments) {
    // A surrogate whose bytes sit in two fragments.
    Bytes in = client_frame(Opcode::Text, "ok \xed", false);
    test::append(in, client_frame(Opcode::Continuation, "\xa0\x80 rest", true));
    EXPECT_EQ(run(in), (std::vector<Event>{error(1007)}));
    // A message whose last fragment ends inside a code point.
    Bytes in2 = client_frame(Opcode::Text, "abc", false);
    test::append(in2, client_frame(Opcode::Continuation, "\xf0\x9f\x98", true));
    EXPECT_EQ(run(in2), (std::vector<Event>{error(1007)}));
}

TEST(ParserErrors, InvalidUtf8FailsFastBeforeTheMessageEnds) {
    // §8.1 / Autobahn 6.4: fail as soon as the text can no longer be valid, without waiting for
    // the rest of the frame or the final fragment.
    Parser p;
    test::RecordingSink sink;
    Bytes first = client_frame(Opcode::Text, "valid so far \xf4\x90 and then", false);
    p.feed(first, sink);
    EXPECT_EQ(sink.events, (std::vector<Event>{error(1007)}));
    EXPECT_TRUE(p.stopped());

    // Within one frame whose payload has not all arrived yet.
    Parser p2;
    test::RecordingSink sink2;
    std::string payload = "abc\xff" + std::string(1000, 'z');
    Bytes frame = client_frame(Opcode::Text, payload);
    std::size_t head = frame.size() - payload.size();
    p2.feed({frame.data(), head + 10}, sink2);
    EXPECT_EQ(sink2.events, (std::vector<Event>{error(1007)}));
}

TEST(ParserErrors, InvalidUtf8InControlFramesIsNotCheckedExceptCloseReason) {
    EXPECT_EQ(run(client_frame(Opcode::Ping, "\xff")),
              (std::vector<Event>{control(Opcode::Ping, "\xff")}));
    Bytes p = test::close_payload(1000, "\xce\xba\xff");
    EXPECT_EQ(run(client_frame(Opcode::Close, p)), (std::vector<Event>{error(1007)}));
}

TEST(ParserErrors, ClosePayloadOfOneByte) {
    EXPECT_EQ(run(client_frame(Opcode::Close, "\x03")), (std::vector<Event>{error(1002)}));
}

TEST(ParserErrors, InvalidCloseCodes) {
    for (std::uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        EXPECT_EQ(run(client_frame(Opcode::Close, test::close_payload(c))),
                  (std::vector<Event>{error(1002)}))
            << c;
    }
}

TEST(ParserErrors, MaxMessageSizeSingleFrame) {
    ParserLimits l;
    l.max_message_size = 100;
    EXPECT_EQ(run(client_frame(Opcode::Binary, std::string(100, 'a')), l),
              (std::vector<Event>{message(Opcode::Binary, std::string(100, 'a'))}));
    EXPECT_EQ(run(client_frame(Opcode::Binary, std::string(101, 'a')), l),
              (std::vector<Event>{error(1009)}));
    // Refused from the header alone, before the payload arrives.
    Parser p(l);
    test::RecordingSink sink;
    Bytes hdr = frame_with_length_form(0x82, UINT64_C(1) << 40, 64);
    p.feed(hdr, sink);
    EXPECT_EQ(sink.events, (std::vector<Event>{error(1009)}));
}

TEST(ParserErrors, MaxMessageSizeAcrossFragments) {
    ParserLimits l;
    l.max_message_size = 100;
    Bytes ok = client_frame(Opcode::Text, std::string(60, 'a'), false);
    test::append(ok, client_frame(Opcode::Continuation, std::string(40, 'b')));
    EXPECT_EQ(run(ok, l), (std::vector<Event>{
                              message(Opcode::Text, std::string(60, 'a') + std::string(40, 'b'))}));
    Bytes bad = client_frame(Opcode::Text, std::string(60, 'a'), false);
    test::append(bad, client_frame(Opcode::Continuation, std::string(40, 'b'), false));
    test::append(bad, client_frame(Opcode::Continuation, "c"));
    EXPECT_EQ(run(bad, l), (std::vector<Event>{error(1009)}));
    // Control frames between fragments don't count toward the message.
    Bytes ctl = client_frame(Opcode::Text, std::string(60, 'a'), false);
    test::append(ctl, client_frame(Opcode::Ping, std::string(100, 'p')));
    test::append(ctl, client_frame(Opcode::Continuation, std::string(40, 'b')));
    EXPECT_EQ(run(ctl, l).back(),
              message(Opcode::Text, std::string(60, 'a') + std::string(40, 'b')));
}

TEST(ParserErrors, NonMinimalLengthEncodings) {
    // §5.2: "the minimal number of bytes MUST be used to encode the length".
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 125, 16), 125)),
              (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 0, 16), 0)),
              (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 65535, 64), 65535)),
              (std::vector<Event>{error(1002)}));
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 5, 64), 5)),
              (std::vector<Event>{error(1002)}));
    // ...and the minimal forms at the boundaries are fine.
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 126, 16), 126)).size(), 1u);
    EXPECT_EQ(run(with_payload(frame_with_length_form(0x82, 65536, 64), 65536)).size(), 1u);
    EXPECT_EQ(first_error(run(with_payload(frame_with_length_form(0x82, 126, 16), 126))), 0);
}

TEST(ParserErrors, SixtyFourBitLengthWithTopBitSet) {
    EXPECT_EQ(run(frame_with_length_form(0x82, UINT64_C(1) << 63, 64)),
              (std::vector<Event>{error(1002)}));
}

TEST(ParserErrors, InputAfterAnErrorIsIgnored) {
    Bytes in = raw({0x81, 0x00}); // unmasked
    test::append(in, client_frame(Opcode::Text, "never"));
    Parser p;
    test::RecordingSink sink;
    p.feed(in, sink);
    Bytes more = client_frame(Opcode::Text, "still never");
    p.feed(more, sink);
    EXPECT_EQ(sink.events, (std::vector<Event>{error(1002)}));
    EXPECT_TRUE(p.stopped());
}

// ---- Chunking: any split of the stream gives the same events (uWS makeChunked) ---------------

Bytes mixed_stream() {
    Bytes in;
    test::append(in, client_frame(Opcode::Text, "Hello"));
    test::append(in, client_frame(Opcode::Binary, std::string(130, 'b'))); // 16-bit length
    test::append(in, client_frame(Opcode::Text, "frag \xce\xba\xe1", false));
    test::append(in, client_frame(Opcode::Ping, "ping!"));
    test::append(in, client_frame(Opcode::Continuation, "\xbd\xb9 middle", false));
    test::append(in, client_frame(Opcode::Pong, ""));
    test::append(in, client_frame(Opcode::Continuation, " end", true));
    test::append(in, client_frame(Opcode::Text, ""));
    test::append(in, client_frame(Opcode::Ping, std::string(125, 'P')));
    test::append(in, client_frame(Opcode::Binary, "", false));
    test::append(in, client_frame(Opcode::Continuation, "x", true));
    test::append(in, client_frame(Opcode::Close, test::close_payload(1000, "done")));
    return in;
}

TEST(ParserChunking, EverySingleSplitPointGivesIdenticalEvents) {
    const Bytes in = mixed_stream();
    const auto expected = run(in);
    ASSERT_EQ(expected.size(), 9u);
    EXPECT_EQ(expected.back(), closed(1000, "done"));
    for (std::size_t cut = 0; cut <= in.size(); ++cut)
        ASSERT_EQ(run_chunked(in, {cut}), expected) << "cut at " << cut;
}

TEST(ParserChunking, EveryPairOfSplitPoints) {
    Bytes in = client_frame(Opcode::Text, "ab\xc3\xa9", false);
    test::append(in, client_frame(Opcode::Ping, "pp"));
    test::append(in, client_frame(Opcode::Continuation, "cd", true));
    test::append(in, client_frame(Opcode::Binary, std::string(126, 'z')));
    const auto expected = run(in);
    ASSERT_EQ(expected.size(), 3u);
    for (std::size_t a = 0; a <= in.size(); ++a)
        for (std::size_t b = 0; a + b <= in.size(); ++b)
            ASSERT_EQ(run_chunked(in, {a, b}), expected) << a << "," << b;
}

TEST(ParserChunking, ByteByByte) {
    const Bytes in = mixed_stream();
    EXPECT_EQ(run_chunked(in, std::vector<std::size_t>(in.size(), 1)), run(in));
}

TEST(ParserChunking, RandomChunkSizes) {
    Bytes in = mixed_stream();
    // A 64-bit-length frame too.
    Bytes big = client_frame(Opcode::Binary, std::string(70000, 'B'));
    in.insert(in.begin(), big.begin(), big.end());
    const auto expected = run(in);
    std::mt19937 rng(12345);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::size_t> sizes;
        std::size_t total = 0;
        while (total < in.size()) {
            std::size_t s = rng() % 3 == 0 ? rng() % 4 : rng() % 3000;
            sizes.push_back(s);
            total += s;
        }
        ASSERT_EQ(run_chunked(in, sizes), expected) << "round " << round;
    }
}

TEST(ParserChunking, ErrorsAreTheSameAtEverySplit) {
    std::vector<Bytes> streams;
    {
        Bytes s = client_frame(Opcode::Text, "good");
        test::append(s, client_frame(Opcode::Text, "bad \xed\xa0\x80 text"));
        streams.push_back(s);
    }
    {
        Bytes s = client_frame(Opcode::Text, "ends in a lead byte \xe2", true);
        streams.push_back(s);
    }
    {
        Bytes s = client_frame(Opcode::Text, "a", false);
        test::append(s, client_frame(Opcode::Ping, "p"));
        test::append(s, client_frame(Opcode::Continuation, "\xf0\x9f", false));
        test::append(s, client_frame(Opcode::Continuation, "\x98", true)); // ends inside U+1F600
        streams.push_back(s);
    }
    {
        Bytes s = client_frame(Opcode::Binary, "fine");
        test::append(s, with_payload(frame_with_length_form(0x82, 100, 16), 100)); // non-minimal
        streams.push_back(s);
    }
    {
        Bytes s = client_frame(Opcode::Ping, "x");
        test::append(s, client_frame(Opcode::Close, "\x03"));
        streams.push_back(s);
    }
    for (std::size_t i = 0; i < streams.size(); ++i) {
        const auto expected = run(streams[i]);
        ASSERT_NE(first_error(expected), 0) << "stream " << i;
        for (std::size_t cut = 0; cut <= streams[i].size(); ++cut)
            ASSERT_EQ(run_chunked(streams[i], {cut}), expected) << "stream " << i << " cut " << cut;
        EXPECT_EQ(run_chunked(streams[i], std::vector<std::size_t>(streams[i].size(), 1)), expected)
            << i;
    }
}

TEST(ParserChunking, MaxSizeLimitAtEverySplit) {
    ParserLimits l;
    l.max_message_size = 10;
    Bytes in = client_frame(Opcode::Binary, "12345", false);
    test::append(in, client_frame(Opcode::Continuation, "678901", true));
    const auto expected = run(in, l);
    ASSERT_EQ(expected, (std::vector<Event>{error(1009)}));
    for (std::size_t cut = 0; cut <= in.size(); ++cut)
        ASSERT_EQ(run_chunked(in, {cut}, l), expected) << cut;
}

} // namespace
} // namespace switchboard::ws
