#pragma once
// Transport: DTLS 1.2 (RFC 6347) as WebRTC uses it (RFC 8827): self-signed certificates checked
// against the fingerprint the peer's SDP announced, either role (a=setup), DTLS-SRTP key export
// (RFC 5764) for media, application data for SCTP. Sans-I/O over OpenSSL: datagrams in with
// on_datagram(), datagrams out with poll_transmit(), retransmission when timeout_ms() says.
// Each datagram OpenSSL writes leaves as one datagram (a BIO of our own keeps the boundaries).
//
// OpenSSL keeps its retransmission clock itself (it reads the monotonic time), so unlike the
// rest of rtc/ this state machine is told "now" only implicitly: call on_timeout() when
// timeout_ms() has passed.
#include "rtc/dtls/certificate.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct bio_st BIO;

namespace switchboard::rtc::dtls {

/// a=setup:active makes the DTLS client; passive the server (RFC 8842 §5).
enum class Role : std::uint8_t { Client, Server };
enum class State : std::uint8_t { New, Handshaking, Connected, Failed, Closed };

struct Options {
    std::uint16_t mtu = 1200;          // largest datagram written (what ICE paths carry everywhere)
    std::uint32_t initial_timeout_ms = 400; // first retransmission; doubles up to 10 s
    bool srtp = true;                  // offer DTLS-SRTP (media); data-only peers may turn it off
    std::size_t max_queued = 256;      // datagrams waiting either way; beyond, sends fail / input drops
};

/// Keys for SRTP from the handshake (RFC 5764 §4.2): master key || master salt for each side.
struct SrtpKeys {
    std::string profile; // "SRTP_AEAD_AES_128_GCM" or "SRTP_AES128_CM_SHA1_80"
    std::vector<std::uint8_t> local, remote;
};

/// RFC 7983: a datagram whose first byte is 20-63 is DTLS.
inline bool looks_like_dtls(std::span<const std::uint8_t> d) noexcept { return !d.empty() && d[0] >= 20 && d[0] <= 63; }

class Transport {
  public:
    /// `remote_fingerprint` is the SDP's "sha-256 AB:CD:..." (only sha-256 is accepted).
    Transport(std::shared_ptr<const Certificate> cert, Role role, std::string remote_fingerprint, Options options = {});
    ~Transport();
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    /// Begins the handshake (the client's first flight is then ready to transmit).
    void start();
    /// One datagram from the peer (one or more DTLS records).
    void on_datagram(std::span<const std::uint8_t> datagram);
    /// The next datagram to send; false when there is none.
    bool poll_transmit(std::vector<std::uint8_t>& out);
    /// Milliseconds until on_timeout() is due; nullopt when no timer runs.
    std::optional<std::int64_t> timeout_ms() const;
    /// Retransmits the last flight if its timer ran out (a handshake that retried too often fails).
    void on_timeout();

    /// Application data (an SCTP packet): one record. False unless connected, or when the
    /// transmit queue is full.
    bool send(std::span<const std::uint8_t> data);
    /// Application data received, one record at a time; false when there is none.
    bool poll_received(std::vector<std::uint8_t>& out);
    /// Sends close_notify.
    void close();

    State state() const noexcept { return state_; }
    Role role() const noexcept { return role_; }
    /// Why the transport failed ("" otherwise).
    const std::string& error() const noexcept { return error_; }
    /// Present once connected with DTLS-SRTP negotiated.
    const SrtpKeys* srtp_keys() const noexcept { return srtp_ ? &*srtp_ : nullptr; }

    // For the BIO and verify callbacks.
    void queue_datagram(const char* data, int size);
    bool verify_peer(X509* cert);
    std::uint16_t mtu() const noexcept { return options_.mtu; }
    std::uint32_t initial_timeout_ms() const noexcept { return options_.initial_timeout_ms; }

  private:
    void advance();
    void drain_reads();
    void fail(std::string why);
    void export_keys();

    std::shared_ptr<const Certificate> cert_;
    Role role_;
    std::string remote_fp_; // "AB:CD:..."
    Options options_;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    BIO* in_ = nullptr; // memory BIO holding the datagram being read
    State state_ = State::New;
    std::string error_;
    std::deque<std::vector<std::uint8_t>> out_, received_;
    std::vector<std::uint8_t> read_buf_; // SSL_read's scratch, allocated once
    std::optional<SrtpKeys> srtp_;
    bool fingerprint_checked_ = false;
};

} // namespace switchboard::rtc::dtls
