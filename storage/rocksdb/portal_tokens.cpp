// The RocksDB store's portal tokens: one record per token in `cf_subjects`
// under 'p' + id (beside the subjects' 'k' and 'i' keys, so no column family
// is added), holding what listing and invalidation need, never the token's
// text (model/portal_tokens.hpp). Tokens are few and rare administrative
// writes: listing and invalidating by subject scan them all, under the
// write lock for a write.

#include "storage/rocksdb/store.hpp"

#include "model/bounded_json.hpp"

#include <algorithm>

namespace um::storage::rocks {

namespace {

constexpr const char* first_key = "p";
constexpr const char* past_key = "q";

std::string token_key(const std::string& id) {
  return first_key + id;
}

std::string token_value(const model::portal_token& t,
                        std::optional<model::millis> invalidated) {
  nlohmann::json doc{{"subject", t.subject},
                     {"slugs", t.allowed_meter_slugs},
                     {"created", t.created_at}};
  doc["expires"] = t.expires_at ? nlohmann::json(*t.expires_at) : nlohmann::json(nullptr);
  doc["invalidated"] =
      invalidated ? nlohmann::json(*invalidated) : nlohmann::json(nullptr);
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

model::portal_token read_token(std::string id, const rocksdb::Slice& v) {
  auto parsed = model::try_parse_json<nlohmann::json>(
      std::string_view{v.data(), v.size()}, model::stored_json_limits);
  const auto& doc = parsed.value;
  if (!parsed || !doc.is_object() || !doc.contains("subject") ||
      !doc["subject"].is_string() || !doc.contains("created") ||
      !doc["created"].is_number_integer())
    throw storage_error(failure_kind::corrupt, "rocksdb: bad portal token record " + id);
  model::portal_token t;
  t.id = std::move(id);
  t.subject = doc["subject"].get<std::string>();
  if (doc.contains("slugs") && doc["slugs"].is_array())
    for (const auto& s : doc["slugs"])
      if (s.is_string())
        t.allowed_meter_slugs.push_back(s.get<std::string>());
  t.created_at = doc["created"].get<model::millis>();
  if (doc.contains("expires") && doc["expires"].is_number_integer())
    t.expires_at = doc["expires"].get<model::millis>();
  t.invalidated = doc.contains("invalidated") && !doc["invalidated"].is_null();
  return t;
}

std::vector<model::portal_token> all_tokens(read_view& view) {
  std::vector<model::portal_token> out;
  view.scan(cf_subjects, first_key, past_key,
            [&](const rocksdb::Slice& k, const rocksdb::Slice& v) {
              out.push_back(read_token(std::string(k.data() + 1, k.size() - 1), v));
              return true;
            });
  return out;
}

} // namespace

void store::add_portal_token(const model::portal_token& t) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  std::string existing;
  if (view.get(cf_subjects, token_key(t.id), existing))
    throw storage_error(failure_kind::conflict, "portal token " + t.id + " exists");
  rocksdb::WriteBatch wb;
  check(
      wb.Put(db_->cf(cf_subjects), token_key(t.id),
             token_value(t, t.invalidated ? std::optional{t.created_at} : std::nullopt)),
      "portal tokens");
  lock.commit(wb);
}

std::optional<model::portal_token> store::find_portal_token(const std::string& id) {
  read_view view{*db_};
  std::string value;
  if (!view.get(cf_subjects, token_key(id), value))
    return std::nullopt;
  return read_token(id, value);
}

std::vector<model::portal_token> store::portal_tokens(std::size_t limit) {
  read_view view{*db_};
  auto tokens = all_tokens(view);
  tokens.erase(std::remove_if(tokens.begin(), tokens.end(),
                              [](const model::portal_token& t) { return t.invalidated; }),
               tokens.end());
  std::sort(tokens.begin(), tokens.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at : a.id > b.id;
  });
  if (tokens.size() > limit)
    tokens.resize(limit);
  return tokens;
}

std::size_t store::invalidate_portal_tokens(const model::portal_invalidation& which,
                                            model::millis now) {
  writable();
  database::write_lock lock{*db_};
  read_view view{lock};
  rocksdb::WriteBatch wb;
  std::size_t n = 0;
  for (const auto& t : all_tokens(view)) {
    if (t.invalidated || (which.id && t.id != *which.id) ||
        (which.subject && t.subject != *which.subject))
      continue;
    check(wb.Put(db_->cf(cf_subjects), token_key(t.id), token_value(t, now)),
          "portal tokens");
    ++n;
  }
  if (n > 0)
    lock.commit(wb);
  return n;
}

} // namespace um::storage::rocks
