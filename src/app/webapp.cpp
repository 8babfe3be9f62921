#include "app/webapp.hpp"

namespace switchboard::app {

const EmbeddedFile* find_webapp_file(std::string_view path) noexcept {
    if (path == "/") path = "/index.html";
    for (const auto& f : webapp_files())
        if (f.path == path) return &f;
    return nullptr;
}

} // namespace switchboard::app
