#include "http/route_table.hpp"

#include "http/translate.hpp"
#include "model/portal_tokens.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace um::http {

namespace {

// The methods a preflight may name, in the order it names them.
constexpr std::array<std::string_view, 6> preflight_order = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

} // namespace

route_table::route_table(std::vector<route_spec> rows, std::vector<api_mount> mounts)
    : rows_(std::move(rows)), mounts_(std::move(mounts)) {}

route_table route_table::serving(bool fault_injection) const {
  std::vector<route_spec> served;
  for (const auto& row : rows_)
    if (fault_injection || row.served == availability::always)
      served.push_back(row);
  return route_table{std::move(served), mounts_};
}

const route_spec* route_table::find(std::string_view method,
                                    std::string_view target) const {
  auto as = method == "HEAD" ? std::string_view{"GET"} : method;
  for (const auto& row : rows_)
    if (row.method == as && path_matches(row.path, target))
      return &row;
  return nullptr;
}

std::vector<route_registration> route_table::registrations() const {
  std::vector<route_registration> out;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    out.push_back({rows_[i].method, &rows_[i], i});
    if (rows_[i].method == "GET")
      out.push_back({"HEAD", &rows_[i], i});
  }
  return out;
}

std::string route_table::preflight_methods(std::string_view target) const {
  auto allowed = [&](std::string_view method) {
    if (method == "GET" || method == "POST" || method == "OPTIONS")
      return true;
    for (const auto& row : rows_)
      if (row.method == method && path_matches(row.path, target))
        return true;
    return false;
  };
  std::string out;
  for (auto method : preflight_order) {
    if (!allowed(method))
      continue;
    if (!out.empty())
      out += ',';
    out += method;
  }
  return out;
}

error_style route_table::errors_for(std::string_view method,
                                    std::string_view target) const {
  if (const auto* row = find(method, target))
    return row->errors;
  for (const auto& row : rows_)
    if (path_matches(row.path, target))
      return row.errors;
  auto path = path_of(target);
  for (const auto& mount : mounts_)
    if (starts_with(path, mount.prefix))
      return mount.errors;
  return error_style::v1;
}

bool route_table::tracks(std::string_view method, std::string_view target) const {
  if (method == "HEAD")
    return true;
  const auto* row = find(method, target);
  return !row || row->tracked == tracking::tracked;
}

std::optional<model::api_error>
route_table::admit_body(const request_head& head,
                        const std::vector<model::api_key>& api_keys) const {
  if (head.method == "OPTIONS")
    return std::nullopt;
  if (const auto* row = find(head.method, head.target)) {
    if (key_accepted(row->auth, head.authorization, head.api_key, api_keys))
      return std::nullopt;
    return model::api_error{model::error_code::unauthorized,
                            unauthorized_message_for(row->auth)};
  }
  auto path = std::string_view{head.target}.substr(0, head.target.find('?'));
  return model::api_error{model::error_code::not_found,
                          route_not_found(head.method, path)};
}

std::string route_table::metric_label(const route_spec& row) {
  return std::string{row.method} + " " + std::string{row.path};
}

std::string route_table::listing() const {
  using json = nlohmann::ordered_json;
  auto style = [](error_style s) { return s == error_style::problem ? "problem" : "v1"; };
  json routes = json::array();
  for (const auto& row : rows_)
    routes.push_back(
        json{{"method", row.method},
             {"path", row.path},
             {"auth", row.auth == access::open           ? "none"
                      : row.auth == access::portal_token ? "portal-token"
                                                         : "api-key"},
             {"errors", style(row.errors)},
             {"tracked", row.tracked == tracking::tracked},
             {"writeOutcomeUnknownOnTimeout", row.timeout == on_timeout::write_may_land},
             {"head", row.method == "GET"},
             {"served",
              row.served == availability::always ? "always" : "with --fault-injection"}});
  json mounts = json::array();
  for (const auto& mount : mounts_)
    mounts.push_back(json{{"prefix", mount.prefix}, {"errors", style(mount.errors)}});
  return json{{"routes", std::move(routes)}, {"mounts", std::move(mounts)}}.dump(2);
}

std::optional<std::string>
admitted_namespace(access auth, std::string_view authorization,
                   std::string_view x_api_key,
                   const std::vector<model::api_key>& api_keys) {
  std::optional<std::string> refused;
  std::optional<std::string> by_default{std::string{model::default_namespace}};
  if (auth == access::open)
    return by_default;
  if (auth == access::portal_token)
    return model::is_portal_token(presented_api_key(authorization, {})) ? by_default
                                                                        : refused;
  auto presented = presented_api_key(authorization, x_api_key);
  if (model::is_portal_token(presented))
    return refused;
  if (api_keys.empty())
    return by_default;
  if (const auto* key = matching_api_key(presented, api_keys))
    return key->ns;
  return refused;
}

bool key_accepted(access auth, std::string_view authorization, std::string_view x_api_key,
                  const std::vector<model::api_key>& api_keys) {
  return admitted_namespace(auth, authorization, x_api_key, api_keys).has_value();
}

std::string route_not_found(std::string_view method, std::string_view path) {
  return "Route " + std::string{method} + " " + std::string{path} + " not found";
}

} // namespace um::http
