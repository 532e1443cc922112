#include "pager.h"

#include "copy_format.h"
#include "page_parser.h"

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
    if (cfg.out_of_time && cfg.out_of_time()) {
      stop_with(make_error(codes::kRunBudgetExhausted, type,
                           "the run's time budget (--run-budget) is spent after " + std::to_string(out.pages) +
                               " pages"));
      break;
    }
    JsonResult page = client.get(ctx, url, type.policy_type);
    if (!page.ok) {
      out.fatal = page.fatal;
      stop_with(std::move(page.error));
      break;
    }
    if (page.scan.status != PageStatus::Ok) {
      const bool too_large =
          page.scan.status == PageStatus::TooManyItems || page.scan.status == PageStatus::ItemTooLarge;
      ErrorRecord e = make_error(too_large ? codes::kGraphPageTooLarge : codes::kGraphBadResponse, type,
                                 page.scan.error);
      e.request_id = page.request_id;
      e.attempts = page.attempts;
      stop_with(std::move(e));
      break;
    }
    // The page is valid as a whole: read it item by item, and hand the
    // rows over in bounded batches while reading.
    PageBatch batch;
    batch.type_index = type_index;
    long page_rows = 0;
    bool refused = false;
    auto flush = [&] {
      if (batch.rows == 0 && batch.key_rows == 0) return true;
      PageBatch b = std::move(batch);
      batch = PageBatch();
      batch.type_index = type_index;
      return sink(std::move(b));
    };
    for_each_item(page.raw, [&](nlohmann::json&& item) {
      MapResult m = map_item(type, item);
      item = nlohmann::json();
      if (!m.ok) {
        if (bad_items++ == 0) first_bad = m.problem;
        return true;
      }
      const std::string meta = meta_text(m.row.meta);
      if (cfg.fingerprint_salt) {
        const RowFingerprint fp =
            row_fingerprint(*cfg.fingerprint_salt, m.row.display_name, meta, m.row.content_hash);
        if (cfg.manifest && cfg.manifest->matches(type.policy_type, m.row.external_id, fp)) {
          append_key_row(batch.key_text, type.policy_type, m.row.external_id, fp);
          ++batch.key_rows;
        } else {
          append_copy_row(batch.copy_text, type.policy_type, m.row, meta, &fp);
          ++batch.rows;
        }
      } else {
        append_copy_row(batch.copy_text, type.policy_type, m.row, meta, nullptr);
        ++batch.rows;
      }
      ++page_rows;
      if (batch.bytes() >= cfg.batch_bytes || batch.rows + batch.key_rows >= cfg.batch_rows) {
        if (!flush()) {
          refused = true;
          return false;
        }
      }
      return true;
    });
    if (!refused && !flush()) refused = true;
    std::string().swap(page.raw);
    if (refused) {
      stop_with(make_error(codes::kCancelled, type, "run stopping"));
      break;
    }
    ++out.pages;
    out.items += page_rows;
    if (ctx.metrics) {
      ++ctx.metrics->pages;
      ctx.metrics->items += page_rows;
    }
    // @odata.count is ignored: the end of the enumeration is the absence of
    // a nextLink, nothing else.
    if (page.scan.next_not_string) {
      stop_with(make_error(codes::kGraphBadResponse, type, "@odata.nextLink is not a string"));
      break;
    }
    if (!page.scan.has_next) {
      out.status = "complete";
      break;
    }
    std::string next = std::move(page.scan.next_link);
    const LinkVerdict v = page.scan.next_too_long ? LinkVerdict::Malformed
                                                  : check_next_link(base, type.api_version, type.graph_path, next);
    if (v != LinkVerdict::Ok) {
      // The link goes somewhere the token must not: stop here, send nothing.
      // (The sink cuts the link in the log line and in the message.)
      log.warn("refusing unsafe nextLink", {{"tenant", ctx.tenant},
                                            {"type", type.policy_type},
                                            {"reason", page.scan.next_too_long ? "too_long" : link_verdict_name(v)},
                                            {"link", next}});
      stop_with(make_error(codes::kPagingUnsafeLink, type,
                           std::string("nextLink refused (") +
                               (page.scan.next_too_long ? "too_long" : link_verdict_name(v)) + "): " + next));
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
