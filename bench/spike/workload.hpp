#pragma once

// What every write-path spike program shares: the events it loads (as clients
// send them: random 128-bit ids, 1000 subjects, 30 days, ~150 bytes), the
// rollup changes those events make (v1 rollups and the cells of two meters),
// and how a run reports throughput, memory, disk and read latencies.
//
// The spike measures storage designs, not the service: nothing here is linked
// into usage-metrics. See bench/spike/README.md.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace spike {

using millis = std::int64_t;
constexpr millis minute_ms = 60'000;
constexpr millis hour_ms = 3'600'000;
constexpr millis day_ms = 86'400'000;
constexpr millis days = 30;
/// The 30 days end at 2026-11-27T00:00:00Z, as in bench/run's data set.
constexpr millis window_end = 1'795'737'600'000;
constexpr millis window_start = window_end - days * day_ms;
constexpr int subject_count = 1000;

// -- options ---------------------------------------------------------------

/// `--name value` pairs and bare `--flag`s, nothing else.
class args {
public:
  args(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0) {
        positional_.push_back(a);
        continue;
      }
      a = a.substr(2);
      if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0)
        values_[a] = argv[++i];
      else
        values_[a] = "1";
    }
  }
  std::string text(const std::string& name, const std::string& fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::int64_t integer(const std::string& name, std::int64_t fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : std::stoll(it->second);
  }
  bool flag(const std::string& name) const { return values_.count(name) > 0; }
  const std::vector<std::string>& positional() const { return positional_; }

private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

// -- events ----------------------------------------------------------------

/// xoshiro256**: fast, and the same sequence on every machine for a seed.
class rng {
public:
  explicit rng(std::uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }
  std::uint64_t next() {
    auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
    std::uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
  std::uint64_t s_[4];
};

inline const char* const event_types[] = {"request", "login", "upload", "export"};
inline const char* const models[] = {"gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"};
inline const char* const sources[] = {"api-gateway", "billing-worker"};

/// One event as a client sends it, plus the fields the two meters read from
/// its `data` (what the service's extract_sample finds there).
struct event {
  std::string source, id, type, subject, data;
  millis time = 0, ingested_at = 0;
  bool metered = false; ///< A `request`: counted by both meters.
  double tokens = 0;    ///< `$.tokens`, the SUM meter's value.
  std::string model;    ///< `$.model`, the UNIQUE_COUNT meter's group-by.
  std::string user;     ///< `$.user`, the UNIQUE_COUNT meter's value.
};

/// Fills the meter fields of `e` from its `data` (a replay reads events back
/// from storage with only the stored columns). The data is the generator's
/// fixed shape, so a tiny scanner stands in for the JSON parser here.
inline void read_meter_fields(event& e) {
  e.metered = e.type == "request";
  if (!e.metered)
    return;
  auto field = [&](const char* name) -> std::string {
    std::string key = std::string{"\""} + name + "\":";
    auto at = e.data.find(key);
    if (at == std::string::npos)
      return {};
    at += key.size();
    if (e.data[at] == '"') {
      auto end = e.data.find('"', at + 1);
      return e.data.substr(at + 1, end - at - 1);
    }
    auto end = e.data.find_first_of(",}", at);
    return e.data.substr(at, end - at);
  };
  e.tokens = std::strtod(field("tokens").c_str(), nullptr);
  e.model = field("model");
  e.user = field("user");
}

inline std::string subject_name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "customer-%04d", i);
  return buf;
}

inline millis now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Events as clients send them: ids are random UUIDs (version 4 text, as the
/// OpenMeter client makes them); subjects uniform over 1000; half the events
/// are `request`s with tokens, a model and a user; times either rising over
/// the 30 days (a replay) or scattered over them. A small share of each batch
/// re-sends an event of an earlier batch (a client retry), so dedup hits are
/// part of the load.
class event_generator {
public:
  event_generator(std::uint64_t total, bool scattered, double resend_share,
                  std::uint64_t seed)
      : total_(total), scattered_(scattered), resend_share_(resend_share), rng_(seed) {}

  /// The next `n` events; within a batch ids never repeat (a client does not
  /// send one event twice in one request).
  void next_batch(std::vector<event>& batch, std::size_t n) {
    batch.clear();
    millis now = now_millis();
    std::unordered_set<std::string> ids;
    while (batch.size() < n) {
      if (!recent_.empty() && rng_.below(1'000'000) < resend_share_ * 1'000'000) {
        const auto& old = recent_[rng_.below(recent_.size())];
        if (ids.insert(old.id).second)
          batch.push_back(old);
        continue;
      }
      event e = make(now);
      ids.insert(e.id);
      if (recent_.size() < 20'000)
        recent_.push_back(e);
      else
        recent_[rng_.below(recent_.size())] = e;
      batch.push_back(std::move(e));
    }
  }

private:
  event make(millis now) {
    event e;
    e.source = sources[rng_.below(2)];
    std::uint64_t hi = rng_.next(), lo = rng_.next();
    hi = (hi & ~0xf000ULL) | 0x4000ULL;       // version 4
    lo = (lo & ~(3ULL << 62)) | (2ULL << 62); // variant 10
    char id[40];
    std::snprintf(id, sizeof id, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(hi >> 32),
                  static_cast<unsigned>((hi >> 16) & 0xffff),
                  static_cast<unsigned>(hi & 0xffff), static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xffffffffffffULL));
    e.id = id;
    auto kind = rng_.below(10);
    e.type = event_types[kind < 5 ? 0 : kind < 7 ? 1 : kind < 9 ? 2 : 3];
    e.subject = subject_name(static_cast<int>(rng_.below(subject_count)));
    millis span = days * day_ms;
    if (scattered_)
      e.time = window_start + static_cast<millis>(rng_.below(span));
    else
      e.time = window_start +
               static_cast<millis>(static_cast<double>(made_) * span / total_) +
               static_cast<millis>(rng_.below(5'000));
    e.time = std::min(e.time, window_end - 1);
    e.ingested_at = now;
    char data[160];
    if (e.type == "request") {
      e.metered = true;
      e.tokens = static_cast<double>(50 + rng_.below(4000));
      e.model = models[rng_.below(3)];
      char user[16];
      std::snprintf(user, sizeof user, "user-%02d", static_cast<int>(rng_.below(20)));
      e.user = user;
      std::snprintf(data, sizeof data,
                    "{\"tokens\":%d,\"model\":\"%s\",\"user\":\"%s\",\"region\":\"eu\"}",
                    static_cast<int>(e.tokens), e.model.c_str(), e.user.c_str());
    } else {
      std::snprintf(data, sizeof data, "{\"bytes\":%d,\"client\":\"sdk-js/1.0\"}",
                    static_cast<int>(rng_.below(100'000)));
    }
    e.data = data;
    ++made_;
    return e;
  }

  std::uint64_t total_;
  bool scattered_;
  double resend_share_;
  rng rng_;
  std::uint64_t made_ = 0;
  std::vector<event> recent_;
};

/// MurmurHash64A: a stable 64-bit hash of (source, id) for dedup tables keyed
/// by an integer (std::hash is not stable across library versions).
inline std::uint64_t hash64(const std::string& a, const std::string& b) {
  std::string key = a;
  key += '\0';
  key += b;
  const std::uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  std::uint64_t h = 0x5bd1e995ULL ^ (key.size() * m);
  std::size_t n = key.size() / 8;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t k;
    std::memcpy(&k, key.data() + 8 * i, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const unsigned char* tail = reinterpret_cast<const unsigned char*>(key.data()) + 8 * n;
  switch (key.size() & 7) {
  case 7:
    h ^= std::uint64_t(tail[6]) << 48;
    [[fallthrough]];
  case 6:
    h ^= std::uint64_t(tail[5]) << 40;
    [[fallthrough]];
  case 5:
    h ^= std::uint64_t(tail[4]) << 32;
    [[fallthrough]];
  case 4:
    h ^= std::uint64_t(tail[3]) << 24;
    [[fallthrough]];
  case 3:
    h ^= std::uint64_t(tail[2]) << 16;
    [[fallthrough]];
  case 2:
    h ^= std::uint64_t(tail[1]) << 8;
    [[fallthrough]];
  case 1:
    h ^= std::uint64_t(tail[0]);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// -- rollups ----------------------------------------------------------------

inline millis floor_to(millis t, millis width) {
  millis q = t / width;
  if (t % width < 0)
    --q;
  return q * width;
}

/// A meter rollup cell, as model::meter_cell without the unique values
/// (stored as their own rows): merge is associative and commutative.
struct cell {
  double sum = 0;
  std::int64_t count = 0;
  double min = 0, max = 0, latest = 0;
  millis latest_time = 0;
  std::int64_t latest_seq = 0;

  void add(double v, millis t, std::int64_t seq) {
    cell one{v, 1, v, v, v, t, seq};
    merge(one);
  }
  void merge(const cell& o) {
    if (o.count == 0)
      return;
    if (count == 0) {
      *this = o;
      return;
    }
    sum += o.sum;
    count += o.count;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    if (std::tie(o.latest_time, o.latest_seq) > std::tie(latest_time, latest_seq)) {
      latest = o.latest;
      latest_time = o.latest_time;
      latest_seq = o.latest_seq;
    }
  }
};

/// The two meters of the spike: a SUM of `$.tokens` and a UNIQUE_COUNT of
/// `$.user` grouped by `$.model`, both over `request` events.
inline const char* const meter_ids[] = {"m_tokens", "m_users"};

/// Keys of the rollup rows; `group` is the stored group key (a JSON array,
/// as storage/meter_rollup.hpp writes it).
struct count_key {
  std::string subject, type;
  millis bucket = 0;
  bool operator==(const count_key& o) const {
    return bucket == o.bucket && subject == o.subject && type == o.type;
  }
  bool operator<(const count_key& o) const {
    return std::tie(subject, bucket, type) < std::tie(o.subject, o.bucket, o.type);
  }
};
struct cell_key {
  int meter = 0;
  std::string subject;
  millis bucket = 0;
  std::string group;
  bool operator==(const cell_key& o) const {
    return meter == o.meter && bucket == o.bucket && subject == o.subject &&
           group == o.group;
  }
  bool operator<(const cell_key& o) const {
    return std::tie(meter, subject, bucket, group) <
           std::tie(o.meter, o.subject, o.bucket, o.group);
  }
};
struct unique_key {
  cell_key cell;
  std::string value;
  bool operator==(const unique_key& o) const {
    return cell == o.cell && value == o.value;
  }
  bool operator<(const unique_key& o) const {
    return std::tie(cell, value) < std::tie(o.cell, o.value);
  }
};

struct key_hash {
  static std::size_t mix(std::size_t h, std::size_t v) {
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
  std::size_t operator()(const count_key& k) const {
    std::hash<std::string> s;
    return mix(mix(s(k.subject), s(k.type)), std::hash<millis>{}(k.bucket));
  }
  std::size_t operator()(const cell_key& k) const {
    std::hash<std::string> s;
    return mix(mix(mix(s(k.subject), s(k.group)), std::hash<millis>{}(k.bucket)),
               static_cast<std::size_t>(k.meter));
  }
  std::size_t operator()(const unique_key& k) const {
    return mix((*this)(k.cell), std::hash<std::string>{}(k.value));
  }
};

/// The rollup changes of a span of events, summed per row: v1 counts per
/// (subject, type) and minute/hour/day, totals per (subject, type), a
/// service-wide per-minute count, a per-subject hourly total (types summed,
/// for the hourly history), and both meters' cells and unique values per
/// minute and hour. Written sorted (`sorted`), so that each row is written
/// once per flush and neighbouring rows together.
struct rollup_delta {
  std::unordered_map<count_key, std::int64_t, key_hash> counts[3]; ///< minute/hour/day
  std::unordered_map<count_key, std::int64_t, key_hash> totals;    ///< bucket 0
  std::unordered_map<millis, std::int64_t> global_minute;
  std::unordered_map<count_key, std::int64_t, key_hash> subject_hour; ///< type ""
  std::unordered_map<cell_key, cell, key_hash> cells[2];              ///< minute/hour
  std::unordered_set<unique_key, key_hash> uniques[2];                ///< minute/hour
  std::uint64_t events = 0;
  /// Whether per-subject minute rows are kept (v1 minute counts, meter
  /// minute cells and unique values); without them a read takes the partial
  /// hours at a range's ends from the events.
  bool minutes = true;

  void add(const event& e, std::int64_t seq) {
    ++events;
    const millis widths[] = {minute_ms, hour_ms, day_ms};
    for (int g = minutes ? 0 : 1; g < 3; ++g)
      counts[g][{e.subject, e.type, floor_to(e.time, widths[g])}] += 1;
    totals[{e.subject, e.type, 0}] += 1;
    global_minute[floor_to(e.time, minute_ms)] += 1;
    subject_hour[{e.subject, std::string{}, floor_to(e.time, hour_ms)}] += 1;
    if (!e.metered)
      return;
    for (int g = minutes ? 0 : 1; g < 2; ++g) {
      millis bucket = floor_to(e.time, widths[g]);
      cells[g][{0, e.subject, bucket, "[]"}].add(e.tokens, e.time, seq);
      cell_key users{1, e.subject, bucket, "[\"" + e.model + "\"]"};
      // UNIQUE_COUNT keeps count/latest too (the service stores them alike).
      cells[g][users].add(1, e.time, seq);
      uniques[g].insert({std::move(users), e.user});
    }
  }

  std::size_t rows() const {
    std::size_t n = totals.size() + global_minute.size() + subject_hour.size();
    for (const auto& c : counts)
      n += c.size();
    for (int g = 0; g < 2; ++g)
      n += cells[g].size() + uniques[g].size();
    return n;
  }

  void clear() {
    bool keep = minutes;
    *this = rollup_delta{};
    minutes = keep;
  }

  template <class Map>
  static auto sorted(const Map& map) {
    std::vector<std::pair<typename Map::key_type, typename Map::mapped_type>> out(
        map.begin(), map.end());
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }
  template <class Set>
  static auto sorted_set(const Set& set) {
    std::vector<typename Set::key_type> out(set.begin(), set.end());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// -- measuring --------------------------------------------------------------

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// VmRSS and VmHWM of this process, in MB.
inline std::pair<double, double> rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  double rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      rss = std::stod(line.substr(6)) / 1024;
    if (line.rfind("VmHWM:", 0) == 0)
      hwm = std::stod(line.substr(6)) / 1024;
  }
  return {rss, hwm};
}

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// CPU seconds (user + system) of this process, all its threads.
inline double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Bytes this process caused to be written to storage (/proc/self/io), for
/// the write amplification of a load.
inline std::uint64_t written_bytes() {
  std::ifstream in("/proc/self/io");
  std::string name;
  std::uint64_t v = 0;
  while (in >> name >> v)
    if (name == "write_bytes:")
      return v;
  return 0;
}

/// Bytes allocated on disk under `dir`.
inline double disk_mb(const std::string& dir) {
  double bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
      bytes += static_cast<double>(st.st_blocks) * 512;
  }
  return bytes / 1e6;
}

/// Prints the throughput of every `every` stored events: the rate over the
/// last interval (the curve as the store grows), the mean so far, memory and
/// the machine's load (a disturbed interval shows there).
class progress {
public:
  progress(std::string label, std::uint64_t already, std::uint64_t every = 500'000)
      : label_(std::move(label)), every_(every), next_(already + every),
        start_(clock_type::now()), last_(start_), first_(already), last_count_(already) {}

  void stored(std::uint64_t total) {
    if (total < next_)
      return;
    auto now = clock_type::now();
    double interval = std::chrono::duration<double>(now - last_).count();
    double all = std::chrono::duration<double>(now - start_).count();
    auto [rss, hwm] = rss_mb();
    double cpu = cpu_seconds();
    std::printf("PROGRESS %s stored=%llu interval_rate=%.0f mean_rate=%.0f elapsed=%.1f "
                "cpu_us_per_event=%.1f rss_mb=%.0f hwm_mb=%.0f load=%s\n",
                label_.c_str(), static_cast<unsigned long long>(total),
                (total - last_count_) / interval, (total - first_) / all, all,
                (cpu - last_cpu_) * 1e6 / static_cast<double>(total - last_count_), rss,
                hwm, load_average().c_str());
    last_cpu_ = cpu;
    std::fflush(stdout);
    last_ = now;
    last_count_ = total;
    while (next_ <= total)
      next_ += every_;
  }
  double elapsed() const { return seconds_since(start_); }
  std::uint64_t first() const { return first_; }

private:
  std::string label_;
  std::uint64_t every_, next_;
  clock_type::time_point start_, last_;
  std::uint64_t first_, last_count_;
  double last_cpu_ = cpu_seconds();
};

/// Latency samples in milliseconds, summarized as p50/p99/max.
class latencies {
public:
  void add(double ms) { samples_.push_back(ms); }
  double quantile(double q) const {
    if (samples_.empty())
      return 0;
    auto s = samples_;
    std::sort(s.begin(), s.end());
    auto i = static_cast<std::size_t>(std::ceil(q * s.size())) - 1;
    return s[std::min(i, s.size() - 1)];
  }
  void print(const std::string& label, const std::string& name,
             const std::string& extra) {
    std::printf("RESULT %s read=%s runs=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f %s\n",
                label.c_str(), name.c_str(), samples_.size(), quantile(0.5),
                quantile(0.99), quantile(1.0), extra.c_str());
    std::fflush(stdout);
  }

private:
  std::vector<double> samples_;
};

/// Times `f` (which returns how many rows it read) `runs` times.
template <class F>
void time_reads(const std::string& label, const std::string& name, int runs, F&& f) {
  latencies l;
  std::size_t rows = 0;
  for (int i = 0; i < runs; ++i) {
    auto t0 = clock_type::now();
    rows = f(i);
    l.add(seconds_since(t0) * 1000);
  }
  l.print(label, name, "rows=" + std::to_string(rows));
}

/// The folded answer of a meter query by subject and hour: one value per
/// (subject, hour), the way model::meter_folder ends when the window equals
/// the cell's grain.
class hourly_fold {
public:
  hourly_fold(millis from, millis to) : from_(from), hours_((to - from) / hour_ms) {}
  void add(const std::string& subject, millis bucket, const cell& c) {
    if (subject != last_subject_) {
      auto it = index_.find(subject);
      if (it == index_.end()) {
        it = index_.emplace(subject, rows_.size()).first;
        rows_.emplace_back(hours_, 0.0);
      }
      last_row_ = it->second;
      last_subject_ = subject;
    }
    rows_[last_row_][(bucket - from_) / hour_ms] += c.sum;
    ++cells_;
  }
  std::size_t cells() const { return cells_; }
  /// Non-empty (subject, hour) rows of the answer.
  std::size_t answer_rows() const {
    std::size_t n = 0;
    for (const auto& r : rows_)
      for (double v : r)
        n += v != 0;
    return n;
  }

private:
  millis from_;
  std::size_t hours_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::vector<double>> rows_;
  std::string last_subject_;
  std::size_t last_row_ = 0;
  std::size_t cells_ = 0;
};

} // namespace spike
