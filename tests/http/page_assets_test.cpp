#include "http/page_assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace {

using namespace um::http;

std::string header_of(const page_answer& answer, std::string_view name) {
  for (const auto& [n, v] : answer.headers)
    if (n == name)
      return v;
  return {};
}

std::set<std::string> asset_names() {
  std::set<std::string> names;
  for (const auto& file : embedded_page_assets())
    names.insert(std::string{file.name});
  return names;
}

TEST(page_assets, the_pages_are_compiled_in_with_known_media_types) {
  auto names = asset_names();
  for (auto expected : {"dashboard.html", "dashboard.js", "portal.html", "portal.js",
                        "chart.js", "pages.css", "icon.svg"})
    EXPECT_TRUE(names.count(expected)) << expected;
  for (const auto& file : embedded_page_assets()) {
    EXPECT_TRUE(page_media_type(file.name)) << file.name;
    EXPECT_FALSE(file.content.empty()) << file.name;
    EXPECT_EQ(file.sha256.size(), 64u) << file.name;
  }
}

TEST(page_assets, paths_name_files) {
  ASSERT_NE(find_page_file("/dashboard"), nullptr);
  EXPECT_EQ(find_page_file("/dashboard")->name, "dashboard.html");
  ASSERT_NE(find_page_file("/portal"), nullptr);
  EXPECT_EQ(find_page_file("/portal")->name, "portal.html");
  EXPECT_EQ(find_page_file("/assets/portal.html"), nullptr);
  ASSERT_NE(find_page_file("/assets/chart.js"), nullptr);
  EXPECT_EQ(find_page_file("/assets/chart.js")->name, "chart.js");
  // A page has one address; anything else is no file.
  for (auto path : {"/assets/dashboard.html", "/assets/", "/assets", "/assets/nope.js",
                    "/assets/../dashboard.html", "/assets/%2e%2e/chart.js", "/dashboard/",
                    "/dashboard.html", "/chart.js", "/assets/chart.js/x", ""})
    EXPECT_EQ(find_page_file(path), nullptr) << path;
}

TEST(page_assets, an_answer_carries_type_etag_caching_and_the_pages_policy) {
  auto answer = answer_page_request("/assets/chart.js", "");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(answer->body, find_page_file("/assets/chart.js")->content);
  EXPECT_EQ(header_of(*answer, "ETag"), page_etag(*find_page_file("/assets/chart.js")));
  EXPECT_EQ(header_of(*answer, "Cache-Control"), "no-cache");
  EXPECT_EQ(header_of(*answer, "Content-Security-Policy"), page_content_security_policy);
  EXPECT_EQ(answer_page_request("/dashboard", "")->content_type,
            "text/html; charset=utf-8");
  EXPECT_EQ(answer_page_request("/assets/pages.css", "")->content_type,
            "text/css; charset=utf-8");
  EXPECT_EQ(answer_page_request("/assets/icon.svg", "")->content_type, "image/svg+xml");
  EXPECT_FALSE(answer_page_request("/assets/missing.js", ""));
}

TEST(page_assets, a_current_copy_is_answered_304_without_a_body) {
  auto etag = page_etag(*find_page_file("/dashboard"));
  EXPECT_EQ(etag.substr(0, 3), "W/\"");
  for (const std::string& inm :
       {etag, "\"other\", " + etag, std::string{"*"}, etag.substr(2)}) {
    auto answer = answer_page_request("/dashboard", inm);
    ASSERT_TRUE(answer) << inm;
    EXPECT_EQ(answer->status, 304) << inm;
    EXPECT_TRUE(answer->body.empty());
    EXPECT_TRUE(answer->content_type.empty());
    EXPECT_EQ(header_of(*answer, "ETag"), etag);
    EXPECT_EQ(header_of(*answer, "Cache-Control"), "no-cache");
  }
  auto stale = answer_page_request("/dashboard", "W/\"0000\"");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  // Another file's tag is not this one's.
  auto other = page_etag(*find_page_file("/assets/chart.js"));
  EXPECT_EQ(answer_page_request("/dashboard", other)->status, 200);
}

TEST(page_assets, etags_compare_weakly) {
  EXPECT_TRUE(etag_matches("W/\"abc\"", "W/\"abc\""));
  EXPECT_TRUE(etag_matches("\"abc\"", "W/\"abc\""));
  EXPECT_TRUE(etag_matches(" \"x\" ,\tW/\"abc\" ", "W/\"abc\""));
  EXPECT_TRUE(etag_matches("*", "W/\"abc\""));
  EXPECT_FALSE(etag_matches("\"abcd\"", "W/\"abc\""));
  EXPECT_FALSE(etag_matches("\"ab\"", "W/\"abc\""));
  EXPECT_FALSE(etag_matches(",", "W/\"abc\""));
}

TEST(page_assets, the_policy_allows_nothing_inline) {
  std::string csp{page_content_security_policy};
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("style-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(csp.find("data:"), std::string::npos);
}

// The pages run under that policy: no inline script, style or event handler in
// the HTML, and every file a page or a module names is compiled in.
TEST(page_assets, pages_hold_nothing_the_policy_refuses_and_name_only_files_that_exist) {
  auto names = asset_names();
  const std::regex script_tag{R"(<script\b([^>]*)>([\s\S]*?)</script>)",
                              std::regex::icase};
  const std::regex inline_style{R"(<style\b|\sstyle\s*=)", std::regex::icase};
  const std::regex handler{R"(<[^>]*\son[a-z]+\s*=)", std::regex::icase};
  const std::regex asset_ref{R"re((?:src|href)="/assets/([^"]+)")re"};
  const std::regex module_import{R"re(from '\./([^']+)')re"};
  int pages = 0;
  for (const auto& file : embedded_page_assets()) {
    std::string text{file.content};
    if (file.name.size() > 5 && file.name.substr(file.name.size() - 5) == ".html") {
      ++pages;
      for (std::sregex_iterator it{text.begin(), text.end(), script_tag}, end; it != end;
           ++it) {
        EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << file.name;
        EXPECT_TRUE((*it)[2].str().empty()) << file.name << ": inline script";
      }
      EXPECT_FALSE(std::regex_search(text, inline_style))
          << file.name << ": inline style";
      EXPECT_FALSE(std::regex_search(text, handler)) << file.name << ": inline handler";
      int refs = 0;
      for (std::sregex_iterator it{text.begin(), text.end(), asset_ref}, end; it != end;
           ++it, ++refs)
        EXPECT_TRUE(names.count((*it)[1].str())) << file.name << " names " << (*it)[1];
      EXPECT_GE(refs, 3) << file.name;
    }
    if (file.name.size() > 3 && file.name.substr(file.name.size() - 3) == ".js") {
      for (std::sregex_iterator it{text.begin(), text.end(), module_import}, end;
           it != end; ++it)
        EXPECT_TRUE(names.count((*it)[1].str())) << file.name << " imports " << (*it)[1];
      EXPECT_EQ(text.find("innerHTML"), std::string::npos) << file.name;
      EXPECT_EQ(text.find("eval("), std::string::npos) << file.name;
    }
  }
  EXPECT_GE(pages, 1);
}

} // namespace
