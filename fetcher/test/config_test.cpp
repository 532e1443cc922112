// Command line and config file: jobs, credentials sources, overrides, errors.
#include "config.h"
#include "cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace fetch;

namespace {

const char* kTenantA = "6F1C2B3A-0000-4000-8000-000000000001";
const char* kTenantB = "6f1c2b3a-0000-4000-8000-000000000002";

struct Files {
  std::string dir;
  Files() {
    char tmpl[] = "/tmp/fetch-cfg-XXXXXX";
    dir = mkdtemp(tmpl);
    std::ofstream(dir + "/secret") << "file-secret\n";
  }
  ~Files() { std::system(("rm -rf " + dir).c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  }
};

CommandLine parse(std::vector<std::string> args) {
  args.insert(args.begin(), "inventory-fetch");
  return parse_command_line(args);
}

}  // namespace

TEST(Selection, PolicyTypesAreCheckedAndDeduplicated) {
  EXPECT_EQ(selection_policy_types(nlohmann::json::parse(R"({"policy_types":["b","a","b"],"x":1})")),
            (std::vector<std::string>{"b", "a"}));
  for (const char* bad : {R"([])", R"({})", R"({"policy_types":[]})", R"({"policy_types":"a"})",
                          R"({"policy_types":[""]})", R"({"policy_types":[1]})"}) {
    EXPECT_THROW(selection_policy_types(nlohmann::json::parse(bad)), ConfigError) << bad;
  }
}

TEST(Cli, SingleTenantWithSecretFile) {
  Files f;
  CommandLine cl = parse({"sync",
                          "--tenant",
                          kTenantA,
                          "--selection",
                          R"({"policy_types":["deviceConfiguration"]})",
                          "--db",
                          "dbname=x",
                          "--client-id",
                          "app",
                          "--client-secret-file",
                          f.dir + "/secret",
                          "--graph-url",
                          "http://127.0.0.1:9999/",
                          "--login-url",
                          "http://127.0.0.1:9999",
                          "--max-concurrency",
                          "3",
                          "--per-tenant-concurrency",
                          "2",
                          "--log-format",
                          "json"});
  ASSERT_EQ(cl.exit_code, -1);
  ASSERT_EQ(cl.jobs.size(), 1u);
  EXPECT_EQ(cl.jobs[0].tenant, "6f1c2b3a-0000-4000-8000-000000000001");  // lowercased
  EXPECT_EQ(cl.jobs[0].credential.secret.reveal(), "file-secret");
  EXPECT_EQ(cl.jobs[0].policy_types, std::vector<std::string>{"deviceConfiguration"});
  EXPECT_EQ(cl.jobs[0].selection_hash.size(), 64u);
  EXPECT_EQ(cl.settings.max_concurrency, 3);
  EXPECT_EQ(cl.settings.per_tenant_concurrency, 2);
  EXPECT_EQ(cl.settings.conninfo, "dbname=x");
  EXPECT_EQ(cl.settings.log_format, LogFormat::Json);
}

TEST(Cli, SecretFromDefaultEnvironmentVariable) {
  setenv("INVENTORY_CLIENT_SECRET", "env-secret", 1);
  CommandLine cl =
      parse({"sync", "--tenant", kTenantA, "--selection", R"({"policy_types":["a"]})", "--client-id", "app"});
  unsetenv("INVENTORY_CLIENT_SECRET");
  ASSERT_EQ(cl.jobs.size(), 1u);
  EXPECT_EQ(cl.jobs[0].credential.secret.reveal(), "env-secret");
}

TEST(Cli, SecretOnTheCommandLineIsRefused) {
  EXPECT_EQ(parse({"sync", "--client-secret", "abc"}).exit_code, 2);
  EXPECT_EQ(parse({"sync", "--client-secret=abc"}).exit_code, 2);
}

TEST(Cli, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(parse({"sync", "--no-such-option"}).exit_code, 2);
  EXPECT_EQ(parse({}).exit_code, 2);
  EXPECT_EQ(parse({"sync", "--help"}).exit_code, 0);
  EXPECT_EQ(parse({"--help"}).exit_code, 0);
  EXPECT_THROW(parse({"sync", "--selection", R"({"policy_types":["a"]})"}), ConfigError);  // no tenant
  EXPECT_THROW(parse({"sync", "--tenant", "not-a-uuid", "--selection", R"({"policy_types":["a"]})",
                      "--client-id", "x"}),
               ConfigError);
  setenv("INVENTORY_CLIENT_SECRET", "s", 1);
  EXPECT_THROW(parse({"sync", "--tenant", kTenantA, "--selection", "{not json", "--client-id", "x"}),
               ConfigError);
  EXPECT_THROW(parse({"sync", "--tenant", kTenantA, "--selection", R"({"policy_types":["a"]})", "--client-id",
                      "x", "--graph-url", "http://graph.example.com"}),
               ConfigError);  // plain http only towards loopback
  EXPECT_THROW(parse({"sync", "--tenant", kTenantA, "--selection", R"({"policy_types":["a"]})", "--client-id",
                      "x", "--max-concurrency", "0"}),
               ConfigError);
  unsetenv("INVENTORY_CLIENT_SECRET");
  EXPECT_THROW(
      parse({"sync", "--tenant", kTenantA, "--selection", R"({"policy_types":["a"]})", "--client-id", "x"}),
      ConfigError);  // no secret anywhere
}

TEST(ConfigFile, ManyTenantsWithDefaultsAndOwnCredentials) {
  Files f;
  setenv("TENANT_B_SECRET", "b-secret", 1);
  const std::string path =
      f.write("c.json", R"({
    "db": "dbname=inv", "max_concurrency": 8, "per_tenant_concurrency": 3, "batch_size": 100,
    "graph_url": "http://127.0.0.1:1", "login_url": "http://127.0.0.1:1",
    "defaults": {"client_id": "app", "client_secret_file": ")" +
                            f.dir + R"(/secret",
                 "selection": {"policy_types": ["deviceConfiguration"]}},
    "tenants": [
      {"tenant_id": ")" + std::string(kTenantA) +
                            R"(", "name": "contoso"},
      {"tenant_id": ")" + std::string(kTenantB) +
                            R"(", "client_id": "other", "client_secret_env": "TENANT_B_SECRET",
       "selection": {"policy_types": ["a", "b"]}}
    ]})");
  CommandLine cl = parse({"sync", "--config", path, "--max-concurrency", "5"});
  unsetenv("TENANT_B_SECRET");
  ASSERT_EQ(cl.jobs.size(), 2u);
  EXPECT_EQ(cl.settings.conninfo, "dbname=inv");
  EXPECT_EQ(cl.settings.max_concurrency, 5);  // the command line wins
  EXPECT_EQ(cl.settings.per_tenant_concurrency, 3);
  EXPECT_EQ(cl.settings.batch_rows, 100);
  EXPECT_EQ(cl.jobs[0].name, "contoso");
  EXPECT_EQ(cl.jobs[0].credential.client_id, "app");
  EXPECT_EQ(cl.jobs[0].credential.secret.reveal(), "file-secret");
  EXPECT_EQ(cl.jobs[1].credential.client_id, "other");
  EXPECT_EQ(cl.jobs[1].credential.secret.reveal(), "b-secret");  // own kind replaces the default file
  EXPECT_EQ(cl.jobs[1].policy_types, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigFile, Errors) {
  Files f;
  const std::string t = std::string("\"tenant_id\":\"") + kTenantA + "\"";
  const std::string sec = "\"client_id\":\"a\",\"client_secret_file\":\"" + f.dir + "/secret\"";
  const std::string sel = "\"selection\":{\"policy_types\":[\"x\"]}";
  for (const std::string& doc :
       {std::string("[]"), std::string("{\"tenants\":[]}"),
        "{\"tenants\":[{" + t + "," + sec + "}]}",                                      // no selection
        "{\"tenants\":[{" + t + "," + sec + "," + sel + ",\"client_secret\":\"x\"}]}",  // inline secret
        "{\"tenants\":[{" + t + "," + sec + "," + sel + ",\"colour\":1}]}",             // unknown key
        "{\"typo\":1,\"tenants\":[{" + t + "," + sec + "," + sel + "}]}",
        "{\"tenants\":[{" + t + "," + sec + "," + sel + "},{" + t + "," + sec + "," + sel + "}]}",  // twice
        "{\"max_concurrency\":\"8\",\"tenants\":[{" + t + "," + sec + "," + sel + "}]}"}) {
    EXPECT_THROW(parse_config(nlohmann::json::parse(doc), Settings{}, {}), ConfigError) << doc;
  }
  EXPECT_NO_THROW(parse_config(nlohmann::json::parse("{\"tenants\":[{" + t + "," + sec + "," + sel + "}]}"),
                               Settings{}, {}));
  EXPECT_THROW(parse({"sync", "--config", f.dir + "/missing.json"}), ConfigError);
  EXPECT_THROW(parse({"sync", "--config", f.write("x.json", "{"), "--tenant", kTenantA}), ConfigError);
}

TEST(Cli, AbsenceChecksAreOnUnlessNoVerify) {
  Files f;
  const std::vector<std::string> base = {"sync",
                                         "--tenant",
                                         kTenantA,
                                         "--selection",
                                         R"({"policy_types":["deviceConfiguration"]})",
                                         "--client-id",
                                         "app",
                                         "--client-secret-file",
                                         f.dir + "/secret"};
  EXPECT_TRUE(parse(base).settings.verify);
  std::vector<std::string> off = base;
  off.push_back("--no-verify");
  CommandLine cl = parse(off);
  EXPECT_EQ(cl.exit_code, -1);
  EXPECT_FALSE(cl.settings.verify);
  EXPECT_TRUE(cl.settings.use_manifest);  // one switch does not turn off the other
}

TEST(ConfigFile, VerifyKey) {
  Files f;
  const std::string t = std::string("\"tenant_id\":\"") + kTenantA + "\"";
  const std::string sec = "\"client_id\":\"a\",\"client_secret_file\":\"" + f.dir + "/secret\"";
  const std::string sel = "\"selection\":{\"policy_types\":[\"x\"]}";
  const std::string tenants = "\"tenants\":[{" + t + "," + sec + "," + sel + "}]";
  EXPECT_TRUE(parse_config(nlohmann::json::parse("{" + tenants + "}"), Settings{}, {}).settings.verify);
  EXPECT_FALSE(parse_config(nlohmann::json::parse("{\"verify\":false," + tenants + "}"), Settings{}, {})
                   .settings.verify);
  EXPECT_TRUE(parse_config(nlohmann::json::parse("{\"verify\":true," + tenants + "}"), Settings{}, {})
                  .settings.verify);
  for (const char* bad : {"\"no\"", "0", "[]"}) {
    EXPECT_THROW(parse_config(nlohmann::json::parse(std::string("{\"verify\":") + bad + "," + tenants + "}"),
                              Settings{}, {}),
                 ConfigError)
        << bad;
  }
  // --no-verify wins over the file's "verify": true.
  const std::string path = f.write("v.json", "{\"verify\":true," + tenants + "}");
  EXPECT_FALSE(parse({"sync", "--config", path, "--no-verify"}).settings.verify);
  // And the file's false stays false without the option.
  const std::string off = f.write("w.json", "{\"verify\":false," + tenants + "}");
  EXPECT_FALSE(parse({"sync", "--config", off}).settings.verify);
}
