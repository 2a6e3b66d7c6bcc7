#include "benchmarks/report.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace gaio_bench {
namespace {

std::vector<std::pair<const char*, double>> Fields(const LoadResult& r) {
  std::vector<std::pair<const char*, double>> all = {
      {"mb_per_s", r.mb_per_s},
      {"msgs_per_s", r.msgs_per_s},
      {"p50_us", r.p50_us},
      {"p90_us", r.p90_us},
      {"p99_us", r.p99_us},
      {"p999_us", r.p999_us},
      {"max_us", r.max_us},
      {"seconds", r.seconds},
      {"rss_per_conn_bytes", r.rss_per_conn_bytes},
      {"lost", r.lost},
      {"server_cpu_us_per_msg", r.server_cpu_us_per_msg},
      {"full_handshakes", r.full_handshakes},
      {"resumed_handshakes", r.resumed_handshakes}};
  std::vector<std::pair<const char*, double>> measured;
  for (const auto& f : all) {
    if (f.second >= 0) measured.push_back(f);
  }
  return measured;
}

}  // namespace

std::string ToJson(const LoadResult& r) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : Fields(r))
    parts.push_back(absl::StrFormat("\"%s\": %.3f", name, value));
  parts.push_back(absl::StrCat("\"messages\": ", r.messages));
  parts.push_back(absl::StrCat("\"errors\": ", r.errors));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string ToText(const LoadResult& r) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : Fields(r)) {
    // Per-message CPU figures are fractions of a microsecond.
    if (absl::string_view(name) == "server_cpu_us_per_msg") {
      parts.push_back(absl::StrFormat("%s=%.3f", name, value));
    } else if (absl::EndsWith(name, "_handshakes")) {  // counts
      parts.push_back(absl::StrFormat("%s=%.0f", name, value));
    } else {
      parts.push_back(absl::StrFormat("%s=%.1f", name, value));
    }
  }
  parts.push_back(absl::StrCat("errors=", r.errors));
  return absl::StrJoin(parts, "  ");
}

}  // namespace gaio_bench
