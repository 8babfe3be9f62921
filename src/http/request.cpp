#include "http/request.hpp"

#include <cstring>

namespace switchboard::http {

namespace {
using Kind = ParseResult::Kind;

// RFC 9110 §5.6.2 token characters.
bool is_tchar(unsigned char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != 0;
}

ParseResult error(int status, std::string_view reason) noexcept {
    ParseResult r;
    r.kind = Kind::Error;
    r.status = status;
    r.reason = reason;
    return r;
}
} // namespace

std::optional<std::string_view> RequestHead::header(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < header_count; ++i)
        if (iequals(headers[i].name, name)) return headers[i].value;
    return std::nullopt;
}

bool RequestHead::has_token(std::string_view name, std::string_view token) const noexcept {
    for (std::size_t i = 0; i < header_count; ++i) {
        if (!iequals(headers[i].name, name)) continue;
        std::string_view v = headers[i].value;
        while (!v.empty()) {
            auto comma = v.find(',');
            if (iequals(trim_ows(v.substr(0, comma)), token)) return true;
            if (comma == std::string_view::npos) break;
            v.remove_prefix(comma + 1);
        }
    }
    return false;
}

bool RequestHead::keep_alive() const noexcept {
    if (has_token("connection", "close")) return false;
    if (version_minor == 0) return has_token("connection", "keep-alive");
    return true;
}

ParseResult parse_request_head(std::string_view in, const Limits& limits, RequestHead& out) noexcept {
    // Find the end of the head; RFC 9112 §2.2 lets a server accept a bare LF as a line end,
    // but we keep to CRLF and reject bare CR/LF in fields below.
    std::size_t end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        std::size_t line_end = in.find("\r\n");
        // A read may end between the CR and LF of a line that is exactly at the limit.
        std::size_t line_len = in.size() - (!in.empty() && in.back() == '\r' ? 1 : 0);
        if (line_end == std::string_view::npos && line_len > limits.max_request_line)
            return error(414, "request line too long");
        if (in.size() > limits.max_head_size) return error(431, "request header fields too large");
        return {};
    }
    const std::size_t head_len = end + 4;
    if (head_len > limits.max_head_size) return error(431, "request header fields too large");

    std::string_view head = in.substr(0, end + 2); // keep the last header's CRLF
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.size() > limits.max_request_line) return error(414, "request line too long");
    head.remove_prefix(eol + 2);

    // request-line = method SP request-target SP HTTP-version
    auto sp1 = line.find(' ');
    if (sp1 == std::string_view::npos || sp1 == 0) return error(400, "malformed request line");
    out.method = line.substr(0, sp1);
    for (char c : out.method)
        if (!is_tchar(static_cast<unsigned char>(c))) return error(400, "malformed method");
    auto sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return error(400, "malformed request line");
    out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (char c : out.target) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7F) return error(400, "invalid character in request target");
    }
    std::string_view version = line.substr(sp2 + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
        return error(400, "malformed HTTP version");
    if (version[5] != '1') return error(505, "HTTP version not supported");
    out.version_minor = version[7] - '0';
    auto q = out.target.find('?');
    out.path = out.target.substr(0, q);
    out.query = q == std::string_view::npos ? std::string_view{} : out.target.substr(q + 1);

    out.header_count = 0;
    out.content_length = 0;
    out.chunked = false;
    bool have_length = false;
    bool have_host = false;
    bool have_te = false;
    const std::size_t max_headers = limits.max_headers < kHeaderCapacity ? limits.max_headers : kHeaderCapacity;
    while (!head.empty()) {
        eol = head.find("\r\n");
        line = head.substr(0, eol);
        head.remove_prefix(eol + 2);
        if (out.header_count == max_headers) return error(431, "too many header fields");
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return error(400, "malformed header field");
        std::string_view name = line.substr(0, colon);
        for (char c : name) // also rejects whitespace before the colon (RFC 9112 §5.1)
            if (!is_tchar(static_cast<unsigned char>(c))) return error(400, "malformed header field name");
        std::string_view value = trim_ows(line.substr(colon + 1));
        for (char c : value) {
            auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && u != '\t') || u == 0x7F) return error(400, "invalid character in header field value");
        }
        out.headers[out.header_count++] = Header{name, value};
        if (iequals(name, "content-length")) {
            if (value.empty() || value.size() > 15) return error(400, "invalid Content-Length");
            std::uint64_t n = 0;
            for (char c : value) {
                if (c < '0' || c > '9') return error(400, "invalid Content-Length");
                n = n * 10 + static_cast<std::uint64_t>(c - '0');
            }
            // Differing lengths are a request-smuggling vector (RFC 9112 §6.3).
            if (have_length && n != out.content_length) return error(400, "conflicting Content-Length");
            have_length = true;
            out.content_length = n;
        } else if (iequals(name, "transfer-encoding")) {
            // RFC 9112 §6.1: chunked must be the final coding of a request body. We decode
            // chunked alone; any other coding is refused rather than passed on undecoded.
            if (have_te) return error(400, "more than one Transfer-Encoding header");
            have_te = true;
            if (!iequals(value, "chunked")) {
                std::string_view last = value.substr(value.rfind(',') == std::string_view::npos ? 0 : value.rfind(',') + 1);
                if (iequals(trim_ows(last), "chunked")) return error(501, "transfer coding not supported");
                return error(400, "request transfer coding must end with chunked");
            }
            out.chunked = true;
        } else if (iequals(name, "host")) {
            // RFC 9112 §3.2: more than one Host line is answered with 400.
            if (have_host) return error(400, "more than one Host header");
            have_host = true;
        }
    }
    // Both framings at once is a request-smuggling vector (RFC 9112 §6.3).
    if (out.chunked && have_length) return error(400, "both Transfer-Encoding and Content-Length");
    if (out.content_length > limits.max_body_size) return error(413, "request body too large");
    if (out.version_minor >= 1 && !out.header("host")) return error(400, "missing Host header");
    ParseResult r;
    r.kind = Kind::Complete;
    r.consumed = head_len;
    return r;
}

} // namespace switchboard::http
