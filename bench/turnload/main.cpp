// turnload: STUN/TURN load generator. One thread; pin it to a core of its own (taskset).
//
//   turnload binding --port P --clients 16 --window 8 [--gso] [--duration 5 --warmup 1 --server-pid PID]
//   turnload alloc   --port P --clients 64 --user U --password W [--new-tuple]
//   turnload relay   --port P --clients 16 --size 100 [--rate PPS] [--send-indication] [--gso]
//   turnload relay   --raw --port FORWARDER --peer-port Q     (the UDP forwarder's limit)
//   turnload hold    --port P --allocations 5000 --server-pid PID
//
// The relay mode needs the server to allow loopback peers (switchboard: --turn-allow-peer
// 127.0.0.0/8; coturn: --allow-loopback-peers).
#include "common.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace turnload;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: turnload binding|alloc|relay|hold [options] (see the top of bench/turnload/main.cpp)\n");
        return 2;
    }
    Options o;
    o.mode = argv[1];
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host") o.host = next();
        else if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(next()));
        else if (a == "--user") o.user = next();
        else if (a == "--password") o.password = next();
        else if (a == "--clients") o.clients = std::stoi(next());
        else if (a == "--window") o.window = std::stoi(next());
        else if (a == "--duration") o.duration = std::stod(next());
        else if (a == "--warmup") o.warmup = std::stod(next());
        else if (a == "--rate") o.rate = std::stod(next());
        else if (a == "--size") o.size = std::stoi(next());
        else if (a == "--raw") o.raw = true;
        else if (a == "--peer-port") o.peer_port = static_cast<std::uint16_t>(std::stoi(next()));
        else if (a == "--send-indication") o.send_indication = true;
        else if (a == "--gso") o.gso = true;
        else if (a == "--new-tuple") o.new_tuple = true;
        else if (a == "--allocations") o.allocations = std::stoi(next());
        else if (a == "--server-pid") o.server_pid = std::stoi(next());
        else if (a == "--json") o.json = true;
        else {
            std::fprintf(stderr, "unknown option %s\n", a.c_str());
            return 2;
        }
    }
    if (o.clients < 1 || o.clients > 4096 || o.size < 1 || o.size > 1400) {
        std::fprintf(stderr, "--clients must be 1-4096 and --size 1-1400\n");
        return 2;
    }
    try {
        if (o.mode == "binding") return run_binding(o);
        if (o.mode == "alloc") return run_alloc(o);
        if (o.mode == "relay") return run_relay(o);
        if (o.mode == "hold") return run_hold(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "turnload: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
    return 2;
}
