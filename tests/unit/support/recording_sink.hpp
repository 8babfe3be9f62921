#pragma once
// A ParserSink that records every event, for comparing parser runs.
#include "ws/parser.hpp"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace switchboard::test {

struct Event {
    enum class Kind { Message, Control, Close, Error } kind = Kind::Message;
    ws::Opcode op = ws::Opcode::Continuation;
    std::string payload; // message/control payload or close reason
    bool compressed = false;
    std::uint16_t code = 0;
    std::string error_reason; // not compared: the same error may be worded per code path

    friend bool operator==(const Event &a, const Event &b) {
        return a.kind == b.kind && a.op == b.op && a.payload == b.payload &&
               a.compressed == b.compressed && a.code == b.code;
    }
    friend std::ostream &operator<<(std::ostream &os, const Event &e) {
        static const char *kinds[] = {"message", "control", "close", "error"};
        os << kinds[static_cast<int>(e.kind)] << "(op=" << static_cast<int>(e.op)
           << " code=" << e.code << (e.compressed ? " compressed" : "") << " payload["
           << e.payload.size() << "]";
        if (e.payload.size() <= 40)
            os << "=\"" << e.payload << "\"";
        if (!e.error_reason.empty())
            os << " reason=\"" << e.error_reason << "\"";
        return os << ")";
    }
};

inline Event message(ws::Opcode op, std::string payload, bool compressed = false) {
    Event e;
    e.op = op;
    e.payload = std::move(payload);
    e.compressed = compressed;
    return e;
}
inline Event control(ws::Opcode op, std::string payload) {
    Event e = message(op, std::move(payload));
    e.kind = Event::Kind::Control;
    return e;
}
inline Event closed(std::uint16_t code, std::string reason = {}) {
    Event e;
    e.kind = Event::Kind::Close;
    e.code = code;
    e.payload = std::move(reason);
    return e;
}
inline Event error(std::uint16_t code) {
    Event e;
    e.kind = Event::Kind::Error;
    e.code = code;
    return e;
}

class RecordingSink final : public ws::ParserSink {
  public:
    std::vector<Event> events;

    void on_message(ws::Opcode op, std::span<std::uint8_t> payload, bool compressed) override {
        events.push_back(message(op, std::string(payload.begin(), payload.end()), compressed));
    }
    void on_control(ws::Opcode op, std::span<const std::uint8_t> payload) override {
        events.push_back(control(op, std::string(payload.begin(), payload.end())));
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        events.push_back(closed(code, std::string(reason)));
    }
    void on_protocol_error(std::uint16_t code, std::string_view reason) override {
        Event e = error(code);
        e.error_reason = std::string(reason);
        events.push_back(std::move(e));
    }
};

} // namespace switchboard::test
