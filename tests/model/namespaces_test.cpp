#include "model/namespaces.hpp"

#include <gtest/gtest.h>

namespace {

using namespace um::model;

TEST(namespaces, a_key_names_its_namespace_before_the_first_colon) {
  auto plain = parse_api_key("k1");
  EXPECT_EQ(plain.ns, "default");
  EXPECT_EQ(plain.secret, "k1");
  auto acme = parse_api_key("acme:k1");
  EXPECT_EQ(acme.ns, "acme");
  EXPECT_EQ(acme.secret, "k1");
  auto colon = parse_api_key("default:a:b");
  EXPECT_EQ(colon.ns, "default");
  EXPECT_EQ(colon.secret, "a:b");
  EXPECT_EQ(parse_api_key("acme:").secret, "");
  EXPECT_EQ(parse_api_key(":k").ns, "");
}

TEST(namespaces, names_are_short_lowercase_words) {
  for (auto good : {"default", "acme", "a", "9", "acme-prod_2"})
    EXPECT_TRUE(is_namespace_name(good)) << good;
  for (auto bad : {"", "Acme", "-a", "_a", "a b", "a.b", "a/b", "a:b", "ä"})
    EXPECT_FALSE(is_namespace_name(bad)) << bad;
  EXPECT_TRUE(is_namespace_name(std::string(40, 'a')));
  EXPECT_FALSE(is_namespace_name(std::string(41, 'a')));
}

TEST(namespaces, a_service_serves_the_namespaces_of_its_keys) {
  EXPECT_EQ(served_namespaces({}), std::vector<std::string>{"default"});
  std::vector<api_key> keys{{"globex", "k2"}, {"acme", "k1"}, {"acme", "k3"}};
  EXPECT_EQ(served_namespaces(keys), (std::vector<std::string>{"acme", "globex"}));
  EXPECT_TRUE(serves_namespace(keys, "acme"));
  EXPECT_FALSE(serves_namespace(keys, "default"));
  EXPECT_TRUE(serves_namespace({}, "default"));
  EXPECT_FALSE(serves_namespace({}, "acme"));
}

} // namespace
