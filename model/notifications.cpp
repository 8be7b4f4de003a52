#include "model/notifications.hpp"

#include "model/config.hpp"
#include "model/metering.hpp"
#include "model/portal_tokens.hpp"
#include "model/webhook_signature.hpp"
#include "model/windows.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace um::model {

namespace {

using ojson = nlohmann::ordered_json;

constexpr std::size_t max_name_length = 256;
constexpr std::size_t max_subject_length = 256;
constexpr std::size_t max_header_name_length = 256;
constexpr std::size_t max_header_value_length = 4096;
constexpr std::size_t max_filter_value_length = 256;
constexpr std::size_t max_group_by_key_length = 64;
constexpr std::size_t max_page_size = 1000;
constexpr std::size_t max_retry_delays = 50;
// Doubles hold every integer below 2^53 exactly; such values are written as
// integers (`100`, not `100.0`), as the meter query answers write them.
constexpr double max_exact_integer = 9.007199254740992e15;

void append_error(std::string& errors, std::string_view message) {
  if (!errors.empty())
    errors += "; ";
  errors += message;
}

template <class T>
validated<T> result_of(T value, std::string errors) {
  validated<T> out;
  if (errors.empty())
    out.value = std::move(value);
  else
    out.error = std::move(errors);
  return out;
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Echoed texts are cut, so a hostile value cannot make the answer large.
std::string echoed(std::string_view text) {
  constexpr std::size_t max_echo = 100;
  std::string out = "'";
  out += text.substr(0, max_echo);
  if (text.size() > max_echo)
    out += "...";
  out += "'";
  return out;
}

ojson number_json(double value) {
  if (std::nearbyint(value) == value && std::fabs(value) < max_exact_integer)
    return static_cast<std::int64_t>(value);
  return value;
}

// The value of a field that is there and not null, else nullptr.
const ojson* field(const ojson& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

void read_type(const ojson& body, std::string_view expected, std::string_view what,
               std::string& errors) {
  const auto* type = field(body, "type");
  if (!type) {
    append_error(errors, "type is required and must be " + std::string{expected});
    return;
  }
  if (!type->is_string() || type->get_ref<const std::string&>() != expected)
    append_error(errors, "type must be " + std::string{expected} + ", the only " +
                             std::string{what} + " type");
}

std::string read_name(const ojson& body, std::string& errors) {
  const auto* name = field(body, "name");
  if (!name || !name->is_string() || name->get_ref<const std::string&>().empty() ||
      js_length(name->get_ref<const std::string&>()) > max_name_length) {
    append_error(errors, "name is required and must be 1 to 256 characters");
    return {};
  }
  return name->get<std::string>();
}

bool read_disabled(const ojson& body, std::string& errors) {
  const auto* disabled = field(body, "disabled");
  if (!disabled)
    return false;
  if (!disabled->is_boolean()) {
    append_error(errors, "disabled must be true or false");
    return false;
  }
  return disabled->get<bool>();
}

bool is_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

// Only what a webhook can be sent to: http(s), a host, an optional port. No
// credentials in the URL: they would show wherever the channel is listed.
std::string url_problem(const std::string& url) {
  static const std::string expected =
      "url must be an http or https URL with a host, such as "
      "https://example.com/webhook";
  if (url.empty() || url.size() > max_channel_url_length)
    return "url is required and must be an http or https URL of at most 2048 characters";
  if (std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
      }))
    return "url must not contain spaces or control characters (percent-encode them)";
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return expected + ", got " + echoed(url);
  auto scheme = lower(std::string_view{url}.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https")
    return expected + ", got " + echoed(url);
  auto rest = std::string_view{url}.substr(scheme_end + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return "url must not contain credentials; send them in customHeaders (e.g. "
           "Authorization)";
  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return expected + ", got " + echoed(url);
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return expected + ", got " + echoed(url);
      has_port = true;
      port = after.substr(1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        }))
      return expected + ", got " + echoed(url);
  } else {
    auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                 c == '_';
        }))
      return expected + ", got " + echoed(url);
  }
  if (has_port &&
      (!is_digits(port) || port.size() > 5 || std::stoi(std::string{port}) < 1 ||
       std::stoi(std::string{port}) > 65535))
    return "url has an invalid port: it must be a number from 1 to 65535";
  return {};
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

// Headers the delivery sets itself: a custom one would break the request or
// its signature.
bool is_reserved_header(std::string_view name) {
  auto n = lower(name);
  return n == "content-type" || n == "content-length" || n == "host" ||
         n == "transfer-encoding" || n == "connection" || n.rfind("webhook-", 0) == 0;
}

std::map<std::string, std::string> read_custom_headers(const ojson& body,
                                                       std::string& errors) {
  std::map<std::string, std::string> out;
  const auto* headers = field(body, "customHeaders");
  if (!headers)
    return out;
  if (!headers->is_object()) {
    append_error(errors, "customHeaders must be an object of header name to value");
    return out;
  }
  if (headers->size() > max_channel_headers) {
    append_error(errors, "customHeaders may hold at most 32 headers");
    return out;
  }
  for (const auto& [name, value] : headers->items()) {
    std::string where = "customHeaders " + echoed(name);
    if (name.empty() || name.size() > max_header_name_length ||
        !std::all_of(name.begin(), name.end(), is_token_char)) {
      append_error(errors, where + ": the name must be an HTTP header name (letters, "
                                   "digits and !#$%&'*+-.^_`|~, at most 256)");
      continue;
    }
    if (is_reserved_header(name)) {
      append_error(errors, where + ": the service sets this header itself "
                                   "(Content-Type, Content-Length, Host, "
                                   "Transfer-Encoding, Connection and webhook-*)");
      continue;
    }
    if (!value.is_string()) {
      append_error(errors, where + ": the value must be a string");
      continue;
    }
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > max_header_value_length ||
        text.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos) {
      append_error(errors, where + ": the value must be at most 4096 bytes, without "
                                   "line breaks or NUL");
      continue;
    }
    out[name] = text;
  }
  return out;
}

// The fields a channel request sets; `secret_given` says whether the body
// had a signing secret.
notification_channel read_channel(const ojson& body, bool& secret_given,
                                  std::string& errors) {
  notification_channel c;
  secret_given = false;
  if (!body.is_object()) {
    append_error(errors, "request body must be a JSON object");
    return c;
  }
  read_type(body, notification_channel_type, "channel", errors);
  c.name = read_name(body, errors);
  const auto* url = field(body, "url");
  if (!url || !url->is_string())
    append_error(errors, "url is required and must be an http or https URL");
  else if (auto problem = url_problem(url->get<std::string>()); !problem.empty())
    append_error(errors, problem);
  else
    c.url = url->get<std::string>();
  c.custom_headers = read_custom_headers(body, errors);
  if (const auto* secret = field(body, "signingSecret")) {
    secret_given = true;
    if (!secret->is_string())
      append_error(errors, "signingSecret must be a string (whsec_ and base64)");
    else if (auto problem = webhook_secret_problem(secret->get_ref<const std::string&>());
             !problem.empty())
      append_error(errors, problem);
    else
      c.signing_secret = secret->get<std::string>();
  }
  c.disabled = read_disabled(body, errors);
  return c;
}

bool is_valid_group_by_key(std::string_view key) {
  if (key.empty() || key.size() > max_group_by_key_length)
    return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(key[0]) && key[0] != '_')
    return false;
  return std::all_of(key.begin(), key.end(), [&](char c) {
    return letter(c) || (c >= '0' && c <= '9') || c == '_';
  });
}

std::vector<double> read_thresholds(const ojson& body, std::string& errors) {
  std::vector<double> out;
  const auto* thresholds = field(body, "thresholds");
  if (!thresholds || !thresholds->is_array() || thresholds->empty() ||
      thresholds->size() > max_rule_thresholds) {
    append_error(errors, "thresholds must be an array of 1 to 10 thresholds such as "
                         "[{\"value\": 100}]");
    return out;
  }
  for (std::size_t i = 0; i < thresholds->size(); ++i) {
    const auto& t = (*thresholds)[i];
    std::string where = "thresholds[" + std::to_string(i) + "]";
    if (!t.is_object()) {
      append_error(errors, where + " must be an object such as {\"value\": 100}");
      continue;
    }
    if (const auto* type = field(t, "type");
        type &&
        !(type->is_string() && (type->get_ref<const std::string&>() == "NUMBER" ||
                                type->get_ref<const std::string&>() == "usage_value"))) {
      append_error(errors, where + ".type must be NUMBER (or absent): thresholds are "
                                   "usage values");
      continue;
    }
    const auto* value = field(t, "value");
    if (!value || !value->is_number() || !std::isfinite(value->get<double>()) ||
        value->get<double>() <= 0) {
      append_error(errors, where + ".value must be a number greater than 0");
      continue;
    }
    out.push_back(value->get<double>());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> read_string_list(const ojson& list, const char* name,
                                          std::size_t max_length, std::string& errors) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& item = list[i];
    if (!item.is_string() || item.get_ref<const std::string&>().empty() ||
        js_length(item.get_ref<const std::string&>()) > max_length) {
      append_error(errors, std::string{name} + "[" + std::to_string(i) +
                               "] must be a non-empty string of at most " +
                               std::to_string(max_length) + " characters");
      continue;
    }
    const auto& s = item.get_ref<const std::string&>();
    if (std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(s);
  }
  return out;
}

notification_rule read_rule(const ojson& body, std::string& errors) {
  notification_rule r;
  if (!body.is_object()) {
    append_error(errors, "request body must be a JSON object");
    return r;
  }
  read_type(body, meter_usage_threshold_type, "rule", errors);
  r.name = read_name(body, errors);
  const auto* meter = field(body, "meter");
  if (!meter || !meter->is_string() ||
      !is_valid_meter_slug(meter->get_ref<const std::string&>()))
    append_error(errors, "meter is required and must be the slug of a meter");
  else
    r.meter_slug = meter->get<std::string>();
  r.thresholds = read_thresholds(body, errors);
  const auto* window = field(body, "window");
  auto parsed_window =
      window && window->is_string()
          ? try_parse_threshold_window(window->get_ref<const std::string&>())
          : std::nullopt;
  if (!parsed_window)
    append_error(errors, "window is required and must be DAY, MONTH or TOTAL");
  else
    r.window = *parsed_window;
  if (const auto* zone = field(body, "windowTimeZone")) {
    if (!zone->is_string() || !try_locate_zone(zone->get_ref<const std::string&>()))
      append_error(
          errors,
          "windowTimeZone must be an IANA time zone such as Europe/Berlin, got " +
              echoed(zone->is_string() ? zone->get<std::string>() : zone->dump()));
    else
      r.window_time_zone = zone->get<std::string>();
  }
  if (const auto* subjects = field(body, "subjects")) {
    if (!subjects->is_array() || subjects->size() > max_rule_subjects)
      append_error(errors, "subjects must be an array of at most 100 subjects");
    else
      r.subjects = read_string_list(*subjects, "subjects", max_subject_length, errors);
  }
  if (const auto* filters = field(body, "filterGroupBy")) {
    if (!filters->is_object()) {
      append_error(errors, "filterGroupBy must be an object of group-by key to value");
    } else {
      for (const auto& [key, value] : filters->items()) {
        std::string where = "filterGroupBy " + echoed(key);
        if (!is_valid_group_by_key(key))
          append_error(errors, where + ": keys must start with a letter or _ and "
                                       "consist of letters, digits and _ (at most 64)");
        else if (!value.is_string() ||
                 js_length(value.get_ref<const std::string&>()) > max_filter_value_length)
          append_error(errors,
                       where + ": the value must be a string of at most 256 characters");
        else
          r.group_by_filters[key] = value.get<std::string>();
      }
    }
  }
  const auto* channels = field(body, "channels");
  if (!channels || !channels->is_array() || channels->empty() ||
      channels->size() > max_rule_channels)
    append_error(errors, "channels must be an array of 1 to 50 channel ids");
  else
    r.channel_ids = read_string_list(*channels, "channels", max_name_length, errors);
  r.disabled = read_disabled(body, errors);
  return r;
}

std::optional<std::size_t> read_count(const query_params& query, const char* name,
                                      std::size_t fallback, std::size_t max) {
  auto it = query.find(name);
  if (it == query.end())
    return fallback;
  const auto& text = it->second;
  if (!is_digits(text) || text.size() > 9)
    return std::nullopt;
  auto n = static_cast<std::size_t>(std::stoul(text));
  if (n < 1 || n > max)
    return std::nullopt;
  return n;
}

std::string threshold_text(double t) {
  char buffer[40];
  if (std::nearbyint(t) == t && std::fabs(t) < max_exact_integer)
    std::snprintf(buffer, sizeof buffer, "%lld", static_cast<long long>(t));
  else // 17 significant digits tell every double apart.
    std::snprintf(buffer, sizeof buffer, "%.17g", t);
  return buffer;
}

// ---------------------------------------------------------------------------
// Stored forms. Plain (key-sorted) JSON objects with short names; optional
// fields are left out when absent, so that "none" and "0" stay apart. The
// reader is strict: a stored form that lost or changed a field is damage,
// and reading on with a default would hide it (a delivery's state read as
// PENDING would be sent again).

using sjson = nlohmann::json;

class record_reader {
public:
  record_reader(const sjson& j, std::string_view what) : j_{j}, what_{what} {
    if (!j_.is_object())
      fail("", "is not an object");
  }

  [[noreturn]] void fail(std::string_view field, std::string_view why) const {
    std::string message = "not a stored " + std::string{what_};
    if (!field.empty())
      message += ": '" + std::string{field} + "'";
    message += " " + std::string{why};
    throw std::runtime_error(message);
  }

  const sjson& at(const char* name) const {
    auto it = j_.find(name);
    if (it == j_.end())
      fail(name, "is missing");
    return *it;
  }

  bool has(const char* name) const { return j_.contains(name); }

  std::string text(const char* name) const {
    const auto& v = at(name);
    if (!v.is_string())
      fail(name, "is not a string");
    return v.get<std::string>();
  }

  std::int64_t integer(const char* name) const { return integer_of(name, at(name)); }

  std::optional<std::int64_t> optional_integer(const char* name) const {
    if (!has(name))
      return std::nullopt;
    return integer(name);
  }

  double number(const char* name) const {
    const auto& v = at(name);
    if (!v.is_number())
      fail(name, "is not a number");
    return v.get<double>();
  }

  bool flag(const char* name) const {
    const auto& v = at(name);
    if (!v.is_boolean())
      fail(name, "is not a boolean");
    return v.get<bool>();
  }

  std::vector<std::string> texts(const char* name) const {
    const auto& v = at(name);
    if (!v.is_array())
      fail(name, "is not an array");
    std::vector<std::string> out;
    for (const auto& item : v) {
      if (!item.is_string())
        fail(name, "holds a value that is not a string");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  std::map<std::string, std::string> text_map(const char* name) const {
    const auto& v = at(name);
    if (!v.is_object())
      fail(name, "is not an object");
    std::map<std::string, std::string> out;
    for (const auto& item : v.items()) {
      if (!item.value().is_string())
        fail(name, "holds a value that is not a string");
      out.emplace(item.key(), item.value().get<std::string>());
    }
    return out;
  }

  std::int64_t integer_of(const char* name, const sjson& v) const {
    if (v.is_number_unsigned()) {
      if (v.get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(name, "is out of range");
      return v.get<std::int64_t>();
    }
    if (!v.is_number_integer())
      fail(name, "is not an integer");
    return v.get<std::int64_t>();
  }

private:
  const sjson& j_;
  std::string_view what_;
};

// Parses `text` as the stored form of `what` and reads it with `read`; JSON
// errors become std::runtime_error as the declarations promise.
template <class Read>
auto read_record(std::string_view text, std::string_view what, Read read) {
  sjson j;
  try {
    j = sjson::parse(text);
  } catch (const sjson::exception& e) {
    throw std::runtime_error("not a stored " + std::string{what} + ": " + e.what());
  }
  record_reader r{j, what};
  return read(r);
}

std::optional<delivery_state> try_parse_delivery_state(std::string_view text) {
  for (auto s : {delivery_state::pending, delivery_state::sending,
                 delivery_state::success, delivery_state::failed})
    if (delivery_state_name(s) == text)
      return s;
  return std::nullopt;
}

sjson delivery_record(const notification_delivery& d) {
  sjson j = {{"channel", d.channel_id},
             {"state", std::string{delivery_state_name(d.state)}},
             {"attempts", d.attempts},
             {"error", d.last_error},
             {"duration_ms", d.last_duration_ms},
             {"updated_at", d.updated_at}};
  if (d.last_status_code)
    j["status"] = *d.last_status_code;
  if (d.next_attempt_at)
    j["next_attempt_at"] = *d.next_attempt_at;
  if (d.last_attempt_at)
    j["last_attempt_at"] = *d.last_attempt_at;
  if (d.first_attempt_at)
    j["first_attempt_at"] = *d.first_attempt_at;
  return j;
}

notification_delivery read_delivery(const record_reader& r) {
  notification_delivery d;
  d.channel_id = r.text("channel");
  auto state = r.text("state");
  if (auto s = try_parse_delivery_state(state))
    d.state = *s;
  else
    r.fail("state", "is not a delivery state: " + echoed(state));
  auto attempts = r.integer("attempts");
  if (attempts < 0 || attempts > std::numeric_limits<int>::max())
    r.fail("attempts", "is out of range");
  d.attempts = static_cast<int>(attempts);
  if (auto status = r.optional_integer("status")) {
    if (*status < 0 || *status > std::numeric_limits<int>::max())
      r.fail("status", "is out of range");
    d.last_status_code = static_cast<int>(*status);
  }
  d.last_error = r.text("error");
  d.next_attempt_at = r.optional_integer("next_attempt_at");
  d.last_attempt_at = r.optional_integer("last_attempt_at");
  d.first_attempt_at = r.optional_integer("first_attempt_at");
  d.last_duration_ms = r.integer("duration_ms");
  d.updated_at = r.integer("updated_at");
  return d;
}

} // namespace

std::string_view threshold_window_name(threshold_window w) {
  switch (w) {
  case threshold_window::day:
    return "DAY";
  case threshold_window::month:
    return "MONTH";
  case threshold_window::total:
    return "TOTAL";
  }
  return "MONTH";
}

std::optional<threshold_window> try_parse_threshold_window(std::string_view text) {
  if (text == "DAY")
    return threshold_window::day;
  if (text == "MONTH")
    return threshold_window::month;
  if (text == "TOTAL")
    return threshold_window::total;
  return std::nullopt;
}

std::string_view delivery_state_name(delivery_state s) {
  switch (s) {
  case delivery_state::pending:
    return "PENDING";
  case delivery_state::sending:
    return "SENDING";
  case delivery_state::success:
    return "SUCCESS";
  case delivery_state::failed:
    return "FAILED";
  }
  return "PENDING";
}

bool notification_event_matches(const notification_event_filter& f,
                                const notification_event& e) {
  auto any_of = [](const std::vector<std::string>& wanted, const std::string& v) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), v) != wanted.end();
  };
  if (e.created_at < f.from || e.created_at > f.to)
    return false;
  if (!any_of(f.subjects, e.subject) || !any_of(f.rule_ids, e.rule_id))
    return false;
  if (f.channel_ids.empty())
    return true;
  // An event is "of" a channel when it was (to be) delivered there.
  return std::any_of(e.deliveries.begin(), e.deliveries.end(),
                     [&](const notification_delivery& d) {
                       return any_of(f.channel_ids, d.channel_id);
                     });
}

std::optional<millis> next_due(const notification_event& e) {
  std::optional<millis> out;
  for (const auto& d : e.deliveries)
    if (d.state == delivery_state::pending && d.next_attempt_at &&
        (!out || *d.next_attempt_at < *out))
      out = d.next_attempt_at;
  return out;
}

std::string notification_channel_record(const notification_channel& c) {
  sjson j = {{"id", c.id},
             {"name", c.name},
             {"url", c.url},
             {"headers", c.custom_headers},
             {"secret", c.signing_secret},
             {"disabled", c.disabled},
             {"created_at", c.created_at},
             {"updated_at", c.updated_at}};
  return j.dump();
}

notification_channel read_notification_channel_record(std::string_view text) {
  return read_record(text, "notification channel", [](const record_reader& r) {
    notification_channel c;
    c.id = r.text("id");
    c.name = r.text("name");
    c.url = r.text("url");
    c.custom_headers = r.text_map("headers");
    c.signing_secret = r.text("secret");
    c.disabled = r.flag("disabled");
    c.created_at = r.integer("created_at");
    c.updated_at = r.integer("updated_at");
    return c;
  });
}

std::string notification_rule_record(const notification_rule& r) {
  sjson j = {{"id", r.id},
             {"name", r.name},
             {"meter", r.meter_slug},
             {"thresholds", r.thresholds},
             {"window", std::string{threshold_window_name(r.window)}},
             {"time_zone", r.window_time_zone},
             {"subjects", r.subjects},
             {"group_by", r.group_by_filters},
             {"channels", r.channel_ids},
             {"disabled", r.disabled},
             {"created_at", r.created_at},
             {"updated_at", r.updated_at}};
  return j.dump();
}

notification_rule read_notification_rule_record(std::string_view text) {
  return read_record(text, "notification rule", [](const record_reader& r) {
    notification_rule out;
    out.id = r.text("id");
    out.name = r.text("name");
    out.meter_slug = r.text("meter");
    const auto& thresholds = r.at("thresholds");
    if (!thresholds.is_array())
      r.fail("thresholds", "is not an array");
    for (const auto& t : thresholds) {
      if (!t.is_number())
        r.fail("thresholds", "holds a value that is not a number");
      out.thresholds.push_back(t.get<double>());
    }
    auto window = r.text("window");
    if (auto w = try_parse_threshold_window(window))
      out.window = *w;
    else
      r.fail("window", "is not a window: " + echoed(window));
    out.window_time_zone = r.text("time_zone");
    out.subjects = r.texts("subjects");
    out.group_by_filters = r.text_map("group_by");
    out.channel_ids = r.texts("channels");
    out.disabled = r.flag("disabled");
    out.created_at = r.integer("created_at");
    out.updated_at = r.integer("updated_at");
    return out;
  });
}

std::string notification_event_record(const notification_event& e) {
  sjson deliveries = sjson::array();
  for (const auto& d : e.deliveries)
    deliveries.push_back(delivery_record(d));
  sjson j = {{"id", e.id},
             {"rule", e.rule_id},
             {"rule_name", e.rule_name},
             {"meter", e.meter_slug},
             {"subject", e.subject},
             {"window_from", e.window.from},
             {"threshold", e.threshold},
             {"value", e.value},
             {"created_at", e.created_at},
             {"deliveries", std::move(deliveries)}};
  if (e.window.to)
    j["window_to"] = *e.window.to;
  return j.dump();
}

notification_event read_notification_event_record(std::string_view text) {
  return read_record(text, "notification event", [](const record_reader& r) {
    notification_event e;
    e.id = r.text("id");
    e.rule_id = r.text("rule");
    e.rule_name = r.text("rule_name");
    e.meter_slug = r.text("meter");
    e.subject = r.text("subject");
    e.window.from = r.integer("window_from");
    e.window.to = r.optional_integer("window_to");
    e.threshold = r.number("threshold");
    e.value = r.number("value");
    e.created_at = r.integer("created_at");
    const auto& deliveries = r.at("deliveries");
    if (!deliveries.is_array())
      r.fail("deliveries", "is not an array");
    for (const auto& d : deliveries)
      e.deliveries.push_back(read_delivery(record_reader{d, "notification delivery"}));
    return e;
  });
}

validated<notification_channel>
parse_new_notification_channel(const ojson& body, std::string id, millis now) {
  std::string errors;
  bool secret_given = false;
  auto c = read_channel(body, secret_given, errors);
  c.id = std::move(id);
  c.created_at = c.updated_at = now;
  // OpenMeter makes a secret when none is given, and shows it on create.
  if (!secret_given)
    c.signing_secret = new_webhook_secret();
  return result_of(std::move(c), std::move(errors));
}

validated<notification_channel>
parse_notification_channel_update(const ojson& body, const notification_channel& current,
                                  millis now) {
  std::string errors;
  bool secret_given = false;
  auto c = read_channel(body, secret_given, errors);
  c.id = current.id;
  c.created_at = current.created_at;
  c.updated_at = now;
  if (!secret_given)
    c.signing_secret = current.signing_secret;
  return result_of(std::move(c), std::move(errors));
}

validated<notification_rule> parse_new_notification_rule(const ojson& body,
                                                         std::string id, millis now) {
  std::string errors;
  auto r = read_rule(body, errors);
  r.id = std::move(id);
  r.created_at = r.updated_at = now;
  return result_of(std::move(r), std::move(errors));
}

validated<notification_rule>
parse_notification_rule_update(const ojson& body, const notification_rule& current,
                               millis now) {
  std::string errors;
  auto r = read_rule(body, errors);
  r.id = current.id;
  r.created_at = current.created_at;
  r.updated_at = now;
  return result_of(std::move(r), std::move(errors));
}

validated<std::vector<std::string>> parse_notification_resend(const ojson& body) {
  std::string errors;
  std::vector<std::string> channels;
  if (body.is_null())
    return {};
  if (!body.is_object()) {
    errors = "request body must be a JSON object, optionally with channels (an array "
             "of channel ids)";
  } else if (const auto* list = field(body, "channels")) {
    if (!list->is_array() || list->size() > max_rule_channels)
      errors = "channels must be an array of at most 50 channel ids";
    else
      channels = read_string_list(*list, "channels", max_name_length, errors);
  }
  return result_of(std::move(channels), std::move(errors));
}

validated<page_request> parse_page_request(const query_params& query) {
  std::string errors;
  page_request page;
  if (auto n = read_count(query, "page", 1, 1'000'000'000))
    page.page = *n;
  else
    append_error(errors, "page must be an integer from 1");
  if (auto n = read_count(query, "pageSize", 100, max_page_size))
    page.page_size = *n;
  else
    append_error(errors, "pageSize must be an integer from 1 to 1000");
  return result_of(page, std::move(errors));
}

ojson notification_channel_json(const notification_channel& c) {
  ojson out;
  out["id"] = c.id;
  out["type"] = notification_channel_type;
  out["name"] = c.name;
  out["disabled"] = c.disabled;
  out["url"] = c.url;
  out["customHeaders"] = ojson::object();
  for (const auto& [name, value] : c.custom_headers)
    out["customHeaders"][name] = value;
  out["signingSecret"] = c.signing_secret;
  out["createdAt"] = format_iso8601(c.created_at);
  out["updatedAt"] = format_iso8601(c.updated_at);
  return out;
}

ojson notification_channel_meta_json(const std::string& id,
                                     const notification_channel* channel) {
  ojson out;
  out["id"] = id;
  out["type"] = notification_channel_type;
  if (channel)
    out["name"] = channel->name;
  return out;
}

namespace {

const notification_channel*
find_channel(const std::vector<notification_channel>& channels, const std::string& id) {
  auto it = std::find_if(channels.begin(), channels.end(),
                         [&](const notification_channel& c) { return c.id == id; });
  return it == channels.end() ? nullptr : &*it;
}

ojson delivery_json(const notification_delivery& d, const notification_channel* channel) {
  ojson out;
  out["state"] = delivery_state_name(d.state);
  out["reason"] = d.last_error;
  out["updatedAt"] = format_iso8601(d.updated_at);
  out["channel"] = notification_channel_meta_json(d.channel_id, channel);
  if (d.next_attempt_at)
    out["nextAttempt"] = format_iso8601(*d.next_attempt_at);
  // OpenMeter lists every attempt; the store keeps the last one only.
  out["attempts"] = ojson::array();
  if (d.last_attempt_at) {
    ojson attempt;
    attempt["state"] = d.state == delivery_state::success ? "SUCCESS" : "FAILED";
    ojson response;
    if (d.last_status_code)
      response["statusCode"] = *d.last_status_code;
    response["body"] = d.last_error;
    response["durationMs"] = d.last_duration_ms;
    if (channel)
      response["url"] = channel->url;
    attempt["response"] = std::move(response);
    attempt["timestamp"] = format_iso8601(*d.last_attempt_at);
    out["attempts"].push_back(std::move(attempt));
  }
  out["attemptCount"] = d.attempts;
  if (d.last_status_code)
    out["lastStatusCode"] = *d.last_status_code;
  return out;
}

} // namespace

ojson notification_rule_json(const notification_rule& r,
                             const std::vector<notification_channel>& channels) {
  ojson out;
  out["id"] = r.id;
  out["type"] = meter_usage_threshold_type;
  out["name"] = r.name;
  out["disabled"] = r.disabled;
  out["meter"] = r.meter_slug;
  out["thresholds"] = ojson::array();
  for (double t : r.thresholds)
    out["thresholds"].push_back(ojson{{"value", number_json(t)}, {"type", "NUMBER"}});
  out["window"] = threshold_window_name(r.window);
  out["windowTimeZone"] = r.window_time_zone;
  if (!r.subjects.empty())
    out["subjects"] = r.subjects;
  if (!r.group_by_filters.empty()) {
    out["filterGroupBy"] = ojson::object();
    for (const auto& [key, value] : r.group_by_filters)
      out["filterGroupBy"][key] = value;
  }
  out["channels"] = ojson::array();
  for (const auto& id : r.channel_ids)
    out["channels"].push_back(
        notification_channel_meta_json(id, find_channel(channels, id)));
  out["createdAt"] = format_iso8601(r.created_at);
  out["updatedAt"] = format_iso8601(r.updated_at);
  return out;
}

ojson notification_payload_json(const notification_event& e) {
  ojson window;
  window["from"] = format_iso8601(e.window.from);
  window["to"] = e.window.to ? ojson(format_iso8601(*e.window.to)) : ojson(nullptr);
  ojson data;
  data["rule"] = ojson{{"id", e.rule_id}, {"name", e.rule_name}};
  data["meter"] = e.meter_slug;
  data["subject"] = e.subject;
  data["window"] = std::move(window);
  data["threshold"] = number_json(e.threshold);
  data["value"] = number_json(e.value);
  ojson out;
  out["id"] = e.id;
  out["type"] = meter_usage_threshold_type;
  out["timestamp"] = format_iso8601(e.created_at);
  out["data"] = std::move(data);
  return out;
}

std::string webhook_body(const notification_event& e) {
  // Invalid UTF-8 (a subject stored before it was checked) must not throw in
  // the delivery path; it is replaced, the same way every time.
  return notification_payload_json(e).dump(-1, ' ', false,
                                           ojson::error_handler_t::replace);
}

ojson notification_event_json(const notification_event& e, const notification_rule* rule,
                              const std::vector<notification_channel>& channels) {
  ojson out;
  out["id"] = e.id;
  out["type"] = meter_usage_threshold_type;
  out["createdAt"] = format_iso8601(e.created_at);
  if (rule)
    out["rule"] = notification_rule_json(*rule, channels);
  else
    out["rule"] = ojson{
        {"id", e.rule_id}, {"type", meter_usage_threshold_type}, {"name", e.rule_name}};
  out["deliveryStatus"] = ojson::array();
  for (const auto& d : e.deliveries)
    out["deliveryStatus"].push_back(
        delivery_json(d, find_channel(channels, d.channel_id)));
  out["payload"] = notification_payload_json(e);
  return out;
}

ojson notification_page_json(ojson items, const page_request& page,
                             std::size_t total_count) {
  ojson out;
  out["totalCount"] = total_count;
  out["page"] = page.page;
  out["pageSize"] = page.page_size;
  out["items"] = items.is_array() ? std::move(items) : ojson::array();
  return out;
}

usage_span usage_window(threshold_window w, const date::time_zone* zone, millis now) {
  switch (w) {
  case threshold_window::day: {
    auto span = window_of(now, window_size::day, zone);
    return {span.start, span.end};
  }
  case threshold_window::month: {
    auto span = window_of(now, window_size::month, zone);
    return {span.start, span.end};
  }
  case threshold_window::total:
    break;
  }
  return {earliest_timestamp, std::nullopt};
}

std::string event_key(std::string_view rule_id, std::string_view subject,
                      millis window_from, double threshold) {
  nlohmann::json key = nlohmann::json::array({std::string{rule_id}, std::string{subject},
                                              window_from, threshold_text(threshold)});
  return key.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<double> crossed_thresholds(const std::vector<double>& thresholds,
                                       double before, double after) {
  std::vector<double> out;
  for (double t : thresholds)
    if (before < t && t <= after)
      out.push_back(t);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

notification_event new_notification_event(const notification_rule& rule,
                                          std::string subject, usage_span window,
                                          double threshold, double value,
                                          const std::vector<std::string>& channel_ids,
                                          millis now) {
  notification_event e;
  e.id = new_ulid(now);
  e.rule_id = rule.id;
  e.rule_name = rule.name;
  e.meter_slug = rule.meter_slug;
  e.subject = std::move(subject);
  e.window = window;
  e.threshold = threshold;
  e.value = value;
  e.created_at = now;
  for (const auto& id : channel_ids) {
    notification_delivery d;
    d.channel_id = id;
    d.next_attempt_at = now;
    d.updated_at = now;
    e.deliveries.push_back(std::move(d));
  }
  return e;
}

retry_schedule default_retry_schedule() {
  return {{1'000, 5'000, 30'000, 120'000, 600'000, 1'800'000, 3'600'000}, 86'400'000};
}

validated<retry_schedule> parse_retry_schedule(std::string_view delays,
                                               std::string_view max_age) {
  auto trim = [](std::string_view text) {
    while (!text.empty() && text.front() == ' ')
      text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ')
      text.remove_suffix(1);
    return text;
  };
  std::string errors;
  retry_schedule schedule;
  std::size_t position = 0;
  while (true) {
    auto comma = delays.find(',', position);
    auto part = trim(delays.substr(position, comma == std::string_view::npos
                                                 ? std::string_view::npos
                                                 : comma - position));
    if (auto delay = try_parse_duration(part))
      schedule.delays.push_back(*delay);
    else
      append_error(errors, "retry delay " + std::to_string(schedule.delays.size() + 1) +
                               " (" + echoed(part) +
                               ") must be a duration such as 30s, 2m or 1h");
    if (comma == std::string_view::npos || !errors.empty())
      break;
    position = comma + 1;
  }
  if (errors.empty() && schedule.delays.size() > max_retry_delays)
    append_error(errors, "the retry schedule may list at most 50 delays");
  if (auto age = try_parse_duration(trim(max_age)))
    schedule.max_age = *age;
  else
    append_error(errors, "the retry max age must be a duration such as 24h, got " +
                             echoed(max_age));
  if (errors.empty() && schedule.max_age < schedule.delays.front())
    append_error(errors, "the retry max age must be at least the first retry delay, "
                         "or no delivery is ever retried");
  return result_of(std::move(schedule), std::move(errors));
}

millis next_attempt_delay(int attempts_made, const retry_schedule& schedule,
                          double random) {
  if (attempts_made <= 0 || schedule.delays.empty())
    return 0;
  auto index =
      std::min(static_cast<std::size_t>(attempts_made - 1), schedule.delays.size() - 1);
  // NaN fails both comparisons and is treated as the middle.
  double r = random >= 0 ? std::min(random, 1.0) : (random < 0 ? 0.0 : 0.5);
  double factor = 0.8 + 0.4 * r;
  return static_cast<millis>(
      std::llround(static_cast<double>(schedule.delays[index]) * factor));
}

bool give_up(millis first_attempt_at, millis now, const retry_schedule& schedule) {
  return now - first_attempt_at > schedule.max_age;
}

} // namespace um::model
