#include "proc_sample.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wsload {

ServerSample sample_server(int pid) {
    ServerSample s;
    if (pid <= 0) return s;
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char buf[2048];
        const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
        std::fclose(f);
        buf[n] = '\0';
        // comm may contain spaces and parentheses: fields are counted after the last ')'.
        if (const char* rp = std::strrchr(buf, ')')) {
            const char* q = rp + 1;
            unsigned long long utime = 0, stime = 0;
            // Fields after ')': state(3) ... utime(14), stime(15).
            int field = 2;
            while (*q && field < 15) {
                while (*q == ' ') ++q;
                ++field;
                if (field == 14) utime = std::strtoull(q, nullptr, 10);
                if (field == 15) stime = std::strtoull(q, nullptr, 10);
                while (*q && *q != ' ') ++q;
            }
            const long tck = sysconf(_SC_CLK_TCK);
            s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(tck > 0 ? tck : 100);
            s.ok = true;
        }
    }
    std::snprintf(path, sizeof path, "/proc/%d/status", pid);
    if (FILE* f = std::fopen(path, "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            long v = 0;
            if (std::sscanf(line, "VmRSS: %ld kB", &v) == 1)
                s.rss_kb = v;
            else if (std::sscanf(line, "RssAnon: %ld kB", &v) == 1)
                s.rss_anon_kb = v;
            else if (std::sscanf(line, "Threads: %ld", &v) == 1)
                s.threads = v;
        }
        std::fclose(f);
    }
    return s;
}

double self_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

} // namespace wsload
