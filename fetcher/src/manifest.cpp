#include "manifest.h"

#include <algorithm>
#include <cstring>

#include "sha256.h"

namespace fetch {

namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_u64_hex(std::string& out, uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xf];
}

uint64_t mix(uint64_t x) {
  // The splitmix64 finalizer: every input bit reaches every output bit.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t absorb(uint64_t h, std::string_view bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  uint64_t tail = 0;
  if (bytes.size() > i) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return mix(h ^ tail ^ (static_cast<uint64_t>(bytes.size() - i) << 56));
}

void append_length(std::string& out, size_t n) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xff);
}

}  // namespace

std::string RowFingerprint::hex() const {
  std::string s;
  append_hex(s);
  return s;
}

void RowFingerprint::append_hex(std::string& out) const {
  append_u64_hex(out, hi);
  append_u64_hex(out, lo);
}

std::optional<RowFingerprint> RowFingerprint::parse(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  RowFingerprint fp;
  for (size_t i = 0; i < 32; ++i) {
    const int v = hex_value(hex[i]);
    if (v < 0) return std::nullopt;
    uint64_t& half = i < 16 ? fp.hi : fp.lo;
    half = (half << 4) | static_cast<uint64_t>(v);
  }
  return fp;
}

RowFingerprint row_fingerprint(std::string_view salt, const std::optional<std::string>& display_name,
                               std::string_view meta_json, std::string_view content_hash) {
  // Each field is its 8-byte big-endian length and its bytes; the display
  // name is preceded by 'S', or is the single byte 'N' when NULL, so no
  // string encodes like NULL.
  thread_local std::string buf;
  buf.clear();
  append_length(buf, salt.size());
  buf.append(salt);
  if (display_name) {
    buf += 'S';
    append_length(buf, display_name->size());
    buf.append(*display_name);
  } else {
    buf += 'N';
  }
  append_length(buf, meta_json.size());
  buf.append(meta_json);
  append_length(buf, content_hash.size());
  buf.append(content_hash);
  const tinv::Sha256Digest d = tinv::sha256(buf);
  RowFingerprint fp;
  for (int i = 0; i < 8; ++i) fp.hi = (fp.hi << 8) | d[static_cast<size_t>(i)];
  for (int i = 8; i < 16; ++i) fp.lo = (fp.lo << 8) | d[static_cast<size_t>(i)];
  if (buf.capacity() > (1u << 20)) std::string().swap(buf);  // keep no huge row around
  return fp;
}

Manifest::Manifest(uint64_t seed) : seed_(mix(seed ^ 0x6a09e667f3bcc908ULL)) {}

uint64_t Manifest::key_hash(std::string_view policy_type, std::string_view external_id) const {
  uint64_t h = mix(seed_ ^ policy_type.size());
  h = absorb(h, policy_type);
  h = absorb(h ^ external_id.size(), external_id);
  return h;
}

void Manifest::add(std::string_view policy_type, std::string_view external_id, const RowFingerprint& fp) {
  if (entries_.size() == entries_.capacity()) {
    // Grow by half (not double): while the entries move, old and new
    // arrays together take at most 2.5 x 24 = 60 bytes per item.
    entries_.reserve(std::max<size_t>(1024, entries_.capacity() + entries_.capacity() / 2));
  }
  entries_.push_back(Entry{key_hash(policy_type, external_id), fp});
  auto t = types_.find(policy_type);
  if (t == types_.end()) t = types_.try_emplace(std::string(policy_type)).first;
  ++t->second.entries;
  sealed_ = false;
}

void Manifest::seal() {
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.key < b.key; });
  entries_.shrink_to_fit();
  listed_.reset(new std::atomic<uint8_t>[entries_.size()]);
  for (size_t i = 0; i < entries_.size(); ++i) listed_[i].store(0, std::memory_order_relaxed);
  for (auto& t : types_) t.second.listed.store(0, std::memory_order_relaxed);
  sealed_ = true;
}

bool Manifest::observe(std::string_view policy_type, std::string_view external_id,
                       const RowFingerprint& fp) const {
  if (!sealed_ || entries_.empty()) return false;
  const uint64_t key = key_hash(policy_type, external_id);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& e, uint64_t k) { return e.key < k; });
  bool match = false;
  bool counted = false;
  for (; it != entries_.end() && it->key == key; ++it) {
    if (it->fp == fp) match = true;
    const size_t i = static_cast<size_t>(it - entries_.begin());
    // A key repeated in the listing (or two ids hashing alike) is counted
    // once per entry.
    if (!counted && listed_[i].exchange(1, std::memory_order_relaxed) == 0) {
      auto t = types_.find(policy_type);
      if (t != types_.end()) t->second.listed.fetch_add(1, std::memory_order_relaxed);
      counted = true;
    }
  }
  return match;
}

bool Manifest::all_listed(std::string_view policy_type) const {
  auto t = types_.find(policy_type);
  if (t == types_.end()) return true;  // the tenant holds no item of the type with a fingerprint
  return t->second.listed.load(std::memory_order_relaxed) >= t->second.entries;
}

bool Manifest::matches(std::string_view policy_type, std::string_view external_id,
                       const RowFingerprint& fp) const {
  if (!sealed_ || entries_.empty()) return false;
  const uint64_t key = key_hash(policy_type, external_id);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& e, uint64_t k) { return e.key < k; });
  for (; it != entries_.end() && it->key == key; ++it) {
    if (it->fp == fp) return true;
  }
  return false;
}

bool copy_unescape(std::string_view field, std::string& out) {
  out.clear();
  if (field == "\\N") return false;
  for (size_t i = 0; i < field.size(); ++i) {
    const char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      out += c;
      continue;
    }
    const char e = field[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < field.size() && hex_value(field[i + 1]) >= 0) {
          v = v * 16 + hex_value(field[++i]);
          ++n;
        }
        if (n == 0) {
          out += 'x';
        } else {
          out += static_cast<char>(v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
            v = v * 8 + (field[++i] - '0');
            ++n;
          }
          out += static_cast<char>(v & 0xff);
        } else {
          out += e;  // \\ and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

bool add_manifest_line(Manifest& m, std::string_view line, std::string& scratch_type, std::string& scratch_id) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  const size_t t1 = line.find('\t');
  if (t1 == std::string_view::npos) return false;
  const size_t t2 = line.find('\t', t1 + 1);
  if (t2 == std::string_view::npos || line.find('\t', t2 + 1) != std::string_view::npos) return false;
  const auto fp = RowFingerprint::parse(line.substr(t2 + 1));
  if (!fp) return false;
  if (!copy_unescape(line.substr(0, t1), scratch_type)) return false;
  if (!copy_unescape(line.substr(t1 + 1, t2 - t1 - 1), scratch_id)) return false;
  m.add(scratch_type, scratch_id, *fp);
  return true;
}

}  // namespace fetch
