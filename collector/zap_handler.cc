#include "collector/zap_handler.h"

#include <array>
#include <filesystem>
#include <vector>

#include <zmq_addon.hpp>

#include "common/curve_keys.h"
#include "common/log.h"

namespace vitals::collector {

ZapHandler::ZapHandler(zmq::context_t& context, std::string allowed_dir, const Clock& clock)
    : socket_(context, zmq::socket_type::rep), allowed_dir_(std::move(allowed_dir)), clock_(clock) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
  LoadKeys();
}

void ZapHandler::LoadKeys() {
  std::set<std::string> keys;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(allowed_dir_, ec)) {
    if (entry.path().extension() != ".pub") continue;
    auto key = ReadCurveKeyFile(entry.path().string());
    if (!key.ok()) {
      LOG_WARN << "ingest: ignoring " << key.status().message();
      continue;
    }
    keys.insert(*key);
  }
  if (ec) LOG_ERROR << "ingest: cannot read allowed_agents_dir " << allowed_dir_ << ": " << ec.message();
  if (keys.size() != allowed_.size()) {
    LOG_INFO << "ingest: " << keys.size() << " agent keys allowed from " << allowed_dir_;
  }
  allowed_ = std::move(keys);
  loaded_at_ms_ = clock_.NowMillis();
}

std::optional<ZapHandler::Verdict> ZapHandler::Handle() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
    return std::nullopt;
  }
  // version, request id, domain, address, routing id, mechanism, credentials...
  Verdict verdict;
  std::string request_id = request.size() > 1 ? request[1].to_string() : "";
  if (request.size() >= 7 && request[0].to_string() == "1.0" &&
      request[5].to_string() == "CURVE" && request[6].size() == 32) {
    verdict.address = request[3].to_string();
    std::array<char, 41> z85{};
    zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(request[6].data()), 32);
    verdict.public_key = z85.data();
    if (!allowed_.contains(verdict.public_key) && clock_.NowMillis() - loaded_at_ms_ >= 1000) {
      LoadKeys();  // Perhaps the key was just added.
    }
    verdict.allowed = allowed_.contains(verdict.public_key);
  }
  std::array<std::string, 6> reply = {"1.0", request_id, verdict.allowed ? "200" : "400",
                                      verdict.allowed ? "OK" : "key not allowed",
                                      verdict.allowed ? verdict.public_key : "", ""};
  std::array<zmq::const_buffer, 6> parts;
  for (size_t i = 0; i < reply.size(); ++i) parts[i] = zmq::buffer(reply[i]);
  zmq::send_multipart(socket_, parts);
  return verdict;
}

}  // namespace vitals::collector
