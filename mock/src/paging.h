// Paging: the $skiptoken format and the walk over a (tenant, path) listing.
//
// A skiptoken is base64 of {marker, next index, MAC over the binding}, percent-encoded
// twice with lowercase hex like real Intune tokens ("%252b", "%253d"). The server only
// accepts the exact bytes it emitted: a client that decodes or re-encodes the value,
// or changes any other part of the query, gets a 400.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "generator.h"
#include "store.h"

namespace tinv::mock {

// What a skiptoken is bound to: the same tenant, api version, path and the rest of the query.
struct PageBinding {
  std::string tenant;
  std::string api_version;
  std::string path;
  std::string other_query;  // the raw query without the $skiptoken parameter
};

// The raw (double-encoded) value placed after "$skiptoken=".
std::string encode_skiptoken(uint64_t next_index, const PageBinding &binding);

enum class SkipTokenStatus { Ok, Altered, Invalid };
// Checks the raw value taken from the request target.
SkipTokenStatus decode_skiptoken(const std::string &raw, const PageBinding &binding,
                                 uint64_t &next_index);

// The raw query split into the $skiptoken value and the rest.
struct SplitQuery {
  std::string other;                     // raw parameters other than $skiptoken, '&'-joined
  std::optional<std::string> skiptoken;  // raw value of "$skiptoken=" when present
  bool suspicious_skiptoken = false;     // an encoded or repeated skiptoken key
};
SplitQuery split_query(const std::string &raw_query);

struct Page {
  std::string values;                  // the items as a JSON array text
  size_t count = 0;                    // items in the page
  std::optional<uint64_t> next_index;  // set when more items follow
};

// Lists up to page_size items from raw index `start`, skipping deleted and hidden ones.
// Cost is proportional to the page (plus any run of skipped items), never to the
// listing size.
Page build_page(const Generator &generator, const Store &store, const std::string &tenant,
                const std::string &path, const PathProfile &profile, uint64_t start,
                size_t page_size, bool beta);

}  // namespace tinv::mock
