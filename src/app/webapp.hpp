#pragma once
// The web app built into the binary (the chat app at /, with the browser SDK), so that
// `switchboard serve` needs nothing but itself. --static-dir serves a directory instead.
#include <span>
#include <string_view>

namespace switchboard::app {

struct EmbeddedFile {
    std::string_view path; // URL path, e.g. "/index.html"
    std::string_view content_type;
    std::string_view body;
    std::string_view etag; // quoted
};

/// Every embedded file; empty when the build had no web app (npm missing).
std::span<const EmbeddedFile> webapp_files() noexcept;

/// The file for a request path ("/" is "/index.html"), or null.
const EmbeddedFile* find_webapp_file(std::string_view path) noexcept;

} // namespace switchboard::app
