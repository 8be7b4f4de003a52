// Usage alerts under /api/v1/notification (OpenMeter's notification API):
// channels, rules, and the alert events with their deliveries. The notifier
// reads create and update bodies itself (where the record an update replaces
// is); the lists are filtered, ordered and paged by model/notification_lists.

#include "http/handlers.hpp"
#include "model/notification_lists.hpp"

namespace um::http::notification {

namespace {

// The one rule of a notifier answer about a rule, with its channels' names.
void respond_rule(exchange& x, int status, const model::notification_catalog& c) {
  if (c.rules.empty()) {
    x.fail({model::error_code::not_found, "notification rule not found"});
    return;
  }
  x.respond(status, model::notification_rule_json(c.rules.front(), c.channels));
}

} // namespace

void create_channel(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  b.actors.ask<model::notification_channel>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_channel& c) {
        x.respond(201, model::notification_channel_json(c));
      },
      nchan_add_atom_v, ex->trace(), std::move(*body));
}

void list_channels(const exchange_ptr& ex, backend& b) {
  auto query = model::parse_channel_list_query(ex->query_pairs());
  if (!query) {
    ex->fail({model::error_code::validation, query.error});
    return;
  }
  b.actors.ask<std::vector<model::notification_channel>>(
      ex, b.ctx->directory->notifier(),
      [q = std::move(query.value)](exchange& x,
                                   std::vector<model::notification_channel>& channels) {
        x.respond(200, model::notification_channel_list_json(std::move(channels), q));
      },
      nchan_list_atom_v, ex->trace());
}

void get_channel(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("channelId");
  if (!id)
    return;
  b.actors.ask<model::notification_channel>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_channel& c) {
        x.respond(200, model::notification_channel_json(c));
      },
      nchan_get_atom_v, ex->trace(), *id);
}

void update_channel(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("channelId");
  auto body = id ? ex->json_body() : std::nullopt;
  if (!body)
    return;
  b.actors.ask<model::notification_channel>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_channel& c) {
        x.respond(200, model::notification_channel_json(c));
      },
      nchan_set_atom_v, ex->trace(), *id, std::move(*body));
}

void delete_channel(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("channelId");
  if (!id)
    return;
  b.actors.ask<bool>(
      ex, b.ctx->directory->notifier(),
      [id = *id](exchange& x, bool existed) {
        if (existed)
          x.no_content({});
        else
          x.fail({model::error_code::not_found, "notification channel not found: " + id});
      },
      nchan_del_atom_v, ex->trace(), *id);
}

void create_rule(const exchange_ptr& ex, backend& b) {
  auto body = ex->json_body();
  if (!body)
    return;
  b.actors.ask<model::notification_catalog>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_catalog& c) { respond_rule(x, 201, c); },
      nrule_add_atom_v, ex->trace(), std::move(*body));
}

void list_rules(const exchange_ptr& ex, backend& b) {
  auto query = model::parse_rule_list_query(ex->query_pairs());
  if (!query) {
    ex->fail({model::error_code::validation, query.error});
    return;
  }
  b.actors.ask<model::notification_catalog>(
      ex, b.ctx->directory->notifier(),
      [q = std::move(query.value)](exchange& x, model::notification_catalog& c) {
        x.respond(200, model::notification_rule_list_json(std::move(c), q));
      },
      nrule_list_atom_v, ex->trace());
}

void get_rule(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("ruleId");
  if (!id)
    return;
  b.actors.ask<model::notification_catalog>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_catalog& c) { respond_rule(x, 200, c); },
      nrule_get_atom_v, ex->trace(), *id);
}

void update_rule(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("ruleId");
  auto body = id ? ex->json_body() : std::nullopt;
  if (!body)
    return;
  b.actors.ask<model::notification_catalog>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_catalog& c) { respond_rule(x, 200, c); },
      nrule_set_atom_v, ex->trace(), *id, std::move(*body));
}

void delete_rule(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("ruleId");
  if (!id)
    return;
  b.actors.ask<bool>(
      ex, b.ctx->directory->notifier(),
      [id = *id](exchange& x, bool existed) {
        if (existed)
          x.no_content({});
        else
          x.fail({model::error_code::not_found, "notification rule not found: " + id});
      },
      nrule_del_atom_v, ex->trace(), *id);
}

void list_events(const exchange_ptr& ex, backend& b) {
  auto query = model::parse_event_list_query(ex->query_pairs());
  if (!query) {
    ex->fail({model::error_code::validation, query.error});
    return;
  }
  b.actors.ask<model::notification_event_page>(
      ex, b.ctx->directory->notifier(),
      [page = query.value.page](exchange& x, model::notification_event_page& p) {
        x.respond(200, model::notification_event_list_json(p, page));
      },
      nevent_list_atom_v, ex->trace(), std::move(query.value.filter));
}

void get_event(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("eventId");
  if (!id)
    return;
  b.actors.ask<model::notification_event_page>(
      ex, b.ctx->directory->notifier(),
      [](exchange& x, model::notification_event_page& p) {
        if (p.events.empty())
          x.fail({model::error_code::not_found, "notification event not found"});
        else
          x.respond(200, model::notification_event_json(p.events.front(), p));
      },
      nevent_get_atom_v, ex->trace(), *id);
}

void resend_event(const exchange_ptr& ex, backend& b) {
  auto id = ex->path_param("eventId");
  if (!id)
    return;
  // No body (or an empty one) resends to every channel, as `{}` does.
  std::vector<std::string> channels;
  if (ex->body().find_first_not_of(" \t\r\n") != std::string::npos) {
    auto body = ex->json_body();
    if (!body)
      return;
    auto parsed = model::parse_notification_resend(*body);
    if (!parsed) {
      ex->fail({model::error_code::validation, parsed.error});
      return;
    }
    channels = std::move(parsed.value);
  }
  b.actors.ask<bool>(
      ex, b.ctx->directory->notifier(), [](exchange& x, bool) { x.text(202, {}, {}); },
      nresend_atom_v, ex->trace(), *id, std::move(channels));
}

} // namespace um::http::notification
