#include "common/curve_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <zmq.h>

namespace vitals {
namespace {

Status WriteNewFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  std::string line = content + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Status::IOError("cannot write " + path);
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadCurveKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read key file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string key = buffer.str();
  const char* kSpace = " \t\r\n";
  key.erase(0, key.find_first_not_of(kSpace));
  key.erase(key.find_last_not_of(kSpace) + 1);
  std::array<uint8_t, 32> raw{};
  if (key.size() != 40 || zmq_z85_decode(raw.data(), key.c_str()) == nullptr) {
    return Status::InvalidArgument("key file " + path +
                                   " does not hold a Z85 CurveZMQ key (40 characters); "
                                   "create one with `vitalsctl keys generate`");
  }
  return key;
}

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char public_key[41] = {};
  char secret_key[41] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status::Unavailable(std::string("cannot generate a CURVE key pair: ") +
                               zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{public_key, secret_key};
}

Status WriteCurveKeyPair(const CurveKeyPair& pair, const std::string& dir, const std::string& name) {
  RETURN_IF_ERROR(WriteNewFile(dir + "/" + name + ".key", pair.secret_key, 0600));
  return WriteNewFile(dir + "/" + name + ".pub", pair.public_key, 0644);
}

}  // namespace vitals
