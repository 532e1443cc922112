#include "secret_sink.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>

#include "redact.h"

namespace fetch {

namespace {

constexpr std::string_view kMask = "[REDACTED]";

// JSON string escaping of a value as a server would write it back: '"',
// '\' and controls escaped; `slash`: '/' as "\/" too.
std::string json_form(std::string_view v, bool slash) {
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '/' && slash) {
      out += "\\/";
    } else if (u < 0x20) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string percent_encode(std::string_view text, bool upper) {
  const char* hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  out.reserve(text.size() * 3);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

SecretRegistry& SecretRegistry::instance() {
  static SecretRegistry* r = new SecretRegistry();  // lives until exit (threads may log late)
  return *r;
}

SecretRegistry::~SecretRegistry() { clear(); }

void SecretRegistry::add_one(std::string value, bool permanent) {
  if (value.size() < kMinLength) return;
  for (auto& e : values_) {
    if (e.value == value) {
      e.permanent |= permanent;
      OPENSSL_cleanse(value.data(), value.size());
      return;
    }
  }
  if (values_.size() >= kMaxValues) {
    auto it = std::find_if(values_.begin(), values_.end(), [](const Entry& e) { return !e.permanent; });
    if (it == values_.end()) {
      OPENSSL_cleanse(value.data(), value.size());
      return;
    }
    OPENSSL_cleanse(it->value.data(), it->value.size());
    values_.erase(it);
  }
  max_len_ = std::max(max_len_, value.size());
  values_.push_back({std::move(value), permanent});
  // Longest first: a value that contains another is replaced whole.
  std::stable_sort(values_.begin(), values_.end(),
                   [](const Entry& a, const Entry& b) { return a.value.size() > b.value.size(); });
}

void SecretRegistry::add(std::string_view value, bool permanent) {
  if (value.size() < kMinLength) return;
  std::lock_guard<std::mutex> lock(mu_);
  add_one(std::string(value), permanent);
  add_one(percent_encode(value, true), permanent);
  add_one(percent_encode(value, false), permanent);
  add_one(json_form(value, false), permanent);
  add_one(json_form(value, true), permanent);
  // A form body encodes a space as '+'.
  std::string plus = percent_encode(value, true);
  for (size_t at = plus.find("%20"); at != std::string::npos; at = plus.find("%20", at + 1)) {
    plus.replace(at, 3, "+");
  }
  add_one(std::move(plus), permanent);
}

void SecretRegistry::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& e : values_) OPENSSL_cleanse(e.value.data(), e.value.size());
  values_.clear();
  max_len_ = 0;
}

size_t SecretRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return values_.size();
}

size_t SecretRegistry::max_length() const {
  std::lock_guard<std::mutex> lock(mu_);
  return max_len_;
}

size_t SecretRegistry::scrub(std::string& text) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  if (text.size() < kMinLength) return 0;
  for (const auto& e : values_) {
    if (e.value.size() > text.size()) continue;
    for (size_t at = text.find(e.value); at != std::string::npos; at = text.find(e.value, at)) {
      text.replace(at, e.value.size(), kMask);
      at += kMask.size();
      ++n;
    }
  }
  return n;
}

size_t SecretRegistry::partial_tail(std::string_view text) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t best = 0;
  for (const auto& e : values_) {
    const size_t longest = std::min(e.value.size() - 1, text.size());
    for (size_t k = longest; k >= 4 && k > best; --k) {
      if (text.compare(text.size() - k, k, e.value, 0, k) == 0) {
        best = k;
        break;
      }
    }
  }
  return best;
}

std::string sink_text(std::string_view text, size_t max_chars) {
  const SecretRegistry& reg = SecretRegistry::instance();
  // Only a window can reach the output: max_chars characters are at most
  // 4 * max_chars bytes; a secret starting inside them ends within
  // max_length more; the pattern redactor gets some context beyond that.
  const size_t window = max_chars * 4 + reg.max_length() + 4096;
  const bool windowed = text.size() > window;
  std::string s(windowed ? text.substr(0, window) : text);
  reg.scrub(s);
  s.erase(std::remove(s.begin(), s.end(), '\0'), s.end());
  s = tinv::redact_secrets(s);
  std::string cut = tinv::truncate_utf8(s, max_chars);
  if (cut.size() < s.size() || windowed) {
    // A cut that ends inside the beginning of a secret (which the pattern
    // redactor's output or the window edge produced) loses that beginning.
    const size_t k = reg.partial_tail(cut);
    if (k > 0) {
      cut.resize(cut.size() - k);
      cut += kMask;
    }
  }
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  return cut;
}

bool harden_process() {
  const bool a = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
  rlimit none{0, 0};
  const bool b = setrlimit(RLIMIT_CORE, &none) == 0;
  return a && b;
}

std::string json_escape_ascii(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  auto esc = [&](unsigned cp) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    out += buf;
  };
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c == '"')
        out += "\\\"";
      else if (c == '\\')
        out += "\\\\";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\r')
        out += "\\r";
      else if (c == '\t')
        out += "\\t";
      else if (c < 0x20 || c == 0x7f)
        esc(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    // Strict UTF-8 decoding; anything invalid is one U+FFFD per byte.
    unsigned cp = 0;
    size_t len = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) ok = false;
      else cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if (ok) {
      if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        ok = false;
    }
    if (!ok) {
      esc(0xfffd);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      const unsigned v = cp - 0x10000;
      esc(0xd800 + (v >> 10));
      esc(0xdc00 + (v & 0x3ff));
    } else {
      esc(cp);
    }
    i += len;
  }
  return out;
}

}  // namespace fetch
