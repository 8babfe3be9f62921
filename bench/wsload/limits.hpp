#pragma once
// Hard limits and tuning constants. They live together because option validation, the worker
// and the run driver must agree on them: a limit checked in one place and assumed in another
// is how a load generator ends up measuring its own failures.
#include <cstddef>
#include <cstdint>

namespace wsload {

inline constexpr size_t kReadBufferSize = 256 * 1024;
// The fd hard limit here is 20,000 per process; leave room for epoll fds, stdio and /proc reads.
inline constexpr uint32_t kMaxConnections = 19'500;
// Bounded connect concurrency per thread: a burst of thousands of SYNs overflows the server's
// accept backlog, and each dropped SYN then costs a one-second retransmit.
inline constexpr uint32_t kMaxConnectingPerThread = 256;
inline constexpr uint64_t kMaxFramePayload = 64ULL << 20;
inline constexpr uint64_t kMaxMessageSize = 64ULL << 20;
inline constexpr size_t kMaxHandshakeBytes = 16 * 1024;
// Per-connection masked templates are the fast path. Past this budget, connections of one thread
// share a mask key and template (the server cannot tell the difference in cost).
inline constexpr size_t kTemplateBudget = 256ULL << 20;
inline constexpr uint64_t kMaxOutBytesTotal = 4ULL << 30;
inline constexpr int kEventBatch = 512;
inline constexpr double kDrainTimeoutSec = 3.0;
inline constexpr double kCloseTimeoutSec = 3.0;

} // namespace wsload
