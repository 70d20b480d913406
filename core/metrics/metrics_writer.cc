#include "core/metrics/metrics_writer.h"

#include <cstdio>

namespace sipsd {

void MetricsWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\') out_ += "\\\\";
    else if (c == '\n') out_ += "\\n";
    else out_ += c;
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsWriter::head(std::string_view name, const Labels& labels) {
  out_ += name;
  if (labels.empty()) {
    out_ += ' ';
    return;
  }
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    for (char c : v) {
      if (c == '\\') out_ += "\\\\";
      else if (c == '"') out_ += "\\\"";
      else if (c == '\n') out_ += "\\n";
      else out_ += c;
    }
    out_ += '"';
  }
  out_ += "} ";
}

void MetricsWriter::sample(std::string_view name, const Labels& labels, uint64_t value) {
  head(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, const Labels& labels, int64_t value) {
  head(name, labels);
  out_ += std::to_string(value);
  out_ += '\n';
}

void MetricsWriter::sample(std::string_view name, const Labels& labels, double value) {
  head(name, labels);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out_ += buf;
  out_ += '\n';
}

}  // namespace sipsd
