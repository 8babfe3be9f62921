#include "auth/jwt.hpp"

#include "json/reader.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

// ---- base64url -------------------------------------------------------------------------------

namespace {
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}
} // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.push_back(kB64[(v >> 6) & 63]);
        out.push_back(kB64[v & 63]);
    }
    if (bytes.size() - i == 1) {
        const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
    } else if (bytes.size() - i == 2) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.push_back(kB64[(v >> 6) & 63]);
    }
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    out.clear();
    // A final group of one character cannot carry a whole byte.
    if (text.size() % 4 == 1) return false;
    out.reserve(text.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = b64_value(c);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // RFC 4648 §3.5: the leftover bits must be zero, or two encodings would decode alike.
    return (acc & ((1u << bits) - 1)) == 0;
}

// ---- OpenSSL helpers ---------------------------------------------------------------------------

namespace {

struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct EcdsaSigDeleter {
    void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};
struct X509Deleter {
    void operator()(X509* p) const noexcept { X509_free(p); }
};

// A failed check leaves entries in this thread's OpenSSL error queue; left there, they would be
// picked up by the next unrelated caller on the thread (the TLS code reads the queue after
// SSL_read/SSL_write). Every path out of the crypto below clears it.
struct ErrorQueueGuard {
    ~ErrorQueueGuard() { ERR_clear_error(); }
};

// Never prompt on the terminal for a pass phrase: encrypted keys simply fail to load.
int no_passphrase(char*, int, int, void*) { return 0; }

std::unique_ptr<BIO, BioDeleter> memory_bio(std::string_view pem) {
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::invalid_argument("PEM text too large");
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::runtime_error("out of memory reading a PEM key");
    return bio;
}

enum class Family : std::uint8_t { Hmac, Rsa, Ec };

struct Algorithm {
    std::string_view name;
    Family family;
    const EVP_MD* (*md)();
    const char* md_name; // for EVP_Q_mac
};

// RFC 7518 §3.1, the subset we accept.
constexpr Algorithm kAlgorithms[] = {
    {"HS256", Family::Hmac, EVP_sha256, "SHA256"}, {"HS384", Family::Hmac, EVP_sha384, "SHA384"},
    {"HS512", Family::Hmac, EVP_sha512, "SHA512"}, {"RS256", Family::Rsa, EVP_sha256, "SHA256"},
    {"RS384", Family::Rsa, EVP_sha384, "SHA384"},  {"RS512", Family::Rsa, EVP_sha512, "SHA512"},
    {"ES256", Family::Ec, EVP_sha256, "SHA256"},
};

const Algorithm* find_algorithm(std::string_view name) noexcept {
    for (const auto& a : kAlgorithms)
        if (a.name == name) return &a;
    return nullptr;
}

constexpr std::size_t kEs256SignatureSize = 64; // RFC 7518 §3.4: R || S, 32 octets each

bool hmac(const Algorithm& alg, std::string_view key, std::string_view data, unsigned char* out,
          std::size_t& out_len) {
    static const char kEmpty[1] = {};
    const void* k = key.empty() ? kEmpty : key.data(); // OpenSSL wants a pointer even for ""
    return EVP_Q_mac(nullptr, "HMAC", nullptr, alg.md_name, nullptr, k, key.size(),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                     EVP_MAX_MD_SIZE, &out_len) != nullptr;
}

// RFC 7518 §3.4: ES256 signatures are the fixed-width R || S; EVP wants DER (X9.62).
bool raw_ecdsa_to_der(std::string_view raw, std::string& der) {
    if (raw.size() != kEs256SignatureSize) return false;
    std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(ECDSA_SIG_new());
    if (!sig) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    BIGNUM* r = BN_bin2bn(p, 32, nullptr);
    BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
    if (!r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return false;
    }
    const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return false;
    der.resize(static_cast<std::size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

bool der_ecdsa_to_raw(const unsigned char* der, std::size_t len, std::string& raw) {
    const unsigned char* p = der;
    std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
    if (!sig) return false;
    raw.assign(kEs256SignatureSize, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    return BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, 32) == 32 &&
           BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + 32, 32) == 32;
}

bool verify_with_key(EVP_PKEY* key, const Algorithm& alg, std::string_view data,
                     std::string_view signature) {
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, alg.md(), nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

// Checks the key is one we can use and says which family it belongs to; throws otherwise.
Family check_key(EVP_PKEY* key) {
    const int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(key) < 2048)
            throw std::invalid_argument(
                "RSA keys for JWT must have at least 2048 bits (RFC 7518 §3.3)");
        return Family::Rsa;
    }
    if (id == EVP_PKEY_EC) {
        char group[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 ||
            std::string_view(group, len) != "prime256v1")
            throw std::invalid_argument("EC keys for JWT must be on P-256 (ES256)");
        return Family::Ec;
    }
    throw std::invalid_argument("unsupported JWT key type (need RSA or EC P-256)");
}

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

// ---- Signing -----------------------------------------------------------------------------------

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
