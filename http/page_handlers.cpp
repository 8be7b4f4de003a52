// The web pages: a file of http/pages/ by its path, as page_assets.hpp
// decides. The pages themselves are public and static; every number they
// show comes from the API with the caller's key or portal token.

#include "http/handlers.hpp"
#include "http/page_assets.hpp"
#include "http/route_table.hpp"

namespace um::http::pages {

void serve(const exchange_ptr& ex, backend&) {
  auto answer = answer_page_request(ex->path(), ex->header_or_empty("if-none-match"));
  if (!answer)
    return ex->fail(
        {model::error_code::not_found, route_not_found(ex->method(), ex->path())});
  header_list headers{answer->headers.begin(), answer->headers.end()};
  ex->text(answer->status, std::string{answer->body}, answer->content_type,
           std::move(headers));
}

} // namespace um::http::pages
