#include "app/session.hpp"

#include "app/server.hpp"
#include "app/webapp.hpp"
#include "base/log.hpp"
#include "base/steady_ms.hpp"
#include "http/response.hpp"
#include "ws/handshake.hpp"
#include "hub/api.hpp"
#include "hub/protocol.hpp"
#include "json/reader.hpp"
#include "json/writer.hpp"

#include <openssl/crypto.h>

namespace switchboard::app {

namespace {
constexpr std::string_view kLandingPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2330}
code{background:#eef1f6;padding:.1rem .3rem;border-radius:4px}h1{font-weight:600}</style></head>
<body><h1>Switchboard is running</h1>
<p>Real-time messaging over WebSocket and WebRTC from one server.</p>
<ul><li><a href="/healthz"><code>/healthz</code></a> &mdash; liveness</li>
<li><a href="/metrics"><code>/metrics</code></a> &mdash; Prometheus metrics</li></ul>
<p>Serve your web app with <code>--static-dir DIR</code>.</p></body></html>
)";

std::chrono::seconds secs(std::uint64_t s) { return std::chrono::seconds(static_cast<long>(s)); }
} // namespace

Session::Session(LoopContext& ctx, int fd, std::unique_ptr<net::TlsSession> tls)
    : Stream(ctx.loop_, fd, std::move(tls)), ctx_(ctx) {
    set_deadline(secs(ctx.server.config().header_timeout));
}

Session::~Session() {
    if (api_ticket_) ctx_.api_waiting.erase(api_ticket_);
}

void Session::set_deadline(std::chrono::seconds from_now) {
    deadline_ms_ = steady_ms(loop().now()) + static_cast<std::uint32_t>(from_now.count() * 1000);
}

bool Session::past_deadline(net::Clock::time_point now) const noexcept {
    // Wrap-safe: a signed difference of 32-bit milliseconds.
    return static_cast<std::int32_t>(steady_ms(now) - deadline_ms_) >= 0;
}

void Session::write_shared(const SharedBytes& bytes) {
    // During a fan-out on this loop, use the loop's local reference to the same bytes.
    if (bytes.data() && bytes.data() == ctx_.fanout_plain) return send_shared(ctx_.fanout_plain_block);
    if (bytes.data() && bytes.data() == ctx_.fanout_deflated) return send_shared(ctx_.fanout_deflated_block);
    send_shared(bytes);
}

const ws::ConnectionConfig& Session::config() const noexcept { return ctx_.server.ws_config(); }

ws::LoopCompression* Session::compression() noexcept {
    return ctx_.server.compression_enabled() ? &ctx_.compression : nullptr;
}

void Session::on_data(std::span<std::uint8_t> bytes) {
    if (auto* conn = ws()) {
        conn->on_bytes(bytes, loop().now());
        check_backpressure();
        return;
    }
    if (close_after_response_) return; // a rejected request: ignore what follows
    auto& http = std::get<HttpPhase>(phase_);
    if (http.in.empty()) {
        std::size_t n = handle_http(bytes);
        if (n < bytes.size() && !closed() && !close_after_response_ && !ws())
            std::get<HttpPhase>(phase_).in.append(bytes.subspan(n));
        return;
    }
    // Take the partial request out of the session: an upgrade replaces the HTTP state while
    // the bytes are still being read.
    ByteBuffer pending = std::move(http.in);
    pending.append(bytes);
    std::size_t n = handle_http(pending.span());
    if (n < pending.size() && !closed() && !close_after_response_ && !ws()) {
        pending.consume(n);
        std::get<HttpPhase>(phase_).in = std::move(pending);
    }
}

std::size_t Session::handle_http(std::span<std::uint8_t> in) {
    std::size_t consumed = 0;
    const http::Limits& limits = ctx_.server.http_limits();
    auto& st = std::get<HttpPhase>(phase_);
    while (consumed < in.size() && !closed() && !ws() && !close_after_response_ && !api_ticket_) {
        std::span<std::uint8_t> req_bytes = in.subspan(consumed);
        std::string_view rest(reinterpret_cast<const char*>(req_bytes.data()), req_bytes.size());
        http::RequestHead req; // views into `in`
        if (st.head_len == 0) {
            // Parse only once the blank line has arrived (or the head is over its limit): a head
            // dribbled in byte by byte is then searched once, not re-parsed per byte.
            std::size_t from = st.scanned > 3 ? st.scanned - 3 : 0;
            if (rest.find("\r\n\r\n", from) == std::string_view::npos && rest.size() <= limits.max_head_size &&
                rest.size() <= limits.max_request_line) {
                st.scanned = static_cast<std::uint32_t>(rest.size());
                break;
            }
            auto r = http::parse_request_head(rest, limits, req);
            if (r.kind == http::ParseResult::Kind::Incomplete) {
                st.scanned = static_cast<std::uint32_t>(rest.size());
                break;
            }
            if (r.kind == http::ParseResult::Kind::Error) {
                if (ctx_.may_log_peer_error())
                    log::debug("bad request", {{"status", std::to_string(r.status)}, {"reason", std::string(r.reason)}});
                close_after_response_ = true;
                respond(r.status, std::string(r.reason) + "\n", nullptr);
                return in.size();
            }
            if (!req.chunked) {
                const std::size_t total = r.consumed + req.content_length;
                if (rest.size() < total) { // wait for the body
                    maybe_continue(req);
                    break;
                }
                consumed += total;
                st.scanned = 0;
                st.continued = false;
                ctx_.stats.http_requests.add();
                handle_request(req, req_bytes.subspan(r.consumed, static_cast<std::size_t>(req.content_length)));
                if (auto* conn = ws()) {
                    // Bytes after the upgrade request are already WebSocket frames.
                    if (consumed < in.size()) conn->on_bytes(in.subspan(consumed), loop().now());
                    return in.size();
                }
                continue;
            }
            st.head_len = static_cast<std::uint32_t>(r.consumed);
            st.decoded = st.encoded = 0;
            st.chunked = http::ChunkedDecoder{};
            maybe_continue(req);
        }
        // A chunked body, decoded in place right after the head.
        std::uint8_t* body = req_bytes.data() + st.head_len;
        std::size_t written = st.decoded;
        auto step = st.chunked.feed(body + st.encoded, req_bytes.size() - st.head_len - st.encoded, body, written,
                                    limits.max_body_size);
        st.encoded += static_cast<std::uint32_t>(step.consumed);
        st.decoded = static_cast<std::uint32_t>(written);
        if (step.status == http::ChunkedDecoder::Status::NeedMore) break;
        if (step.status == http::ChunkedDecoder::Status::Error) {
            close_after_response_ = true;
            respond(step.http_status, std::string(step.reason) + "\n", nullptr);
            return in.size();
        }
        // The head's bytes are untouched: parse it again for views into them.
        http::ParseResult again = http::parse_request_head(rest.substr(0, st.head_len), limits, req);
        (void)again; // it parsed before
        consumed += st.head_len + st.encoded;
        std::span<const std::uint8_t> decoded(body, st.decoded);
        st.head_len = st.decoded = st.encoded = st.scanned = 0;
        st.continued = false;
        ctx_.stats.http_requests.add();
        handle_request(req, decoded);
        if (ws()) return in.size(); // an upgrade request carries no body
    }
    return consumed;
}

void Session::maybe_continue(const http::RequestHead& req) {
    // RFC 9110 §10.1.1: a client that sent "Expect: 100-continue" may wait for this before
    // sending the body (curl waits a second).
    auto& st = std::get<HttpPhase>(phase_);
    auto expect = req.header("expect");
    if (st.continued || !expect || !http::iequals(*expect, "100-continue")) return;
    st.continued = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    send({reinterpret_cast<const std::uint8_t*>(kContinue.data()), kContinue.size()});
}

void Session::respond(int status, std::string_view body, const http::RequestHead* req, std::string_view content_type,
                      std::initializer_list<std::pair<std::string_view, std::string_view>> headers) {
    respond_raw(status, body, req && req->keep_alive(), req && req->method == "HEAD", content_type, headers);
}

void Session::respond_raw(int status, std::string_view body, bool keep_alive, bool head_only,
                          std::string_view content_type,
                          std::initializer_list<std::pair<std::string_view, std::string_view>> headers) {
    if (status >= 500) ctx_.stats.http_5xx.add();
    else if (status >= 400) ctx_.stats.http_4xx.add();
    bool keep = keep_alive && !close_after_response_ && !shutting_down_;
    ByteBuffer& out = ctx_.http_out;
    out.clear();
    http::Response r;
    r.status = status;
    r.body = body;
    r.content_type = content_type;
    r.keep_alive = keep;
    r.head_only = head_only;
    r.headers = headers;
    http::write_response(out, r);
    send(out.span());
    if (out.capacity() > 256 * 1024) out.release();
    if (!keep) {
        close_after_response_ = true;
        end();
    } else {
        set_deadline(secs(ctx_.server.config().http_idle_timeout));
    }
}

void Session::handle_request(const http::RequestHead& req, std::span<const std::uint8_t> body) {
    const auto& cfg = ctx_.server.config();
    const bool get_or_head = req.method == "GET" || req.method == "HEAD";
    std::string_view path = req.path;

    if (path == "/connection") {
        if (ws::is_upgrade_request(req)) return upgrade(req, Endpoint::Hub);
        return respond(426, "this endpoint speaks WebSocket (see docs/protocol.md)\n", &req, "text/plain; charset=utf-8",
                       {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}});
    }
    if (path.substr(0, 5) == "/api/") return handle_api(req, body);

    if (path == "/healthz" || path == "/metrics") {
        if (!get_or_head) return respond(405, "method not allowed\n", &req, "text/plain; charset=utf-8", {{"Allow", "GET, HEAD"}});
        if (path == "/healthz") return respond(200, "ok\n", &req);
        std::string text = render_metrics(ctx_.server.loops());
        return respond(200, text, &req, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (cfg.echo && (path == "/echo" || path == "/broadcast")) {
        auto ep = path == "/echo" ? Endpoint::Echo : Endpoint::Broadcast;
        if (ws::is_upgrade_request(req)) return upgrade(req, ep);
        if (req.method != "GET") return respond(405, "method not allowed\n", &req, "text/plain; charset=utf-8", {{"Allow", "GET"}});
        return respond(426, "this endpoint speaks WebSocket\n", &req, "text/plain; charset=utf-8",
                       {{"Upgrade", "websocket"}, {"Sec-WebSocket-Version", "13"}});
    }
    if (ws::is_upgrade_request(req)) return respond(404, "no WebSocket endpoint here\n", &req);
    if (!get_or_head) return respond(405, "method not allowed\n", &req, "text/plain; charset=utf-8", {{"Allow", "GET, HEAD"}});
    const auto& statics = ctx_.server.static_files();
    if (statics.enabled()) {
        if (auto f = statics.lookup(path)) {
            auto inm = req.header("if-none-match");
            if (inm && *inm == f->etag) return respond(304, {}, &req, {}, {{"ETag", f->etag}});
            return respond(200, f->body, &req, f->content_type, {{"ETag", f->etag}, {"Cache-Control", "no-cache"}});
        }
    } else if (const EmbeddedFile* f = find_webapp_file(path)) {
        auto inm = req.header("if-none-match");
        if (inm && *inm == f->etag) return respond(304, {}, &req, {}, {{"ETag", f->etag}});
        return respond(200, f->body, &req, f->content_type, {{"ETag", f->etag}, {"Cache-Control", "no-cache"}});
    } else if (path == "/" || path == "/index.html") {
        return respond(200, kLandingPage, &req, "text/html; charset=utf-8");
    }
    respond(404, "not found\n", &req);
}

void Session::upgrade(const http::RequestHead& req, Endpoint ep) {
    auto hs = ws::accept_handshake(req, ctx_.server.handshake_config());
    if (hs.status != 101) {
        ctx_.stats.ws_handshake_rejected.add();
        close_after_response_ = true;
        if (hs.status == 426) {
            respond(426, hs.reason + "\n", &req, "text/plain; charset=utf-8", {{"Sec-WebSocket-Version", "13"}});
        } else {
            respond(hs.status, hs.reason + "\n", &req);
        }
        return;
    }
    send({reinterpret_cast<const std::uint8_t*>(hs.response.data()), hs.response.size()});
    phase_.emplace<ws::Connection>(static_cast<ws::ConnectionIo&>(*this), hs.deflate, loop().now());
    endpoint_ = ep;
    if (ep == Endpoint::Hub) {
        std::string ip = ctx_.server.config().max_connections_per_ip ? peer_address() : std::string();
        client_ = std::make_unique<hub::Client>(*ctx_.shard, static_cast<hub::ClientIo&>(*this), std::move(ip));
    }
    if (ep == Endpoint::Broadcast) {
        broadcast_index_ = static_cast<std::uint32_t>(ctx_.broadcast.size());
        ctx_.broadcast.push_back(this);
        if (ws()->uses_deflate()) ctx_.server.deflate_subscribers().fetch_add(1, std::memory_order_relaxed);
    }
    ctx_.stats.ws_open.add();
    ctx_.stats.ws_total.add();
}

void Session::on_message(ws::Opcode op, std::span<std::uint8_t> payload) {
    ctx_.stats.messages_in.add();
    ctx_.stats.message_bytes_in.add(payload.size());
    if (endpoint_ == Endpoint::Echo) {
        if (ws()->send(op, payload) == ws::SendResult::Sent) {
            ctx_.stats.messages_out.add();
            ctx_.stats.message_bytes_out.add(payload.size());
        }
    } else if (endpoint_ == Endpoint::Broadcast) {
        ctx_.server.broadcast(ctx_, op, payload);
    } else if (endpoint_ == Endpoint::Hub && client_) {
        if (op != ws::Opcode::Text)
            return disconnect(hub::disconnect::kBadRequest, "binary frames are not part of the JSON protocol");
        client_->on_text({reinterpret_cast<const char*>(payload.data()), payload.size()});
        check_backpressure();
    }
}

void Session::send_text(std::string_view text) {
    auto* conn = ws();
    if (!conn || !conn->open()) return;
    if (conn->send(ws::Opcode::Text, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}) ==
        ws::SendResult::Sent) {
        ctx_.stats.messages_out.add();
        ctx_.stats.message_bytes_out.add(text.size());
    }
}

void Session::disconnect(std::uint16_t code, std::string_view reason) {
    auto* conn = ws();
    if (!conn || !conn->open()) return;
    // The push tells clients that cannot read close codes (and logs) why; skip it when the
    // backlog is what we are closing for.
    if (buffered_amount() < ctx_.server.config().max_send_buffer / 2) {
        std::string push;
        hub::append_disconnect_push(push, code, reason, hub::disconnect::reconnect(code));
        send_text(push);
    }
    conn->close(code, reason);
    if (client_) client_->on_closed();
}

void Session::handle_api(const http::RequestHead& req, std::span<const std::uint8_t> body) {
    const auto& key = ctx_.server.config().api_key;
    if (key.empty()) return respond(404, "the server API is off (start with --api-key)\n", &req);
    if (req.method != "POST")
        return respond(405, "method not allowed\n", &req, "text/plain; charset=utf-8", {{"Allow", "POST"}});
    std::string_view given;
    if (auto h = req.header("x-api-key")) given = *h;
    else if (auto a = req.header("authorization"); a && a->size() > 7 && http::iequals(a->substr(0, 7), "apikey "))
        given = trim_ows(a->substr(7));
    if (given.size() != key.size() || CRYPTO_memcmp(given.data(), key.data(), key.size()) != 0) {
        return respond(401, "{\"error\":{\"code\":101,\"reason\":\"unauthorized: bad or missing API key\"}}", &req,
                       "application/json", {{"WWW-Authenticate", "apikey"}});
    }
    std::string_view method = req.path.substr(5);
    if (method == "turn_secrets") return turn_secrets(req, {reinterpret_cast<const char*>(body.data()), body.size()});
    api_ticket_ = ctx_.next_api_ticket++;
    api_keep_alive_ = req.keep_alive();
    ctx_.api_waiting.emplace(api_ticket_, this);
    pause_reading(true); // one request at a time: the next waits in the buffer (or the socket)
    LoopContext* ctx = &ctx_;
    std::uint64_t ticket = api_ticket_;
    hub::call_api(*ctx_.shard, method, {reinterpret_cast<const char*>(body.data()), body.size()},
                  [ctx, ticket](hub::ErrorCode e, std::string result) {
                      auto it = ctx->api_waiting.find(ticket);
                      if (it != ctx->api_waiting.end()) it->second->finish_api(e, std::move(result));
                  });
}

// POST /api/turn_secrets {"secrets":["new","old"]}: the TURN REST secrets, replaced while running.
// The first signs the credentials the hub hands out from now on; all of them verify, so keeping
// the old one for a while lets credentials minted before the rotation live out their time.
void Session::turn_secrets(const http::RequestHead& req, std::string_view body) {
    auto fail = [&](std::string_view reason) {
        std::string out = "{\"error\":{\"code\":107,\"reason\":";
        json::append_escaped(out, reason);
        out += "}}\n";
        respond(400, out, &req, "application/json");
    };
    if (!ctx_.server.turn_settings()) return respond(404, "{\"error\":{\"code\":108,\"reason\":\"STUN/TURN is off\"}}\n", &req, "application/json");
    json::Value v;
    if (json::parse(body, v) != json::Error::None || v.kind != json::Kind::Object) return fail("body must be a JSON object");
    std::vector<std::string> secrets;
    bool ok = false;
    json::for_each_member(v, [&](std::string_view k, json::Value m) {
        if (!json::key_is(k, "secrets") || m.kind != json::Kind::Array) return;
        ok = true;
        json::for_each_element(m, [&](json::Value e) {
            std::string s;
            if (!json::get_string(e, s) || s.empty() || s.size() > 256 || secrets.size() >= 16) ok = false;
            else secrets.push_back(std::move(s));
        });
    });
    if (!ok || secrets.empty()) return fail("secrets must be an array of 1 to 16 non-empty strings");
    ctx_.server.set_turn_secrets(secrets);
    log::info("turn secrets replaced", {{"count", std::to_string(secrets.size())}});
    respond(200, "{\"result\":{\"secrets\":" + std::to_string(secrets.size()) + "}}\n", &req, "application/json");
}

void Session::finish_api(hub::ErrorCode e, std::string result) {
    ctx_.api_waiting.erase(api_ticket_);
    api_ticket_ = 0;
    std::string body;
    if (e == hub::ErrorCode::None) {
        body += "{\"result\":";
        body += result.empty() ? std::string_view("{}") : std::string_view(result);
        body += '}';
    } else {
        hub::append_error_object(body, e);
    }
    body += '\n';
    respond_raw(hub::api_http_status(e), body, api_keep_alive_, false, "application/json", {});
    if (closed() || close_after_response_) return;
    pause_reading(false);
    // Requests pipelined behind this one wait in the buffer: handle them now.
    if (!std::get<HttpPhase>(phase_).in.empty()) on_data({});
}

void Session::deliver(const ws::FramedMessage& m) {
    auto* conn = ws();
    if (!conn || !conn->open()) return;
    if (endpoint_ == Endpoint::Hub && buffered_amount() > ctx_.server.config().max_send_buffer)
        return disconnect(hub::disconnect::kSlowConsumer, "slow consumer: send buffer full");
    if (conn->send(m) == ws::SendResult::Sent) {
        ctx_.stats.messages_out.add();
        ctx_.stats.message_bytes_out.add(m.plain.size());
    }
}

void Session::check_backpressure() {
    // Replies to a peer that sends faster than it reads: stop reading (TCP pushes back) rather
    // than buffer without bound; resume once the backlog is written.
    if (buffered_amount() > ctx_.server.config().max_send_buffer) pause_reading(true);
}

void Session::on_drained() {
    if (!hub_paused_) pause_reading(false);
}

void Session::pause_input(bool paused) {
    hub_paused_ = paused;
    if (paused) pause_reading(true);
    else if (buffered_amount() <= ctx_.server.config().max_send_buffer) pause_reading(false);
}

void Session::on_closed(std::uint16_t code, std::string_view reason) {
    if (client_) client_->on_closed(); // no more deliveries once closing
    if (code != ws::close_code::kNormal && code != ws::close_code::kGoingAway && ctx_.may_log_peer_error())
        log::debug("websocket closed", {{"code", std::to_string(code)}, {"reason", std::string(reason)}});
    switch (code) {
    case ws::close_code::kProtocolError: ctx_.stats.ws_protocol_error.add(); break;
    case ws::close_code::kInvalidPayload: ctx_.stats.ws_invalid_payload.add(); break;
    case ws::close_code::kTooBig: ctx_.stats.ws_too_big.add(); break;
    case ws::close_code::kTryAgainLater: ctx_.stats.ws_slow_consumer.add(); break;
    default: break;
    }
    if (reason == "idle timeout") ctx_.stats.ws_idle_timeout.add();
    if (reason == "close handshake timed out") ctx_.stats.ws_close_timeout.add();
    // The peer has close_timeout to send its EOF after our close; then we cut the line.
    set_deadline(secs(ctx_.server.config().close_timeout));
}

void Session::on_close() {
    if (client_) client_->on_closed();
    if (api_ticket_) {
        ctx_.api_waiting.erase(api_ticket_);
        api_ticket_ = 0;
    }
    if (auto* conn = ws()) {
        conn->on_transport_closed();
        ctx_.stats.ws_open.sub();
        if (endpoint_ == Endpoint::Broadcast) {
            auto& b = ctx_.broadcast;
            if (conn->uses_deflate()) ctx_.server.deflate_subscribers().fetch_sub(1, std::memory_order_relaxed);
            if (broadcast_index_ < b.size() && b[broadcast_index_] == this) {
                b[broadcast_index_] = b.back();
                b[broadcast_index_]->broadcast_index_ = broadcast_index_;
                b.pop_back();
            }
        }
    }
}

void Session::on_tick(net::Clock::time_point now) {
    if (auto* conn = ws()) {
        if (!conn->open() && ending() && past_deadline(now)) return close();
        conn->on_tick(now);
        if (client_) client_->on_tick();
        return;
    }
    if (!past_deadline(now)) return;
    if (!std::get<HttpPhase>(phase_).in.empty() && !close_after_response_) {
        close_after_response_ = true;
        respond(408, "request timeout\n", nullptr);
        return;
    }
    close();
}

void Session::shut_down() {
    shutting_down_ = true;
    if (auto* conn = ws()) {
        conn->close(ws::close_code::kGoingAway, "server shutting down");
        return;
    }
    if (std::get<HttpPhase>(phase_).in.empty()) close();
    else set_deadline(std::chrono::seconds(0)); // finish at the next tick at the latest
}

} // namespace switchboard::app
