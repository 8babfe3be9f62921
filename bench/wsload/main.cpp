// wsload: a WebSocket load generator for Switchboard (modes: echo, broadcast, idle, and hub and
// durable, which speak the client protocol of docs/protocol.md on /connection).
//
// Why our own tool: the numbers we publish must come from a client that is cheaper than the
// server it measures. Each worker thread owns one epoll instance, one large read buffer and a
// share of the connections. Reads are batched, and many frames are parsed per read by a
// streaming parser that never copies payloads. Writes are coalesced, so every frame queued for a
// connection during one event-loop turn goes out in one send(). Frames are stamped into a
// pre-masked template, and nothing is allocated per message.
//
// Linux only (epoll); IPv4 loopback targets only; every run stops by itself.
//
// Layout: options (command line), run (phases and threads), worker*.cpp (the epoll loop:
// connections, I/O, frame parsing, per-role traffic), frame/out_buf/conn (wire format and
// per-connection state), hub_wire (the client protocol subset the hub modes speak),
// histogram/stats (counters), proc_sample (server CPU and memory),
// report (text and JSON output).

#include "interrupt.hpp"
#include "options.hpp"
#include "run.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string_view>

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") {
            wsload::print_usage(stdout);
            return 0;
        }
    }
    wsload::Config cfg;
    try {
        cfg = wsload::parse_args(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wsload: %s (see wsload --help)\n", e.what());
        return 64;
    }
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGINT, wsload::on_signal);
    std::signal(SIGTERM, wsload::on_signal);
    return wsload::run(cfg);
}
