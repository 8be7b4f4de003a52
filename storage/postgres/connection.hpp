#pragma once

// The PostgreSQL connection's plumbing: driver errors as `storage_error`,
// transactions that lost a race run again, arrays bound as one parameter,
// reading rows.

#include "model/event.hpp"
#include "storage/event_store.hpp"

#include <pqxx/pqxx>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace um::storage::postgres {

/// What an SQLSTATE means for a caller.
failure_kind kind_of_sqlstate(const std::string& state);

/// How often a transaction that lost a serialization or deadlock race runs again.
inline constexpr int max_attempts = 5;

/// Runs `f`, turning every driver exception into `storage_error`.
template <class F>
inline auto guarded(const char* doing, F&& f) -> decltype(f()) {
  auto what = [doing](const std::exception& e) {
    std::string text = std::string{"postgres: "} + doing + ": " + e.what();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
      text.pop_back();
    return text;
  };
  try {
    return f();
  } catch (const storage_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw storage_error(failure_kind::unavailable, what(e));
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke while COMMIT was on its way: it may have landed.
    throw storage_error(failure_kind::in_doubt, what(e));
  } catch (const pqxx::transaction_rollback& e) {
    throw storage_error(failure_kind::unavailable, what(e));
  } catch (const pqxx::sql_error& e) {
    throw storage_error(kind_of_sqlstate(e.sqlstate()), what(e));
  } catch (const std::exception& e) {
    throw storage_error(failure_kind::internal, what(e));
  }
}

/// Runs the transaction `f` again when it lost a race with another one.
template <class F>
inline auto with_retries(F&& f) -> decltype(f()) {
  for (int attempt = 1;; ++attempt) {
    try {
      return f();
    } catch (const pqxx::serialization_failure&) {
      if (attempt == max_attempts)
        throw;
    } catch (const pqxx::deadlock_detected&) {
      if (attempt == max_attempts)
        throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
  }
}

// Array literals in PostgreSQL's text form, bound as one parameter each so
// that a whole batch travels in one statement.
class text_array {
public:
  void add(const std::string& v) {
    text_ += text_.size() == 1 ? "\"" : ",\"";
    for (char c : v) {
      if (c == '"' || c == '\\')
        text_ += '\\';
      text_ += c;
    }
    text_ += '"';
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

class int_array {
public:
  void add(std::int64_t v) {
    if (text_.size() > 1)
      text_ += ',';
    text_ += std::to_string(v);
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

class float_array {
public:
  void add(double v) {
    if (text_.size() > 1)
      text_ += ',';
    char buffer[32];
    // The shortest text that reads back as the same double.
    auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
    text_.append(buffer, end);
  }
  std::string str() const { return text_ + '}'; }

private:
  std::string text_ = "{";
};

/// A field's text, bytes as stored.
inline std::string text_of(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}

/// A nullable float field; 0 for NULL.
inline double real_of(const pqxx::field& f) {
  return f.is_null() ? 0 : f.as<double>();
}

/// The event a row holds from column `first` on, in the order of every event
/// query: source, id, type, subject, time, data, ingested_at.
model::event read_event(const pqxx::row& r, int first);

} // namespace um::storage::postgres
