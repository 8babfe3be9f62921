// switchboard: the command-line entry point.
#include "app/config.hpp"
#include "app/file_tool.hpp"
#include "app/peer_tool.hpp"
#include "app/server.hpp"
#include "app/version.hpp"
#include "auth/jwt.hpp"
#include "base/log.hpp"
#include "json/reader.hpp"
#include "json/writer.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>
#include <string>

namespace {

constexpr const char* kUsage =
    "Usage: switchboard <command> [options]\n\n"
    "Commands:\n"
    "  serve     run the server (see 'switchboard serve --help')\n"
    "  token     print a connection or subscription token (see 'switchboard token --help')\n"
    "  send      send a file peer to peer through a room (see 'switchboard send --help')\n"
    "  receive   receive a file sent through a room (see 'switchboard receive --help')\n"
    "  peer      a native WebRTC data-channel peer signalled over stdin/stdout (interop tests)\n"
    "  version   print the version\n";

int serve(int argc, char** argv) {
    using namespace switchboard;
    app::ParsedArgs args;
    try {
        args = app::parse_serve_args(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "switchboard serve: %s\n", e.what());
        return 2;
    }
    if (args.help) {
        std::fputs(app::serve_help().c_str(), stdout);
        return 0;
    }
    log::configure(log::parse_level(args.config.log_level), log::parse_format(args.config.log_format));

    // Signals are read from a signalfd by loop 0; every thread inherits the blocked mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    try {
        app::Server server(args.config);
        server.start();
        if (server.turn_port()) {
            // Before the "serving" line, which launchers wait for: both are known by then.
            net::Endpoint e = server.turn_settings()->listen;
            e.port = server.turn_port();
            std::printf("Switchboard STUN/TURN on %s\n", e.to_string().c_str());
            if (auto tls = server.turn_tls_port()) {
                e.port = tls;
                std::printf("Switchboard TURN over TLS on %s\n", e.to_string().c_str());
            }
        }
        std::printf("Switchboard serving %s\n", server.url().c_str());
        std::fflush(stdout);
        server.run();
    } catch (const std::exception& e) {
        log::error("cannot start", {{"error", e.what()}});
        return 1;
    }
    return 0;
}

constexpr const char* kTokenUsage =
    "Usage: switchboard token --secret SECRET --user ID [options]\n"
    "       switchboard token --key PRIVATE_KEY.pem --alg RS256|ES256 --user ID [options]\n\n"
    "Prints a JWT for local use: a connection token, with --channel a subscription token, with\n"
    "--room a room token.\n\n"
    "Options:\n"
    "  --secret SECRET     HS256 secret (the server's --token-secret)\n"
    "  --key FILE          PEM private key for RS256 or ES256 (the server gets the public key)\n"
    "  --alg ALG           RS256 or ES256 with --key [default: ES256]\n"
    "  --user ID           the user id (sub claim); \"\" for an anonymous token\n"
    "  --ttl SECONDS       lifetime (exp claim); 0 = no expiry [default: 3600]\n"
    "  --channel CH        make a subscription token for this channel\n"
    "  --channels A,B      channels the user may subscribe to without a subscription token\n"
    "  --info JSON         information shown to others in presence, publications and rooms\n"
    "  --room NAME         make a room token for this room (the user is the participant's identity)\n"
    "  --deny WHAT         with --room: take a grant away: publish, subscribe or data (repeatable)\n"
    "  --aud AUD, --iss ISS  audience and issuer claims\n";

int token(int argc, char** argv) {
    using namespace switchboard;
    std::string secret, key_file, alg = "ES256", channel, channels, info, aud, iss, room;
    std::vector<std::string> denied;
    std::string user;
    bool has_user = false;
    long long ttl = 3600;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kTokenUsage, stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            std::fprintf(stderr, "switchboard token: %s needs a value\n\n%s", a.c_str(), kTokenUsage);
            return 2;
        }
        std::string v = argv[++i];
        if (a == "--secret") secret = v;
        else if (a == "--key") key_file = v;
        else if (a == "--alg") alg = v;
        else if (a == "--user") user = v, has_user = true;
        else if (a == "--channel") channel = v;
        else if (a == "--channels") channels = v;
        else if (a == "--info") info = v;
        else if (a == "--aud") aud = v;
        else if (a == "--iss") iss = v;
        else if (a == "--room") room = v;
        else if (a == "--deny") {
            if (v != "publish" && v != "subscribe" && v != "data") {
                std::fprintf(stderr, "switchboard token: --deny takes publish, subscribe or data\n");
                return 2;
            }
            denied.push_back(v);
        }
        else if (a == "--ttl") {
            try {
                ttl = std::stoll(v);
            } catch (const std::exception&) {
                ttl = -1;
            }
            if (ttl < 0) {
                std::fprintf(stderr, "switchboard token: --ttl must be a number of seconds\n");
                return 2;
            }
        } else {
            std::fprintf(stderr, "switchboard token: unknown option '%s'\n\n%s", a.c_str(), kTokenUsage);
            return 2;
        }
    }
    if (!has_user || (secret.empty() == key_file.empty())) {
        std::fprintf(stderr, "switchboard token: give --user and one of --secret or --key\n\n%s", kTokenUsage);
        return 2;
    }
    if (!info.empty()) {
        json::Value v;
        if (json::parse(info, v) != json::Error::None) {
            std::fprintf(stderr, "switchboard token: --info is not valid JSON\n");
            return 2;
        }
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    std::string payload;
    json::Writer w(payload);
    w.begin_object().key("sub").string(user).key("iat").number(static_cast<std::int64_t>(now));
    if (ttl > 0) w.key("exp").number(static_cast<std::int64_t>(now + ttl));
    if (!channel.empty()) w.key("channel").string(channel);
    if (!channels.empty()) {
        w.key("channels").begin_array();
        std::stringstream ss(channels);
        for (std::string c; std::getline(ss, c, ',');)
            if (!c.empty()) w.string(c);
        w.end_array();
    }
    if (!info.empty()) w.key("info").raw(info);
    if (!room.empty()) {
        w.key("room").string(room);
        if (!denied.empty()) {
            w.key("grants").begin_object();
            for (const auto& d : denied) w.key(d).boolean(false);
            w.end_object();
        }
    }
    if (!aud.empty()) w.key("aud").string(aud);
    if (!iss.empty()) w.key("iss").string(iss);
    w.end_object();
    try {
        if (!secret.empty()) {
            std::puts(auth::sign_hs256(secret, payload).c_str());
        } else {
            std::ifstream in(key_file);
            if (!in) throw std::runtime_error("cannot read " + key_file);
            std::stringstream pem;
            pem << in.rdbuf();
            std::puts(auth::sign_with_pem(pem.str(), alg, payload).c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "switchboard token: %s\n", e.what());
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0 ||
        std::strcmp(argv[1], "help") == 0) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string cmd = argv[1];
    if (cmd == "serve") return serve(argc - 2, argv + 2);
    if (cmd == "token") return token(argc - 2, argv + 2);
    if (cmd == "send") return switchboard::app::send_tool(argc - 2, argv + 2);
    if (cmd == "receive") return switchboard::app::receive_tool(argc - 2, argv + 2);
    if (cmd == "peer") return switchboard::app::peer_tool(argc - 2, argv + 2);
    if (cmd == "version" || cmd == "--version") {
        std::printf("switchboard %s\n", switchboard::app::kVersion);
        return 0;
    }
    std::fprintf(stderr, "switchboard: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
}
