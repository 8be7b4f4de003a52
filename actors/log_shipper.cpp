#include "actors/actors.hpp"

#include <stdexcept>
#include <thread>

#include <unistd.h>

#include <cerrno>

namespace um {

namespace {

// How long the shipper waits, after writing a batch, before taking the next.
constexpr auto log_linger = std::chrono::milliseconds{2};

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
  // Writes what is queued in the sink, one write per 64 KiB of lines;
  // returns whether there was anything.
  auto ship = [self, ctx] {
    auto& state = self->state;
    auto taken = ctx->logs->take();
    if (!taken.records)
      return false;
    for (const auto& record : *taken.records) {
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
    ctx->logs->written(taken.attachment);
    return true;
  };
  return {
      [self, ship](log_atom) {
        // Under load, come back a moment later for a larger batch instead of
        // being woken, and writing, for every line or two.
        if (ship())
          self->delayed_send(self, log_linger, log_atom_v);
      },
      [ship](drain_atom) {
        while (ship()) {
        }
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
