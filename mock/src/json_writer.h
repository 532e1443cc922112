// A minimal streaming JSON writer: items are written straight into the page text,
// which is several times faster than building nlohmann objects and dumping them.
// Strings are escaped per RFC 8259 (quote, backslash, control characters); other
// UTF-8 is written as is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tinv::mock {

class JsonWriter {
 public:
  explicit JsonWriter(std::string &out) : out_(out) {}

  JsonWriter &begin_object() { return open('{'); }
  JsonWriter &end_object() { return close('}'); }
  JsonWriter &begin_array() { return open('['); }
  JsonWriter &end_array() { return close(']'); }

  JsonWriter &key(std::string_view k) {
    separate();
    quoted(k);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  JsonWriter &str(std::string_view s) {
    separate();
    quoted(s);
    return *this;
  }
  JsonWriter &num(int64_t v) {
    separate();
    out_ += std::to_string(v);
    return *this;
  }
  JsonWriter &boolean(bool v) {
    separate();
    out_ += v ? "true" : "false";
    return *this;
  }
  JsonWriter &null() {
    separate();
    out_ += "null";
    return *this;
  }
  // A value that is already JSON text.
  JsonWriter &raw(std::string_view json) {
    separate();
    out_.append(json.data(), json.size());
    return *this;
  }
  // Shorthands for "key": value.
  JsonWriter &kv(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonWriter &kv(std::string_view k, const char *v) { return key(k).str(v); }
  JsonWriter &kv_num(std::string_view k, int64_t v) { return key(k).num(v); }
  JsonWriter &kv_bool(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonWriter &kv_null(std::string_view k) { return key(k).null(); }

  static void escape_into(std::string &out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;  // start of the pending unescaped run
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 0xf]);
      }
    }
    out.append(s.data() + run, s.size() - run);
  }

 private:
  JsonWriter &open(char c) {
    separate();
    out_.push_back(c);
    first_.push_back(true);
    return *this;
  }
  JsonWriter &close(char c) {
    out_.push_back(c);
    if (!first_.empty()) first_.pop_back();
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
    }
  }
  void quoted(std::string_view s) {
    out_.push_back('"');
    escape_into(out_, s);
    out_.push_back('"');
  }

  std::string &out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace tinv::mock
