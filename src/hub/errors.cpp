#include "hub/errors.hpp"

namespace switchboard::hub {

const char* error_reason(ErrorCode code) noexcept {
    switch (code) {
    case ErrorCode::None: return "ok";
    case ErrorCode::Internal: return "internal error";
    case ErrorCode::Unauthorized: return "unauthorized";
    case ErrorCode::UnknownChannel: return "unknown namespace or bad channel name";
    case ErrorCode::PermissionDenied: return "permission denied";
    case ErrorCode::UnknownOp: return "unknown op";
    case ErrorCode::AlreadySubscribed: return "already subscribed";
    case ErrorCode::LimitExceeded: return "limit exceeded";
    case ErrorCode::BadRequest: return "bad request";
    case ErrorCode::NotAvailable: return "not available";
    case ErrorCode::TokenExpired: return "token expired";
    case ErrorCode::TooManyRequests: return "too many requests";
    case ErrorCode::TooLarge: return "publication too large";
    case ErrorCode::Unrecoverable: return "position unrecoverable";
    case ErrorCode::Busy: return "server busy";
    case ErrorCode::InvalidToken: return "invalid token";
    case ErrorCode::AlreadyConnected: return "already connected";
    case ErrorCode::NotSubscribed: return "not subscribed";
    case ErrorCode::RoomFull: return "room full";
    case ErrorCode::NotInRoom: return "not a member of this room";
    case ErrorCode::UnknownParticipant: return "no such participant in this room";
    }
    return "error";
}

} // namespace switchboard::hub
