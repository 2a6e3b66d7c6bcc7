// A counting global operator new, for the tests that prove a path makes no
// heap allocation. Linking this library into a test binary replaces every
// form of operator new (the engine's pools use the nothrow forms) and of
// operator delete; AllocationCount() says how many allocations were made so
// far, by any thread.
#ifndef GAIO_TESTS_COUNTING_NEW_H_
#define GAIO_TESTS_COUNTING_NEW_H_

#include <cstdint>

namespace gaio::testing {

uint64_t AllocationCount();

}  // namespace gaio::testing

#endif  // GAIO_TESTS_COUNTING_NEW_H_
