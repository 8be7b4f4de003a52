#include "storage/sqlite_import.hpp"

#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/store.hpp"
#include "storage/sqlite_store.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

namespace um::storage {

namespace {

namespace fs = std::filesystem;

// A read-only connection to the SQLite file, for the scan of its events in
// storage order (the store's own interface lists newest first).
class event_scan {
public:
  explicit event_scan(const std::string& file) {
    int rc = sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) {
      std::string what = "sqlite import: cannot open " + file + ": " +
                         (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      throw storage_error(sqlite::kind_of(rc), what);
    }
    sqlite3_busy_timeout(db_, 5000);
    next_ = std::make_unique<sqlite::statement>(
        db_, "import_events", 2,
        "SELECT seq, source, id, type, subject, time, data, ingested_at FROM events "
        "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  }
  event_scan(const event_scan&) = delete;
  event_scan& operator=(const event_scan&) = delete;
  ~event_scan() {
    next_.reset();
    sqlite3_close(db_);
  }

  /// Up to `limit` events stored after `after`, in storage order; `after`
  /// moves to the last one read.
  std::vector<model::event> next(std::int64_t& after, std::size_t limit) {
    std::vector<model::event> out;
    auto& s = *next_;
    sqlite::reset_guard guard{s};
    s.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
    while (s.step()) {
      after = s.integer(0);
      out.push_back(sqlite::read_event(s, 1));
    }
    return out;
  }

private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite::statement> next_;
};

void require_equal(std::int64_t source, std::int64_t target, const std::string& what) {
  if (source != target)
    throw storage_error(failure_kind::internal,
                        "sqlite import: the copy does not match the SQLite file (" +
                            what + ": " + std::to_string(source) + " there, " +
                            std::to_string(target) + " here); the file is kept");
}

// The store was closed, so SQLite has folded its WAL into the file; any
// companions left move with it. The file goes first: once it is renamed, no
// start imports again, whatever happens to the rest.
void rename_kept(const std::string& file, const std::string& kept) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::path from = file + suffix;
    std::error_code ec;
    if (!fs::exists(from, ec))
      continue;
    fs::rename(from, kept + suffix, ec);
    if (ec)
      throw storage_error(failure_kind::unavailable, "sqlite import: cannot rename " +
                                                         from.string() + ": " +
                                                         ec.message());
  }
}

} // namespace

std::optional<std::string> sqlite_file_to_import(const store_options& options) {
  if (!options.url.empty() || sqlite_is_embedded_default())
    return std::nullopt;
  auto file = sqlite_path(options);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    return std::nullopt;
  return file;
}

sqlite_import_result import_sqlite_store(const std::string& sqlite_file,
                                         event_store& target,
                                         const import_progress& progress,
                                         std::size_t chunk_events) {
  sqlite_import_result result;
  store_options source_options;
  source_options.url = "sqlite:" + sqlite_file;
  // Opening migrates the file to the last SQLite schema, so its meters and
  // subjects read as this release stores them.
  auto source = open_sqlite_store(source_options);
  auto now = model::now_millis();
  auto source_stats = source->stats(now);

  std::set<std::string> present;
  for (const auto& stored : target.meters())
    present.insert(stored.meter.id);
  auto meters = source->meters();
  for (const auto& stored : meters) {
    if (present.count(stored.meter.id))
      continue;
    target.create_meter(stored.meter);
    ++result.meters;
  }
  auto subjects = source->subjects();
  if (!subjects.empty())
    target.restore_subjects(subjects);
  result.subjects = subjects.size();

  {
    event_scan scan{sqlite_file};
    std::int64_t after = 0;
    for (;;) {
      auto chunk = scan.next(after, chunk_events);
      if (chunk.empty())
        break;
      auto outcomes = target.append(chunk);
      result.events_read += static_cast<std::int64_t>(chunk.size());
      for (const auto& outcome : outcomes)
        if (outcome.status == model::append_status::stored)
          ++result.events_stored;
      if (progress)
        progress(result.events_read, source_stats.total_events);
    }
  }
  for (const auto& stored : meters)
    while (!target.backfill_meter(stored.meter.id, chunk_events)) {
    }

  auto target_stats = target.stats(now);
  require_equal(source_stats.total_events, target_stats.total_events, "events");
  require_equal(source_stats.events_last_hour, target_stats.events_last_hour,
                "events in the last hour");
  require_equal(source_stats.unique_entities, target_stats.unique_entities, "subjects");
  require_equal(static_cast<std::int64_t>(source_stats.event_types.size()),
                static_cast<std::int64_t>(target_stats.event_types.size()),
                "event types");
  for (const auto& [type, count] : source_stats.event_types) {
    auto it = target_stats.event_types.find(type);
    require_equal(count, it == target_stats.event_types.end() ? 0 : it->second,
                  "events of type " + type);
  }
  for (const auto& stored : meters)
    require_equal(
        static_cast<std::int64_t>(source->meter_subjects(stored.meter.id).size()),
        static_cast<std::int64_t>(target.meter_subjects(stored.meter.id).size()),
        "subjects of meter " + stored.meter.slug);
  require_equal(static_cast<std::int64_t>(subjects.size()),
                static_cast<std::int64_t>(target.subjects().size()),
                "subjects API entries");

  source.reset();
  result.kept_as = sqlite_file + ".imported";
  rename_kept(sqlite_file, result.kept_as);
  return result;
}

} // namespace um::storage
