// The manifest (docs/design.md §10): row fingerprints, the compact set of
// known items, and reading its COPY text.
#include "manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "copy_format.h"

using namespace fetch;

namespace {

RowFingerprint fp_of(const std::string& name, const std::string& meta = "{}",
                     const std::string& hash = std::string(64, 'a')) {
  return row_fingerprint("salt", name, meta, hash);
}

}  // namespace

TEST(RowFingerprint, EveryFieldCounts) {
  const RowFingerprint base = fp_of("Policy");
  EXPECT_EQ(base, fp_of("Policy"));
  EXPECT_NE(base, fp_of("Policy "));
  EXPECT_NE(base, fp_of("Policy", R"({"version":"2"})"));
  EXPECT_NE(base, fp_of("Policy", "{}", std::string(64, 'b')));
  EXPECT_NE(base, row_fingerprint("other salt", std::string("Policy"), "{}", std::string(64, 'a')));
  // NULL is not the empty string, nor a string that spells a marker.
  EXPECT_NE(row_fingerprint("salt", std::nullopt, "{}", "h"), row_fingerprint("salt", std::string(), "{}", "h"));
  EXPECT_NE(row_fingerprint("salt", std::nullopt, "{}", "h"), row_fingerprint("salt", std::string("N"), "{}", "h"));
  // Moving bytes between fields changes it (fields are length-prefixed).
  EXPECT_NE(row_fingerprint("salt", std::string("ab"), "c", "h"), row_fingerprint("salt", std::string("a"), "bc", "h"));
}

TEST(RowFingerprint, HexRoundTripsAndRejectsOtherText) {
  const RowFingerprint fp = fp_of("x");
  const std::string hex = fp.hex();
  ASSERT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  ASSERT_TRUE(RowFingerprint::parse(hex));
  EXPECT_EQ(*RowFingerprint::parse(hex), fp);
  EXPECT_FALSE(RowFingerprint::parse(hex.substr(1)));
  EXPECT_FALSE(RowFingerprint::parse(hex + "0"));
  EXPECT_FALSE(RowFingerprint::parse(std::string(31, '0') + "g"));
}

TEST(Manifest, MatchesOnlyTheSameKeyWithTheSameFingerprint) {
  Manifest m(42);
  for (int i = 0; i < 5000; ++i) m.add("deviceConfiguration", "id-" + std::to_string(i), fp_of(std::to_string(i)));
  m.add("configurationPolicy", "id-1", fp_of("cp"));
  m.seal();
  EXPECT_EQ(m.size(), 5001u);
  EXPECT_TRUE(m.matches("deviceConfiguration", "id-1", fp_of("1")));
  EXPECT_TRUE(m.matches("deviceConfiguration", "id-4999", fp_of("4999")));
  EXPECT_TRUE(m.matches("configurationPolicy", "id-1", fp_of("cp")));
  EXPECT_FALSE(m.matches("deviceConfiguration", "id-1", fp_of("2")));      // changed row
  EXPECT_FALSE(m.matches("configurationPolicy", "id-2", fp_of("2")));      // other type
  EXPECT_FALSE(m.matches("deviceConfiguration", "id-5000", fp_of("5000")));  // new item
  // The type and the id do not run together.
  EXPECT_FALSE(m.matches("deviceConfigurationi", "d-1", fp_of("1")));
}

TEST(Manifest, KnowsWhenAListingNamedEveryItemOfAType) {
  Manifest m(7);
  m.add("deviceConfiguration", "a", fp_of("A"));
  m.add("deviceConfiguration", "b", fp_of("B"));
  m.add("mobileApp", "x", fp_of("X"));
  m.seal();
  // A type the manifest holds nothing of: nothing of it can go absent.
  EXPECT_TRUE(m.all_listed("configurationPolicy"));
  EXPECT_FALSE(m.all_listed("deviceConfiguration"));
  // Listed with a new fingerprint (changed) still counts as listed; a
  // repeated listing of one item does not stand in for another.
  EXPECT_FALSE(m.observe("deviceConfiguration", "a", fp_of("A renamed")));
  EXPECT_TRUE(m.observe("deviceConfiguration", "a", fp_of("A")));
  EXPECT_FALSE(m.all_listed("deviceConfiguration"));
  // An item of another type with the same id is another item.
  m.observe("mobileApp", "b", fp_of("B"));
  EXPECT_FALSE(m.all_listed("deviceConfiguration"));
  EXPECT_TRUE(m.observe("deviceConfiguration", "b", fp_of("B")));
  EXPECT_TRUE(m.all_listed("deviceConfiguration"));
  EXPECT_FALSE(m.all_listed("mobileApp"));
  // matches() alone marks nothing.
  EXPECT_TRUE(m.matches("mobileApp", "x", fp_of("X")));
  EXPECT_FALSE(m.all_listed("mobileApp"));
}

TEST(Manifest, StaysWithinTheMemoryBudgetPerItem) {
  // The issue's bound: at most 64 bytes per known item once read.
  Manifest m(7);
  const int n = 100000;
  for (int i = 0; i < n; ++i) m.add("t", std::to_string(i), fp_of(std::to_string(i)));
  m.seal();
  EXPECT_LE(m.bytes(), static_cast<size_t>(n) * 64);
  EXPECT_LE(m.bytes(), static_cast<size_t>(n) * 25 + 64);
}

TEST(Manifest, UnsealedMatchesNothing) {
  Manifest m(1);
  m.add("t", "a", fp_of("a"));
  EXPECT_FALSE(m.matches("t", "a", fp_of("a")));
  m.seal();
  EXPECT_TRUE(m.matches("t", "a", fp_of("a")));
}

TEST(ManifestLine, ReadsCopyTextWithEscapes) {
  Manifest m(3);
  std::string st, si;
  const RowFingerprint fp = fp_of("x");
  // An id with a tab, a newline and a backslash, as COPY TO writes it.
  std::string line;
  append_key_row(line, "deviceConfiguration", "a\tb\nc\\d", fp);
  ASSERT_TRUE(add_manifest_line(m, line, st, si));
  EXPECT_EQ(si, "a\tb\nc\\d");
  EXPECT_FALSE(add_manifest_line(m, "deviceConfiguration\tid\n", st, si));                  // two fields
  EXPECT_FALSE(add_manifest_line(m, "deviceConfiguration\tid\tnothex\n", st, si));          // bad fingerprint
  EXPECT_FALSE(add_manifest_line(m, "\\N\tid\t" + fp.hex() + "\n", st, si));                // NULL type
  EXPECT_FALSE(add_manifest_line(m, "t\tid\t" + fp.hex() + "\textra\n", st, si));          // four fields
  m.seal();
  EXPECT_EQ(m.size(), 1u);
  EXPECT_TRUE(m.matches("deviceConfiguration", "a\tb\nc\\d", fp));
}

TEST(ManifestLine, UnescapesEveryCopyEscape) {
  std::string out;
  ASSERT_TRUE(copy_unescape("a\\\\b\\tc\\nd\\re\\bf\\fg\\vh\\101\\x41\\z", out));
  EXPECT_EQ(out, std::string("a\\b\tc\nd\re\bf\fg\vhAAz"));
  EXPECT_FALSE(copy_unescape("\\N", out));
}
