#include "actions/webhook.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/version.h"
#include "tests/actions/webhook_receiver.h"
#include "tests/support/temp_dir.h"

namespace vitals::actions {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Steady = std::chrono::steady_clock;
using testing::FakeReceiver;
using testing::MetricValue;
using vitals::testing::TempDir;

double Deliveries(prometheus::Registry& registry, const std::string& result) {
  return MetricValue(registry, "vitals_webhook_deliveries_total",
                     {{"webhook", "hook"}, {"result", result}});
}
double Requests(prometheus::Registry& registry, const std::string& result) {
  return MetricValue(registry, "vitals_webhook_requests_total",
                     {{"webhook", "hook"}, {"result", result}});
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  WebhookEndpoint Endpoint() const {
    WebhookEndpoint endpoint;
    endpoint.name = "hook";
    endpoint.url = receiver_.Url();
    endpoint.timeout = 5s;
    endpoint.max_retries = 3;
    endpoint.min_backoff = 1ms;
    endpoint.max_backoff = 4ms;
    return endpoint;
  }

  std::unique_ptr<WebhookSender> MustCreate(std::vector<WebhookEndpoint> endpoints,
                                            WebhookSenderOptions options = {}) {
    auto sender = WebhookSender::Create(std::move(endpoints), registry_, options);
    EXPECT_TRUE(sender.ok()) << sender.status().ToString();
    return sender.ok() ? std::move(sender).value() : nullptr;
  }

  Status CreateError(WebhookEndpoint endpoint) {
    return WebhookSender::Create({std::move(endpoint)}, registry_).status();
  }

  FakeReceiver receiver_;
  TempDir dir_;
  prometheus::Registry registry_;
};

TEST(HmacSha256HexTest, MatchesRfc4231TestVectors) {
  const std::string aa131(131, '\xaa');
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4 += c;
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(HmacSha256Hex(key4, std::string(50, '\xcd')),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(HmacSha256Hex(aa131, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(HmacSha256Hex(aa131,
                          "This is a test using a larger than block-size key and a larger than "
                          "block-size data. The key needs to be hashed before being used by the "
                          "HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_F(WebhookSenderTest, PostsTheBodyWithHeadersAndAValidSignature) {
  WebhookEndpoint endpoint = Endpoint();
  endpoint.hmac_secret_file = dir_.WriteFile("secret", "s3cret\n");
  endpoint.headers = {{"X-Team", "sre"}};
  auto sender = MustCreate({endpoint});
  const std::string body = R"({"event":"rollback","service":"checkout"})";

  WebhookResult result = sender->SendNow("hook", body, "delivery-1");
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(result.response_body, "thanks");

  auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, body);
  EXPECT_EQ(requests[0].Header("Content-Type"), "application/json");
  EXPECT_EQ(requests[0].Header("User-Agent"), std::string("vitals-collector/") + kVersion);
  EXPECT_EQ(requests[0].Header("X-Vitals-Delivery"), "delivery-1");
  EXPECT_EQ(requests[0].Header("X-Vitals-Signature"), "sha256=" + HmacSha256Hex("s3cret", body));
  EXPECT_EQ(requests[0].Header("X-Team"), "sre");
}

TEST_F(WebhookSenderTest, SendsNoSignatureWithoutASecret) {
  auto sender = MustCreate({Endpoint()});
  EXPECT_TRUE(sender->SendNow("hook", "{}", "d").ok);
  ASSERT_EQ(receiver_.Requests().size(), 1u);
  EXPECT_EQ(receiver_.Requests()[0].Header("X-Vitals-Signature"), "<absent>");
}

TEST_F(WebhookSenderTest, RereadsTheSecretForEveryRequest) {
  WebhookEndpoint endpoint = Endpoint();
  endpoint.hmac_secret_file = dir_.WriteFile("secret", "old");
  auto sender = MustCreate({endpoint});
  EXPECT_TRUE(sender->SendNow("hook", "{}", "d1").ok);
  dir_.WriteFile("secret", "new\r\n");
  EXPECT_TRUE(sender->SendNow("hook", "{}", "d2").ok);
  auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].Header("X-Vitals-Signature"), "sha256=" + HmacSha256Hex("old", "{}"));
  EXPECT_EQ(requests[1].Header("X-Vitals-Signature"), "sha256=" + HmacSha256Hex("new", "{}"));
}

TEST_F(WebhookSenderTest, RetriesServerErrorsUntilDelivered) {
  receiver_.Script({500, 500, 200});
  auto sender = MustCreate({Endpoint()});
  WebhookResult result = sender->SendNow("hook", "{}", "delivery-7");
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.http_status, 200);

  auto requests = receiver_.Requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& request : requests) EXPECT_EQ(request.Header("X-Vitals-Delivery"), "delivery-7");
  EXPECT_EQ(Requests(registry_, "failure"), 2);
  EXPECT_EQ(Requests(registry_, "success"), 1);
  EXPECT_EQ(Deliveries(registry_, "delivered"), 1);
  EXPECT_EQ(Deliveries(registry_, "failed"), 0);
  EXPECT_EQ(MetricValue(registry_, "vitals_webhook_latency_seconds", {{"webhook", "hook"}}), 3);
}

TEST_F(WebhookSenderTest, RetriesTooManyRequests) {
  receiver_.Script({429, 200});
  auto sender = MustCreate({Endpoint()});
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(WebhookSenderTest, ClientErrorFailsAtOnce) {
  receiver_.Script({400});
  auto sender = MustCreate({Endpoint()});
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_EQ(result.error, "HTTP 400: bad payload");
  EXPECT_EQ(result.response_body, "bad payload");
  EXPECT_EQ(Deliveries(registry_, "failed"), 1);
}

TEST_F(WebhookSenderTest, GivesUpAfterMaxRetries) {
  receiver_.Script({503, 503, 503, 503});
  WebhookEndpoint endpoint = Endpoint();
  endpoint.max_retries = 2;
  auto sender = MustCreate({endpoint});
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.http_status, 503);
  EXPECT_EQ(receiver_.Requests().size(), 3u);
}

TEST_F(WebhookSenderTest, ServerThatDoesNotAnswerTimesOut) {
  receiver_.Hang();
  WebhookEndpoint endpoint = Endpoint();
  endpoint.timeout = 200ms;
  endpoint.max_retries = 0;
  auto sender = MustCreate({endpoint});
  const auto start = Steady::now();
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  const auto elapsed = Steady::now() - start;
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_THAT(result.error, HasSubstr("timed out"));
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(WebhookSenderTest, RetriesWhenNothingListens) {
  WebhookEndpoint endpoint = Endpoint();
  {
    FakeReceiver gone;
    endpoint.url = gone.Url();
  }
  endpoint.max_retries = 1;
  auto sender = MustCreate({endpoint});
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_NE(result.error, "");
}

TEST_F(WebhookSenderTest, SendQueuesAndReportsTheOutcome) {
  auto sender = MustCreate({Endpoint()});
  std::promise<WebhookResult> outcome;
  ASSERT_TRUE(
      sender->Send("hook", "{\"n\":1}", "d", [&](const WebhookResult& r) { outcome.set_value(r); })
          .ok());
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  WebhookResult result = future.get();
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(receiver_.Requests().at(0).body, "{\"n\":1}");
}

TEST_F(WebhookSenderTest, UnknownEndpointIsNotFound) {
  auto sender = MustCreate({Endpoint()});
  EXPECT_TRUE(sender->Has("hook"));
  EXPECT_FALSE(sender->Has("pager"));
  Status status = sender->Send("pager", "{}", "d");
  EXPECT_EQ(status.code(), Status::Code::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("pager"));
  WebhookResult result = sender->SendNow("pager", "{}", "d");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_THAT(result.error, HasSubstr("pager"));
}

TEST_F(WebhookSenderTest, EmptyDeliveryIdIsRefused) {
  auto sender = MustCreate({Endpoint()});
  EXPECT_EQ(sender->Send("hook", "{}", "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(sender->Send("hook", "{}", "a\r\nX-Evil: 1").code(), Status::Code::kInvalidArgument);
}

TEST_F(WebhookSenderTest, FullQueueRefusesAndCountsTheDrop) {
  receiver_.Hang();
  auto sender = MustCreate({Endpoint()}, WebhookSenderOptions{.queue_capacity = 1});
  std::atomic<int> delivered{0};
  auto count = [&](const WebhookResult& r) { delivered += r.ok ? 1 : 0; };
  ASSERT_TRUE(sender->Send("hook", "{}", "d1", count).ok());
  ASSERT_TRUE(receiver_.WaitForRequests(1));  // d1 is in flight, the queue empty.
  ASSERT_TRUE(sender->Send("hook", "{}", "d2", count).ok());
  Status full = sender->Send("hook", "{}", "d3", count);
  EXPECT_EQ(full.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(Deliveries(registry_, "dropped"), 1);

  receiver_.Release();
  sender->Stop(10s);
  EXPECT_EQ(delivered.load(), 2);
  EXPECT_EQ(Deliveries(registry_, "delivered"), 2);
}

TEST_F(WebhookSenderTest, StopDuringBackoffReturnsPromptly) {
  receiver_.Script(std::vector<int>(10, 500));
  WebhookEndpoint endpoint = Endpoint();
  endpoint.min_backoff = 60s;
  endpoint.max_backoff = 60s;
  auto sender = MustCreate({endpoint});
  std::promise<WebhookResult> outcome;
  ASSERT_TRUE(
      sender->Send("hook", "{}", "d", [&](const WebhookResult& r) { outcome.set_value(r); }).ok());
  // The failed attempt is counted just before the backoff wait starts.
  const auto give_up = Steady::now() + 10s;
  while (Requests(registry_, "failure") < 1 && Steady::now() < give_up) {
    std::this_thread::sleep_for(1ms);
  }
  const auto start = Steady::now();
  sender->Stop(0ms);
  EXPECT_LT(Steady::now() - start, 1s);
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  WebhookResult result = future.get();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_THAT(result.error, HasSubstr("stopped"));
  EXPECT_EQ(Deliveries(registry_, "failed"), 1);
}

TEST_F(WebhookSenderTest, StopDeliversWhatIsQueuedWithinTheDrainTime) {
  auto sender = MustCreate({Endpoint()});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sender->Send("hook", "{}", std::to_string(i)).ok());
  sender->Stop(10s);
  EXPECT_EQ(receiver_.Requests().size(), 5u);
  EXPECT_EQ(Deliveries(registry_, "delivered"), 5);
}

TEST_F(WebhookSenderTest, RefusesDeliveriesAfterStop) {
  auto sender = MustCreate({Endpoint()});
  sender->Stop(0ms);
  EXPECT_EQ(sender->Send("hook", "{}", "d").code(), Status::Code::kFailedPrecondition);
  WebhookResult result = sender->SendNow("hook", "{}", "d");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_EQ(Deliveries(registry_, "dropped"), 2);
  EXPECT_TRUE(receiver_.Requests().empty());
}

TEST_F(WebhookSenderTest, CreateRejectsInvalidEndpoints) {
  WebhookEndpoint e = Endpoint();
  e.name = "";
  EXPECT_EQ(CreateError(e).code(), Status::Code::kInvalidArgument);
  e = Endpoint();
  e.url = "ftp://example.com/hook";
  EXPECT_THAT(CreateError(e).message(), HasSubstr("http:// or https://"));
  e = Endpoint();
  e.url = "not a url";
  EXPECT_EQ(CreateError(e).code(), Status::Code::kInvalidArgument);
  e = Endpoint();
  e.timeout = 0ms;
  EXPECT_THAT(CreateError(e).message(), HasSubstr("timeout"));
  e = Endpoint();
  e.max_retries = -1;
  EXPECT_THAT(CreateError(e).message(), HasSubstr("max_retries"));
  e = Endpoint();
  e.hmac_secret_file = "/nonexistent/secret";
  EXPECT_THAT(CreateError(e).message(), HasSubstr("/nonexistent/secret"));
  e = Endpoint();
  e.headers = {{"X-Vitals-Signature", "forged"}};
  EXPECT_THAT(CreateError(e).message(), HasSubstr("reserved"));
  e = Endpoint();
  e.headers = {{"X-Ok", "a\nb"}};
  EXPECT_EQ(CreateError(e).code(), Status::Code::kInvalidArgument);

  Status twice = WebhookSender::Create({Endpoint(), Endpoint()}, registry_).status();
  EXPECT_EQ(twice.message(), "webhook \"hook\" is defined twice");
}

}  // namespace
}  // namespace vitals::actions
