// Error bodies of Graph, Intune and the login endpoint (real samples in
// test/vectors/graph) and the error codes of the taxonomy.
#include "graph_error.h"

#include <gtest/gtest.h>

#include "error_record.h"
#include "test_util.h"

using namespace fetch;
using fetch::testing::read_vector;

TEST(GraphError, IntuneJsonInsideMessageEnvelopeIsUnwrapped) {
  GraphErrorInfo e = parse_error_body(read_vector("error_400_intune_nested_message_envelope.json"));
  ASSERT_TRUE(e.parsed);
  EXPECT_EQ(e.code, "BadRequest");
  EXPECT_EQ(e.message.rfind("An error has occurred - Operation ID (for customer support): ", 0), 0u)
      << e.message;
  EXPECT_NE(e.message.find("Activity ID: 36d08b49-8070-4064-adb1-ee88213899fb"), std::string::npos);
  EXPECT_EQ(e.message.find("_version"), std::string::npos);  // the wrapper is gone
  EXPECT_EQ(e.request_id, "36d08b49-8070-4064-adb1-ee88213899fb");
  EXPECT_EQ(e.client_request_id, "36d08b49-8070-4064-adb1-ee88213899fb");
}

TEST(GraphError, ForbiddenWithRequestIds) {
  GraphErrorInfo e = parse_error_body(read_vector("error_403_with_client_request_id.json"));
  EXPECT_EQ(e.code, "Authorization_RequestDenied");
  EXPECT_EQ(e.message, "Insufficient privileges to complete the operation.");
  EXPECT_EQ(e.request_id, "93b6f17e-c05d-4f45-ad2a-6665c708d8a0");
  EXPECT_EQ(e.client_request_id, "e70c5c1b-8b47-68c0-3171-3d22f5e0bd54");
}

TEST(GraphError, ThrottlingBodies) {
  GraphErrorInfo doc = parse_error_body(read_vector("error_429_throttling_doc.json"));
  EXPECT_EQ(doc.code, "TooManyRequests");
  EXPECT_EQ(doc.inner_code, "429");
  EXPECT_EQ(doc.message, "Please retry again later.");
  EXPECT_EQ(doc.request_id, "94fb3b52-452a-4535-a601-69e0a90e3aa2");
  GraphErrorInfo intune = parse_error_body(read_vector("error_429_intune_observed_msendpointmgr.json"));
  EXPECT_EQ(intune.code, "TooManyRequests");
  EXPECT_EQ(intune.request_id, "44be9ec1-489e-4282-8c72-a77f5b14b0cb");
  GraphErrorInfo sp = parse_error_body(read_vector("error_429_sharepoint_activityLimitReached.json"));
  EXPECT_EQ(sp.code, "activityLimitReached");
  EXPECT_EQ(sp.inner_code, "quota");  // innermost of the chain
  EXPECT_EQ(sp.request_id, "01c3bdb8-fbb1-4613-96ad-be961ba99e11");
}

TEST(GraphError, ExpiredToken) {
  GraphErrorInfo e = parse_error_body(read_vector("error_401_invalid_authentication_token.json"));
  EXPECT_EQ(e.code, "InvalidAuthenticationToken");
  EXPECT_EQ(e.message, "Access token has expired or is not yet valid.");
  EXPECT_TRUE(e.request_id.empty());
}

TEST(GraphError, OAuthErrorsFromTheLoginEndpoint) {
  GraphErrorInfo e = parse_error_body(read_vector("oauth_token_error_invalid_client_7000215.json"));
  ASSERT_TRUE(e.parsed);
  EXPECT_EQ(e.code, "invalid_client");
  EXPECT_EQ(e.inner_code, "AADSTS7000215");
  EXPECT_EQ(e.message.find("Trace ID"), std::string::npos);  // first line only
  EXPECT_NE(e.message.find("Invalid client secret provided"), std::string::npos);
  EXPECT_EQ(e.request_id, "654ce9b2-a626-4e0b-8598-0cac69970200");
  EXPECT_EQ(e.client_request_id, "5be327fc-93cb-4bef-ab4e-0373f11a8017");
  GraphErrorInfo s = parse_error_body(read_vector("oauth_token_error_invalid_scope.json"));
  EXPECT_EQ(s.code, "invalid_scope");
  EXPECT_EQ(s.inner_code, "AADSTS70011");
}

TEST(GraphError, NonJsonBodyKeepsABoundedExcerpt) {
  GraphErrorInfo e = parse_error_body("<html>" + std::string(5000, 'x'));
  EXPECT_FALSE(e.parsed);
  EXPECT_EQ(e.message.size(), 5006u);  // whole: the sink cuts it after the scrub
  GraphErrorInfo big = parse_error_body(std::string(kMaxParsedErrorBody + 10, '['));
  EXPECT_FALSE(big.parsed);
  EXPECT_EQ(big.message.size(), kMaxParsedErrorBody);
  EXPECT_FALSE(parse_error_body("").parsed);
  EXPECT_FALSE(parse_error_body("{\"error\":[1]}").parsed);
}

TEST(GraphError, StatusToTaxonomy) {
  EXPECT_STREQ(error_code_for_status(400), "graph_bad_request");
  EXPECT_STREQ(error_code_for_status(401), "graph_unauthorized");
  EXPECT_STREQ(error_code_for_status(403), "graph_forbidden");
  EXPECT_STREQ(error_code_for_status(404), "graph_not_found");
  EXPECT_STREQ(error_code_for_status(429), "graph_throttled");
  EXPECT_STREQ(error_code_for_status(503), "graph_unavailable");
  EXPECT_STREQ(error_code_for_status(504), "graph_unavailable");
  EXPECT_STREQ(error_code_for_status(500), "graph_server_error");
  EXPECT_STREQ(error_code_for_status(502), "graph_server_error");
  EXPECT_STREQ(error_code_for_status(409), "graph_bad_request");
}

TEST(ErrorRecord, JsonIsRedactedAndBounded) {
  ErrorRecord e;
  e.code = "graph_bad_request";
  e.policy_type = "deviceConfiguration";
  e.http_status = 400;
  e.graph_error_code = "BadRequest";
  e.request_id = "r";
  e.client_request_id = "c";
  e.message =
      "echo: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlMTIz and "
      "client_secret=Sup3rS3cret~value " +
      std::string(2000, 'y');
  e.attempts = 2;
  e.at = "2026-01-01T00:00:00Z";
  const auto j = e.to_json();
  const std::string msg = j["message"];
  EXPECT_EQ(msg.find("eyJhbGciOiJSUzI1NiJ9"), std::string::npos);
  EXPECT_EQ(msg.find("Sup3rS3cret"), std::string::npos);
  EXPECT_LE(msg.size(), kMaxErrorMessageChars);
  EXPECT_EQ(j["code"], "graph_bad_request");
  EXPECT_EQ(j["policy_type"], "deviceConfiguration");
  EXPECT_EQ(j["http_status"], 400);
  EXPECT_EQ(j["graph_error_code"], "BadRequest");
  EXPECT_EQ(j["request_id"], "r");
  EXPECT_EQ(j["client_request_id"], "c");
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_EQ(j["at"], "2026-01-01T00:00:00Z");
}

// A NUL (raw, or decoded from "\u0000" in an error body) in any field would
// make the whole list unacceptable to jsonb, and finish_sync_run fail.
TEST(ErrorRecord, NulCharactersAreDropped) {
  ErrorRecord e;
  e.code = "graph_bad_response";
  e.graph_error_code = std::string("Bad\0Code", 8);
  e.request_id = std::string("r\0", 2);
  e.client_request_id = std::string("\0c", 2);
  e.message = std::string("body: {\"name\":\"a") + '\0' + "b\"}";
  const std::string dumped = e.to_json().dump();
  EXPECT_EQ(dumped.find("\\u0000"), std::string::npos) << dumped;
  EXPECT_EQ(e.to_json()["graph_error_code"], "BadCode");
  EXPECT_EQ(e.to_json()["request_id"], "r");
  EXPECT_EQ(e.to_json()["client_request_id"], "c");
  EXPECT_NE(e.to_json()["message"].get<std::string>().find("ab"), std::string::npos);
}

TEST(ErrorRecord, MultibyteMessageCutOnCharacterBoundary) {
  std::string s;
  for (int i = 0; i < 600; ++i) s += "\xC3\xA9";  // é
  const std::string out = safe_message(s);
  EXPECT_EQ(out.size(), 2 * kMaxErrorMessageChars);
}
