#include "model/event_listing.hpp"

#include "model/bounded_json.hpp"
#include "model/cloud_events.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace um::model {

namespace {

using json = nlohmann::json;

void add_problem(std::string& errors, const std::string& problem) {
  if (!errors.empty())
    errors += "; ";
  errors += problem;
}

std::optional<string_filter> read_string_filter(const json& v, const std::string& field,
                                                std::string& errors) {
  if (!v.is_object()) {
    add_problem(errors, "filter." + field + " must be an object of operators");
    return std::nullopt;
  }
  string_filter f;
  for (const auto& [op, arg] : v.items()) {
    auto text = [&](std::optional<std::string>& slot) {
      if (arg.is_null())
        return;
      if (!arg.is_string())
        add_problem(errors, "filter." + field + "." + op + " must be a string");
      else
        slot = arg.get<std::string>();
    };
    auto list = [&](std::optional<std::vector<std::string>>& slot) {
      if (arg.is_null())
        return;
      bool ok = arg.is_array() && std::all_of(arg.begin(), arg.end(), [](const json& x) {
                  return x.is_string();
                });
      if (!ok)
        add_problem(errors,
                    "filter." + field + "." + op + " must be an array of strings");
      else
        slot = arg.get<std::vector<std::string>>();
    };
    if (op == "$eq")
      text(f.eq);
    else if (op == "$ne")
      text(f.ne);
    else if (op == "$like")
      text(f.like);
    else if (op == "$nlike")
      text(f.nlike);
    else if (op == "$ilike")
      text(f.ilike);
    else if (op == "$nilike")
      text(f.nilike);
    else if (op == "$gt")
      text(f.gt);
    else if (op == "$gte")
      text(f.gte);
    else if (op == "$lt")
      text(f.lt);
    else if (op == "$lte")
      text(f.lte);
    else if (op == "$in")
      list(f.in);
    else if (op == "$nin")
      list(f.nin);
    else if (op == "$and" || op == "$or")
      add_problem(errors, "filter." + field + "." + op + " is not supported");
    else
      add_problem(errors, "filter." + field + " has an unknown operator " + op);
  }
  return f;
}

std::optional<time_filter> read_time_filter(const json& v, const std::string& field,
                                            std::string& errors) {
  if (!v.is_object()) {
    add_problem(errors, "filter." + field + " must be an object of operators");
    return std::nullopt;
  }
  time_filter f;
  for (const auto& [op, arg] : v.items()) {
    std::optional<millis>* slot = op == "$gt"    ? &f.gt
                                  : op == "$gte" ? &f.gte
                                  : op == "$lt"  ? &f.lt
                                  : op == "$lte" ? &f.lte
                                                 : nullptr;
    if (!slot) {
      add_problem(errors, op == "$and" || op == "$or"
                              ? "filter." + field + "." + op + " is not supported"
                              : "filter." + field + " has an unknown operator " + op);
      continue;
    }
    if (arg.is_null())
      continue;
    std::optional<millis> t;
    if (arg.is_string())
      t = try_parse_rfc3339(arg.get_ref<const std::string&>());
    if (!t)
      add_problem(errors,
                  "filter." + field + "." + op + " must be an RFC 3339 date-time");
    else
      *slot = t;
  }
  return f;
}

bool string_matches(const string_filter& f, const std::string& v) {
  if (f.eq && v != *f.eq)
    return false;
  if (f.ne && v == *f.ne)
    return false;
  if (f.in && std::find(f.in->begin(), f.in->end(), v) == f.in->end())
    return false;
  if (f.nin && std::find(f.nin->begin(), f.nin->end(), v) != f.nin->end())
    return false;
  if (f.like && !like_matches(v, *f.like, false))
    return false;
  if (f.nlike && like_matches(v, *f.nlike, false))
    return false;
  if (f.ilike && !like_matches(v, *f.ilike, true))
    return false;
  if (f.nilike && like_matches(v, *f.nilike, true))
    return false;
  if (f.gt && !(v > *f.gt))
    return false;
  if (f.gte && !(v >= *f.gte))
    return false;
  if (f.lt && !(v < *f.lt))
    return false;
  if (f.lte && !(v <= *f.lte))
    return false;
  return true;
}

// Narrows [from, to) by the bounds of `f`.
void narrow(const time_filter& f, millis& from, millis& to) {
  if (f.gt)
    from = std::max(from, *f.gt + 1);
  if (f.gte)
    from = std::max(from, *f.gte);
  if (f.lt)
    to = std::min(to, *f.lt);
  if (f.lte)
    to = std::min(to, *f.lte + 1);
}

bool parse_int64(std::string_view text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

} // namespace

bool like_matches(std::string_view text, std::string_view pattern, bool ignore_case) {
  auto same = [ignore_case](char a, char b) {
    if (!ignore_case)
      return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  // Greedy matching with one backtrack point: linear in practice.
  std::size_t t = 0, p = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || same(pattern[p], text[t]))) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%')
    ++p;
  return p == pattern.size();
}

std::string listing_cursor_text(const event_position& p) {
  return std::to_string(p.time) + "_" + std::to_string(p.seq);
}

std::optional<event_position> parse_listing_cursor(std::string_view text) {
  auto sep = text.find('_');
  if (sep == std::string_view::npos)
    return std::nullopt;
  event_position p;
  if (!parse_int64(text.substr(0, sep), p.time) ||
      !parse_int64(text.substr(sep + 1), p.seq))
    return std::nullopt;
  return p;
}

validated<event_listing> parse_event_listing(const query_params& query) {
  validated<event_listing> out;
  auto& l = out.value;
  std::string errors;
  if (auto it = query.find(std::string_view{"cursor"}); it != query.end()) {
    l.cursor = parse_listing_cursor(it->second);
    if (!l.cursor)
      add_problem(errors, "cursor: invalid cursor");
  }
  if (auto it = query.find(std::string_view{"limit"}); it != query.end()) {
    std::int64_t limit = 0;
    if (!parse_int64(it->second, limit))
      add_problem(errors, "limit must be an integer");
    else if (limit < 1)
      add_problem(errors, "limit must be greater than 0");
    else if (limit > max_listing_limit)
      add_problem(errors, "limit must be less than or equal to " +
                              std::to_string(max_listing_limit));
    else
      l.limit = static_cast<int>(limit);
  }
  if (auto it = query.find(std::string_view{"filter"}); it != query.end()) {
    auto doc = try_parse_json<json>(it->second);
    if (!doc || !doc.value.is_object()) {
      add_problem(errors, "filter must be a JSON object");
    } else {
      for (const auto& [field, v] : doc.value.items()) {
        if (v.is_null())
          continue;
        if (field == "id")
          l.id = read_string_filter(v, field, errors);
        else if (field == "source")
          l.source = read_string_filter(v, field, errors);
        else if (field == "subject")
          l.subject = read_string_filter(v, field, errors);
        else if (field == "type")
          l.type = read_string_filter(v, field, errors);
        else if (field == "time")
          l.time = read_time_filter(v, field, errors);
        else if (field == "ingestedAt")
          l.ingested_at = read_time_filter(v, field, errors);
        else if (field == "customerId")
          add_problem(errors, "filter.customerId is not supported: this service has no "
                              "customers");
        else
          add_problem(errors, "filter has an unknown field " + field);
      }
      auto set = [](const std::optional<time_filter>& f) {
        return f && (f->gt || f->gte || f->lt || f->lte);
      };
      if (set(l.time) && set(l.ingested_at))
        add_problem(errors, "time and ingested_at cannot both be set");
    }
  }
  out.error = std::move(errors);
  return out;
}

event_search listing_scan(const event_listing& listing, int chunk) {
  event_search s;
  s.time_from = std::numeric_limits<millis>::min();
  s.time_to = std::numeric_limits<millis>::max();
  if (listing.time)
    narrow(*listing.time, s.time_from, s.time_to);
  if (listing.ingested_at) {
    millis from = std::numeric_limits<millis>::min();
    millis to = std::numeric_limits<millis>::max();
    narrow(*listing.ingested_at, from, to);
    s.ingested_from = from;
    s.ingested_to = to;
  }
  s.limit = chunk;
  s.before = listing.cursor;
  return s;
}

nlohmann::ordered_json event_listing_json(const event_listing_page& page) {
  nlohmann::ordered_json out{{"items", searched_events_json(page.items)}};
  if (page.next)
    out["nextCursor"] = listing_cursor_text(*page.next);
  return out;
}

bool listing_matches(const event_listing& listing, const event& e) {
  return (!listing.id || string_matches(*listing.id, e.id)) &&
         (!listing.source || string_matches(*listing.source, e.source)) &&
         (!listing.subject || string_matches(*listing.subject, e.subject)) &&
         (!listing.type || string_matches(*listing.type, e.type));
}

} // namespace um::model
