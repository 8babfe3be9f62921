// The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded in place.
#include "http/chunked.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace switchboard::http {
namespace {

using Status = ChunkedDecoder::Status;

struct Decoded {
    Status status;
    std::string body;
    std::size_t consumed = 0;
    int http_status = 0;
};

// Feeds `wire` in pieces of `piece` bytes, decoding in place in one buffer as the server does.
Decoded decode(const std::string& wire, std::size_t piece = 0, std::size_t max_body = 1 << 20) {
    std::vector<std::uint8_t> buf(wire.begin(), wire.end());
    ChunkedDecoder d;
    std::size_t read = 0, written = 0, avail = 0;
    if (piece == 0) piece = wire.size();
    Decoded out{Status::NeedMore, {}, 0, 0};
    while (true) {
        avail = std::min(wire.size(), avail + piece);
        auto st = d.feed(buf.data() + read, avail - read, buf.data(), written, max_body);
        read += st.consumed;
        if (st.status != Status::NeedMore || avail == wire.size()) {
            out.status = st.status;
            out.http_status = st.http_status;
            break;
        }
    }
    out.body.assign(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(written));
    out.consumed = read;
    return out;
}

TEST(Chunked, DecodesChunksAndStopsAtTheEnd) {
    std::string wire = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    auto d = decode(wire);
    EXPECT_EQ(d.status, Status::Done);
    EXPECT_EQ(d.body, "hello, world");
    EXPECT_EQ(d.consumed, wire.find("GET")) << "the next request is not consumed";
}

TEST(Chunked, EverySplitGivesTheSameBody) {
    std::string wire = "a;name=value\r\n0123456789\r\n1\r\nX\r\n0\r\nTrailer: yes\r\n\r\n";
    for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
        auto d = decode(wire, piece);
        EXPECT_EQ(d.status, Status::Done) << piece;
        EXPECT_EQ(d.body, "0123456789X") << piece;
        EXPECT_EQ(d.consumed, wire.size()) << piece;
    }
}

TEST(Chunked, HexSizesInBothCases) {
    std::string data(0x1F, 'z');
    EXPECT_EQ(decode("1f\r\n" + data + "\r\n0\r\n\r\n").body, data);
    EXPECT_EQ(decode("1F\r\n" + data + "\r\n0\r\n\r\n").body, data);
    EXPECT_EQ(decode("000\r\n\r\n").status, Status::Done);
}

TEST(Chunked, IncompleteNeedsMore) {
    EXPECT_EQ(decode("5\r\nhel").status, Status::NeedMore);
    EXPECT_EQ(decode("5\r\nhello\r\n0\r\n").status, Status::NeedMore);
}

TEST(Chunked, MalformedIs400) {
    for (std::string bad : {"\r\n", "g\r\n", "5\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n", "5\r\nhello\r\r",
                            "1234567890abcdef0\r\n", "0\r\nBad\ntrailer\r\n\r\n", "0\r\n\rX"}) {
        auto d = decode(bad);
        EXPECT_EQ(d.status, Status::Error) << bad;
        EXPECT_EQ(d.http_status, 400) << bad;
    }
}

TEST(Chunked, BodyOverTheLimitIs413BeforeItsDataArrives) {
    auto d = decode("8\r\n", 0, 7);
    EXPECT_EQ(d.status, Status::Error);
    EXPECT_EQ(d.http_status, 413);
    auto sum = decode("4\r\nabcd\r\n4\r\n", 0, 7); // 4 + 4 > 7 across chunks
    EXPECT_EQ(sum.http_status, 413);
}

TEST(Chunked, ExtensionsAndTrailersAreBounded) {
    auto ext = decode("1;" + std::string(ChunkedDecoder::kMaxExtension + 1, 'e') + "\r\nx\r\n0\r\n\r\n");
    EXPECT_EQ(ext.http_status, 400);
    auto tr = decode("0\r\n" + std::string(ChunkedDecoder::kMaxTrailers + 1, 't') + "\r\n\r\n");
    EXPECT_EQ(tr.http_status, 431);
}

} // namespace
} // namespace switchboard::http
