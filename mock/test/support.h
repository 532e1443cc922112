// Test fixture: an in-process mock server on a free port plus small HTTP helpers.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "config.h"
#include "server.h"

namespace tinv::mock::test {

using nlohmann::json;

struct Reply {
  bool ok = false;  // a complete HTTP response arrived
  int status = 0;
  std::string body;
  httplib::Headers headers;
  std::string header(const std::string &name) const;
  json body_json() const;
};

class MockFixture : public ::testing::Test {
 public:
  // Override to change the configuration before the server starts.
  virtual void configure(Config &) {}

  void SetUp() override;
  void TearDown() override;

  void restart(const Config &config);
  int port() const { return server_->port(); }
  int foreign_port() const { return server_->foreign_port(); }
  const std::string &tenant() const { return tenant_; }

  std::unique_ptr<httplib::Client> client(int timeout_s = 10) const;

  // A fresh access token for the tenant (client secret flow).
  std::string token_for(const std::string &tenant) const;
  Reply post_form(const std::string &path, const std::string &form,
                  const httplib::Headers &headers = {}) const;
  // GET of a path (or an absolute http://127.0.0.1:port/... URL) with a bearer token.
  Reply get(const std::string &path_or_url, const std::string &token = "",
            httplib::Headers headers = {}) const;
  Reply admin_get(const std::string &path) const;
  Reply admin_post(const std::string &path, const json &body) const;
  void set_faults(const json &rules) const;

  Config config_;
  std::unique_ptr<MockServer> server_;
  std::string tenant_;
};

// Path+query of an absolute URL on this host ("http://h:p/x?y" -> "/x?y").
std::string path_of(const std::string &url);

// All items of a listing, following @odata.nextLink byte for byte. Fails the test on
// any non-200 page. Returns the items in order; pages receives the page count.
std::vector<json> walk(const MockFixture &fx, const std::string &first_url,
                       const std::string &token, int *pages = nullptr);

// A fresh private directory under the system temp directory.
std::string make_temp_dir(const std::string &prefix);

// Raw HTTP/1.1 exchange over a plain socket: returns everything the server sent
// until it closed the connection (or timeout_ms passed).
std::string raw_exchange(int port, const std::string &request, int timeout_ms = 5000);

}  // namespace tinv::mock::test
