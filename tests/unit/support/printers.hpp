#pragma once
// Readable names for project enums in GoogleTest failure messages. Include this in every test
// file that compares one of these types: gtest's printer templates are instantiated per file, and
// files that saw different printers would break the one-definition rule.
#include "http/request.hpp"
#include "ws/connection.hpp"
#include "ws/deflate.hpp"
#include "ws/frame.hpp"

#include <ostream>

namespace switchboard::http {
inline std::ostream &operator<<(std::ostream &os, ParseResult::Kind k) {
    switch (k) {
    case ParseResult::Kind::Incomplete:
        return os << "Incomplete";
    case ParseResult::Kind::Complete:
        return os << "Complete";
    case ParseResult::Kind::Error:
        return os << "Error";
    }
    return os << "Kind(" << static_cast<int>(k) << ")";
}
} // namespace switchboard::http

namespace switchboard::ws {
inline std::ostream &operator<<(std::ostream &os, Opcode op) {
    return os << "Opcode(" << static_cast<int>(op) << ")";
}
inline std::ostream &operator<<(std::ostream &os, Inflater::Status s) {
    switch (s) {
    case Inflater::Status::Ok:
        return os << "Ok";
    case Inflater::Status::TooBig:
        return os << "TooBig";
    case Inflater::Status::Corrupt:
        return os << "Corrupt";
    }
    return os << "Status(" << static_cast<int>(s) << ")";
}
inline std::ostream &operator<<(std::ostream &os, SendResult r) {
    return os << (r == SendResult::Sent      ? "Sent"
                  : r == SendResult::Dropped ? "Dropped"
                                             : "SendResult(?)");
}
} // namespace switchboard::ws
