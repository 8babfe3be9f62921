#pragma once
// Session: SRTP and SRTCP (RFC 3711, AES-GCM RFC 7714) with libsrtp2, keyed from DTLS-SRTP
// (rtc/dtls SrtpKeys). One Session protects what this side sends and unprotects what it
// receives, for any SSRC. Packets are processed in place in a caller's buffer; protecting needs
// kMaxOverhead bytes of room after the packet.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace switchboard::rtc::srtp {

inline constexpr std::size_t kMaxOverhead = 16 + 128; // tag and MKI at most (SRTP_MAX_TRAILER_LEN)

enum class Result : std::uint8_t { Ok, AuthFailed, Replay, Malformed, Error };

class Session {
  public:
    /// `profile` as DTLS-SRTP named it ("SRTP_AEAD_AES_128_GCM" or "SRTP_AES128_CM_SHA1_80");
    /// `local` and `remote` are master key || master salt. Throws std::invalid_argument for
    /// another profile or the wrong key sizes.
    Session(std::string_view profile, std::span<const std::uint8_t> local, std::span<const std::uint8_t> remote);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Encrypts and authenticates the RTP (or RTCP) packet in `packet` (resized to the result).
    Result protect_rtp(std::vector<std::uint8_t>& packet);
    Result protect_rtcp(std::vector<std::uint8_t>& packet);
    /// Checks and decrypts in place; `packet` shrinks to the plain packet.
    Result unprotect_rtp(std::vector<std::uint8_t>& packet);
    Result unprotect_rtcp(std::vector<std::uint8_t>& packet);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace switchboard::rtc::srtp
