// inbox: joins a room, greets whoever connects on the room's message channel, keeps the first
// file someone sends into a directory, prints its name and SHA-256, and exits 0.
//   inbox ws://127.0.0.1:8080 ROOM DIR
#include <switchboard/client.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: inbox URL ROOM DIR\n");
        return 2;
    }
    switchboard::Client client({.url = argv[1], .name = "inbox"});
    int status = -1;
    client.on_peer_connected = [&](const std::string& sid) { client.send_message(sid, "{\"hello\":\"from inbox\"}"); };
    client.on_file_done = [&](const switchboard::FileTransferInfo& f) {
        std::printf("got %s %llu %s\n", f.name.c_str(), static_cast<unsigned long long>(f.size), f.sha256.c_str());
        status = 0;
    };
    client.on_file_failed = [&](const switchboard::FileTransferInfo& f, const std::string& why) {
        std::fprintf(stderr, "%s: %s\n", f.name.c_str(), why.c_str());
        status = 1;
    };
    client.accept_files(argv[3]);
    if (auto err = client.connect(); !err.empty()) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
    if (auto err = client.join(argv[2]); !err.empty()) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
    for (int i = 0; i < 600 && status < 0; ++i) // a minute at most
        if (!client.poll(100)) return std::fprintf(stderr, "%s\n", client.error().c_str()), 1;
    for (int i = 0; i < 40 && !client.settled(); ++i) client.poll(50);
    return status == 0 ? 0 : 1;
}
