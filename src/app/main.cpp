// switchboard: the command-line entry point.
#include "app/config.hpp"
#include "app/server.hpp"
#include "base/log.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

constexpr const char* kUsage =
    "Usage: switchboard <command> [options]\n\n"
    "Commands:\n"
    "  serve     run the server (see 'switchboard serve --help')\n"
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
        std::printf("Switchboard serving %s\n", server.url().c_str());
        std::fflush(stdout);
        server.run();
    } catch (const std::exception& e) {
        log::error("cannot start", {{"error", e.what()}});
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
    if (cmd == "version" || cmd == "--version") {
        std::puts("switchboard 0.1.0");
        return 0;
    }
    std::fprintf(stderr, "switchboard: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
    return 2;
}
