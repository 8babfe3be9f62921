#pragma once
// Session: one client connection as the server sees it. It starts as HTTP/1.1 (requests,
// keep-alive, limits) and may upgrade to WebSocket, after which the ws::Connection state machine
// drives it. One object per connection keeps an idle connection small.
#include "base/byte_buffer.hpp"
#include "http/chunked.hpp"
#include "http/request.hpp"
#include "hub/client.hpp"
#include "net/stream.hpp"
#include "ws/connection.hpp"

#include <memory>
#include <optional>
#include <variant>

namespace switchboard::app {

struct LoopContext;

/// Where an HTTP request stands between reads. Offsets count from the request's first byte,
/// which stays at the front of the unconsumed input until the request is handled.
struct HttpPhase {
    ByteBuffer in;                   // bytes not yet consumed (a partial request)
    http::ChunkedDecoder chunked;    // a chunked body, decoded in place after the head
    std::uint32_t head_len = 0;      // non-zero while a chunked body is being received
    std::uint32_t decoded = 0;       // body bytes decoded so far (right after the head)
    std::uint32_t encoded = 0;       // encoded body bytes consumed so far
    std::uint32_t scanned = 0;       // head bytes already searched for the blank line
    bool continued = false;          // "100 Continue" sent for this request
};


/// Not thread-safe; lives on its loop (see net::Stream for lifetime).
class Session final : public net::Stream, private ws::ConnectionIo, private hub::ClientIo {
  public:
    enum class Endpoint : std::uint8_t { None, Echo, Broadcast, Hub };

    Session(LoopContext& ctx, int fd, std::unique_ptr<net::TlsSession> tls);
    ~Session() override;

    void on_tick(net::Clock::time_point now) override;
    /// Server shutdown: WebSocket peers get close 1001, idle HTTP connections close.
    void shut_down();
    /// Fan-out delivery (broadcast endpoint; also hub::ClientIo's).
    void deliver(const ws::FramedMessage& m) override;
    /// The hub finished this session's server-API request.
    void turn_secrets(const http::RequestHead& req, std::string_view body);
    void finish_api(hub::ErrorCode e, std::string result);
    bool is_websocket() const noexcept { return ws() != nullptr; }

  private:
    // net::Stream
    void on_data(std::span<std::uint8_t> bytes) override;
    void on_drained() override;
    void on_close() override;
    // ws::ConnectionIo
    void write(std::span<const std::uint8_t> bytes) override { send(bytes); }
    void write_shared(const SharedBytes& bytes) override;
    std::size_t buffered() const noexcept override { return buffered_amount(); }
    void end_transport() override { end(); }
    void abort_transport() override { close(); }
    void on_message(ws::Opcode op, std::span<std::uint8_t> payload) override;
    void on_closed(std::uint16_t code, std::string_view reason) override;
    const ws::ConnectionConfig& config() const noexcept override;
    ws::LoopCompression* compression() noexcept override;

    // hub::ClientIo
    void send_text(std::string_view text) override;
    void disconnect(std::uint16_t code, std::string_view reason) override;
    void pause_input(bool paused) override;

    void handle_api(const http::RequestHead& req, std::span<const std::uint8_t> body);
    void respond_raw(int status, std::string_view body, bool keep_alive, bool head_only, std::string_view content_type,
                     std::initializer_list<std::pair<std::string_view, std::string_view>> headers);

    ws::Connection* ws() noexcept { return std::get_if<ws::Connection>(&phase_); }
    const ws::Connection* ws() const noexcept { return std::get_if<ws::Connection>(&phase_); }
    void set_deadline(std::chrono::seconds from_now);
    bool past_deadline(net::Clock::time_point now) const noexcept;

    /// Handles complete requests at the front of `in`; returns bytes consumed.
    std::size_t handle_http(std::span<std::uint8_t> in);
    void handle_request(const http::RequestHead& req, std::span<const std::uint8_t> body);
    void maybe_continue(const http::RequestHead& req);
    void respond(int status, std::string_view body, const http::RequestHead* req, std::string_view content_type = "text/plain; charset=utf-8",
                 std::initializer_list<std::pair<std::string_view, std::string_view>> headers = {});
    void upgrade(const http::RequestHead& req, Endpoint ep);
    void check_backpressure();

    LoopContext& ctx_;
    // HTTP: a partial request (head and body); after the upgrade: the WebSocket state machine.
    std::variant<HttpPhase, ws::Connection> phase_;
    std::unique_ptr<hub::Client> client_; // the hub endpoint's protocol state
    std::uint64_t api_ticket_ = 0;        // non-zero while a server-API request waits for the hub
    bool api_keep_alive_ = false;
    bool hub_paused_ = false;             // the hub client waits for answers: don't read
    std::uint32_t deadline_ms_ = 0; // HTTP head/idle timeout; after a WebSocket close, the EOF wait
    std::uint32_t broadcast_index_ = 0;
    Endpoint endpoint_ = Endpoint::None;
    bool close_after_response_ = false;
    bool shutting_down_ = false;
};

} // namespace switchboard::app
