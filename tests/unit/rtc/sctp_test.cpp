#include "rtc/sctp/association.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using namespace switchboard::rtc::sctp;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Two associations joined by an in-memory link; `drop_every` loses every Nth packet.
AssociationOptions big_messages() {
    AssociationOptions o;
    o.remote_max_message_size = 256 * 1024;
    return o;
}

struct Link {
    Association a{true, big_messages()}, b{false, big_messages()};
    std::int64_t now = 1000;
    int counter = 0;
    int drop_every = 0;
    std::vector<Event> ea, eb;
    std::uint32_t rng = 12345;

    // About one packet in `drop_every` is lost, pseudo-randomly (a fixed pattern can starve one packet).
    bool lose() {
        if (!drop_every) return false;
        rng = rng * 1103515245u + 12345u;
        return (rng >> 16) % static_cast<std::uint32_t>(drop_every) == 0;
    }

    // Moves packets both ways until `done` holds or `max_ms` of real time passed (usrsctp's
    // timers run on their own thread, in real time).
    void pump_until(const std::function<bool()>& done, int max_ms) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
        while (!done() && std::chrono::steady_clock::now() < end) pump(50);
    }
    void pump(int rounds = 200) {
        for (int i = 0; i < rounds; ++i) {
            bool any = false;
            std::vector<std::uint8_t> p;
            while (a.poll_transmit(p)) {
                any = true;
                if (!lose()) b.on_packet(p);
            }
            while (b.poll_transmit(p)) {
                any = true;
                if (!lose()) a.on_packet(p);
            }
            Event e;
            while (a.poll_event(e)) ea.push_back(std::move(e));
            while (b.poll_event(e)) eb.push_back(std::move(e));
            if (!any) {
                now += 1;
                a.on_timer(now);
                b.on_timer(now);
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        }
    }
    void connect() {
        a.connect();
        b.connect();
        pump();
    }
    static std::vector<Event> of(std::vector<Event>& v, Event::Kind k) {
        std::vector<Event> out;
        for (auto& e : v)
            if (e.kind == k) out.push_back(e);
        return out;
    }
};

} // namespace

TEST(SctpDcep, OpenRoundTrip) {
    ChannelOptions o;
    o.ordered = false;
    o.reliability = Reliability::Rexmit;
    o.param = 0;
    o.label = "chat";
    o.protocol = "json";
    std::vector<std::uint8_t> m;
    encode_open(o, m);
    ASSERT_EQ(m.size(), 12u + 4 + 4);
    EXPECT_EQ(m[1], 0x81);
    auto v = parse_open(m);
    ASSERT_TRUE(v.has_value());
    EXPECT_FALSE(v->ordered);
    EXPECT_EQ(v->reliability, Reliability::Rexmit);
    EXPECT_EQ(v->label, "chat");
    EXPECT_EQ(v->protocol, "json");
    m[1] = 0x05; // an unknown channel type
    EXPECT_FALSE(parse_open(m).has_value());
    m[1] = 0x00;
    m[9] = 200; // a label longer than the message
    EXPECT_FALSE(parse_open(m).has_value());
    EXPECT_FALSE(parse_open(std::vector<std::uint8_t>{kDcepAck}).has_value());
}

TEST(SctpAssociation, ConnectsOpensChannelsAndCarriesMessages) {
    Link l;
    l.connect();
    ASSERT_TRUE(l.a.connected());
    ASSERT_TRUE(l.b.connected());
    ChannelOptions o;
    o.label = "files";
    o.protocol = "x";
    const int id = l.a.open_channel(o);
    ASSERT_EQ(id, 0); // the DTLS client opens even ids
    l.pump();
    auto opened_b = Link::of(l.eb, Event::Kind::ChannelOpen);
    auto opened_a = Link::of(l.ea, Event::Kind::ChannelOpen);
    ASSERT_EQ(opened_b.size(), 1u);
    ASSERT_EQ(opened_a.size(), 1u);
    const Channel* cb = l.b.channel(0);
    ASSERT_NE(cb, nullptr);
    EXPECT_EQ(cb->options.label, "files");
    EXPECT_EQ(cb->options.protocol, "x");

    ASSERT_TRUE(l.a.send(0, bytes("hello"), false));
    ASSERT_TRUE(l.a.send(0, {}, true));
    std::vector<std::uint8_t> big(200 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
    ASSERT_TRUE(l.a.send(0, big, true));
    ASSERT_TRUE(l.b.send(0, bytes("back"), false));
    l.pump();
    auto got = Link::of(l.eb, Event::Kind::Message);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].data, bytes("hello"));
    EXPECT_FALSE(got[0].binary);
    EXPECT_TRUE(got[1].data.empty());
    EXPECT_TRUE(got[1].binary);
    EXPECT_EQ(got[2].data, big);
    auto back = Link::of(l.ea, Event::Kind::Message);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].data, bytes("back"));

    const int id2 = l.b.open_channel(ChannelOptions{});
    EXPECT_EQ(id2, 1); // the DTLS server opens odd ids
}

TEST(SctpAssociation, TooLargeForThePeerIsRefused) {
    Link l;
    l.connect();
    l.a.open_channel(ChannelOptions{});
    l.pump();
    EXPECT_FALSE(l.a.send(0, std::vector<std::uint8_t>(256 * 1024 + 1), true)); // beyond the peer's a=max-message-size
    EXPECT_FALSE(l.a.send(9, bytes("x"), false)); // no such channel
}

TEST(SctpAssociation, ReliableDeliveryOverALossyLinkWithFlowControl) {
    Link l;
    l.connect();
    l.a.open_channel(ChannelOptions{});
    l.pump();
    l.drop_every = 50; // 2 % of packets lost, both ways
    std::vector<std::uint8_t> chunk(16 * 1024, 0x42);
    std::size_t queued = 0;
    for (int i = 0; i < 256; ++i) {
        chunk[0] = static_cast<std::uint8_t>(i);
        ASSERT_TRUE(l.a.send(0, chunk, true));
        queued += chunk.size();
    }
    EXPECT_GT(l.a.buffered_amount(0), 0u);
    l.pump_until([&] { return Link::of(l.eb, Event::Kind::Message).size() == 256; }, 30000);
    auto got = Link::of(l.eb, Event::Kind::Message);
    std::string seen;
    for (auto& g : got) seen += std::to_string(g.data[0]) + ",";
    ASSERT_EQ(got.size(), 256u) << seen;
    for (int i = 0; i < 256; ++i) EXPECT_EQ(got[i].data[0], static_cast<std::uint8_t>(i));
    EXPECT_EQ(l.a.buffered_amount(0), 0u);
    EXPECT_FALSE(Link::of(l.ea, Event::Kind::BufferedAmountLow).empty());
}

TEST(SctpAssociation, UnorderedWithoutRetransmissionsLosesButNeverBlocks) {
    Link l;
    l.connect();
    ChannelOptions o;
    o.ordered = false;
    o.reliability = Reliability::Rexmit;
    o.param = 0;
    l.a.open_channel(o);
    l.pump();
    ASSERT_EQ(l.b.channel(0)->options.reliability, Reliability::Rexmit);
    EXPECT_FALSE(l.b.channel(0)->options.ordered);
    l.drop_every = 5;
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(l.a.send(0, std::vector<std::uint8_t>(100, static_cast<std::uint8_t>(i)), true));
    l.pump(2000);
    auto got = Link::of(l.eb, Event::Kind::Message);
    EXPECT_GT(got.size(), 50u);
    EXPECT_LE(got.size(), 100u);
}

TEST(SctpAssociation, ClosingAChannelClosesItOnBothSides) {
    Link l;
    l.connect();
    l.a.open_channel(ChannelOptions{});
    l.pump();
    ASSERT_TRUE(l.a.send(0, bytes("last words"), false));
    l.a.close_channel(0);
    l.pump();
    auto got = Link::of(l.eb, Event::Kind::Message);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(Link::of(l.eb, Event::Kind::ChannelClosed).size(), 1u);
    EXPECT_EQ(Link::of(l.ea, Event::Kind::ChannelClosed).size(), 1u);
    EXPECT_EQ(l.a.channel(0), nullptr);
    EXPECT_FALSE(l.a.send(0, bytes("x"), false));
}

TEST(SctpAssociation, AbortIsSeenByThePeer) {
    Link l;
    l.connect();
    l.a.close();
    l.pump_until([&] { return l.b.closed(); }, 5000);
    EXPECT_TRUE(l.a.closed());
    EXPECT_TRUE(l.b.closed());
    EXPECT_EQ(Link::of(l.eb, Event::Kind::Closed).size(), 1u);
}

TEST(SctpAssociation, GarbageIsIgnored) {
    Association a(true);
    a.connect();
    std::vector<std::uint8_t> junk(100, 0xab);
    a.on_packet(junk);
    a.on_packet(std::vector<std::uint8_t>{0x13, 0x88, 0x13, 0x88});
    EXPECT_FALSE(a.connected());
}
