#include "common/go_json.h"

namespace vitals {
namespace {

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

size_t GoUtf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  auto cont = [&](size_t k) { return k < text.size() && (byte(k) & 0xC0) == 0x80; };
  unsigned char b = byte(i);
  if (b >= 0xC2 && b <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b >= 0xE0 && b <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (b == 0xE0 && byte(i + 1) < 0xA0) return 0;   // Overlong.
    if (b == 0xED && byte(i + 1) >= 0xA0) return 0;  // Surrogate.
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (b == 0xF0 && byte(i + 1) < 0x90) return 0;   // Overlong.
    if (b == 0xF4 && byte(i + 1) >= 0x90) return 0;  // Above U+10FFFF.
    return 4;
  }
  return 0;
}

void AppendGoJsonString(std::string* out, std::string_view text) {
  out->push_back('"');
  size_t run = 0;  // Start of the bytes not yet copied.
  for (size_t i = 0; i < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&') {
      ++i;
      continue;
    }
    size_t len = 1;
    const char* escape = nullptr;
    char unicode[7] = {'\\', 'u', '0', '0', 0, 0, 0};
    if (b < 0x80) {
      switch (b) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\n': escape = "\\n"; break;
        case '\r': escape = "\\r"; break;
        case '\t': escape = "\\t"; break;
        default:
          unicode[4] = kHex[b >> 4];
          unicode[5] = kHex[b & 0xF];
          escape = unicode;
      }
    } else {
      len = GoUtf8SequenceLength(text, i);
      if (len == 0) {
        len = 1;
        escape = "\\ufffd";
      } else if (len == 3 && b == 0xE2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8) {
        escape = static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      } else {
        i += len;  // Valid UTF-8 is copied as is.
        continue;
      }
    }
    out->append(text.data() + run, i - run);
    out->append(escape);
    i += len;
    run = i;
  }
  out->append(text.data() + run, text.size() - run);
  out->push_back('"');
}

}  // namespace vitals
