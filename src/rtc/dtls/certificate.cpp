#include "rtc/dtls/certificate.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cctype>
#include <stdexcept>

namespace switchboard::rtc::dtls {

namespace {
[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("DTLS certificate: ") + what); }
} // namespace

std::shared_ptr<const Certificate> Certificate::generate(std::string_view common_name) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) fail("cannot generate a P-256 key");
    X509* x = X509_new();
    if (!x) {
        EVP_PKEY_free(key);
        fail("X509_new");
    }
    bool ok = X509_set_version(x, 2) == 1;
    // A random positive serial: browsers refuse to reuse (issuer, serial) pairs with new keys.
    unsigned char serial[16];
    ok = ok && RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f;
    BIGNUM* bn = ok ? BN_bin2bn(serial, sizeof serial, nullptr) : nullptr;
    ok = ok && bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -86400) && X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
    X509_NAME* name = X509_get_subject_name(x);
    std::string cn(common_name);
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                          -1, 0) == 1;
    ok = ok && X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1 && X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        EVP_PKEY_free(key);
        fail("cannot make the self-signed certificate");
    }
    return std::shared_ptr<const Certificate>(new Certificate(x, key));
}

Certificate::Certificate(X509* x509, EVP_PKEY* key) : x509_(x509), key_(key) {
    fingerprint_ = "sha-256 " + sha256_fingerprint(x509_);
}

Certificate::~Certificate() {
    X509_free(x509_);
    EVP_PKEY_free(key_);
}

std::string sha256_fingerprint(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(n * 3);
    for (unsigned int i = 0; i < n; ++i) {
        if (i) out += ':';
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

bool same_fingerprint(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size() || a.empty()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
    return true;
}

} // namespace switchboard::rtc::dtls
