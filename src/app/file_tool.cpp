// `switchboard send` / `switchboard receive`: the native client SDK (include/switchboard/) as a
// command. Both join a room of the server; the sender offers the file to every participant it
// connects to (browsers in the web app's call included), each receiver writes it to its
// directory. Exit status 0 only when the SHA-256 of what arrived matched the sender's.
#include "app/file_tool.hpp"

#include "switchboard/client.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace switchboard::app {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

constexpr const char* kSendUsage =
    "Usage: switchboard send FILE... --room ROOM [options]\n\n"
    "Sends each FILE peer to peer to everyone who is in ROOM (or joins it) on a Switchboard server:\n"
    "other terminals running 'switchboard receive', browsers in the web app's call. Exits 0 once\n"
    "every receiver it started with has confirmed the SHA-256 of every file.\n\n";
constexpr const char* kReceiveUsage =
    "Usage: switchboard receive --room ROOM [--out DIR] [options]\n\n"
    "Waits in ROOM for files sent with 'switchboard send' or from the web app, writes them to DIR\n"
    "(default: the current directory; never over an existing file) and exits once those that came\n"
    "together are done: 0 when every SHA-256 matched the sender's.\n\n";
constexpr const char* kCommonOptions =
    "Options:\n"
    "  --server URL       the server, ws:// or wss:// (default ws://127.0.0.1:8080)\n"
    "  --ca-file FILE     wss://: trust the certificates in FILE (PEM) instead of the system's\n"
    "  --token TOKEN      connection token, when the server requires one\n"
    "  --room-token TOKEN room token, when the room requires one\n"
    "  --name NAME        the name others see\n"
    "  --timeout SECONDS  give up after this long (default: wait until done or interrupted)\n"
    "  --relay            reach the others only through the server's TURN relay\n"
    "  --quiet            no progress\n";

struct Args {
    std::vector<std::string> files;
    std::string room, out = ".", room_token;
    ClientOptions client;
    double timeout = 0;
    bool quiet = false, help = false;
    std::string error;
};

Args parse(int argc, char** argv, bool sending) {
    Args a;
    for (int i = 0; i < argc; ++i) {
        const std::string k = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                a.error = k + " needs a value";
                return {};
            }
            return argv[++i];
        };
        if (k == "-h" || k == "--help") a.help = true;
        else if (k == "--room") a.room = value();
        else if (k == "--server") a.client.url = value();
        else if (k == "--ca-file") a.client.ca_file = value();
        else if (k == "--token") a.client.token = value();
        else if (k == "--room-token") a.room_token = value();
        else if (k == "--name") a.client.name = value();
        else if (k == "--out" && !sending) a.out = value();
        else if (k == "--timeout") {
            const std::string v = value();
            char* end = nullptr;
            a.timeout = std::strtod(v.c_str(), &end);
            if (v.empty() || *end || a.timeout <= 0) a.error = "--timeout wants a number of seconds";
        } else if (k == "--quiet") a.quiet = true;
        else if (k == "--relay") a.client.relay_only = true;
        else if (sending && !k.empty() && k[0] != '-') a.files.push_back(k);
        else a.error = "unknown argument '" + k + "'";
        if (!a.error.empty()) break;
    }
    if (a.error.empty() && !a.help) {
        if (a.room.empty()) a.error = "--room is required";
        else if (sending && a.files.empty()) a.error = "which file? (switchboard send FILE --room ROOM)";
    }
    if (a.client.name.empty()) a.client.name = sending ? "switchboard send" : "switchboard receive";
    return a;
}

std::string human(std::uint64_t bytes) {
    char b[32];
    if (bytes >= (1u << 30)) std::snprintf(b, sizeof b, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
    else if (bytes >= (1u << 20)) std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
    else if (bytes >= 1024) std::snprintf(b, sizeof b, "%.1f KiB", static_cast<double>(bytes) / 1024);
    else std::snprintf(b, sizeof b, "%llu B", static_cast<unsigned long long>(bytes));
    return b;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A bar redrawn in place on a terminal; elsewhere (logs, tests) a line at each quarter.
class Progress {
  public:
    explicit Progress(bool quiet) : quiet_(quiet), tty_(::isatty(2) != 0) {}
    void update(const FileTransferInfo& t) {
        if (quiet_) return;
        auto& s = state_[t.id];
        if (s.start.time_since_epoch().count() == 0) s.start = std::chrono::steady_clock::now();
        const double pct = t.size ? 100.0 * static_cast<double>(t.bytes) / static_cast<double>(t.size) : 100.0;
        if (!tty_) {
            const int quarter = static_cast<int>(pct / 25);
            if (quarter <= s.quarter) return;
            s.quarter = quarter;
            std::fprintf(stderr, "%s: %3.0f%% %s of %s\n", t.name.c_str(), pct, human(t.bytes).c_str(), human(t.size).c_str());
            return;
        }
        const double el = seconds_since(s.start);
        if (t.bytes < t.size && el - s.drawn < 0.1) return;
        s.drawn = el;
        char bar[31];
        const int fill = static_cast<int>(pct * 30 / 100);
        for (int i = 0; i < 30; ++i) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        const double rate = el > 0 ? static_cast<double>(t.bytes) / el : 0;
        std::fprintf(stderr, "\r%s [%s] %3.0f%% %s/%s %s/s ", t.name.c_str(), bar, pct, human(t.bytes).c_str(),
                     human(t.size).c_str(), human(static_cast<std::uint64_t>(rate)).c_str());
        if (t.bytes == t.size) std::fputc('\n', stderr);
    }
    void end_line() {
        if (tty_ && !quiet_) std::fputc('\n', stderr);
    }

  private:
    struct State {
        std::chrono::steady_clock::time_point start{};
        double drawn = -1;
        int quarter = -1;
    };
    bool quiet_, tty_;
    std::map<std::string, State> state_;
};

std::string who(const Client& c, const std::string& sid) {
    for (const auto& p : c.participants())
        if (p.sid == sid) return p.name.empty() ? p.identity : p.name;
    return sid;
}

// Connects, joins, and runs `client` until `finished` says so, the deadline passes, Ctrl-C, or
// the server connection ends. Returns the exit status.
int run(Client& client, const Args& a, const char* waiting_for, const std::function<int()>& finished) {
    std::signal(SIGINT, [](int) { g_interrupted = 1; });
    std::signal(SIGTERM, [](int) { g_interrupted = 1; });
    if (std::string err = client.connect(); !err.empty()) {
        std::fprintf(stderr, "switchboard: %s\n", err.c_str());
        return 1;
    }
    if (std::string err = client.join(a.room, a.room_token); !err.empty()) {
        std::fprintf(stderr, "switchboard: %s\n", err.c_str());
        return 1;
    }
    if (!a.quiet) std::fprintf(stderr, "In room %s, waiting for %s (Ctrl-C to stop)\n", a.room.c_str(), waiting_for);
    const auto start = std::chrono::steady_clock::now();
    while (true) {
        if (int status = finished(); status >= 0) {
            // Deliver our last word (the hash confirmation) before leaving, for a few seconds at most.
            for (int i = 0; i < 60 && !client.settled() && client.poll(50);) ++i;
            return status;
        }
        if (g_interrupted) {
            std::fprintf(stderr, "\nswitchboard: interrupted\n");
            return 130;
        }
        if (a.timeout > 0 && seconds_since(start) > a.timeout) {
            std::fprintf(stderr, "\nswitchboard: gave up after %.0f s\n", a.timeout);
            return 1;
        }
        if (!client.poll(100)) {
            std::fprintf(stderr, "\nswitchboard: %s\n", client.error().c_str());
            return 1;
        }
    }
}

// --help (status 0) or a usage error (status 2, with what was wrong).
int usage(const Args& a, const char* command, const char* text) {
    if (!a.error.empty()) std::fprintf(stderr, "switchboard %s: %s\n\n", command, a.error.c_str());
    std::fputs(text, a.help ? stdout : stderr);
    std::fputs(kCommonOptions, a.help ? stdout : stderr);
    return a.help ? 0 : 2;
}

} // namespace

int send_tool(int argc, char** argv) {
    Args a = parse(argc, argv, true);
    if (a.help || !a.error.empty()) return usage(a, "send", kSendUsage);
    std::uint64_t total = 0;
    for (const auto& file : a.files) {
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0) {
            std::fprintf(stderr, "switchboard send: %s: %s\n", file.c_str(), std::strerror(errno));
            return 1;
        }
        if (!S_ISREG(st.st_mode)) {
            std::fprintf(stderr, "switchboard send: %s is not a regular file\n", file.c_str());
            return 1;
        }
        total += static_cast<std::uint64_t>(st.st_size);
    }
    Client client(a.client);
    Progress progress(a.quiet);
    std::map<std::string, int> outcome; // by transfer id: 0 running, 1 done, -1 failed
    std::map<std::string, bool> sent_to;
    client.on_participant_joined = [&](const Participant& p) {
        if (!a.quiet) std::fprintf(stderr, "%s joined\n", (p.name.empty() ? p.identity : p.name).c_str());
    };
    client.on_peer_connected = [&](const std::string& sid) {
        if (sent_to[sid]) return;
        sent_to[sid] = true;
        if (!a.quiet) {
            const std::string what = a.files.size() == 1 ? a.files[0] : std::to_string(a.files.size()) + " files";
            std::fprintf(stderr, "Sending %s (%s) to %s\n", what.c_str(), human(total).c_str(), who(client, sid).c_str());
        }
        for (const auto& file : a.files)
            if (std::string id = client.send_file(sid, file); !id.empty()) outcome[id] = 0;
    };
    std::map<std::string, bool> unreachable;
    client.on_peer_failed = [&](const std::string& sid, const std::string& reason) {
        unreachable[sid] = true;
        std::fprintf(stderr, "switchboard send: no connection to %s: %s\n", who(client, sid).c_str(), reason.c_str());
    };
    client.on_participant_left = [&](const Participant& p, const std::string&) {
        if (!a.quiet) std::fprintf(stderr, "%s left\n", (p.name.empty() ? p.identity : p.name).c_str());
    };
    client.on_file_progress = [&](const FileTransferInfo& t) { progress.update(t); };
    client.on_file_done = [&](const FileTransferInfo& t) {
        outcome[t.id] = 1;
        std::printf("sent %s %llu %s\n", t.name.c_str(), static_cast<unsigned long long>(t.size), t.sha256.c_str());
        std::fflush(stdout);
    };
    client.on_file_failed = [&](const FileTransferInfo& t, const std::string& reason) {
        outcome[t.id] = -1;
        progress.end_line();
        std::fprintf(stderr, "switchboard send: %s to %s failed: %s\n", t.name.c_str(), who(client, t.sid).c_str(), reason.c_str());
    };
    client.on_left = [&](const std::string& cause) { std::fprintf(stderr, "switchboard send: out of the room (%s)\n", cause.c_str()); };
    return run(client, a, "receivers", [&] {
        if (outcome.empty()) {
            // Nobody to send to: everyone in the room is out of reach (no network path).
            const auto present = client.participants();
            const bool all_failed = !present.empty() && std::all_of(present.begin(), present.end(), [&](const Participant& p) {
                return unreachable.count(p.sid) != 0;
            });
            if (all_failed) std::fprintf(stderr, "switchboard send: no receiver in the room can be reached\n");
            return all_failed ? 1 : -1;
        }
        int done = 0;
        for (const auto& [id, o] : outcome) {
            if (o == 0) return -1;
            done += o == 1;
        }
        return done == static_cast<int>(outcome.size()) ? 0 : 1;
    });
}

int receive_tool(int argc, char** argv) {
    Args a = parse(argc, argv, false);
    if (a.help || !a.error.empty()) return usage(a, "receive", kReceiveUsage);
    struct stat st {};
    if (::stat(a.out.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || ::access(a.out.c_str(), W_OK) != 0) {
        std::fprintf(stderr, "switchboard receive: %s is not a directory this user can write to\n", a.out.c_str());
        return 1;
    }
    Client client(a.client);
    client.accept_files(a.out);
    Progress progress(a.quiet);
    int done = 0, failed = 0;
    bool out_of_room = false;
    client.on_participant_joined = [&](const Participant& p) {
        if (!a.quiet) std::fprintf(stderr, "%s joined\n", (p.name.empty() ? p.identity : p.name).c_str());
    };
    client.on_participant_left = [&](const Participant& p, const std::string&) {
        if (!a.quiet) std::fprintf(stderr, "%s left\n", (p.name.empty() ? p.identity : p.name).c_str());
    };
    client.on_file_started = [&](const FileTransferInfo& t) {
        if (!a.quiet) std::fprintf(stderr, "Receiving %s (%s) from %s\n", t.name.c_str(), human(t.size).c_str(), who(client, t.sid).c_str());
    };
    client.on_file_progress = [&](const FileTransferInfo& t) { progress.update(t); };
    client.on_file_done = [&](const FileTransferInfo& t) {
        std::printf("received %s %llu %s\n", t.path.c_str(), static_cast<unsigned long long>(t.size), t.sha256.c_str());
        std::fflush(stdout);
        ++done;
    };
    client.on_file_failed = [&](const FileTransferInfo& t, const std::string& reason) {
        progress.end_line();
        std::fprintf(stderr, "switchboard receive: %s failed: %s\n", t.name.empty() ? "the file" : t.name.c_str(), reason.c_str());
        ++failed;
    };
    client.on_left = [&](const std::string& cause) {
        std::fprintf(stderr, "switchboard receive: out of the room (%s)\n", cause.c_str());
        out_of_room = true;
    };
    // Files sent together (several dropped on the call, `send a b c`) are announced together:
    // done when some have ended and none is still on its way.
    return run(client, a, "files", [&] {
        if (out_of_room) return 1;
        if (done + failed == 0 || !client.settled()) return -1;
        return failed ? 1 : 0;
    });
}

} // namespace switchboard::app
