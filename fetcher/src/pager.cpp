#include "pager.h"

#include <future>
#include <memory>
#include <optional>
#include <vector>

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

// One page's items as staged rows, in bounded batches.
struct MappedPage {
  std::vector<PageBatch> batches;
  long rows = 0;
  long bad = 0;
  std::string first_bad;
};

MappedPage map_page(const std::string& raw, const PolicyType& type, size_t type_index, const PagerConfig& cfg) {
  MappedPage mp;
  PageBatch batch;
  batch.type_index = type_index;
  auto flush = [&] {
    if (batch.rows == 0 && batch.key_rows == 0) return;
    mp.batches.push_back(std::move(batch));
    batch = PageBatch();
    batch.type_index = type_index;
  };
  for_each_item(raw, [&](nlohmann::json&& item) {
    MapResult m = map_item(type, item);
    item = nlohmann::json();
    if (!m.ok) {
      if (mp.bad++ == 0) mp.first_bad = m.problem;
      return true;
    }
    const std::string meta = meta_text(m.row.meta);
    if (cfg.fingerprint_salt) {
      const RowFingerprint fp = row_fingerprint(*cfg.fingerprint_salt, m.row.display_name, meta, m.row.content_hash);
      if (cfg.manifest && cfg.manifest->observe(type.policy_type, m.row.external_id, fp)) {
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
    ++mp.rows;
    if (batch.bytes() >= cfg.batch_bytes || batch.rows + batch.key_rows >= cfg.batch_rows) flush();
    return true;
  });
  flush();
  return mp;
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

  auto budget_spent = [&](long pages) {
    return make_error(codes::kRunBudgetExhausted, type,
                      "the run's time budget (--run-budget) is spent after " + std::to_string(pages) + " pages");
  };
  if (cfg.out_of_time && cfg.out_of_time()) {
    stop_with(budget_spent(0));
    return out;
  }
  // One page is read ahead: the request for the next page (its link is
  // known once the page is checked) runs while this page's items are
  // mapped and staged, so Graph's latency overlaps the work. At most two
  // pages are held at once.
  JsonResult page = client.get(ctx, url, type.policy_type);
  std::future<JsonResult> ahead;
  // A page's items are mapped (parsed, hashed, fingerprinted) on a thread of
  // their own while the next page is checked and its mapping starts; the
  // rows are handed over strictly in page order.
  std::future<MappedPage> mapping;
  bool refused = false;
  auto deliver = [&] {
    if (!mapping.valid()) return true;
    MappedPage mp = mapping.get();
    if (mp.bad > 0 && bad_items == 0) first_bad = mp.first_bad;
    bad_items += mp.bad;
    for (auto& b : mp.batches) {
      if (refused || !sink(std::move(b))) {
        refused = true;
        break;
      }
    }
    if (refused) return false;
    ++out.pages;
    out.items += mp.rows;
    if (ctx.metrics) {
      ++ctx.metrics->pages;
      ctx.metrics->items += mp.rows;
    }
    return true;
  };
  for (;;) {
    if (!page.ok) {
      if (!deliver()) break;
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
      if (!deliver()) break;
      stop_with(std::move(e));
      break;
    }
    // Where paging goes after this page, decided before its items are read
    // (an error about the link is reported after them, as it comes after
    // them).
    std::optional<ErrorRecord> next_error;
    bool has_next = false;
    if (page.scan.next_not_string) {
      next_error = make_error(codes::kGraphBadResponse, type, "@odata.nextLink is not a string");
    } else if (page.scan.has_next) {
      std::string next = std::move(page.scan.next_link);
      const LinkVerdict v = page.scan.next_too_long ? LinkVerdict::Malformed
                                                    : check_next_link(base, type.api_version, type.graph_path, next);
      if (v != LinkVerdict::Ok) {
        // The link goes somewhere the token must not: stop here, send
        // nothing. (The sink cuts the link in the log line and in the
        // message.)
        log.warn("refusing unsafe nextLink", {{"tenant", ctx.tenant},
                                              {"type", type.policy_type},
                                              {"reason", page.scan.next_too_long ? "too_long" : link_verdict_name(v)},
                                              {"link", next}});
        next_error = make_error(codes::kPagingUnsafeLink, type,
                                std::string("nextLink refused (") +
                                    (page.scan.next_too_long ? "too_long" : link_verdict_name(v)) + "): " + next);
      } else if (!loops.first_visit(next)) {
        next_error = make_error(codes::kPagingLoop, type,
                                "nextLink repeats an earlier page after " + std::to_string(out.pages + 1 + (mapping.valid() ? 1 : 0)) + " pages");
      } else if (out.pages + 1 + (mapping.valid() ? 1 : 0) >= cfg.max_pages) {
        next_error = make_error(codes::kPagingLoop, type,
                                "more than " + std::to_string(cfg.max_pages) + " pages; stopping");
      } else if (cfg.out_of_time && cfg.out_of_time()) {
        next_error = budget_spent(out.pages + 1 + (mapping.valid() ? 1 : 0));
      } else {
        has_next = true;
        ahead = std::async(std::launch::async, [&client, &ctx, &type, link = std::move(next)] {
          return client.get(ctx, link, type.policy_type);
        });
      }
    }
    // The page is valid as a whole: its items are mapped while the previous
    // page's rows are handed over.
    {
      auto body = std::make_shared<std::string>(std::move(page.raw));
      std::future<MappedPage> next_mapping =
          std::async(std::launch::async, [body, &type, type_index, &cfg] {
            MappedPage mp = map_page(*body, type, type_index, cfg);
            std::string().swap(*body);
            return mp;
          });
      const bool ok = deliver();
      mapping = std::move(next_mapping);
      if (!ok) break;
    }
    // @odata.count is ignored: the end of the enumeration is the absence of
    // a nextLink, nothing else.
    if (next_error || !has_next) {
      if (!deliver()) break;
      if (next_error) {
        stop_with(std::move(*next_error));
      } else {
        out.status = "complete";
      }
      break;
    }
    page = ahead.get();
  }
  if (refused) stop_with(make_error(codes::kCancelled, type, "run stopping"));
  // Work still running (the run is stopping) is waited for here.
  if (mapping.valid()) mapping.wait();
  if (ahead.valid()) ahead.wait();

  if (bad_items > 0) {
    ErrorRecord e = make_error(codes::kBadItem, type,
                               std::to_string(bad_items) + " item(s) skipped; first: " + first_bad);
    if (out.error_code.empty()) out.error_code = e.code;
    out.errors.push_back(std::move(e));
  }
  return out;
}

}  // namespace fetch
