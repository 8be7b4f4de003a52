// Consumer portal tokens in OpenMeter's shapes (`/api/v1/portal/tokens`,
// created, listed and invalidated with an API key), and the routes a portal
// token opens: its subject's query of an allowed meter, and the list of the
// meters it may read. Tokens are signed with --portal-secret
// (model/portal_tokens.hpp); the store says whether one is still valid.

#include "http/handlers.hpp"
#include "http/translate.hpp"
#include "model/portal_tokens.hpp"

namespace um::http::portal {

namespace {

// Without a secret no token can be made or checked: the feature is off.
bool portal_on(const exchange_ptr& ex, backend& b) {
  if (!b.ctx->config.portal_secret.empty())
    return true;
  ex->fail({model::error_code::forbidden,
            "Portal tokens are off: the service was started without --portal-secret"});
  return false;
}

// The verified claims of the request's portal token, or nothing once
// answered 401 (the reason goes to the log line, not to the client).
std::optional<model::portal_token> claims_of(const exchange_ptr& ex, backend& b) {
  auto bearer = presented_api_key(ex->header_or_empty("authorization"), {});
  auto verified = model::verify_portal_token(bearer, b.ctx->config.portal_secret,
                                             model::now_millis());
  if (!verified) {
    ex->fail({model::error_code::unauthorized, portal_unauthorized_message,
              "portal token refused: " + verified.error});
    return std::nullopt;
  }
  // A token of a namespace whose keys were all removed opens nothing.
  if (!model::serves_namespace(b.ctx->config.api_keys, verified.value.ns)) {
    ex->fail({model::error_code::unauthorized, portal_unauthorized_message,
              "portal token refused: namespace " + verified.value.ns + " is not served"});
    return std::nullopt;
  }
  return std::move(verified.value);
}

// The request's trace with the namespace of its portal token.
model::trace_ref token_trace(const exchange_ptr& ex, const model::portal_token& claims) {
  return {ex->trace_id(), claims.ns};
}

} // namespace

void create_token(const exchange_ptr& ex, backend& b) {
  if (!portal_on(ex, b))
    return;
  auto body = ex->json_body();
  if (!body)
    return;
  auto now = model::now_millis();
  auto request = model::parse_portal_token_request(*body, now);
  if (!request) {
    ex->fail({model::error_code::validation, request.error});
    return;
  }
  auto token = model::new_portal_token(request.value, now);
  token.ns = ex->terms().ns;
  auto text = model::sign_portal_token(token, b.ctx->config.portal_secret);
  b.actors.ask<bool>(
      ex, b.ctx->directory->aggregation(),
      [token, text, now](exchange& x, bool&) {
        x.respond(200, model::portal_token_json(token, now, &text));
      },
      ptok_add_atom_v, ex->trace(), token);
}

void list_tokens(const exchange_ptr& ex, backend& b) {
  auto limit = model::parse_portal_token_limit(ex->query());
  if (!limit) {
    ex->fail({model::error_code::validation, limit.error});
    return;
  }
  b.actors.ask<std::vector<model::portal_token>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::portal_token>& tokens) {
        x.respond(200, model::portal_tokens_json(tokens, model::now_millis()));
      },
      ptok_list_atom_v, ex->trace(), static_cast<std::int64_t>(limit.value));
}

void invalidate_tokens(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  auto which = model::parse_portal_invalidation(*body);
  if (!which) {
    ex->fail({model::error_code::validation, which.error});
    return;
  }
  b.actors.ask<std::int64_t>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::int64_t&) { x.no_content({}); }, ptok_inval_atom_v,
      ex->trace(), std::move(which.value), model::now_millis());
}

void query_meter(const exchange_ptr& ex, backend& b) {
  auto claims = claims_of(ex, b);
  if (!claims)
    return;
  // Taken before the claims move into the message.
  auto trace = token_trace(ex, *claims);
  auto slug = ex->path_param("meter");
  if (!slug)
    return;
  bool csv = wants_csv(ex->header_or_empty("accept"));
  b.actors.ask<meter_query_answer>(
      ex, b.ctx->directory->aggregation(),
      [csv](exchange& x, meter_query_answer& a) {
        metering::send_query_answer(x, a, csv);
      },
      ptok_query_atom_v, trace, std::move(*claims), *slug,
      model::read_meter_query_params(ex->query_pairs()));
}

void list_meters(const exchange_ptr& ex, backend& b) {
  auto claims = claims_of(ex, b);
  if (!claims)
    return;
  // Taken before the claims move into the message.
  auto trace = token_trace(ex, *claims);
  b.actors.ask<std::vector<model::stored_meter>>(
      ex, b.ctx->directory->aggregation(),
      [](exchange& x, std::vector<model::stored_meter>& stored) {
        std::vector<model::meter> meters;
        for (auto& m : stored)
          meters.push_back(std::move(m.meter));
        x.respond(200, model::portal_meters_json(meters));
      },
      ptok_meters_atom_v, trace, std::move(*claims));
}

} // namespace um::http::portal
