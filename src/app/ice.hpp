#pragma once
// IceServers: what the hub hands each connected client for WebRTC (RTCIceServer objects):
// the STUN and TURN URLs of this server and TURN credentials in the TURN REST form, minted for
// the client's identity and living no longer than its connection token. The REST secrets can be
// replaced while running (server API `turn_secrets`); the TURN side verifies with the same list.
// Thread-safe: every loop mints here.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::app {

class IceServers {
  public:
    /// The URLs to advertise (set once the ports are bound) and the credential lifetime.
    void configure(std::vector<std::string> stun_urls, std::vector<std::string> turn_urls, std::uint64_t ttl_s);
    void set_secrets(std::vector<std::string> secrets);
    std::vector<std::string> secrets() const;
    /// The JSON array for a client: [{"urls":[stun...]},{"urls":[turn...],"username":..,
    /// "credential":..}] ("" when STUN/TURN is off). `identity` names the client (its user id,
    /// or its client id when anonymous); `token_expires` (0: none) caps the credential's life.
    std::string json(std::string_view identity, std::uint64_t token_expires, std::uint64_t now_unix) const;

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> stun_urls_, turn_urls_;
    std::vector<std::string> secrets_;
    std::uint64_t ttl_s_ = 86400;
};

} // namespace switchboard::app
