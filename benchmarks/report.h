// Formatting LoadResults: a human-readable line or table and JSON.
#ifndef GAIO_BENCHMARKS_REPORT_H_
#define GAIO_BENCHMARKS_REPORT_H_

#include <string>

#include "benchmarks/load_client.h"

namespace gaio_bench {

// {"mb_per_s": ..., ...} with only the fields the workload measured.
std::string ToJson(const LoadResult& r);

// "mb_per_s=..  msgs_per_s=.. p50_us=.." with only the measured fields.
std::string ToText(const LoadResult& r);

}  // namespace gaio_bench

#endif  // GAIO_BENCHMARKS_REPORT_H_
