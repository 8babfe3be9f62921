// Verification: the Verifier's keys, the JOSE header, the signature check and the claims.
// Signing is in jwt_sign.cpp, the OpenSSL pieces both use in jwt_crypto.cpp.
#include "auth/jwt.hpp"

#include "auth/base64url.hpp"
#include "auth/jwt_crypto.hpp"
#include "json/reader.hpp"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

namespace switchboard::auth {

const char* token_error_text(TokenError e) noexcept {
    switch (e) {
    case TokenError::Malformed: return "malformed token";
    case TokenError::UnsupportedAlgorithm: return "unsupported token algorithm";
    case TokenError::BadSignature: return "invalid token signature";
    case TokenError::Expired: return "token expired";
    case TokenError::NotYetValid: return "token not valid yet";
    case TokenError::BadClaims: return "invalid token claims";
    case TokenError::NoKey: return "no key configured to verify tokens";
    }
    return "invalid token";
}

using detail::Algorithm;
using detail::check_key;
using detail::ErrorQueueGuard;
using detail::Family;
using detail::find_algorithm;
using detail::hmac;
using detail::memory_bio;
using detail::no_passphrase;
using detail::PkeyPtr;
using detail::raw_ecdsa_to_der;
using detail::verify_with_key;
using detail::X509Deleter;

namespace {

// Saturating, so extreme timestamps and leeways cannot overflow the comparisons.
std::int64_t add_sat(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t r;
    if (!__builtin_add_overflow(a, b, &r)) return r;
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
}

// RFC 7519 §2 NumericDate: seconds, possibly fractional. Rounded down, clamped to int64.
bool numeric_date(json::Value v, std::int64_t& out) {
    if (json::get_i64(v, out)) return true;
    double d;
    if (!json::get_double(v, d)) return false;
    d = std::floor(d);
    // 2^63 is exact as a double; anything at or past it clamps.
    constexpr double kLimit = 9223372036854775808.0;
    if (d >= kLimit) out = std::numeric_limits<std::int64_t>::max();
    else if (d < -kLimit) out = std::numeric_limits<std::int64_t>::min();
    else out = static_cast<std::int64_t>(d);
    return true;
}

bool get_string_claim(json::Value v, std::string& out) {
    std::string_view plain;
    if (json::plain_string(v, plain)) {
        out.assign(plain);
        return true;
    }
    return json::get_string(v, out);
}

} // namespace

// ---- Verifier ----------------------------------------------------------------------------------

struct Verifier::Impl {
    std::string hmac_secret; // empty: no HMAC key
    std::vector<PkeyPtr> rsa_keys;
    std::vector<PkeyPtr> ec_keys;
    VerifierOptions options;

    bool has_family(Family f) const noexcept {
        switch (f) {
        case Family::Hmac: return !hmac_secret.empty();
        case Family::Rsa: return !rsa_keys.empty();
        case Family::Ec: return !ec_keys.empty();
        }
        return false;
    }
    bool check_signature(const Algorithm& alg, std::string_view signing_input,
                         std::string_view signature) const;
    Result<Claims, TokenError> read_claims(std::string_view payload, std::int64_t now) const;
};

Verifier::Verifier() : impl_(std::make_unique<Impl>()) {}
Verifier::~Verifier() = default;
Verifier::Verifier(Verifier&&) noexcept = default;
Verifier& Verifier::operator=(Verifier&&) noexcept = default;

void Verifier::set_hmac_secret(std::string secret) {
    if (!impl_) impl_ = std::make_unique<Impl>();
    impl_->hmac_secret = std::move(secret);
}

void Verifier::add_public_key_pem(std::string_view pem) {
    if (!impl_) impl_ = std::make_unique<Impl>();
    ErrorQueueGuard guard;
    PkeyPtr key;
    {
        auto bio = memory_bio(pem);
        key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    }
    if (!key) {
        auto bio = memory_bio(pem);
        std::unique_ptr<X509, X509Deleter> cert(
            PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
        if (cert) key.reset(X509_get_pubkey(cert.get()));
    }
    if (!key)
        throw std::invalid_argument(
            "not a PEM public key or certificate (expected \"BEGIN PUBLIC KEY\")");
    switch (check_key(key.get())) {
    case Family::Rsa: impl_->rsa_keys.push_back(std::move(key)); break;
    case Family::Ec: impl_->ec_keys.push_back(std::move(key)); break;
    case Family::Hmac: break;
    }
}

void Verifier::set_options(VerifierOptions options) {
    if (!impl_) impl_ = std::make_unique<Impl>();
    impl_->options = std::move(options);
}

bool Verifier::has_keys() const noexcept {
    return impl_ && (!impl_->hmac_secret.empty() || !impl_->rsa_keys.empty() ||
                     !impl_->ec_keys.empty());
}

bool Verifier::Impl::check_signature(const Algorithm& alg, std::string_view signing_input,
                                     std::string_view signature) const {
    ErrorQueueGuard guard;
    switch (alg.family) {
    case Family::Hmac: {
        unsigned char mac[EVP_MAX_MD_SIZE];
        std::size_t len = 0;
        if (!hmac(alg, hmac_secret, signing_input, mac, len)) return false;
        // The length is public; the bytes are compared in constant time.
        return signature.size() == len && CRYPTO_memcmp(mac, signature.data(), len) == 0;
    }
    case Family::Rsa:
        for (const auto& key : rsa_keys)
            if (verify_with_key(key.get(), alg, signing_input, signature)) return true;
        return false;
    case Family::Ec: {
        std::string der;
        if (!raw_ecdsa_to_der(signature, der)) return false;
        for (const auto& key : ec_keys)
            if (verify_with_key(key.get(), alg, signing_input, der)) return true;
        return false;
    }
    }
    return false;
}

Result<Claims, TokenError> Verifier::verify(std::string_view token, std::int64_t now_unix) const {
    if (!has_keys()) return Err{TokenError::NoKey};
    if (token.empty() || token.size() > kMaxTokenSize) return Err{TokenError::Malformed};
    // RFC 7515 §7.1: exactly three parts; a JWE (five parts) is not for us.
    const std::size_t dot1 = token.find('.');
    if (dot1 == std::string_view::npos) return Err{TokenError::Malformed};
    const std::size_t dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return Err{TokenError::Malformed};
    const std::string_view header_b64 = token.substr(0, dot1);
    const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const std::string_view signature_b64 = token.substr(dot2 + 1);
    // All three parts are decoded before anything is checked, so a token that is not valid
    // base64url is Malformed whatever else is wrong with it. The claims are parsed only after
    // the signature is good.
    std::string header, payload, signature;
    if (header_b64.empty() || payload_b64.empty() || !base64url_decode(header_b64, header) ||
        !base64url_decode(payload_b64, payload) || !base64url_decode(signature_b64, signature))
        return Err{TokenError::Malformed};

    // The JOSE header (RFC 7515 §4.1).
    json::Value root;
    if (json::parse(header, root) != json::Error::None || root.kind != json::Kind::Object)
        return Err{TokenError::Malformed};
    const Algorithm* alg = nullptr;
    int alg_members = 0;
    bool bad_header = false;
    json::for_each_member(root, [&](std::string_view key, json::Value v) {
        if (json::key_is(key, "alg")) {
            std::string name;
            ++alg_members;
            if (!get_string_claim(v, name)) bad_header = true;
            else alg = find_algorithm(name);
        } else if (json::key_is(key, "crit")) {
            // §4.1.11: extensions we do not understand make the JWS invalid; we know none.
            bad_header = true;
        }
        return !bad_header;
    });
    // A repeated "alg" could be read differently by another parser: refuse to guess.
    if (bad_header || alg_members != 1) return Err{TokenError::Malformed};
    if (!alg || !impl_->has_family(alg->family)) return Err{TokenError::UnsupportedAlgorithm};

    // §5.2: the signature covers the ASCII of the first two parts exactly as they were sent.
    if (!impl_->check_signature(*alg, token.substr(0, dot2), signature))
        return Err{TokenError::BadSignature};
    return impl_->read_claims(payload, now_unix);
}

Result<Claims, TokenError> Verifier::Impl::read_claims(std::string_view payload,
                                                       std::int64_t now) const {
    json::Value root;
    if (json::parse(payload, root) != json::Error::None) return Err{TokenError::Malformed};
    if (root.kind != json::Kind::Object) return Err{TokenError::BadClaims};

    Claims c;
    bool has_exp = false, has_nbf = false, has_iss = false, aud_match = false, ok = true;
    // RFC 7519 §4: claim names must be unique; a repeated known claim is rejected.
    unsigned seen = 0;
    auto first_time = [&](unsigned bit) {
        if (seen & bit) return false;
        seen |= bit;
        return true;
    };
    // §4.1.3: "aud" is a single string or an array of strings.
    auto read_aud = [&](json::Value v) {
        auto note = [&](json::Value e) {
            std::string aud;
            if (!get_string_claim(e, aud)) return false;
            if (!options.audience.empty()) aud_match = aud_match || aud == options.audience;
            else if (c.aud.empty()) c.aud = std::move(aud);
            return true;
        };
        if (v.kind != json::Kind::Array) return note(v);
        bool all = true;
        json::for_each_element(v, [&](json::Value e) {
            all = note(e);
            return all;
        });
        return all;
    };
    json::for_each_member(root, [&](std::string_view key, json::Value v) {
        if (json::key_is(key, "sub")) {
            ok = first_time(1) && get_string_claim(v, c.sub);
        } else if (json::key_is(key, "exp")) {
            ok = first_time(2) && numeric_date(v, c.exp);
            has_exp = true;
        } else if (json::key_is(key, "nbf")) {
            ok = first_time(4) && numeric_date(v, c.nbf);
            has_nbf = true;
        } else if (json::key_is(key, "iat")) {
            ok = first_time(8) && numeric_date(v, c.iat);
        } else if (json::key_is(key, "channel")) {
            ok = first_time(16) && get_string_claim(v, c.channel);
        } else if (json::key_is(key, "channels")) {
            ok = first_time(32) && v.kind == json::Kind::Array;
            if (ok) {
                json::for_each_element(v, [&](json::Value e) {
                    std::string ch;
                    ok = get_string_claim(e, ch);
                    if (ok) c.channels.push_back(std::move(ch));
                    return ok;
                });
            }
        } else if (json::key_is(key, "info")) {
            ok = first_time(64);
            c.info.assign(v.raw);
        } else if (json::key_is(key, "aud")) {
            ok = first_time(128) && read_aud(v);
        } else if (json::key_is(key, "room")) {
            ok = first_time(512) && get_string_claim(v, c.room);
        } else if (json::key_is(key, "grants")) {
            ok = first_time(1024) && v.kind == json::Kind::Object;
            if (ok) {
                json::for_each_member(v, [&](std::string_view k2, json::Value g) {
                    bool* flag = json::key_is(k2, "publish")     ? &c.may_publish
                                 : json::key_is(k2, "subscribe") ? &c.may_subscribe
                                 : json::key_is(k2, "data")      ? &c.may_send_data
                                                                 : nullptr;
                    if (flag && !json::get_bool(g, *flag)) ok = false;
                });
            }
        } else if (json::key_is(key, "iss")) {
            ok = first_time(256) && get_string_claim(v, c.iss);
            has_iss = true;
        }
        return ok;
    });
    if (!ok) return Err{TokenError::BadClaims};

    const std::int64_t leeway = options.leeway_seconds > 0 ? options.leeway_seconds : 0;
    // RFC 7519 §4.1.4: the token must not be accepted on or after exp.
    if (has_exp && c.exp <= add_sat(now, -leeway)) return Err{TokenError::Expired};
    // §4.1.5: nor before nbf.
    if (has_nbf && c.nbf > add_sat(now, leeway)) return Err{TokenError::NotYetValid};
    if (!options.audience.empty()) {
        if (!aud_match) return Err{TokenError::BadClaims};
        c.aud = options.audience;
    }
    if (!options.issuer.empty() && (!has_iss || c.iss != options.issuer))
        return Err{TokenError::BadClaims};
    return c;
}

} // namespace switchboard::auth
