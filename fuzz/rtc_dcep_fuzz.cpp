// Fuzz target: the DCEP codec (rtc/sctp/dcep). Whatever parses as a DATA_CHANNEL_OPEN must have
// its strings inside the input, and encoding what was read must give a message that parses to
// the same channel.
#include "rtc/sctp/dcep.hpp"

#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace switchboard::rtc::sctp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> in(data, size);
    auto v = parse_open(in);
    if (!v) return 0;
    const char* begin = reinterpret_cast<const char*>(data);
    SB_FUZZ_CHECK(v->label.empty() || (v->label.data() >= begin && v->label.data() + v->label.size() <= begin + size));
    SB_FUZZ_CHECK(v->protocol.empty() || (v->protocol.data() >= begin && v->protocol.data() + v->protocol.size() <= begin + size));
    SB_FUZZ_CHECK(12 + v->label.size() + v->protocol.size() <= size);
    ChannelOptions o{v->ordered, v->reliability, v->param, v->priority, std::string(v->label), std::string(v->protocol)};
    std::vector<std::uint8_t> again;
    encode_open(o, again);
    auto w = parse_open(again);
    SB_FUZZ_CHECK(w.has_value());
    SB_FUZZ_CHECK(w->ordered == v->ordered && w->reliability == v->reliability && w->param == v->param);
    SB_FUZZ_CHECK(w->priority == v->priority && w->label == v->label && w->protocol == v->protocol);
    return 0;
}
