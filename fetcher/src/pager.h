// Enumerates one policy type: first page, then @odata.nextLink byte for
// byte, refusing unsafe links and loops. Each page is checked whole
// (page_parser.h), then read item by item, mapped and handed to the sink
// (the database writer) as COPY text in bounded batches before the next
// page is requested.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "error_record.h"
#include "graph_client.h"
#include "log.h"
#include "manifest.h"
#include "mapper.h"
#include "next_link.h"

namespace fetch {

struct PageBatch {
  size_t type_index = 0;
  std::string copy_text;  // COPY text lines for pg_temp.staged_items
  long rows = 0;
  std::string key_text;   // narrow lines for pg_temp.staged_keys (manifest hits)
  long key_rows = 0;
  size_t bytes() const { return copy_text.size() + key_text.size(); }
};

// status: "complete" (every page read), "incomplete" (some pages read, then
// stopped), "failed" (nothing usable).
struct TypeOutcome {
  std::string status = "failed";
  int pages = 0;
  long items = 0;
  std::string error_code;  // first error's code, if any
  std::vector<ErrorRecord> errors;
  bool fatal = false;  // the whole run must stop (credentials)
};

struct PagerConfig {
  int page_size = 0;         // $top on the first request (0: server default)
  long max_pages = 1000000;  // guard against endless paging
  // A page's rows go to the sink in batches of at most this many COPY
  // bytes (one row may be larger) or rows.
  size_t batch_bytes = 1u << 20;
  long batch_rows = 1000;
  // True once the run's wall-clock budget is spent (checked before every
  // page); null: no budget.
  std::function<bool()> out_of_time;
  // With a salt, every full row carries its fingerprint (manifest.h); with
  // a manifest too, a row the manifest holds with the same fingerprint is
  // staged as its narrow key. Both outlive the enumeration.
  const std::string* fingerprint_salt = nullptr;
  const Manifest* manifest = nullptr;
};

// Returns false when the writer cannot take more (run stopping).
using PageSink = std::function<bool(PageBatch&&)>;

TypeOutcome enumerate_type(GraphClient& client, const RequestContext& ctx, const GraphBase& base,
                           const PolicyType& type, size_t type_index, const PagerConfig& cfg,
                           const PageSink& sink, Logger& log);

}  // namespace fetch
