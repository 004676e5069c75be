#include "storage/encoding.h"

namespace vitals::storage {

void AppendSeriesKey(const Labels& labels, std::string* key) {
  for (const Label& l : labels) {
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

namespace {

// The next 0xFF-terminated field of `key` at *pos.
std::string_view NextField(std::string_view key, size_t* pos) {
  size_t end = key.find('\xff', *pos);
  if (end == std::string_view::npos) end = key.size();
  std::string_view field = key.substr(*pos, end - *pos);
  *pos = end + 1;
  return field;
}

}  // namespace

int CompareSeriesKeys(std::string_view a, std::string_view b) {
  size_t pa = 0, pb = 0;
  while (pa < a.size() && pb < b.size()) {
    std::string_view na = NextField(a, &pa), nb = NextField(b, &pb);
    if (int c = na.compare(nb); c != 0) return c < 0 ? -1 : 1;
    std::string_view va = NextField(a, &pa), vb = NextField(b, &pb);
    if (int c = va.compare(vb); c != 0) return c < 0 ? -1 : 1;
  }
  if (pa < a.size()) return 1;   // a has more labels.
  if (pb < b.size()) return -1;
  return 0;
}

}  // namespace vitals::storage
