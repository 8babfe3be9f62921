#pragma once
// Process-level sampling: /proc for the server, getrusage for ourselves. The server is sampled
// from outside so that any server can be measured, ours or not, without its cooperation.

namespace wsload {

/// A snapshot. `ok` stays false and the memory fields stay -1 when /proc could not be read (no
/// --server-pid, or the process is gone); the report checks them before using them.
struct ServerSample {
    bool ok = false;
    double cpu_s = 0;
    long rss_kb = -1;
    long rss_anon_kb = -1;
    long threads = -1;
};

// pid <= 0 means no server to sample.
ServerSample sample_server(int pid);
double self_cpu_s();

} // namespace wsload
