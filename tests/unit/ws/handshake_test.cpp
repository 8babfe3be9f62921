// The server side of the RFC 6455 §4.2 opening handshake.
#include "ws/handshake.hpp"

#include "support/printers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::ws {
namespace {

constexpr const char *kKey = "dGhlIHNhbXBsZSBub25jZQ==";

// Parses `head` (request line and headers, without the blank line) and runs the handshake.
// The text must outlive the RequestHead's views, so the test keeps it.
struct Upgrade {
    Upgrade(const std::string &head, const HandshakeConfig &cfg) : text(head + "\r\n") {
        auto r = http::parse_request_head(text, http::Limits{}, req);
        EXPECT_EQ(r.kind, http::ParseResult::Kind::Complete) << head;
        result = accept_handshake(req, cfg);
    }
    Upgrade(const Upgrade &) = delete; // the views in `req` point into `text`
    Upgrade &operator=(const Upgrade &) = delete;
    std::string text;
    http::RequestHead req;
    HandshakeResult result;
};

Upgrade handshake(const std::string &head, const HandshakeConfig &cfg = {}) {
    return Upgrade(head, cfg);
}

std::string request(const std::string &extra = {}, const std::string &key = kKey) {
    return "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: "
           "Upgrade\r\n"
           "Sec-WebSocket-Key: " +
           key + "\r\nSec-WebSocket-Version: 13\r\n" + extra;
}

TEST(Handshake, AcceptKeyRfcVector) {
    // §1.3 (and §4.2.2).
    EXPECT_EQ(accept_key(kKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

TEST(Handshake, AcceptsTheRfcRequest) {
    auto u = handshake(request("Origin: http://example.com\r\n"));
    EXPECT_EQ(u.result.status, 101);
    EXPECT_EQ(u.result.response,
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    EXPECT_TRUE(u.result.subprotocol.empty());
    EXPECT_FALSE(u.result.deflate);
}

TEST(Handshake, HeaderTokensAreCaseInsensitiveAndListed) {
    std::string head =
        "GET / HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive, Upgrade\r\n"
        "sec-websocket-key:  " +
        std::string(kKey) + " \r\nsec-websocket-version: 13\r\n";
    auto u = handshake(head);
    EXPECT_EQ(u.result.status, 101) << u.result.reason;
}

TEST(Handshake, IsUpgradeRequest) {
    EXPECT_TRUE(handshake(request()).req.has_token("upgrade", "websocket"));
    EXPECT_TRUE(is_upgrade_request(handshake(request()).req));
    auto plain = handshake("GET / HTTP/1.1\r\nHost: h\r\n");
    EXPECT_FALSE(is_upgrade_request(plain.req));
    // A key alone still marks it as an attempted upgrade (to be answered with 400, not a page).
    auto key_only =
        handshake("GET / HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: " + std::string(kKey) + "\r\n");
    EXPECT_TRUE(is_upgrade_request(key_only.req));
    EXPECT_EQ(key_only.result.status, 400);
}

TEST(Handshake, Rejections400) {
    struct Case {
        std::string head;
        const char *why;
    };
    const std::string k = kKey;
    const Case cases[] = {
        {"POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " +
             k + "\r\nSec-WebSocket-Version: 13\r\n",
         "method must be GET"},
        {"GET /chat HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " +
             k + "\r\nSec-WebSocket-Version: 13\r\n",
         "HTTP/1.1 or later"},
        {"GET /chat HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + k +
             "\r\nSec-WebSocket-Version: 13\r\n",
         "no Upgrade"},
        {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Key: " +
             k + "\r\nSec-WebSocket-Version: 13\r\n",
         "wrong Upgrade"},
        {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + k +
             "\r\nSec-WebSocket-Version: 13\r\n",
         "no Connection"},
        {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
         "keep-alive\r\nSec-WebSocket-Key: " +
             k + "\r\nSec-WebSocket-Version: 13\r\n",
         "Connection without upgrade"},
        {request({}, ""), "empty key"},
        {"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
         "Upgrade\r\nSec-WebSocket-Version: 13\r\n",
         "no key"},
        {request({}, "dGhlIHNhbXBsZSBub25jZQ="), "key too short"},
        {request({}, "dGhlIHNhbXBsZSBub25jZQ==="), "key too long"},
        {request({}, "dGhlIHNhbXBsZSBub25jZR=="), "key does not decode to 16 bytes cleanly"},
        {request({}, "dGhlIHNhbXBsZSBub25j!Q=="), "key has a non-base64 character"},
        {request({}, "dGhlIHNhbXBsZSBub25jZQAA"), "key without padding"},
    };
    for (const auto &c : cases) {
        auto u = handshake(c.head);
        EXPECT_EQ(u.result.status, 400) << c.why;
        EXPECT_FALSE(u.result.reason.empty()) << c.why;
        EXPECT_TRUE(u.result.response.empty()) << c.why;
    }
}

TEST(Handshake, UnsupportedVersionIs426) {
    // §4.2.2: answer an unsupported version with 426 (and Sec-WebSocket-Version: 13).
    for (const char *v : {"8", "12", "14", "", "13, 8"}) {
        std::string head =
            "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: " +
            std::string(kKey) + "\r\nSec-WebSocket-Version: " + v + "\r\n";
        EXPECT_EQ(handshake(head).result.status, 426) << v;
    }
    std::string missing =
        "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: " +
        std::string(kKey) + "\r\n";
    EXPECT_EQ(handshake(missing).result.status, 426);
}

TEST(Handshake, OriginChecks403) {
    HandshakeConfig cfg;
    cfg.allowed_origins = {"https://app.example.com", "http://localhost:8080"};
    EXPECT_EQ(handshake(request("Origin: https://app.example.com\r\n"), cfg).result.status, 101);
    EXPECT_EQ(handshake(request("Origin: HTTPS://APP.EXAMPLE.COM\r\n"), cfg).result.status, 101)
        << "RFC 6454 origins compare case-insensitively in scheme and host";
    EXPECT_EQ(handshake(request("Origin: http://localhost:8080\r\n"), cfg).result.status, 101);
    EXPECT_EQ(handshake(request("Origin: https://evil.example.com\r\n"), cfg).result.status, 403);
    EXPECT_EQ(handshake(request("Origin: https://app.example.com.evil\r\n"), cfg).result.status,
              403);
    EXPECT_EQ(handshake(request("Origin: null\r\n"), cfg).result.status, 403);
    EXPECT_EQ(handshake(request(), cfg).result.status, 403)
        << "no Origin while origins are restricted";
    HandshakeConfig any;
    any.allowed_origins = {"*"};
    EXPECT_EQ(handshake(request("Origin: https://whatever\r\n"), any).result.status, 101);
    EXPECT_EQ(handshake(request("Origin: https://whatever\r\n")).result.status, 101)
        << "no list: any origin";
}

TEST(Handshake, SubprotocolInClientOrder) {
    HandshakeConfig cfg;
    cfg.subprotocols = {"chat", "superchat", "v2.json"};
    auto a = handshake(request("Sec-WebSocket-Protocol: superchat, chat\r\n"), cfg);
    EXPECT_EQ(a.result.status, 101);
    EXPECT_EQ(a.result.subprotocol, "superchat");
    EXPECT_NE(a.result.response.find("\r\nSec-WebSocket-Protocol: superchat\r\n"),
              std::string::npos);
    auto b = handshake(request("Sec-WebSocket-Protocol: unknown ,  v2.json ,chat\r\n"), cfg);
    EXPECT_EQ(b.result.subprotocol, "v2.json");
    // Across several header lines, earlier lines first.
    auto c = handshake(
        request("Sec-WebSocket-Protocol: nope\r\nSec-WebSocket-Protocol: chat, superchat\r\n"),
        cfg);
    EXPECT_EQ(c.result.subprotocol, "chat");
    // None in common: accepted without a subprotocol (the client decides whether to go on).
    auto d = handshake(request("Sec-WebSocket-Protocol: mqtt\r\n"), cfg);
    EXPECT_EQ(d.result.status, 101);
    EXPECT_TRUE(d.result.subprotocol.empty());
    EXPECT_EQ(d.result.response.find("Sec-WebSocket-Protocol"), std::string::npos);
    // Subprotocol names are case-sensitive tokens.
    EXPECT_TRUE(
        handshake(request("Sec-WebSocket-Protocol: CHAT\r\n"), cfg).result.subprotocol.empty());
    // We offer none: never pick one.
    EXPECT_TRUE(handshake(request("Sec-WebSocket-Protocol: chat\r\n")).result.subprotocol.empty());
}

TEST(Handshake, PermessageDeflateNegotiated) {
    HandshakeConfig cfg;
    cfg.deflate.mode = CompressionMode::Dedicated;
    auto u = handshake(
        request("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"), cfg);
    ASSERT_EQ(u.result.status, 101);
    ASSERT_TRUE(u.result.deflate);
    EXPECT_NE(u.result.response.find("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"),
              std::string::npos);
    // Offers spread over two header lines are one list.
    auto v = handshake(
        request("Sec-WebSocket-Extensions: permessage-deflate; bogus\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"),
        cfg);
    ASSERT_TRUE(v.result.deflate);
    EXPECT_TRUE(v.result.deflate->server_no_context_takeover);
    // Declined: no extension header in the response, the handshake still succeeds.
    auto w = handshake(request("Sec-WebSocket-Extensions: permessage-deflate; bogus\r\n"), cfg);
    EXPECT_EQ(w.result.status, 101);
    EXPECT_FALSE(w.result.deflate);
    EXPECT_EQ(w.result.response.find("Sec-WebSocket-Extensions"), std::string::npos);
    HandshakeConfig off;
    off.deflate.mode = CompressionMode::Off;
    EXPECT_FALSE(
        handshake(request("Sec-WebSocket-Extensions: permessage-deflate\r\n"), off).result.deflate);
}

} // namespace
} // namespace switchboard::ws

using switchboard::ws::client_key;
using switchboard::ws::client_request;
using switchboard::ws::ClientHandshake;
using switchboard::ws::read_response;

TEST(ClientHandshake, RequestAndTheRfcResponse) {
    const std::uint8_t nonce[16] = {'t', 'h', 'e', ' ', 's', 'a', 'm', 'p', 'l', 'e', ' ', 'n', 'o', 'n', 'c', 'e'};
    const std::string key = client_key(nonce);
    EXPECT_EQ(key, "dGhlIHNhbXBsZSBub25jZQ=="); // RFC 6455 §1.3
    const std::string req = client_request("server.example.com:80", "/chat", key, "chat");
    EXPECT_EQ(req, "GET /chat HTTP/1.1\r\nHost: server.example.com:80\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Protocol: chat\r\n\r\n");
    const std::string resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\nFRAMES";
    EXPECT_EQ(read_response(resp.substr(0, 40), key).status, ClientHandshake::Status::Incomplete);
    const ClientHandshake h = read_response(resp, key);
    EXPECT_EQ(h.status, ClientHandshake::Status::Accepted) << h.reason;
    EXPECT_EQ(h.head_size, resp.size() - 6);
    EXPECT_EQ(h.subprotocol, "chat");
}

TEST(ClientHandshake, RefusalsSayWhy) {
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    auto refused = [&](const std::string& resp) {
        const ClientHandshake h = read_response(resp, key);
        EXPECT_EQ(h.status, ClientHandshake::Status::Refused) << resp;
        return h.reason;
    };
    EXPECT_NE(refused("HTTP/1.1 404 Not Found\r\n\r\n").find("404"), std::string::npos);
    EXPECT_NE(refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n").find("Accept"),
              std::string::npos);
    EXPECT_NE(refused("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
                  .find("Upgrade"),
              std::string::npos);
    EXPECT_NE(refused("HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
                  .find("extension"),
              std::string::npos);
    EXPECT_NE(refused("SSH-2.0-OpenSSH\r\n\r\n").find("HTTP"), std::string::npos);
    EXPECT_NE(refused(std::string(17000, 'x')).find("16 KiB"), std::string::npos);
}
