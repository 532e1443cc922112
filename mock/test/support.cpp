#include "support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <vector>

namespace tinv::mock::test {

std::string Reply::header(const std::string &name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

json Reply::body_json() const {
  json j = json::parse(body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << body.substr(0, 300);
  return j;
}

namespace {
Reply to_reply(const httplib::Result &r) {
  Reply out;
  if (!r) return out;
  out.ok = true;
  out.status = r->status;
  out.body = r->body;
  out.headers = r->headers;
  return out;
}
}  // namespace

void MockFixture::SetUp() {
  config_ = Config{};
  config_.tenants = 2;
  config_.tenant_seed = "unit-test";
  config_.threads = 64;
  configure(config_);
  restart(config_);
}

void MockFixture::TearDown() {
  if (server_) server_->stop();
}

void MockFixture::restart(const Config &config) {
  if (server_) server_->stop();
  server_ = std::make_unique<MockServer>(config);
  std::string error;
  ASSERT_TRUE(server_->start(error)) << error;
  Reply r = admin_get("/_mock/tenants");
  ASSERT_EQ(r.status, 200);
  json tenants = r.body_json()["tenants"];
  tenant_ = tenants.empty() ? std::string() : tenants[0].get<std::string>();
}

std::unique_ptr<httplib::Client> MockFixture::client(int timeout_s) const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
  c->set_url_encode(false);
  c->set_connection_timeout(5);
  c->set_read_timeout(timeout_s);
  c->set_write_timeout(timeout_s);
  return c;
}

std::string MockFixture::token_for(const std::string &tenant) const {
  Reply r = post_form(
      "/" + tenant + "/oauth2/v2.0/token",
      "client_id=11111111-2222-3333-4444-555555555555&client_secret=" + config_.client_secret +
          "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type=client_credentials");
  EXPECT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("access_token")) return "";
  return j["access_token"].get<std::string>();
}

Reply MockFixture::post_form(const std::string &path, const std::string &form,
                             const httplib::Headers &headers) const {
  return to_reply(client()->Post(path.c_str(), headers, form, "application/x-www-form-urlencoded"));
}

std::string path_of(const std::string &url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) return url;
  size_t start = url.find("//") + 2;
  size_t slash = url.find('/', start);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

Reply MockFixture::get(const std::string &path_or_url, const std::string &token,
                       httplib::Headers headers) const {
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  return to_reply(client()->Get(path_of(path_or_url).c_str(), headers));
}

Reply MockFixture::admin_get(const std::string &path) const {
  return to_reply(client()->Get(path.c_str()));
}

Reply MockFixture::admin_post(const std::string &path, const json &body) const {
  return to_reply(client()->Post(path.c_str(), body.dump(), "application/json"));
}

void MockFixture::set_faults(const json &rules) const {
  Reply r = admin_post("/_mock/faults", rules);
  ASSERT_EQ(r.status, 200) << r.body;
}

std::vector<json> walk(const MockFixture &fx, const std::string &first_url,
                       const std::string &token, int *pages) {
  std::vector<json> items;
  std::string url = first_url;
  int n = 0;
  while (!url.empty() && n < 100000) {
    Reply r = fx.get(url, token);
    EXPECT_EQ(r.status, 200) << url << " -> " << r.body.substr(0, 300);
    if (r.status != 200) break;
    json page = r.body_json();
    ++n;
    for (auto &v : page["value"]) items.push_back(v);
    url = page.contains("@odata.nextLink") ? page["@odata.nextLink"].get<std::string>() : "";
  }
  if (pages) *pages = n;
  return items;
}

std::string make_temp_dir(const std::string &prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return buf.data();
}

std::string raw_exchange(int port, const std::string &request, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[8192];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace tinv::mock::test
