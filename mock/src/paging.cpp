#include "paging.h"

#include "util.h"

namespace tinv::mock {

namespace {

constexpr unsigned char kMarker = 0xF8;  // base64 of it starts with '+', as in "%252b"
constexpr size_t kMacBytes = 11;         // 1 + 8 + 11 = 20 bytes: one '=' of padding

std::string mac_input(uint64_t next_index, const PageBinding &b) {
  return "skiptoken|" + b.tenant + "|" + b.api_version + "|" + b.path + "|" + b.other_query + "|" +
         std::to_string(next_index);
}

std::string encode_once(const std::string &s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (char c : s) {
    switch (c) {
      case '+': out += "%2b"; break;
      case '/': out += "%2f"; break;
      case '=': out += "%3d"; break;
      case '%': out += "%25"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string encode_skiptoken(uint64_t next_index, const PageBinding &binding) {
  std::string blob;
  blob.push_back(static_cast<char>(kMarker));
  for (int shift = 56; shift >= 0; shift -= 8)
    blob.push_back(static_cast<char>((next_index >> shift) & 0xff));
  Sha256 mac = sha256(mac_input(next_index, binding));
  blob.append(reinterpret_cast<const char *>(mac.data()), kMacBytes);
  return encode_once(encode_once(base64_encode(blob)));
}

SkipTokenStatus decode_skiptoken(const std::string &raw, const PageBinding &binding,
                                 uint64_t &next_index) {
  std::string b64 = percent_decode(percent_decode(raw, false), false);
  if (encode_once(encode_once(b64)) != raw) return SkipTokenStatus::Altered;
  std::string blob;
  if (!base64_decode(b64, blob) || blob.size() != 1 + 8 + kMacBytes ||
      static_cast<unsigned char>(blob[0]) != kMarker)
    return SkipTokenStatus::Invalid;
  uint64_t v = 0;
  for (size_t i = 1; i <= 8; ++i) v = (v << 8) | static_cast<unsigned char>(blob[i]);
  Sha256 mac = sha256(mac_input(v, binding));
  if (blob.compare(9, kMacBytes, reinterpret_cast<const char *>(mac.data()), kMacBytes) != 0)
    return SkipTokenStatus::Invalid;
  next_index = v;
  return SkipTokenStatus::Ok;
}

SplitQuery split_query(const std::string &raw_query) {
  SplitQuery out;
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t amp = raw_query.find('&', pos);
    if (amp == std::string::npos) amp = raw_query.size();
    std::string part = raw_query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key = part.substr(0, eq);
    if (key == "$skiptoken") {
      if (out.skiptoken) out.suspicious_skiptoken = true;
      out.skiptoken = eq == std::string::npos ? std::string() : part.substr(eq + 1);
      continue;
    }
    if (to_lower(percent_decode(key, true)) == "$skiptoken") {
      out.suspicious_skiptoken = true;
      continue;
    }
    if (!out.other.empty()) out.other.push_back('&');
    out.other += part;
  }
  return out;
}

Page build_page(const Generator &generator, const Store &store, const std::string &tenant,
                const std::string &path, const PathProfile &profile, uint64_t start,
                size_t page_size, bool beta) {
  Page page;
  page.values.reserve(page_size * 1200);
  page.values.push_back('[');
  store.read_path(tenant, path, [&](uint64_t count, const PathState *ps) {
    auto it = ps ? ps->mutations.lower_bound(start) : decltype(ps->mutations.cend()){};
    auto end = ps ? ps->mutations.cend() : decltype(ps->mutations.cend()){};
    auto mutation_at = [&](uint64_t i) -> const ItemMutation * {
      if (!ps) return nullptr;
      while (it != end && it->first < i) ++it;
      return (it != end && it->first == i) ? &it->second : nullptr;
    };
    uint64_t i = start;
    for (; i < count && page.count < page_size; ++i) {
      const ItemMutation *m = mutation_at(i);
      if (m && (m->deleted || m->hidden)) continue;
      if (page.count++ > 0) page.values.push_back(',');
      generator.write_item(page.values, tenant, path, profile, i, m, beta);
    }
    // More items follow when a listed (neither deleted nor hidden) index remains.
    for (; i < count; ++i) {
      const ItemMutation *m = mutation_at(i);
      if (!(m && (m->deleted || m->hidden))) {
        page.next_index = i;
        break;
      }
    }
  });
  page.values.push_back(']');
  return page;
}

}  // namespace tinv::mock
