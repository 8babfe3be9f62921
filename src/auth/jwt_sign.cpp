// Signing compact JWS tokens (the `token` command and the tests). Verification is in jwt.cpp.
#include "auth/jwt.hpp"

#include "auth/base64url.hpp"
#include "auth/jwt_crypto.hpp"

#include <openssl/pem.h>

#include <stdexcept>
#include <utility>

namespace switchboard::auth {

using detail::Algorithm;
using detail::check_key;
using detail::der_ecdsa_to_raw;
using detail::ErrorQueueGuard;
using detail::Family;
using detail::find_algorithm;
using detail::hmac;
using detail::MdCtxDeleter;
using detail::memory_bio;
using detail::no_passphrase;
using detail::PkeyPtr;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string signing_input(std::string_view alg, std::string_view payload_json) {
    std::string header = R"({"alg":")";
    header.append(alg);
    header.append(R"(","typ":"JWT"})");
    std::string out = base64url_encode(bytes_of(header));
    out.push_back('.');
    out.append(base64url_encode(bytes_of(payload_json)));
    return out;
}
} // namespace

std::string sign_hs256(std::string_view secret, std::string_view payload_json) {
    ErrorQueueGuard guard;
    std::string token = signing_input("HS256", payload_json);
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!hmac(*find_algorithm("HS256"), secret, token, mac, len))
        throw std::runtime_error("HMAC-SHA256 failed");
    token.push_back('.');
    token.append(base64url_encode({mac, len}));
    return token;
}

std::string sign_with_pem(std::string_view private_key_pem, std::string_view alg_name,
                          std::string_view payload_json) {
    ErrorQueueGuard guard;
    const Algorithm* alg = find_algorithm(alg_name);
    if (!alg || alg->family == Family::Hmac)
        throw std::invalid_argument(
            "sign_with_pem: unsupported algorithm (use RS256/384/512 or ES256)");
    PkeyPtr key;
    {
        auto bio = memory_bio(private_key_pem);
        key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    }
    if (!key) throw std::invalid_argument("not an unencrypted PEM private key");
    if (check_key(key.get()) != alg->family)
        throw std::invalid_argument("the private key does not fit the algorithm");

    std::string token = signing_input(alg->name, payload_json);
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(token.data());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, alg->md(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len, data, token.size()) != 1)
        throw std::runtime_error("JWT signing failed");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                       token.size()) != 1)
        throw std::runtime_error("JWT signing failed");
    sig.resize(len);
    if (alg->family == Family::Ec) {
        std::string raw;
        if (!der_ecdsa_to_raw(reinterpret_cast<const unsigned char*>(sig.data()), sig.size(), raw))
            throw std::runtime_error("ECDSA signature conversion failed");
        sig = std::move(raw);
    }
    token.push_back('.');
    token.append(base64url_encode(bytes_of(sig)));
    return token;
}

} // namespace switchboard::auth
