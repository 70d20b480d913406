// Prometheus text exposition format (version 0.0.4): one writer per scrape; providers add
// their families to it. Label values are escaped; metric names are the caller's constants.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipsd {

class MetricsWriter {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // "# HELP" and "# TYPE" lines; type is "counter" or "gauge".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, uint64_t value);
  void sample(std::string_view name, const Labels& labels, int64_t value);
  void sample(std::string_view name, const Labels& labels, double value);
  const std::string& text() const { return out_; }

 private:
  void head(std::string_view name, const Labels& labels);
  std::string out_;
};

}  // namespace sipsd
