// Corrections on the embedded backends: the shared cases of
// tests/storage/revision_cases.hpp.

#include "tests/storage/revision_cases.hpp"
#include "tests/storage/store_fixture.hpp"

namespace {

class rocksdb_revision_test : public um::testing::rocksdb_store_test {
public:
  std::unique_ptr<um::storage::event_store> open() const {
    return rocksdb_store_test::open();
  }
};

UM_REVISION_STORE_TESTS(rocksdb_revision_test)

class sqlite_revision_test : public um::testing::sqlite_store_test {
public:
  std::unique_ptr<um::storage::event_store> open() const {
    return sqlite_store_test::open();
  }
};

UM_REVISION_STORE_TESTS(sqlite_revision_test)

} // namespace
