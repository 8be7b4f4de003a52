#include "actors/actors.hpp"

#include <stdexcept>
#include <thread>

#include <unistd.h>

#include <cerrno>

namespace um {

namespace {

// Writes all of `data` to stdout, retrying short writes; gives up quietly on
// a closed pipe, since there is nowhere left to report it.
void write_stdout(const std::string& data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    auto n = ::write(STDOUT_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

} // namespace

log_shipper_actor::behavior_type
log_shipper(log_shipper_actor::stateful_pointer<log_shipper_state> self,
            context_ptr ctx) {
  log_unhandled_exceptions(self, ctx, "log-shipper");
  // Writes everything queued in the sink: one write per 64 KiB of lines.
  auto ship = [self, ctx] {
    auto& state = self->state;
    state.batch.clear();
    auto attachment = ctx->logs->take(state.batch);
    for (const auto& record : state.batch) {
      model::append_log_line(state.buffer, record);
      state.buffer += '\n';
      if (state.buffer.size() > 64 * 1024) {
        write_stdout(state.buffer);
        state.buffer.clear();
      }
    }
    if (!state.buffer.empty()) {
      write_stdout(state.buffer);
      state.buffer.clear();
    }
    ctx->logs->written(state.batch.size(), attachment);
    state.batch.clear();
  };
  return {
      [ship](log_atom) { ship(); },
      [ship](drain_atom) {
        ship();
        return true;
      },
      [](ping_atom) { return true; },
      [](crash_atom) { throw std::runtime_error("injected crash"); },
      [](hang_atom, std::int64_t ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds{ms});
      },
  };
}

} // namespace um
