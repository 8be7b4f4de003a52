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
  auto flush = [self] {
    if (!self->state.buffer.empty()) {
      write_stdout(self->state.buffer);
      self->state.buffer.clear();
    }
  };
  return {
      [self, ctx, flush](log_atom, const model::log_record& record) {
        model::append_log_line(self->state.buffer, record);
        self->state.buffer += '\n';
        ctx->logs->written(1);
        // Batch lines that arrive together into one write.
        if (self->mailbox().empty() || self->state.buffer.size() > 64 * 1024)
          flush();
      },
      [flush](drain_atom) {
        flush();
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
