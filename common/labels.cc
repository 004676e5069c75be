#include "common/labels.h"

#include <algorithm>

namespace vitals {

void Canonicalize(Labels* labels) {
  std::erase_if(*labels, [](const Label& l) { return l.value.empty(); });
  auto by_name = [](const Label& a, const Label& b) { return a.name < b.name; };
  if (labels->size() > 16) {
    std::stable_sort(labels->begin(), labels->end(), by_name);
    return;
  }
  // Label sets are small and often sorted already: an insertion sort (stable
  // too) needs no buffer, where stable_sort allocates one per call.
  for (auto it = labels->begin(); it != labels->end(); ++it) {
    if (it == labels->begin() || !by_name(*it, *(it - 1))) continue;
    Label moving = std::move(*it);
    auto hole = it;
    do {
      *hole = std::move(*(hole - 1));
      --hole;
    } while (hole != labels->begin() && by_name(moving, *(hole - 1)));
    *hole = std::move(moving);
  }
}

std::string_view GetLabel(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};
}

void SetLabel(Labels* labels, std::string_view name, std::string_view value) {
  auto it = std::lower_bound(labels->begin(), labels->end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels->end() && it->name == name) {
    it->value = std::string(value);
  } else {
    labels->insert(it, Label{std::string(name), std::string(value)});
  }
}

namespace {

bool IsNameStart(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
}

bool IsNameChar(char c, bool allow_colon) {
  return IsNameStart(c, allow_colon) || (c >= '0' && c <= '9');
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty() || !IsNameStart(name[0], allow_colon)) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return IsNameChar(c, allow_colon); });
}

}  // namespace

bool IsValidMetricName(std::string_view name) { return IsValidName(name, true); }
bool IsValidLabelName(std::string_view name) { return IsValidName(name, false); }

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong encodings, surrogates and values past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

Status ValidateSeriesLabels(const Labels& labels) {
  std::string_view name = GetLabel(labels, kMetricNameLabel);
  if (name.empty()) return Status::InvalidArgument("series has no metric name");
  if (!IsValidMetricName(name)) {
    return Status::InvalidArgument("invalid metric name \"" + std::string(name) + "\"");
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const Label& l = labels[i];
    if (l.name != kMetricNameLabel && !IsValidLabelName(l.name)) {
      return Status::InvalidArgument("invalid label name \"" + l.name + "\"");
    }
    if (i > 0 && labels[i - 1].name >= l.name) {
      return Status::InvalidArgument(labels[i - 1].name == l.name
                                         ? "duplicate label name \"" + l.name + "\""
                                         : "labels not sorted by name");
    }
    if (!IsValidUtf8(l.value)) {
      return Status::InvalidArgument("label \"" + l.name + "\" has a value that is not UTF-8");
    }
  }
  return Status::Ok();
}

Labels ToLabels(std::span<const LabelRef> labels) {
  Labels out;
  out.reserve(labels.size());
  for (const LabelRef& l : labels) out.push_back(Label{std::string(l.name), std::string(l.value)});
  return out;
}

Status CanonicalizeAndValidate(Labels* labels) {
  Canonicalize(labels);
  return ValidateSeriesLabels(*labels);
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string FormatSeries(const Labels& labels) {
  std::string out(GetLabel(labels, kMetricNameLabel));
  bool first = true;
  for (const Label& l : labels) {
    if (l.name == kMetricNameLabel) continue;
    out += first ? "{" : ",";
    first = false;
    out += l.name;
    out += "=\"";
    out += EscapeLabelValue(l.value);
    out += '"';
  }
  if (!first) out += '}';
  return out;
}

}  // namespace vitals
