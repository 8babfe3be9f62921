#pragma once
// Printing a finished run: the summary or one JSON line.
#include "options.hpp"
#include "proc_sample.hpp"
#include "stats.hpp"

#include <cstdint>
#include <string>

namespace wsload {

/// Everything measured in one run, gathered by run() after every worker has been joined, so
/// the report reads plain values and no thread is still writing.
struct RunResult {
    uint32_t total = 0;           // connections, the broadcast sender included
    uint32_t threads = 0;         // worker threads actually started
    uint32_t opened_at_start = 0; // connections open when the connect phase ended
    double connect_s = 0;         // time the connect phase took
    bool measured = false;        // false when the run stopped before the window began
    double window = 0;            // measured seconds (0 when not measured)
    double loadgen_cpu = 0;       // our own CPU seconds during the window
    ServerSample before_connect;  // before the first connection: the idle-memory baseline
    ServerSample s0;              // window start
    ServerSample s1;              // window end
    ServerSample after_close;     // after every connection was closed
    Stats all;                    // every worker's counters merged
    bool drain_timed_out = false;
    bool finals_checked = false; // hub: subscribers were checked against the final offsets
    bool aborted = false;
    std::string first_error;       // why the run aborted
    std::string first_failure;     // first connection-level failure, even when not fatal
    std::string first_violation;   // hub: first order violation
    std::string first_ack_offsets; // hub modes: first channel whose acked offsets are not lo..hi
};

// Prints to stdout. Whether the run was interrupted is read from g_interrupted (interrupt.hpp).
void print_report(const Config& cfg, const RunResult& r);

} // namespace wsload
