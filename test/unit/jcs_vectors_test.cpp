// The public RFC 8785 (JCS) test vectors in test/vectors/jcs.
//
// JCS keeps array order, our canonical form sorts arrays as sets. The
// expected side is derived from the published output text without using the
// canonicalizer: arrays of scalars (no nested arrays, objects or strings) are
// re-ordered textually by sorting their element texts; every other array must
// already be in canonical order. Key order, string escaping and number
// serialization are therefore compared byte for byte.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "canonical_nlohmann.h"

namespace {

namespace fs = std::filesystem;

const fs::path kJcsDir = fs::path(TINV_TEST_VECTORS_DIR) / "jcs";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Sorts (as sets) the flat arrays of canonical JSON text whose elements are
// numbers or literals: '[' ... ']' spans without '[', '{' or '"' inside.
// Those element texts are ASCII, where UTF-16 order is byte order.
std::string sort_flat_scalar_arrays(const std::string& text) {
  std::string out;
  size_t i = 0;
  bool in_string = false;
  while (i < text.size()) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\') {
        out.push_back(text[i + 1]);
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '[') {
      const size_t close = text.find_first_of("[]{\"", i + 1);
      if (close != std::string::npos && text[close] == ']') {
        std::vector<std::string> items;
        std::string body = text.substr(i + 1, close - i - 1);
        if (!body.empty()) {
          size_t start = 0;
          for (;;) {
            const size_t comma = body.find(',', start);
            items.push_back(body.substr(start, comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
        }
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
        out.push_back('[');
        for (size_t k = 0; k < items.size(); ++k) {
          if (k) out.push_back(',');
          out += items[k];
        }
        out.push_back(']');
        i = close + 1;
        continue;
      }
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

TEST(JcsVectors, HelperSortsOnlyFlatScalarArrays) {
  EXPECT_EQ(sort_flat_scalar_arrays(R"({"a":[null,true,false],"b":[56,{"x":[2,1]}]})"),
            R"({"a":[false,null,true],"b":[56,{"x":[1,2]}]})");
  EXPECT_EQ(sort_flat_scalar_arrays(R"({"s":"[3,2]","n":[3,2,3]})"), R"({"s":"[3,2]","n":[2,3]})");
}

std::vector<std::string> vector_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kJcsDir / "input"))
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(JcsVectors, AllPresent) {
  const auto names = vector_names();
  EXPECT_EQ(names, (std::vector<std::string>{"arrays.json", "french.json", "structures.json",
                                             "unicode.json", "values.json", "weird.json"}));
}

class JcsVector : public ::testing::TestWithParam<std::string> {};

TEST_P(JcsVector, MatchesExpectedOutput) {
  const std::string name = GetParam();
  const std::string input = read_file(kJcsDir / "input" / name);
  const std::string published = trim_trailing_newlines(read_file(kJcsDir / "output" / name));
  ASSERT_FALSE(input.empty());
  ASSERT_FALSE(published.empty());
  const std::string expected = sort_flat_scalar_arrays(published);
  const std::string actual = tinv::canonical_json(nlohmann::json::parse(input));
  EXPECT_EQ(actual, expected);
  // Documents whose arrays are already sets in canonical order are byte-identical to JCS.
  if (expected == published) {
    EXPECT_EQ(actual, published);
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc8785, JcsVector,
                         ::testing::Values("arrays.json", "french.json", "structures.json",
                                           "unicode.json", "values.json", "weird.json"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           return param_info.param.substr(0, param_info.param.find('.'));
                         });

// The values vector with the array rule spelled out: literals and numbers
// reordered by their canonical text.
TEST(JcsVectors, ValuesWithSortedArrays) {
  const std::string input = read_file(kJcsDir / "input" / "values.json");
  EXPECT_EQ(tinv::canonical_json(nlohmann::json::parse(input)),
            "{\"literals\":[false,null,true],"
            "\"numbers\":[0.002,1e+30,1e-27,333333333.3333333,4.5],"
            "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

}  // namespace
