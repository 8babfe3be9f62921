#pragma once
// The server side of the opening handshake (RFC 6455 §4.2): validate an upgrade request and
// build the 101 response, or say which 4xx to send and why.
#include "http/request.hpp"
#include "ws/deflate.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::ws {

struct HandshakeConfig {
    std::vector<std::string> allowed_origins; // empty: any origin
    std::vector<std::string> subprotocols;    // ours, in order of preference (client's order wins)
    DeflateConfig deflate;
};

struct HandshakeResult {
    int status = 101;     // 101 on success, else 400/403/426
    std::string reason;   // why, when rejected
    std::string response; // the full 101 response when accepted
    std::string subprotocol;
    std::optional<DeflateAgreement> deflate;
};

/// True when the request asks for a WebSocket upgrade at all (then it must be answered as one).
bool is_upgrade_request(const http::RequestHead& req) noexcept;

HandshakeResult accept_handshake(const http::RequestHead& req, const HandshakeConfig& cfg);

/// base64(SHA-1(key + GUID)) per §4.2.2.
std::string accept_key(std::string_view client_key);

} // namespace switchboard::ws
