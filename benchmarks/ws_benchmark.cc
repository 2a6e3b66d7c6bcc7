// gaio::ws hot paths on one core: unmasking, UTF-8 validation and a server
// session receiving single-frame messages (unmask in place + zero-copy view).
//   ./bazelw run --config=opt //benchmarks:ws_benchmark
// Bytes/s is the payload rate (docs/WEBSOCKET.md records the figures).
#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "ws/frame.h"
#include "ws/mask.h"
#include "ws/session.h"
#include "ws/utf8.h"

namespace {

void BM_Unmask(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0x5a);
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  for (auto _ : state) {
    gaio::ws::MaskInPlace(data.data(), data.size(), key);
    benchmark::DoNotOptimize(data.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Unmask)->ArgName("bytes")->Arg(125)->Arg(1024)->Arg(16 << 10)->Arg(1 << 20);

// An unaligned payload (a frame header of 6 bytes before it).
void BM_UnmaskUnaligned(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)) + 6, 0x5a);
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  for (auto _ : state) {
    gaio::ws::MaskInPlace(data.data() + 6, data.size() - 6, key);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_UnmaskUnaligned)->ArgName("bytes")->Arg(16 << 10)->Arg(1 << 20);

void BM_Utf8Ascii(benchmark::State& state) {
  const std::string text(static_cast<size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        gaio::ws::IsValidUtf8(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Utf8Ascii)->ArgName("bytes")->Arg(16 << 10);

void BM_Utf8Multibyte(benchmark::State& state) {
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0))) text += "\xce\xba\xe1\xbd\xb9";
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        gaio::ws::IsValidUtf8(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8Multibyte)->ArgName("bytes")->Arg(16 << 10);

// A server session receiving one masked binary frame per feed(). The frame
// is re-masked each iteration (the session unmasks it in place), so the rate
// counts two passes over the payload.
void BM_ServerReceive(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  gaio::ws::FrameHeader h;
  h.opcode = 2;
  h.masked = true;
  h.payload_size = n;
  h.mask_key[0] = 1;
  h.mask_key[1] = 2;
  h.mask_key[2] = 3;
  h.mask_key[3] = 4;
  std::vector<uint8_t> frame(gaio::ws::kMaxFrameHeaderSize + n, 'x');
  const size_t header = gaio::ws::WriteFrameHeader(h, frame.data());
  frame.resize(header + n);
  gaio::ws::Session session(gaio::ws::SessionOptions{});
  for (auto _ : state) {
    gaio::ws::MaskInPlace(frame.data() + header, n, h.mask_key);
    session.feed(absl::MakeSpan(frame));
    absl::StatusOr<gaio::ws::Event> e = session.next();
    benchmark::DoNotOptimize(e->data.data());
    benchmark::DoNotOptimize(session.next());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}
BENCHMARK(BM_ServerReceive)->ArgName("bytes")->Arg(64)->Arg(1024)->Arg(64 << 10);

}  // namespace

BENCHMARK_MAIN();
