#pragma once
// HubSession: the client end of the hub protocol (docs/protocol.md) over a WebSocket, sans-I/O.
// Bytes from the server go in with on_bytes(); bytes for the server come out of take_output();
// what the server says comes out of poll_message(): the upgrade accepted, replies to commands
// (matched by id), pushes, and the end of the connection with its code and reason. Frames are
// masked (RFC 6455 §5.3); pings are answered; the server's batches (several JSON objects in one
// frame, one per line) are split into messages.
#include "ws/parser.hpp"

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::client {

struct HubMessage {
    enum class Kind : std::uint8_t { Open, Reply, Push, Closed };
    Kind kind = Kind::Open;
    std::uint32_t id = 0;   // Reply
    bool ok = false;        // Reply: result (true) or error
    int code = 0;           // Reply error code; Closed: the WebSocket close code
    std::string reason;     // Reply error reason; Closed: why
    std::string push;       // Push: its name ("signal", "room_join", ...)
    std::string json;       // Reply: the result object; Push: the whole push
};

class HubSession final : ws::ParserSink {
  public:
    /// `host` as the Host header wants it ("name:port"), `path` usually "/connection".
    HubSession(std::string host, std::string path, std::uint64_t seed);

    /// The upgrade request: what to send first.
    void start();
    void on_bytes(std::span<const std::uint8_t> bytes);
    /// Sends {"id":N,"op":op,<fields>}; `fields` is JSON object members ("" or "\"room\":\"a\"").
    /// Returns N (0 when the connection is not open).
    std::uint32_t command(std::string_view op, std::string_view fields);
    /// Starts the close handshake.
    void close(std::uint16_t code, std::string_view reason);

    /// Bytes to write to the socket (appended to `out`).
    void take_output(std::vector<std::uint8_t>& out);
    bool poll_message(HubMessage& out);
    bool open() const noexcept { return open_ && !closed_; }
    bool closed() const noexcept { return closed_; }

  private:
    void on_message(ws::Opcode op, std::span<std::uint8_t> payload, bool compressed) override;
    void on_control(ws::Opcode op, std::span<const std::uint8_t> payload) override;
    void on_close(std::uint16_t code, std::string_view reason) override;
    void on_protocol_error(std::uint16_t code, std::string_view reason) override;
    void send_frame(ws::Opcode op, std::span<const std::uint8_t> payload);
    void on_line(std::string_view line);
    void finish(int code, std::string reason);

    std::string host_, path_, key_;
    std::mt19937_64 rng_;
    ws::Parser parser_;
    std::string head_; // the response head while the upgrade is pending
    bool open_ = false, closed_ = false, close_sent_ = false;
    std::uint32_t next_id_ = 1;
    std::vector<std::uint8_t> out_;
    std::deque<HubMessage> messages_;
};

} // namespace switchboard::client
