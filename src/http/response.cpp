#include "http/response.hpp"

#include <charconv>
#include <string>

namespace switchboard::http {

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 409: return "Conflict";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

void write_response(ByteBuffer& out, const Response& r) {
    auto put = [&](std::string_view s) { out.append(s.data(), s.size()); };
    char num[24];
    put("HTTP/1.1 ");
    auto [e1, ec1] = std::to_chars(num, num + sizeof num, r.status);
    (void)ec1;
    out.append(num, static_cast<std::size_t>(e1 - num));
    put(" ");
    put(reason_phrase(r.status));
    put("\r\nServer: switchboard\r\nContent-Length: ");
    auto [e2, ec2] = std::to_chars(num, num + sizeof num, r.body.size());
    (void)ec2;
    out.append(num, static_cast<std::size_t>(e2 - num));
    put("\r\n");
    if (!r.content_type.empty()) {
        put("Content-Type: ");
        put(r.content_type);
        put("\r\n");
    }
    for (const auto& [k, v] : r.headers) {
        put(k);
        put(": ");
        put(v);
        put("\r\n");
    }
    if (!r.keep_alive) put("Connection: close\r\n");
    put("\r\n");
    if (!r.head_only) put(r.body);
}

} // namespace switchboard::http
