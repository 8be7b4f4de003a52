#pragma once

namespace um::app {

/// GETs `/health` on 127.0.0.1:`port` with a short timeout; 0 on a 200, else 1.
/// Lets a container health check run without curl or wget.
int probe_health(int port);

} // namespace um::app
