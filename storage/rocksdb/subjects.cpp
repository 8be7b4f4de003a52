// The RocksDB store's subjects (`/api/v1/subjects`): one record per key in
// `cf_subjects` ('k' + key), and the key of each id ('i' + id). They are
// rare administrative writes, made under the write lock; what they hold
// does not change what meters count.

#include "model/trace_id.hpp"
#include "storage/rocksdb/store.hpp"

#include <cstring>
#include <map>

namespace um::storage::rocks {

namespace {

std::string key_of_key(const std::string& key) {
  return "k" + key;
}

std::string key_of_id(const std::string& id) {
  return "i" + id;
}

std::string subject_value(const model::subject& s) {
  std::string v;
  put_text(v, s.id);
  put_text(v, model::subject_fields_text(s));
  put_fixed(v, s.created_at);
  put_fixed(v, s.updated_at);
  return v;
}

model::subject read_subject(std::string key, const rocksdb::Slice& v) {
  value_reader r{v, "subject record"};
  model::subject s;
  s.key = std::move(key);
  s.id = r.text();
  model::read_subject_fields(r.text(), s);
  s.created_at = r.fixed<model::millis>();
  s.updated_at = r.fixed<model::millis>();
  return s;
}

std::optional<model::subject> by_key(read_view& view, const std::string& key) {
  std::string value;
  if (!view.get(cf_subjects, key_of_key(key), value))
    return std::nullopt;
  return read_subject(key, value);
}

std::optional<model::subject> by_id_or_key(read_view& view, const std::string& ref) {
  if (auto s = by_key(view, ref))
    return s;
  std::string key;
  if (!view.get(cf_subjects, key_of_id(ref), key))
    return std::nullopt;
  return by_key(view, key);
}

} // namespace

std::vector<model::subject> store::subjects() {
  read_view view{*db_};
  std::vector<model::subject> out;
  view.scan(cf_subjects, "k", "l", [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
    out.push_back(read_subject(std::string(k.data() + 1, k.size() - 1), v));
    return true;
  });
  return out;
}

std::optional<model::subject> store::find_subject(const std::string& id_or_key) {
  read_view view{*db_};
  return by_id_or_key(view, id_or_key);
}

std::vector<model::subject>
store::upsert_subjects(const std::vector<model::subject_upsert>& changes,
                       model::millis now) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  rocksdb::WriteBatch wb;
  // Changes of one call see the ones before them, as in one transaction.
  std::map<std::string, model::subject> written;
  std::vector<model::subject> out;
  for (const auto& change : changes) {
    auto it = written.find(change.key);
    auto existing =
        it != written.end() ? std::optional{it->second} : by_key(view, change.key);
    auto stored =
        model::apply_subject_upsert(existing, change, now, model::new_uuid_v4());
    written[stored.key] = stored;
    out.push_back(std::move(stored));
  }
  for (const auto& [key, s] : written) {
    check(wb.Put(db_->cf(cf_subjects), key_of_key(key), subject_value(s)), "subjects");
    check(wb.Put(db_->cf(cf_subjects), key_of_id(s.id), key), "subjects");
  }
  lock.commit(wb);
  // A key given twice is answered as it stood after its last change.
  for (auto& s : out)
    s = written[s.key];
  return out;
}

void store::restore_subjects(const std::vector<model::subject>& subjects) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  rocksdb::WriteBatch wb;
  std::map<std::string, model::subject> written;
  for (const auto& s : subjects)
    written[s.key] = s;
  for (const auto& [key, s] : written) {
    // A subject restored under a key replaces it whole, id included.
    if (auto existing = by_key(view, key); existing && existing->id != s.id)
      check(wb.Delete(db_->cf(cf_subjects), key_of_id(existing->id)), "subjects");
    check(wb.Put(db_->cf(cf_subjects), key_of_key(key), subject_value(s)), "subjects");
    check(wb.Put(db_->cf(cf_subjects), key_of_id(s.id), key), "subjects");
  }
  lock.commit(wb);
}

bool store::delete_subject(const std::string& id_or_key) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  auto existing = by_id_or_key(view, id_or_key);
  if (!existing)
    return false;
  rocksdb::WriteBatch wb;
  check(wb.Delete(db_->cf(cf_subjects), key_of_key(existing->key)), "subjects");
  check(wb.Delete(db_->cf(cf_subjects), key_of_id(existing->id)), "subjects");
  lock.commit(wb);
  return true;
}

} // namespace um::storage::rocks
