// Chunked request bodies (http/chunked.hpp): the decoder must never write past what it has
// read (it decodes in place), never exceed the body limit, and give the same result however
// the bytes are split. The first input byte picks the split size.
#include "fuzz_check.hpp"
#include "http/chunked.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using switchboard::http::ChunkedDecoder;

namespace {
struct Outcome {
    ChunkedDecoder::Status status;
    std::size_t consumed;
    int http_status;
    std::string body;
};

Outcome run(const std::uint8_t* data, std::size_t size, std::size_t piece, std::size_t max_body) {
    std::vector<std::uint8_t> buf(data, data + size);
    ChunkedDecoder d;
    std::size_t read = 0, written = 0, avail = 0;
    ChunkedDecoder::Step st;
    do {
        avail = avail + piece < size ? avail + piece : size;
        st = d.feed(buf.data() + read, avail - read, buf.data(), written, max_body);
        read += st.consumed;
        SB_FUZZ_CHECK(read <= avail);
        SB_FUZZ_CHECK(written <= read); // in place: the write position never passes the read one
        SB_FUZZ_CHECK(written <= max_body);
    } while (st.status == ChunkedDecoder::Status::NeedMore && avail < size);
    if (st.status == ChunkedDecoder::Status::Error)
        SB_FUZZ_CHECK(st.http_status == 400 || st.http_status == 413 || st.http_status == 431);
    return {st.status, read, st.http_status, std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(written))};
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    std::size_t piece = 1 + data[0] % 17;
    const std::size_t max_body = 4096;
    Outcome whole = run(data + 1, size - 1, size, max_body);
    Outcome split = run(data + 1, size - 1, piece, max_body);
    SB_FUZZ_CHECK(whole.status == split.status);
    SB_FUZZ_CHECK(whole.http_status == split.http_status);
    if (whole.status == ChunkedDecoder::Status::Done) {
        SB_FUZZ_CHECK(whole.body == split.body);
        SB_FUZZ_CHECK(whole.consumed == split.consumed);
    }
    return 0;
}
