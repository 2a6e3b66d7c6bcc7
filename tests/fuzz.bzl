"""A libFuzzer target and the replay of its committed seed corpus.

One macro for the fuzzers of tests/ (watcher_fuzzer), tests/tls
(session_fuzzer) and tests/ws (frame_fuzzer).
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def fuzz_target(name, fuzzer, corpus_test, deps, corpus = "fuzz_corpus"):
    """Declares the fuzzer `name` and the cc_test `corpus_test`.

    `name` is tagged manual: `bazel test //...` (gcc, no libFuzzer) never
    builds it. With --config=fuzz (clang, ASan) it is a libFuzzer binary:
      ./bazelw build --config=fuzz //tests:watcher_fuzzer
    Without, it replays the inputs given on its command line
    (tests/fuzz_replay_main.cc). `corpus_test` replays the committed seed
    corpus, the files of the package's directory `corpus`, under the default
    toolchain. tests/CMakeLists.txt and its subdirectories declare the same
    corpus tests (tools/check_test_lists.sh).

    Args:
      name: the fuzzer binary.
      fuzzer: its source, defining LLVMFuzzerTestOneInput.
      corpus_test: the name of the replay test.
      deps: what the fuzzer links.
      corpus: the seed corpus directory, in this package.
    """
    cc_binary(
        name = name,
        testonly = True,
        srcs = [fuzzer] + select({
            "//tests:fuzzing": [],
            "//conditions:default": ["//tests:fuzz_replay_main.cc"],
        }),
        linkopts = select({
            "//tests:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        tags = ["manual"],
        deps = deps,
    )
    cc_test(
        name = corpus_test,
        size = "small",
        srcs = [
            fuzzer,
            "//tests:fuzz_replay_main.cc",
        ],
        args = [native.package_name() + "/" + corpus],
        data = native.glob([corpus + "/*"]),
        deps = deps,
    )
