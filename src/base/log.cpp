#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>

namespace switchboard::log {
namespace {
std::atomic<Level> g_level{Level::Info};
std::atomic<Format> g_format{Format::Text};
std::mutex g_mutex;

const char* name(Level l) {
    switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Error: return "error";
    }
    return "?";
}

void json_escape(std::string& out, std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') { out += '\\'; out += c; }
        else if (c == '\n') out += "\\n";
        else if (u < 0x20) { char buf[8]; std::snprintf(buf, sizeof buf, "\\u%04x", u); out += buf; }
        else out += c;
    }
}

bool needs_quotes(std::string_view s) {
    if (s.empty()) return true;
    for (char c : s)
        if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
    return false;
}
} // namespace

void configure(Level level, Format format) {
    g_level = level;
    g_format = format;
}
bool enabled(Level level) noexcept { return level >= g_level.load(std::memory_order_relaxed); }

Level parse_level(std::string_view s) {
    if (s == "debug") return Level::Debug;
    if (s == "info") return Level::Info;
    if (s == "warn") return Level::Warn;
    if (s == "error") return Level::Error;
    throw std::invalid_argument("log level must be debug, info, warn or error");
}
Format parse_format(std::string_view s) {
    if (s == "text") return Format::Text;
    if (s == "json") return Format::Json;
    throw std::invalid_argument("log format must be text or json");
}

void write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[96];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    std::string line;
    if (g_format.load() == Format::Json) {
        line += "{\"ts\":\"";
        line += ts;
        line += "\",\"level\":\"";
        line += name(level);
        line += "\",\"msg\":\"";
        json_escape(line, msg);
        line += '"';
        for (const auto& [k, v] : fields) {
            line += ",\"";
            json_escape(line, k);
            line += "\":\"";
            json_escape(line, v);
            line += '"';
        }
        line += "}\n";
    } else {
        line += ts;
        line += ' ';
        line += name(level);
        line += ' ';
        line += msg;
        for (const auto& [k, v] : fields) {
            line += ' ';
            line += k;
            line += '=';
            if (needs_quotes(v)) { line += '"'; json_escape(line, v); line += '"'; }
            else line += v;
        }
        line += '\n';
    }
    std::lock_guard lock(g_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace switchboard::log
