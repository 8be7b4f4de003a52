#include "storage/postgres/connection.hpp"

namespace um::storage::postgres {

failure_kind kind_of_sqlstate(const std::string& state) {
  auto is = [&](const char* prefix) { return state.rfind(prefix, 0) == 0; };
  if (is("XX001") || is("XX002"))
    return failure_kind::corrupt;
  // Connection lost, server going away, resources short, cancelled, lock or
  // serialization trouble, a read-only server after a failover: all may clear.
  if (is("08") || is("57P") || is("53") || is("57014") || is("40") || is("55P03") ||
      is("55006") || is("25006"))
    return failure_kind::unavailable;
  return failure_kind::internal;
}

model::event read_event(const pqxx::row& r, int first) {
  model::event e;
  e.source = text_of(r[first]);
  e.id = text_of(r[first + 1]);
  e.type = text_of(r[first + 2]);
  e.subject = text_of(r[first + 3]);
  e.time = r[first + 4].as<std::int64_t>();
  e.data = text_of(r[first + 5]);
  e.ingested_at = r[first + 6].as<std::int64_t>();
  return e;
}

} // namespace um::storage::postgres
