// Fuzz target: JWT verification (auth/jwt) with an HMAC secret, an RSA and an EC P-256 public
// key configured, at a fixed "now". It must never crash, and whatever it returns must be
// consistent with the input.
//
// Input layout: [mode] [bytes...]
//   mode bit 0 clear: the bytes are a compact token, verified as they are. Only tokens built
//     from the seeds (signed with the secret below) get past the signature.
//   mode bit 0 set: the bytes are a claims payload; it is signed with the secret and verified,
//     so the claims reader sees arbitrary JSON behind a good signature.
//   mode bit 1: use a verifier that requires an audience and an issuer, with leeway.
#include "auth/jwt.hpp"

#include "base/utf8.hpp"
#include "fuzz_check.hpp"
#include "json/reader.hpp"

#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {
using namespace switchboard;
using auth::TokenError;

constexpr std::string_view kSecret = "switchboard-fuzz-secret";
constexpr std::int64_t kNow = 1700000000;

// Public halves of throwaway keys; the seed tokens were signed with their private halves.
constexpr std::string_view kEcPublicPem = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEcwhvWuZV4sQlKzqAid2g+yk0m28v
p4g5hf47Y+WVfPF8+IZpoxkiEWTbT7w6Zq/Yk/4+dLKDvJvYpcUv4OgDxQ==
-----END PUBLIC KEY-----
)";
constexpr std::string_view kRsaPublicPem = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7W0GKoSlEkf8r0+BdZ/z
bF3u+WUpkEhmQQprDPy/radC+60CeDM6Y5lbT/igA4X+0210NTYn1WWbXfJfCVAz
AkLNs7Oryk1XKciuOIUOLKdPGhA9HYJmgXL3cJ5WKgziZF4yAv5AOYHcqclHUEN/
F3clYsDT3VnrN0GUJCX17HeJ1lipj3dWbMB6jgKEOBiI59dodR3Q8ty7vbR0bog7
JGiLXxomgruFoOl4XpPRFBF6nOJGmYMJyAj6zgv68g40YByNJoIRRKgnLwZe67Ch
oTOsoYMbKdAT9XXtxwlfPCiYf4HlqYfN2hJRkHn+slv+gQ8esmU9lvYoyn6d63i1
hwIDAQAB
-----END PUBLIC KEY-----
)";

auth::Verifier make_verifier(bool strict) {
    auth::Verifier v;
    v.set_hmac_secret(std::string(kSecret));
    v.add_public_key_pem(kEcPublicPem);
    v.add_public_key_pem(kRsaPublicPem);
    if (strict)
        v.set_options({.audience = "switchboard", .issuer = "auth", .leeway_seconds = 30});
    return v;
}

bool utf8(std::string_view s) {
    return is_valid_utf8({reinterpret_cast<const std::uint8_t *>(s.data()), s.size()});
}

void check_claims(const auth::Claims &c, bool strict) {
    SB_FUZZ_CHECK(utf8(c.sub) && utf8(c.channel) && utf8(c.aud) && utf8(c.iss));
    for (const auto &ch : c.channels)
        SB_FUZZ_CHECK(utf8(ch));
    if (!c.info.empty()) {
        json::Value v;
        SB_FUZZ_CHECK(json::parse(c.info, v) == json::Error::None);
        SB_FUZZ_CHECK(v.raw.size() == c.info.size()); // raw: no surrounding whitespace
    }
    if (strict)
        SB_FUZZ_CHECK(c.aud == "switchboard" && c.iss == "auth");
    // A zero exp means "absent"; a present one is in the future (leeway aside).
    if (c.exp != 0)
        SB_FUZZ_CHECK(c.exp > kNow - (strict ? 30 : 0));
    if (c.nbf != 0)
        SB_FUZZ_CHECK(c.nbf <= kNow + (strict ? 30 : 0));
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    static const auth::Verifier plain = make_verifier(false);
    static const auth::Verifier strict = make_verifier(true);
    if (size < 1)
        return 0;
    const std::uint8_t mode = data[0];
    const std::string_view bytes(reinterpret_cast<const char *>(data + 1), size - 1);
    const bool is_strict = mode & 2;
    const auth::Verifier &v = is_strict ? strict : plain;

    std::string token;
    const bool signed_here = mode & 1;
    if (signed_here)
        token = auth::sign_hs256(kSecret, bytes);
    else
        token.assign(bytes);

    auto r = v.verify(token, kNow);
    SB_FUZZ_CHECK(ERR_peek_error() == 0); // no stale OpenSSL errors left for the TLS code
    SB_FUZZ_CHECK(auth::token_error_text(r.ok() ? TokenError::NoKey : r.error()) != nullptr);
    // Verification is a pure function of the token.
    auto again = v.verify(token, kNow);
    SB_FUZZ_CHECK(again.ok() == r.ok() && (r.ok() || again.error() == r.error()));

    if (r.ok()) {
        SB_FUZZ_CHECK(token.size() <= auth::kMaxTokenSize);
        check_claims(*r, is_strict);
    } else if (signed_here && token.size() <= auth::kMaxTokenSize) {
        // Our own signature is good: only the claims can be wrong.
        const TokenError e = r.error();
        SB_FUZZ_CHECK(e == TokenError::Malformed || e == TokenError::BadClaims ||
                      e == TokenError::Expired || e == TokenError::NotYetValid);
        if (e == TokenError::Malformed) { // only when the payload is not JSON at all
            json::Value root;
            SB_FUZZ_CHECK(bytes.empty() || json::parse(bytes, root) != json::Error::None);
        }
    }
    return 0;
}
