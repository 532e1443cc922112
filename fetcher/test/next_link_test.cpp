// nextLink validation (which URLs may receive the bearer token) and loop
// detection.
#include "next_link.h"

#include <gtest/gtest.h>

using namespace fetch;

namespace {

GraphBase base(const char* url) {
  auto b = parse_graph_base(url);
  EXPECT_TRUE(b.has_value()) << url;
  return *b;
}

}  // namespace

TEST(UrlOrigin, ParsesSchemeHostPortPathQuery) {
  auto o = parse_url_origin("HTTPS://Graph.Microsoft.com/beta/x?$skiptoken=a%253d");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->scheme, "https");
  EXPECT_EQ(o->host, "graph.microsoft.com");
  EXPECT_EQ(o->port, 443);
  EXPECT_EQ(o->path, "/beta/x");
  EXPECT_EQ(o->query, "$skiptoken=a%253d");
  o = parse_url_origin("http://127.0.0.1:8080");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 8080);
  EXPECT_EQ(o->path, "");
  o = parse_url_origin("http://[::1]:9/v1.0/a");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "[::1]");
}

TEST(UrlOrigin, RejectsAmbiguousOrForeignShapes) {
  for (const char* bad :
       {"ftp://graph.microsoft.com/beta/x", "//graph.microsoft.com/beta",
        "https://user:pw@graph.microsoft.com/beta/x", "https://graph.microsoft.com@evil.example/beta/x",
        "https://evil.example\\@graph.microsoft.com/beta/x", "https://graph.microsoft.com/beta/x#frag",
        "https://graph.microsoft.com/be ta", "https://graph.microsoft.com:/beta",
        "https://graph.microsoft.com:99999/beta", "https://graph.microsoft.com%2eevil.example/beta",
        "https:///beta", "https://graph.microsoft.com\t/beta", "/beta/x?$skiptoken=1"}) {
    EXPECT_FALSE(parse_url_origin(bad).has_value()) << bad;
  }
}

TEST(FirstPage, JoinsBaseVersionAndPath) {
  GraphBase b = base("https://graph.microsoft.com/");
  EXPECT_EQ(first_page_url(b, "beta", "deviceManagement/configurationPolicies", 0),
            "https://graph.microsoft.com/beta/deviceManagement/configurationPolicies");
  EXPECT_EQ(first_page_url(b, "v1.0", "/deviceManagement/deviceConfigurations", 100),
            "https://graph.microsoft.com/v1.0/deviceManagement/deviceConfigurations?$top=100");
  GraphBase p = base("http://127.0.0.1:8080/graph");
  EXPECT_EQ(first_page_url(p, "beta", "a/b", 0), "http://127.0.0.1:8080/graph/beta/a/b");
}

TEST(ItemUrl, OneEncodedSegmentUnderTheCollection) {
  GraphBase b = base("https://graph.microsoft.com/");
  EXPECT_EQ(
      item_url(b, "beta", "deviceManagement/deviceConfigurations", "0b7d2a1e-0000-4000-8000-00000000abcd"),
      "https://graph.microsoft.com/beta/deviceManagement/deviceConfigurations/"
      "0b7d2a1e-0000-4000-8000-00000000abcd");
  EXPECT_EQ(item_url(b, "v1.0", "/a/b", "x_Windows10~1.2"),
            "https://graph.microsoft.com/v1.0/a/b/x_Windows10~1.2");
  // Everything but the unreserved characters is encoded: the id can never
  // add a segment, a query or a fragment.
  EXPECT_EQ(item_url(b, "beta", "a", "../x?$expand=y#z %2f\xc3\xa9"),
            "https://graph.microsoft.com/beta/a/..%2Fx%3F%24expand%3Dy%23z%20%252f%C3%A9");
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string(1025, 'a')}) {
    EXPECT_FALSE(item_url(b, "beta", "a", bad)) << bad;
  }
  EXPECT_TRUE(item_url(b, "beta", "a", std::string(1024, 'a')));
}

TEST(NextLink, AcceptsSameOriginAndVersion) {
  GraphBase b = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(b, "beta",
                            "https://graph.microsoft.com/beta/deviceManagement/configurationPolicies?"
                            "$skiptoken=Q3VycmVudFBhZ2U9MiUyNmxhc3RJZD1hYmM%253d"),
            LinkVerdict::Ok);
  // Default port spelled out, host case: still the same origin.
  EXPECT_EQ(check_next_link(b, "beta", "https://GRAPH.microsoft.com:443/beta/x?$skiptoken=1"),
            LinkVerdict::Ok);
}

TEST(NextLink, RefusesOtherScheme) {
  GraphBase b = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(b, "beta", "http://graph.microsoft.com/beta/x?$skiptoken=1"),
            LinkVerdict::OtherScheme);
}

TEST(NextLink, RefusesOtherHostOrPort) {
  GraphBase b = base("http://127.0.0.1:41000");
  EXPECT_EQ(check_next_link(b, "beta", "http://127.0.0.1:41001/beta/x"), LinkVerdict::OtherHost);
  EXPECT_EQ(check_next_link(b, "beta", "http://localhost:41000/beta/x"), LinkVerdict::OtherHost);
  EXPECT_EQ(check_next_link(b, "beta", "http://127.0.0.1/beta/x"), LinkVerdict::OtherHost);
  GraphBase g = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(g, "beta", "https://graph.microsoft.com.evil.example/beta/x"),
            LinkVerdict::OtherHost);
  EXPECT_EQ(check_next_link(g, "beta", "https://graph.microsoft.com:8443/beta/x"), LinkVerdict::OtherHost);
  EXPECT_EQ(check_next_link(g, "beta", "https://graph.microsoft.com@evil.example/beta/x"),
            LinkVerdict::Malformed);
}

TEST(NextLink, RefusesOtherApiVersion) {
  GraphBase b = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/v1.0/x?$skiptoken=1"),
            LinkVerdict::OtherApiVersion);
  EXPECT_EQ(check_next_link(b, "v1.0", "https://graph.microsoft.com/beta/x"), LinkVerdict::OtherApiVersion);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/betax/x"), LinkVerdict::OtherApiVersion);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta"), LinkVerdict::OtherApiVersion);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com?x=/beta/"), LinkVerdict::OtherApiVersion);
  GraphBase p = base("http://127.0.0.1:8080/graph");
  EXPECT_EQ(check_next_link(p, "beta", "http://127.0.0.1:8080/beta/x"), LinkVerdict::OtherApiVersion);
  EXPECT_EQ(check_next_link(p, "beta", "http://127.0.0.1:8080/graph/beta/x"), LinkVerdict::Ok);
}

TEST(NextLink, RefusesDotSegmentsThatCouldSwitchVersion) {
  GraphBase b = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta/../v1.0/x"),
            LinkVerdict::DotSegments);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta/%2e%2E/v1.0/x"),
            LinkVerdict::DotSegments);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta/./x"), LinkVerdict::DotSegments);
  // Dots inside a segment are fine.
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta/a..b/x.y"), LinkVerdict::Ok);
}

TEST(NextLink, RefusesMalformed) {
  GraphBase b = base("https://graph.microsoft.com");
  EXPECT_EQ(check_next_link(b, "beta", "/beta/x?$skiptoken=1"), LinkVerdict::Malformed);
  EXPECT_EQ(check_next_link(b, "beta", "https://graph.microsoft.com/beta/x y"), LinkVerdict::Malformed);
  EXPECT_EQ(check_next_link(b, "beta", ""), LinkVerdict::Malformed);
}

TEST(LoopDetector, SeesRepeatsByteForByte) {
  LoopDetector d;
  EXPECT_TRUE(d.first_visit("https://g/beta/x?$skiptoken=a%253d"));
  EXPECT_TRUE(d.first_visit("https://g/beta/x?$skiptoken=a%3d"));  // different bytes, different page
  EXPECT_TRUE(d.first_visit("https://g/beta/x?$skiptoken=b"));
  EXPECT_FALSE(d.first_visit("https://g/beta/x?$skiptoken=a%253d"));
  EXPECT_EQ(d.size(), 3u);
}

TEST(GraphPath, OnlyPlainResourcePaths) {
  EXPECT_TRUE(is_plain_graph_path("deviceManagement/deviceConfigurations"));
  EXPECT_TRUE(is_plain_graph_path("/identity/conditionalAccess/policies"));
  for (const char* bad :
       {"", "/", "deviceManagement/deviceConfigurations?$expand=assignments",
        "deviceManagement/deviceManagementScripts?$select=scriptContent",
        "deviceManagement/deviceConfigurations/x/getOmaSettingPlainTextValue(secretReferenceValueId='1')",
        "deviceManagement/../users", "deviceManagement//x", "deviceManagement/x/", "deviceManagement/x#y",
        "deviceManagement/x y", "https://evil.example/x"}) {
    EXPECT_FALSE(is_plain_graph_path(bad)) << bad;
  }
}
