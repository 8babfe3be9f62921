#pragma once
// Shared run control. The main thread drives the phases; workers only read them.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace wsload {

// Phases only move forward; workers replay every phase they missed, in order (Worker::run).
enum class Phase : int { Connecting, Warmup, Measure, Drain, Closing, Done };

/// One per run, owned by run() and outliving every worker. Thread-safe: atomics, plus
/// `error_mu` for the two strings.
struct Control {
    std::atomic<Phase> phase{Phase::Connecting};
    std::atomic<bool> abort{false};
    std::atomic<uint32_t> opened{0};
    std::atomic<uint32_t> failed{0};
    std::atomic<bool> sender_open{false};
    std::atomic<uint32_t> lost{0}; // open connections the server dropped or closed
    // The broadcast sender publishes how many messages it sent once sending stops, so receivers
    // can tell when they are drained.
    std::atomic<uint64_t> broadcast_total{UINT64_MAX};
    // Hub: once the publisher has stopped and every publish is answered, the highest offset
    // acknowledged on each channel (sized --channels by run()), then `finals_ready`. Every
    // subscriber must reach its channel's final offset: the end-to-end completeness check.
    std::unique_ptr<std::atomic<uint64_t>[]> final_offsets;
    std::atomic<bool> finals_ready{false};
    std::mutex error_mu;
    std::string first_error;
    std::string first_failure;
    std::string first_violation; // hub: the first order violation, with the push that broke it

    void fail_run(const std::string& why) {
        {
            std::lock_guard lock(error_mu);
            if (first_error.empty()) first_error = why;
        }
        abort.store(true, std::memory_order_release);
    }
    void note_failure(const std::string& why) {
        std::lock_guard lock(error_mu);
        if (first_failure.empty()) first_failure = why;
    }
    void note_violation(const std::string& what) {
        std::lock_guard lock(error_mu);
        if (first_violation.empty()) first_violation = what;
    }
};

} // namespace wsload
