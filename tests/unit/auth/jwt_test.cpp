// JWT verification and signing against RFC 7515 (JWS compact form, Appendix A.1 example),
// RFC 7518 §3 (HS/RS/ES algorithms, raw R||S ECDSA signatures), RFC 7519 §4 (claims, exp/nbf,
// aud) and RFC 4648 §5 (base64url). Keys are generated per run with OpenSSL.
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace switchboard::auth {

inline std::ostream &operator<<(std::ostream &os, TokenError e) {
    return os << token_error_text(e);
}

namespace {

// ---- Helpers -------------------------------------------------------------------------------

std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t *>(s.data()), s.size()};
}
std::string b64(std::string_view s) { return base64url_encode(bytes(s)); }

std::string unb64(std::string_view s) {
    std::string out;
    EXPECT_TRUE(base64url_decode(s, out)) << s;
    return out;
}

struct KeyPair {
    std::string private_pem, public_pem;
};

std::string bio_text(BIO *bio) {
    char *data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

KeyPair pems_of(EVP_PKEY *key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
    if (PEM_write_bio_PrivateKey(priv.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_PUBKEY(pub.get(), key) != 1)
        throw std::runtime_error("PEM write failed");
    return {bio_text(priv.get()), bio_text(pub.get())};
}

KeyPair generate_rsa(std::size_t bits) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", bits), EVP_PKEY_free);
    if (!key)
        throw std::runtime_error("RSA keygen failed");
    return pems_of(key.get());
}

KeyPair generate_ec(const char *curve) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve), EVP_PKEY_free);
    if (!key)
        throw std::runtime_error("EC keygen failed");
    return pems_of(key.get());
}

KeyPair generate_ed25519() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
    if (!key)
        throw std::runtime_error("Ed25519 keygen failed");
    return pems_of(key.get());
}

// A token with any header, MACed with `secret` using `md` ("SHA256", "SHA384", "SHA512").
std::string hmac_token(std::string_view header, std::string_view payload, std::string_view secret,
                       const char *md = "SHA256") {
    std::string input = b64(header) + "." + b64(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    static const char kEmpty[1] = {};
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, secret.empty() ? kEmpty : secret.data(),
                   secret.size(), reinterpret_cast<const unsigned char *>(input.data()),
                   input.size(), mac, sizeof mac, &len))
        throw std::runtime_error("HMAC failed");
    return input + "." + base64url_encode({mac, len});
}

struct Parts {
    std::string header, payload, signature; // still base64url
};
Parts split(std::string_view token) {
    std::size_t a = token.find('.'), b = token.find('.', a + 1);
    return {std::string(token.substr(0, a)), std::string(token.substr(a + 1, b - a - 1)),
            std::string(token.substr(b + 1))};
}
std::string join(const Parts &p) { return p.header + "." + p.payload + "." + p.signature; }

constexpr std::int64_t kNow = 1700000000;
constexpr std::string_view kSecret = "a-secret-of-reasonable-length-0123456789";

Verifier hmac_verifier(VerifierOptions options = {}) {
    Verifier v;
    v.set_hmac_secret(std::string(kSecret));
    v.set_options(std::move(options));
    return v;
}

TokenError error_of(const Verifier &v, std::string_view token, std::int64_t now = kNow) {
    auto r = v.verify(token, now);
    EXPECT_FALSE(r.ok()) << "accepted: " << token;
    return r.ok() ? TokenError::NoKey : r.error();
}

// Keys are slow to make (RSA especially): one set for the whole suite.
class JwtKeys : public testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (rsa_)
            return;
        rsa_ = new KeyPair(generate_rsa(2048));
        rsa_other_ = new KeyPair(generate_rsa(2048));
        ec_ = new KeyPair(generate_ec("P-256"));
        ec_other_ = new KeyPair(generate_ec("P-256"));
    }
    static const KeyPair &rsa() { return *rsa_; }
    static const KeyPair &rsa_other() { return *rsa_other_; }
    static const KeyPair &ec() { return *ec_; }
    static const KeyPair &ec_other() { return *ec_other_; }

  private:
    // Leaked on purpose: they live for the whole test binary.
    static inline KeyPair *rsa_ = nullptr, *rsa_other_ = nullptr, *ec_ = nullptr,
                          *ec_other_ = nullptr;
};

// ---- base64url -----------------------------------------------------------------------------

TEST(JwtBase64, Rfc4648Vectors) {
    // RFC 4648 §10, without the padding (RFC 7515 §2).
    const std::pair<const char *, const char *> vectors[] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, encoded] : vectors) {
        EXPECT_EQ(b64(plain), encoded);
        EXPECT_EQ(unb64(encoded), plain);
    }
}

TEST(JwtBase64, UsesTheUrlSafeAlphabet) {
    const std::string binary = "\xfb\xff\xbf";
    EXPECT_EQ(b64(binary), "-_-_");
    EXPECT_EQ(unb64("-_-_"), binary);
    std::string all;
    for (int i = 0; i < 256; ++i)
        all.push_back(static_cast<char>(i));
    EXPECT_EQ(unb64(b64(all)), all);
}

TEST(JwtBase64, DecodeIsStrict) {
    std::string out;
    EXPECT_FALSE(base64url_decode("Zg==", out)); // padding
    EXPECT_FALSE(base64url_decode("+/+/", out)); // standard alphabet
    EXPECT_FALSE(base64url_decode("Zm 9v", out));
    EXPECT_FALSE(base64url_decode("Zm9v\n", out));
    EXPECT_FALSE(base64url_decode("Z", out)); // a lone sextet is not a byte
    EXPECT_FALSE(base64url_decode("Zm9vY", out));
    EXPECT_FALSE(base64url_decode("Zh", out));  // 'f' is "Zg": "Zh" has a stray low bit
    EXPECT_FALSE(base64url_decode("Zm9", out)); // "fo" is "Zm8"
    EXPECT_TRUE(base64url_decode("", out));
    EXPECT_EQ(out, "");
}

// ---- RFC 7515 Appendix A.1 -----------------------------------------------------------------

constexpr std::string_view kRfcToken = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                                       ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly"
                                       "9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                                       ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
// The JWK "k" of the example's symmetric key.
constexpr std::string_view kRfcKey =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

TEST(JwtVerifier, Rfc7515AppendixA1) {
    Verifier v;
    v.set_hmac_secret(unb64(kRfcKey));
    auto claims = v.verify(kRfcToken, 1300819379); // one second before its exp
    ASSERT_TRUE(claims.ok()) << claims.error();
    EXPECT_EQ(claims->iss, "joe");
    EXPECT_EQ(claims->exp, 1300819380);
    EXPECT_EQ(claims->sub, "");
    EXPECT_EQ(claims->nbf, 0);
    EXPECT_EQ(claims->info, "");
    EXPECT_EQ(error_of(v, kRfcToken, 1300819380), TokenError::Expired); // §4.1.4: "on or after"
    // The header has CRLF and a space inside the JSON: the MAC covers the encoded text as sent.
    EXPECT_EQ(unb64(split(kRfcToken).header), "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
}

TEST(JwtVerifier, Rfc7515AppendixA1WithAnotherKeyFails) {
    Verifier v;
    std::string key = unb64(kRfcKey);
    key[0] ^= 1;
    v.set_hmac_secret(key);
    EXPECT_EQ(error_of(v, kRfcToken, 1300819379), TokenError::BadSignature);
}

// ---- Round trips ---------------------------------------------------------------------------

constexpr std::string_view kFullPayload =
    R"({"sub":"user-42","exp":1700003600,"nbf":1699999000,"iat":1699999990,)"
    R"("channel":"chat:room1","channels":["news","chat:\u00e9t\u00e9"],)"
    R"("info":{"name":"Ann","tags":[1, 2]},"aud":"switchboard","iss":"https://auth.example",)"
    R"("unknown":{"ignored":[true]}})";

void expect_full_claims(const Claims &c) {
    EXPECT_EQ(c.sub, "user-42");
    EXPECT_EQ(c.exp, 1700003600);
    EXPECT_EQ(c.nbf, 1699999000);
    EXPECT_EQ(c.iat, 1699999990);
    EXPECT_EQ(c.channel, "chat:room1");
    EXPECT_EQ(c.channels, (std::vector<std::string>{"news", "chat:\xc3\xa9t\xc3\xa9"}));
    EXPECT_EQ(c.info, R"({"name":"Ann","tags":[1, 2]})"); // raw, exactly as in the token
    EXPECT_EQ(c.aud, "switchboard");
    EXPECT_EQ(c.iss, "https://auth.example");
}

TEST(JwtVerifier, Hs256RoundTrip) {
    std::string token = sign_hs256(kSecret, kFullPayload);
    EXPECT_EQ(unb64(split(token).header), R"({"alg":"HS256","typ":"JWT"})");
    auto claims = hmac_verifier().verify(token, kNow);
    ASSERT_TRUE(claims.ok()) << claims.error();
    expect_full_claims(*claims);
}

TEST(JwtVerifier, Hs384AndHs512UseTheSameSecret) {
    Verifier v = hmac_verifier();
    for (auto [alg, md] : {std::pair{"HS384", "SHA384"}, std::pair{"HS512", "SHA512"}}) {
        std::string header = std::string(R"({"alg":")") + alg + "\"}";
        std::string token = hmac_token(header, R"({"sub":"u"})", kSecret, md);
        auto claims = v.verify(token, kNow);
        ASSERT_TRUE(claims.ok()) << alg << ": " << claims.error();
        EXPECT_EQ(claims->sub, "u");
        // A SHA-512 MAC under an "HS256" header is the wrong length, not a match.
        EXPECT_EQ(error_of(v, hmac_token(R"({"alg":"HS256"})", R"({"sub":"u"})", kSecret, md)),
                  TokenError::BadSignature);
    }
}

TEST_F(JwtKeys, Rs256Rs384Rs512RoundTrips) {
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    for (const char *alg : {"RS256", "RS384", "RS512"}) {
        std::string token = sign_with_pem(rsa().private_pem, alg, kFullPayload);
        EXPECT_EQ(unb64(split(token).signature).size(), 256u) << alg;
        auto claims = v.verify(token, kNow);
        ASSERT_TRUE(claims.ok()) << alg << ": " << claims.error();
        expect_full_claims(*claims);
    }
}

TEST_F(JwtKeys, Es256RoundTripWithRawSignature) {
    Verifier v;
    v.add_public_key_pem(ec().public_pem);
    std::string token = sign_with_pem(ec().private_pem, "ES256", kFullPayload);
    EXPECT_EQ(unb64(split(token).signature).size(), 64u); // R || S, not DER
    auto claims = v.verify(token, kNow);
    ASSERT_TRUE(claims.ok()) << claims.error();
    expect_full_claims(*claims);
}

TEST_F(JwtKeys, AnyConfiguredKeyOfTheFamilyMayVerify) {
    Verifier v;
    v.add_public_key_pem(rsa_other().public_pem);
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec_other().public_pem);
    v.add_public_key_pem(ec().public_pem);
    v.set_hmac_secret(std::string(kSecret));
    EXPECT_TRUE(v.verify(sign_with_pem(rsa().private_pem, "RS256", "{}"), kNow).ok());
    EXPECT_TRUE(v.verify(sign_with_pem(ec().private_pem, "ES256", "{}"), kNow).ok());
    EXPECT_TRUE(v.verify(sign_hs256(kSecret, "{}"), kNow).ok());
}

// ---- Tampering -----------------------------------------------------------------------------

TEST_F(JwtKeys, TamperedPayloadOrSignatureIsRejected) {
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec().public_pem);
    v.set_hmac_secret(std::string(kSecret));
    const std::string tokens[] = {
        sign_hs256(kSecret, R"({"sub":"alice"})"),
        sign_with_pem(rsa().private_pem, "RS256", R"({"sub":"alice"})"),
        sign_with_pem(ec().private_pem, "ES256", R"({"sub":"alice"})"),
    };
    for (const auto &token : tokens) {
        ASSERT_TRUE(v.verify(token, kNow).ok());
        Parts p = split(token);
        Parts forged = p;
        forged.payload = b64(R"({"sub":"admin"})");
        EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
        forged = p;
        std::string sig = unb64(p.signature);
        sig[sig.size() / 2] ^= 0x01;
        forged.signature = b64(sig);
        EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
        forged = p;
        forged.signature = b64(unb64(p.signature).substr(1));
        EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
        forged = p;
        forged.signature.clear();
        EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
        // The header is signed too: a re-encoded but equivalent header no longer matches.
        forged = p;
        std::string header = unb64(p.header);
        forged.header = b64(" " + header);
        EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
    }
}

TEST_F(JwtKeys, SignatureFromAnotherKeyIsRejected) {
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec().public_pem);
    EXPECT_EQ(error_of(v, sign_with_pem(rsa_other().private_pem, "RS256", "{}")),
              TokenError::BadSignature);
    EXPECT_EQ(error_of(v, sign_with_pem(ec_other().private_pem, "ES256", "{}")),
              TokenError::BadSignature);
    EXPECT_EQ(error_of(hmac_verifier(), sign_hs256("another secret", "{}")),
              TokenError::BadSignature);
}

TEST_F(JwtKeys, Es256SignatureMustBeExactly64Bytes) {
    Verifier v;
    v.add_public_key_pem(ec().public_pem);
    Parts p = split(sign_with_pem(ec().private_pem, "ES256", R"({"sub":"a"})"));
    const std::string raw = unb64(p.signature);
    Parts forged = p;
    forged.signature = b64(raw + std::string(1, '\0'));
    EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
    forged.signature = b64(std::string(1, '\0') + raw);
    EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
    forged.signature = b64(raw.substr(0, 63));
    EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
    // A DER signature (what a naive ES256 signer emits) is not accepted either.
    std::string der = "\x30\x44\x02\x20" + raw.substr(0, 32) + "\x02\x20" + raw.substr(32);
    forged.signature = b64(der);
    EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
    forged.signature = b64(std::string(64, '\0')); // r = s = 0
    EXPECT_EQ(error_of(v, join(forged)), TokenError::BadSignature);
}

// ---- Algorithm rules -----------------------------------------------------------------------

TEST_F(JwtKeys, AlgNoneIsNeverAccepted) {
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    v.set_hmac_secret(std::string(kSecret));
    for (const char *header : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})",
                               R"({"alg":"nOnE","typ":"JWT"})"}) {
        std::string token = b64(header) + "." + b64(R"({"sub":"admin"})") + ".";
        EXPECT_EQ(error_of(v, token), TokenError::UnsupportedAlgorithm) << header;
        // Nor with a signature attached.
        EXPECT_EQ(error_of(v, token + "AAAA"), TokenError::UnsupportedAlgorithm) << header;
    }
}

TEST_F(JwtKeys, UnknownAlgorithmsAreUnsupported) {
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec().public_pem);
    v.set_hmac_secret(std::string(kSecret));
    for (const char *alg : {"PS256", "ES384", "ES512", "EdDSA", "HS1", "hs256", "RS256 ", ""}) {
        std::string header = std::string(R"({"alg":")") + alg + "\"}";
        EXPECT_EQ(error_of(v, hmac_token(header, "{}", kSecret)), TokenError::UnsupportedAlgorithm)
            << alg;
    }
}

TEST_F(JwtKeys, AlgorithmConfusionIsRejected) {
    // The classic attack: the server holds an RSA public key; the attacker MACs a token with
    // HS256 using the (public) PEM text as the secret, hoping the library feeds the "key" to
    // HMAC because the token said so.
    Verifier rsa_only;
    rsa_only.add_public_key_pem(rsa().public_pem);
    const std::string forged = sign_hs256(rsa().public_pem, R"({"sub":"admin"})");
    EXPECT_EQ(error_of(rsa_only, forged), TokenError::UnsupportedAlgorithm);
    // The same with the EC key.
    Verifier ec_only;
    ec_only.add_public_key_pem(ec().public_pem);
    EXPECT_EQ(error_of(ec_only, sign_hs256(ec().public_pem, R"({"sub":"admin"})")),
              TokenError::UnsupportedAlgorithm);
    // And the other way round: only a secret, a token claiming RS256 or ES256.
    Verifier hmac_only = hmac_verifier();
    EXPECT_EQ(error_of(hmac_only, sign_with_pem(rsa().private_pem, "RS256", "{}")),
              TokenError::UnsupportedAlgorithm);
    EXPECT_EQ(error_of(hmac_only, sign_with_pem(ec().private_pem, "ES256", "{}")),
              TokenError::UnsupportedAlgorithm);
    // With both families configured the forged token reaches HMAC, with the real secret.
    Verifier both = hmac_verifier();
    both.add_public_key_pem(rsa().public_pem);
    EXPECT_EQ(error_of(both, forged), TokenError::BadSignature);
    // An ES256 token is not checked with an RSA key, nor RS256 with an EC key.
    EXPECT_EQ(error_of(rsa_only, sign_with_pem(ec().private_pem, "ES256", "{}")),
              TokenError::UnsupportedAlgorithm);
    EXPECT_EQ(error_of(ec_only, sign_with_pem(rsa().private_pem, "RS256", "{}")),
              TokenError::UnsupportedAlgorithm);
}

TEST(JwtVerifier, HeaderRules) {
    Verifier v = hmac_verifier();
    const std::string payload = R"({"sub":"a"})";
    EXPECT_TRUE(
        v.verify(hmac_token(R"({"alg":"HS256","typ":"JWT","kid":"k1"})", payload, kSecret), kNow)
            .ok());
    EXPECT_TRUE(v.verify(hmac_token(R"({"\u0061lg":"HS256"})", payload, kSecret), kNow).ok());
    const char *malformed[] = {
        R"({"typ":"JWT"})", // no alg
        R"({"alg":256})",   // not a string
        R"({"alg":["HS256"]})",
        R"({"alg":"HS256","alg":"none"})",   // repeated: parsers disagree on which wins
        R"({"alg":"HS256","crit":["exp"]})", // §4.1.11: unknown critical extension
        R"({"alg":"HS256","b64":false,"crit":["b64"]})",
        R"(["HS256"])",
        R"("HS256")",
        R"({"alg":"HS256")", // not JSON
        "",
    };
    for (const char *header : malformed)
        EXPECT_EQ(error_of(v, hmac_token(header, payload, kSecret)), TokenError::Malformed)
            << header;
}

// ---- Time claims ---------------------------------------------------------------------------

std::string with_times(const char *claims) { return sign_hs256(kSecret, claims); }

TEST(JwtVerifier, ExpiryAndNotBefore) {
    Verifier v = hmac_verifier();
    EXPECT_TRUE(v.verify(with_times(R"({"exp":1700000001})"), kNow).ok());
    EXPECT_EQ(error_of(v, with_times(R"({"exp":1700000000})")), TokenError::Expired);
    EXPECT_EQ(error_of(v, with_times(R"({"exp":1})")), TokenError::Expired);
    EXPECT_EQ(error_of(v, with_times(R"({"exp":0})")), TokenError::Expired); // present, 1970
    EXPECT_EQ(error_of(v, with_times(R"({"exp":-5})")), TokenError::Expired);
    EXPECT_TRUE(v.verify(with_times(R"({"nbf":1700000000})"), kNow).ok());
    EXPECT_EQ(error_of(v, with_times(R"({"nbf":1700000001})")), TokenError::NotYetValid);
    EXPECT_EQ(error_of(v, with_times(R"({"nbf":1700000001,"exp":1})")), TokenError::Expired);
    // No exp: valid forever (the hub decides whether it wants that).
    auto c = v.verify(with_times(R"({"sub":"x"})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->exp, 0);
}

TEST(JwtVerifier, Leeway) {
    Verifier v = hmac_verifier({.audience = {}, .issuer = {}, .leeway_seconds = 10});
    EXPECT_TRUE(v.verify(with_times(R"({"exp":1699999991})"), kNow).ok());
    EXPECT_EQ(error_of(v, with_times(R"({"exp":1699999990})")), TokenError::Expired);
    EXPECT_TRUE(v.verify(with_times(R"({"nbf":1700000010})"), kNow).ok());
    EXPECT_EQ(error_of(v, with_times(R"({"nbf":1700000011})")), TokenError::NotYetValid);
    // Extreme values saturate instead of overflowing.
    EXPECT_TRUE(v.verify(with_times(R"({"exp":9223372036854775807})"), kNow).ok());
    EXPECT_TRUE(v.verify(with_times(R"({"nbf":-9223372036854775808})"), kNow).ok());
    EXPECT_EQ(error_of(v, with_times(R"({"exp":-9223372036854775808})"), INT64_MIN + 3),
              TokenError::Expired);
    Verifier huge = hmac_verifier({.audience = {}, .issuer = {}, .leeway_seconds = INT64_MAX});
    EXPECT_TRUE(huge.verify(with_times(R"({"exp":1,"nbf":9223372036854775807})"), kNow).ok());
}

TEST(JwtVerifier, NumericDatesMayBeNonIntegers) {
    // RFC 7519 §2: NumericDate "can represent non-integer values"; we round down.
    Verifier v = hmac_verifier();
    auto c =
        v.verify(with_times(R"({"exp":1.7e9,"iat":1699999999.9,"nbf":16999999e2})"), kNow - 10);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->exp, 1700000000);
    EXPECT_EQ(c->iat, 1699999999);
    EXPECT_EQ(c->nbf, 1699999900);
    EXPECT_EQ(error_of(v, with_times(R"({"exp":1700000000.5})")), TokenError::Expired);
    c = v.verify(with_times(R"({"exp":1e300})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->exp, INT64_MAX);
    EXPECT_EQ(error_of(v, with_times(R"({"exp":1e999})")), TokenError::BadClaims);
}

// ---- Claims --------------------------------------------------------------------------------

TEST(JwtVerifier, WrongTypesForKnownClaimsAreBadClaims) {
    Verifier v = hmac_verifier();
    const char *bad[] = {
        R"({"sub":42})",
        R"({"sub":null})",
        R"({"exp":"1800000000"})",
        R"({"nbf":true})",
        R"({"iat":[1]})",
        R"({"channel":["a"]})",
        R"({"channels":"a"})",
        R"({"channels":["a",1]})",
        R"({"channels":{"a":1}})",
        R"({"aud":7})",
        R"({"aud":["a",null]})",
        R"({"iss":{}})",
        R"({"sub":"a","sub":"b"})", // RFC 7519 §4: names must be unique
        R"({"exp":1800000000,"exp":1})",
        R"({"info":1,"info":2})",
        R"([])",
        R"("sub")",
    };
    for (const char *payload : bad)
        EXPECT_EQ(error_of(v, sign_hs256(kSecret, payload)), TokenError::BadClaims) << payload;
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, "not json")), TokenError::Malformed);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, "")), TokenError::Malformed);
}

TEST(JwtVerifier, OptionalClaimsAndEscapes) {
    Verifier v = hmac_verifier();
    auto c = v.verify(sign_hs256(kSecret, R"({"s\u0075b":"\u00e9\"x","channels":[],"info":"hi"})"),
                      kNow);
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->sub, "\xc3\xa9\"x");
    EXPECT_TRUE(c->channels.empty());
    EXPECT_EQ(c->info, R"("hi")");
    c = v.verify(sign_hs256(kSecret, R"({"sub":"","info":null})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->sub, "");
    EXPECT_EQ(c->info, "null");
    c = v.verify(sign_hs256(kSecret, "{}"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->info, "");
    EXPECT_EQ(c->aud, "");
    EXPECT_EQ(c->iss, "");
}

TEST(JwtVerifier, Audience) {
    Verifier v = hmac_verifier({.audience = "switchboard", .issuer = {}, .leeway_seconds = 0});
    auto c = v.verify(sign_hs256(kSecret, R"({"aud":"switchboard"})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->aud, "switchboard");
    c = v.verify(sign_hs256(kSecret, R"({"aud":["billing","switchboard"]})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->aud, "switchboard");
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"aud":"billing"})")), TokenError::BadClaims);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"aud":["billing"]})")), TokenError::BadClaims);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"aud":[]})")), TokenError::BadClaims);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"aud":"Switchboard"})")), TokenError::BadClaims);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"sub":"x"})")), TokenError::BadClaims); // absent

    // Without a configured audience "aud" is only read: the first entry is reported.
    Verifier any = hmac_verifier();
    c = any.verify(sign_hs256(kSecret, R"({"aud":["billing","switchboard"]})"), kNow);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->aud, "billing");
}

TEST(JwtVerifier, Issuer) {
    Verifier v =
        hmac_verifier({.audience = {}, .issuer = "https://auth.example", .leeway_seconds = 0});
    EXPECT_TRUE(v.verify(sign_hs256(kSecret, R"({"iss":"https://auth.example"})"), kNow).ok());
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"iss":"https://evil.example"})")),
              TokenError::BadClaims);
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, R"({"sub":"x"})")), TokenError::BadClaims);
}

// ---- Structure -----------------------------------------------------------------------------

TEST(JwtVerifier, MalformedTokens) {
    Verifier v = hmac_verifier();
    const std::string good = sign_hs256(kSecret, R"({"sub":"a"})");
    Parts p = split(good);
    const std::string malformed[] = {
        "",
        ".",
        "..",
        "abc",
        p.header + "." + p.payload,                      // two parts
        good + ".",                                      // four parts
        good + ".x.y",                                   // five parts (a JWE)
        p.header + "=." + p.payload + "." + p.signature, // padding
        p.header + "." + p.payload + "." + p.signature + "=",
        p.header + ".." + p.signature, // empty payload part
        "." + p.payload + "." + p.signature,
        p.header + "." + p.payload + "!" + "." + p.signature,
        p.header + "." + p.payload + "." + p.signature.substr(0, 1) + "+" + p.signature.substr(2),
        p.header + " ." + p.payload + "." + p.signature,
        b64("not json") + "." + p.payload + "." + p.signature,
        "eyJhbGciOiJIUzI1NiJ9\n." + p.payload + "." + p.signature,
    };
    for (const auto &t : malformed)
        EXPECT_EQ(error_of(v, t), TokenError::Malformed) << testing::PrintToString(t);
}

TEST(JwtVerifier, OversizedTokenIsMalformed) {
    Verifier v = hmac_verifier();
    // Grow "info" until the token is exactly at the limit, then one byte over.
    auto token_with = [](std::size_t pad) {
        return sign_hs256(kSecret, R"({"sub":"a","info":")" + std::string(pad, 'x') + "\"}");
    };
    // Three payload bytes are four base64url characters: start close, then step by one.
    std::size_t pad = (kMaxTokenSize - token_with(0).size()) / 4 * 3;
    while (token_with(pad + 1).size() <= kMaxTokenSize)
        ++pad;
    std::string at_limit = token_with(pad);
    ASSERT_LE(at_limit.size(), kMaxTokenSize);
    EXPECT_GE(at_limit.size(), kMaxTokenSize - 2);
    EXPECT_TRUE(v.verify(at_limit, kNow).ok());
    std::string over = token_with(pad + 1);
    ASSERT_GT(over.size(), kMaxTokenSize);
    EXPECT_EQ(error_of(v, over), TokenError::Malformed);
    EXPECT_EQ(error_of(v, std::string(1 << 20, 'a')), TokenError::Malformed);
}

// ---- Keys and configuration ----------------------------------------------------------------

TEST(JwtVerifier, NoKeys) {
    Verifier v;
    EXPECT_FALSE(v.has_keys());
    EXPECT_EQ(error_of(v, sign_hs256(kSecret, "{}")), TokenError::NoKey);
    // An empty secret is no key: a token MACed with "" must not verify.
    v.set_hmac_secret("");
    EXPECT_FALSE(v.has_keys());
    EXPECT_EQ(error_of(v, sign_hs256("", "{}")), TokenError::NoKey);
    v.set_hmac_secret("s");
    EXPECT_TRUE(v.has_keys());
    v.set_hmac_secret("");
    EXPECT_FALSE(v.has_keys());
}

TEST_F(JwtKeys, BadPublicKeysThrowAtStartup) {
    Verifier v;
    EXPECT_THROW(v.add_public_key_pem(""), std::invalid_argument);
    EXPECT_THROW(
        v.add_public_key_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"),
        std::invalid_argument);
    EXPECT_THROW(v.add_public_key_pem(rsa().private_pem), std::invalid_argument);
    EXPECT_THROW(v.add_public_key_pem(generate_rsa(1024).public_pem), std::invalid_argument);
    EXPECT_THROW(v.add_public_key_pem(generate_ec("P-384").public_pem), std::invalid_argument);
    EXPECT_THROW(v.add_public_key_pem(generate_ed25519().public_pem), std::invalid_argument);
    EXPECT_FALSE(v.has_keys());
    EXPECT_EQ(ERR_peek_error(), 0u); // nothing left in the thread's OpenSSL error queue
}

TEST_F(JwtKeys, PublicKeyFromACertificate) {
    // A self-signed certificate around the EC key, as identity providers publish them.
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(ec().private_pem.data(), static_cast<int>(ec().private_pem.size())),
        BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    ASSERT_TRUE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    ASSERT_TRUE(cert);
    ASSERT_EQ(X509_set_version(cert.get(), 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME *name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char *>("switchboard test"), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
    std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
    ASSERT_EQ(PEM_write_bio_X509(out.get(), cert.get()), 1);

    Verifier v;
    v.add_public_key_pem(bio_text(out.get()));
    EXPECT_TRUE(v.verify(sign_with_pem(ec().private_pem, "ES256", "{}"), kNow).ok());
}

TEST_F(JwtKeys, SignWithPemRejectsMisuse) {
    EXPECT_THROW(sign_with_pem("garbage", "RS256", "{}"), std::invalid_argument);
    EXPECT_THROW(sign_with_pem(rsa().public_pem, "RS256", "{}"), std::invalid_argument);
    EXPECT_THROW(sign_with_pem(rsa().private_pem, "ES256", "{}"), std::invalid_argument);
    EXPECT_THROW(sign_with_pem(ec().private_pem, "RS256", "{}"), std::invalid_argument);
    EXPECT_THROW(sign_with_pem(ec().private_pem, "HS256", "{}"), std::invalid_argument);
    EXPECT_THROW(sign_with_pem(ec().private_pem, "none", "{}"), std::invalid_argument);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(JwtKeys, FailedVerificationLeavesNoOpenSslErrors) {
    // The TLS code reads the thread's error queue after SSL calls; stale entries from a bad
    // token would be misread as TLS failures.
    Verifier v;
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec().public_pem);
    Parts p = split(sign_with_pem(rsa().private_pem, "RS256", "{}"));
    p.signature = b64("short");
    EXPECT_EQ(error_of(v, join(p)), TokenError::BadSignature);
    p = split(sign_with_pem(ec().private_pem, "ES256", "{}"));
    p.signature = b64(std::string(64, '\xff'));
    EXPECT_EQ(error_of(v, join(p)), TokenError::BadSignature);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(JwtKeys, MovedVerifierKeepsItsKeys) {
    Verifier a;
    a.add_public_key_pem(ec().public_pem);
    Verifier b = std::move(a);
    EXPECT_TRUE(b.has_keys());
    EXPECT_TRUE(b.verify(sign_with_pem(ec().private_pem, "ES256", "{}"), kNow).ok());
    EXPECT_FALSE(a.has_keys()); // NOLINT(bugprone-use-after-move): documented state
    EXPECT_EQ(error_of(a, sign_hs256(kSecret, "{}")), TokenError::NoKey);
    a.set_hmac_secret(std::string(kSecret)); // usable again after a set
    EXPECT_TRUE(a.verify(sign_hs256(kSecret, "{}"), kNow).ok());
}

TEST_F(JwtKeys, VerifyFromManyThreadsAtOnce) {
    Verifier v = hmac_verifier();
    v.add_public_key_pem(rsa().public_pem);
    v.add_public_key_pem(ec().public_pem);
    const std::string tokens[] = {
        sign_hs256(kSecret, R"({"sub":"h"})"),
        sign_with_pem(rsa().private_pem, "RS256", R"({"sub":"r"})"),
        sign_with_pem(ec().private_pem, "ES256", R"({"sub":"e"})"),
    };
    std::atomic<int> good{0}, bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 60; ++i) {
                const auto &token = tokens[(t + i) % 3];
                auto c = v.verify(token, kNow);
                (c.ok() && c->sub.size() == 1 ? good : bad)++;
                std::string tampered = token;
                tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
                (v.verify(tampered, kNow).ok() ? bad : good)++;
            }
        });
    for (auto &th : threads)
        th.join();
    EXPECT_EQ(good.load(), 4 * 60 * 2);
    EXPECT_EQ(bad.load(), 0);
}

TEST(JwtVerifier, ErrorTexts) {
    EXPECT_STREQ(token_error_text(TokenError::Expired), "token expired");
    EXPECT_STREQ(token_error_text(TokenError::BadSignature), "invalid token signature");
    for (int i = 0; i <= static_cast<int>(TokenError::NoKey); ++i)
        EXPECT_GT(std::string_view(token_error_text(static_cast<TokenError>(i))).size(), 4u);
}

} // namespace
} // namespace switchboard::auth
