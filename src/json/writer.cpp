#include "json/writer.hpp"

#include <charconv>
#include <cmath>

namespace switchboard::json {

void append_escaped(std::string& out, std::string_view utf8) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0; // start of the bytes not yet copied
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(utf8.data() + run, i - run);
        run = i + 1;
        out.push_back('\\');
        switch (c) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '\b': out.push_back('b'); break;
        case '\f': out.push_back('f'); break;
        case '\n': out.push_back('n'); break;
        case '\r': out.push_back('r'); break;
        case '\t': out.push_back('t'); break;
        default:
            out.append("u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xF]);
        }
    }
    out.append(utf8.data() + run, utf8.size() - run);
    out.push_back('"');
}

void Writer::before_value() {
    if (need_comma_) out_.push_back(',');
    need_comma_ = true;
}

Writer& Writer::begin_object() {
    before_value();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
}

Writer& Writer::end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
}

Writer& Writer::begin_array() {
    before_value();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
}

Writer& Writer::end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
}

Writer& Writer::key(std::string_view k) {
    before_value();
    append_escaped(out_, k);
    out_.push_back(':');
    need_comma_ = false; // the member's value follows the colon directly
    return *this;
}

Writer& Writer::string(std::string_view utf8) {
    before_value();
    append_escaped(out_, utf8);
    return *this;
}

Writer& Writer::number(std::uint64_t v) {
    before_value();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

Writer& Writer::number(std::int64_t v) {
    before_value();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

Writer& Writer::number(double v) {
    if (!std::isfinite(v)) return null();
    before_value();
    // The shortest round-trip form is at most 24 characters ("-2.2250738585072014e-308").
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    return *this;
}

Writer& Writer::boolean(bool v) {
    before_value();
    out_.append(v ? "true" : "false");
    return *this;
}

Writer& Writer::null() {
    before_value();
    out_.append("null");
    return *this;
}

Writer& Writer::raw(std::string_view json) {
    before_value();
    out_.append(json);
    return *this;
}

} // namespace switchboard::json
