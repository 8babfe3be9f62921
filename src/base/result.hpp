#pragma once
// A small Result<T, E>: std::expected is not usable with clang 14 over libstdc++ 12, and clang
// builds the fuzz targets, so both compilers must accept this.
#include <utility>
#include <variant>

namespace switchboard {

template <class E> struct Err {
    E error;
};
template <class E> Err(E) -> Err<E>;

template <class T, class E> class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Err<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const E& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, E> v_;
};

} // namespace switchboard
