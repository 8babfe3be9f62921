#include "rtc/peer/peer_connection.hpp"
#include "rtc/sdp/sdp.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>

using namespace switchboard;
using namespace switchboard::rtc;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Two peers on an in-memory network; DTLS and SCTP keep real time, so this runs in real time.
struct Pair {
    PeerConnection a, b;
    ice::Address aa = *ice::Address::parse("10.0.0.1:1000"), ba = *ice::Address::parse("10.0.0.2:2000");
    std::vector<PeerEvent> ea, eb;
    // b's DTLS overtakes its STUN on the way to a, as when the controlled peer starts its
    // handshake before the controlling side has seen its nomination succeed.
    bool dtls_first_to_a = false;
    int client_hellos_from_b = 0;

    Pair() : a(PeerOptions{}, 1), b(PeerOptions{}, 2) {}

    static bool is_client_hello(const std::vector<std::uint8_t>& d) {
        return d.size() > 13 && d[0] == 22 && d[13] == 1; // handshake record, ClientHello
    }
    void step() {
        const std::int64_t now = now_ms();
        for (int i = 0; i < 8; ++i) {
            ice::Transmit t;
            while (a.poll_transmit(t))
                if (t.remote == ba) b.on_datagram(ba, t.local, t.data, now);
            std::vector<ice::Transmit> to_a;
            while (b.poll_transmit(t))
                if (t.remote == aa) to_a.push_back(std::move(t));
            if (dtls_first_to_a)
                std::stable_partition(to_a.begin(), to_a.end(), [](const ice::Transmit& x) { return !x.data.empty() && x.data[0] >= 20 && x.data[0] <= 63; });
            for (const auto& x : to_a) {
                client_hellos_from_b += is_client_hello(x.data);
                a.on_datagram(aa, x.local, x.data, now);
            }
        }
        PeerEvent e;
        while (a.poll_event(e)) ea.push_back(e);
        while (b.poll_event(e)) eb.push_back(e);
        for (PeerConnection* p : {&a, &b})
            if (auto t = p->next_timeout(); t && *t <= now) p->on_timeout(now);
    }
    bool run_until(const std::function<bool()>& done, int max_ms = 10000) {
        const std::int64_t end = now_ms() + max_ms;
        while (!done() && now_ms() < end) {
            step();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return done();
    }
    void connect() {
        a.add_local_address(aa, now_ms());
        b.add_local_address(ba, now_ms());
        const std::string offer = a.create_offer(now_ms());
        ASSERT_EQ(b.set_remote_description(offer, now_ms()), "");
        const std::string answer = b.create_answer(now_ms());
        ASSERT_EQ(a.set_remote_description(answer, now_ms()), "");
        ASSERT_TRUE(run_until([&] { return a.state() == PeerState::Connected && b.state() == PeerState::Connected; }))
            << "a: " << a.error() << " b: " << b.error();
    }
    static std::vector<PeerEvent> of(const std::vector<PeerEvent>& v, PeerEvent::Kind k) {
        std::vector<PeerEvent> out;
        for (const auto& e : v)
            if (e.kind == k) out.push_back(e);
        return out;
    }
};

} // namespace

TEST(PeerConnectionTest, TwoNativePeersOpenADataChannelAndExchangeMessages) {
    Pair p;
    p.connect();
    sctp::ChannelOptions o;
    o.label = "files";
    const int id = p.a.create_data_channel(o);
    ASSERT_GE(id, 0);
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.eb, PeerEvent::Kind::ChannelOpen).empty() &&
                                         !Pair::of(p.ea, PeerEvent::Kind::ChannelOpen).empty(); }));
    EXPECT_EQ(Pair::of(p.eb, PeerEvent::Kind::ChannelOpen)[0].label, "files");
    std::vector<std::uint8_t> big(200 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 13);
    ASSERT_TRUE(p.a.send(static_cast<std::uint16_t>(id), big, true));
    const std::string hello = "hello";
    ASSERT_TRUE(p.b.send(static_cast<std::uint16_t>(id), {reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()}, false));
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.eb, PeerEvent::Kind::Message).empty() &&
                                         !Pair::of(p.ea, PeerEvent::Kind::Message).empty(); }));
    EXPECT_EQ(Pair::of(p.eb, PeerEvent::Kind::Message)[0].data, big);
    auto back = Pair::of(p.ea, PeerEvent::Kind::Message)[0];
    EXPECT_EQ(std::string(back.data.begin(), back.data.end()), hello);
    EXPECT_FALSE(back.binary);
    // Trickle: the offer carried the host candidate; gathering ended with "".
    auto cands = Pair::of(p.ea, PeerEvent::Kind::LocalCandidate);
    ASSERT_FALSE(cands.empty());
    EXPECT_EQ(cands.back().text, "");
}

TEST(PeerConnectionTest, DtlsBeforeTheNominationIsKeptNotLeftToARetransmission) {
    // Chromium, answering, starts DTLS as soon as its side of the pair works; our nomination's
    // answer can come after its ClientHello. Dropped, that hello cost a retransmission timer.
    Pair p;
    p.dtls_first_to_a = true;
    p.connect();
    EXPECT_EQ(p.client_hellos_from_b, 1);
}

TEST(PeerConnectionTest, BadDescriptionsAreRefusedWithAReason) {
    PeerConnection a(PeerOptions{}, 3);
    EXPECT_NE(a.set_remote_description("v=0\r\nnonsense\r\n", 0), "");
    EXPECT_NE(a.set_remote_description("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 0), "");
}

TEST(PeerConnectionTest, AWrongFingerprintFailsTheConnection) {
    Pair p;
    p.a.add_local_address(p.aa, now_ms());
    p.b.add_local_address(p.ba, now_ms());
    std::string offer = p.a.create_offer(now_ms());
    // Another certificate's fingerprint in the offer: b's DTLS must refuse a.
    PeerConnection other(PeerOptions{}, 4);
    const std::string fp = p.a.fingerprint(), wrong = other.fingerprint();
    offer.replace(offer.find(fp), fp.size(), wrong);
    ASSERT_EQ(p.b.set_remote_description(offer, now_ms()), "");
    ASSERT_EQ(p.a.set_remote_description(p.b.create_answer(now_ms()), now_ms()), "");
    EXPECT_TRUE(p.run_until([&] { return p.b.state() == PeerState::Failed; }, 5000)) << p.b.error();
    EXPECT_NE(p.a.state(), PeerState::Connected);
}

TEST(PeerConnectionTest, NegotiatedChannelsOpenOnBothSidesWithoutDcep) {
    Pair p;
    sctp::ChannelOptions o;
    o.label = "switchboard";
    ASSERT_TRUE(p.a.add_negotiated_channel(0, o));
    ASSERT_TRUE(p.b.add_negotiated_channel(0, o));
    EXPECT_FALSE(p.a.add_negotiated_channel(0, o)) << "an id is taken once";
    p.connect();
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.ea, PeerEvent::Kind::ChannelOpen).empty() &&
                                         !Pair::of(p.eb, PeerEvent::Kind::ChannelOpen).empty(); }));
    EXPECT_EQ(Pair::of(p.ea, PeerEvent::Kind::ChannelOpen)[0].channel, 0);
    EXPECT_EQ(Pair::of(p.eb, PeerEvent::Kind::ChannelOpen)[0].label, "switchboard");
    const std::string hello = "hello";
    ASSERT_TRUE(p.b.send(0, {reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()}, false));
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.ea, PeerEvent::Kind::Message).empty(); }));
    const auto m = Pair::of(p.ea, PeerEvent::Kind::Message)[0];
    EXPECT_EQ(std::string(m.data.begin(), m.data.end()), "hello");
    // A channel opened with DCEP afterwards does not take id 0 (the DTLS client opens even ids).
    o.label = "more";
    const int id = p.b.create_data_channel(o);
    EXPECT_GT(id, 0);
    EXPECT_EQ(id % 2, 0);
}

namespace {

// An offer as a browser in a call makes it: audio and video before the data section.
std::string with_media(const std::string& offer) {
    const auto at = offer.find("m=application");
    std::string transport;
    for (const char* key : {"a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:"}) {
        const auto k = offer.find(key);
        transport += offer.substr(k, offer.find("\r\n", k) + 2 - k);
    }
    std::string media = "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\n" + transport +
                        "a=mid:a\r\na=sendrecv\r\na=msid:s1 t1\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
                        "a=rtpmap:0 PCMU/8000\r\na=ssrc:1111 cname:x\r\n"
                        "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" + transport +
                        "a=mid:v\r\na=sendrecv\r\na=msid:s1 t2\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
                        "a=ssrc:2222 cname:x\r\n";
    std::string out = offer.substr(0, at) + media + offer.substr(at);
    const auto g = out.find("a=group:BUNDLE 0");
    out.replace(g, 16, "a=group:BUNDLE a v 0");
    return out;
}

} // namespace

TEST(PeerConnectionTest, AnOfferWithAudioAndVideoIsAnsweredWithThemTurnedDownInOrder) {
    Pair p;
    p.a.add_local_address(p.aa, now_ms());
    p.b.add_local_address(p.ba, now_ms());
    const std::string offer = with_media(p.a.create_offer(now_ms()));
    ASSERT_EQ(p.b.set_remote_description(SdpType::Offer, offer, now_ms()), "");
    const std::string answer = p.b.create_answer(now_ms());
    sdp::Session s;
    sdp::Error e;
    ASSERT_TRUE(sdp::parse(answer, s, e)) << sdp::describe(e);
    ASSERT_TRUE(sdp::check_webrtc(s, e)) << sdp::describe(e) << "\n" << answer;
    ASSERT_EQ(s.media.size(), 3u);
    EXPECT_EQ(s.media[0].kind, "audio");
    EXPECT_EQ(s.media[0].port, 0);
    EXPECT_EQ(s.media[0].mid, "a");
    EXPECT_EQ(s.media[0].formats.at(0), "111");
    EXPECT_EQ(s.media[1].kind, "video");
    EXPECT_EQ(s.media[1].port, 0);
    EXPECT_EQ(s.media[1].mid, "v");
    EXPECT_EQ(s.media[2].kind, "application");
    EXPECT_NE(s.media[2].port, 0);
    EXPECT_EQ(s.media[2].mid, "0");
    EXPECT_EQ(s.bundle, std::vector<std::string_view>{"0"}) << "turned-down sections leave the bundle";
    EXPECT_FALSE(sdp::sends_media(s));
}

TEST(PeerConnectionTest, ThePeerRenegotiatingWithMediaKeepsTheDataFlowing) {
    Pair p;
    sctp::ChannelOptions o;
    o.label = "switchboard";
    p.a.add_negotiated_channel(0, o);
    p.b.add_negotiated_channel(0, o);
    p.connect(); // a offers, b answers (b is the DTLS client)
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.eb, PeerEvent::Kind::ChannelOpen).empty(); }));
    // b renegotiates (say it started a camera): a answers, keeping its DTLS role (passive).
    const std::string reoffer = with_media(p.b.create_offer(now_ms()));
    ASSERT_EQ(p.a.set_remote_description(SdpType::Offer, reoffer, now_ms()), "");
    const std::string answer = p.a.create_answer(now_ms());
    EXPECT_NE(answer.find("a=setup:passive"), std::string::npos);
    EXPECT_NE(answer.find("m=audio 0 "), std::string::npos);
    ASSERT_EQ(p.b.set_remote_description(SdpType::Answer, answer, now_ms()), "");
    const std::string hi = "still here";
    ASSERT_TRUE(p.a.send(0, {reinterpret_cast<const std::uint8_t*>(hi.data()), hi.size()}, false));
    ASSERT_TRUE(p.run_until([&] { return !Pair::of(p.eb, PeerEvent::Kind::Message).empty(); }));
    EXPECT_EQ(p.a.state(), PeerState::Connected);
    EXPECT_EQ(p.b.state(), PeerState::Connected);
    // A new certificate in a later offer is refused: it cannot be the same peer.
    PeerConnection other(PeerOptions{}, 9);
    std::string stranger = with_media(other.create_offer(now_ms()));
    EXPECT_NE(p.a.set_remote_description(SdpType::Offer, stranger, now_ms()), "");
}
