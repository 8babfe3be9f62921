#pragma once
// PeerConnection: the native WebRTC data-channel peer — ICE (rtc/ice) finds a path, DTLS
// (rtc/dtls) secures it, SCTP (rtc/sctp) carries the data channels — behind one sans-I/O
// object. Descriptions are JSEP's (one bundled m=application section). The caller owns the UDP
// sockets: datagrams in with on_datagram(), out with poll_transmit(), time with on_timeout()
// when next_timeout() says, signalling (descriptions, trickled candidates) as strings.
#include "rtc/dtls/transport.hpp"
#include "rtc/ice/agent.hpp"
#include "rtc/sctp/association.hpp"
#include "rtc/sdp/writer.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace switchboard::rtc {

struct PeerOptions {
    std::vector<ice::Address> stun_servers;
    std::vector<ice::TurnServer> turn_servers; // relayed candidates (UDP allocations)
    std::uint32_t max_message_size = 256 * 1024;
    bool ice_lite = false; // a server's side: answer checks only
    bool relay_only = false; // only relayed candidates (needs a TURN server)
};

enum class SdpType : std::uint8_t { Offer, Answer };

enum class PeerState : std::uint8_t { New, Connecting, Connected, Disconnected, Failed, Closed };

struct PeerEvent {
    enum class Kind : std::uint8_t {
        LocalCandidate,   // `text`: an a=candidate value to trickle ("" at the end of gathering)
        StateChanged,     // `state`
        ChannelOpen,      // `channel`, `label`, `protocol`
        ChannelClosed,    // `channel`
        Message,          // `channel`, `binary`, `data`
        BufferedAmountLow // `channel`
    };
    Kind kind = Kind::StateChanged;
    PeerState state = PeerState::New;
    std::uint16_t channel = 0;
    std::string label, protocol, text;
    bool binary = false;
    std::vector<std::uint8_t> data;
};

class PeerConnection {
  public:
    explicit PeerConnection(PeerOptions options = {}, std::optional<std::uint64_t> seed = {});
    ~PeerConnection();

    /// A local UDP address the caller reads from (becomes a host candidate).
    void add_local_address(const ice::Address& a, std::int64_t now_ms);

    /// The offer (as the offerer: ICE controlling, DTLS role left to the answer).
    std::string create_offer(std::int64_t now_ms);
    /// Applies the peer's offer or answer. Returns "" or the reason it was refused. Offers may
    /// come again once connected (the peer renegotiates, or restarts ICE with new credentials):
    /// audio and video sections in them are turned down in the answer, data stays where it is.
    /// An offer that crosses ours wins (this side is the polite one of perfect negotiation).
    std::string set_remote_description(SdpType type, std::string_view sdp, std::int64_t now_ms);
    /// The same, an answer when our offer is outstanding and an offer otherwise.
    std::string set_remote_description(std::string_view sdp, std::int64_t now_ms);
    /// The answer to the remote offer set before (the first time ICE controlled and DTLS client,
    /// a=setup:active; later the roles stay).
    std::string create_answer(std::int64_t now_ms);
    /// A trickled candidate ("candidate:..." or "a=candidate:..."); "" ends the peer's candidates.
    bool add_remote_candidate(std::string_view candidate, std::int64_t now_ms);

    void on_datagram(const ice::Address& local, const ice::Address& remote, std::span<const std::uint8_t> d,
                     std::int64_t now_ms);
    bool poll_transmit(ice::Transmit& out);
    std::optional<std::int64_t> next_timeout() const;
    void on_timeout(std::int64_t now_ms);
    bool poll_event(PeerEvent& out);

    /// Opens a data channel once connected (-1 before, or when out of ids).
    int create_data_channel(const sctp::ChannelOptions& options);
    /// A channel agreed out of band (negotiated: true in the browser API) with the same id on
    /// both sides; may be added before connecting. ChannelOpen comes when it is usable.
    bool add_negotiated_channel(std::uint16_t id, const sctp::ChannelOptions& options);
    bool send(std::uint16_t channel, std::span<const std::uint8_t> data, bool binary);
    std::size_t buffered_amount(std::uint16_t channel) const;
    void close_channel(std::uint16_t channel);
    void close();

    PeerState state() const noexcept { return state_; }
    /// Why the connection failed ("" otherwise).
    const std::string& error() const noexcept { return error_; }
    const std::string& fingerprint() const noexcept { return cert_->fingerprint(); }
    bool sctp_open() const noexcept { return sctp_ && sctp_->connected(); }
    /// The type of our candidate on the selected path ("host", "srflx", "relay"; "" before).
    std::string route() const;
    /// The data section's mid and place among the m-lines (what trickled candidates name).
    const std::string& mid() const noexcept { return mid_; }
    std::size_t mline_index() const noexcept { return application_index_; }

  private:
    std::string describe(const std::string& setup);
    void set_state(PeerState s);
    void on_ice_events(std::int64_t now);
    void start_dtls(std::int64_t now);
    void pump_dtls(std::int64_t now);
    void pump_sctp();
    void fail(std::string why);
    void feed_early_dtls(std::int64_t now);

    PeerOptions options_;
    std::shared_ptr<const dtls::Certificate> cert_;
    ice::Agent ice_;
    std::unique_ptr<dtls::Transport> dtls_;
    std::unique_ptr<sctp::Association> sctp_;
    bool have_remote_ = false, dtls_client_ = false;
    bool offer_pending_ = false, answer_pending_ = false, roles_set_ = false;
    std::string remote_ufrag_, remote_pwd_;
    std::string mid_ = "0";
    std::vector<sdp::RejectedSection> rejected_; // of the remote offer, for the answer
    std::size_t application_index_ = 0;
    std::vector<std::pair<std::uint16_t, sctp::ChannelOptions>> negotiated_; // until SCTP exists
    std::string remote_fingerprint_;
    std::uint16_t remote_sctp_port_ = 5000;
    std::uint32_t remote_max_message_size_ = 65536;
    std::uint64_t session_id_ = 0, version_ = 1;
    PeerState state_ = PeerState::New;
    std::string error_;
    std::int64_t dtls_deadline_ = -1, sctp_tick_ = -1;
    std::int64_t now_ = 0; // the latest time given, for sends between calls
    std::deque<ice::Transmit> out_;
    std::deque<PeerEvent> events_;
    // DTLS that came before a pair was selected: the controlled peer may start its handshake as
    // soon as its side of a pair works, a moment before our nomination completes. Dropping it
    // cost a retransmission (~60 ms with Chromium). A few datagrams, fed once a pair is selected
    // if ICE has validated their sender, dropped otherwise.
    struct EarlyDatagram {
        ice::Address remote;
        std::vector<std::uint8_t> data;
    };
    std::vector<EarlyDatagram> early_dtls_;
    static constexpr std::size_t kMaxEarlyDtls = 8;
};

} // namespace switchboard::rtc
