// The check kinds' client libraries are loaded when the first check of the
// kind is configured, not at start-up. This binary links none of them (it is
// built without the test support library, which does), and each test looks
// at the libraries in a fresh process: gtest's "threadsafe" death-test style
// re-runs the binary for the statement, so no earlier test can have loaded
// anything.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "agent/checks/check_config.h"
#include "agent/checks/shared_library.h"

namespace vitals::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<std::string>& AllBackends() {
  static const std::vector<std::string> sonames = {kLibpqSoname, kLibmariadbSoname, kHiredisSoname,
                                                   kLibcurlSoname};
  return sonames;
}

// The backend libraries mapped in this process, for messages.
std::string Loaded() {
  std::string out;
  for (const std::string& soname : AllBackends()) {
    if (IsLibraryLoaded(soname)) out += (out.empty() ? "" : " ") + soname;
  }
  return out.empty() ? "none" : out;
}

// Parses `checks_yaml` (the entries of `checks:`) as the agent does; exits
// the process with status 3 if that fails.
void ParseOrExit(const std::string& checks_yaml) {
  auto root = ConfigMap::LoadString("checks:\n" + checks_yaml, "agent.yml");
  if (!root.ok()) {
    std::fprintf(stderr, "%s\n", root.status().ToString().c_str());
    std::exit(3);
  }
  auto checks = ParseChecks(*root);
  if (!checks.ok()) {
    std::fprintf(stderr, "%s\n", checks.status().ToString().c_str());
    std::exit(3);
  }
}

// Exits with 0 if exactly `expected` (a space-separated list, or "none") of
// the backends are loaded after parsing `checks_yaml` and none was before;
// prints what was loaded otherwise.
[[noreturn]] void ParseAndExpectLoaded(const std::string& checks_yaml,
                                       const std::string& expected) {
  const std::string before = Loaded();
  if (before != "none") {
    std::fprintf(stderr, "loaded before any check was configured: %s\n", before.c_str());
    std::exit(1);
  }
  ParseOrExit(checks_yaml);
  const std::string after = Loaded();
  std::fprintf(stderr, "loaded: %s\n", after.c_str());
  std::exit(after == expected ? 0 : 2);
}

class BackendLoadingTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// No proxy in the environment: with one, http:// checks use libcurl too.
void UnsetProxies() {
  for (const char* variable : {"http_proxy", "all_proxy", "ALL_PROXY"}) unsetenv(variable);
}

TEST_F(BackendLoadingTest, ChecksWithoutClientLibrariesLoadNone) {
  UnsetProxies();
  EXPECT_EXIT(
      ParseAndExpectLoaded("  - {name: port, kind: tcp, service: s, address: '127.0.0.1:1'}\n"
                           "  - {name: api, kind: http, service: s,\n"
                           "     url: 'http://127.0.0.1:1/health', method: POST}\n"
                           "  - {name: dns, kind: dns, service: s, query_name: localhost}\n"
                           "  - {name: plugin, kind: exec, service: s, command: [/bin/true]}\n",
                           "none"),
      ::testing::ExitedWithCode(0), "loaded: none");
}

TEST_F(BackendLoadingTest, PostgresCheckLoadsLibpqOnly) {
  setenv("VITALS_BACKEND_TEST_DSN", "host=127.0.0.1 port=1 user=u dbname=d", 1);
  EXPECT_EXIT(ParseAndExpectLoaded("  - {name: db, kind: postgres, service: s,\n"
                                   "     dsn_env: VITALS_BACKEND_TEST_DSN}\n",
                                   kLibpqSoname),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(BackendLoadingTest, MysqlCheckLoadsLibmariadbOnly) {
  setenv("VITALS_BACKEND_TEST_DSN", "mysql://u:p@127.0.0.1:1/d", 1);
  EXPECT_EXIT(ParseAndExpectLoaded("  - {name: db, kind: mysql, service: s,\n"
                                   "     dsn_env: VITALS_BACKEND_TEST_DSN}\n",
                                   kLibmariadbSoname),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(BackendLoadingTest, RedisCheckLoadsHiredisOnly) {
  EXPECT_EXIT(
      ParseAndExpectLoaded("  - {name: cache, kind: redis, service: s, address: '127.0.0.1:1'}\n",
                           kHiredisSoname),
      ::testing::ExitedWithCode(0), "");
}

TEST_F(BackendLoadingTest, HttpsCheckLoadsLibcurlOnly) {
  UnsetProxies();
  EXPECT_EXIT(
      ParseAndExpectLoaded("  - {name: api, kind: http, service: s, url: 'https://127.0.0.1:1/'}\n",
                           kLibcurlSoname),
      ::testing::ExitedWithCode(0), "");
}

TEST_F(BackendLoadingTest, HttpCheckFollowingRedirectsLoadsLibcurl) {
  // A redirect may lead to https://, which only libcurl speaks.
  UnsetProxies();
  EXPECT_EXIT(ParseAndExpectLoaded("  - {name: api, kind: http, service: s,\n"
                                   "     url: 'http://127.0.0.1:1/', follow_redirects: true}\n",
                                   kLibcurlSoname),
              ::testing::ExitedWithCode(0), "");
}

TEST_F(BackendLoadingTest, HttpCheckUnderAProxyLoadsLibcurl) {
  // libcurl applies http_proxy (and no_proxy); the agent's own client does not.
  UnsetProxies();
  setenv("http_proxy", "http://127.0.0.1:1", 1);
  EXPECT_EXIT(
      ParseAndExpectLoaded("  - {name: api, kind: http, service: s, url: 'http://127.0.0.1:1/'}\n",
                           kLibcurlSoname),
      ::testing::ExitedWithCode(0), "");
}

TEST(SharedLibraryTest, MissingLibraryIsUnavailableWithTheLoadersReason) {
  auto library = SharedLibrary::Open("libvitals-no-such-library.so.7");
  EXPECT_EQ(library.status().code(), Status::Code::kUnavailable);
  EXPECT_THAT(library.status().message(),
              StartsWith("cannot load libvitals-no-such-library.so.7: "));
  EXPECT_THAT(library.status().message(), HasSubstr("No such file"));
  EXPECT_FALSE(IsLibraryLoaded("libvitals-no-such-library.so.7"));
}

TEST(SharedLibraryTest, BindsExportedFunctionsAndRefusesMissingOnes) {
  auto library = SharedLibrary::Open("libc.so.6");
  ASSERT_TRUE(library.ok()) << library.status().ToString();
  decltype(&std::strlen) strlen_fn = nullptr;
  ASSERT_TRUE(library->Bind("strlen", &strlen_fn).ok());
  EXPECT_EQ(strlen_fn("vitals"), 6u);
  void (*missing)() = nullptr;
  Status bound = library->Bind("vitals_no_such_function", &missing);
  EXPECT_EQ(bound.code(), Status::Code::kUnavailable);
  EXPECT_THAT(bound.message(), StartsWith("libc.so.6 has no function vitals_no_such_function"));
  EXPECT_EQ(missing, nullptr);
}

}  // namespace
}  // namespace vitals::agent
