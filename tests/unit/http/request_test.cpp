// HTTP/1.1 request heads (RFC 9112 §2-6, RFC 9110 §5): parsing, limits and the status for each
// rejection.
#include "http/request.hpp"

#include "support/printers.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace switchboard::http {
namespace {

using Kind = ParseResult::Kind;

// Owns the text its views point into; never moved (a moved short string would move its bytes).
struct Parsed {
    Parsed(std::string in, const Limits &limits) : text(std::move(in)) {
        r = parse_request_head(text, limits, head);
    }
    Parsed(const Parsed &) = delete;
    Parsed &operator=(const Parsed &) = delete;
    std::string text;
    ParseResult r;
    RequestHead head;
};

Parsed parse(std::string in, const Limits &limits = {}) { return Parsed(std::move(in), limits); }

int status_of(const std::string &in, const Limits &limits = {}) {
    auto p = parse(in, limits);
    EXPECT_EQ(p.r.kind, Kind::Error) << in;
    return p.r.status;
}

TEST(HttpRequest, SimpleGet) {
    const std::string in =
        "GET /index.html?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    auto p = parse(in);
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_EQ(p.r.consumed, in.size());
    EXPECT_EQ(p.head.method, "GET");
    EXPECT_EQ(p.head.target, "/index.html?x=1&y=2");
    EXPECT_EQ(p.head.path, "/index.html");
    EXPECT_EQ(p.head.query, "x=1&y=2");
    EXPECT_EQ(p.head.version_minor, 1);
    ASSERT_EQ(p.head.header_count, 2u);
    EXPECT_EQ(p.head.headers[0].name, "Host");
    EXPECT_EQ(p.head.headers[0].value, "example.com");
    EXPECT_EQ(p.head.header("host"), "example.com");
    EXPECT_EQ(p.head.header("ACCEPT"), "*/*");
    EXPECT_FALSE(p.head.header("cookie"));
    EXPECT_EQ(p.head.content_length, 0u);
    EXPECT_FALSE(p.head.chunked);
}

TEST(HttpRequest, TargetWithoutQueryAndEmptyQuery) {
    auto a = parse("GET /a/b HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(a.head.path, "/a/b");
    EXPECT_EQ(a.head.query, "");
    auto b = parse("GET /a? HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(b.head.path, "/a");
    EXPECT_EQ(b.head.query, "");
}

TEST(HttpRequest, HeaderValuesAreTrimmedOfOptionalWhitespace) {
    auto p = parse(
        "GET / HTTP/1.1\r\nHost:h\r\nX-A: \t value with  inner spaces \t \r\nX-Empty:\r\n\r\n");
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_EQ(p.head.header("host"), "h");
    EXPECT_EQ(p.head.header("x-a"), "value with  inner spaces");
    EXPECT_EQ(p.head.header("x-empty"), "");
}

TEST(HttpRequest, Http10WithoutHost) {
    auto p = parse("GET / HTTP/1.0\r\n\r\n");
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_EQ(p.head.version_minor, 0);
}

TEST(HttpRequest, Incomplete) {
    for (const std::string in :
         {"", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: h\r\n",
          "GET / HTTP/1.1\r\nHost: h\r\n\r"}) {
        EXPECT_EQ(parse(in).r.kind, Kind::Incomplete) << in;
    }
}

TEST(HttpRequest, EveryPrefixOfAValidRequestIsIncomplete) {
    const std::string in =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\r\n";
    for (std::size_t n = 0; n < in.size(); ++n)
        EXPECT_EQ(parse(in.substr(0, n)).r.kind, Kind::Incomplete) << n;
    EXPECT_EQ(parse(in).r.kind, Kind::Complete);
}

TEST(HttpRequest, PipelinedRequestsAreConsumedOneAtATime) {
    const std::string one = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
    const std::string two = "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    const std::string three = "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
    std::string in = one + two + "hello" + three;
    auto p = parse(in);
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_EQ(p.r.consumed, one.size());
    EXPECT_EQ(p.head.path, "/1");
    std::string rest = in.substr(p.r.consumed);
    auto q = parse(rest);
    ASSERT_EQ(q.r.kind, Kind::Complete);
    EXPECT_EQ(q.r.consumed, two.size());
    EXPECT_EQ(q.head.method, "POST");
    EXPECT_EQ(q.head.content_length, 5u);
    std::string last = rest.substr(q.r.consumed + 5);
    auto r = parse(last);
    ASSERT_EQ(r.r.kind, Kind::Complete);
    EXPECT_EQ(r.head.path, "/3");
    EXPECT_EQ(r.r.consumed, last.size());
}

TEST(HttpRequest, ReusedHeadIsReset) {
    RequestHead head;
    Limits l;
    std::string a = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX: 1\r\n\r\n";
    ASSERT_EQ(parse_request_head(a, l, head).kind, Kind::Complete);
    std::string b = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    ASSERT_EQ(parse_request_head(b, l, head).kind, Kind::Complete);
    EXPECT_EQ(head.header_count, 1u);
    EXPECT_EQ(head.content_length, 0u);
    EXPECT_FALSE(head.header("x"));
}

// ---- Limits -----------------------------------------------------------------------------------

TEST(HttpRequestLimits, RequestLineTooLongIs414) {
    Limits l;
    l.max_request_line = 64;
    std::string line = "GET /" + std::string(64, 'a') + " HTTP/1.1";
    EXPECT_EQ(status_of(line + "\r\nHost: h\r\n\r\n", l), 414);
    // Detected before the line ends, so a client can't make us buffer forever.
    EXPECT_EQ(status_of(line.substr(0, 65), l), 414);
    // Exactly at the limit is fine.
    std::string at = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(at.size(), 64u);
    EXPECT_EQ(parse(at + "\r\nHost: h\r\n\r\n", l).r.kind, Kind::Complete);
}

TEST(HttpRequestLimits, RequestLineAtTheLimitSplitAfterItsCarriageReturn) {
    // A request line of exactly max_request_line bytes is accepted when the head arrives whole
    // (see above), so a read that happens to end between its CR and LF must be Incomplete, not
    // 414: the caller re-parses the accumulated bytes after every read.
    Limits l;
    l.max_request_line = 64;
    std::string at = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(at.size(), 64u);
    EXPECT_EQ(parse(at + "\r", l).r.kind, Kind::Incomplete);
    EXPECT_EQ(parse(at, l).r.kind, Kind::Incomplete);
}

TEST(HttpRequestLimits, HeadTooLargeIs431) {
    Limits l;
    l.max_head_size = 100;
    std::string in = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100, 'v') + "\r\n\r\n";
    EXPECT_EQ(status_of(in, l), 431);
    EXPECT_EQ(status_of(in.substr(0, 101), l), 431) << "before the head is complete";
    // A head of exactly max_head_size bytes, blank line included, is accepted.
    std::string base = "GET / HTTP/1.1\r\nHost: h\r\nX: \r\n\r\n";
    std::string exact =
        "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(100 - base.size(), 'v') + "\r\n\r\n";
    ASSERT_EQ(exact.size(), 100u);
    EXPECT_EQ(parse(exact, l).r.kind, Kind::Complete);
    // ...and every prefix of it is still Incomplete, not 431.
    for (std::size_t n = 0; n < exact.size(); ++n)
        EXPECT_EQ(parse(exact.substr(0, n), l).r.kind, Kind::Incomplete) << n;
}

TEST(HttpRequestLimits, TooManyHeadersIs431) {
    Limits l;
    l.max_headers = 5;
    std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 4; ++i)
        head += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(parse(head + "\r\n", l).r.kind, Kind::Complete);
    EXPECT_EQ(parse(head + "\r\n", l).head.header_count, 5u);
    EXPECT_EQ(status_of(head + "X-5: v\r\n\r\n", l), 431);
}

TEST(HttpRequestLimits, HeaderCountIsCappedAtCapacity) {
    Limits l;
    l.max_headers = 1000; // more than the array holds
    l.max_head_size = 1 << 20;
    std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (std::size_t i = 1; i < kHeaderCapacity; ++i)
        head += "X: v\r\n";
    EXPECT_EQ(parse(head + "\r\n", l).r.kind, Kind::Complete);
    EXPECT_EQ(status_of(head + "X: v\r\n\r\n", l), 431);
}

TEST(HttpRequestLimits, BodyTooLargeIs413) {
    Limits l;
    l.max_body_size = 1000;
    EXPECT_EQ(parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n", l).r.kind,
              Kind::Complete);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", l), 413);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999\r\n\r\n", l),
              413);
}

// ---- 400, 501, 505 ----------------------------------------------------------------------------

TEST(HttpRequestErrors, MalformedRequestLines400) {
    const char *bad[] = {
        "GET\r\nHost: h\r\n\r\n",
        "GET /\r\nHost: h\r\n\r\n",
        " GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
        "GET / http/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.10\r\nHost: h\r\n\r\n",
        "GET / HTTP/a.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1,1\r\nHost: h\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /\nHTTP/1.1\r\nHost: h\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n" // leading empty line: we don't skip it
    };
    for (const char *in : bad)
        EXPECT_EQ(status_of(in), 400) << in;
}

TEST(HttpRequestErrors, UnsupportedVersion505) {
    EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
    EXPECT_EQ(status_of("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
    EXPECT_EQ(status_of("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505);
}

TEST(HttpRequestErrors, MissingHostOnHttp11Is400) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHosts: h\r\n\r\n"), 400);
}

TEST(HttpRequestErrors, MissingHostOnLaterHttp1MinorVersionsIs400) {
    // RFC 9112 §3.2: Host is required in HTTP/1.1 requests, and a 1.x request with a higher
    // minor version is answered as HTTP/1.1 (RFC 9110 §6.2), so it needs Host too.
    auto p = parse("GET / HTTP/1.2\r\n\r\n");
    EXPECT_EQ(p.r.kind, Kind::Error);
    EXPECT_EQ(p.r.status, 400);
}

TEST(HttpRequestErrors, BadHeaderNames400) {
    const char *bad[] = {
        "GET / HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad(Name): v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nBad\x01: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: h\r\nN\xc3\xa4me: v\r\n\r\n",
    };
    for (const char *in : bad)
        EXPECT_EQ(status_of(in), 400) << in;
}

TEST(HttpRequestErrors, WhitespaceBeforeColon400) {
    // RFC 9112 §5.1: a server MUST reject whitespace between the field name and colon.
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n"), 400);
}

TEST(HttpRequestErrors, ObsoleteLineFolding400) {
    // RFC 9112 §5.2: obs-fold is rejected (or replaced); we reject.
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n  continued\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tcontinued: b\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
}

TEST(HttpRequestErrors, ControlCharactersInValues400) {
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\nb\r\n\r\n"), 400);
    static constexpr char kNul[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    EXPECT_EQ(status_of(std::string(kNul, sizeof kNul - 1)), 400);
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
    // Tabs and obs-text (0x80-0xFF) are allowed in values.
    EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nX: a\tb \xe2\x82\xac\r\n\r\n").r.kind,
              Kind::Complete);
}

TEST(HttpRequestErrors, ContentLength) {
    EXPECT_EQ(
        status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n"), 400);
    EXPECT_EQ(
        status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n"),
        400);
    // The same value twice is harmless (RFC 9112 §6.3 allows treating it as one).
    auto p = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_EQ(p.head.content_length, 5u);
    auto z = parse("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
    ASSERT_EQ(z.r.kind, Kind::Complete);
    EXPECT_EQ(z.head.content_length, 7u);
}

TEST(HttpRequestErrors, TransferEncoding) {
    auto c = parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    ASSERT_EQ(c.r.kind, Kind::Complete);
    EXPECT_TRUE(c.head.chunked);
    EXPECT_TRUE(parse("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n").head.chunked);
    // A coding we would have to undo first is refused; chunked not last is malformed (§6.3).
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), 400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n"),
              400);
    // Both framings at once is a smuggling attempt (RFC 9112 §6.3): 400.
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                        "chunked\r\nContent-Length: 5\r\n\r\n"),
              400);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n"),
              400);
}

// ---- Connection semantics -----------------------------------------------------------------------

TEST(HttpRequestSemantics, KeepAlive) {
    EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").head.keep_alive());
    EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").head.keep_alive());
    EXPECT_FALSE(
        parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, CLOSE\r\n\r\n").head.keep_alive());
    EXPECT_TRUE(
        parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n").head.keep_alive());
    EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive());
    EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").head.keep_alive());
    EXPECT_FALSE(
        parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").head.keep_alive());
    EXPECT_TRUE(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n").head.keep_alive())
        << "tokens match whole";
}

TEST(HttpRequestSemantics, HasToken) {
    auto p = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive,  Upgrade ,\r\n"
                   "Upgrade: websocket\r\nX-List: a, b\r\nX-List: c\r\n\r\n");
    ASSERT_EQ(p.r.kind, Kind::Complete);
    EXPECT_TRUE(p.head.has_token("connection", "upgrade"));
    EXPECT_TRUE(p.head.has_token("Connection", "KEEP-ALIVE"));
    EXPECT_FALSE(p.head.has_token("connection", "close"));
    EXPECT_FALSE(p.head.has_token("connection", "upgrad"));
    EXPECT_FALSE(p.head.has_token("connection", ""));
    EXPECT_TRUE(p.head.has_token("upgrade", "WebSocket"));
    EXPECT_TRUE(p.head.has_token("x-list", "b"));
    EXPECT_TRUE(p.head.has_token("x-list", "c")) << "every line of a repeated header counts";
    EXPECT_FALSE(p.head.has_token("missing", "x"));
}

TEST(HttpRequestSemantics, Iequals) {
    EXPECT_TRUE(iequals("Content-Length", "content-length"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("a", "ab"));
    EXPECT_FALSE(iequals("[", "{")) << "only letters fold";
}

} // namespace
} // namespace switchboard::http
