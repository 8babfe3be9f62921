#include "ws/connection.hpp"

#include "base/steady_ms.hpp"
#include "base/utf8.hpp"

#include <cstring>

namespace switchboard::ws {

namespace {
std::uint32_t to_ms(TimePoint t) noexcept { return steady_ms(t); }
std::uint32_t to_ms(std::chrono::seconds s) noexcept { return static_cast<std::uint32_t>(s.count() * 1000); }

// Scratch buffers that grew for one large message are given back.
constexpr std::size_t kKeepScratch = 1024 * 1024;

std::size_t plain_header_size(const SharedBytes& b) noexcept {
    if (b.size() < 2) return b.size();
    std::uint8_t len7 = b.data()[1] & 0x7F;
    return len7 < 126 ? 2 : (len7 == 126 ? 4 : 10);
}
} // namespace

Deflater& LoopCompression::deflater(int bits) {
    auto& d = deflaters_[bits & 15];
    if (!d) d = std::make_unique<Deflater>(bits, mem_level_);
    return *d;
}

Inflater& LoopCompression::inflater() {
    if (!inflater_) inflater_ = std::make_unique<Inflater>(15);
    return *inflater_;
}

std::span<const std::uint8_t> FramedMessage::payload() const noexcept {
    std::size_t h = plain_header_size(plain);
    return plain.span().subspan(h);
}

FramedMessage frame_message(Opcode op, std::span<const std::uint8_t> payload, LoopCompression* comp,
                            std::size_t threshold) {
    FramedMessage m;
    m.op = op;
    std::size_t h = header_size(payload.size(), false);
    m.plain = SharedBytes::allocate(h + payload.size());
    encode_header(m.plain.mutable_data(), op, true, false, payload.size());
    if (!payload.empty()) std::memcpy(m.plain.mutable_data() + h, payload.data(), payload.size());
    if (comp && payload.size() >= threshold) {
        ByteBuffer& z = comp->deflate_scratch();
        z.clear();
        if (comp->deflater(15).deflate(payload, z, true) && z.size() < payload.size()) {
            std::size_t hz = header_size(z.size(), false);
            m.deflated = SharedBytes::allocate(hz + z.size());
            encode_header(m.deflated.mutable_data(), op, true, true, z.size());
            std::memcpy(m.deflated.mutable_data() + hz, z.data(), z.size());
        }
        if (z.capacity() > kKeepScratch) z.release();
    }
    return m;
}

struct Connection::OwnStreams {
    std::unique_ptr<Deflater> deflater;
    std::unique_ptr<Inflater> inflater;
};

Connection::Connection(ConnectionIo& io, const std::optional<DeflateAgreement>& deflate, TimePoint now)
    : io_(io), last_rx_ms_(to_ms(now)) {
    if (deflate && io.compression()) {
        deflate_ = true;
        server_no_takeover_ = deflate->server_no_context_takeover;
        client_no_takeover_ = deflate->client_no_context_takeover;
        server_bits_ = static_cast<std::uint8_t>(deflate->server_max_window_bits);
        client_bits_ = static_cast<std::uint8_t>(deflate->client_max_window_bits);
    }
    parser_.set_limits(ParserLimits{io.config().max_message_size, deflate_});
}

Connection::~Connection() = default;

std::size_t Connection::memory_estimate() const noexcept {
    std::size_t n = sizeof *this + parser_.buffered();
    if (own_ && own_->deflater) n += (std::size_t{1} << (server_bits_ + 2)) + (std::size_t{1} << (8 + 9));
    if (own_ && own_->inflater) n += (std::size_t{1} << client_bits_) + 7 * 1024;
    return n;
}

Deflater* Connection::deflater() {
    if (server_no_takeover_) return &io_.compression()->deflater(server_bits_);
    if (!own_) own_ = std::make_unique<OwnStreams>();
    if (!own_->deflater) own_->deflater = std::make_unique<Deflater>(server_bits_, 8);
    return own_->deflater.get();
}

Inflater* Connection::inflater() {
    if (client_no_takeover_) return &io_.compression()->inflater();
    if (!own_) own_ = std::make_unique<OwnStreams>();
    if (!own_->inflater) own_->inflater = std::make_unique<Inflater>(client_bits_);
    return own_->inflater.get();
}

void Connection::on_bytes(std::span<std::uint8_t> bytes, TimePoint now) {
    last_rx_ms_ = to_ms(now);
    if (state_ == State::Closed) return;
    parser_.feed(bytes, *this);
}

void Connection::on_message(Opcode op, std::span<std::uint8_t> payload, bool compressed) {
    if (state_ != State::Open) return; // §5.5.1: after our close, data is discarded
    if (compressed) {
        ByteBuffer& plain = io_.compression()->inflate_scratch();
        plain.clear();
        auto st = inflater()->inflate(payload, plain, io_.config().max_message_size, client_no_takeover_);
        if (st == Inflater::Status::TooBig) return on_protocol_error(close_code::kTooBig, "message too big");
        if (st == Inflater::Status::Corrupt) return on_protocol_error(close_code::kInvalidPayload, "invalid compressed data");
        if (op == Opcode::Text && !is_valid_utf8(plain.span()))
            return on_protocol_error(close_code::kInvalidPayload, "invalid UTF-8 in text message");
        io_.on_message(op, plain.span());
        if (plain.capacity() > kKeepScratch) plain.release();
        return;
    }
    io_.on_message(op, payload);
}

void Connection::on_control(Opcode op, std::span<const std::uint8_t> payload) {
    if (op == Opcode::Ping) {
        if (state_ == State::Open) send_frame(Opcode::Pong, payload, false);
    } else if (op == Opcode::Pong) {
        ping_outstanding_ = false;
    }
}

void Connection::on_close(std::uint16_t code, std::string_view reason) {
    if (state_ == State::Closed) return;
    if (!close_sent_) {
        // §5.5.1: echo the status code; an empty close is answered with an empty close.
        if (code == close_code::kNoStatus) send_close_frame(0, {});
        else send_close_frame(code, {});
    }
    // §7.1.1: the server closes the TCP connection first.
    io_.end_transport();
    finish(code, reason);
}

void Connection::on_protocol_error(std::uint16_t code, std::string_view reason) {
    if (state_ == State::Closed) return;
    if (!close_sent_) send_close_frame(code, reason);
    io_.end_transport();
    finish(code, reason);
}

void Connection::on_transport_closed() {
    if (state_ != State::Closed) finish(1006, "connection lost");
}

void Connection::on_tick(TimePoint now) {
    const std::uint32_t now_ms = to_ms(now);
    const ConnectionConfig& cfg = io_.config();
    if (state_ == State::Closing) {
        if (!closing_timer_started_) {
            closing_timer_started_ = true;
            closing_since_ms_ = now_ms;
        } else if (now_ms - closing_since_ms_ >= to_ms(cfg.close_timeout)) {
            finish(1006, "close handshake timed out");
            io_.abort_transport();
        }
        return;
    }
    if (state_ != State::Open) return;
    const std::uint32_t quiet = now_ms - last_rx_ms_;
    const bool pinging = cfg.ping_interval.count() > 0;
    // With pings on, a peer is never closed as idle before it had a ping to answer: with the
    // coarse tick a ping due just before the idle limit would otherwise be skipped.
    if (cfg.idle_timeout.count() > 0 && quiet >= to_ms(cfg.idle_timeout) && (!pinging || ping_outstanding_)) {
        close(close_code::kGoingAway, "idle timeout");
        return;
    }
    if (pinging && quiet >= to_ms(cfg.ping_interval) && !ping_outstanding_) {
        send_frame(Opcode::Ping, {}, false);
        ping_outstanding_ = true;
    }
}

void Connection::send_frame(Opcode op, std::span<const std::uint8_t> payload, bool rsv1) {
    std::uint8_t hdr[kMaxHeaderSize];
    std::size_t h = encode_header(hdr, op, true, rsv1, payload.size());
    if (payload.size() <= 256) {
        // One copy into the output for small frames (the common case).
        std::uint8_t buf[kMaxHeaderSize + 256];
        std::memcpy(buf, hdr, h);
        if (!payload.empty()) std::memcpy(buf + h, payload.data(), payload.size());
        io_.write({buf, h + payload.size()});
        return;
    }
    io_.write({hdr, h});
    io_.write(payload);
}

void Connection::send_close_frame(std::uint16_t code, std::string_view reason) {
    std::uint8_t p[kMaxControlPayload];
    std::size_t n = 0;
    if (code != 0) {
        p[0] = static_cast<std::uint8_t>(code >> 8);
        p[1] = static_cast<std::uint8_t>(code);
        n = 2;
        // Keep the reason inside a control frame and on a UTF-8 boundary.
        std::size_t r = reason.size() < kMaxControlPayload - 2 ? reason.size() : kMaxControlPayload - 2;
        while (r > 0 && !is_valid_utf8({reinterpret_cast<const std::uint8_t*>(reason.data()), r})) --r;
        if (r) std::memcpy(p + 2, reason.data(), r);
        n += r;
    }
    send_frame(Opcode::Close, {p, n}, false);
    close_sent_ = true;
}

void Connection::finish(std::uint16_t code, std::string_view reason) {
    state_ = State::Closed;
    parser_.release_memory();
    io_.on_closed(code, reason);
}

SendResult Connection::send(Opcode op, std::span<const std::uint8_t> payload) {
    if (state_ != State::Open) return SendResult::Dropped;
    if (deflate_ && payload.size() >= io_.config().compression_threshold) {
        ByteBuffer& z = io_.compression()->deflate_scratch();
        z.clear();
        Deflater* d = deflater();
        if (d->deflate(payload, z, server_no_takeover_)) {
            // Without context takeover a message that did not shrink may go out plain; with it,
            // the compressor's window already holds the message, so it must go compressed.
            if (!server_no_takeover_ || z.size() < payload.size()) {
                send_frame(op, z.span(), true);
                if (z.capacity() > kKeepScratch) z.release();
                return SendResult::Sent;
            }
        }
    }
    send_frame(op, payload, false);
    return SendResult::Sent;
}

SendResult Connection::send(const FramedMessage& m) {
    if (state_ != State::Open) return SendResult::Dropped;
    if (io_.buffered() > io_.config().max_send_buffer) {
        close(close_code::kTryAgainLater, "slow consumer: send buffer full");
        return SendResult::Dropped;
    }
    if (deflate_) {
        if (server_no_takeover_ && server_bits_ == 15) {
            io_.write_shared(m.deflated ? m.deflated : m.plain);
            return SendResult::Sent;
        }
        return send(m.op, m.payload());
    }
    io_.write_shared(m.plain);
    return SendResult::Sent;
}

void Connection::close(std::uint16_t code, std::string_view reason) {
    if (state_ != State::Open) return;
    send_close_frame(code, reason);
    state_ = State::Closing;
}

} // namespace switchboard::ws
