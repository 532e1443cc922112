// Meta whitelist value rules: kinds, character counts, timestamps.
#include <gtest/gtest.h>

#include <string>

#include "meta_rules.h"

namespace {

using tinv::is_iso8601_timestamp;
using tinv::MetaKind;
using tinv::parse_meta_kind;
using tinv::utf8_length;

TEST(MetaKind, ParsesTheFiveKinds) {
  EXPECT_EQ(parse_meta_kind("string"), MetaKind::String);
  EXPECT_EQ(parse_meta_kind("number"), MetaKind::Number);
  EXPECT_EQ(parse_meta_kind("boolean"), MetaKind::Boolean);
  EXPECT_EQ(parse_meta_kind("string_array"), MetaKind::StringArray);
  EXPECT_EQ(parse_meta_kind("timestamp"), MetaKind::Timestamp);
}

TEST(MetaKind, AnythingElseIsUnknown) {
  for (const char* k : {"", "String", "STRING", "strings", "string ", " string", "bool", "int",
                        "array", "string-array", "date", "timestamptz"}) {
    EXPECT_EQ(parse_meta_kind(k), MetaKind::Unknown) << k;
  }
  EXPECT_EQ(parse_meta_kind(std::string_view("string\0", 7)), MetaKind::Unknown);
}

TEST(Utf8Length, CountsCodePoints) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("\xc3\xa9"), 1u);                      // é
  EXPECT_EQ(utf8_length("\xe2\x82\xac"), 1u);                  // €
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80"), 1u);              // U+1F600
  EXPECT_EQ(utf8_length("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5u);
  EXPECT_EQ(utf8_length(std::string_view("a\0b", 3)), 3u);
  EXPECT_EQ(utf8_length(std::string(1024, 'x')), 1024u);
  std::string euros;
  for (int i = 0; i < 1024; ++i) euros += "\xe2\x82\xac";
  EXPECT_EQ(utf8_length(euros), 1024u);  // 3072 bytes, still within a 1024-char limit
}

TEST(Timestamp, GraphShapes) {
  for (const char* ts : {
           "2017-01-01T00:02:43.5775965-08:00",  // deviceConfigurations createdDateTime
           "2022-03-15T13:50:50Z",
           "2022-03-15T13:50:50.1Z",
           "2022-03-15T13:50:50.123456789012Z",
           "2022-03-15T13:50:50",  // innerError.date: no zone
           "2022-03-15T13:50:50.5",
           "2022-03-15T13:50Z",
           "2022-03-15T13:50",
           "2022-03-15T13:50:50+14:00",
           "2022-03-15T13:50:50-12:00",
           "2022-03-15T13:50:50+05:30",
           "2022-03-15",
           "0001-01-01T00:00:00Z",  // Graph's "never"
           "9999-12-31T23:59:59.9999999Z",
           "2022-12-31T23:59:59Z",
       }) {
    EXPECT_TRUE(is_iso8601_timestamp(ts)) << ts;
  }
}

TEST(Timestamp, CalendarRules) {
  EXPECT_TRUE(is_iso8601_timestamp("2024-02-29T00:00:00Z"));   // divisible by 4
  EXPECT_TRUE(is_iso8601_timestamp("2000-02-29"));             // divisible by 400
  EXPECT_FALSE(is_iso8601_timestamp("2023-02-29T00:00:00Z"));  // not a leap year
  EXPECT_FALSE(is_iso8601_timestamp("1900-02-29"));            // century, not by 400
  EXPECT_FALSE(is_iso8601_timestamp("2024-02-30"));
  EXPECT_TRUE(is_iso8601_timestamp("2023-02-28"));
  EXPECT_TRUE(is_iso8601_timestamp("2023-01-31"));
  EXPECT_TRUE(is_iso8601_timestamp("2023-03-31"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-04-31"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-06-31"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-09-31"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-11-31"));
  EXPECT_TRUE(is_iso8601_timestamp("2023-12-31"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-13-01"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-00-10"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-01-00"));
  EXPECT_FALSE(is_iso8601_timestamp("2023-01-32"));
  EXPECT_FALSE(is_iso8601_timestamp("0000-01-01"));
}

TEST(Timestamp, TimeAndZoneRanges) {
  for (const char* ts : {
           "2022-03-15T24:00:00Z", "2022-03-15T23:60:00Z", "2022-03-15T23:59:60Z",
           "2022-03-15T13:50:50+16:00", "2022-03-15T13:50:50+05:60", "2022-03-15T13:50:50+0800",
           "2022-03-15T13:50:50+08", "2022-03-15T13:50:50.Z", "2022-03-15T13:50:50.",
           "2022-03-15T13:5", "2022-03-15T13", "2022-03-15T", "2022-03-15T13:50:50ZZ",
           "2022-03-15T13:50:50Z+01:00", "2022-03-15T1:50:50Z",
       }) {
    EXPECT_FALSE(is_iso8601_timestamp(ts)) << ts;
  }
}

TEST(Timestamp, NotTimestamps) {
  for (const char* ts : {
           "", "not a date", "2022-3-15", "22-03-15", "20220315", "2022/03/15", "2022-03-15 13:50:50Z",
           "2022-03-15t13:50:50Z", "2022-03-15T13:50:50z", " 2022-03-15", "2022-03-15 ",
           "2022-03-15T13:50:50Z ", "+2022-03-15", "-2022-03-15", "12022-03-15",
           "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x92-03-15",  // fullwidth digits
           "2022-03-15T13:50:50.5775965-08:00:00", "true", "1647352250",
       }) {
    EXPECT_FALSE(is_iso8601_timestamp(ts)) << ts;
  }
  EXPECT_FALSE(is_iso8601_timestamp(std::string_view("2022-03-15\0", 11)));
  EXPECT_FALSE(is_iso8601_timestamp(std::string_view("2022-03-15T13:50:50Z\0", 21)));
}

}  // namespace
