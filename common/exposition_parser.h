#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>

#include "common/labels.h"
#include "common/status.h"

// Readers for the Prometheus text exposition format (0.0.4) and OpenMetrics
// 1.0 text, one entry at a time, so files of any size stream through.
namespace vitals::exposition {

enum class Format {
  // text/plain; version=0.0.4: optional integer timestamps in milliseconds,
  // "# HELP" / "# TYPE" lines, other comments and blank lines ignored.
  kPrometheusText,
  // application/openmetrics-text; version=1.0.0: timestamps in seconds with
  // an optional fraction, "# HELP" / "# TYPE" / "# UNIT", exemplars after
  // " # ", and a final "# EOF" line that nothing may follow.
  kOpenMetrics,
};

enum class EntryKind {
  kSample,
  kHelp,  // family, text (unescaped)
  kType,  // family, text: "counter", "gauge", "histogram", ... as written
  kUnit,  // family, text (OpenMetrics only)
};

// One line that carries something: a sample or a metadata line.
struct Entry {
  EntryKind kind = EntryKind::kSample;
  int line = 0;  // 1-based line number in the input.

  // kSample. `labels` holds __name__ first, then the labels in the order
  // written, values unescaped; not canonicalized or validated beyond syntax
  // (see CanonicalizeAndValidate).
  Labels labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;  // OpenMetrics seconds converted as Prometheus does.
  bool has_exemplar = false;            // OpenMetrics " # {...} v" after the sample; skipped.

  // kHelp, kType, kUnit.
  std::string family;
  std::string text;
};

struct ParserOptions {
  // Longer lines are an error rather than an unbounded buffer.
  size_t max_line_bytes = 1 << 20;
};

// Pulls entries out of a stream. Not thread-safe. Once Next returns an
// error, the parser is done.
class Parser {
 public:
  // Reads `in`, which must outlive the parser. `source_name` (a file name)
  // starts every error message: "metrics.om:12:5: ...".
  Parser(std::istream& in, std::string source_name, Format format, ParserOptions options = {});
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // The next entry in *entry: true, or false at the end of the input (after
  // "# EOF" for OpenMetrics). InvalidArgument naming source, line and column
  // on a syntax error, a missing or misplaced "# EOF", or a read error.
  Result<bool> Next(Entry* entry);

  // Lines read so far.
  int line() const { return line_number_; }

 private:
  // Reads the next line into line_ (without '\n'); false at end of input.
  Result<bool> ReadLine();
  Status Error(size_t column, const std::string& message) const;
  // Parses line_ into *entry; false if the line carries nothing.
  Result<bool> ParseLine(Entry* entry);
  Result<bool> ParseComment(Entry* entry);
  Status ParseSample(Entry* entry);

  std::istream& in_;
  const std::string source_name_;
  const Format format_;
  const ParserOptions options_;
  std::string buffer_;      // Read from in_ but not yet consumed.
  size_t buffer_pos_ = 0;
  std::string line_;
  int line_number_ = 0;
  bool saw_eof_marker_ = false;
  bool done_ = false;
};

// Go's strconv.ParseFloat spelling as the text formats use it: decimal or
// exponent notation, "NaN", "+Inf", "-Inf" (any case). Nothing else may
// follow the number.
std::optional<double> ParseValue(std::string_view text);

}  // namespace vitals::exposition
