// Fuzz target: the opening handshake (ws/handshake) and permessage-deflate offer negotiation
// (ws/deflate) over arbitrary request heads and extension header values.
#include "ws/deflate.hpp"
#include "ws/handshake.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {
using namespace switchboard;
using namespace switchboard::ws;

void check_negotiation(std::string_view offer) {
    for (CompressionMode mode :
         {CompressionMode::Off, CompressionMode::Shared, CompressionMode::Dedicated}) {
        for (int our_bits : {15, 10}) {
            DeflateConfig cfg;
            cfg.mode = mode;
            cfg.max_window_bits = our_bits;
            auto a = negotiate_deflate(offer, cfg);
            if (mode == CompressionMode::Off) {
                SB_FUZZ_CHECK(!a);
                continue;
            }
            if (!a)
                continue;
            SB_FUZZ_CHECK(a->response.rfind("permessage-deflate", 0) == 0);
            SB_FUZZ_CHECK(a->server_max_window_bits >= 9 && a->server_max_window_bits <= our_bits);
            SB_FUZZ_CHECK(a->client_max_window_bits >= 8 && a->client_max_window_bits <= 15);
            if (mode == CompressionMode::Shared)
                SB_FUZZ_CHECK(a->server_no_context_takeover && a->client_no_context_takeover);
            // Our response is itself a valid offer, and agreeing to it changes nothing.
            auto b = negotiate_deflate(a->response, cfg);
            SB_FUZZ_CHECK(b && b->response == a->response);
            SB_FUZZ_CHECK(b->server_max_window_bits == a->server_max_window_bits &&
                          b->client_max_window_bits == a->client_max_window_bits);
        }
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);
    check_negotiation(in);

    http::RequestHead req;
    auto r = http::parse_request_head(in, http::Limits{}, req);
    if (r.kind != http::ParseResult::Kind::Complete)
        return 0;
    (void)is_upgrade_request(req);
    HandshakeConfig cfgs[2];
    cfgs[1].allowed_origins = {"https://example.com"};
    cfgs[1].subprotocols = {"chat", "superchat"};
    cfgs[1].deflate.mode = CompressionMode::Dedicated;
    for (const auto &cfg : cfgs) {
        HandshakeResult h = accept_handshake(req, cfg);
        SB_FUZZ_CHECK(h.status == 101 || h.status == 400 || h.status == 403 || h.status == 426);
        if (h.status != 101) {
            SB_FUZZ_CHECK(!h.reason.empty() && h.response.empty());
            continue;
        }
        SB_FUZZ_CHECK(req.method == "GET");
        SB_FUZZ_CHECK(h.response.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
        SB_FUZZ_CHECK(h.response.size() >= 4 &&
                      h.response.compare(h.response.size() - 4, 4, "\r\n\r\n") == 0);
        // The response must not be splittable by anything taken from the request.
        SB_FUZZ_CHECK(h.response.find("\r\n\r\n") == h.response.size() - 4);
        auto key = req.header("sec-websocket-key");
        SB_FUZZ_CHECK(key.has_value());
        std::string k(*key);
        while (!k.empty() && (k.back() == ' ' || k.back() == '\t'))
            k.pop_back();
        while (!k.empty() && (k.front() == ' ' || k.front() == '\t'))
            k.erase(0, 1);
        SB_FUZZ_CHECK(h.response.find("Sec-WebSocket-Accept: " + accept_key(k) + "\r\n") !=
                      std::string::npos);
        if (!h.subprotocol.empty())
            SB_FUZZ_CHECK(h.subprotocol == cfg.subprotocols[0] ||
                          h.subprotocol == cfg.subprotocols[1]);
    }
    return 0;
}
