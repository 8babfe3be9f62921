#include "client/hub_session.hpp"

#include "ws/frame.hpp"
#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace switchboard;
using client::HubMessage;
using client::HubSession;

namespace {

std::string key_of(const std::vector<std::uint8_t>& request) {
    const std::string r(request.begin(), request.end());
    const auto k = r.find("Sec-WebSocket-Key: ");
    return r.substr(k + 19, 24);
}

std::string accept_response(const std::string& key) {
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           ws::accept_key(key) + "\r\nSec-WebSocket-Protocol: switchboard.v1.json\r\n\r\n";
}

std::vector<std::uint8_t> server_frame(ws::Opcode op, const std::string& payload) {
    std::vector<std::uint8_t> f(ws::kMaxHeaderSize);
    f.resize(ws::encode_header(f.data(), op, true, false, payload.size()));
    f.insert(f.end(), payload.begin(), payload.end());
    return f;
}

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The client's frames, unmasked: what a server reads.
std::vector<std::string> client_texts(std::vector<std::uint8_t> out) {
    std::vector<std::string> texts;
    std::size_t at = 0;
    while (at + 6 <= out.size()) {
        EXPECT_TRUE(out[at + 1] & 0x80) << "client frames are masked";
        std::uint64_t len = out[at + 1] & 0x7F;
        std::size_t p = at + 2;
        if (len == 126) {
            len = (std::uint64_t{out[p]} << 8) | out[p + 1];
            p += 2;
        }
        const std::uint8_t* mask = &out[p];
        p += 4;
        std::string t(out.begin() + static_cast<std::ptrdiff_t>(p), out.begin() + static_cast<std::ptrdiff_t>(p + len));
        for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<char>(t[i] ^ mask[i % 4]);
        texts.push_back(t);
        at = p + len;
    }
    return texts;
}

} // namespace

TEST(HubSession, UpgradesThenCorrelatesRepliesAndSplitsBatchedPushes) {
    HubSession s("127.0.0.1:8080", "/connection", 7);
    s.start();
    std::vector<std::uint8_t> out;
    s.take_output(out);
    const std::string req(out.begin(), out.end());
    EXPECT_EQ(req.rfind("GET /connection HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 0), 0u) << req;
    EXPECT_NE(req.find("Sec-WebSocket-Protocol: switchboard.v1.json"), std::string::npos);
    EXPECT_EQ(s.command("connect", ""), 0u) << "no commands before the upgrade";

    // The 101 and the first frame in one read, split at an awkward place.
    std::string resp = accept_response(key_of(out));
    auto frame = server_frame(ws::Opcode::Text, "{\"push\":\"room_join\",\"room\":\"r\"}\n{\"id\":1,\"result\":{\"client\":\"c1\"}}");
    std::vector<std::uint8_t> all(resp.begin(), resp.end());
    all.insert(all.end(), frame.begin(), frame.end());
    s.on_bytes({all.data(), 40});
    s.on_bytes({all.data() + 40, all.size() - 40});
    HubMessage m;
    ASSERT_TRUE(s.poll_message(m));
    EXPECT_EQ(m.kind, HubMessage::Kind::Open);
    ASSERT_TRUE(s.poll_message(m));
    EXPECT_EQ(m.kind, HubMessage::Kind::Push);
    EXPECT_EQ(m.push, "room_join");
    ASSERT_TRUE(s.poll_message(m));
    EXPECT_EQ(m.kind, HubMessage::Kind::Reply);
    EXPECT_EQ(m.id, 1u);
    EXPECT_TRUE(m.ok);
    EXPECT_EQ(m.json, "{\"client\":\"c1\"}");

    out.clear();
    EXPECT_EQ(s.command("room_join", "\"room\":\"r\""), 1u);
    EXPECT_EQ(s.command("ping", ""), 2u);
    s.take_output(out);
    EXPECT_EQ(client_texts(out), (std::vector<std::string>{"{\"id\":1,\"op\":\"room_join\",\"room\":\"r\"}", "{\"id\":2,\"op\":\"ping\"}"}));

    s.on_bytes(server_frame(ws::Opcode::Text, "{\"id\":2,\"error\":{\"code\":117,\"reason\":\"room full\"}}"));
    ASSERT_TRUE(s.poll_message(m));
    EXPECT_FALSE(m.ok);
    EXPECT_EQ(m.code, 117);
    EXPECT_EQ(m.reason, "room full");
}

TEST(HubSession, AnswersPingsAndEndsOnClose) {
    HubSession s("h:1", "/connection", 1);
    s.start();
    std::vector<std::uint8_t> out;
    s.take_output(out);
    s.on_bytes(bytes(accept_response(key_of(out))));
    out.clear();
    s.on_bytes(server_frame(ws::Opcode::Ping, "hi"));
    s.take_output(out);
    ASSERT_GE(out.size(), 8u);
    EXPECT_EQ(out[0], 0x80 | 0x0A) << "a pong";
    const std::string close_payload = std::string("\x0F\xA1", 2) + "going away"; // 4001
    s.on_bytes(server_frame(ws::Opcode::Close, close_payload));
    HubMessage m;
    while (s.poll_message(m) && m.kind != HubMessage::Kind::Closed) {}
    EXPECT_EQ(m.kind, HubMessage::Kind::Closed);
    EXPECT_EQ(m.code, 4001);
    EXPECT_EQ(m.reason, "going away");
    EXPECT_TRUE(s.closed());
}

TEST(HubSession, RefusesWhatIsNotAWebSocketUpgrade) {
    for (const std::string& resp : {std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
                                    std::string("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                                "Connection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n")}) {
        HubSession s("h:1", "/connection", 1);
        s.start();
        s.on_bytes(bytes(resp));
        HubMessage m;
        ASSERT_TRUE(s.poll_message(m));
        EXPECT_EQ(m.kind, HubMessage::Kind::Closed);
        EXPECT_FALSE(m.reason.empty());
        EXPECT_FALSE(s.open());
    }
}

TEST(HubSession, AMaskedServerFrameIsAProtocolError) {
    HubSession s("h:1", "/connection", 1);
    s.start();
    std::vector<std::uint8_t> out;
    s.take_output(out);
    s.on_bytes(bytes(accept_response(key_of(out))));
    std::uint8_t mask[4] = {1, 2, 3, 4};
    std::vector<std::uint8_t> f(ws::kMaxHeaderSize);
    f.resize(ws::encode_header(f.data(), ws::Opcode::Text, true, false, 2, mask));
    f.push_back('a' ^ 1);
    f.push_back('b' ^ 2);
    s.on_bytes(f);
    HubMessage m;
    while (s.poll_message(m) && m.kind != HubMessage::Kind::Closed) {}
    EXPECT_EQ(m.kind, HubMessage::Kind::Closed);
    EXPECT_NE(m.reason.find("masked"), std::string::npos) << m.reason;
}
