// Static files: percent-decoding, confinement to the root, index.html, content types.
#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace switchboard::http {
namespace {

namespace fs = std::filesystem;

TEST(PercentDecode, Basics) {
    EXPECT_EQ(percent_decode(""), "");
    EXPECT_EQ(percent_decode("/plain/path"), "/plain/path");
    EXPECT_EQ(percent_decode("/a%20b"), "/a b");
    EXPECT_EQ(percent_decode("%2F%2f"), "//");
    EXPECT_EQ(percent_decode("%41%42%43"), "ABC");
    EXPECT_EQ(percent_decode("%e2%82%AC"), "\xe2\x82\xac");
    EXPECT_EQ(percent_decode("a+b"), "a+b") << "'+' means space only in forms, not in paths";
    EXPECT_EQ(percent_decode("%25"), "%");
    EXPECT_EQ(percent_decode("%2541"), "%41") << "decoded once, not twice";
}

TEST(PercentDecode, Malformed) {
    for (const char *s : {"%", "%4", "a%", "a%4", "%G1", "%1G", "%%", "% 1", "%-1"})
        EXPECT_FALSE(percent_decode(s)) << s;
    EXPECT_FALSE(percent_decode("/a%00b")) << "NUL would truncate the path at the syscall";
}

TEST(ContentType, ByExtension) {
    EXPECT_EQ(content_type_for("/index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("a.htm"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("mod.mjs"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("s.css"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("d.json"), "application/json");
    EXPECT_EQ(content_type_for("app.js.map"), "application/json");
    EXPECT_EQ(content_type_for("i.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("i.png"), "image/png");
    EXPECT_EQ(content_type_for("i.jpg"), "image/jpeg");
    EXPECT_EQ(content_type_for("i.jpeg"), "image/jpeg");
    EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
    EXPECT_EQ(content_type_for("m.wasm"), "application/wasm");
    EXPECT_EQ(content_type_for("r.txt"), "text/plain; charset=utf-8");
    EXPECT_EQ(content_type_for("f.woff2"), "font/woff2");
    EXPECT_EQ(content_type_for("archive.tar.gz"), "application/octet-stream");
    EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
    EXPECT_EQ(content_type_for("html"), "application/octet-stream");
}

class StaticFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/sb_static_XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        root_ = base_ / "www";
        fs::create_directories(root_ / "sub" / "deeper");
        fs::create_directories(root_ / "noindex");
        fs::create_directories(base_ / "outside");
        write(root_ / "index.html", "<h1>home</h1>");
        write(root_ / "app.js", "console.log(1)");
        write(root_ / "a b.txt", "spaced");
        write(root_ / "sub" / "index.html", "sub index");
        write(root_ / "sub" / "style.css", "body{}");
        write(root_ / "sub" / "deeper" / "data.json", "{}");
        write(base_ / "outside" / "secret.txt", "secret");
        write(base_ / "www-evil.txt", "sibling with a common prefix");
        fs::create_symlink(base_ / "outside" / "secret.txt", root_ / "link-out.txt");
        fs::create_symlink(base_ / "outside", root_ / "dir-out");
        fs::create_symlink(root_ / "app.js", root_ / "link-in.js");
        fs::create_symlink(base_ / "www-evil.txt", root_ / "prefix-trick.txt");
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }
    static void write(const fs::path &p, const std::string &body) {
        std::ofstream f(p, std::ios::binary);
        f << body;
    }
    std::optional<std::string> body(const StaticFiles &s, std::string_view path) {
        auto f = s.lookup(path);
        if (!f)
            return std::nullopt;
        return f->body;
    }

    fs::path base_;
    fs::path root_;
};

TEST_F(StaticFilesTest, ServesFilesWithTypesAndEtags) {
    StaticFiles s(root_.string());
    EXPECT_TRUE(s.enabled());
    auto f = s.lookup("/app.js");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->body, "console.log(1)");
    EXPECT_EQ(f->content_type, "text/javascript; charset=utf-8");
    EXPECT_FALSE(f->etag.empty());
    EXPECT_EQ(f->etag.front(), '"');
    EXPECT_EQ(f->etag.back(), '"');
    EXPECT_EQ(body(s, "/sub/deeper/data.json"), "{}");
    EXPECT_EQ(s.lookup("/sub/style.css")->content_type, "text/css; charset=utf-8");
}

TEST_F(StaticFilesTest, IndexHtml) {
    StaticFiles s(root_.string());
    EXPECT_EQ(body(s, "/"), "<h1>home</h1>");
    EXPECT_EQ(s.lookup("/")->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(body(s, "/sub/"), "sub index");
    EXPECT_EQ(body(s, "/sub"), "sub index") << "a directory without the slash serves its index too";
    EXPECT_FALSE(s.lookup("/noindex/"));
    EXPECT_FALSE(s.lookup("/noindex"));
}

TEST_F(StaticFilesTest, PercentEncodedNames) {
    StaticFiles s(root_.string());
    EXPECT_EQ(body(s, "/a%20b.txt"), "spaced");
    EXPECT_EQ(body(s, "/%61pp.js"), "console.log(1)");
    EXPECT_FALSE(s.lookup("/a%2"));
    EXPECT_FALSE(s.lookup("/app.js%00.txt"));
}

TEST_F(StaticFilesTest, MissingAndInvalidPaths) {
    StaticFiles s(root_.string());
    EXPECT_FALSE(s.lookup("/nope.html"));
    EXPECT_FALSE(s.lookup(""));
    EXPECT_FALSE(s.lookup("app.js")) << "must start with '/'";
    EXPECT_FALSE(s.lookup("/app.js/"));
}

TEST_F(StaticFilesTest, TraversalIsRejected) {
    StaticFiles s(root_.string());
    for (const char *p : {"/../outside/secret.txt", "/sub/../../outside/secret.txt", "/..", "/../",
                          "/%2e%2e/outside/secret.txt", "/%2E%2E%2Foutside%2Fsecret.txt",
                          "/sub/%2e%2e/index.html", "/sub/..", "/../www-evil.txt"}) {
        EXPECT_FALSE(s.lookup(p)) << p;
    }
    // ".." inside a name is not a traversal.
    write(root_ / "a..b.txt", "dots");
    EXPECT_EQ(body(s, "/a..b.txt"), "dots");
    EXPECT_EQ(body(s, "/./app.js"), "console.log(1)") << "'.' segments stay inside the root";
}

TEST_F(StaticFilesTest, SymlinksOutsideTheRootAreRejected) {
    StaticFiles s(root_.string());
    EXPECT_FALSE(s.lookup("/link-out.txt"));
    EXPECT_FALSE(s.lookup("/dir-out/secret.txt"));
    EXPECT_FALSE(s.lookup("/prefix-trick.txt"))
        << "'/tmp/x/www-evil.txt' starts with the root's text";
    EXPECT_EQ(body(s, "/link-in.js"), "console.log(1)") << "links that stay inside are fine";
}

TEST_F(StaticFilesTest, RootGivenThroughASymlinkOrWithTrailingSlash) {
    fs::create_symlink(root_, base_ / "www-link");
    StaticFiles via_link((base_ / "www-link").string());
    EXPECT_EQ(body(via_link, "/app.js"), "console.log(1)");
    EXPECT_FALSE(via_link.lookup("/link-out.txt"));
    StaticFiles slash(root_.string() + "/");
    EXPECT_EQ(body(slash, "/app.js"), "console.log(1)");
}

TEST_F(StaticFilesTest, DisabledAndBadRoots) {
    StaticFiles off("");
    EXPECT_FALSE(off.enabled());
    EXPECT_FALSE(off.lookup("/index.html"));
    EXPECT_THROW(StaticFiles((base_ / "missing").string()), std::runtime_error);
    EXPECT_THROW(StaticFiles((root_ / "app.js").string()), std::runtime_error);
}

TEST_F(StaticFilesTest, SpecialFilesAreNotServed) {
    StaticFiles s(root_.string());
    fs::path fifo = root_ / "pipe";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(s.lookup("/pipe")) << "opening a FIFO would block the loop";
}

} // namespace
} // namespace switchboard::http
