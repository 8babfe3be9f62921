#pragma once
// HTTP/1.1 response serialisation into a caller's buffer.
#include "base/byte_buffer.hpp"

#include <initializer_list>
#include <string_view>
#include <utility>

namespace switchboard::http {

std::string_view reason_phrase(int status) noexcept;

struct Response {
    int status = 200;
    std::string_view content_type = "text/plain; charset=utf-8";
    std::string_view body;
    bool keep_alive = true;
    bool head_only = false; // HEAD: headers with the body's length, no body
    std::initializer_list<std::pair<std::string_view, std::string_view>> headers = {};
};

/// Appends the serialised response to `out`.
void write_response(ByteBuffer& out, const Response& r);

} // namespace switchboard::http
