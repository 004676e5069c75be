#include <algorithm>
#include <cstring>
#include "storage/encoding.h"

namespace vitals::storage {

void AppendSeriesKey(std::span<const LabelRef> labels, std::string* key) {
  for (const LabelRef& l : labels) {
    key->append(l.name);
    key->push_back('\xff');
    key->append(l.value);
    key->push_back('\xff');
  }
}

bool LabelsFromSeriesKey(std::string_view key, Labels* labels) {
  labels->clear();
  size_t pos = 0;
  while (pos < key.size()) {
    size_t name_end = key.find('\xff', pos);
    if (name_end == std::string_view::npos) return false;
    size_t value_end = key.find('\xff', name_end + 1);
    if (value_end == std::string_view::npos) return false;
    labels->push_back(Label{std::string(key.substr(pos, name_end - pos)),
                            std::string(key.substr(name_end + 1, value_end - name_end - 1))});
    pos = value_end + 1;
  }
  return true;
}


int CompareSeriesKeys(std::string_view a, std::string_view b) {
  // Keys are name\xffvalue\xff... and \xff never occurs in valid UTF-8, so
  // up to the first differing byte both keys are in the same field at the
  // same offset. There, the key whose field ends (\xff) is the smaller, as
  // the shorter string; otherwise the bytes decide, as string comparison.
  const size_t n = std::min(a.size(), b.size());
  const auto* pa = reinterpret_cast<const unsigned char*>(a.data());
  const auto* pb = reinterpret_cast<const unsigned char*>(b.data());
  size_t i = 0;
  // Eight bytes at a time: keys of one metric share long prefixes.
  for (; i + 8 <= n; i += 8) {
    uint64_t wa, wb;
    std::memcpy(&wa, pa + i, 8);
    std::memcpy(&wb, pb + i, 8);
    if (wa != wb) break;
  }
  while (i < n && pa[i] == pb[i]) ++i;
  if (i == n) return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  if (pa[i] == 0xff) return -1;
  if (pb[i] == 0xff) return 1;
  return pa[i] < pb[i] ? -1 : 1;
}

}  // namespace vitals::storage
