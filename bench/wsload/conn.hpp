#pragma once
// Per-connection state: what one client connection needs between event-loop turns.
#include "out_buf.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wsload {

/// Streaming frame parser state: frames are consumed as bytes arrive; payloads are never copied
/// except the first bytes of a data message (the embedded fields) and control payloads.
struct RxState {
    std::array<uint8_t, 10> hdr{};
    uint8_t hdr_have = 0;
    bool in_payload = false;
    bool in_message = false; // inside a fragmented data message
    bool frame_fin = false;
    uint8_t frame_opcode = 0;
    uint8_t msg_opcode = 0;
    uint8_t field_have = 0;
    uint8_t ctl_len = 0;
    uint64_t payload_left = 0;
    uint64_t msg_len = 0;
    std::array<uint8_t, 32> field{};
    std::array<uint8_t, 125> ctl{};
};

enum class ConnState : uint8_t { NotStarted, Connecting, Handshaking, Open, Closing, Closed };
enum class Role : uint8_t { Echo, Sender, Receiver, Idle, Publisher, Subscriber };

// Hub modes: where a connection is in its protocol set-up (docs/protocol.md: connect first,
// then subscribe). Only a Ready connection counts as opened.
enum class HubStage : uint8_t { WaitConnect, WaitSubscribe, Ready };

/// Hub: one subscription of a subscriber connection (one of its --subs-per-conn channels).
struct HubSub {
    uint32_t channel = 0;     // channel index (NS:channel)
    uint64_t last_offset = 0; // offset of the last pub (or of the subscribe reply)
    uint64_t last_seq = 0;    // publisher sequence in the last pub's data
    bool have_seq = false;
};

/// Hub-mode state of one connection (publisher or subscriber).
struct HubConn {
    HubStage stage = HubStage::WaitConnect;
    // Subscriber: subscription j (0 <= j < K = --subs-per-conn) is channel
    // (base + j * stride) % C (subscriber_channel() in options.hpp). Sized K once, at set-up; a
    // pub finds its entry by arithmetic, never by search or allocation.
    uint32_t base = 0;
    std::vector<HubSub> subs;
    uint64_t sub_answered = 0; // subscriber: bit j set once subscribe j was answered (K <= 64)
    uint64_t next_k = 0;    // publisher: publishes made; publish k goes to channel k % C
    uint64_t k_offset = 0;  // publisher: added to k to pick the channel (spreads publishers)
    uint64_t rate_sent = 0; // publisher: publishes counted against --rate
    uint32_t in_flight = 0; // publisher: publishes not yet answered
    // Publisher, one entry per in-flight slot (the publish id is kPublishIdBase + slot):
    std::vector<uint64_t> slot_sent_at; // send time, or 0 when the slot is free
    std::vector<uint32_t> slot_channel; // channel index of the publish in the slot
    std::vector<uint32_t> free_slots;
};

/// One client connection; owned by its Worker, which keeps it at a fixed index for its life
/// (the index is the epoll user data).
struct Conn {
    int fd = -1;
    ConnState state = ConnState::NotStarted;
    Role role = Role::Idle;
    bool dirty = false;
    bool read_pending = false;
    bool close_received = false;
    bool hup = false; // RDHUP/HUP seen: read on to EOF, no further edge will come
    std::array<uint8_t, 4> mask{};
    uint64_t mask64 = 0;
    const uint8_t* frame_tmpl = nullptr; // header + masked payload, frame_len bytes
    uint64_t send_seq = 0;
    uint64_t recv_seq = 0;
    uint64_t stamped_seq = 0;   // echo: ring slots below this carry a send time
    std::vector<uint64_t> ring; // echo: send time per in-flight message (echo is ordered)
    OutBuf out;
    RxState rx;
    HubConn hub;
    // Hub modes: bytes of a text message that did not arrive in one piece (split over reads or
    // fragmented). Its capacity is kept, so it allocates only while growing to the largest.
    std::vector<uint8_t> msg;
    std::string handshake; // response bytes until the 101 is complete; freed once open
    std::string accept;    // expected Sec-WebSocket-Accept
};

} // namespace wsload
