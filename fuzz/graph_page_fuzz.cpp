// Fuzz target: what the fetcher does with a Graph page body, byte for byte
// as the pager does it: parse, map every item, write its COPY row; and with
// an error body: parse the envelope and make the stored message. Nothing
// crashes, and every row it would send to PostgreSQL is one that COPY and
// apply_staged accept: five fields, valid UTF-8, no NUL, a usable id, a
// 64-hex content hash, meta of whitelisted keys with values of their kind
// (so the server drops none). The content hash does not depend on key order
// or formatting. A nextLink taken from the body is only accepted when it
// stays on the configured host, scheme and API version.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "copy_format.h"
#include "error_record.h"
#include "graph_error.h"
#include "mapper.h"
#include "meta_rules.h"
#include "next_link.h"
#include "page_parser.h"

#include "fuzz_util.h"

namespace {

using tinv_fuzz::valid_utf8;

using json = nlohmann::json;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "VIOLATION %s: %s\n", what, detail.c_str());
  std::abort();
}


// The server's whitelist (inventory.meta_keys defaults) and value rules.
void check_meta(const json& meta) {
  if (!meta.is_object()) fail("meta is not an object", meta.dump());
  for (auto it = meta.begin(); it != meta.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "odata_type" || k == "platform" || k == "version" || k == "template_family" ||
        k == "template_id" || k == "state") {
      if (!v.is_string() || tinv::utf8_length(v.get_ref<const std::string&>()) > tinv::kMetaStringMaxChars)
        fail("meta string", k);
    } else if (k == "technologies" || k == "scope_tag_ids" || k == "warnings") {
      if (!v.is_array() || v.size() > tinv::kMetaArrayMaxItems) fail("meta string_array", k);
      for (const auto& e : v)
        if (!e.is_string() || tinv::utf8_length(e.get_ref<const std::string&>()) > tinv::kMetaArrayItemMaxChars)
          fail("meta string_array element", k);
    } else if (k == "created_at" || k == "last_modified_at") {
      if (!v.is_string() || !tinv::is_iso8601_timestamp(v.get_ref<const std::string&>())) fail("meta timestamp", k);
    } else if (k == "is_assigned") {
      if (!v.is_boolean()) fail("meta boolean", k);
    } else if (k == "setting_count" || k == "priority") {
      if (!v.is_number()) fail("meta number", k);
    } else {
      fail("meta key outside the whitelist", k);
    }
  }
}

void check_row(const std::string& line, const fetch::StagedRow& row) {
  if (line.empty() || line.back() != '\n') fail("COPY row does not end with a newline", line);
  size_t tabs = 0;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    if (line[i] == '\n' || line[i] == '\r') fail("raw line break inside a COPY row", line);
    if (line[i] == '\t') ++tabs;
    if (line[i] == '\0') fail("NUL in a COPY row", line);
  }
  if (tabs != 4) fail("COPY row without exactly five fields", line);
  if (!valid_utf8(line)) fail("COPY row is not valid UTF-8", line);
  if (row.external_id.empty() || row.external_id.size() > fetch::kMaxExternalIdBytes) fail("external id", row.external_id);
  if (row.content_hash.size() != 64 || row.content_hash.find_first_not_of("0123456789abcdef") != std::string::npos)
    fail("content hash", row.content_hash);
  check_meta(row.meta);
}

// The same object with its members in reverse order, written out and parsed again.
json reordered(const json& j) {
  if (j.is_object()) {
    json out = json::object();
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    for (auto k = keys.rbegin(); k != keys.rend(); ++k) out[*k] = reordered(j.at(*k));
    return json::parse(out.dump(2));
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& e : j) out.push_back(reordered(e));
    return out;
  }
  return j;
}

const fetch::PolicyType kTypes[] = {
    {"deviceConfiguration", "deviceManagement/deviceConfigurations", "beta", "displayName"},
    {"configurationPolicy", "deviceManagement/configurationPolicies", "beta", "name"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  // Error bodies: whatever arrives, the stored message is bounded, redacted text.
  const fetch::GraphErrorInfo info = fetch::parse_error_body(body);
  fetch::ErrorRecord e;
  e.code = "graph_bad_request";
  e.graph_error_code = info.code + "/" + info.inner_code;
  e.request_id = info.request_id;
  e.message = "HTTP 400: " + info.message;
  const json stored = e.to_json();
  const std::string text = stored.dump(-1, ' ', false, json::error_handler_t::replace);
  for (const auto& field : stored)
    if (field.is_string() && field.get_ref<const std::string&>().find('\0') != std::string::npos)
      fail("NUL in a stored error", text);
  if (tinv::utf8_length(stored["message"].get<std::string>()) > fetch::kMaxErrorMessageChars)
    fail("stored message longer than 512 characters", text);

  // Pages: the streaming reader (no tree of the body) agrees with the tree.
  const json page = json::parse(body, nullptr, false);
  const fetch::PageScan scan = fetch::scan_page(body);
  const bool tree_ok = !page.is_discarded() && page.is_object();
  if (tree_ok != (scan.status != fetch::PageStatus::Syntax && scan.status != fetch::PageStatus::NotObject))
    fail("scan_page and the tree disagree on validity", std::string(body.substr(0, 200)));
  if (scan.status == fetch::PageStatus::Ok) {
    const auto v = page.find("value");
    if (v == page.end() || !v->is_array()) fail("scan_page accepted a page without a value array", "");
    size_t i = 0;
    fetch::for_each_item(body, [&](json&& item) {
      if (i >= v->size() || item != (*v)[i]) fail("streamed item differs from the tree", item.dump());
      ++i;
      return true;
    });
    if (i != v->size() || i != scan.items) fail("streamed item count differs", std::to_string(i));
  }
  if (!tree_ok) return 0;
  const auto value = page.find("value");
  if (value != page.end() && value->is_array()) {
    for (const auto& item : *value) {
      for (const auto& type : kTypes) {
        const fetch::MapResult m = fetch::map_item(type, item);
        if (!m.ok) {
          if (m.problem.empty()) fail("bad item without a reason", item.dump());
          continue;
        }
        std::string line;
        fetch::append_copy_row(line, type.policy_type, m.row);
        check_row(line, m.row);
        if (item.is_object() && item.size() < 64) {
          const fetch::MapResult again = fetch::map_item(type, reordered(item));
          if (!again.ok || again.row.content_hash != m.row.content_hash)
            fail("content hash depends on key order or formatting", item.dump());
        }
      }
    }
  }
  const auto next = page.find("@odata.nextLink");
  if (next != page.end() && next->is_string()) {
    static const auto base = fetch::parse_graph_base("https://graph.example.com");
    const std::string& link = next->get_ref<const std::string&>();
    if (fetch::check_next_link(*base, "beta", link) == fetch::LinkVerdict::Ok) {
      const auto origin = fetch::parse_url_origin(link);
      if (!origin || origin->scheme != "https" || origin->host != "graph.example.com" || origin->port != 443 ||
          origin->path.rfind("/beta/", 0) != 0)
        fail("nextLink accepted to somewhere else", link);
      if (link.find('@') != std::string::npos && link.find('@') < link.find('/', 8))
        fail("nextLink with user info accepted", link);
    }
  }
  return 0;
}
