#include "support/alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

extern "C" void *__real_malloc(std::size_t n);
extern "C" void __real_free(void *p);

namespace {
std::atomic<std::size_t> g_news{0};
std::atomic<std::size_t> g_mallocs{0};
std::atomic<long> g_live{0};

void *counted_new(std::size_t n) {
    g_news.fetch_add(1, std::memory_order_relaxed);
    if (n == 0)
        n = 1;
    void *p = __real_malloc(n);
    if (!p)
        throw std::bad_alloc();
    return p;
}
} // namespace

extern "C" void *__wrap_malloc(std::size_t n) {
    void *p = __real_malloc(n);
    if (p) {
        g_mallocs.fetch_add(1, std::memory_order_relaxed);
        g_live.fetch_add(1, std::memory_order_relaxed);
    }
    return p;
}

extern "C" void __wrap_free(void *p) {
    if (p)
        g_live.fetch_sub(1, std::memory_order_relaxed);
    __real_free(p);
}

void *operator new(std::size_t n) { return counted_new(n); }
void *operator new[](std::size_t n) { return counted_new(n); }
// The nothrow forms too (std::stable_sort's buffer uses them): a new that is not ours paired
// with our delete is an allocator mismatch under the sanitizer.
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
    try {
        return counted_new(n);
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
    try {
        return counted_new(n);
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}
void operator delete(void *p, const std::nothrow_t &) noexcept { __real_free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { __real_free(p); }
void operator delete(void *p) noexcept { __real_free(p); }
void operator delete[](void *p) noexcept { __real_free(p); }
void operator delete(void *p, std::size_t) noexcept { __real_free(p); }
void operator delete[](void *p, std::size_t) noexcept { __real_free(p); }

namespace switchboard::test {

AllocStats alloc_stats() noexcept {
    return AllocStats{g_news.load(std::memory_order_relaxed),
                      g_mallocs.load(std::memory_order_relaxed),
                      g_live.load(std::memory_order_relaxed)};
}

} // namespace switchboard::test
