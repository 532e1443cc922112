// SHA-256 against the FIPS 180-2 / NIST example vectors.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "sha256.h"

namespace {

using tinv::sha256;
using tinv::sha256_hex;

TEST(Sha256, FipsVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, BinaryInputAndDigestBytes) {
  const std::string with_nul("a\0b", 3);
  EXPECT_NE(sha256_hex(with_nul), sha256_hex("ab"));
  const auto d = sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[31], 0xad);
  EXPECT_EQ(tinv::to_hex(d.data(), d.size()), sha256_hex("abc"));
}

TEST(Sha256, ToHex) {
  const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(tinv::to_hex(bytes, sizeof bytes), "00017f80abff");
  EXPECT_EQ(tinv::to_hex(bytes, 0), "");
}

// The per-thread context is reused: interleaved and repeated calls stay
// independent, also across threads.
TEST(Sha256, ReusedContextAcrossCallsAndThreads) {
  const std::string abc = sha256_hex("abc");
  const std::string empty = sha256_hex("");
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(sha256_hex("abc"), abc);
    ASSERT_EQ(sha256_hex(""), empty);
  }
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      int good = 0;
      for (int i = 0; i < 2000; ++i) good += (sha256_hex(i % 2 ? "abc" : "") == (i % 2 ? abc : empty));
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 2000);
}

}  // namespace
