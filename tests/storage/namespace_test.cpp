// Namespaces on the embedded backends: each is a store of its own beside the
// default one (`<data-dir>/namespaces/<ns>/`, or next to the file a URL names),
// and the data dir written before namespaces existed is the default's.

#include "tests/storage/namespace_cases.hpp"
#include "tests/storage/store_fixture.hpp"

namespace {

using namespace um;
using namespace um::testing;

class namespace_test : public store_test {
protected:
  std::unique_ptr<storage::event_store> open_ns(const std::string& ns) const {
    return storage::open_event_store(storage::namespace_options(options(), ns));
  }
};

TEST_P(namespace_test, each_namespace_keeps_its_own_data) {
  namespaces::keep_apart([this](const std::string& ns) { return open_ns(ns); });
}

TEST_P(namespace_test, the_default_namespace_is_the_store_as_it_was) {
  // Written before namespaces existed, read as the default namespace.
  open()->append({make_event("old", "u", "t", base_day)});
  EXPECT_EQ(open_ns("default")->summarize("u", {}).total, 1);
  EXPECT_EQ(open_ns("acme")->summarize("u", {}).total, 0);
}

TEST_P(namespace_test, a_namespace_lives_beside_the_default_store) {
  open_ns("acme")->append({make_event("a", "u", "t", base_day)});
  auto o = storage::namespace_options(options(), "acme");
  if (which() == backend::rocksdb) {
    EXPECT_EQ(o.data_dir, (dir_ / "namespaces" / "acme").string());
    EXPECT_TRUE(
        std::filesystem::exists(dir_ / "namespaces" / "acme" / "rocksdb" / "CURRENT"));
  } else {
    EXPECT_EQ(o.url, "sqlite:" + database_file().string() + ".namespaces/acme.db");
    EXPECT_TRUE(
        std::filesystem::exists(database_file().string() + ".namespaces/acme.db"));
  }
  EXPECT_THROW(storage::namespace_options(options(), "../x"), storage::storage_error);
}

UM_ON_EMBEDDED_BACKENDS(namespace_test);

TEST(namespace_options, each_url_form_has_its_place) {
  storage::store_options base;
  base.data_dir = "/d";
  EXPECT_EQ(storage::namespace_options(base, "acme").data_dir, "/d/namespaces/acme");
  base.url = "rocksdb:/r/db";
  EXPECT_EQ(storage::namespace_options(base, "acme").url,
            "rocksdb:/r/db.namespaces/acme");
  base.url = "postgresql://u@h/db";
  auto pg = storage::namespace_options(base, "acme");
  EXPECT_EQ(pg.url, base.url);
  EXPECT_EQ(pg.schema, "ns_acme");
  EXPECT_EQ(storage::namespace_options(base, "default").schema, "");
}

} // namespace
