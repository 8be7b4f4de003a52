#pragma once

// An exchange's RESTinio side: the request as RESTinio holds it, and the one
// write of its answer (HEAD, gzip, the connection's count of owed answers).
// Included by router.cpp only.

#include "http/exchange.hpp"
#include "http/guarded_socket.hpp"
#include "http/translate.hpp"

#include <restinio/all.hpp>
#include <restinio/transforms/zlib.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace um::http {

/// A request handed to a route by RESTinio.
class restinio_transport final : public transport {
public:
  restinio_transport(restinio::request_handle_t req,
                     restinio::router::route_params_t params = {})
      : req_(std::move(req)), params_(std::move(params)),
        tally_(guarded_socket::active_tally()) {
    if (tally_)
      tally_->dispatched.fetch_add(1);
  }

  std::string_view method() const override { return req_->header().method().c_str(); }

  std::string_view path() const override { return view(req_->header().path()); }

  std::string_view query() const override { return view(req_->header().query()); }

  std::optional<std::string_view> header(std::string_view name) const override {
    const auto* value =
        req_->header().try_get_field(restinio::string_view_t{name.data(), name.size()});
    if (!value)
      return std::nullopt;
    return std::string_view{*value};
  }

  const std::string& body() const override { return req_->body(); }

  std::optional<std::string> path_param(std::string_view name) const override {
    try {
      return restinio::utils::unescape_percent_encoding(
          params_[restinio::string_view_t{name.data(), name.size()}]);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  std::string peer_address() const override {
    return req_->remote_endpoint().address().to_string();
  }

  void write(int status, std::string body, std::string_view content_type,
             header_list headers) override {
    if (!content_type.empty()) {
      headers.emplace_back("Content-Type", std::string{content_type});
      if (body.size() > gzip_threshold) {
        headers.emplace_back("Vary", "Accept-Encoding");
        if (accepts_gzip(header("accept-encoding").value_or(std::string_view{}))) {
          body = restinio::transforms::zlib::gzip_compress(body);
          headers.emplace_back("Content-Encoding", "gzip");
        }
      }
    }
    restinio::http_status_line_t status_line{
        restinio::http_status_code_t{static_cast<std::uint16_t>(status)},
        std::string{model::reason_phrase(status)}};
    auto finish = [&](auto resp) {
      for (auto& [name, value] : headers)
        resp.append_header(std::move(name), std::move(value));
      if (tally_)
        resp.done([tally = tally_](const restinio::asio_ns::error_code&) {
          tally->written.fetch_add(1);
        });
      else
        resp.done();
    };
    if (req_->header().method() == restinio::http_method_head()) {
      // A HEAD answer announces the length of the body a GET would get, and
      // sends none.
      auto resp = req_->create_response<restinio::user_controlled_output_t>(status_line);
      resp.set_content_length(body.size());
      finish(std::move(resp));
    } else {
      auto resp = req_->create_response(status_line);
      if (!content_type.empty())
        resp.set_body(std::move(body));
      finish(std::move(resp));
    }
  }

private:
  static std::string_view view(restinio::string_view_t s) { return {s.data(), s.size()}; }

  restinio::request_handle_t req_;
  restinio::router::route_params_t params_;
  // The connection's count of owed responses (see guarded_socket.hpp).
  std::shared_ptr<response_tally> tally_;
};

} // namespace um::http
