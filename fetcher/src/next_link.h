// Paging policy: which @odata.nextLink may be followed (and so receive the
// tenant's bearer token), and loop detection. Pure functions.
#pragma once

#include <array>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace fetch {

// The parts of an absolute http(s) URL that decide where a request goes.
struct UrlOrigin {
  std::string scheme;  // lowercase
  std::string host;    // lowercase; IPv6 literals keep their brackets
  int port = 0;        // explicit or the scheme's default
  std::string path;    // raw bytes, starts with '/' (or empty)
  std::string query;   // raw bytes after '?', without it
};

// Strict parser for the URLs the fetcher sends a token to: scheme http or
// https, no user info, a host of letters, digits, '.', '-' (or a bracketed
// IPv6 literal), an optional numeric port, no fragment, no whitespace,
// control characters or backslashes anywhere. Returns nullopt otherwise.
std::optional<UrlOrigin> parse_url_origin(std::string_view url);

// The configured Graph endpoint: e.g. "https://graph.microsoft.com" (a path
// prefix is allowed: "http://127.0.0.1:8080/graph").
struct GraphBase {
  UrlOrigin origin;  // path holds the prefix without trailing '/'
  std::string text;  // normalized base text without trailing '/'
};
std::optional<GraphBase> parse_graph_base(std::string_view url);

// First request URL of a policy type: <base>/<api_version>/<graph_path>,
// plus "?$top=N" when page_size > 0.
std::string first_page_url(const GraphBase& base, std::string_view api_version, std::string_view graph_path,
                           int page_size);

// One object of a collection: <base>/<api_version>/<graph_path>/<id>, the
// id percent-encoded (every byte but A-Z a-z 0-9 - . _ ~), so it is always
// exactly one path segment. nullopt for an id that could not be one: empty,
// "." or "..", or longer than 1024 bytes.
std::optional<std::string> item_url(const GraphBase& base, std::string_view api_version,
                                    std::string_view graph_path, std::string_view id);

// A registry graph_path the fetcher is willing to list: segments of
// letters, digits, '.', '_' and '-' only. Rejects queries ($expand,
// $select), function calls such as getOmaSettingPlainTextValue(...) and
// anything else that could ask Graph for secret-bearing data.
bool is_plain_graph_path(std::string_view graph_path);

enum class LinkVerdict {
  Ok,
  Malformed,  // not a URL we can parse strictly
  OtherScheme,
  OtherHost,        // host or port differs
  OtherApiVersion,  // path not under <prefix>/<api_version>/
  DotSegments,      // "." / ".." path segments (plain or percent-encoded)
  OtherPath,        // not the collection being paged (<prefix>/<api_version>/<graph_path>)
};
const char* link_verdict_name(LinkVerdict v);

// Checks a nextLink against the base and the API version of the type being
// paged. The link itself is then requested byte for byte, never re-encoded.
LinkVerdict check_next_link(const GraphBase& base, std::string_view api_version, std::string_view link);
// The same, and the link's path must be the collection being paged,
// exactly <prefix>/<api_version>/<graph_path> (ASCII case aside): no other
// collection of the same host, no '..', ';', percent-encoded slashes or
// dots, no trailing segments. Only the query may differ.
LinkVerdict check_next_link(const GraphBase& base, std::string_view api_version, std::string_view graph_path,
                            std::string_view link);

// Remembers every URL requested while paging one type; a URL seen twice
// means the server sent us round in circles. Stores 16-byte digests, so the
// memory is a few bytes per page.
class LoopDetector {
 public:
  // Returns false when `url` was already seen.
  bool first_visit(std::string_view url);
  size_t size() const { return seen_.size(); }

 private:
  std::set<std::array<unsigned char, 16>> seen_;
};

}  // namespace fetch
