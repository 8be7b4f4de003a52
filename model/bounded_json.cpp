#include "model/bounded_json.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>

namespace um::model {

namespace {

// Whether JavaScript treats `name` as an array index, which its objects list
// before every other property, in numeric order: the canonical decimal form
// of an integer from 0 to 2^32 - 2.
std::optional<std::uint32_t> array_index(std::string_view name) {
  if (name.empty() || name.size() > 10 || (name.size() > 1 && name[0] == '0'))
    return std::nullopt;
  std::uint64_t value = 0;
  for (char c : name) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > 4'294'967'294u)
    return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

// Builds the document from nlohmann's SAX events (its parser is iterative),
// checking the limits before each container or member is added.
template <class Json>
class bounded_builder {
public:
  using number_integer_t = typename Json::number_integer_t;
  using number_unsigned_t = typename Json::number_unsigned_t;
  using number_float_t = typename Json::number_float_t;
  using string_t = typename Json::string_t;
  using binary_t = typename Json::binary_t;
  using object_t = typename Json::object_t;
  using array_t = typename Json::array_t;

  static constexpr bool ordered = std::is_same_v<Json, nlohmann::ordered_json>;

  bounded_builder(parsed_json<Json>& out, const json_limits& limits)
      : out_(out), limits_(limits) {
    for (const auto& f : limits_.fields)
      named_levels_ = std::max(named_levels_, f.size());
    frames_.reserve(std::min<std::size_t>(limits_.max_depth, max_json_depth) +
                    named_levels_ + 1);
  }

  bool null() { return add(nullptr); }
  bool boolean(bool v) { return add(v); }
  bool number_integer(number_integer_t v) { return add(v); }
  bool number_unsigned(number_unsigned_t v) { return add(v); }
  bool number_float(number_float_t v, const string_t&) { return add(v); }
  bool string(string_t& v) { return add(std::move(v)); }
  bool binary(binary_t& v) { return add(std::move(v)); }

  bool start_object(std::size_t) { return open(nlohmann::detail::value_t::object); }
  bool start_array(std::size_t) { return open(nlohmann::detail::value_t::array); }

  bool key(string_t& name) {
    auto& top = frames_.back();
    if (++top.members > limits_.max_members)
      return fail(json_fault::too_wide, top.field_root, "object");
    auto& object = top.container->template get_ref<object_t&>();
    if constexpr (ordered) {
      auto& member = member_of(top, object, std::move(name));
      element_ = &member.second;
      top.pending_name = &member.first;
    } else {
      // std::map: a repeated name replaces the value, as in JavaScript.
      auto& member = *object.try_emplace(std::move(name)).first;
      element_ = &member.second;
      top.pending_name = &member.first;
    }
    return true;
  }

  bool end_object() {
    if constexpr (ordered) {
      auto& top = frames_.back();
      if (top.index_names)
        put_indexes_first(top.container->template get_ref<object_t&>());
    }
    frames_.pop_back();
    return true;
  }

  bool end_array() {
    frames_.pop_back();
    return true;
  }

  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception&) {
    out_.fault = json_fault::syntax;
    out_.error = "is not valid JSON";
    return false;
  }

private:
  // The members of an ordered object as a plain vector: ordered_map's own
  // lookup is a linear search, which made reading n members cost n².
  using member_vector =
      std::vector<typename object_t::value_type, typename object_t::allocator_type>;

  // The position of each member by its name's hash: open addressing over a
  // flat array of 8-byte slots, so that a name costs about one probe of
  // memory, not a node allocation and pointer chasing, and the names are not
  // copied. Positions fit 32 bits: 2^32 members take more than 16 GiB.
  class name_index {
  public:
    explicit name_index(const member_vector& members) {
      for (std::size_t i = 0; i < members.size(); ++i)
        add(hash(members[i].first), static_cast<std::uint32_t>(i));
    }

    // std::hash of the name, seeded per process and mixed, so that a client
    // cannot precompute names that share their low bits and make every
    // probe a long walk (at worst a walk is as long as the object is wide).
    static std::uint32_t hash(const std::string& name) {
      static const std::uint64_t seed =
          (std::uint64_t{std::random_device{}()} << 32) | std::random_device{}();
      std::uint64_t x = std::hash<std::string>{}(name) ^ seed;
      x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull; // MurmurHash3's finalizer
      x = (x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53ull;
      return static_cast<std::uint32_t>(x ^ (x >> 33));
    }

    // The position of the member called `name` (whose hash is `h`), or
    // `none` after recording that it will be at `next`.
    std::size_t find_or_add(const member_vector& members, const std::string& name,
                            std::uint32_t h, std::size_t next) {
      if ((count_ + 1) * 2 > slots_.size())
        grow();
      for (auto i = h & mask(); true; i = (i + 1) & mask()) {
        auto& s = slots_[i];
        if (s.position == empty) {
          s = {h, static_cast<std::uint32_t>(next)};
          ++count_;
          return none;
        }
        if (s.hash == h && members[s.position].first == name)
          return s.position;
      }
    }

    static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

  private:
    static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();

    struct slot {
      std::uint32_t hash = 0;
      std::uint32_t position = empty;
    };

    std::size_t mask() const { return slots_.size() - 1; }

    void add(std::uint32_t h, std::uint32_t position) {
      if ((count_ + 1) * 2 > slots_.size())
        grow();
      auto i = h & mask();
      while (slots_[i].position != empty)
        i = (i + 1) & mask();
      slots_[i] = {h, position};
      ++count_;
    }

    void grow() {
      std::vector<slot> old(std::max<std::size_t>(64, slots_.size() * 2));
      old.swap(slots_);
      count_ = 0;
      for (const auto& s : old)
        if (s.position != empty)
          add(s.hash, s.position);
    }

    std::vector<slot> slots_; // a power of two long, at most half full
    std::size_t count_ = 0;
  };

  // Below this many names a linear scan beats hashing.
  static constexpr std::size_t scan_limit = 16;

  struct frame {
    Json* container = nullptr;
    std::size_t level = 1;          // 1 for the root and for each field root
    std::size_t members = 0;        // members or elements so far, repeats counted
    std::ptrdiff_t field_root = -1; // the frame that is the field this one is in
    std::string name;               // its member name (or index) in its parent
    bool is_element = false;        // whether `name` is an array index
    // object: the name whose value comes next, as stored in the object (it
    // stays put until that value is complete)
    const std::string* pending_name = nullptr;
    bool index_names = false;              // object: some name is an array index
    std::unique_ptr<name_index> positions; // object: once past scan_limit
  };

  typename member_vector::value_type& member_of(frame& top, object_t& object,
                                                string_t&& name) {
    auto& members = static_cast<member_vector&>(object);
    if (!top.positions && members.size() < scan_limit) {
      for (auto& m : members)
        if (m.first == name)
          return m; // the first place, the last value: as JavaScript
      if (array_index(name))
        top.index_names = true;
      members.emplace_back(std::move(name), nullptr);
      return members.back();
    }
    if (!top.positions)
      top.positions = std::make_unique<name_index>(members);
    auto at =
        top.positions->find_or_add(members, name, name_index::hash(name), members.size());
    if (at != name_index::none)
      return members[at];
    if (array_index(name))
      top.index_names = true;
    members.emplace_back(std::move(name), nullptr);
    return members.back();
  }

  static void put_indexes_first(object_t& object) {
    auto& members = static_cast<member_vector&>(object);
    std::vector<std::pair<std::uint32_t, std::size_t>> indexes; // (index, position)
    for (std::size_t i = 0; i < members.size(); ++i)
      if (auto n = array_index(members[i].first))
        indexes.emplace_back(*n, i);
    std::sort(indexes.begin(), indexes.end());
    member_vector reordered;
    reordered.reserve(members.size());
    for (auto [n, i] : indexes)
      reordered.emplace_back(std::move(members[i]));
    for (auto& m : members)
      if (!array_index(m.first))
        reordered.emplace_back(std::move(m));
    members = std::move(reordered);
  }

  // Where the next value goes: the root, the next element of the array on
  // top, or the member whose name came last. Null when a limit is crossed.
  Json* slot() {
    if (frames_.empty())
      return &out_.value;
    auto& top = frames_.back();
    if (!top.container->is_array())
      return element_;
    if (++top.members > limits_.max_members) {
      fail(json_fault::too_wide, top.field_root, "array");
      return nullptr;
    }
    auto& elements = top.container->template get_ref<array_t&>();
    elements.emplace_back();
    return &elements.back();
  }

  template <class Value>
  bool add(Value&& v) {
    auto* at = slot();
    if (!at)
      return false;
    *at = Json(std::forward<Value>(v));
    return true;
  }

  bool open(nlohmann::detail::value_t type) {
    frame child;
    if (!frames_.empty()) {
      const auto& parent = frames_.back();
      child.level = parent.level + 1;
      child.field_root = parent.field_root;
      if (frames_.size() <= named_levels_) {
        child.is_element = parent.container->is_array();
        child.name =
            child.is_element ? std::to_string(parent.members) : *parent.pending_name;
        if (is_field(child)) {
          child.level = 1;
          child.field_root = static_cast<std::ptrdiff_t>(frames_.size());
        }
      }
      if (child.level > limits_.max_depth)
        return fail(json_fault::too_deep, child.field_root, nullptr);
    }
    auto* at = slot();
    if (!at)
      return false;
    *at = Json(type);
    child.container = at;
    frames_.push_back(std::move(child));
    return true;
  }

  // Whether `child`, about to be pushed, is at the path of a field.
  bool is_field(const frame& child) const {
    auto depth = frames_.size(); // the child's path has this many steps
    for (const auto& f : limits_.fields) {
      if (f.size() != depth)
        continue;
      bool match = true;
      for (std::size_t i = 0; i < depth && match; ++i) {
        const auto& step = i + 1 < depth ? frames_[i + 1] : child;
        match = f[i] == "*" ? step.is_element : !step.is_element && f[i] == step.name;
      }
      if (match)
        return true;
    }
    return false;
  }

  bool fail(json_fault fault, std::ptrdiff_t field_root, const char* container) {
    out_.fault = fault;
    auto limit = fault == json_fault::too_deep ? limits_.max_depth : limits_.max_members;
    out_.error =
        fault == json_fault::too_deep
            ? "nests deeper than " + std::to_string(limit) + " levels"
            : "has more than " + std::to_string(limit) + " members in one " + container;
    if (field_root > 0) {
      // The field root may be the container being opened, not yet pushed.
      for (std::ptrdiff_t i = 1; i <= field_root; ++i)
        out_.field.push_back(
            i < static_cast<std::ptrdiff_t>(frames_.size()) ? frames_[i].name : "");
    }
    return false;
  }

  parsed_json<Json>& out_;
  const json_limits& limits_;
  std::size_t named_levels_ = 0; // path steps kept: the longest field's
  std::vector<frame> frames_;
  Json* element_ = nullptr;
};

} // namespace

template <class Json>
parsed_json<Json> try_parse_json(std::string_view text, const json_limits& limits) {
  parsed_json<Json> out;
  bounded_builder<Json> builder{out, limits};
  bool read = false;
  try {
    read = Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const nlohmann::json::exception&) {
    read = false;
  }
  if (!read) {
    if (out.fault == json_fault::none) {
      out.fault = json_fault::syntax;
      out.error = "is not valid JSON";
    }
    out.value = Json{};
  }
  return out;
}

template parsed_json<nlohmann::ordered_json>
try_parse_json<nlohmann::ordered_json>(std::string_view, const json_limits&);
template parsed_json<nlohmann::json> try_parse_json<nlohmann::json>(std::string_view,
                                                                    const json_limits&);

} // namespace um::model
