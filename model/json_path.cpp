#include "model/json_path.hpp"

namespace um::model {

namespace {

bool is_name_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || u >= 0x80;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Parses the inside of `[...]` starting after `[`; returns the error or "".
std::string parse_bracket(std::string_view text, std::size_t& pos,
                          std::vector<json_path_step>& steps) {
  if (pos >= text.size())
    return "unterminated bracket";
  char c = text[pos];
  if (c == '\'' || c == '"') {
    char quote = c;
    ++pos;
    std::string name;
    for (;;) {
      if (pos >= text.size())
        return "unterminated quoted name";
      char d = text[pos++];
      if (d == quote)
        break;
      if (d == '\\') {
        if (pos >= text.size())
          return "unterminated quoted name";
        char e = text[pos++];
        if (e != '\\' && e != '\'' && e != '"')
          return std::string{"unsupported escape \\"} + e + " in quoted name";
        name += e;
        continue;
      }
      name += d;
    }
    if (name.empty())
      return "empty name in brackets";
    if (pos < text.size() && text[pos] == ',')
      return "unions are not supported";
    if (pos >= text.size() || text[pos] != ']')
      return "expected ] after quoted name at position " + std::to_string(pos);
    ++pos;
    steps.push_back({std::move(name), std::nullopt});
    return {};
  }
  if (c == '*')
    return "wildcards are not supported";
  if (c == '?')
    return "filters are not supported";
  if (c == '(')
    return "script expressions are not supported";
  if (c == ':')
    return "slices are not supported";
  if (c == '-')
    return "negative indices are not supported";
  if (c == ']')
    return "empty brackets";
  if (!is_digit(c))
    return "expected a quoted name or an index in brackets at position " +
           std::to_string(pos);
  std::size_t start = pos;
  std::size_t index = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    if (index > 1'000'000'000)
      return "index too large";
    index = index * 10 + static_cast<std::size_t>(text[pos] - '0');
    ++pos;
  }
  if (pos - start > 1 && text[start] == '0')
    return "index with a leading zero";
  if (pos < text.size() && text[pos] == ':')
    return "slices are not supported";
  if (pos < text.size() && text[pos] == ',')
    return "unions are not supported";
  if (pos >= text.size() || text[pos] != ']')
    return "expected ] after index at position " + std::to_string(pos);
  ++pos;
  steps.push_back({std::string{}, index});
  return {};
}

std::string parse_steps(std::string_view text, std::vector<json_path_step>& steps) {
  if (text.empty())
    return "a path is required";
  if (text[0] != '$')
    return "a path must start with $";
  if (text.size() == 1)
    return "$ alone selects the whole object; select a property, such as $.tokens";
  std::size_t pos = 1;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '.') {
      ++pos;
      if (pos < text.size() && text[pos] == '.')
        return "recursive descent (..) is not supported";
      if (pos < text.size() && text[pos] == '*')
        return "wildcards are not supported";
      std::size_t start = pos;
      while (pos < text.size() && is_name_char(text[pos]))
        ++pos;
      if (pos == start) {
        if (pos >= text.size() || text[pos] == '.' || text[pos] == '[')
          return "empty name at position " + std::to_string(start);
        return std::string{"unexpected character '"} + text[pos] + "' at position " +
               std::to_string(pos);
      }
      steps.push_back({std::string{text.substr(start, pos - start)}, std::nullopt});
    } else if (c == '[') {
      ++pos;
      if (auto error = parse_bracket(text, pos, steps); !error.empty())
        return error;
    } else {
      return std::string{"unexpected character '"} + c + "' at position " +
             std::to_string(pos);
    }
  }
  return {};
}

template <class Json>
const Json* evaluate_steps(const json_path& path, const Json& data) {
  const Json* current = &data;
  for (const auto& step : path.steps) {
    if (step.index) {
      if (!current->is_array() || *step.index >= current->size())
        return nullptr;
      current = &(*current)[*step.index];
    } else {
      if (!current->is_object())
        return nullptr;
      auto it = current->find(step.name);
      if (it == current->end())
        return nullptr;
      current = &*it;
    }
  }
  return current;
}

} // namespace

validated<json_path> parse_json_path(std::string_view text) {
  validated<json_path> result;
  auto error = parse_steps(text, result.value.steps);
  if (!error.empty()) {
    result.value = {};
    result.error = "invalid JSONPath \"" + std::string{text} + "\": " + error;
    return result;
  }
  result.value.text = std::string{text};
  return result;
}

const nlohmann::json* evaluate(const json_path& path, const nlohmann::json& data) {
  return evaluate_steps(path, data);
}

const nlohmann::ordered_json* evaluate(const json_path& path,
                                       const nlohmann::ordered_json& data) {
  return evaluate_steps(path, data);
}

} // namespace um::model
