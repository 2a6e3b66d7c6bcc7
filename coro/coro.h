// gaio::coro: C++20 coroutines over gaio::Watcher (tasks, scopes, futures,
// combinators, events, channels, locks, sockets, async generators). The guide
// is docs/CORO.md.
#ifndef GAIO_CORO_CORO_H_
#define GAIO_CORO_CORO_H_

#include "coro/bytes.h"       // IWYU pragma: export
#include "coro/channel.h"     // IWYU pragma: export
#include "coro/event.h"       // IWYU pragma: export
#include "coro/event_loop.h"  // IWYU pragma: export
#include "coro/future.h"      // IWYU pragma: export
#include "coro/generator.h"   // IWYU pragma: export
#include "coro/lines.h"       // IWYU pragma: export
#include "coro/lock.h"        // IWYU pragma: export
#include "coro/reader.h"      // IWYU pragma: export
#include "coro/resolve.h"     // IWYU pragma: export
#include "coro/result.h"      // IWYU pragma: export
#include "coro/scope.h"       // IWYU pragma: export
#include "coro/signals.h"     // IWYU pragma: export
#include "coro/socket.h"      // IWYU pragma: export
#include "coro/sync.h"        // IWYU pragma: export
#include "coro/task.h"        // IWYU pragma: export
#include "coro/time.h"        // IWYU pragma: export
#include "coro/writer.h"      // IWYU pragma: export

#endif  // GAIO_CORO_CORO_H_
