// Listening sockets for test servers and proxies, on 127.0.0.1 only.
#pragma once

namespace ohfp::testing {

/// A TCP socket listening on a free 127.0.0.1 port (close-on-exec), or -1
/// with errno set. `*port` receives the port the kernel chose.
int ListenOnLoopback(int backlog, int* port);

}  // namespace ohfp::testing
