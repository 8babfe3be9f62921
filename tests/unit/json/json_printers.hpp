#pragma once
// Readable json::Error and json::Kind in GoogleTest failure messages. Every test file that
// compares one of them includes this, so gtest's printer templates see the same overloads in
// each file (see support/printers.hpp for why that matters).
#include "json/reader.hpp"

#include <ostream>

namespace switchboard::json {
inline std::ostream &operator<<(std::ostream &os, Error e) { return os << error_text(e); }

inline std::ostream &operator<<(std::ostream &os, Kind k) {
    switch (k) {
    case Kind::Null:
        return os << "Null";
    case Kind::False:
        return os << "False";
    case Kind::True:
        return os << "True";
    case Kind::Number:
        return os << "Number";
    case Kind::String:
        return os << "String";
    case Kind::Array:
        return os << "Array";
    case Kind::Object:
        return os << "Object";
    }
    return os << "Kind(" << static_cast<int>(k) << ")";
}
} // namespace switchboard::json
