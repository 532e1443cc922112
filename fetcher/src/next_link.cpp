#include "next_link.h"

#include <cctype>
#include <cstring>

#include "sha256.h"

namespace fetch {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool valid_host_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; }

// "." or ".." as a path segment, also percent-encoded ("%2e", "%2E%2e", ...).
bool is_dot_segment(std::string_view seg) {
  std::string decoded;
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '%' && i + 2 < seg.size() && seg[i + 1] == '2' &&
        (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
      decoded.push_back('.');
      i += 2;
    } else {
      decoded.push_back(seg[i]);
    }
  }
  return decoded == "." || decoded == "..";
}

}  // namespace

std::optional<UrlOrigin> parse_url_origin(std::string_view url) {
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\' || c == '#') return std::nullopt;
  }
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  UrlOrigin o;
  o.scheme = lower(url.substr(0, colon));
  if (o.scheme != "http" && o.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(colon + 3);
  const size_t auth_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return std::nullopt;
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const size_t pc = authority.find(':');
    if (pc != std::string_view::npos) {
      host = authority.substr(0, pc);
      port = authority.substr(pc + 1);
      if (port.empty()) return std::nullopt;
    }
    if (host.empty()) return std::nullopt;
    for (char c : host) {
      if (!valid_host_char(c)) return std::nullopt;
    }
  }
  o.host = lower(host);
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int p = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
      p = p * 10 + (c - '0');
    }
    if (p <= 0 || p > 65535) return std::nullopt;
    o.port = p;
  } else {
    o.port = o.scheme == "https" ? 443 : 80;
  }
  const size_t q = tail.find('?');
  o.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) o.query = std::string(tail.substr(q + 1));
  return o;
}

std::optional<GraphBase> parse_graph_base(std::string_view url) {
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  auto o = parse_url_origin(url);
  if (!o || !o->query.empty()) return std::nullopt;
  GraphBase b;
  b.origin = *o;
  b.text = std::string(url);
  return b;
}

std::string first_page_url(const GraphBase& base, std::string_view api_version, std::string_view graph_path,
                           int page_size) {
  while (!graph_path.empty() && graph_path.front() == '/') graph_path.remove_prefix(1);
  std::string url = base.text;
  url += '/';
  url += api_version;
  url += '/';
  url += graph_path;
  if (page_size > 0) {
    url += graph_path.find('?') == std::string_view::npos ? "?" : "&";
    url += "$top=" + std::to_string(page_size);
  }
  return url;
}

std::optional<std::string> item_url(const GraphBase& base, std::string_view api_version,
                                    std::string_view graph_path, std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 1024) return std::nullopt;
  std::string url = first_page_url(base, api_version, graph_path, 0);
  url += '/';
  static const char* hex = "0123456789ABCDEF";
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      url += ch;
    } else {
      url += '%';
      url += hex[c >> 4];
      url += hex[c & 15];
    }
  }
  return url;
}

bool is_plain_graph_path(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  if (p.empty() || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    const size_t slash = p.find('/', start);
    const std::string_view seg =
        p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

const char* link_verdict_name(LinkVerdict v) {
  switch (v) {
    case LinkVerdict::Ok:
      return "ok";
    case LinkVerdict::Malformed:
      return "malformed";
    case LinkVerdict::OtherScheme:
      return "other_scheme";
    case LinkVerdict::OtherHost:
      return "other_host";
    case LinkVerdict::OtherApiVersion:
      return "other_api_version";
    case LinkVerdict::DotSegments:
      return "dot_segments";
    case LinkVerdict::OtherPath:
      return "other_path";
  }
  return "unknown";
}

LinkVerdict check_next_link(const GraphBase& base, std::string_view api_version, std::string_view link) {
  auto o = parse_url_origin(link);
  if (!o) return LinkVerdict::Malformed;
  if (o->scheme != base.origin.scheme) return LinkVerdict::OtherScheme;
  if (o->host != base.origin.host || o->port != base.origin.port) return LinkVerdict::OtherHost;
  // Path segments: reject dot segments before comparing the prefix, so a
  // "beta/../v1.0" trick cannot pass as "beta".
  std::string_view path = o->path;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view seg =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (is_dot_segment(seg)) return LinkVerdict::DotSegments;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string want = base.origin.path;
  want += '/';
  want += api_version;
  want += '/';
  if (path.size() <= want.size() || path.compare(0, want.size(), want) != 0) {
    return LinkVerdict::OtherApiVersion;
  }
  return LinkVerdict::Ok;
}

LinkVerdict check_next_link(const GraphBase& base, std::string_view api_version, std::string_view graph_path,
                            std::string_view link) {
  const LinkVerdict v = check_next_link(base, api_version, link);
  if (v != LinkVerdict::Ok) return v;
  while (!graph_path.empty() && graph_path.front() == '/') graph_path.remove_prefix(1);
  std::string want = base.origin.path;
  want += '/';
  want += api_version;
  want += '/';
  want += graph_path;
  const std::string path = parse_url_origin(link)->path;
  if (lower(path) != lower(want)) return LinkVerdict::OtherPath;
  return LinkVerdict::Ok;
}

bool LoopDetector::first_visit(std::string_view url) {
  const tinv::Sha256Digest d = tinv::sha256(url);
  std::array<unsigned char, 16> key{};
  std::memcpy(key.data(), d.data(), key.size());
  return seen_.insert(key).second;
}

}  // namespace fetch
