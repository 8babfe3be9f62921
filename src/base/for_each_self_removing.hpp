#pragma once
#include <cstddef>
#include <vector>

namespace switchboard {

/// Calls `f` on every element of a registry whose elements may remove themselves during the
/// call by moving the last element into their slot (the loops' stream and subscriber lists do:
/// a tick, a delivery or a shutdown can close the element it is called on). Removing any other
/// element during the walk is not supported.
template <class T, class F> void for_each_self_removing(std::vector<T*>& v, F&& f) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        T* x = v[i];
        f(x);
        if (i < v.size() && v[i] != x) --i; // x left; the former last element is in slot i now
    }
}

} // namespace switchboard
