#pragma once
// Server-side streaming parser for client frames (RFC 6455 §5). Bytes in, whole messages and
// control frames out. It enforces masking, reserved bits, opcodes, control-frame rules,
// fragmentation order, the message size limit and (for uncompressed text) UTF-8 validity as
// early as the bytes allow (§8.1: fail fast). Compressed messages are handed out still
// compressed; the caller inflates them and validates the result.
#include "base/byte_buffer.hpp"
#include "base/utf8.hpp"
#include "ws/frame.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace switchboard::ws {

/// Receives what the parser finds; spans are valid only during the call.
class ParserSink {
  public:
    /// A complete data message (unmasked; UTF-8 checked unless `compressed`).
    virtual void on_message(Opcode op, std::span<std::uint8_t> payload, bool compressed) = 0;
    /// Ping or pong with its payload.
    virtual void on_control(Opcode op, std::span<const std::uint8_t> payload) = 0;
    /// A valid close frame; code is kNoStatus when the payload was empty.
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    /// The peer broke the protocol: fail the connection with this close code.
    virtual void on_protocol_error(std::uint16_t code, std::string_view reason) = 0;

  protected:
    ~ParserSink() = default;
};

struct ParserLimits {
    std::uint64_t max_message_size = 16 * 1024 * 1024;
    bool allow_rsv1 = false; // permessage-deflate negotiated
    bool from_server = false; // a client's parser: frames must come unmasked (§5.1)
};

/// Not thread-safe; one per connection. After an error or a close frame it ignores input.
class Parser {
  public:
    explicit Parser(ParserLimits limits = {}) noexcept { set_limits(limits); }
    void set_limits(ParserLimits limits) noexcept {
        // Stored in 32 bits: a message limit above 4 GiB - 1 is clamped (the server caps it at 1 GiB).
        max_message_size_ = limits.max_message_size > 0xFFFFFFFFu ? 0xFFFFFFFFu
                                                                 : static_cast<std::uint32_t>(limits.max_message_size);
        allow_rsv1_ = limits.allow_rsv1;
        from_server_ = limits.from_server;
    }

    /// Consumes all of `bytes` (unmasking in place).
    void feed(std::span<std::uint8_t> bytes, ParserSink& sink);
    bool stopped() const noexcept { return stopped_; }
    /// Bytes held for an incomplete message (for memory accounting and limits).
    std::size_t buffered() const noexcept { return msg_.size(); }
    void release_memory() noexcept { if (msg_.empty()) msg_.release(); }

  private:
    bool begin_frame(ParserSink& sink);
    void end_frame(ParserSink& sink);
    void end_control(const std::uint8_t* payload, ParserSink& sink);
    void fail(ParserSink& sink, std::uint16_t code, std::string_view reason);
    bool take_payload(std::uint8_t* p, std::size_t n, ParserSink& sink);

    // Sizes are 32-bit: a frame longer than the message limit fails from its header, before
    // any of these is set. Every connection carries a parser, so it is kept small.
    ByteBuffer msg_;              // fragments of the current message, then a split control frame
    std::uint32_t max_message_size_ = 0;
    std::uint32_t remaining_ = 0; // payload bytes left in the current frame
    std::uint32_t msg_size_ = 0;
    Utf8Validator utf8_;
    std::uint8_t hdr_[kMaxHeaderSize];
    std::uint8_t hdr_len_ = 0;
    std::uint8_t mask_[4] = {};
    std::uint8_t mask_phase_ = 0;
    std::uint8_t ctrl_len_ = 0; // control payload held at the end of msg_ (split reads only)
    Opcode frame_op_ = Opcode::Continuation;
    Opcode msg_op_ = Opcode::Continuation;
    bool fin_ = false;
    bool in_payload_ = false;
    bool in_message_ = false;
    bool compressed_ = false;
    bool from_server_ = false;
    bool stopped_ = false;
    bool allow_rsv1_ = false;
};

} // namespace switchboard::ws
