// The streaming frame parser (RFC 6455 §5) and control frames. It never waits for a whole frame
// and never copies data payloads: only the embedded fields and control payloads are kept.
#include "worker.hpp"

#include "limits.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace wsload {

bool Worker::parse_frames(Conn& c, const uint8_t* p, size_t n) {
    RxState& rx = c.rx;
    while (n > 0 || (rx.in_payload && rx.payload_left == 0)) {
        if (!rx.in_payload) {
            if (rx.hdr_have < 2) {
                const size_t take = std::min<size_t>(2 - rx.hdr_have, n);
                std::memcpy(rx.hdr.data() + rx.hdr_have, p, take);
                rx.hdr_have = static_cast<uint8_t>(rx.hdr_have + take);
                p += take;
                n -= take;
                if (rx.hdr_have < 2) return true;
            }
            // RFC 6455 §5.1: a client must close on a masked frame from the server.
            if (rx.hdr[1] & 0x80) {
                protocol_error(c, "masked frame");
                return false;
            }
            const uint8_t len7 = rx.hdr[1] & 0x7f;
            const size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
            if (rx.hdr_have < need) {
                const size_t take = std::min<size_t>(need - rx.hdr_have, n);
                std::memcpy(rx.hdr.data() + rx.hdr_have, p, take);
                rx.hdr_have = static_cast<uint8_t>(rx.hdr_have + take);
                p += take;
                n -= take;
                if (rx.hdr_have < need) return true;
            }
            uint64_t len = len7;
            if (len7 == 126)
                len = (uint64_t{rx.hdr[2]} << 8) | rx.hdr[3];
            else if (len7 == 127) {
                len = 0;
                for (int i = 0; i < 8; ++i) len = (len << 8) | rx.hdr[2 + i];
            }
            rx.hdr_have = 0;
            const bool fin = rx.hdr[0] & 0x80;
            const uint8_t opcode = rx.hdr[0] & 0x0f;
            // RSV bits need a negotiated extension (§5.2); we negotiate none.
            if (rx.hdr[0] & 0x70) {
                protocol_error(c, "RSV bit set without an extension");
                return false;
            }
            if (opcode >= 0x8) {
                if (opcode != kOpClose && opcode != kOpPing && opcode != kOpPong) {
                    protocol_error(c, "reserved control opcode");
                    return false;
                }
                // §5.5: control frames are never fragmented and carry at most 125 bytes.
                if (!fin || len > 125) {
                    protocol_error(c, "fragmented or oversized control frame");
                    return false;
                }
                rx.ctl_len = 0;
            } else if (opcode == kOpContinuation) {
                if (!rx.in_message) {
                    protocol_error(c, "continuation frame outside a message");
                    return false;
                }
            } else if (opcode == kOpText || opcode == kOpBinary) {
                if (rx.in_message) {
                    protocol_error(c, "new data frame inside a fragmented message");
                    return false;
                }
                rx.in_message = true;
                rx.msg_opcode = opcode;
                rx.msg_len = 0;
                rx.field_have = 0;
            } else {
                protocol_error(c, "reserved data opcode");
                return false;
            }
            if (len > kMaxFramePayload) {
                protocol_error(c, "frame larger than 64 MiB");
                return false;
            }
            rx.frame_fin = fin;
            rx.frame_opcode = opcode;
            rx.payload_left = len;
            rx.in_payload = true;
        }
        const size_t take = static_cast<size_t>(std::min<uint64_t>(rx.payload_left, n));
        if (rx.frame_opcode >= 0x8) {
            std::memcpy(rx.ctl.data() + rx.ctl_len, p, take);
            rx.ctl_len = static_cast<uint8_t>(rx.ctl_len + take);
        } else if (hub_mode_) {
            // Hub modes read whole JSON messages: in place when one frame holds the message and
            // this read holds the frame (the common case), else gathered in c.msg.
            if (rx.frame_fin && rx.msg_len == 0 && take == rx.payload_left) {
                direct_ = hub::Bytes{p, take};
            } else {
                direct_ = {};
                c.msg.insert(c.msg.end(), p, p + take);
            }
            rx.msg_len += take;
        } else {
            const size_t want = std::min(rx.field.size(), 2 * field_width_);
            if (rx.field_have < want) {
                const size_t f = std::min(want - rx.field_have, take);
                std::memcpy(rx.field.data() + rx.field_have, p, f);
                rx.field_have = static_cast<uint8_t>(rx.field_have + f);
            }
            rx.msg_len += take;
        }
        p += take;
        n -= take;
        rx.payload_left -= take;
        if (rx.payload_left == 0) {
            rx.in_payload = false;
            on_frame_complete(c);
            if (c.fd < 0) return false;
        }
    }
    return true;
}

void Worker::on_frame_complete(Conn& c) {
    RxState& rx = c.rx;
    if (rx.frame_opcode >= 0x8) {
        on_control(c, rx.frame_opcode);
        return;
    }
    if (!rx.frame_fin) return;
    if (rx.msg_len > kMaxMessageSize) {
        protocol_error(c, "message larger than 64 MiB");
        return;
    }
    rx.in_message = false;
    on_message(c, rx.msg_opcode, rx.msg_len);
}

void Worker::on_control(Conn& c, uint8_t opcode) {
    RxState& rx = c.rx;
    if (opcode == kOpPing) {
        ++stats.pings;
        // §5.5.3: a pong echoes the ping's application data.
        if (c.state == ConnState::Open) queue_control(c, kOpPong, rx.ctl.data(), rx.ctl_len);
        return;
    }
    if (opcode == kOpPong) return;
    // Close (§5.5.1).
    uint16_t code = 1005;
    if (rx.ctl_len == 1) {
        protocol_error(c, "close frame with a 1-byte payload");
        return;
    }
    if (rx.ctl_len >= 2) code = static_cast<uint16_t>((rx.ctl[0] << 8) | rx.ctl[1]);
    if (c.state == ConnState::Closing) {
        // Our close was answered; the server closes TCP first (§7.1.1), so wait for EOF.
        c.close_received = true;
        return;
    }
    ++stats.server_closes;
    if (counted_open(c))
        ctl_.lost.fetch_add(1, std::memory_order_relaxed);
    else
        ctl_.failed.fetch_add(1, std::memory_order_relaxed); // the connect phase waits for it
    stats.last_close_code = code;
    char buf[96];
    std::snprintf(buf, sizeof buf, "server sent close %u before we asked", unsigned{code});
    ctl_.note_failure(buf);
    c.close_received = true;
    c.state = ConnState::Closing;
    const uint8_t echo_code[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
    queue_control(c, kOpClose, echo_code, rx.ctl_len >= 2 ? 2 : 0);
}

} // namespace wsload
