#include "http/static_files.hpp"

#include "base/text.hpp"

#include <sys/stat.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace switchboard::http {

namespace {
bool ends_with(std::string_view s, std::string_view suf) { return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf; }
constexpr std::size_t kMaxFileSize = 64 * 1024 * 1024;
} // namespace

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_digit(static_cast<unsigned char>(s[i + 1])), lo = hex_digit(static_cast<unsigned char>(s[i + 2]));
            if (hi < 0 || lo < 0) return std::nullopt;
            char c = static_cast<char>(hi * 16 + lo);
            if (c == '\0') return std::nullopt;
            out += c;
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::string_view content_type_for(std::string_view p) noexcept {
    if (ends_with(p, ".html") || ends_with(p, ".htm")) return "text/html; charset=utf-8";
    if (ends_with(p, ".js") || ends_with(p, ".mjs")) return "text/javascript; charset=utf-8";
    if (ends_with(p, ".css")) return "text/css; charset=utf-8";
    if (ends_with(p, ".json")) return "application/json";
    if (ends_with(p, ".svg")) return "image/svg+xml";
    if (ends_with(p, ".png")) return "image/png";
    if (ends_with(p, ".jpg") || ends_with(p, ".jpeg")) return "image/jpeg";
    if (ends_with(p, ".ico")) return "image/x-icon";
    if (ends_with(p, ".wasm")) return "application/wasm";
    if (ends_with(p, ".txt")) return "text/plain; charset=utf-8";
    if (ends_with(p, ".map")) return "application/json";
    if (ends_with(p, ".woff2")) return "font/woff2";
    return "application/octet-stream";
}

StaticFiles::StaticFiles(std::string root) {
    if (root.empty()) return;
    char buf[PATH_MAX];
    if (!::realpath(root.c_str(), buf)) throw std::runtime_error("static directory '" + root + "' does not exist");
    struct stat st {};
    if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) throw std::runtime_error("'" + root + "' is not a directory");
    root_ = buf;
}

std::optional<StaticFile> StaticFiles::lookup(std::string_view path) const {
    if (root_.empty() || path.empty() || path[0] != '/') return std::nullopt;
    auto decoded = percent_decode(path);
    if (!decoded) return std::nullopt;
    std::string rel = *decoded;
    // Reject any ".." segment outright rather than normalising it.
    for (std::size_t i = 0; i < rel.size();) {
        std::size_t j = rel.find('/', i);
        std::string_view seg = std::string_view(rel).substr(i, j == std::string::npos ? std::string::npos : j - i);
        if (seg == "..") return std::nullopt;
        if (j == std::string::npos) break;
        i = j + 1;
    }
    if (rel.back() == '/') rel += "index.html";
    std::string full = root_ + rel;
    struct stat st {};
    if (::stat(full.c_str(), &st) != 0) return std::nullopt;
    if (S_ISDIR(st.st_mode)) {
        full += "/index.html";
        if (::stat(full.c_str(), &st) != 0) return std::nullopt;
    }
    if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxFileSize) return std::nullopt;
    char real[PATH_MAX];
    if (!::realpath(full.c_str(), real)) return std::nullopt;
    std::string_view r(real);
    if (r.substr(0, root_.size()) != root_ || (r.size() > root_.size() && r[root_.size()] != '/')) return std::nullopt;
    std::ifstream f(real, std::ios::binary);
    if (!f) return std::nullopt;
    std::ostringstream ss;
    ss << f.rdbuf();
    StaticFile out;
    out.body = std::move(ss).str();
    out.content_type = content_type_for(full);
    char etag[64];
    std::snprintf(etag, sizeof etag, "\"%lx-%lx\"", static_cast<unsigned long>(st.st_mtime),
                  static_cast<unsigned long>(st.st_size));
    out.etag = etag;
    return out;
}

} // namespace switchboard::http
