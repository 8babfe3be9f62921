#include "auth/jwt_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include <limits>
#include <stdexcept>

namespace switchboard::auth::detail {

namespace {

struct EcdsaSigDeleter {
    void operator()(ECDSA_SIG* p) const noexcept { ECDSA_SIG_free(p); }
};

// RFC 7518 §3.1, the subset we accept.
constexpr Algorithm kAlgorithms[] = {
    {"HS256", Family::Hmac, EVP_sha256, "SHA256"}, {"HS384", Family::Hmac, EVP_sha384, "SHA384"},
    {"HS512", Family::Hmac, EVP_sha512, "SHA512"}, {"RS256", Family::Rsa, EVP_sha256, "SHA256"},
    {"RS384", Family::Rsa, EVP_sha384, "SHA384"},  {"RS512", Family::Rsa, EVP_sha512, "SHA512"},
    {"ES256", Family::Ec, EVP_sha256, "SHA256"},
};

constexpr std::size_t kEs256SignatureSize = 64; // RFC 7518 §3.4: R || S, 32 octets each

} // namespace

int no_passphrase(char*, int, int, void*) { return 0; }

std::unique_ptr<BIO, BioDeleter> memory_bio(std::string_view pem) {
    if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::invalid_argument("PEM text too large");
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::runtime_error("out of memory reading a PEM key");
    return bio;
}

const Algorithm* find_algorithm(std::string_view name) noexcept {
    for (const auto& a : kAlgorithms)
        if (a.name == name) return &a;
    return nullptr;
}

bool hmac(const Algorithm& alg, std::string_view key, std::string_view data, unsigned char* out,
          std::size_t& out_len) {
    static const char kEmpty[1] = {};
    const void* k = key.empty() ? kEmpty : key.data(); // OpenSSL wants a pointer even for ""
    return EVP_Q_mac(nullptr, "HMAC", nullptr, alg.md_name, nullptr, k, key.size(),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                     EVP_MAX_MD_SIZE, &out_len) != nullptr;
}

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

} // namespace switchboard::auth::detail
