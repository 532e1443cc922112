// inventory-mock-graph: a local stand-in for login.microsoftonline.com and
// graph.microsoft.com serving generated Intune tenants, with fault injection.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "config.h"
#include "generator.h"
#include "server.h"
#include "util.h"

int main(int argc, char **argv) {
  using namespace tinv::mock;
  Config config;
  std::string port_file;
  std::string types_file;
  int foreign_port = 0;

  CLI::App app{"Mock Microsoft Graph + Entra ID token endpoint for tenant_inventory tests"};
  app.add_option("--host", config.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", config.port, "Port (0 = pick a free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the chosen port here once listening");
  app.add_option("--foreign-port", foreign_port,
                 "Port of the foreign listener (0 = pick a free port, -1 = none)")
      ->check(CLI::Range(-1, 65535))
      ->capture_default_str();
  app.add_option("--tenants", config.tenants, "Number of generated tenants")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--tenant-seed", config.tenant_seed, "Seed of the generated tenant ids")
      ->capture_default_str();
  app.add_option("--items-per-type", config.items_per_type,
                 "Default item count per tenant and path")
      ->check(CLI::Range(uint64_t(0), uint64_t(1000000000)))
      ->capture_default_str();
  app.add_option(
         "--types-file", types_file,
         "JSON array of per-path overrides: {path, count, page_size, odata_type, name_field}")
      ->check(CLI::ExistingFile);
  app.add_option("--client-id", config.client_id, "Only accept this client id (default: any)");
  app.add_option("--client-secret", config.client_secret, "The accepted client secret")
      ->capture_default_str();
  app.add_option("--token-ttl", config.token_ttl, "Access token lifetime in seconds")
      ->check(CLI::Range(int64_t(1), int64_t(86400 * 7)))
      ->capture_default_str();
  app.add_flag("--opaque-tokens", config.opaque_tokens,
               "Issue opaque access tokens (hex, no JWT shape a pattern redactor knows)");
  app.add_option("--state", config.state_file,
                 "Load item counts/mutations/credentials from this JSON file and save them to it");
  app.add_option("--threads", config.threads, "Worker threads of the main listener")
      ->check(CLI::Range(size_t(4), size_t(4096)))
      ->capture_default_str();
  app.add_flag("--log-requests", config.log_requests,
               "Log one line per request to stderr (never headers, queries or bodies)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help/--version exit 0; every usage error exits 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  config.foreign_port = foreign_port;

  if (!types_file.empty()) {
    std::string text;
    if (!read_file(types_file, text)) {
      std::fprintf(stderr, "inventory-mock-graph: cannot read %s\n", types_file.c_str());
      return 2;
    }
    try {
      config.types = parse_type_overrides(text);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "inventory-mock-graph: %s: %s\n", types_file.c_str(), e.what());
      return 2;
    }
  }

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // a listener died
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  MockServer server(config);
  server.on_failure([] { kill(getpid(), SIGUSR1); });
  std::string error;
  if (!server.start(error)) {
    std::fprintf(stderr, "inventory-mock-graph: %s\n", error.c_str());
    return 1;
  }
  if (!port_file.empty() && !write_file_atomic(port_file, std::to_string(server.port()) + "\n")) {
    std::fprintf(stderr, "inventory-mock-graph: cannot write port file %s\n", port_file.c_str());
    server.stop();
    return 1;
  }
  std::fprintf(stderr, "inventory-mock-graph: listening on http://%s:%d (foreign listener %d)\n",
               config.host.c_str(), server.port(), server.foreign_port());

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  server.stop();
  if (sig == SIGUSR1) {
    std::fprintf(stderr, "inventory-mock-graph: a listener stopped unexpectedly\n");
    return 1;
  }
  return 0;
}
