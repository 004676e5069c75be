#include "agent/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace vitals::agent {
namespace {

TEST(Crc32cTest, MatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, MatchesKnownValuesOfLongInputs) {
  // From RFC 3720, B.4: 32 bytes of zeros, of 0xff, and ascending.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, ContinuesOverPieces) {
  const std::string text = "a spooled batch, checksummed in two pieces of odd lengths";
  for (size_t split = 0; split <= text.size(); ++split) {
    EXPECT_EQ(Crc32c(text.substr(split), Crc32c(text.substr(0, split))), Crc32c(text))
        << "split at " << split;
  }
}

}  // namespace
}  // namespace vitals::agent
