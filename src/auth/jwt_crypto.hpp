#pragma once
// The OpenSSL 3 adapter shared by JWT verification (jwt.cpp) and signing (jwt_sign.cpp): owners
// for OpenSSL objects, the algorithms of RFC 7518 §3 we accept, and the HMAC/ECDSA/RSA pieces.
// Internal to the auth library: not part of its API. Thread-safe as OpenSSL 3 is; the error
// queue each call may fill is per thread (see ErrorQueueGuard).
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace switchboard::auth::detail {

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
int no_passphrase(char*, int, int, void*);

/// A read-only memory BIO over `pem`, which must outlive it. Throws std::invalid_argument when
/// the text is too large for OpenSSL's int length.
std::unique_ptr<BIO, BioDeleter> memory_bio(std::string_view pem);

enum class Family : std::uint8_t { Hmac, Rsa, Ec };

struct Algorithm {
    std::string_view name;
    Family family;
    const EVP_MD* (*md)();
    const char* md_name; // for EVP_Q_mac
};

/// The accepted algorithm called `name` ("HS256", ...), or nullptr (also for "none").
const Algorithm* find_algorithm(std::string_view name) noexcept;

/// HMAC of `data` under `key` with alg's hash; `out` holds EVP_MAX_MD_SIZE bytes.
bool hmac(const Algorithm& alg, std::string_view key, std::string_view data, unsigned char* out,
          std::size_t& out_len);

// RFC 7518 §3.4: ES256 signatures are the fixed-width R || S; EVP wants DER (X9.62).
bool raw_ecdsa_to_der(std::string_view raw, std::string& der);
bool der_ecdsa_to_raw(const unsigned char* der, std::size_t len, std::string& raw);

bool verify_with_key(EVP_PKEY* key, const Algorithm& alg, std::string_view data,
                     std::string_view signature);

// Checks the key is one we can use and says which family it belongs to; throws otherwise.
Family check_key(EVP_PKEY* key);

} // namespace switchboard::auth::detail
