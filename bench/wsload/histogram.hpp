#pragma once
// Latency histogram: log-linear buckets, 64 per power of two (about 1.6% resolution), fixed
// size, so recording is a clz and an increment. Values are nanoseconds.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace wsload {

/// One writer at a time; workers each own one and the main thread merges them after join().
class Histogram {
  public:
    Histogram() : counts_(kBuckets, 0) {}

    // Inline on purpose: this runs once per received message.
    void record(uint64_t v) {
        ++counts_[bucket_of(v)];
        ++count_;
        sum_ += v;
        max_ = std::max(max_, v);
    }

    void merge(const Histogram& o);

    uint64_t count() const { return count_; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }

    uint64_t percentile(double p) const;

  private:
    static constexpr int kSubBits = 6;
    static constexpr uint64_t kSub = 1ULL << kSubBits;
    static constexpr size_t kBuckets = (64 - kSubBits) * kSub + kSub;

    static size_t bucket_of(uint64_t v) {
        if (v < kSub) return static_cast<size_t>(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - kSubBits;
        return (static_cast<size_t>(shift) + 1) * kSub + static_cast<size_t>((v >> shift) - kSub);
    }

    static uint64_t bucket_mid(size_t b);

    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
};

} // namespace wsload
