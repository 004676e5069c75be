#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vitals {

// Length of the valid UTF-8 sequence at text[i] (2-4), or 0 if it is invalid,
// with the rules of Go's utf8.DecodeRuneInString (no overlong forms, no
// surrogates, nothing above U+10FFFF). REQUIRES: text[i] >= 0x80.
size_t GoUtf8SequenceLength(std::string_view text, size_t i);

// Appends `text` as a JSON string literal escaped exactly as Go's
// encoding/json does: \" \\ \n \r \t; other control characters as \u00XX;
// <, > and & as \u003c, \u003e, \u0026; U+2028 and U+2029 escaped; each
// invalid UTF-8 byte as \ufffd. What Prometheus and Alertmanager send.
void AppendGoJsonString(std::string* out, std::string_view text);

}  // namespace vitals
