// Fuzz target: the streaming WebSocket frame parser (ws/parser). The same bytes fed whole, in
// chunks whose sizes come from the input (uWS makeChunked), and byte by byte must produce the
// same events; every accepted event, re-encoded as a client frame, must parse back to itself.
//
// Input layout: [flags] [n] [n split sizes] [stream...]
//   flags bit 0: permessage-deflate negotiated (RSV1 allowed); bits 1-2: message size limit.
#include "ws/parser.hpp"

#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {
using namespace switchboard::ws;

struct Event {
    enum Kind : std::uint8_t { Message, Control, Close, Error } kind;
    Opcode op;
    bool compressed;
    std::uint16_t code;
    std::string payload; // message/control payload or close reason; empty for errors
    bool operator==(const Event &o) const {
        return kind == o.kind && op == o.op && compressed == o.compressed && code == o.code &&
               payload == o.payload;
    }
};

class Recorder final : public ParserSink {
  public:
    std::vector<Event> events;
    bool finished = false;
    void on_message(Opcode op, std::span<std::uint8_t> p, bool compressed) override {
        SB_FUZZ_CHECK(!finished);
        SB_FUZZ_CHECK(op == Opcode::Text || op == Opcode::Binary);
        events.push_back({Event::Message, op, compressed, 0, std::string(p.begin(), p.end())});
    }
    void on_control(Opcode op, std::span<const std::uint8_t> p) override {
        SB_FUZZ_CHECK(!finished);
        SB_FUZZ_CHECK(op == Opcode::Ping || op == Opcode::Pong);
        SB_FUZZ_CHECK(p.size() <= kMaxControlPayload);
        events.push_back({Event::Control, op, false, 0, std::string(p.begin(), p.end())});
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        SB_FUZZ_CHECK(!finished);
        finished = true;
        SB_FUZZ_CHECK(code == close_code::kNoStatus || is_valid_close_code(code));
        SB_FUZZ_CHECK(reason.size() <= kMaxControlPayload - 2);
        events.push_back({Event::Close, Opcode::Close, false, code, std::string(reason)});
    }
    void on_protocol_error(std::uint16_t code, std::string_view) override {
        SB_FUZZ_CHECK(!finished);
        finished = true;
        SB_FUZZ_CHECK(code == close_code::kProtocolError || code == close_code::kInvalidPayload ||
                      code == close_code::kTooBig);
        // The reason is not compared: one error may be worded differently on different paths.
        events.push_back({Event::Error, Opcode::Continuation, false, code, {}});
    }
};

std::vector<Event> run(const std::vector<std::uint8_t> &stream,
                       const std::vector<std::size_t> &sizes, const ParserLimits &limits) {
    std::vector<std::uint8_t> buf = stream; // the parser unmasks in place
    Parser p(limits);
    Recorder r;
    std::size_t at = 0, i = 0;
    while (at < buf.size()) {
        std::size_t n = sizes.empty() ? buf.size() - at : sizes[i++ % sizes.size()];
        if (n > buf.size() - at)
            n = buf.size() - at;
        p.feed({buf.data() + at, n}, r);
        at += n;
        if (sizes.empty())
            break;
    }
    SB_FUZZ_CHECK(p.stopped() == r.finished);
    SB_FUZZ_CHECK(r.finished || p.buffered() <= limits.max_message_size + kMaxControlPayload);
    return r.events;
}

void append_frame(std::vector<std::uint8_t> &out, Opcode op, bool rsv1,
                  const std::string &payload) {
    static const std::uint8_t kKey[4] = {0x12, 0x34, 0x56, 0x78};
    std::uint8_t hdr[kMaxHeaderSize];
    std::size_t h = encode_header(hdr, op, true, rsv1, payload.size(), kKey);
    SB_FUZZ_CHECK(h == header_size(payload.size(), true));
    out.insert(out.end(), hdr, hdr + h);
    std::size_t start = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    // Mask in two pieces to exercise the phase.
    std::size_t half = payload.size() / 2;
    unsigned phase = apply_mask(out.data() + start, half, kKey, 0);
    apply_mask(out.data() + start + half, payload.size() - half, kKey, phase);
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    if (size < 2)
        return 0;
    const std::uint8_t flags = data[0];
    std::size_t nsizes = data[1] % 16;
    if (size < 2 + nsizes)
        return 0;
    std::vector<std::size_t> sizes;
    for (std::size_t i = 0; i < nsizes; ++i)
        sizes.push_back(data[2 + i]); // 0 is a valid (empty) read
    if (!sizes.empty() &&
        sizes.size() == static_cast<std::size_t>(std::count(sizes.begin(), sizes.end(), 0)))
        sizes.push_back(1);
    const std::vector<std::uint8_t> stream(data + 2 + nsizes, data + size);

    ParserLimits limits;
    limits.allow_rsv1 = flags & 1;
    static const std::uint64_t kMaxSizes[4] = {16 * 1024 * 1024, 0, 125, 1000};
    limits.max_message_size = kMaxSizes[(flags >> 1) & 3];

    const auto whole = run(stream, {}, limits);
    SB_FUZZ_CHECK(run(stream, sizes, limits) == whole);
    if (stream.size() <= 4096)
        SB_FUZZ_CHECK(run(stream, {1}, limits) == whole);

    // Round trip: re-encode what was accepted and parse it again.
    std::vector<std::uint8_t> again;
    std::vector<Event> expected;
    for (const auto &e : whole) {
        if (e.kind == Event::Error)
            break;
        expected.push_back(e);
        if (e.kind == Event::Message)
            append_frame(again, e.op, e.compressed, e.payload);
        else if (e.kind == Event::Control)
            append_frame(again, e.op, false, e.payload);
        else {
            std::string p;
            if (e.code != close_code::kNoStatus) {
                p.push_back(static_cast<char>(e.code >> 8));
                p.push_back(static_cast<char>(e.code & 0xFF));
                p += e.payload;
            }
            append_frame(again, Opcode::Close, false, p);
        }
    }
    SB_FUZZ_CHECK(run(again, {}, limits) == expected);
    return 0;
}
