#pragma once
// The server side of the opening handshake (RFC 6455 §4.2): validate an upgrade request and
// build the 101 response, or say which 4xx to send and why.
#include "http/request.hpp"
#include "ws/deflate.hpp"

#include <cstdint>
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

// ---- The client side (§4.1), for native clients ----

/// The Sec-WebSocket-Key for 16 nonce bytes.
std::string client_key(const std::uint8_t (&nonce)[16]);

/// The upgrade request for `path` on `host` ("name:port" as the Host header wants it).
std::string client_request(std::string_view host, std::string_view path, std::string_view key,
                           std::string_view subprotocol);

struct ClientHandshake {
    enum class Status : std::uint8_t { Incomplete, Accepted, Refused };
    Status status = Status::Incomplete;
    std::size_t head_size = 0; // bytes of the response head (frames may follow in the same read)
    int http_status = 0;
    std::string reason;        // why it was refused
    std::string subprotocol;
};

/// Reads the server's response to client_request(): a 101 with the matching
/// Sec-WebSocket-Accept, or why not. At most 16 KiB of head.
ClientHandshake read_response(std::string_view bytes, std::string_view key);

} // namespace switchboard::ws
