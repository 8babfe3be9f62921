// `switchboard serve` configuration: defaults < TOML file < SWITCHBOARD_* environment < flags.
#include "app/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char **environ;

namespace switchboard::app {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        clear_env();
        char tmpl[] = "/tmp/sb_config_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        clear_env();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    // The developer's or CI's environment must not leak into these tests.
    static void clear_env() {
        std::vector<std::string> names;
        for (char **e = environ; *e; ++e)
            if (std::strncmp(*e, "SWITCHBOARD_", 12) == 0)
                names.emplace_back(*e, std::strchr(*e, '=') - *e);
        for (const auto &n : names)
            ::unsetenv(n.c_str());
    }
    std::string toml(const std::string &text) {
        fs::path p = dir_ / ("c" + std::to_string(files_++) + ".toml");
        std::ofstream(p) << text;
        return p.string();
    }
    static ParsedArgs parse(std::vector<std::string> args) {
        std::vector<char *> argv;
        for (auto &a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        return parse_serve_args(static_cast<int>(args.size()), argv.data());
    }
    static std::string error_of(std::vector<std::string> args) {
        try {
            parse(std::move(args));
        } catch (const std::invalid_argument &e) {
            return e.what();
        }
        return "(no error)";
    }

    fs::path dir_;
    int files_ = 0;
};

TEST_F(ConfigTest, Defaults) {
    auto r = parse({});
    EXPECT_FALSE(r.help);
    const Config &c = r.config;
    EXPECT_EQ(c.listen, "127.0.0.1:8080");
    EXPECT_EQ(c.loops, 0u);
    EXPECT_FALSE(c.echo);
    EXPECT_EQ(c.compression, "shared");
    EXPECT_EQ(c.max_message_size, 16u * 1024 * 1024);
    EXPECT_EQ(c.ping_interval, 30u);
    EXPECT_TRUE(c.allowed_origins.empty());
    EXPECT_TRUE(c.config_file.empty());
}

TEST_F(ConfigTest, FlagsInBothForms) {
    auto c = parse({"--listen", "0.0.0.0:9000", "--loops=4", "--echo", "--max-message-size", "1024",
                    "--compression=dedicated", "--log-format", "json"})
                 .config;
    EXPECT_EQ(c.listen, "0.0.0.0:9000");
    EXPECT_EQ(c.loops, 4u);
    EXPECT_TRUE(c.echo);
    EXPECT_EQ(c.max_message_size, 1024u);
    EXPECT_EQ(c.compression, "dedicated");
    EXPECT_EQ(c.log_format, "json");
}

TEST_F(ConfigTest, SwitchWithExplicitValue) {
    EXPECT_FALSE(parse({"--echo=false"}).config.echo);
    EXPECT_TRUE(parse({"--echo=yes"}).config.echo);
    EXPECT_NE(error_of({"--echo=maybe"}), "(no error)");
}

TEST_F(ConfigTest, MaxMessageSizeUpToOneGiB) {
    EXPECT_EQ(parse({"--max-message-size", "1073741824"}).config.max_message_size, 1ull << 30);
}

TEST_F(ConfigTest, TomlFile) {
    std::string path =
        toml("listen = \"127.0.0.1:7000\"\nloops = 2\necho = true\n"
             "allowed_origins = [\"https://a\", \"https://b\"]\nping_interval = 5\n");
    auto r = parse({"--config", path});
    EXPECT_EQ(r.config.config_file, path);
    EXPECT_EQ(r.config.listen, "127.0.0.1:7000");
    EXPECT_EQ(r.config.loops, 2u);
    EXPECT_TRUE(r.config.echo);
    EXPECT_EQ(r.config.allowed_origins, (std::vector<std::string>{"https://a", "https://b"}));
    EXPECT_EQ(r.config.ping_interval, 5u);
    EXPECT_EQ(parse({"--config=" + path}).config.loops, 2u);
}

TEST_F(ConfigTest, RoomOptions) {
    const Config d = parse({}).config;
    EXPECT_EQ(d.room_mesh_limit, 4u);
    EXPECT_FALSE(d.room_token_required);
    auto c = parse({"--room-mesh-limit", "6", "--room-token-required"}).config;
    EXPECT_EQ(c.room_mesh_limit, 6u);
    EXPECT_TRUE(c.room_token_required);
    auto t = parse({"--config", toml("room_mesh_limit = 2\nroom_token_required = true\n")}).config;
    EXPECT_EQ(t.room_mesh_limit, 2u);
    EXPECT_TRUE(t.room_token_required);
    EXPECT_NE(error_of({"--room-mesh-limit", "many"}), "(no error)");
}

TEST_F(ConfigTest, PrecedenceFileThenEnvThenFlags) {
    std::string path =
        toml("listen = \"file:1\"\nloops = 1\nlog_level = \"debug\"\nping_interval = 11\n");
    ::setenv("SWITCHBOARD_LOOPS", "2", 1);
    ::setenv("SWITCHBOARD_LOG_LEVEL", "warn", 1);
    auto c = parse({"--config", path, "--log-level", "error"}).config;
    EXPECT_EQ(c.listen, "file:1") << "only the file sets it";
    EXPECT_EQ(c.ping_interval, 11u);
    EXPECT_EQ(c.loops, 2u) << "environment over file";
    EXPECT_EQ(c.log_level, "error") << "flag over environment and file";
    // The flag wins regardless of where it appears relative to --config.
    EXPECT_EQ(parse({"--loops", "3", "--config", path}).config.loops, 3u);
}

TEST_F(ConfigTest, ConfigPathFromEnvironment) {
    std::string path = toml("loops = 7\n");
    ::setenv("SWITCHBOARD_CONFIG", path.c_str(), 1);
    EXPECT_EQ(parse({}).config.loops, 7u);
    std::string other = toml("loops = 8\n");
    EXPECT_EQ(parse({"--config", other}).config.loops, 8u) << "the flag names the file instead";
}

TEST_F(ConfigTest, EnvironmentValues) {
    ::setenv("SWITCHBOARD_ECHO", "1", 1);
    ::setenv("SWITCHBOARD_STATIC_DIR", "/srv/www", 1);
    ::setenv("SWITCHBOARD_SUBPROTOCOLS", "chat,,v2", 1);
    ::setenv("SWITCHBOARD_MAX_SEND_BUFFER", "12345", 1);
    auto c = parse({}).config;
    EXPECT_TRUE(c.echo);
    EXPECT_EQ(c.static_dir, "/srv/www");
    EXPECT_EQ(c.subprotocols, (std::vector<std::string>{"chat", "v2"}))
        << "comma-separated, empties dropped";
    EXPECT_EQ(c.max_send_buffer, 12345u);
}

TEST_F(ConfigTest, ListFlagsRepeatAndReplaceLowerSources) {
    std::string path =
        toml("subprotocols = [\"from-file\"]\nallowed_origins = [\"https://file\"]\n");
    ::setenv("SWITCHBOARD_SUBPROTOCOLS", "from-env", 1);
    auto c =
        parse({"--config", path, "--subprotocol", "a", "--subprotocol=b", "--subprotocol", "c"})
            .config;
    EXPECT_EQ(c.subprotocols, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"https://file"}));
    auto d = parse({"--config", path}).config;
    EXPECT_EQ(d.subprotocols, (std::vector<std::string>{"from-env"}))
        << "environment replaces the file's list";
    auto e = parse({"--allowed-origin", "https://x", "--allowed-origin", "https://y"}).config;
    EXPECT_EQ(e.allowed_origins, (std::vector<std::string>{"https://x", "https://y"}));
}

TEST_F(ConfigTest, Help) {
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_TRUE(parse({"-h"}).help);
    EXPECT_TRUE(parse({"--bogus", "--help"}).help) << "help wins over errors";
    std::string h = serve_help();
    for (const char *flag :
         {"--listen", "--config", "--compression", "--subprotocol", "--max-send-buffer"})
        EXPECT_NE(h.find(flag), std::string::npos) << flag;
}

TEST_F(ConfigTest, UnknownOptionsAndStrayArguments) {
    EXPECT_NE(error_of({"--nope"}).find("unknown option"), std::string::npos);
    EXPECT_NE(error_of({"--nope=1"}).find("--nope"), std::string::npos);
    EXPECT_NE(error_of({"positional"}).find("unexpected argument"), std::string::npos);
    EXPECT_NE(error_of({"-x"}), "(no error)");
    EXPECT_NE(error_of({"--listen"}).find("needs a value"), std::string::npos);
}

TEST_F(ConfigTest, InvalidValues) {
    for (const auto &args : std::vector<std::vector<std::string>>{
             {"--loops", "abc"},
             {"--loops", "-1"},
             {"--loops", ""},
             {"--loops", "2000"},
             {"--max-message-size", "0"},
             {"--max-message-size", "1.5"},
             {"--max-message-size", "1073741825"}, // over 1 GiB
             {"--ping-interval", "99999999999999999999"},
             {"--compression", "gzip"},
             {"--compression-window-bits", "8"},
             {"--compression-window-bits", "16"},
             {"--compression-mem-level", "0"},
             {"--compression-mem-level", "10"},
             {"--max-headers", "0"},
             {"--max-headers", "101"},
             {"--log-level", "verbose"},
             {"--log-format", "xml"},
             {"--tls-cert", "cert.pem"},
             {"--tls-key", "key.pem"},
         }) {
        EXPECT_NE(error_of(args), "(no error)") << args[0] << " " << args[1];
    }
    ::setenv("SWITCHBOARD_PING_INTERVAL", "soon", 1);
    EXPECT_NE(error_of({}).find("SWITCHBOARD_PING_INTERVAL"), std::string::npos)
        << "errors name the source";
}

TEST_F(ConfigTest, OutOfRangeLoopsIsNotSilentlyTruncated) {
    // `loops` is an unsigned: a value that doesn't fit must be rejected, not wrapped around into
    // something valid (2^32 + 1 would become 1 loop, 2^32 would become 0 = one per CPU).
    EXPECT_NE(error_of({"--loops", "4294967297"}), "(no error)");
    EXPECT_NE(error_of({"--loops", "4294967296"}), "(no error)");
}

TEST_F(ConfigTest, InvalidTomlFiles) {
    EXPECT_NE(error_of({"--config", toml("loops = \"two\"\n")}).find("loops"), std::string::npos);
    EXPECT_NE(error_of({"--config", toml("unknown_key = 1\n")}).find("unknown key"),
              std::string::npos);
    EXPECT_NE(error_of({"--config", toml("listen = 5\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("echo = \"yes\"\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("loops = -1\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("subprotocols = \"chat\"\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("subprotocols = [1, 2]\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("config = \"other.toml\"\n")}), "(no error)");
    EXPECT_NE(error_of({"--config", toml("subprotocol = [\"chat\"]\n")}).find("unknown key"),
              std::string::npos)
        << "list keys are plural in TOML";
    EXPECT_NE(error_of({"--config", toml("this is not toml\n")}).find("line"), std::string::npos);
    EXPECT_NE(error_of({"--config", (dir_ / "missing.toml").string()}), "(no error)");
    // Values from the file are validated like the rest.
    EXPECT_NE(error_of({"--config", toml("compression = \"brotli\"\n")}), "(no error)");
}

TEST_F(ConfigTest, NamespaceTablesBecomeSpecs) {
    std::string path = toml("token_secret = \"s\"\napi_key = \"k\"\nallow_anonymous = false\n"
                            "[namespaces.news]\nhistory_size = 100\ndurable = true\npresence = false\n"
                            "[namespaces.feed]\npublish = true\n");
    auto r = parse({"--config", path});
    EXPECT_EQ(r.config.token_secret, "s");
    EXPECT_EQ(r.config.api_key, "k");
    EXPECT_FALSE(r.config.allow_anonymous);
    ASSERT_EQ(r.config.namespaces.size(), 2u);
    // toml++ keeps keys sorted.
    EXPECT_EQ(r.config.namespaces[0], "feed:publish=true,");
    EXPECT_EQ(r.config.namespaces[1], "news:durable=true,history_size=100,presence=false,");
    // A flag replaces the file's list, like every list option.
    EXPECT_EQ(parse({"--config", path, "--namespace", "x:publish"}).config.namespaces,
              (std::vector<std::string>{"x:publish"}));
    EXPECT_NE(error_of({"--config", toml("[namespaces.bad]\nhistory_size = \"lots\"\n")}).find("namespaces.bad"),
              std::string::npos);
}

TEST_F(ConfigTest, HubOptionsValidated) {
    EXPECT_NE(error_of({"--durability", "sometimes"}).find("durability"), std::string::npos);
    EXPECT_NE(error_of({"--max-publication-size", "0"}).find("max-publication-size"), std::string::npos);
    EXPECT_EQ(parse({"--durability", "normal"}).config.durability, "normal");
}

} // namespace
} // namespace switchboard::app
