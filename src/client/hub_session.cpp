#include "client/hub_session.hpp"

#include "json/reader.hpp"
#include "json/writer.hpp"
#include "ws/frame.hpp"
#include "ws/handshake.hpp"

#include <cstring>

namespace switchboard::client {

namespace {
constexpr std::uint64_t kMaxMessage = 16 * 1024 * 1024;
} // namespace

HubSession::HubSession(std::string host, std::string path, std::uint64_t seed)
    : host_(std::move(host)), path_(std::move(path)), rng_(seed),
      parser_(ws::ParserLimits{kMaxMessage, false, true}) {}

void HubSession::start() {
    std::uint8_t nonce[16];
    for (auto& b : nonce) b = static_cast<std::uint8_t>(rng_());
    key_ = ws::client_key(nonce);
    const std::string req = ws::client_request(host_, path_, key_, "switchboard.v1.json");
    out_.insert(out_.end(), req.begin(), req.end());
}

void HubSession::on_bytes(std::span<const std::uint8_t> bytes) {
    if (closed_) return;
    if (!open_) {
        head_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        const ws::ClientHandshake h = ws::read_response(head_, key_);
        if (h.status == ws::ClientHandshake::Status::Incomplete) return;
        if (h.status == ws::ClientHandshake::Status::Refused) return finish(1006, h.reason);
        open_ = true;
        messages_.push_back(HubMessage{});
        std::vector<std::uint8_t> rest(head_.begin() + static_cast<std::ptrdiff_t>(h.head_size), head_.end());
        head_.clear();
        head_.shrink_to_fit();
        if (!rest.empty()) parser_.feed(rest, *this);
        return;
    }
    // The parser unmasks in place; server frames are not masked, so a copy is only for const.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    parser_.feed(copy, *this);
}

void HubSession::send_frame(ws::Opcode op, std::span<const std::uint8_t> payload) {
    std::uint8_t mask[4];
    const std::uint32_t m = static_cast<std::uint32_t>(rng_());
    std::memcpy(mask, &m, 4);
    std::uint8_t header[ws::kMaxHeaderSize];
    const std::size_t h = ws::encode_header(header, op, true, false, payload.size(), mask);
    out_.insert(out_.end(), header, header + h);
    const std::size_t at = out_.size();
    out_.insert(out_.end(), payload.begin(), payload.end());
    ws::apply_mask(out_.data() + at, payload.size(), mask, 0);
}

std::uint32_t HubSession::command(std::string_view op, std::string_view fields) {
    if (!open()) return 0;
    const std::uint32_t id = next_id_++;
    std::string text = "{\"id\":" + std::to_string(id) + ",\"op\":";
    json::append_escaped(text, op);
    if (!fields.empty()) {
        text += ',';
        text += fields;
    }
    text += '}';
    send_frame(ws::Opcode::Text, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    return id;
}

void HubSession::close(std::uint16_t code, std::string_view reason) {
    if (!open() || close_sent_) return;
    close_sent_ = true;
    std::vector<std::uint8_t> p{static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
    p.insert(p.end(), reason.begin(), reason.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(reason.size(), 123)));
    send_frame(ws::Opcode::Close, p);
}

void HubSession::take_output(std::vector<std::uint8_t>& out) {
    out.insert(out.end(), out_.begin(), out_.end());
    out_.clear();
}

bool HubSession::poll_message(HubMessage& out) {
    if (messages_.empty()) return false;
    out = std::move(messages_.front());
    messages_.pop_front();
    return true;
}

void HubSession::on_message(ws::Opcode op, std::span<std::uint8_t> payload, bool) {
    if (op != ws::Opcode::Text) return; // version 1 of the protocol is JSON text
    std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
    while (!text.empty()) {
        const auto nl = text.find('\n');
        on_line(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
}

void HubSession::on_line(std::string_view line) {
    json::Value v;
    if (line.empty() || json::parse(line, v) != json::Error::None || v.kind != json::Kind::Object) return;
    HubMessage m;
    bool is_reply = false;
    json::for_each_member(v, [&](std::string_view k, json::Value x) {
        if (json::key_is(k, "id")) {
            std::uint64_t id = 0;
            if (json::get_u64(x, id)) m.id = static_cast<std::uint32_t>(id);
            is_reply = true;
        } else if (json::key_is(k, "result")) {
            m.ok = true;
            m.json = std::string(x.raw);
        } else if (json::key_is(k, "error")) {
            json::for_each_member(x, [&](std::string_view ek, json::Value ev) {
                std::int64_t code = 0;
                if (json::key_is(ek, "code") && json::get_i64(ev, code)) m.code = static_cast<int>(code);
                else if (json::key_is(ek, "reason")) json::get_string(ev, m.reason);
            });
        } else if (json::key_is(k, "push")) {
            json::get_string(x, m.push);
        }
    });
    if (is_reply) {
        m.kind = HubMessage::Kind::Reply;
    } else if (!m.push.empty()) {
        m.kind = HubMessage::Kind::Push;
        m.json = std::string(line);
    } else {
        return;
    }
    messages_.push_back(std::move(m));
}

void HubSession::on_control(ws::Opcode op, std::span<const std::uint8_t> payload) {
    if (op == ws::Opcode::Ping && !close_sent_) send_frame(ws::Opcode::Pong, payload);
}

void HubSession::on_close(std::uint16_t code, std::string_view reason) {
    if (!close_sent_) {
        close_sent_ = true;
        std::uint8_t p[2] = {static_cast<std::uint8_t>(code >> 8), static_cast<std::uint8_t>(code)};
        send_frame(ws::Opcode::Close, code == ws::close_code::kNoStatus ? std::span<const std::uint8_t>{}
                                                                          : std::span<const std::uint8_t>{p, 2});
    }
    finish(code, std::string(reason));
}

void HubSession::on_protocol_error(std::uint16_t code, std::string_view reason) {
    finish(code, "the server broke the WebSocket protocol: " + std::string(reason));
}

void HubSession::finish(int code, std::string reason) {
    if (closed_) return;
    closed_ = true;
    HubMessage m;
    m.kind = HubMessage::Kind::Closed;
    m.code = code;
    m.reason = std::move(reason);
    messages_.push_back(std::move(m));
}

} // namespace switchboard::client
