#pragma once
// Association: SCTP over DTLS (RFC 8261) carrying WebRTC data channels (RFC 8831, DCEP RFC 8832),
// with usrsctp in user-land mode (AF_CONN). SCTP packets in with on_packet(), packets for DTLS
// out with poll_transmit(), events (connected, channel open/closed, message, buffered amount
// low) with poll_event(). usrsctp keeps SCTP's timers on a thread of its own, so
// retransmissions may appear in poll_transmit() between calls: poll it every 10 ms or so
// (on_timer() collects what the timers did).
//
// Messages are whole (up to max_message_size; no interleaving). Each channel has a send queue
// of its own on top of usrsctp's socket buffer, so send() never blocks and buffered_amount()
// tells how much is waiting: the flow-control API data channels expose.
#include "rtc/sctp/dcep.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

struct socket;

namespace switchboard::rtc::sctp {

struct AssociationOptions {
    std::uint16_t local_port = 5000;  // a=sctp-port
    std::uint16_t remote_port = 5000;
    std::uint32_t max_message_size = 256 * 1024; // a=max-message-size we announce and accept
    std::uint32_t remote_max_message_size = 65536; // the peer's a=max-message-size (what we may send)
    std::uint16_t mtu = 1150;         // SCTP packets fit a 1200-byte DTLS datagram
    std::uint32_t send_buffer = 1024 * 1024;
    std::uint32_t buffered_amount_low = 256 * 1024; // per channel
};

enum class ChannelState : std::uint8_t { Connecting, Open, Closing, Closed };

struct Channel {
    std::uint16_t id = 0;
    ChannelOptions options;
    ChannelState state = ChannelState::Connecting;
    std::size_t buffered = 0; // bytes queued here, not yet taken by SCTP
    bool negotiated = false;  // agreed out of band: no DCEP
};

struct Event {
    enum class Kind : std::uint8_t { Connected, Closed, ChannelOpen, ChannelClosed, Message, BufferedAmountLow };
    Kind kind = Kind::Connected;
    std::uint16_t channel = 0;
    bool binary = false;
    std::vector<std::uint8_t> data; // Message
    std::string reason;             // Closed
};

class Association {
  public:
    /// `dtls_client`: the DTLS client opens even stream ids, the server odd (RFC 8832 §6).
    Association(bool dtls_client, AssociationOptions options = {});
    ~Association();
    Association(const Association&) = delete;
    Association& operator=(const Association&) = delete;

    /// Starts the association (both sides do: SCTP's simultaneous open).
    void connect();
    /// One SCTP packet from the peer (what DTLS decrypted).
    void on_packet(std::span<const std::uint8_t> packet);
    /// The next packet to hand to DTLS; false when there is none.
    bool poll_transmit(std::vector<std::uint8_t>& out);
    /// Collects what SCTP's timers did (closed associations, sends the socket buffer now has
    /// room for). Call it every 10 ms or so while the association lives.
    void on_timer(std::int64_t now_ms);
    bool poll_event(Event& out);

    bool connected() const noexcept { return connected_; }
    bool closed() const noexcept { return closed_; }

    /// Opens a channel (DATA_CHANNEL_OPEN); it is usable once ChannelOpen arrives for its id.
    /// Returns the id, or -1 when not connected or out of ids.
    int open_channel(const ChannelOptions& options);
    /// A channel both sides set up out of band (negotiated, the same id on both): no DCEP; it
    /// opens with the association. False if the id is taken or out of range.
    bool add_negotiated_channel(std::uint16_t id, const ChannelOptions& options);
    /// Queues one message. False when the channel is not open or the message is larger than the
    /// peer accepts. Empty messages are sent as WebRTC's "empty" PPIDs.
    bool send(std::uint16_t channel, std::span<const std::uint8_t> data, bool binary);
    std::size_t buffered_amount(std::uint16_t channel) const;
    /// Closes a channel by resetting its outgoing stream (RFC 8831 §6.7).
    void close_channel(std::uint16_t channel);
    const Channel* channel(std::uint16_t id) const;
    /// Ends the association (ABORT).
    void close();

    // For usrsctp's output callback.
    void queue_packet(const void* data, std::size_t size);

  private:
    struct Pending {
        std::uint16_t channel;
        std::uint32_t ppid;
        std::vector<std::uint8_t> data;
    };
    void read_all();
    void on_notification(const std::uint8_t* data, std::size_t size);
    void on_message(std::uint16_t sid, std::uint32_t ppid, std::vector<std::uint8_t> data);
    void on_dcep(std::uint16_t sid, std::span<const std::uint8_t> m);
    bool send_raw(std::uint16_t sid, std::uint32_t ppid, const ChannelOptions& o, std::span<const std::uint8_t> data);
    void flush();
    void reset_stream(std::uint16_t sid);
    void emit(Event e);
    void lost(std::string reason);

    bool client_;
    AssociationOptions options_;
    struct socket* sock_ = nullptr;
    bool connected_ = false, closed_ = false;
    std::map<std::uint16_t, Channel> channels_;
    std::deque<Pending> queue_;
    std::mutex out_mutex_; // usrsctp's timer thread adds retransmissions
    std::deque<std::vector<std::uint8_t>> out_;
    std::deque<Event> events_;
    std::vector<std::uint8_t> partial_; // a message read in pieces
    std::vector<std::uint8_t> read_buf_; // usrsctp_recvv's scratch, allocated once
    std::uint16_t next_id_;
};

} // namespace switchboard::rtc::sctp
