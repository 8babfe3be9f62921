// Fuzz target: the native client's end of the hub protocol (client/hub_session) reading a hostile
// server: the upgrade response, then frames carrying replies and pushes, in chunks whose sizes
// come from the input. Nothing follows the end of the connection, replies and pushes come only
// once it is open, and what the client writes stays small (pongs and close replies only).
//
// Input layout: [flags] [n] [n split sizes] [bytes...]
//   flags bit 0: the bytes follow a valid 101 (so the fuzzer reaches the frames).
#include "client/hub_session.hpp"
#include "ws/handshake.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using switchboard::client::HubMessage;
    if (size < 2) return 0;
    const std::uint8_t flags = data[0];
    const std::size_t n = data[1];
    if (size < 2 + n) return 0;
    std::vector<std::size_t> splits(data + 2, data + 2 + n);
    std::vector<std::uint8_t> stream;
    switchboard::client::HubSession s("fuzz:1", "/connection", 42);
    s.start();
    std::vector<std::uint8_t> out;
    s.take_output(out);
    if (flags & 1) {
        const std::string req(out.begin(), out.end());
        const auto k = req.find("Sec-WebSocket-Key: ");
        const std::string resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Accept: " + switchboard::ws::accept_key(req.substr(k + 19, 24)) + "\r\n\r\n";
        stream.assign(resp.begin(), resp.end());
    }
    stream.insert(stream.end(), data + 2 + n, data + size);
    std::size_t at = 0, i = 0, fed = 0;
    bool opened = false, closed = false;
    while (at < stream.size()) {
        std::size_t len = splits.empty() ? stream.size() - at : splits[i++ % splits.size()] + 1;
        if (len > stream.size() - at) len = stream.size() - at;
        s.on_bytes({stream.data() + at, len});
        at += len;
        fed += len;
        HubMessage m;
        while (s.poll_message(m)) {
            SB_FUZZ_CHECK(!closed);
            if (m.kind == HubMessage::Kind::Open) {
                SB_FUZZ_CHECK(!opened);
                opened = true;
            } else if (m.kind == HubMessage::Kind::Closed) {
                closed = true;
            } else {
                SB_FUZZ_CHECK(opened);
            }
        }
        if (opened && !closed) SB_FUZZ_CHECK(s.command("ping", "") > 0);
    }
    out.clear();
    s.take_output(out);
    // Each input byte can cause at most a small answer (a ping's pong, a command of ours).
    SB_FUZZ_CHECK(out.size() <= 4096 + 64 * fed);
    return 0;
}
