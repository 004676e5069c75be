#pragma once

#include <string>

#include "common/status.h"

namespace vitals {

// A CurveZMQ key pair, Z85-encoded (40 characters each).
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

// Reads a Z85 key (40 characters, surrounding whitespace ignored) from
// `path`. InvalidArgument naming the file if it is unreadable or not a key.
Result<std::string> ReadCurveKeyFile(const std::string& path);

// A new random key pair from libzmq (zmq_curve_keypair).
Result<CurveKeyPair> GenerateCurveKeyPair();

// Writes <dir>/<name>.pub (mode 0644) and <dir>/<name>.key (mode 0600, the
// secret). Refuses to overwrite existing files.
Status WriteCurveKeyPair(const CurveKeyPair& pair, const std::string& dir, const std::string& name);

}  // namespace vitals
