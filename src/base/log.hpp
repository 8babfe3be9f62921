#pragma once
// Structured logging for the control plane: one line per event, text (key=value) or JSON.
// Not for per-message paths: those count in metrics and log only at debug with a rate limit.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace switchboard::log {

enum class Level { Debug, Info, Warn, Error };
enum class Format { Text, Json };

void configure(Level level, Format format);
bool enabled(Level level) noexcept;
Level parse_level(std::string_view s);   // throws std::invalid_argument
Format parse_format(std::string_view s); // throws std::invalid_argument

using Field = std::pair<std::string_view, std::string>;
void write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { if (enabled(Level::Debug)) write(Level::Debug, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { if (enabled(Level::Info)) write(Level::Info, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { if (enabled(Level::Warn)) write(Level::Warn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::Error, m, f); }

} // namespace switchboard::log
