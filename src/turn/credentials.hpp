#pragma once
// Long-term credentials for TURN (RFC 8489 §9.2): static users and the TURN REST API scheme
// (username "<unix expiry>:<user>", password base64(HMAC-SHA1(secret, username))) at the same
// time, and the stateless nonces that let the server keep nothing for a client it has not
// authenticated yet. Not thread-safe; one per loop, fed by the server's configuration (the
// secret can be replaced at run time: set_secrets).
#include "stun/address.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace switchboard::turn {

using Key = std::array<std::uint8_t, 16>; // MD5(username:realm:password)

/// The TURN REST password for `username` under `secret`.
std::string rest_password(std::string_view secret, std::string_view username);
/// A REST username valid until `expiry_unix` for `user` (what the hub hands to its clients).
std::string rest_username(std::uint64_t expiry_unix, std::string_view user);

class Credentials {
  public:
    explicit Credentials(std::string realm);
    const std::string& realm() const noexcept { return realm_; }

    void add_user(std::string_view name, std::string_view password);
    /// The REST secrets; the first signs what the hub mints, all of them verify (so a rotation
    /// can keep the old secret for as long as the credentials it signed live).
    void set_secrets(std::vector<std::string> secrets) { secrets_ = std::move(secrets); }
    const std::vector<std::string>& secrets() const noexcept { return secrets_; }

    enum class Verdict : std::uint8_t { Ok, Unknown, Expired };
    /// The key for `username`: a static user's, or each REST secret's in turn (the caller tries
    /// them against the message integrity). REST usernames whose expiry is past are Expired.
    Verdict keys(std::string_view username, std::uint64_t now_unix, std::vector<Key>& out) const;

  private:
    std::string realm_;
    std::unordered_map<std::string, Key> users_;
    std::vector<std::string> secrets_;
};

/// Stateless nonces (RFC 8489 §9.2.4 leaves the form to the server): "<expiry: 8 hex><MAC: 16 hex>",
/// where the MAC binds the expiry to the client's address under a key that lives only in this
/// process. A nonce from another client or past its expiry is refused (438), and a server
/// restart invalidates every nonce (clients just retry).
class NonceMaker {
  public:
    static constexpr std::uint64_t kLifetimeS = 600;
    NonceMaker(); // a random key
    explicit NonceMaker(const std::array<std::uint8_t, 32>& key) : key_(key) {}
    std::string make(const stun::Address& client, std::uint64_t now_unix) const;
    enum class Check : std::uint8_t { Ok, Stale, Forged };
    Check check(std::string_view nonce, const stun::Address& client, std::uint64_t now_unix) const;

  private:
    std::string mac(std::uint64_t expiry, const stun::Address& client) const;
    std::array<std::uint8_t, 32> key_;
};

} // namespace switchboard::turn
