#include "rtc/srtp/session.hpp"

#include <srtp2/srtp.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace switchboard::rtc::srtp {

namespace {

void init_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("libsrtp2 failed to initialise");
    });
}

Result result_of(srtp_err_status_t e) {
    switch (e) {
    case srtp_err_status_ok: return Result::Ok;
    case srtp_err_status_auth_fail: return Result::AuthFailed;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old: return Result::Replay;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err: return Result::Malformed;
    default: return Result::Error;
    }
}

} // namespace

struct Session::Impl {
    srtp_t out = nullptr, in = nullptr;
    ~Impl() {
        if (out) srtp_dealloc(out);
        if (in) srtp_dealloc(in);
    }
};

Session::Session(std::string_view profile, std::span<const std::uint8_t> local, std::span<const std::uint8_t> remote)
    : impl_(std::make_unique<Impl>()) {
    init_once();
    const bool gcm = profile == "SRTP_AEAD_AES_128_GCM";
    if (!gcm && profile != "SRTP_AES128_CM_SHA1_80") throw std::invalid_argument("unsupported SRTP profile " + std::string(profile));
    const std::size_t size = gcm ? SRTP_AES_GCM_128_KEY_LEN_WSALT : SRTP_AES_ICM_128_KEY_LEN_WSALT;
    if (local.size() != size || remote.size() != size) throw std::invalid_argument("SRTP key of the wrong size");
    auto make = [&](std::span<const std::uint8_t> key, srtp_ssrc_type_t direction, srtp_t& out) {
        srtp_policy_t p{};
        if (gcm) {
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
        } else {
            srtp_crypto_policy_set_rtp_default(&p.rtp);
            srtp_crypto_policy_set_rtcp_default(&p.rtcp);
        }
        p.ssrc.type = direction;
        std::vector<std::uint8_t> copy(key.begin(), key.end()); // libsrtp wants a non-const pointer
        p.key = copy.data();
        p.window_size = 1024; // reordering tolerated before a packet counts as a replay
        p.allow_repeat_tx = 1; // retransmissions (NACK) resend the same packet
        if (srtp_create(&out, &p) != srtp_err_status_ok) throw std::runtime_error("srtp_create failed");
    };
    make(local, ssrc_any_outbound, impl_->out);
    make(remote, ssrc_any_inbound, impl_->in);
}

Session::~Session() = default;

namespace {
template <class F> Result grow_and_call(std::vector<std::uint8_t>& packet, F f) {
    if (packet.size() > 0x7fffffff - kMaxOverhead) return Result::Malformed;
    int len = static_cast<int>(packet.size());
    packet.resize(packet.size() + kMaxOverhead);
    const Result r = result_of(f(packet.data(), &len));
    packet.resize(r == Result::Ok ? static_cast<std::size_t>(len) : packet.size() - kMaxOverhead);
    return r;
}
template <class F> Result call_in_place(std::vector<std::uint8_t>& packet, F f) {
    if (packet.size() > 0x7fffffff) return Result::Malformed;
    int len = static_cast<int>(packet.size());
    const Result r = result_of(f(packet.data(), &len));
    if (r == Result::Ok) packet.resize(static_cast<std::size_t>(len));
    return r;
}
} // namespace

Result Session::protect_rtp(std::vector<std::uint8_t>& p) {
    return grow_and_call(p, [&](void* d, int* n) { return srtp_protect(impl_->out, d, n); });
}
Result Session::protect_rtcp(std::vector<std::uint8_t>& p) {
    return grow_and_call(p, [&](void* d, int* n) { return srtp_protect_rtcp(impl_->out, d, n); });
}
Result Session::unprotect_rtp(std::vector<std::uint8_t>& p) {
    if (p.size() < 12) return Result::Malformed;
    return call_in_place(p, [&](void* d, int* n) { return srtp_unprotect(impl_->in, d, n); });
}
Result Session::unprotect_rtcp(std::vector<std::uint8_t>& p) {
    if (p.size() < 8) return Result::Malformed;
    return call_in_place(p, [&](void* d, int* n) { return srtp_unprotect_rtcp(impl_->in, d, n); });
}

} // namespace switchboard::rtc::srtp
