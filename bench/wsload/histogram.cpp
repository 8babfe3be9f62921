#include "histogram.hpp"

#include <cmath>

namespace wsload {

void Histogram::merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    max_ = std::max(max_, o.max_);
}

uint64_t Histogram::percentile(double p) const {
    if (count_ == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
    rank = std::clamp<uint64_t>(rank, 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen >= rank) return std::min(bucket_mid(i), max_);
    }
    return max_;
}

uint64_t Histogram::bucket_mid(size_t b) {
    if (b < kSub) return b;
    const size_t shift = b / kSub - 1;
    const uint64_t lo = (kSub + b % kSub) << shift;
    return lo + ((1ULL << shift) >> 1);
}

} // namespace wsload
