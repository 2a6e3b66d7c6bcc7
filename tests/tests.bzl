"""The GoogleTest suites of tests/ that share their dependencies, by group.

The one list of these tests for both builds: tests/BUILD.bazel makes a cc_test
of each name, and tests/CMakeLists.txt reads this file to make the same ctest
tests. CMake parses it with a regular expression, so keep every *_TESTS a
plain list of string literals (comments allowed). Tests with settings of their
own are declared in both builds by hand; tools/check_test_lists.sh fails when
`bazel test //...` and ctest disagree on any name.
"""

# Small suites of the Watcher API: //watcher, test_util, fault_util.
WATCHER_TESTS = [
    "latency_modes_test",
    "readiness_test",
    "signal_set_test",
    "swap_buffer_test",
    "takeover_test",
    "watcher_api_test",
    "watcher_order_test",
]

# Medium suites over the echo harness.
ECHO_TESTS = [
    "watcher_10k_test",
    "watcher_echo_test",
]

# Medium reliability suites: echo harness and fault injection.
RELIABILITY_TESTS = [
    "accept_connect_test",
    "datagram_test",
    "event_loop_test",
    "fault_test",
    "fd_kinds_test",
    "hardening_test",
    "race_test",
    "signal_test",
    "syscall_fault_test",
]
