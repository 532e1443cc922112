// Graph list pages read without a tree of the whole body. Two passes of
// nlohmann's SAX parser over the body bytes:
//  1. scan_page checks the page (valid JSON, an object, its "value" array,
//     item and size caps) and reads @odata.nextLink, building nothing;
//  2. for_each_item builds one item at a time and hands it over.
// So the memory a page takes is its body plus its largest item, whatever
// the number of items, and nothing of a page is staged unless the whole
// page is valid.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fetch {

struct PageLimits {
  // Items in one page. Graph pages hold at most 999; more is hostile.
  size_t max_items = 100000;
  // JSON values (scalars, objects, arrays, keys) in one item: its tree costs
  // up to about 100 bytes per value.
  size_t max_item_values = 200000;
  // Longest @odata.nextLink kept (bytes); a longer one is refused.
  size_t max_next_link_bytes = 16384;
};

enum class PageStatus {
  Ok,
  Syntax,          // not JSON (also invalid UTF-8, NUL, numbers out of range)
  NotObject,       // valid JSON, not an object
  NoValueArray,    // no "value" member, or it is not an array
  DuplicateKey,    // "value" or "@odata.nextLink" twice
  TooManyItems,    // more than max_items
  ItemTooLarge,    // an item with more than max_item_values values
};

struct PageScan {
  PageStatus status = PageStatus::Syntax;
  std::string error;  // what was wrong (for messages; no page content)
  size_t items = 0;
  bool has_next = false;         // a non-null @odata.nextLink
  bool next_not_string = false;  // ... that is not a string
  bool next_too_long = false;    // ... longer than max_next_link_bytes
  std::string next_link;         // when a string (empty if too long)
};

PageScan scan_page(std::string_view body, const PageLimits& limits = {});

// Calls `on_item` with every element of the page's "value" array, in
// order (objects and anything else). Returns false when `on_item` returned
// false or the body is not valid (call scan_page first).
bool for_each_item(std::string_view body, const std::function<bool(nlohmann::json&&)>& on_item);

const char* page_status_name(PageStatus s);

}  // namespace fetch
