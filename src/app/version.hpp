#pragma once

namespace switchboard::app {
inline constexpr const char* kVersion = "0.1.0";
}
