#pragma once
// JSON Web Tokens (RFC 7519) in JWS compact serialisation (RFC 7515 §7.1):
//
//     BASE64URL(header) '.' BASE64URL(claims) '.' BASE64URL(signature)
//
// signed with HMAC-SHA2 (HS256/384/512), RSASSA-PKCS1-v1_5 (RS256/384/512) or ECDSA P-256
// (ES256), RFC 7518 §3. The algorithm a token names must belong to a key family the server was
// configured with, so a token cannot pick how it is checked: "none" is never accepted, and an
// HS256 token "signed" with a public key's PEM text fails when only public keys are configured
// (the algorithm-confusion attack). Crypto goes through OpenSSL 3's EVP interfaces only.
#include "auth/base64url.hpp" // base64url_encode/decode are part of this API
#include "base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::auth {

enum class TokenError : std::uint8_t {
    Malformed,            // not three base64url parts, bad header JSON, "crit", over 8 KiB
    UnsupportedAlgorithm, // "none", unknown, or no configured key of the alg's family
    BadSignature,
    Expired,              // exp <= now - leeway
    NotYetValid,          // nbf > now + leeway
    BadClaims,            // a known claim of the wrong type or repeated; aud/iss mismatch
    NoKey,                // the verifier has no keys at all
};

/// Short English reason: "token expired", "invalid token signature", ... Never null.
const char* token_error_text(TokenError e) noexcept;

/// Tokens longer than this are Malformed without being decoded.
inline constexpr std::size_t kMaxTokenSize = 8 * 1024;

/// The claims the server uses. Unknown claims are ignored.
struct Claims {
    std::string sub;                      // user id ("" allowed = anonymous user with a token)
    std::int64_t exp = 0, nbf = 0, iat = 0; // 0 = absent; fractional NumericDates round down
    std::string channel;                  // subscription tokens: the channel this token grants
    /// Connection tokens: channels the user may subscribe to without a subscription token
    /// ("channels" claim, array of strings).
    std::vector<std::string> channels;
    /// Raw JSON of the "info" claim (any JSON value, as it appeared in the token; "" if absent).
    /// Attached to presence/publications.
    std::string info;
    /// "" if absent. "aud" may be a string or an array of strings: this is the entry that
    /// matched VerifierOptions::audience, or the first one when no audience is configured.
    std::string aud;
    std::string iss; // "" if absent
    /// Room tokens (signal/): the room this token admits to ("" if absent), and what the
    /// participant may do there ("grants" object; a grant that is absent is given).
    std::string room;
    bool may_publish = true, may_subscribe = true, may_send_data = true;
};

struct VerifierOptions {
    /// When set, a token must carry it in "aud" (RFC 7519 §4.1.3); when empty, "aud" is not
    /// checked.
    std::string audience;
    /// When set, "iss" must equal it; when empty, "iss" is not checked.
    std::string issuer;
    /// Clock skew allowed on exp and nbf, in seconds (negative counts as 0).
    std::int64_t leeway_seconds = 0;
};

/// Holds keys configured at startup; verify() is const and safe to call from many threads at
/// once. The setters are not thread-safe: configure before sharing. Movable, not copyable; a
/// moved-from Verifier has no keys.
class Verifier {
  public:
    Verifier();
    ~Verifier();
    Verifier(Verifier&&) noexcept;
    Verifier& operator=(Verifier&&) noexcept;
    Verifier(const Verifier&) = delete;
    Verifier& operator=(const Verifier&) = delete;

    /// HS256 (also HS384/HS512 with the same secret). An empty secret removes the HMAC key:
    /// tokens MACed with an empty key are never accepted.
    void set_hmac_secret(std::string secret);
    /// RSA (RS256/RS384/RS512, at least 2048 bits, RFC 7518 §3.3) or EC P-256 (ES256), as a
    /// "PUBLIC KEY" (SubjectPublicKeyInfo) or a "CERTIFICATE" PEM. May be called more than
    /// once (key rotation): a token verifies if any key of its family accepts it.
    /// Throws std::invalid_argument on a bad or unsupported key (startup).
    void add_public_key_pem(std::string_view pem);
    void set_options(VerifierOptions options);
    bool has_keys() const noexcept;
    /// Checks size, structure, algorithm, signature, then the claims and times against
    /// `now_unix` (seconds since the epoch). The claims are decoded only once the signature
    /// is good.
    Result<Claims, TokenError> verify(std::string_view token, std::int64_t now_unix) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Signs a compact JWS with HS256 over the given JSON payload (already serialised). The header
/// is {"alg":"HS256","typ":"JWT"}.
std::string sign_hs256(std::string_view secret, std::string_view payload_json);
/// The same for ES256 or RS256/RS384/RS512 with a PEM private key (used by tests and by the
/// `token` command); throws std::invalid_argument on a bad key, an unsupported alg or a key
/// that does not fit the alg.
std::string sign_with_pem(std::string_view private_key_pem, std::string_view alg,
                          std::string_view payload_json);

} // namespace switchboard::auth
