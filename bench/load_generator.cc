#include "bench/load_generator.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "common/version.h"
#include "common/wire.h"

namespace vitals::bench {
namespace {

constexpr int64_t kInitialBackoffMs = 100;
// The poll loop wakes at least this often to send what became due.
constexpr std::chrono::milliseconds kMaxPollWait{10};

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A Batch with every series of the fleet and one (zero) sample each; a
// round's batch is this with its seq, timestamps and values filled in.
wire::Envelope BatchTemplate(const SyntheticFleet& fleet) {
  wire::Envelope envelope = wirecodec::NewEnvelope();
  wire::Batch* batch = envelope.mutable_batch();
  std::unordered_map<std::string, uint32_t> index;
  auto intern = [&](const std::string& s) {
    auto [it, inserted] = index.emplace(s, static_cast<uint32_t>(batch->strings_size()));
    if (inserted) batch->add_strings(s);
    return it->second;
  };
  for (const Labels& labels : fleet.SeriesLabels()) {
    wire::Series* series = batch->add_series();
    for (const Label& l : labels) {
      series->add_label_refs(intern(l.name));
      series->add_label_refs(intern(l.value));
    }
    series->add_timestamps_ms(0);
    series->add_values(0);
  }
  for (const MetricDesc& desc : fleet.Metadata()) {
    wire::MetricMetadata* m = batch->add_metadata();
    m->set_name(desc.name);
    m->set_type(wirecodec::ToWire(desc.type));
    m->set_help(desc.help);
  }
  return envelope;
}

// The value at quantile `q` of `sorted` (nearest rank), 0 if empty.
double Quantile(const std::vector<float>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

void SetLatencyPercentiles(std::vector<float> latencies_ms, LoadSummary* summary) {
  std::sort(latencies_ms.begin(), latencies_ms.end());
  summary->ack_latency_p50_ms = Quantile(latencies_ms, 0.50);
  summary->ack_latency_p99_ms = Quantile(latencies_ms, 0.99);
}

std::string LoadSummary::ToJson() const {
  char buf[768];
  std::snprintf(buf, sizeof(buf),
                "{\"samples_sent\":%" PRIu64 ",\"samples_acked\":%" PRIu64
                ",\"batches_sent\":%" PRIu64 ",\"batches_acked\":%" PRIu64
                ",\"elapsed_s\":%.3f,\"samples_per_s\":%.0f,\"ack_latency_p50_ms\":%.2f"
                ",\"ack_latency_p99_ms\":%.2f,\"errors\":%" PRIu64 ",\"resends\":%" PRIu64
                ",\"batches_rejected\":%" PRIu64 ",\"complete\":%s}",
                samples_sent, samples_acked, batches_sent, batches_acked, elapsed_seconds,
                elapsed_seconds > 0 ? static_cast<double>(samples_acked) / elapsed_seconds : 0.0,
                ack_latency_p50_ms, ack_latency_p99_ms, errors, resends, batches_rejected,
                complete ? "true" : "false");
  return buf;
}

Result<RecordedSample> ParseRecordLine(std::string_view line) {
  RecordedSample r;
  std::string_view fields[4];
  for (std::string_view& field : fields) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return Status::InvalidArgument("record line has fewer than 5 fields");
    }
    field = line.substr(0, space);
    line.remove_prefix(space + 1);
  }
  r.agent_id = std::string(fields[0]);
  r.series = std::string(line);
  auto number = [](std::string_view text, int base, auto* out) {
    std::string s(text);
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s.c_str(), &end, base);
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    return !s.empty() && *end == '\0' && errno == 0;
  };
  if (r.agent_id.empty() || r.series.empty() || !number(fields[1], 10, &r.seq) ||
      !number(fields[2], 10, &r.timestamp_ms) || !number(fields[3], 16, &r.value_bits)) {
    return Status::InvalidArgument("malformed record line");
  }
  return r;
}

struct LoadGenerator::Impl {
  // A batch generated and not yet acknowledged.
  struct Pending {
    uint64_t seq = 0;
    int round = 0;
    std::string payload;
    std::vector<double> values;
    int64_t sent_at_ms = -1;  // Latest send on the current connection; -1: not sent on it.
    int64_t sent_at_us = 0;   // Latest send, for the ack latency.
    bool ever_sent = false;
  };
  struct Agent {
    explicit Agent(zmq::socket_t s) : socket(std::move(s)) {}
    zmq::socket_t socket;
    uint64_t spool_id = 0;
    bool hello_acked = false;
    int64_t hello_sent_at_ms = -1;
    int64_t retry_at_ms = 0;
    int64_t backoff_ms = kInitialBackoffMs;
    int next_round = 0;
    std::deque<Pending> pending;  // By seq.
  };

  Impl(const LoadOptions& o, std::FILE* record)
      : options(o), fleet(o.fleet), batch(BatchTemplate(fleet)), record(record), context(1) {}
  ~Impl() {
    agents.clear();  // Sockets before the context.
    context.close();
    if (record != nullptr) std::fclose(record);
  }

  void Connect();
  bool Done() const;
  void Generate(int a);
  void SendDue(int a, int64_t now);
  bool TrySend(Agent& agent, const std::string& payload);
  void BackOff(Agent& agent, int64_t now);
  void HandleReply(int a, const zmq::message_t& msg, int64_t now);
  void OnAck(int a, uint64_t seq);
  void OnError(int a, const wire::Error& error, int64_t now);
  Status WriteRecord(int a, const Pending& p);

  const LoadOptions options;
  SyntheticFleet fleet;
  wire::Envelope batch;  // BatchTemplate, filled in per round.
  std::FILE* const record;
  bool record_dirty = false;
  Status record_status;
  zmq::context_t context;
  std::vector<Agent> agents;
  LoadSummary summary;
  std::vector<float> latencies_ms;
  double last_ack_s = 0;
  std::atomic<uint64_t>* batches_acked = nullptr;  // LoadGenerator's counter.
};

void LoadGenerator::Impl::Connect() {
  std::random_device entropy;
  agents.reserve(options.fleet.agents);
  for (int a = 0; a < options.fleet.agents; ++a) {
    Agent agent(zmq::socket_t(context, zmq::socket_type::dealer));
    // A fresh sequence space per run, so a collector never takes this run's
    // batches for resends of an earlier run's.
    agent.spool_id = (static_cast<uint64_t>(entropy()) << 32) | entropy();
    agent.socket.set(zmq::sockopt::immediate, 1);
    agent.socket.set(zmq::sockopt::linger, 0);
    agent.socket.set(zmq::sockopt::reconnect_ivl, 100);
    agent.socket.set(zmq::sockopt::reconnect_ivl_max,
                     static_cast<int>(options.max_retry_backoff.count()));
    agent.socket.connect(options.endpoint);
    agents.push_back(std::move(agent));
  }
}

bool LoadGenerator::Impl::Done() const {
  return std::all_of(agents.begin(), agents.end(), [&](const Agent& agent) {
    return agent.next_round >= options.rounds && agent.pending.empty();
  });
}

void LoadGenerator::Impl::Generate(int a) {
  Agent& agent = agents[a];
  while (agent.next_round < options.rounds &&
         agent.pending.size() < static_cast<size_t>(options.window)) {
    Pending p;
    p.round = agent.next_round++;
    p.seq = static_cast<uint64_t>(p.round) + 1;
    p.values = fleet.NextValues(a);
    const int64_t ts = fleet.RoundTimestampMs(p.round);
    wire::Batch* b = batch.mutable_batch();
    b->set_seq(p.seq);
    for (int i = 0; i < b->series_size(); ++i) {
      wire::Series* s = b->mutable_series(i);
      s->set_timestamps_ms(0, ts);
      s->set_values(0, p.values[i]);
    }
    p.payload = batch.SerializeAsString();
    agent.pending.push_back(std::move(p));
  }
}

bool LoadGenerator::Impl::TrySend(Agent& agent, const std::string& payload) {
  try {
    return agent.socket.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    return false;  // No connected collector (ZMQ_IMMEDIATE): retried after a back-off.
  }
}

void LoadGenerator::Impl::BackOff(Agent& agent, int64_t now) {
  agent.retry_at_ms = now + agent.backoff_ms;
  agent.backoff_ms = std::min<int64_t>(agent.backoff_ms * 2, options.max_retry_backoff.count());
}

void LoadGenerator::Impl::SendDue(int a, int64_t now) {
  Agent& agent = agents[a];
  if (now < agent.retry_at_ms) return;
  if (!agent.hello_acked) {
    if (agent.hello_sent_at_ms >= 0 &&
        now - agent.hello_sent_at_ms < options.ack_timeout.count()) {
      return;
    }
    wire::Envelope env = wirecodec::NewEnvelope();
    wire::Hello* hello = env.mutable_hello();
    hello->set_agent_id(fleet.AgentId(a));
    hello->set_agent_version(std::string("vitals_ingest_load ") + kVersion);
    hello->set_hostname(fleet.AgentId(a));
    hello->set_spool_id(agent.spool_id);
    hello->set_interval_ms(static_cast<uint32_t>(options.fleet.interval_ms));
    if (!TrySend(agent, env.SerializeAsString())) {
      BackOff(agent, now);
      return;
    }
    if (agent.hello_sent_at_ms >= 0) BackOff(agent, now);  // The last one went unanswered.
    agent.hello_sent_at_ms = now;
    return;
  }
  for (Pending& p : agent.pending) {
    if (p.sent_at_ms >= 0 && now - p.sent_at_ms < options.ack_timeout.count()) continue;
    const bool resend = p.ever_sent;
    if (!TrySend(agent, p.payload)) {
      BackOff(agent, now);
      return;
    }
    p.sent_at_ms = now;
    if (!p.ever_sent) {
      p.ever_sent = true;
      ++summary.batches_sent;
      summary.samples_sent += p.values.size();
    }
    p.sent_at_us = SteadyMicros();
    if (resend) {
      ++summary.resends;
      BackOff(agent, now);  // An unanswered batch: the collector may be struggling or gone.
      return;
    }
  }
}

void LoadGenerator::Impl::HandleReply(int a, const zmq::message_t& msg, int64_t now) {
  Agent& agent = agents[a];
  wire::Envelope env;
  if (!env.ParseFromArray(msg.data(), static_cast<int>(msg.size())) ||
      env.protocol_major() != static_cast<uint32_t>(kProtocolMajor)) {
    ++summary.errors;
    return;
  }
  agent.backoff_ms = kInitialBackoffMs;
  agent.retry_at_ms = 0;
  switch (env.body_case()) {
    case wire::Envelope::kHelloAck:
      if (!agent.hello_acked) {
        agent.hello_acked = true;
        // Whatever was in flight went to an earlier connection: send it again.
        for (Pending& p : agent.pending) p.sent_at_ms = -1;
      }
      break;
    case wire::Envelope::kAck:
      for (uint64_t seq : env.ack().seqs()) OnAck(a, seq);
      break;
    case wire::Envelope::kError:
      ++summary.errors;
      OnError(a, env.error(), now);
      break;
    default:
      ++summary.errors;
  }
}

void LoadGenerator::Impl::OnAck(int a, uint64_t seq) {
  Agent& agent = agents[a];
  auto it = std::find_if(agent.pending.begin(), agent.pending.end(),
                         [seq](const Pending& p) { return p.seq == seq; });
  if (it == agent.pending.end()) return;  // A late ack of a resent batch.
  if (record != nullptr && record_status.ok()) record_status = WriteRecord(a, *it);
  if (it->ever_sent) latencies_ms.push_back(static_cast<float>(SteadyMicros() - it->sent_at_us) / 1000);
  ++summary.batches_acked;
  summary.samples_acked += it->values.size();
  last_ack_s = SteadySeconds();
  agent.pending.erase(it);
  batches_acked->fetch_add(1);
}

void LoadGenerator::Impl::OnError(int a, const wire::Error& error, int64_t now) {
  Agent& agent = agents[a];
  switch (error.code()) {
    case wire::Error::HELLO_REQUIRED:
      // The collector restarted. Errors for the other batches in flight
      // follow; one Hello answers them all.
      if (!agent.hello_acked && agent.hello_sent_at_ms >= 0) return;
      agent.hello_acked = false;
      agent.hello_sent_at_ms = -1;
      for (Pending& p : agent.pending) p.sent_at_ms = -1;
      return;
    case wire::Error::INVALID_BATCH:
    case wire::Error::TOO_LARGE: {
      // Resending the same bytes cannot succeed: a bug in this generator.
      std::fprintf(stderr, "vitals_ingest_load: %s refused batch %" PRIu64 ": %s\n",
                   fleet.AgentId(a).c_str(), error.seq(), error.message().c_str());
      auto it = std::find_if(agent.pending.begin(), agent.pending.end(),
                             [&](const Pending& p) { return p.seq == error.seq(); });
      if (it != agent.pending.end()) {
        agent.pending.erase(it);
        ++summary.batches_rejected;
      }
      return;
    }
    default:  // STORAGE_FAILED and the like: resent after the ack timeout.
      BackOff(agent, now);
  }
}

Status LoadGenerator::Impl::WriteRecord(int a, const Pending& p) {
  const std::string& agent_id = fleet.AgentId(a);
  const int64_t ts = fleet.RoundTimestampMs(p.round);
  for (size_t i = 0; i < p.values.size(); ++i) {
    const std::string& series = fleet.StoredSeriesText(a, static_cast<int>(i));
    if (std::fprintf(record, "%s %" PRIu64 " %" PRId64 " %016" PRIx64 " %s\n", agent_id.c_str(),
                     p.seq, ts, std::bit_cast<uint64_t>(p.values[i]), series.c_str()) < 0) {
      return Status::IOError(std::string("writing the record file: ") + std::strerror(errno));
    }
  }
  record_dirty = true;
  return Status::Ok();
}

LoadGenerator::LoadGenerator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->batches_acked = &batches_acked_;
}

LoadGenerator::~LoadGenerator() = default;

Result<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(const LoadOptions& options) {
  if (options.endpoint.empty()) return Status::InvalidArgument("no endpoint");
  if (options.fleet.agents < 1 || options.fleet.series_per_agent < 1 || options.rounds < 0 ||
      options.window < 1 || options.fleet.interval_ms < 1) {
    return Status::InvalidArgument(
        "agents, series and window must be at least 1, rounds at least 0, interval positive");
  }
  std::FILE* record = nullptr;
  if (!options.record_path.empty()) {
    record = std::fopen(options.record_path.c_str(), "a");
    if (record == nullptr) {
      return Status::IOError("cannot open " + options.record_path + ": " + std::strerror(errno));
    }
  }
  auto impl = std::make_unique<Impl>(options, record);
  try {
    impl->Connect();
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("endpoint " + options.endpoint + ": " + e.what());
  }
  return std::unique_ptr<LoadGenerator>(new LoadGenerator(std::move(impl)));
}

Result<LoadSummary> LoadGenerator::Run() {
  Impl& s = *impl_;
  const double start_s = SteadySeconds();
  const int64_t deadline_ms = SteadyMillis() + s.options.deadline.count();
  std::vector<zmq::pollitem_t> items;
  for (Impl::Agent& agent : s.agents) items.push_back({agent.socket.handle(), 0, ZMQ_POLLIN, 0});

  while (!stop_.load() && SteadyMillis() < deadline_ms && !s.Done()) {
    int64_t now = SteadyMillis();
    for (size_t a = 0; a < s.agents.size(); ++a) {
      s.Generate(static_cast<int>(a));
      s.SendDue(static_cast<int>(a), now);
    }
    try {
      zmq::poll(items.data(), items.size(), kMaxPollWait);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return Status::Internal(std::string("zmq_poll: ") + e.what());
    }
    now = SteadyMillis();
    for (size_t a = 0; a < s.agents.size(); ++a) {
      if (!(items[a].revents & ZMQ_POLLIN)) continue;
      zmq::message_t msg;
      while (s.agents[a].socket.recv(msg, zmq::recv_flags::dontwait)) {
        s.HandleReply(static_cast<int>(a), msg, now);
      }
    }
    if (s.record_dirty) {
      // Keeps the file current, so another process can follow the run.
      std::fflush(s.record);
      s.record_dirty = false;
    }
    if (!s.record_status.ok()) return s.record_status;
  }

  LoadSummary summary = s.summary;
  summary.complete = s.Done();
  summary.elapsed_seconds =
      (summary.complete && s.last_ack_s > 0 ? s.last_ack_s : SteadySeconds()) - start_s;
  SetLatencyPercentiles(std::move(s.latencies_ms), &summary);
  if (s.record != nullptr && std::fflush(s.record) != 0) {
    return Status::IOError(std::string("writing the record file: ") + std::strerror(errno));
  }
  return summary;
}

}  // namespace vitals::bench
