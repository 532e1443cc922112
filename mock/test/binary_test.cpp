// The inventory-mock-graph executable: port file, logging, clean stop on SIGTERM/SIGINT.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support.h"
#include "util.h"

namespace tinv::mock::test {
namespace {

struct Process {
  pid_t pid = -1;
  ~Process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  // Exit code after a signal-triggered stop, -1 on timeout or abnormal end.
  int stop(int sig) {
    kill(pid, sig);
    for (int i = 0; i < 1000; ++i) {
      int status = 0;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
};

class BinaryTest : public ::testing::Test {
 public:
  void SetUp() override {
    dir = make_temp_dir("mock-bin");
    ASSERT_FALSE(dir.empty());
  }
  void TearDown() override {
    for (const char *f : {"/port", "/state.json", "/stderr.log"}) std::remove((dir + f).c_str());
    rmdir(dir.c_str());
  }

  void launch(Process &p, std::vector<std::string> args) {
    args.insert(args.begin(), MOCK_GRAPH_BINARY);
    p.pid = fork();
    ASSERT_GE(p.pid, 0);
    if (p.pid == 0) {
      int fd = open((dir + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, 2);
      std::vector<char *> argv;
      for (auto &a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  int wait_port() {
    for (int i = 0; i < 500; ++i) {
      std::string text;
      if (read_file(dir + "/port", text) && !text.empty()) return std::stoi(text);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  std::string dir;
};

TEST_F(BinaryTest, PortFileLoggingAndCleanStop) {
  Process p;
  launch(p, {"--port", "0", "--port-file", dir + "/port", "--state", dir + "/state.json",
             "--tenants", "1", "--client-secret", "sup3r-s3cret", "--log-requests"});
  const int port = wait_port();
  ASSERT_GT(port, 0);
  // Listening by the time the port file exists: the first connection succeeds.
  httplib::Client c("127.0.0.1", port);
  auto health = c.Get("/_mock/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const std::string tenant = json::parse(c.Get("/_mock/tenants")->body)["tenants"][0];
  auto tok = c.Post(("/" + tenant + "/oauth2/v2.0/token").c_str(),
                    "client_id=a&client_secret=sup3r-s3cret&grant_type=client_credentials&"
                    "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(tok);
  ASSERT_EQ(tok->status, 200);
  const std::string token = json::parse(tok->body)["access_token"];
  auto page =
      c.Get("/beta/deviceManagement/deviceConfigurations", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  const std::string next = json::parse(page->body)["@odata.nextLink"];
  c.Get(path_of(next).c_str(), {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(c.Post(("/_mock/tenant/" + tenant + "/delete").c_str(),
                   R"({"path":"deviceManagement/deviceConfigurations","indexes":[1]})",
                   "application/json")
                ->status,
            200);

  EXPECT_EQ(p.stop(SIGTERM), 0);
  std::string log;
  ASSERT_TRUE(read_file(dir + "/stderr.log", log));
  EXPECT_NE(log.find("GET /beta/deviceManagement/deviceConfigurations 200"), std::string::npos)
      << log;
  EXPECT_EQ(log.find(token), std::string::npos);
  EXPECT_EQ(log.find(token.substr(0, 40)), std::string::npos);
  EXPECT_EQ(log.find("sup3r-s3cret"), std::string::npos);
  EXPECT_EQ(log.find("skiptoken"), std::string::npos);
  std::string state;
  ASSERT_TRUE(read_file(dir + "/state.json", state));
  json s = json::parse(state);
  EXPECT_EQ(s["items"][tenant]["deviceManagement/deviceConfigurations"]["deleted"],
            json::array({1}));
}

TEST_F(BinaryTest, SigintStopsCleanlyWhileRequestsHang) {
  Process p;
  launch(p, {"--port-file", dir + "/port"});
  const int port = wait_port();
  ASSERT_GT(port, 0);
  httplib::Client c("127.0.0.1", port);
  const std::string tenant = json::parse(c.Get("/_mock/tenants")->body)["tenants"][0];
  auto tok = c.Post(("/" + tenant + "/oauth2/v2.0/token").c_str(),
                    "client_id=a&client_secret=mock-secret&grant_type=client_credentials&"
                    "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
                    "application/x-www-form-urlencoded");
  const std::string token = json::parse(tok->body)["access_token"];
  c.Post("/_mock/faults", R"([{"kind":"hang","times":-1}])", "application/json");
  std::thread hung([&] {
    httplib::Client h("127.0.0.1", port);
    h.set_read_timeout(30);
    h.Get("/beta/x", {{"Authorization", "Bearer " + token}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(p.stop(SIGINT), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  hung.join();
}

TEST_F(BinaryTest, BadArgumentsExitNonZero) {
  Process p;
  launch(p, {"--port", "70000"});
  int status = 0;
  ASSERT_EQ(waitpid(p.pid, &status, 0), p.pid);
  p.pid = -1;
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace tinv::mock::test
