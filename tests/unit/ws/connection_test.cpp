// The sans-I/O WebSocket connection: bytes and time in, frames and transport actions out.
#include "ws/connection.hpp"

#include "support/printers.hpp"

#include "support/bytes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::ws {
namespace {

using namespace std::chrono_literals;
using test::Bytes;
using test::client_frame;
using test::ServerFrame;

class FakeOutput final {
  public:
    Bytes written;
    std::vector<SharedBytes> shared; // every write_shared, in order (also appended to `written`)
    std::size_t buffered_value = 0;
    int ended = 0;
    int aborted = 0;

    void write(std::span<const std::uint8_t> bytes) {
        written.insert(written.end(), bytes.begin(), bytes.end());
    }
    void write_shared(const SharedBytes &bytes) {
        shared.push_back(bytes);
        written.insert(written.end(), bytes.data(), bytes.data() + bytes.size());
    }
    std::size_t buffered() const noexcept { return buffered_value; }
    void end_transport() { ++ended; }
    void abort_transport() { ++aborted; }

    std::vector<ServerFrame> frames() const {
        bool ok = false;
        auto f = test::decode_server_frames(written, &ok);
        EXPECT_TRUE(ok) << "server output must be whole, unmasked frames";
        return f;
    }
};

class RecordingHandler final {
  public:
    struct Msg {
        Opcode op;
        std::string payload;
    };
    std::vector<Msg> messages;
    std::vector<std::pair<std::uint16_t, std::string>> closes;
    Connection *echo_to = nullptr;

    void on_message(Opcode op, std::span<std::uint8_t> payload) {
        messages.push_back({op, std::string(payload.begin(), payload.end())});
        if (echo_to)
            (void)echo_to->send(op, payload);
    }
    void on_closed(std::uint16_t code, std::string_view reason) {
        closes.emplace_back(code, std::string(reason));
    }
};

// Joins the fake transport, the recording handler and the configuration into the one
// interface a Connection talks to.
class TestIo final : public ConnectionIo {
  public:
    TestIo(const ConnectionConfig &cfg, LoopCompression *comp, FakeOutput &out, RecordingHandler &h)
        : cfg_(cfg), comp_(comp), out_(out), h_(h) {}
    void write(std::span<const std::uint8_t> bytes) override { out_.write(bytes); }
    void write_shared(const SharedBytes &bytes) override { out_.write_shared(bytes); }
    std::size_t buffered() const noexcept override { return out_.buffered(); }
    void end_transport() override { out_.end_transport(); }
    void abort_transport() override { out_.abort_transport(); }
    void on_message(Opcode op, std::span<std::uint8_t> payload) override { h_.on_message(op, payload); }
    void on_closed(std::uint16_t code, std::string_view reason) override { h_.on_closed(code, reason); }
    const ConnectionConfig &config() const noexcept override { return cfg_; }
    LoopCompression *compression() noexcept override { return comp_; }

  private:
    const ConnectionConfig &cfg_;
    LoopCompression *comp_;
    FakeOutput &out_;
    RecordingHandler &h_;
};

Bytes close_frame_payload(std::uint16_t code, std::string_view reason = {}) {
    return test::close_payload(code, reason);
}

struct Harness {
    ConnectionConfig cfg;
    FakeOutput out;
    RecordingHandler handler;
    LoopCompression comp;
    TimePoint t0 = TimePoint{} + 1000s;
    TestIo io{cfg, &comp, out, handler};
    std::unique_ptr<Connection> conn;

    explicit Harness(std::optional<DeflateAgreement> deflate = std::nullopt,
                     ConnectionConfig c = {})
        : cfg(c) {
        conn = std::make_unique<Connection>(io, deflate, t0);
    }
    void recv(Bytes b, TimePoint now) { conn->on_bytes(b, now); }
    void recv(Bytes b) { recv(std::move(b), t0); }
};

// ---- Messages -------------------------------------------------------------------------------

TEST(Connection, DeliversMessagesAndEchoes) {
    Harness h;
    h.handler.echo_to = h.conn.get();
    h.recv(client_frame(Opcode::Text, "Hello"));
    h.recv(client_frame(Opcode::Binary, std::string(300, 'b')));
    ASSERT_EQ(h.handler.messages.size(), 2u);
    EXPECT_EQ(h.handler.messages[0].op, Opcode::Text);
    EXPECT_EQ(h.handler.messages[0].payload, "Hello");
    EXPECT_EQ(h.handler.messages[1].payload, std::string(300, 'b'));
    // §5.7: the unmasked "Hello" frame from a server.
    EXPECT_EQ(Bytes(h.out.written.begin(), h.out.written.begin() + 7),
              (Bytes{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_TRUE(frames[1].fin);
    EXPECT_EQ(frames[1].op, Opcode::Binary);
    EXPECT_EQ(frames[1].payload, Bytes(300, 'b'));
    EXPECT_TRUE(h.conn->open());
    EXPECT_EQ(h.out.ended, 0);
}

TEST(Connection, SendFramesLargePayloads) {
    Harness h;
    EXPECT_EQ(h.conn->send(Opcode::Binary, Bytes(70000, 7)), SendResult::Sent);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, Bytes(70000, 7));
    EXPECT_EQ(h.out.written[1], 127) << "64-bit length form";
}

TEST(Connection, FragmentedMessageWithInterleavedPing) {
    Harness h;
    Bytes in = client_frame(Opcode::Text, "Hel", false);
    test::append(in, client_frame(Opcode::Ping, "are you there"));
    test::append(in, client_frame(Opcode::Continuation, "lo", true));
    h.recv(in);
    ASSERT_EQ(h.handler.messages.size(), 1u);
    EXPECT_EQ(h.handler.messages[0].payload, "Hello");
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Pong);
}

// ---- Control frames and the close handshake ---------------------------------------------------

TEST(Connection, PingIsAnsweredWithPongCarryingThePayload) {
    Harness h;
    h.recv(client_frame(Opcode::Ping, "payload-123"));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Pong);
    EXPECT_TRUE(frames[0].fin);
    EXPECT_EQ(test::to_string(frames[0].payload), "payload-123");
    h.recv(client_frame(Opcode::Ping, std::string(125, 'z')));
    frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].payload, Bytes(125, 'z'));
}

TEST(Connection, UnsolicitedPongIsIgnored) {
    Harness h;
    h.recv(client_frame(Opcode::Pong, "x"));
    EXPECT_TRUE(h.out.written.empty());
    EXPECT_TRUE(h.conn->open());
}

TEST(Connection, PeerCloseIsEchoedWithTheSameCode) {
    Harness h;
    h.recv(client_frame(Opcode::Close, close_frame_payload(1000, "bye")));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Close);
    ASSERT_GE(frames[0].payload.size(), 2u);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1000);
    EXPECT_EQ(h.out.ended, 1) << "§7.1.1: the server closes the TCP connection first";
    ASSERT_EQ(h.handler.closes.size(), 1u);
    EXPECT_EQ(h.handler.closes[0].first, 1000);
    EXPECT_EQ(h.handler.closes[0].second, "bye");
    EXPECT_FALSE(h.conn->open());
    EXPECT_EQ(h.conn->send(Opcode::Text, Bytes{'x'}), SendResult::Dropped);
}

TEST(Connection, PeerCloseWithOtherCodesIsEchoed) {
    for (std::uint16_t code : {1001, 1003, 3000, 4999}) {
        Harness h;
        h.recv(client_frame(Opcode::Close, close_frame_payload(code)));
        auto frames = h.out.frames();
        ASSERT_EQ(frames.size(), 1u);
        ASSERT_EQ(frames[0].payload.size(), 2u);
        EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], code);
    }
}

TEST(Connection, EmptyCloseIsAnsweredWithAnEmptyClose) {
    Harness h;
    h.recv(client_frame(Opcode::Close, ""));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Close);
    EXPECT_TRUE(frames[0].payload.empty());
    EXPECT_EQ(h.out.ended, 1);
    ASSERT_EQ(h.handler.closes.size(), 1u);
    EXPECT_EQ(h.handler.closes[0].first, close_code::kNoStatus);
}

TEST(Connection, ServerInitiatedCloseWaitsForThePeer) {
    Harness h;
    h.conn->close(close_code::kGoingAway, "shutting down");
    EXPECT_FALSE(h.conn->open());
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Close);
    EXPECT_EQ(test::to_string(frames[0].payload), std::string("\x03\xe9") + "shutting down");
    EXPECT_EQ(h.out.ended, 0);
    EXPECT_TRUE(h.handler.closes.empty());
    // Data arriving before the peer's close is discarded (§5.5.1); pings are not answered.
    h.recv(client_frame(Opcode::Text, "late"));
    h.recv(client_frame(Opcode::Ping, "late ping"));
    EXPECT_TRUE(h.handler.messages.empty());
    EXPECT_EQ(h.out.frames().size(), 1u);
    // The peer's reply completes the handshake without a second close frame.
    h.recv(client_frame(Opcode::Close, close_frame_payload(1001)));
    EXPECT_EQ(h.out.frames().size(), 1u);
    EXPECT_EQ(h.out.ended, 1);
    ASSERT_EQ(h.handler.closes.size(), 1u);
    EXPECT_EQ(h.handler.closes[0].first, 1001);
    // A second close() is a no-op.
    h.conn->close(1000, "again");
    EXPECT_EQ(h.out.frames().size(), 1u);
}

TEST(Connection, CloseReasonIsTruncatedToFitAControlFrameOnAUtf8Boundary) {
    Harness h;
    std::string reason;
    while (reason.size() < 200)
        reason += "\xe2\x82\xac"; // "€" repeated
    h.conn->close(1000, reason);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_LE(frames[0].payload.size(), kMaxControlPayload);
    std::string got(frames[0].payload.begin() + 2, frames[0].payload.end());
    EXPECT_EQ(got.size() % 3, 0u) << "cut between code points";
    EXPECT_EQ(got, reason.substr(0, got.size()));
    EXPECT_EQ(got.size(), 123u);
}

TEST(Connection, ProtocolErrorSendsCloseWithTheCodeThenEndsTheTransport) {
    struct Case {
        Bytes in;
        std::uint16_t code;
    };
    Bytes unmasked = {0x81, 0x01, 'x'};
    Bytes bad_utf8 = client_frame(Opcode::Text, "\xff");
    Bytes bad_close = client_frame(Opcode::Close, close_frame_payload(1005));
    Bytes rsv = client_frame(Opcode::Text, "x", true, true); // RSV1 without deflate
    for (const auto &c :
         {Case{unmasked, 1002}, Case{bad_utf8, 1007}, Case{bad_close, 1002}, Case{rsv, 1002}}) {
        Harness h;
        h.recv(c.in);
        auto frames = h.out.frames();
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0].op, Opcode::Close);
        ASSERT_GE(frames[0].payload.size(), 2u);
        EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], c.code);
        EXPECT_EQ(h.out.ended, 1);
        EXPECT_EQ(h.out.aborted, 0);
        ASSERT_EQ(h.handler.closes.size(), 1u);
        EXPECT_EQ(h.handler.closes[0].first, c.code);
        EXPECT_FALSE(h.conn->open());
        // Nothing more is processed.
        h.recv(client_frame(Opcode::Ping, "x"));
        EXPECT_EQ(h.out.frames().size(), 1u);
    }
}

TEST(Connection, MessageTooBigIs1009) {
    ConnectionConfig cfg;
    cfg.max_message_size = 10;
    Harness h(std::nullopt, cfg);
    h.recv(client_frame(Opcode::Binary, std::string(11, 'x')));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1009);
}

TEST(Connection, TransportLossReports1006Once) {
    Harness h;
    h.conn->on_transport_closed();
    ASSERT_EQ(h.handler.closes.size(), 1u);
    EXPECT_EQ(h.handler.closes[0].first, 1006);
    h.conn->on_transport_closed();
    EXPECT_EQ(h.handler.closes.size(), 1u);
    EXPECT_TRUE(h.out.written.empty());
}

// ---- Time: keep-alive, idle and close timeouts -------------------------------------------------

TEST(Connection, KeepAlivePingAfterPingInterval) {
    ConnectionConfig cfg;
    cfg.ping_interval = 30s;
    cfg.idle_timeout = 0s;
    Harness h(std::nullopt, cfg);
    h.conn->on_tick(h.t0 + 29s);
    EXPECT_TRUE(h.out.written.empty());
    h.conn->on_tick(h.t0 + 30s);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Ping);
    // One ping outstanding at a time.
    h.conn->on_tick(h.t0 + 31s);
    h.conn->on_tick(h.t0 + 90s);
    EXPECT_EQ(h.out.frames().size(), 1u);
    // The pong resets the clock; the next ping comes a full interval after it.
    h.recv(client_frame(Opcode::Pong, ""), h.t0 + 95s);
    h.conn->on_tick(h.t0 + 124s);
    EXPECT_EQ(h.out.frames().size(), 1u);
    h.conn->on_tick(h.t0 + 125s);
    frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].op, Opcode::Ping);
}

TEST(Connection, TrafficPostponesThePing) {
    ConnectionConfig cfg;
    cfg.ping_interval = 30s;
    Harness h(std::nullopt, cfg);
    h.recv(client_frame(Opcode::Text, "hi"), h.t0 + 20s);
    h.conn->on_tick(h.t0 + 40s);
    EXPECT_TRUE(h.out.written.empty());
    h.conn->on_tick(h.t0 + 50s);
    ASSERT_EQ(h.out.frames().size(), 1u);
}

TEST(Connection, PingIntervalZeroNeverPings) {
    ConnectionConfig cfg;
    cfg.ping_interval = 0s;
    cfg.idle_timeout = 0s;
    Harness h(std::nullopt, cfg);
    h.conn->on_tick(h.t0 + 10000s);
    EXPECT_TRUE(h.out.written.empty());
    EXPECT_TRUE(h.conn->open());
}

TEST(Connection, IdleTimeoutClosesWith1001) {
    ConnectionConfig cfg;
    cfg.ping_interval = 0s;
    cfg.idle_timeout = 120s;
    Harness h(std::nullopt, cfg);
    h.conn->on_tick(h.t0 + 119s);
    EXPECT_TRUE(h.conn->open());
    h.conn->on_tick(h.t0 + 120s);
    EXPECT_FALSE(h.conn->open());
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Close);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1001);
}

TEST(Connection, IdlePeerGetsPingsThenTheIdleClose) {
    ConnectionConfig cfg;
    cfg.ping_interval = 30s;
    cfg.idle_timeout = 120s;
    Harness h(std::nullopt, cfg);
    for (auto s = 1s; s <= 120s; s += 1s)
        h.conn->on_tick(h.t0 + s);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].op, Opcode::Ping);
    EXPECT_EQ(frames[1].op, Opcode::Close);
}

TEST(Connection, CloseTimeoutAbortsTheTransport) {
    ConnectionConfig cfg;
    cfg.close_timeout = 5s;
    cfg.ping_interval = 0s;
    Harness h(std::nullopt, cfg);
    h.conn->close(1000, "");
    h.conn->on_tick(h.t0 + 1s);
    h.conn->on_tick(h.t0 + 5s);
    EXPECT_EQ(h.out.aborted, 0);
    EXPECT_TRUE(h.handler.closes.empty());
    h.conn->on_tick(h.t0 + 6s);
    EXPECT_EQ(h.out.aborted, 1);
    ASSERT_EQ(h.handler.closes.size(), 1u);
    EXPECT_EQ(h.handler.closes[0].first, 1006);
    h.conn->on_tick(h.t0 + 20s);
    EXPECT_EQ(h.out.aborted, 1);
}

// ---- Fan-out and back-pressure --------------------------------------------------------------

TEST(Connection, FramedMessageIsSharedNotCopied) {
    Harness h;
    FramedMessage m = frame_message(Opcode::Text, test::to_bytes("broadcast"), nullptr, 64);
    EXPECT_EQ(test::to_string(m.payload()), "broadcast");
    EXPECT_EQ(h.conn->send(m), SendResult::Sent);
    ASSERT_EQ(h.out.shared.size(), 1u);
    EXPECT_EQ(h.out.shared[0].data(), m.plain.data());
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(test::to_string(frames[0].payload), "broadcast");
}

TEST(Connection, SlowConsumerIsClosedWith1013) {
    ConnectionConfig cfg;
    cfg.max_send_buffer = 1000;
    Harness h(std::nullopt, cfg);
    FramedMessage m = frame_message(Opcode::Binary, Bytes(100, 1), nullptr, 64);
    h.out.buffered_value = 1000;
    EXPECT_EQ(h.conn->send(m), SendResult::Sent) << "at the limit is still fine";
    h.out.buffered_value = 1001;
    EXPECT_EQ(h.conn->send(m), SendResult::Dropped);
    EXPECT_FALSE(h.conn->open());
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1].op, Opcode::Close);
    EXPECT_EQ((frames[1].payload[0] << 8) | frames[1].payload[1], 1013);
    EXPECT_EQ(h.conn->send(m), SendResult::Dropped);
    EXPECT_EQ(h.out.frames().size(), 2u);
}

// ---- permessage-deflate -------------------------------------------------------------------

Bytes inflate_all(const Bytes &z, Inflater &inf, bool reset) {
    ByteBuffer out;
    EXPECT_EQ(inf.inflate(z, out, 1 << 24, reset), Inflater::Status::Ok);
    return Bytes(out.data(), out.data() + out.size());
}

DeflateAgreement agree(const char *offer, CompressionMode mode) {
    DeflateConfig c;
    c.mode = mode;
    auto a = negotiate_deflate(offer, c);
    EXPECT_TRUE(a);
    return *a;
}

Bytes compressible(std::size_t n) {
    Bytes b;
    const std::string s = "switchboard compresses repetitive text well; ";
    while (b.size() < n)
        b.push_back(static_cast<std::uint8_t>(s[b.size() % s.size()]));
    return b;
}

TEST(ConnectionDeflate, SharedModeSendsCompressedFramesAboveTheThreshold) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    EXPECT_TRUE(h.conn->uses_deflate());
    Bytes big = compressible(1000);
    h.conn->send(Opcode::Text, big);
    h.conn->send(Opcode::Text, test::to_bytes("tiny")); // under the 64-byte threshold
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_TRUE(frames[0].rsv1);
    EXPECT_LT(frames[0].payload.size(), big.size());
    Inflater inf(15);
    EXPECT_EQ(inflate_all(frames[0].payload, inf, true), big);
    EXPECT_FALSE(frames[1].rsv1);
    EXPECT_EQ(test::to_string(frames[1].payload), "tiny");
}

TEST(ConnectionDeflate, IncompressibleMessageGoesPlainWithoutContextTakeover) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    Bytes noise(500);
    std::uint32_t x = 1;
    for (auto &c : noise)
        c = static_cast<std::uint8_t>((x = x * 1103515245 + 12345) >> 16);
    h.conn->send(Opcode::Binary, noise);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_FALSE(frames[0].rsv1);
    EXPECT_EQ(frames[0].payload, noise);
}

TEST(ConnectionDeflate, ReceivesCompressedMessages) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    Deflater client(15, 8);
    for (const Bytes &m : {compressible(5000), test::to_bytes("short"), Bytes{}}) {
        ByteBuffer z;
        ASSERT_TRUE(client.deflate(m, z, true));
        h.recv(client_frame(Opcode::Text, z.span(), true, true));
    }
    ASSERT_EQ(h.handler.messages.size(), 3u);
    EXPECT_EQ(h.handler.messages[0].payload, test::to_string(compressible(5000)));
    EXPECT_EQ(h.handler.messages[1].payload, "short");
    EXPECT_EQ(h.handler.messages[2].payload, "");
    EXPECT_TRUE(h.conn->open());
}

TEST(ConnectionDeflate, ReceivesAFragmentedCompressedMessage) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    Deflater client(15, 8);
    Bytes m = compressible(3000);
    ByteBuffer z;
    ASSERT_TRUE(client.deflate(m, z, true));
    Bytes zb(z.data(), z.data() + z.size());
    std::size_t half = zb.size() / 2;
    Bytes in =
        client_frame(Opcode::Text, std::span<const std::uint8_t>(zb.data(), half), false, true);
    test::append(in, client_frame(Opcode::Ping, "p"));
    test::append(in, client_frame(Opcode::Continuation,
                                  std::span<const std::uint8_t>(zb.data() + half, zb.size() - half),
                                  true, false));
    h.recv(in);
    ASSERT_EQ(h.handler.messages.size(), 1u);
    EXPECT_EQ(h.handler.messages[0].payload, test::to_string(m));
}

TEST(ConnectionDeflate, EchoRoundTripThroughCompression) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    h.handler.echo_to = h.conn.get();
    Deflater client(15, 8);
    Bytes m = compressible(2000);
    ByteBuffer z;
    ASSERT_TRUE(client.deflate(m, z, true));
    h.recv(client_frame(Opcode::Text, z.span(), true, true));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(frames[0].rsv1);
    Inflater inf(15);
    EXPECT_EQ(inflate_all(frames[0].payload, inf, true), m);
}

TEST(ConnectionDeflate, DedicatedModeKeepsContextBothWays) {
    Harness h(agree("permessage-deflate", CompressionMode::Dedicated));
    // Sending: the second identical message refers back into the first.
    Bytes m = compressible(2000);
    h.conn->send(Opcode::Text, m);
    h.conn->send(Opcode::Text, m);
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 2u);
    ASSERT_TRUE(frames[0].rsv1 && frames[1].rsv1);
    EXPECT_LT(frames[1].payload.size(), frames[0].payload.size());
    Inflater inf(15);
    EXPECT_EQ(inflate_all(frames[0].payload, inf, false), m);
    EXPECT_EQ(inflate_all(frames[1].payload, inf, false), m);
    // Receiving: the client keeps its window too.
    Deflater client(15, 8);
    for (int i = 0; i < 3; ++i) {
        ByteBuffer z;
        ASSERT_TRUE(client.deflate(m, z, false));
        h.recv(client_frame(Opcode::Binary, z.span(), true, true));
    }
    ASSERT_EQ(h.handler.messages.size(), 3u);
    for (const auto &msg : h.handler.messages)
        EXPECT_EQ(msg.payload, test::to_string(m));
    EXPECT_GT(h.conn->memory_estimate(), sizeof(Connection));
}

TEST(ConnectionDeflate, DedicatedModeEmptyMessageKeepsThePeerInSync) {
    // With --compression-threshold 0 every message is compressed, empty ones too. The empty one
    // must still be a valid deflate payload (0x00), or the client's context-takeover inflater
    // desynchronises (see Deflater.EmptyMessageWithContextTakeoverIsStillASingleZeroByte).
    ConnectionConfig cfg;
    cfg.compression_threshold = 0;
    Harness h(agree("permessage-deflate", CompressionMode::Dedicated), cfg);
    h.conn->send(Opcode::Text, test::to_bytes("hello"));
    h.conn->send(Opcode::Text, Bytes{});
    h.conn->send(Opcode::Text, test::to_bytes("world"));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 3u);
    Inflater client(15);
    std::vector<std::string> got;
    for (const auto &f : frames) {
        ASSERT_TRUE(f.rsv1);
        ByteBuffer out;
        auto st = client.inflate(f.payload, out, 1 << 20, false);
        got.push_back(st == Inflater::Status::Ok ? std::string(out.data(), out.data() + out.size())
                                                 : "<corrupt>");
    }
    EXPECT_EQ(got, (std::vector<std::string>{"hello", "", "world"}));
    EXPECT_FALSE(frames[1].payload.empty()) << "an empty compressed payload is not a deflate block";
}

TEST(ConnectionDeflate, CorruptCompressedDataIs1007) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    h.recv(client_frame(Opcode::Binary, Bytes{0xff, 0xff, 0xff}, true, true));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].op, Opcode::Close);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1007);
    EXPECT_EQ(h.out.ended, 1);
    EXPECT_TRUE(h.handler.messages.empty());
}

TEST(ConnectionDeflate, InvalidUtf8AfterInflationIs1007) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    Deflater client(15, 8);
    ByteBuffer z;
    Bytes bad = {'o', 'k', 0xed, 0xa0, 0x80};
    ASSERT_TRUE(client.deflate(bad, z, true));
    h.recv(client_frame(Opcode::Text, z.span(), true, true));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1007);
}

TEST(ConnectionDeflate, InflatedSizeLimitIs1009) {
    ConnectionConfig cfg;
    cfg.max_message_size = 10000;
    Harness h(agree("permessage-deflate", CompressionMode::Shared), cfg);
    Deflater client(15, 8);
    ByteBuffer z;
    ASSERT_TRUE(client.deflate(Bytes(1 << 20, 'a'), z, true)); // small on the wire, 1 MiB inflated
    ASSERT_LT(z.size(), 10000u);
    h.recv(client_frame(Opcode::Binary, z.span(), true, true));
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1009);
    EXPECT_TRUE(h.handler.messages.empty());
}

TEST(ConnectionDeflate, FramedMessageUsesThePrecompressedFrame) {
    Harness h(agree("permessage-deflate", CompressionMode::Shared));
    Bytes big = compressible(1000);
    FramedMessage m = frame_message(Opcode::Text, big, &h.comp, 64);
    ASSERT_TRUE(m.deflated);
    EXPECT_EQ(h.conn->send(m), SendResult::Sent);
    ASSERT_EQ(h.out.shared.size(), 1u);
    EXPECT_EQ(h.out.shared[0].data(), m.deflated.data());
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_TRUE(frames[0].rsv1);
    Inflater inf(15);
    EXPECT_EQ(inflate_all(frames[0].payload, inf, true), big);
    // A connection without deflate gets the plain frame of the same message.
    Harness plain;
    EXPECT_EQ(plain.conn->send(m), SendResult::Sent);
    EXPECT_EQ(plain.out.shared[0].data(), m.plain.data());
}

TEST(ConnectionDeflate, FramedMessageIsRecompressedForASmallerWindow) {
    Harness h(agree("permessage-deflate; server_max_window_bits=10", CompressionMode::Shared));
    Bytes big = compressible(1000);
    FramedMessage m = frame_message(Opcode::Text, big, &h.comp, 64);
    EXPECT_EQ(h.conn->send(m), SendResult::Sent);
    EXPECT_TRUE(h.out.shared.empty()) << "the 15-bit frame can't be used with a 10-bit window";
    auto frames = h.out.frames();
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_TRUE(frames[0].rsv1);
    Inflater inf(10);
    EXPECT_EQ(inflate_all(frames[0].payload, inf, true), big);
}

TEST(ConnectionDeflate, NoDeflateWithoutLoopCompression) {
    ConnectionConfig cfg;
    FakeOutput out;
    RecordingHandler handler;
    TestIo io(cfg, nullptr, out, handler);
    Connection c(io, agree("permessage-deflate", CompressionMode::Shared), TimePoint{});
    EXPECT_FALSE(c.uses_deflate());
    Bytes in = client_frame(Opcode::Text, "x", true, true);
    c.on_bytes(in, TimePoint{});
    auto frames = test::decode_server_frames(out.written);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ((frames[0].payload[0] << 8) | frames[0].payload[1], 1002)
        << "RSV1 is not allowed then";
}

} // namespace
} // namespace switchboard::ws
