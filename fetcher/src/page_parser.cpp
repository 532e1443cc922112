#include "page_parser.h"

#include <vector>

namespace fetch {

using json = nlohmann::json;

const char* page_status_name(PageStatus s) {
  switch (s) {
    case PageStatus::Ok:
      return "ok";
    case PageStatus::Syntax:
      return "not valid JSON";
    case PageStatus::NotObject:
      return "not a JSON object";
    case PageStatus::NoValueArray:
      return "page without a \"value\" array";
    case PageStatus::DuplicateKey:
      return "page with a duplicate \"value\" or \"@odata.nextLink\"";
    case PageStatus::TooManyItems:
      return "page with too many items";
    case PageStatus::ItemTooLarge:
      return "page with an item of too many values";
  }
  return "unknown";
}

namespace {

// Pass 1: structure only. depth = open containers; the top-level object is
// depth 1, its "value" array depth 2, items start at depth 2.
class Scanner {
 public:
  Scanner(PageScan& out, const PageLimits& limits) : out_(out), limits_(limits) {}

  bool null() { return scalar(Kind::Null); }
  bool boolean(bool) { return scalar(Kind::Other); }
  bool number_integer(json::number_integer_t) { return scalar(Kind::Other); }
  bool number_unsigned(json::number_unsigned_t) { return scalar(Kind::Other); }
  bool number_float(json::number_float_t, const json::string_t&) { return scalar(Kind::Other); }
  bool string(json::string_t& s) {
    if (depth_ == 1 && member_ == Member::Next) {
      out_.has_next = true;
      if (s.size() > limits_.max_next_link_bytes) {
        out_.next_too_long = true;
      } else {
        out_.next_link = std::move(s);
      }
    }
    return scalar(Kind::String);
  }
  bool binary(json::binary_t&) { return scalar(Kind::Other); }
  bool start_object(std::size_t) { return open(false); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(true); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1) {
      member_ = Member::Other;
      // A second "value" or nextLink is noted, not followed (the first
      // wins for the scan); the parse goes on so that invalid JSON is told
      // apart from a duplicate.
      if (k == "value") {
        if (seen_value_) {
          duplicate_ = true;
          return true;
        }
        seen_value_ = true;
        member_ = Member::Value;
      } else if (k == "@odata.nextLink") {
        if (seen_next_) {
          duplicate_ = true;
          return true;
        }
        seen_next_ = true;
        member_ = Member::Next;
      }
      return true;
    }
    return count_value();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    if (out_.status == PageStatus::Ok || out_.status == PageStatus::Syntax) out_.status = PageStatus::Syntax;
    return false;
  }

  void finish() {
    if (out_.status != PageStatus::Ok) return;
    if (!top_object_) out_.status = PageStatus::NotObject;
    else if (duplicate_) out_.status = PageStatus::DuplicateKey;
    else if (!value_array_) out_.status = PageStatus::NoValueArray;
  }

 private:
  enum class Kind { Null, String, Other };
  enum class Member { Other, Value, Next };

  bool stop(PageStatus s) {
    out_.status = s;
    return false;
  }
  bool count_value() {
    if (in_value_ && depth_ >= 2 && ++item_values_ > limits_.max_item_values) return stop(PageStatus::ItemTooLarge);
    return true;
  }
  bool new_item() {
    item_values_ = 0;
    if (++out_.items > limits_.max_items) return stop(PageStatus::TooManyItems);
    return true;
  }
  bool scalar(Kind k) {
    if (depth_ == 0) return true;  // a scalar document: NotObject at the end
    if (depth_ == 1) {
      if (member_ == Member::Value) value_array_ = false;
      if (member_ == Member::Next) {
        if (k == Kind::Other) {
          out_.has_next = true;
          out_.next_not_string = true;
        }
      }
      return true;
    }
    if (in_value_ && depth_ == 2 && !new_item()) return false;
    return count_value();
  }
  bool open(bool array) {
    if (depth_ == 0) {
      top_object_ = !array;
    } else if (depth_ == 1) {
      if (member_ == Member::Value && array && top_object_) {
        value_array_ = true;
        in_value_ = true;
      } else if (member_ == Member::Next) {
        out_.has_next = true;
        out_.next_not_string = true;
      }
    } else if (in_value_ && depth_ == 2) {
      if (!new_item()) return false;
      if (!count_value()) return false;
    } else if (!count_value()) {
      return false;
    }
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (depth_ == 1) in_value_ = false;
    return true;
  }

  PageScan& out_;
  const PageLimits& limits_;
  size_t depth_ = 0;
  Member member_ = Member::Other;
  bool top_object_ = false;
  bool value_array_ = false;
  bool in_value_ = false;
  bool seen_value_ = false;
  bool seen_next_ = false;
  bool duplicate_ = false;
  size_t item_values_ = 0;
};

// Pass 2: one tree per item of the top-level "value" array.
class ItemBuilder {
 public:
  explicit ItemBuilder(const std::function<bool(json&&)>& on_item) : on_item_(on_item) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool b) { return value(json(b)); }
  bool number_integer(json::number_integer_t v) { return value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(json(v)); }
  bool string(json::string_t& s) { return value(json(std::move(s))); }
  bool binary(json::binary_t&) { return value(json()); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (depth_ == 1) {
      value_member_ = k == "value";
    } else if (collecting()) {
      key_ = std::move(k);
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  // Inside the "value" array of the top-level object.
  bool collecting() const { return value_open_ && depth_ >= 2; }

  json* insert(json&& v) {
    json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    json& slot = (*parent)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool value(json&& v) {
    if (!collecting()) return true;
    if (stack_.empty()) return on_item_(std::move(v));  // a scalar item
    insert(std::move(v));
    return true;
  }
  bool open(json&& container) {
    if (depth_ == 1 && value_member_ && container.is_array()) {
      value_open_ = true;
    } else if (collecting()) {
      if (stack_.empty()) {
        item_ = std::move(container);
        stack_.push_back(&item_);
      } else {
        stack_.push_back(insert(std::move(container)));
      }
    }
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (value_open_ && depth_ == 1) {
      value_open_ = false;
      value_member_ = false;
      return true;
    }
    if (collecting() && !stack_.empty()) {
      stack_.pop_back();
      if (stack_.empty()) {
        json item = std::move(item_);
        item_ = json();
        return on_item_(std::move(item));
      }
    }
    return true;
  }

  const std::function<bool(json&&)>& on_item_;
  size_t depth_ = 0;
  bool value_member_ = false;
  bool value_open_ = false;
  json item_;
  std::vector<json*> stack_;
  std::string key_;
};

}  // namespace

PageScan scan_page(std::string_view body, const PageLimits& limits) {
  PageScan out;
  out.status = PageStatus::Ok;
  Scanner sc(out, limits);
  const bool ok = json::sax_parse(body.begin(), body.end(), &sc, json::input_format_t::json, true, false);
  if (!ok && out.status == PageStatus::Ok) out.status = PageStatus::Syntax;
  if (ok) sc.finish();
  if (out.status != PageStatus::Ok) {
    out.error = page_status_name(out.status);
    out.next_link.clear();
  }
  return out;
}

bool for_each_item(std::string_view body, const std::function<bool(json&&)>& on_item) {
  ItemBuilder b(on_item);
  return json::sax_parse(body.begin(), body.end(), &b, json::input_format_t::json, true, false);
}

}  // namespace fetch
