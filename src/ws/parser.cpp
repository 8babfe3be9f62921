#include "ws/parser.hpp"

#include <cstring>

namespace switchboard::ws {

namespace {
std::size_t needed_header(const std::uint8_t* h) noexcept {
    std::uint8_t len7 = h[1] & 0x7F;
    std::size_t n = 2 + ((h[1] & 0x80) ? 4 : 0);
    if (len7 == 126) n += 2;
    else if (len7 == 127) n += 8;
    return n;
}
} // namespace

void Parser::fail(ParserSink& sink, std::uint16_t code, std::string_view reason) {
    stopped_ = true;
    msg_.release();
    sink.on_protocol_error(code, reason);
}

// Validates the header in hdr_ and sets up the frame. False when the connection failed.
bool Parser::begin_frame(ParserSink& sink) {
    const std::uint8_t b0 = hdr_[0], b1 = hdr_[1];
    fin_ = b0 & 0x80;
    const bool rsv1 = b0 & 0x40;
    const auto op = static_cast<Opcode>(b0 & 0x0F);
    if (b0 & 0x30) return fail(sink, close_code::kProtocolError, "reserved bits set"), false;
    switch (op) {
    case Opcode::Continuation: case Opcode::Text: case Opcode::Binary:
    case Opcode::Close: case Opcode::Ping: case Opcode::Pong:
        break;
    default:
        return fail(sink, close_code::kProtocolError, "reserved opcode"), false;
    }
    // RFC 6455 §5.1: a server MUST close the connection on an unmasked client frame, a client
    // on a masked server frame.
    if (from_server_ && (b1 & 0x80)) return fail(sink, close_code::kProtocolError, "server frame masked"), false;
    if (!from_server_ && !(b1 & 0x80)) return fail(sink, close_code::kProtocolError, "client frame not masked"), false;
    std::uint8_t len7 = b1 & 0x7F;
    std::uint64_t len = len7;
    std::size_t p = 2;
    if (len7 == 126) {
        len = (std::uint64_t{hdr_[2]} << 8) | hdr_[3];
        p = 4;
        if (len < 126) return fail(sink, close_code::kProtocolError, "length not minimally encoded"), false;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | hdr_[2 + i];
        p = 10;
        if (len >> 63) return fail(sink, close_code::kProtocolError, "64-bit length has its top bit set"), false;
        if (len <= 0xFFFF) return fail(sink, close_code::kProtocolError, "length not minimally encoded"), false;
    }
    if (from_server_) std::memset(mask_, 0, 4); // XOR with zeros: the payload as sent
    else std::memcpy(mask_, hdr_ + p, 4);
    mask_phase_ = 0;
    frame_op_ = op;

    if (is_control(op)) {
        if (!fin_) return fail(sink, close_code::kProtocolError, "fragmented control frame"), false;
        if (len > kMaxControlPayload) return fail(sink, close_code::kProtocolError, "control frame over 125 bytes"), false;
        if (rsv1) return fail(sink, close_code::kProtocolError, "RSV1 on a control frame"), false;
        ctrl_len_ = 0;
        remaining_ = static_cast<std::uint32_t>(len);
        return true;
    }
    if (op == Opcode::Continuation) {
        if (!in_message_) return fail(sink, close_code::kProtocolError, "continuation without a message"), false;
        if (rsv1) return fail(sink, close_code::kProtocolError, "RSV1 on a continuation frame"), false;
    } else {
        if (in_message_) return fail(sink, close_code::kProtocolError, "new message inside a fragmented one"), false;
        if (rsv1 && !allow_rsv1_) return fail(sink, close_code::kProtocolError, "RSV1 set without an extension"), false;
        in_message_ = true;
        msg_op_ = op;
        compressed_ = rsv1;
        msg_size_ = 0;
        utf8_.reset();
    }
    if (len > max_message_size_ - msg_size_) return fail(sink, close_code::kTooBig, "message too big"), false;
    msg_size_ += static_cast<std::uint32_t>(len);
    remaining_ = static_cast<std::uint32_t>(len);
    return true;
}

bool Parser::take_payload(std::uint8_t* p, std::size_t n, ParserSink& sink) {
    mask_phase_ = static_cast<std::uint8_t>(apply_mask(p, n, mask_, mask_phase_));
    if (is_control(frame_op_)) {
        // Control frames may interleave with fragments: park the payload after them.
        msg_.append(p, n);
        ctrl_len_ = static_cast<std::uint8_t>(ctrl_len_ + n);
        return true;
    }
    if (msg_op_ == Opcode::Text && !compressed_ && !utf8_.feed({p, n})) {
        fail(sink, close_code::kInvalidPayload, "invalid UTF-8 in text message");
        return false;
    }
    msg_.append(p, n);
    return true;
}

void Parser::end_frame(ParserSink& sink) {
    in_payload_ = false;
    hdr_len_ = 0;
    if (is_control(frame_op_)) {
        std::uint8_t ctrl[kMaxControlPayload];
        std::memcpy(ctrl, msg_.data() + msg_.size() - ctrl_len_, ctrl_len_);
        msg_.shrink_back(ctrl_len_);
        end_control(ctrl, sink);
        return;
    }
    if (!fin_) return;
    if (msg_op_ == Opcode::Text && !compressed_ && !utf8_.complete())
        return fail(sink, close_code::kInvalidPayload, "text message ends inside a UTF-8 sequence");
    in_message_ = false;
    sink.on_message(msg_op_, msg_.span(), compressed_);
    msg_.clear();
    if (msg_.capacity() > 64 * 1024) msg_.release(); // a large message should not pin its buffer
}

void Parser::end_control(const std::uint8_t* payload, ParserSink& sink) {
    if (frame_op_ == Opcode::Close) {
        stopped_ = true;
        if (ctrl_len_ == 0) return sink.on_close(close_code::kNoStatus, {});
        if (ctrl_len_ == 1) return fail(sink, close_code::kProtocolError, "close payload of one byte");
        auto code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
        if (!is_valid_close_code(code)) return fail(sink, close_code::kProtocolError, "invalid close code");
        std::span<const std::uint8_t> reason{payload + 2, static_cast<std::size_t>(ctrl_len_ - 2)};
        if (!is_valid_utf8(reason)) return fail(sink, close_code::kInvalidPayload, "invalid UTF-8 in close reason");
        return sink.on_close(code, {reinterpret_cast<const char*>(reason.data()), reason.size()});
    }
    sink.on_control(frame_op_, {payload, ctrl_len_});
}

void Parser::feed(std::span<std::uint8_t> bytes, ParserSink& sink) {
    std::uint8_t* p = bytes.data();
    std::uint8_t* const end = p + bytes.size();
    while (p < end && !stopped_) {
        if (!in_payload_) {
            // Fast path: the whole header is here and none is buffered.
            if (hdr_len_ == 0 && end - p >= 2 && static_cast<std::size_t>(end - p) >= needed_header(p)) {
                std::size_t need = needed_header(p);
                std::memcpy(hdr_, p, need);
                p += need;
            } else {
                std::size_t need = hdr_len_ < 2 ? 2 : needed_header(hdr_);
                while (hdr_len_ < need && p < end) {
                    hdr_[hdr_len_++] = *p++;
                    if (hdr_len_ == 2) need = needed_header(hdr_);
                }
                if (hdr_len_ < need) return;
            }
            if (!begin_frame(sink)) return;
            in_payload_ = true;
            if (is_control(frame_op_) && static_cast<std::uint64_t>(end - p) >= remaining_) {
                auto n = static_cast<std::size_t>(remaining_);
                apply_mask(p, n, mask_, 0);
                in_payload_ = false;
                hdr_len_ = 0;
                ctrl_len_ = static_cast<std::uint8_t>(n);
                end_control(p, sink);
                p += n;
                continue;
            }
            // Fast path: a whole unfragmented message in this read is delivered in place.
            if (fin_ && !is_control(frame_op_) && frame_op_ != Opcode::Continuation &&
                static_cast<std::uint64_t>(end - p) >= remaining_) {
                auto n = static_cast<std::size_t>(remaining_);
                apply_mask(p, n, mask_, 0);
                in_payload_ = false;
                hdr_len_ = 0;
                in_message_ = false;
                if (msg_op_ == Opcode::Text && !compressed_ && !is_valid_utf8({p, n})) {
                    fail(sink, close_code::kInvalidPayload, "invalid UTF-8 in text message");
                    return;
                }
                sink.on_message(msg_op_, {p, n}, compressed_);
                p += n;
                continue;
            }
        }
        auto avail = static_cast<std::uint64_t>(end - p);
        auto n = static_cast<std::size_t>(remaining_ < avail ? remaining_ : avail);
        if (n && !take_payload(p, n, sink)) return;
        p += n;
        remaining_ -= static_cast<std::uint32_t>(n);
        if (remaining_ == 0) end_frame(sink);
    }
}

} // namespace switchboard::ws
