#include "model/subjects.hpp"

#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"

namespace um::model {

namespace {

using ojson = nlohmann::ordered_json;

void add_problem(std::string& errors, const std::string& problem) {
  if (!errors.empty())
    errors += "; ";
  errors += problem;
}

std::optional<subject_upsert> read_one(const ojson& item, const std::string& name,
                                       std::string& errors) {
  if (!item.is_object()) {
    add_problem(errors, name + " must be an object");
    return std::nullopt;
  }
  subject_upsert u;
  bool ok = true;
  auto problem = [&](const std::string& what) {
    add_problem(errors, name + ": " + what);
    ok = false;
  };
  auto key = item.find("key");
  if (key == item.end() || !key->is_string() ||
      key->get_ref<const std::string&>().empty())
    problem("key is required and must be a non-empty string");
  else if (key->get_ref<const std::string&>().size() > max_subject_key_length)
    problem("key must be at most " + std::to_string(max_subject_key_length) +
            " characters");
  else
    u.key = key->get<std::string>();
  auto text = [&](const char* field, std::optional<std::optional<std::string>>& slot) {
    auto it = item.find(field);
    if (it == item.end())
      return;
    if (it->is_null())
      slot.emplace(std::nullopt);
    else if (it->is_string())
      slot.emplace(it->get<std::string>());
    else
      problem(std::string{field} + " must be a string or null");
  };
  auto time = [&](const char* field, std::optional<std::optional<millis>>& slot) {
    auto it = item.find(field);
    if (it == item.end())
      return;
    if (it->is_null()) {
      slot.emplace(std::nullopt);
      return;
    }
    std::optional<millis> t;
    if (it->is_string())
      t = try_parse_rfc3339(it->get_ref<const std::string&>());
    if (!t)
      problem(std::string{field} + " must be an RFC 3339 date-time");
    else
      slot.emplace(t);
  };
  text("displayName", u.display_name);
  if (auto it = item.find("metadata"); it != item.end()) {
    if (it->is_null())
      u.metadata.emplace(std::nullopt);
    else if (it->is_object())
      u.metadata.emplace(
          it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    else
      problem("metadata must be an object or null");
  }
  time("currentPeriodStart", u.current_period_start);
  time("currentPeriodEnd", u.current_period_end);
  text("stripeCustomerId", u.stripe_customer_id);
  if (!ok)
    return std::nullopt;
  return u;
}

} // namespace

validated<std::vector<subject_upsert>>
parse_subject_upserts(const nlohmann::ordered_json& body) {
  validated<std::vector<subject_upsert>> out;
  std::string errors;
  if (body.is_object()) {
    if (auto one = read_one(body, "subject", errors))
      out.value.push_back(std::move(*one));
  } else if (!body.is_array()) {
    errors = "request body must be an array of subjects";
  } else if (body.empty()) {
    errors = "request body must hold at least one subject";
  } else if (body.size() > max_subjects_per_upsert) {
    errors = "request body must hold at most " + std::to_string(max_subjects_per_upsert) +
             " subjects";
  } else {
    for (std::size_t i = 0; i < body.size(); ++i)
      if (auto one = read_one(body[i], "subject[" + std::to_string(i) + "]", errors))
        out.value.push_back(std::move(*one));
  }
  out.error = std::move(errors);
  if (!out.error.empty())
    out.value.clear();
  return out;
}

subject apply_subject_upsert(const std::optional<subject>& existing,
                             const subject_upsert& change, millis now,
                             const std::string& new_id) {
  subject s;
  if (existing) {
    s = *existing;
  } else {
    s.id = new_id;
    s.key = change.key;
    s.created_at = now;
  }
  if (change.display_name)
    s.display_name = *change.display_name;
  if (change.metadata)
    s.metadata = *change.metadata;
  if (change.current_period_start)
    s.current_period_start = *change.current_period_start;
  if (change.current_period_end)
    s.current_period_end = *change.current_period_end;
  if (change.stripe_customer_id)
    s.stripe_customer_id = *change.stripe_customer_id;
  s.updated_at = now;
  return s;
}

nlohmann::ordered_json subject_json(const subject& s) {
  ojson out{{"id", s.id}, {"key", s.key}};
  out["displayName"] = s.display_name ? ojson(*s.display_name) : ojson(nullptr);
  ojson metadata = nullptr;
  if (s.metadata) {
    auto parsed = try_parse_json(*s.metadata, stored_json_limits);
    if (parsed)
      metadata = std::move(parsed.value);
  }
  out["metadata"] = std::move(metadata);
  if (s.current_period_start)
    out["currentPeriodStart"] = format_iso8601(*s.current_period_start);
  if (s.current_period_end)
    out["currentPeriodEnd"] = format_iso8601(*s.current_period_end);
  out["stripeCustomerId"] =
      s.stripe_customer_id ? ojson(*s.stripe_customer_id) : ojson(nullptr);
  out["createdAt"] = format_iso8601(s.created_at);
  out["updatedAt"] = format_iso8601(s.updated_at);
  return out;
}

nlohmann::ordered_json subjects_json(const std::vector<subject>& list) {
  ojson out = ojson::array();
  for (const auto& s : list)
    out.push_back(subject_json(s));
  return out;
}

std::string subject_fields_text(const subject& s) {
  nlohmann::json doc = nlohmann::json::object();
  if (s.display_name)
    doc["displayName"] = *s.display_name;
  if (s.metadata)
    doc["metadata"] = *s.metadata;
  if (s.current_period_start)
    doc["currentPeriodStart"] = *s.current_period_start;
  if (s.current_period_end)
    doc["currentPeriodEnd"] = *s.current_period_end;
  if (s.stripe_customer_id)
    doc["stripeCustomerId"] = *s.stripe_customer_id;
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void read_subject_fields(const std::string& text, subject& s) {
  auto parsed = try_parse_json<nlohmann::json>(text, stored_json_limits);
  if (!parsed || !parsed.value.is_object())
    return;
  const auto& doc = parsed.value;
  auto str = [&](const char* name, std::optional<std::string>& slot) {
    if (auto it = doc.find(name); it != doc.end() && it->is_string())
      slot = it->get<std::string>();
  };
  auto time = [&](const char* name, std::optional<millis>& slot) {
    if (auto it = doc.find(name); it != doc.end() && it->is_number_integer())
      slot = it->get<millis>();
  };
  str("displayName", s.display_name);
  str("metadata", s.metadata);
  time("currentPeriodStart", s.current_period_start);
  time("currentPeriodEnd", s.current_period_end);
  str("stripeCustomerId", s.stripe_customer_id);
}

} // namespace um::model
