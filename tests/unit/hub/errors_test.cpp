// The hub's error and disconnect codes against the tables in docs/protocol.md ("Errors" and
// "Disconnects"): both tables are part of the client protocol and must never be renumbered.
#include "hub/errors.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>

namespace switchboard::hub {
namespace {

TEST(HubErrors, CodesMatchTheProtocolTable) {
    EXPECT_EQ(static_cast<int>(ErrorCode::Internal), 100);
    EXPECT_EQ(static_cast<int>(ErrorCode::Unauthorized), 101);
    EXPECT_EQ(static_cast<int>(ErrorCode::UnknownChannel), 102);
    EXPECT_EQ(static_cast<int>(ErrorCode::PermissionDenied), 103);
    EXPECT_EQ(static_cast<int>(ErrorCode::UnknownOp), 104);
    EXPECT_EQ(static_cast<int>(ErrorCode::AlreadySubscribed), 105);
    EXPECT_EQ(static_cast<int>(ErrorCode::LimitExceeded), 106);
    EXPECT_EQ(static_cast<int>(ErrorCode::BadRequest), 107);
    EXPECT_EQ(static_cast<int>(ErrorCode::NotAvailable), 108);
    EXPECT_EQ(static_cast<int>(ErrorCode::TokenExpired), 109);
    EXPECT_EQ(static_cast<int>(ErrorCode::TooManyRequests), 110);
    EXPECT_EQ(static_cast<int>(ErrorCode::TooLarge), 111);
    EXPECT_EQ(static_cast<int>(ErrorCode::Unrecoverable), 112);
    EXPECT_EQ(static_cast<int>(ErrorCode::Busy), 113);
    EXPECT_EQ(static_cast<int>(ErrorCode::InvalidToken), 114);
    EXPECT_EQ(static_cast<int>(ErrorCode::AlreadyConnected), 115);
    EXPECT_EQ(static_cast<int>(ErrorCode::NotSubscribed), 116);
}

TEST(HubErrors, EveryCodeHasItsOwnReason) {
    std::set<std::string> reasons;
    for (unsigned code = 100; code <= 116; ++code) {
        const char* r = error_reason(static_cast<ErrorCode>(code));
        ASSERT_NE(r, nullptr);
        EXPECT_STRNE(r, "") << code;
        EXPECT_STRNE(r, "error") << code << " falls through to the fallback";
        reasons.insert(r);
    }
    EXPECT_EQ(reasons.size(), 17u);
    EXPECT_STREQ(error_reason(ErrorCode::PermissionDenied), "permission denied"); // the page's example
}

TEST(HubErrors, UnknownCodesStillHaveAReason) {
    EXPECT_STREQ(error_reason(static_cast<ErrorCode>(99)), "error");
    EXPECT_STREQ(error_reason(static_cast<ErrorCode>(65535)), "error");
}

TEST(HubErrors, DisconnectCodesMatchTheProtocolTable) {
    EXPECT_EQ(disconnect::kServerRequest, 4000);
    EXPECT_EQ(disconnect::kSlowConsumer, 4001);
    EXPECT_EQ(disconnect::kTokenExpired, 4002);
    EXPECT_EQ(disconnect::kBusy, 4003);
    EXPECT_EQ(disconnect::kNoConnect, 4004);
    EXPECT_EQ(disconnect::kBadRequest, 4500);
    EXPECT_EQ(disconnect::kInvalidToken, 4501);
    EXPECT_EQ(disconnect::kServerRequestFinal, 4502);
    EXPECT_EQ(disconnect::kTooManyConnections, 4504);
}

TEST(HubErrors, ReconnectFollowsTheCodeRange) {
    // 4000-4499: reconnect with backoff; 4500-4999: do not; 1001 (shutting down): reconnect.
    EXPECT_TRUE(disconnect::reconnect(1001));
    for (std::uint16_t c : {4000, 4001, 4002, 4003, 4004, 4499}) EXPECT_TRUE(disconnect::reconnect(c)) << c;
    for (std::uint16_t c : {4500, 4501, 4502, 4504, 4999}) EXPECT_FALSE(disconnect::reconnect(c)) << c;
}

} // namespace
} // namespace switchboard::hub
