#pragma once
// Certificate: the self-signed ECDSA P-256 identity a WebRTC endpoint presents in DTLS; the
// peer learns it only through the SHA-256 fingerprint in the SDP (RFC 8122, RFC 8827 §6.5).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace switchboard::rtc::dtls {

class Certificate {
  public:
    /// A new key pair and a certificate valid from a day ago for 30 days. Throws
    /// std::runtime_error if OpenSSL fails (startup, not the data plane).
    static std::shared_ptr<const Certificate> generate(std::string_view common_name = "switchboard");
    ~Certificate();
    Certificate(const Certificate&) = delete;
    Certificate& operator=(const Certificate&) = delete;

    /// "sha-256 AB:CD:..." as in a=fingerprint.
    const std::string& fingerprint() const noexcept { return fingerprint_; }
    X509* x509() const noexcept { return x509_; }
    EVP_PKEY* key() const noexcept { return key_; }

  private:
    Certificate(X509* x509, EVP_PKEY* key);
    X509* x509_;
    EVP_PKEY* key_;
    std::string fingerprint_;
};

/// "AB:CD:..." of the SHA-256 digest of a certificate's DER (upper-case hex, as browsers write).
std::string sha256_fingerprint(X509* cert);

/// Compares fingerprints as RFC 8122 §5 asks: hex digits without regard to case.
bool same_fingerprint(std::string_view a, std::string_view b) noexcept;

} // namespace switchboard::rtc::dtls
