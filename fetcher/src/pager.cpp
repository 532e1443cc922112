#include "pager.h"

#include "copy_format.h"

namespace fetch {

namespace {

ErrorRecord make_error(const char* code, const PolicyType& type, std::string message) {
  ErrorRecord e;
  e.code = code;
  e.policy_type = type.policy_type;
  e.message = safe_message(message);
  e.at = utc_timestamp_now();
  return e;
}

}  // namespace

TypeOutcome enumerate_type(GraphClient& client, const RequestContext& ctx, const GraphBase& base,
                           const PolicyType& type, size_t type_index, const PagerConfig& cfg,
                           const PageSink& sink, Logger& log) {
  TypeOutcome out;
  if (!is_plain_graph_path(type.graph_path)) {
    ErrorRecord e =
        make_error(codes::kGraphBadRequest, type,
                   "registry graph_path refused (only plain resource paths are listed): " + type.graph_path);
    out.error_code = e.code;
    out.errors.push_back(std::move(e));
    return out;
  }
  LoopDetector loops;
  std::string url = first_page_url(base, type.api_version, type.graph_path, cfg.page_size);
  loops.first_visit(url);
  long bad_items = 0;
  std::string first_bad;

  auto stop_with = [&](ErrorRecord e) {
    out.status = out.pages > 0 ? "incomplete" : "failed";
    if (out.error_code.empty()) out.error_code = e.code;
    out.errors.push_back(std::move(e));
  };

  for (;;) {
    JsonResult page = client.get(ctx, url, type.policy_type);
    if (!page.ok) {
      out.fatal = page.fatal;
      stop_with(std::move(page.error));
      break;
    }
    auto value = page.body.find("value");
    if (value == page.body.end() || !value->is_array()) {
      ErrorRecord e = make_error(codes::kGraphBadResponse, type, "page without a \"value\" array");
      e.request_id = page.request_id;
      e.attempts = page.attempts;
      stop_with(std::move(e));
      break;
    }
    PageBatch batch;
    batch.type_index = type_index;
    for (const auto& item : *value) {
      MapResult m = map_item(type, item);
      if (!m.ok) {
        if (bad_items++ == 0) first_bad = m.problem;
        continue;
      }
      append_copy_row(batch.copy_text, type.policy_type, m.row);
      ++batch.rows;
    }
    ++out.pages;
    out.items += batch.rows;
    if (ctx.metrics) {
      ++ctx.metrics->pages;
      ctx.metrics->items += batch.rows;
    }
    // Read the link before the body goes; @odata.count is ignored: the end
    // of the enumeration is the absence of a nextLink, nothing else.
    std::string next;
    bool has_next = false;
    bool bad_next = false;
    if (auto nl = page.body.find("@odata.nextLink"); nl != page.body.end() && !nl->is_null()) {
      if (nl->is_string()) {
        next = nl->get<std::string>();
        has_next = true;
      } else {
        bad_next = true;
      }
    }
    page.body = nlohmann::json();
    if (batch.rows > 0 && !sink(std::move(batch))) {
      stop_with(make_error(codes::kCancelled, type, "run stopping"));
      break;
    }
    if (bad_next) {
      stop_with(make_error(codes::kGraphBadResponse, type, "@odata.nextLink is not a string"));
      break;
    }
    if (!has_next) {
      out.status = "complete";
      break;
    }
    const LinkVerdict v = check_next_link(base, type.api_version, next);
    if (v != LinkVerdict::Ok) {
      // The link goes somewhere the token must not: stop here, send nothing.
      log.warn("refusing unsafe nextLink", {{"tenant", ctx.tenant},
                                            {"type", type.policy_type},
                                            {"reason", link_verdict_name(v)},
                                            {"link", next}});
      stop_with(make_error(codes::kPagingUnsafeLink, type,
                           std::string("nextLink refused (") + link_verdict_name(v) + "): " + next));
      break;
    }
    if (!loops.first_visit(next)) {
      stop_with(make_error(codes::kPagingLoop, type,
                           "nextLink repeats an earlier page after " + std::to_string(out.pages) + " pages"));
      break;
    }
    if (out.pages >= cfg.max_pages) {
      stop_with(make_error(codes::kPagingLoop, type,
                           "more than " + std::to_string(cfg.max_pages) + " pages; stopping"));
      break;
    }
    url = std::move(next);
  }

  if (bad_items > 0) {
    ErrorRecord e = make_error(codes::kBadItem, type,
                               std::to_string(bad_items) + " item(s) skipped; first: " + first_bad);
    if (out.error_code.empty()) out.error_code = e.code;
    out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace fetch
