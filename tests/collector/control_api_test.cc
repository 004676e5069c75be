// The control API over HTTP (a cpp-httplib server on a free port) in front
// of a real ActionsEngine with its database in a temporary directory and a
// fake clock.

#include "collector/control_api.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <prometheus/registry.h>

#include "actions/audit_log.h"
#include "tests/support/scratch_store.h"
#include "tests/support/temp_dir.h"

namespace vitals::collector {
namespace {

using nlohmann::json;

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

// --- Token files ---

TEST(ParseTokenFileTest, ReadsNamedAndBareTokensSkippingCommentsAndBlankLines) {
  auto tokens = ParseTokenFile("# operators\n\nalice: s3cret \n  bare-token\nci:a:b\n", "t");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  ASSERT_EQ(tokens->size(), 3u);
  EXPECT_EQ((*tokens)[0].name, "alice");
  EXPECT_EQ((*tokens)[0].token, "s3cret");
  EXPECT_EQ((*tokens)[1].name, "operator");
  EXPECT_EQ((*tokens)[1].token, "bare-token");
  EXPECT_EQ((*tokens)[2].name, "ci");
  EXPECT_EQ((*tokens)[2].token, "a:b");  // The first ':' separates.
}

TEST(ParseTokenFileTest, NamesFileAndLineOfAMalformedEntry) {
  EXPECT_EQ(ParseTokenFile("ok\n:tok\n", "tokens").status().message(),
            "tokens:2: empty name before ':'");
  EXPECT_EQ(ParseTokenFile("a:\n", "tokens").status().message(), "tokens:1: empty token");
  EXPECT_EQ(ParseTokenFile("two words\n", "tokens").status().message(),
            "tokens:1: token contains blanks");
}

// --- The API over HTTP ---

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenScratchStore(dir_.File("db"));
    actions::ActionsOptions options;
    options.db_dir = dir_.File("actions");
    options.start_threads = false;
    auto engine = actions::ActionsEngine::Open(options, *store_, promql_, clock_, registry_);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
    token_file_ = dir_.File("tokens");
    WriteTokens("# who may change things\nalice:s3cret\nbare-token\n");
  }

  void TearDown() override {
    if (server_) {
      api_->CancelWatches();
      server_->stop();
      thread_.join();
    }
    api_.reset();
    engine_.reset();
    store_.reset();
  }

  // Writes a new file and renames it over the old one, as editors do: the
  // API sees a new inode whatever the timestamps' resolution.
  void WriteTokens(const std::string& text) {
    std::ofstream(token_file_ + ".new") << text;
    std::filesystem::permissions(token_file_ + ".new", std::filesystem::perms::owner_read |
                                                           std::filesystem::perms::owner_write);
    std::filesystem::rename(token_file_ + ".new", token_file_);
  }

  ControlApiOptions Options() {
    ControlApiOptions o;
    o.token_file = token_file_;
    return o;
  }

  void Start(ControlApiOptions options) {
    api_ = std::make_unique<ControlApi>(*engine_, std::move(options), registry_, clock_);
    server_ = std::make_unique<httplib::Server>();
    api_->Register(*server_);
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    // Connections made before listen_after_bind accepts wait in the backlog.
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }

  struct Answer {
    int status = 0;
    json body;
    std::string www_authenticate;
  };

  Answer Send(const std::string& method, const std::string& path,
              const httplib::Params& params = {}, const std::string& token = "s3cret") {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(120, 0);
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result res = method == "GET"    ? client.Get(path, params, headers)
                          : method == "POST" ? client.Post(path, headers, params)
                                             : client.Delete(path, headers);
    EXPECT_TRUE(res) << method << " " << path;
    if (!res) return {};
    Answer a{res->status, json::parse(res->body, nullptr, false),
             res->get_header_value("WWW-Authenticate")};
    EXPECT_FALSE(a.body.is_discarded()) << res->body;
    return a;
  }
  Answer Get(const std::string& path, const httplib::Params& params = {}) {
    return Send("GET", path, params, "");
  }
  Answer PostJson(const std::string& path, const std::string& body) {
    httplib::Client client("127.0.0.1", port_);
    auto res = client.Post(path, {{"Authorization", "Bearer s3cret"}}, body, "application/json");
    if (!res) return {};
    return {res->status, json::parse(res->body, nullptr, false), ""};
  }

  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric) {
        std::map<std::string, std::string> have;
        for (const auto& l : m.label) have[l.name] = l.value;
        bool match = true;
        for (const auto& [k, v] : labels) match = match && have[k] == v;
        if (match) return m.counter.value;
      }
    }
    return 0;
  }

  std::vector<actions::AuditEntry> AuditEntries(const std::string& kind) {
    actions::AuditQuery q;
    q.kind_prefix = kind;
    return *engine_->audit().List(q);
  }

  testing::TempDir dir_;
  std::string token_file_;
  FakeClock clock_{kT0};
  promql::Engine promql_;
  prometheus::Registry registry_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<actions::ActionsEngine> engine_;
  std::unique_ptr<ControlApi> api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

const httplib::Params kShopMaintenance{
    {"service", "shop"}, {"mode", "maintenance"}, {"reason", "db migration"}};

TEST_F(ControlApiTest, MutationWithoutTokenIsUnauthorizedCountedAndAudited) {
  Start(Options());
  Answer a = Send("POST", "/api/v1/modes", kShopMaintenance, /*token=*/"");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["errorType"], "unauthorized");
  EXPECT_EQ(a.www_authenticate.rfind("Bearer", 0), 0u) << a.www_authenticate;
  EXPECT_EQ(Metric("vitals_control_unauthorized_total"), 1);
  auto refused = AuditEntries("auth.refused");
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].actor, "api:127.0.0.1");
  EXPECT_NE(refused[0].message.find("POST /api/v1/modes"), std::string::npos) << refused[0].message;
  EXPECT_TRUE(engine_->Overrides().empty());
}

TEST_F(ControlApiTest, MutationWithWrongTokenIsUnauthorized) {
  Start(Options());
  Answer a = Send("POST", "/api/v1/modes", kShopMaintenance, /*token=*/"s3cret-not");
  EXPECT_EQ(a.status, 401);
  EXPECT_EQ(a.body["error"], "invalid bearer token");
  EXPECT_EQ(Metric("vitals_control_unauthorized_total"), 1);
  EXPECT_EQ(AuditEntries("auth.refused").size(), 1u);
  EXPECT_EQ(
      Metric("vitals_control_requests_total", {{"endpoint", "/api/v1/modes"}, {"code", "401"}}), 1);
}

TEST_F(ControlApiTest, MutationsAreForbiddenWithoutATokenFile) {
  Start(ControlApiOptions{});
  Answer a = Send("POST", "/api/v1/modes", kShopMaintenance);
  EXPECT_EQ(a.status, 403);
  EXPECT_EQ(a.body["error"], "control API disabled: set control.token_file");
  EXPECT_EQ(Get("/api/v1/modes").status, 200);
}

TEST_F(ControlApiTest, ReadsAreOpenByDefault) {
  Start(Options());
  Answer a = Get("/api/v1/modes");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body["status"], "success");
  EXPECT_EQ(a.body["data"]["modes"], json::array());
}

TEST_F(ControlApiTest, ReadsNeedATokenWhenNotOpen) {
  ControlApiOptions o = Options();
  o.open_reads = false;
  Start(o);
  EXPECT_EQ(Get("/api/v1/modes").status, 401);
  EXPECT_EQ(Send("GET", "/api/v1/modes", {}, "bare-token").status, 200);
  EXPECT_EQ(Send("GET", "/api/v1/audit", {}, "s3cret").status, 200);
}

TEST_F(ControlApiTest, TokenFileIsReReadWhenItChanges) {
  Start(Options());
  EXPECT_EQ(Send("POST", "/api/v1/modes", kShopMaintenance, "new-token").status, 401);
  WriteTokens("bob:new-token\n");
  Answer a = Send("POST", "/api/v1/modes", kShopMaintenance, "new-token");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body["data"]["actor"], "user:bob");
  EXPECT_EQ(Send("POST", "/api/v1/modes", kShopMaintenance, "s3cret").status, 401);  // Revoked.
}

TEST_F(ControlApiTest, OverrideSetShowsInModesAndClears) {
  Start(Options());
  httplib::Params set = kShopMaintenance;
  set.emplace("duration", "30m");
  Answer s = Send("POST", "/api/v1/modes", set);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.body["data"]["actor"], "user:alice");
  EXPECT_EQ(s.body["data"]["expires_ms"], kT0 + 30 * 60 * 1000);
  EXPECT_EQ(s.body["data"]["expires"], "2023-11-14T22:43:20Z");

  Answer g = Get("/api/v1/modes", {{"service", "shop"}});
  ASSERT_EQ(g.status, 200);
  ASSERT_EQ(g.body["data"]["modes"].size(), 1u) << g.body;
  const json& mode = g.body["data"]["modes"][0];
  EXPECT_EQ(mode["service"], "shop");
  EXPECT_EQ(mode["module"], "");
  EXPECT_EQ(mode["mode"], "maintenance");
  EXPECT_EQ(mode["source"], "manual");
  EXPECT_EQ(mode["since"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(g.body["data"]["overrides"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/modes", {{"service", "other"}}).body["data"]["modes"].size(), 0u);

  EXPECT_EQ(Send("DELETE", "/api/v1/modes?service=shop").status, 200);
  EXPECT_EQ(Get("/api/v1/modes").body["data"]["modes"].size(), 0u);
  Answer again = Send("DELETE", "/api/v1/modes?service=shop");
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.body["errorType"], "not_found");
}

TEST_F(ControlApiTest, AcceptsAJsonBody) {
  Start(Options());
  Answer a = PostJson("/api/v1/modes",
                      R"({"service":"shop","module":"search","mode":"degraded","reason":"slow"})");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body["data"]["module"], "search");
  EXPECT_EQ(a.body["data"]["mode"], "degraded");
}

TEST_F(ControlApiTest, WatchAnswersWhenModesChange) {
  Start(Options());
  const uint64_t generation = Get("/api/v1/modes").body["data"]["generation"];
  std::thread setter([this] {
    actions::OverrideRequest r;
    r.key.service = "shop";
    r.reason = "watch me";
    ASSERT_TRUE(engine_->SetOverride(r, "user:test").ok());
  });
  Answer a = Get("/api/v1/modes",
                 {{"watch", "1"}, {"generation", std::to_string(generation)}, {"timeout", "60s"}});
  setter.join();
  ASSERT_EQ(a.status, 200);
  EXPECT_GT(a.body["data"]["generation"].get<uint64_t>(), generation);
  ASSERT_EQ(a.body["data"]["modes"].size(), 1u);
  EXPECT_EQ(a.body["data"]["modes"][0]["reason"], "watch me");
}

TEST_F(ControlApiTest, WatchTimesOutWithoutAChange) {
  Start(Options());
  const uint64_t generation = Get("/api/v1/modes").body["data"]["generation"];
  Answer a =
      Get("/api/v1/modes",
          {{"watch", "true"}, {"generation", std::to_string(generation)}, {"timeout", "50ms"}});
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body["data"]["generation"], generation);
}

TEST_F(ControlApiTest, MaintenanceScheduleListExtendCancel) {
  Start(Options());
  Answer s =
      Send("POST", "/api/v1/maintenance",
           {{"service", "shop"}, {"reason", "upgrade"}, {"start", "now"}, {"duration", "1h"}});
  ASSERT_EQ(s.status, 200) << s.body;
  const std::string id = s.body["data"]["id"];
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(s.body["data"]["created_by"], "user:alice");
  EXPECT_EQ(s.body["data"]["active"]["end"], "2023-11-14T23:13:20Z");

  Answer list = Get("/api/v1/maintenance");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["data"]["windows"].size(), 1u);
  EXPECT_EQ(list.body["data"]["windows"][0]["id"], id);

  Answer e = Send("POST", "/api/v1/maintenance/" + id + "/extend", {{"by", "30m"}});
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.body["data"]["active"]["end"], "2023-11-14T23:43:20Z");

  clock_.Advance(std::chrono::minutes(10));
  ASSERT_EQ(Send("DELETE", "/api/v1/maintenance/" + id).status, 200);
  EXPECT_EQ(Get("/api/v1/maintenance").body["data"]["windows"].size(), 0u);
  Answer all = Get("/api/v1/maintenance", {{"all", "1"}});
  ASSERT_EQ(all.body["data"]["windows"].size(), 1u);
  EXPECT_TRUE(all.body["data"]["windows"][0]["active"].is_null());
  EXPECT_EQ(Send("DELETE", "/api/v1/maintenance/no-such-window").status, 404);
}

TEST_F(ControlApiTest, WeeklyMaintenanceShowsItsNextOccurrence) {
  Start(Options());
  // kT0 is a Tuesday; the next Thursday 02:00 in Berlin is 01:00 UTC.
  Answer s = Send("POST", "/api/v1/maintenance",
                  {{"service", "shop"},
                   {"reason", "backups"},
                   {"start", "2023-11-16T02:00"},
                   {"time_zone", "Europe/Berlin"},
                   {"duration", "30m"},
                   {"weekdays", "thu"}});
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.body["data"]["recurrence"], "weekly");
  EXPECT_TRUE(s.body["data"]["active"].is_null());
  EXPECT_EQ(s.body["data"]["next"]["start"], "2023-11-16T01:00:00Z");
  // Nothing to extend before it starts.
  Answer e =
      Send("POST", "/api/v1/maintenance/" + s.body["data"]["id"].get<std::string>() + "/extend",
           {{"by", "30m"}});
  EXPECT_EQ(e.status, 409);
  EXPECT_EQ(e.body["errorType"], "conflict");
}

TEST_F(ControlApiTest, AuditListsPageByPageAndVerifies) {
  Start(Options());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("POST", "/api/v1/modes", kShopMaintenance).status, 200);
    ASSERT_EQ(Send("DELETE", "/api/v1/modes?service=shop").status, 200);
  }
  std::vector<actions::AuditEntry> entries;
  uint64_t after = 0, last_seq = 0;
  for (int page = 0; page < 100; ++page) {
    Answer a = Get("/api/v1/audit", {{"after", std::to_string(after)}, {"limit", "2"}});
    ASSERT_EQ(a.status, 200) << a.body;
    const json& data = a.body["data"];
    EXPECT_LE(data["entries"].size(), 2u);
    last_seq = data["last_seq"];
    for (const json& e : data["entries"]) entries.push_back(*actions::AuditEntryFromJson(e));
    after = data["next_after"];
    if (!data["more"].get<bool>()) break;
  }
  EXPECT_EQ(entries.size(), last_seq);
  EXPECT_GE(entries.size(), 6u);
  actions::AuditVerification v = actions::VerifyChain(entries);
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.head_hash, engine_->audit().head_hash());

  Answer filtered = Get("/api/v1/audit", {{"kind", "override.set"}});
  EXPECT_EQ(filtered.body["data"]["entries"].size(), 3u);

  Answer verify = Get("/api/v1/audit/verify");
  ASSERT_EQ(verify.status, 200);
  EXPECT_EQ(verify.body["data"]["ok"], true);
  EXPECT_EQ(verify.body["data"]["last_seq"], last_seq);
}

TEST_F(ControlApiTest, BadInputIsBadDataWithAMessage) {
  Start(Options());
  auto expect_bad = [this](const std::string& path, const httplib::Params& params,
                           const std::string& error) {
    Answer a = Send("POST", path, params);
    EXPECT_EQ(a.status, 400) << path << " " << a.body;
    EXPECT_EQ(a.body["errorType"], "bad_data");
    EXPECT_NE(a.body["error"].get<std::string>().find(error), std::string::npos) << a.body["error"];
  };
  expect_bad("/api/v1/modes", {{"service", "shop"}, {"mode", "sleepy"}, {"reason", "x"}},
             "mode: unknown mode \"sleepy\"");
  expect_bad("/api/v1/modes", {{"service", "shop"}, {"mode", "degraded"}}, "reason is required");
  expect_bad("/api/v1/modes", {{"mode", "degraded"}, {"reason", "x"}}, "service is required");
  expect_bad("/api/v1/modes",
             {{"service", "s"}, {"mode", "degraded"}, {"reason", "x"}, {"duration", "soon"}},
             "duration: ");
  expect_bad("/api/v1/maintenance",
             {{"service", "shop"},
              {"reason", "x"},
              {"start", "now"},
              {"duration", "1h"},
              {"every", "hourly"}},
             "every: expected once, daily or weekly");
  expect_bad("/api/v1/maintenance",
             {{"service", "shop"}, {"reason", "x"}, {"start", "yesterday"}, {"duration", "1h"}},
             "start: ");
  expect_bad("/api/v1/maintenance",
             {{"service", "shop"},
              {"reason", "x"},
              {"start", "now"},
              {"duration", "1h"},
              {"time_zone", "Mars/Olympus"}},
             "time_zone");
  EXPECT_EQ(PostJson("/api/v1/modes", "[1,2]").status, 400);
  EXPECT_EQ(Get("/api/v1/incidents", {{"state", "closed-ish"}}).status, 400);
  EXPECT_EQ(Get("/api/v1/audit", {{"limit", "-1"}}).status, 400);
}

TEST_F(ControlApiTest, IncidentsAndRollbackOfUnknownThingsAreNotFound) {
  Start(Options());
  Answer list = Get("/api/v1/incidents", {{"state", "all"}});
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["data"]["incidents"], json::array());
  EXPECT_EQ(Get("/api/v1/incidents/INC-000000").status, 404);
  EXPECT_EQ(Send("POST", "/api/v1/incidents/INC-000000/notes", {{"text", "hello"}}).status, 404);
  EXPECT_EQ(Send("POST", "/api/v1/rollback", {{"service", "shop"}}).status, 404);
  EXPECT_EQ(Get("/api/v1/rollback").body["data"]["services"], json::array());
}

}  // namespace
}  // namespace vitals::collector
