#pragma once
// The hub's error codes (in replies) and disconnect codes (in close frames), as listed in
// docs/protocol.md. Both tables are part of the client protocol: never renumber.
#include "auth/jwt.hpp"

#include <cstdint>

namespace switchboard::hub {

enum class ErrorCode : std::uint16_t {
    None = 0,
    Internal = 100,
    Unauthorized = 101,
    UnknownChannel = 102,
    PermissionDenied = 103,
    UnknownOp = 104,
    AlreadySubscribed = 105,
    LimitExceeded = 106,
    BadRequest = 107,
    NotAvailable = 108,
    TokenExpired = 109,
    TooManyRequests = 110,
    TooLarge = 111,
    Unrecoverable = 112,
    Busy = 113,
    InvalidToken = 114,
    AlreadyConnected = 115,
    NotSubscribed = 116,
    RoomFull = 117,
    NotInRoom = 118,
    UnknownParticipant = 119,
};

/// The reason text sent with an error code. Never null.
const char* error_reason(ErrorCode code) noexcept;

/// What a token that did not verify answers: 109 when it expired (get a new one), 114 otherwise.
inline constexpr ErrorCode token_error_code(auth::TokenError e) noexcept {
    return e == auth::TokenError::Expired ? ErrorCode::TokenExpired : ErrorCode::InvalidToken;
}

/// WebSocket close codes. 4000-4499: reconnect (with backoff); 4500-4999: do not.
namespace disconnect {
inline constexpr std::uint16_t kServerRequest = 4000;
inline constexpr std::uint16_t kSlowConsumer = 4001;
inline constexpr std::uint16_t kTokenExpired = 4002;
inline constexpr std::uint16_t kBusy = 4003;
inline constexpr std::uint16_t kNoConnect = 4004;
inline constexpr std::uint16_t kBadRequest = 4500;
inline constexpr std::uint16_t kInvalidToken = 4501;
inline constexpr std::uint16_t kServerRequestFinal = 4502;
inline constexpr std::uint16_t kTooManyConnections = 4504;
inline constexpr bool reconnect(std::uint16_t code) noexcept { return code < 4500; }
} // namespace disconnect

} // namespace switchboard::hub
