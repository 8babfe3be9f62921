#pragma once
// Invariant checks for fuzz targets: a violated invariant is a finding, so it aborts (libFuzzer
// then saves the input). Only for fuzzers; library code never asserts on peer input.
#include <cstdio>
#include <cstdlib>

#define SB_FUZZ_CHECK(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)
