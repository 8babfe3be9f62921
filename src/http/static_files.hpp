#pragma once
// Static files for the web app from one directory. Paths are percent-decoded and confined to
// the root (no "..", no NUL, symlinks resolved and checked), so a request can't read outside it.
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::http {

struct StaticFile {
    std::string body;
    std::string_view content_type;
    std::string etag;
};

/// Thread-safe (reads the filesystem on each call; no shared mutable state).
class StaticFiles {
  public:
    explicit StaticFiles(std::string root);
    bool enabled() const noexcept { return !root_.empty(); }
    /// The file for a request path, or nullopt when there is none (404).
    std::optional<StaticFile> lookup(std::string_view path) const;

  private:
    std::string root_; // canonical, without trailing slash
};

/// Percent-decodes a URL path; nullopt on malformed escapes or a NUL byte.
std::optional<std::string> percent_decode(std::string_view s);
std::string_view content_type_for(std::string_view path) noexcept;

} // namespace switchboard::http
