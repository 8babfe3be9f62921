#include "stun/integrity.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <zlib.h>

#include <cstring>

namespace switchboard::stun {

namespace {
template <std::size_t N>
std::array<std::uint8_t, N> hmac(const EVP_MD* md, std::span<const std::uint8_t> key,
                                 std::span<const std::span<const std::uint8_t>> parts) noexcept {
    std::array<std::uint8_t, N> out{};
    // OpenSSL 3's one-shot HMAC() is several times cheaper than setting up an EVP_PKEY and a
    // signing context per call (it matters: every authenticated request is verified and its
    // answer signed). It wants one buffer, so the parts are copied together when they fit.
    std::uint8_t buf[4096];
    std::size_t total = 0;
    for (auto p : parts) total += p.size();
    unsigned len = N;
    if (total <= sizeof buf) {
        std::size_t at = 0;
        for (auto p : parts) {
            if (!p.empty()) std::memcpy(buf + at, p.data(), p.size());
            at += p.size();
        }
        if (!::HMAC(md, key.data(), static_cast<int>(key.size()), buf, total, out.data(), &len)) out.fill(0);
        return out;
    }
    EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, nullptr, key.data(), key.size());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t slen = N;
    bool ok = pkey && ctx && EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey) == 1;
    for (auto p : parts)
        if (ok && !p.empty()) ok = EVP_DigestSignUpdate(ctx, p.data(), p.size()) == 1;
    if (ok) ok = EVP_DigestSignFinal(ctx, out.data(), &slen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (!ok) out.fill(0);
    return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> digest(const EVP_MD* md, std::string_view a, std::string_view b, std::string_view c) noexcept {
    std::array<std::uint8_t, N> out{};
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned len = N;
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, nullptr) == 1 && EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
              EVP_DigestUpdate(ctx, ":", 1) == 1 && EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
              EVP_DigestUpdate(ctx, ":", 1) == 1 && EVP_DigestUpdate(ctx, c.data(), c.size()) == 1 &&
              EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) out.fill(0);
    return out;
}
} // namespace

Sha1Digest hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts) noexcept {
    return hmac<20>(EVP_sha1(), key, parts);
}

Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts) noexcept {
    return hmac<32>(EVP_sha256(), key, parts);
}

Sha1Digest sha1(std::string_view text) noexcept {
    Sha1Digest out{};
    ::SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
    return out;
}

std::uint32_t fingerprint(std::span<const std::uint8_t> head, std::span<const std::uint8_t> rest) noexcept {
    uLong crc = ::crc32(0L, Z_NULL, 0);
    crc = ::crc32(crc, head.data(), static_cast<uInt>(head.size()));
    if (!rest.empty()) crc = ::crc32(crc, rest.data(), static_cast<uInt>(rest.size()));
    return static_cast<std::uint32_t>(crc) ^ 0x5354554eu;
}

std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username, std::string_view realm, std::string_view password) noexcept {
    return digest<16>(EVP_md5(), username, realm, password);
}

Sha256Digest long_term_key_sha256(std::string_view username, std::string_view realm, std::string_view password) noexcept {
    return digest<32>(EVP_sha256(), username, realm, password);
}

bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace switchboard::stun
