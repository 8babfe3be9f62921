#include "client/file_transfer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace switchboard::client;

TEST(FileTransferMessages, MetaRoundTripsAndBadOnesAreRefusedWithAReason) {
    FileMeta m{"report \"final\".pdf", "application/pdf", std::string(64, 'a'), 123456789};
    FileMeta back;
    ASSERT_EQ(parse_meta(encode_meta(m), back), "");
    EXPECT_EQ(back.name, m.name);
    EXPECT_EQ(back.type, m.type);
    EXPECT_EQ(back.size, m.size);
    EXPECT_EQ(back.sha256, m.sha256);
    // What the browser SDK sends.
    ASSERT_EQ(parse_meta(R"({"t":"meta","name":"a.bin","size":0,"type":"","sha256":")" + std::string(64, 'f') + "\"}", back), "");
    EXPECT_EQ(back.size, 0u);
    for (const std::string& bad : std::vector<std::string>{"nope", "{\"t\":\"ack\"}", "{\"t\":\"meta\",\"sha256\":\"" + std::string(64, 'a') + "\"}",
                                  "{\"t\":\"meta\",\"size\":-1,\"sha256\":\"" + std::string(64, 'a') + "\"}",
                                  "{\"t\":\"meta\",\"size\":1,\"sha256\":\"xyz\"}",
                                  "{\"t\":\"meta\",\"size\":2000000000000,\"sha256\":\"" + std::string(64, 'a') + "\"}"}) {
        FileMeta x;
        EXPECT_NE(parse_meta(bad, x), "") << bad;
    }
}

TEST(FileTransferMessages, AckAndCancel) {
    const FileControl ack = parse_control(encode_ack(true, "abc"));
    EXPECT_EQ(ack.kind, FileControl::Kind::Ack);
    EXPECT_TRUE(ack.ok);
    EXPECT_EQ(ack.sha256, "abc");
    EXPECT_EQ(parse_control(encode_cancel()).kind, FileControl::Kind::Cancel);
    EXPECT_EQ(parse_control("garbage").kind, FileControl::Kind::Other);
}

TEST(FileTransferMessages, NamesFromPeersCannotLeaveTheDirectory) {
    EXPECT_EQ(safe_file_name("../../etc/passwd"), "passwd");
    EXPECT_EQ(safe_file_name("C:\\Users\\x\\evil.exe"), "evil.exe");
    EXPECT_EQ(safe_file_name(".bashrc"), "bashrc");
    EXPECT_EQ(safe_file_name(".."), "file");
    EXPECT_EQ(safe_file_name(""), "file");
    EXPECT_EQ(safe_file_name("a\nb\x01.txt"), "ab.txt");
    EXPECT_EQ(safe_file_name(std::string(300, 'x')).size(), 255u);
    const std::string cut = safe_file_name(std::string(254, 'x') + "\xC3\xA9\xC3\xA9"); // é at the cut
    EXPECT_EQ(cut, std::string(254, 'x'));
}

TEST(FileTransferMessages, Sha256OfKnownInputs) {
    Sha256 h;
    EXPECT_EQ(h.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const std::string abc = "abc";
    h.update({reinterpret_cast<const std::uint8_t*>(abc.data()), abc.size()});
    EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(new_transfer_id().size(), 16u);
}
