#include "turn/credentials.hpp"

#include "stun/integrity.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace switchboard::turn {

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

const char kHex[] = "0123456789abcdef";
} // namespace

std::string rest_password(std::string_view secret, std::string_view username) {
    std::span<const std::uint8_t> parts[] = {bytes_of(username)};
    auto mac = stun::hmac_sha1(bytes_of(secret), parts);
    unsigned char out[32] = {};
    int n = EVP_EncodeBlock(out, mac.data(), static_cast<int>(mac.size())); // standard base64, padded
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

std::string rest_username(std::uint64_t expiry_unix, std::string_view user) {
    std::string s = std::to_string(expiry_unix);
    if (!user.empty()) {
        s += ':';
        s += user;
    }
    return s;
}

Credentials::Credentials(std::string realm) : realm_(std::move(realm)) {}

void Credentials::add_user(std::string_view name, std::string_view password) {
    users_[std::string(name)] = stun::long_term_key_md5(name, realm_, password);
}

Credentials::Verdict Credentials::keys(std::string_view username, std::uint64_t now_unix, std::vector<Key>& out) const {
    out.clear();
    if (auto it = users_.find(std::string(username)); it != users_.end()) out.push_back(it->second);
    if (!secrets_.empty()) {
        // "<expiry>" or "<expiry>:<user>": the timestamp comes first (the common REST form).
        auto colon = username.find(':');
        auto ts = username.substr(0, colon);
        std::uint64_t expiry = 0;
        auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), expiry);
        if (ec == std::errc() && end == ts.data() + ts.size() && !ts.empty()) {
            if (expiry < now_unix) return out.empty() ? Verdict::Expired : Verdict::Ok;
            for (const auto& secret : secrets_) {
                std::string pw = rest_password(secret, username);
                out.push_back(stun::long_term_key_md5(username, realm_, pw));
            }
        }
    }
    return out.empty() ? Verdict::Unknown : Verdict::Ok;
}

NonceMaker::NonceMaker() {
    if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) throw std::runtime_error("RAND_bytes failed");
}

std::string NonceMaker::mac(std::uint64_t expiry, const stun::Address& client) const {
    std::uint8_t msg[8 + 1 + 16];
    for (int i = 0; i < 8; ++i) msg[i] = static_cast<std::uint8_t>(expiry >> (56 - 8 * i));
    msg[8] = static_cast<std::uint8_t>(client.family);
    std::memcpy(msg + 9, client.ip.data(), 16);
    // The port is left out: a client behind a NAT that rebinds keeps its nonce, and the
    // integrity check still binds every request to the password.
    std::span<const std::uint8_t> parts[] = {msg};
    auto d = stun::hmac_sha256(key_, parts);
    std::string out(16, '0');
    for (std::size_t i = 0; i < 8; ++i) {
        out[2 * i] = kHex[d[i] >> 4];
        out[2 * i + 1] = kHex[d[i] & 15];
    }
    return out;
}

std::string NonceMaker::make(const stun::Address& client, std::uint64_t now_unix) const {
    // 32-bit seconds (good until 2106) and a 64-bit MAC keep the nonce at 24 characters: it
    // is in every 401, whose size is bounded by the request's (amplification).
    auto expiry = static_cast<std::uint32_t>(now_unix + kLifetimeS);
    std::string s(8, '0');
    for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = kHex[(expiry >> (28 - 4 * i)) & 15];
    return s + mac(expiry, client.canonical());
}

NonceMaker::Check NonceMaker::check(std::string_view nonce, const stun::Address& client, std::uint64_t now_unix) const {
    if (nonce.size() != 24) return Check::Forged;
    std::uint64_t expiry = 0;
    for (int i = 0; i < 8; ++i) {
        char c = nonce[static_cast<std::size_t>(i)];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return Check::Forged;
        expiry = expiry << 4 | static_cast<std::uint64_t>(v);
    }
    std::string want = mac(expiry, client.canonical());
    if (!stun::equal_constant_time(bytes_of(want), bytes_of(nonce.substr(8)))) return Check::Forged;
    return expiry < now_unix ? Check::Stale : Check::Ok;
}

} // namespace switchboard::turn
