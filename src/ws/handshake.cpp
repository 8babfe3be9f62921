#include "ws/handshake.hpp"

#include "base/text.hpp"

#include <openssl/sha.h>

#include <cstdint>

namespace switchboard::ws {

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const unsigned char* p, std::size_t n) {
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (std::size_t i = 0; i < n; i += 3) {
        std::uint32_t v = std::uint32_t{p[i]} << 16;
        if (i + 1 < n) v |= std::uint32_t{p[i + 1]} << 8;
        if (i + 2 < n) v |= p[i + 2];
        out += kB64[(v >> 18) & 63];
        out += kB64[(v >> 12) & 63];
        out += i + 1 < n ? kB64[(v >> 6) & 63] : '=';
        out += i + 2 < n ? kB64[v & 63] : '=';
    }
    return out;
}

// §4.1: the key is the base64 encoding of 16 random bytes: 24 characters ending in "==".
bool valid_key(std::string_view k) {
    if (k.size() != 24 || k[22] != '=' || k[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i) {
        char c = k[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!ok) return false;
    }
    // The last character before the padding carries only 2 significant bits.
    return std::string_view("AQgw").find(k[21]) != std::string_view::npos;
}

HandshakeResult reject(int status, std::string reason) {
    HandshakeResult r;
    r.status = status;
    r.reason = std::move(reason);
    return r;
}
} // namespace

std::string accept_key(std::string_view client_key) {
    static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string s(client_key);
    s += kGuid;
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
    return base64(digest, sizeof digest);
}

bool is_upgrade_request(const http::RequestHead& req) noexcept {
    return req.has_token("upgrade", "websocket") || req.header("sec-websocket-key").has_value();
}

HandshakeResult accept_handshake(const http::RequestHead& req, const HandshakeConfig& cfg) {
    if (req.method != "GET") return reject(400, "WebSocket upgrade must use GET");
    if (req.version_minor < 1) return reject(400, "WebSocket upgrade needs HTTP/1.1");
    if (!req.has_token("upgrade", "websocket")) return reject(400, "missing 'Upgrade: websocket'");
    if (!req.has_token("connection", "upgrade")) return reject(400, "missing 'Connection: Upgrade'");
    // §11.3.1/§11.3.5: the key and the version may appear only once in a request.
    int keys = 0, versions = 0;
    for (std::size_t i = 0; i < req.header_count; ++i) {
        if (http::iequals(req.headers[i].name, "sec-websocket-key")) ++keys;
        if (http::iequals(req.headers[i].name, "sec-websocket-version")) ++versions;
    }
    if (keys > 1) return reject(400, "Sec-WebSocket-Key sent more than once");
    if (versions > 1) return reject(400, "Sec-WebSocket-Version sent more than once");
    auto version = req.header("sec-websocket-version");
    if (!version || trim_ows(*version) != "13") return reject(426, "unsupported WebSocket version (13 is supported)");
    auto key = req.header("sec-websocket-key");
    if (!key || !valid_key(trim_ows(*key))) return reject(400, "missing or malformed Sec-WebSocket-Key");
    if (!cfg.allowed_origins.empty()) {
        auto origin = req.header("origin");
        bool ok = false;
        if (origin)
            for (const auto& o : cfg.allowed_origins)
                if (http::iequals(o, trim_ows(*origin)) || o == "*") ok = true;
        if (!ok) return reject(403, "origin not allowed");
    }

    HandshakeResult r;
    // §4.2.2: pick one of the client's subprotocols (its order is its preference).
    if (!cfg.subprotocols.empty()) {
        for (std::size_t i = 0; i < req.header_count && r.subprotocol.empty(); ++i) {
            if (!http::iequals(req.headers[i].name, "sec-websocket-protocol")) continue;
            std::string_view v = req.headers[i].value;
            while (!v.empty() && r.subprotocol.empty()) {
                auto comma = v.find(',');
                std::string_view p = trim_ows(v.substr(0, comma));
                for (const auto& ours : cfg.subprotocols)
                    if (ours == p) { r.subprotocol = ours; break; }
                if (comma == std::string_view::npos) break;
                v.remove_prefix(comma + 1);
            }
        }
    }
    std::string ext_header;
    for (std::size_t i = 0; i < req.header_count; ++i)
        if (http::iequals(req.headers[i].name, "sec-websocket-extensions")) {
            if (!ext_header.empty()) ext_header += ", ";
            ext_header += req.headers[i].value;
        }
    if (!ext_header.empty()) r.deflate = negotiate_deflate(ext_header, cfg.deflate);

    r.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
    r.response += accept_key(trim_ows(*key));
    r.response += "\r\n";
    if (!r.subprotocol.empty()) r.response += "Sec-WebSocket-Protocol: " + r.subprotocol + "\r\n";
    if (r.deflate) r.response += "Sec-WebSocket-Extensions: " + r.deflate->response + "\r\n";
    r.response += "\r\n";
    return r;
}

std::string client_key(const std::uint8_t (&nonce)[16]) { return base64(nonce, 16); }

std::string client_request(std::string_view host, std::string_view path, std::string_view key,
                           std::string_view subprotocol) {
    std::string r = "GET ";
    r += path.empty() ? std::string_view("/") : path;
    r += " HTTP/1.1\r\nHost: ";
    r += host;
    r += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
    r += key;
    r += "\r\n";
    if (!subprotocol.empty()) {
        r += "Sec-WebSocket-Protocol: ";
        r += subprotocol;
        r += "\r\n";
    }
    r += "\r\n";
    return r;
}

namespace {

bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (iequals(trim_ows(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace

ClientHandshake read_response(std::string_view bytes, std::string_view key) {
    static constexpr std::size_t kMaxHead = 16 * 1024;
    ClientHandshake r;
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (bytes.size() > kMaxHead) {
            r.status = ClientHandshake::Status::Refused;
            r.reason = "the server's response head is over 16 KiB";
        }
        return r;
    }
    r.head_size = end + 4;
    r.status = ClientHandshake::Status::Refused;
    std::string_view head = bytes.substr(0, end + 2);
    const auto eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (status_line.substr(0, 9) != "HTTP/1.1 " || status_line.size() < 12) {
        r.reason = "not an HTTP/1.1 response";
        return r;
    }
    for (char c : status_line.substr(9, 3)) {
        if (c < '0' || c > '9') {
            r.reason = "bad HTTP status line";
            return r;
        }
        r.http_status = r.http_status * 10 + (c - '0');
    }
    if (r.http_status != 101) {
        r.reason = "the server answered " + std::string(status_line.substr(9)) + " instead of switching to WebSocket";
        return r;
    }
    bool upgrade = false, connection = false, accept = false;
    while (!head.empty()) {
        const auto e = head.find("\r\n");
        const std::string_view line = head.substr(0, e);
        head.remove_prefix(e + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = line.substr(0, colon), value = trim_ows(line.substr(colon + 1));
        if (iequals(name, "upgrade")) upgrade = iequals(value, "websocket");
        else if (iequals(name, "connection")) connection = has_token(value, "upgrade");
        else if (iequals(name, "sec-websocket-accept")) accept = value == accept_key(key);
        else if (iequals(name, "sec-websocket-protocol")) r.subprotocol = std::string(value);
        else if (iequals(name, "sec-websocket-extensions")) {
            r.reason = "the server chose an extension this client did not offer";
            return r;
        }
    }
    if (!upgrade || !connection) r.reason = "the 101 response lacks Upgrade: websocket / Connection: Upgrade";
    else if (!accept) r.reason = "Sec-WebSocket-Accept does not match the key";
    else r.status = ClientHandshake::Status::Accepted;
    return r;
}

} // namespace switchboard::ws
