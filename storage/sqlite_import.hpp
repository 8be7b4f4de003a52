#pragma once

// Moving an embedded SQLite data dir (the embedded store of earlier
// releases) into the store that replaces it, once, at the first start.

#include "storage/event_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace um::storage {

/// What an import did.
struct sqlite_import_result {
  std::int64_t events_read = 0;   ///< Events the SQLite file held.
  std::int64_t events_stored = 0; ///< Of those, new to the target (the rest were there).
  std::size_t meters = 0;         ///< Meters created in the target.
  std::size_t subjects = 0;       ///< Subjects restored in the target.
  std::string kept_as; ///< Where the SQLite file was moved, kept for the operator.
};

/// Called after each chunk with the events read so far and the total.
using import_progress = std::function<void(std::int64_t read, std::int64_t total)>;

/// The SQLite file of an earlier release that `options` (the embedded
/// default: no url) has yet to import, if there is one:
/// `<data_dir>/usage-metrics.db`.
std::optional<std::string> sqlite_file_to_import(const store_options& options);

/// Copies everything the SQLite store at `sqlite_file` holds into `target`:
/// meters first (so the events' appends roll them up), subjects with their
/// ids, then the events in storage order in chunks of `chunk_events`, each
/// one `append` (deduplicated, so an import stopped half way is resumed by
/// running it again). Then it checks the copy — the counts `stats` answers
/// and each meter's subjects must be equal in both — and only then renames
/// the file (and its `-wal`/`-shm`) to `<file>.imported`, so a later start
/// does not import again and nothing is lost if the check fails. Throws
/// `storage_error` (the SQLite file left where it was) on any failure.
sqlite_import_result import_sqlite_store(const std::string& sqlite_file,
                                         event_store& target,
                                         const import_progress& progress = {},
                                         std::size_t chunk_events = 5000);

} // namespace um::storage
