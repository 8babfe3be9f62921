#include "client/file_transfer.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"

#include <openssl/rand.h>

#include <cstdio>

namespace switchboard::client {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }

void Sha256::update(std::span<const std::uint8_t> bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }

std::string Sha256::hex() const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_MD_CTX_copy_ex(copy.get(), ctx_.get());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(copy.get(), md, &n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < n; ++i) {
        s += kHex[md[i] >> 4];
        s += kHex[md[i] & 15];
    }
    return s;
}

std::string encode_meta(const FileMeta& m) {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("t").string("meta").key("name").string(m.name).key("size").number(m.size);
    w.key("type").string(m.type).key("sha256").string(m.sha256).end_object();
    return out;
}

std::string parse_meta(std::string_view text, FileMeta& out) {
    json::Value v;
    if (json::parse(text, v) != json::Error::None || v.kind != json::Kind::Object) return "the file announcement is not JSON";
    bool is_meta = false, has_size = false;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        std::string s;
        if (json::key_is(k, "t")) is_meta = json::get_string(x, s) && s == "meta";
        else if (json::key_is(k, "name")) json::get_string(x, out.name);
        else if (json::key_is(k, "type")) json::get_string(x, out.type);
        else if (json::key_is(k, "sha256")) json::get_string(x, out.sha256);
        else if (json::key_is(k, "size")) has_size = json::get_u64(x, out.size);
    });
    if (!is_meta) return "the first message of a file channel is not its announcement";
    if (!has_size) return "the file announcement has no valid size";
    if (out.size > kMaxFileSize) return "the announced file is larger than 1 TiB";
    if (out.sha256.size() != 64 || out.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
        return "the file announcement has no SHA-256";
    return {};
}

FileControl parse_control(std::string_view text) {
    FileControl c;
    json::Value v;
    if (json::parse(text, v) != json::Error::None || v.kind != json::Kind::Object) return c;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        std::string s;
        if (json::key_is(k, "t") && json::get_string(x, s))
            c.kind = s == "ack" ? FileControl::Kind::Ack : s == "cancel" ? FileControl::Kind::Cancel : FileControl::Kind::Other;
        else if (json::key_is(k, "ok")) json::get_bool(x, c.ok);
        else if (json::key_is(k, "sha256")) json::get_string(x, c.sha256);
    });
    return c;
}

std::string encode_ack(bool ok, std::string_view sha256) {
    std::string out;
    json::Writer w(out);
    w.begin_object().key("t").string("ack").key("ok").boolean(ok).key("sha256").string(sha256).end_object();
    return out;
}

std::string encode_cancel() { return "{\"t\":\"cancel\"}"; }

std::string safe_file_name(std::string_view name) {
    if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out;
    for (char c : name)
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out += c;
    while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
    if (out.size() > 255) {
        out.resize(255);
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back(); // whole UTF-8
        if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    }
    return out.empty() ? "file" : out;
}

std::string new_transfer_id() {
    unsigned char b[8];
    RAND_bytes(b, sizeof b);
    char s[17];
    for (int i = 0; i < 8; ++i) std::snprintf(s + 2 * i, 3, "%02x", b[i]);
    return std::string(s, 16);
}

} // namespace switchboard::client
