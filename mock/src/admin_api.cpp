// The /_mock admin API: health, tenants, stats, faults, latency and per-tenant
// item mutations and credentials. JSON in, JSON out, no authentication.
#include "handlers.h"
#include "responses.h"
#include "util.h"

namespace tinv::mock {

using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

const size_t kMaxIndexesPerCall = 1000000;

// Indexes of an admin mutation body: "indexes": [...] and/or "range": [start, end).
bool read_indexes(const json &body, std::vector<uint64_t> &out, std::string &error) {
  if (body.contains("indexes")) {
    if (!body["indexes"].is_array()) {
      error = "\"indexes\" must be an array of non-negative integers";
      return false;
    }
    for (const auto &i : body["indexes"]) {
      if (!i.is_number_unsigned()) {
        error = "\"indexes\" must be an array of non-negative integers";
        return false;
      }
      out.push_back(i.get<uint64_t>());
    }
  }
  if (body.contains("range")) {
    const json &r = body["range"];
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() ||
        !r[1].is_number_unsigned() || r[0].get<uint64_t>() > r[1].get<uint64_t>()) {
      error = "\"range\" must be [start, end) with 0 <= start <= end";
      return false;
    }
    uint64_t a = r[0].get<uint64_t>(), b = r[1].get<uint64_t>();
    if (b - a > kMaxIndexesPerCall) {
      error = "\"range\" covers too many items for one call";
      return false;
    }
    for (uint64_t i = a; i < b; ++i) out.push_back(i);
  }
  if (out.size() > kMaxIndexesPerCall) {
    error = "too many indexes for one call";
    return false;
  }
  if (!body.contains("indexes") && !body.contains("range")) {
    error = "expected \"indexes\" (array) or \"range\" ([start, end))";
    return false;
  }
  return true;
}

}  // namespace

void Service::register_admin(httplib::Server &server) {
  server.Get("/_mock/health", [this](const Request &, Response &res) {
    set_json(
        res, 200,
        {{"ok", true},
         {"port", port_.load()},
         {"foreign_port", foreign_port_.load() > 0 ? json(foreign_port_.load()) : json(nullptr)}});
  });
  server.Get("/_mock/tenants", [this](const Request &, Response &res) {
    set_json(res, 200, {{"tenants", store_.tenants()}});
  });
  server.Get("/_mock/stats", [this](const Request &, Response &res) {
    json s = stats_.to_json();
    s["foreign_port"] = foreign_port_.load() > 0 ? json(foreign_port_.load()) : json(nullptr);
    set_json(res, 200, s);
  });
  server.Post("/_mock/reset-stats", [this](const Request &, Response &res) {
    stats_.reset();
    set_json(res, 200, {{"ok", true}});
  });
  server.Get("/_mock/faults",
             [this](const Request &, Response &res) { set_json(res, 200, faults_.to_json()); });
  server.Post("/_mock/faults", [this](const Request &req, Response &res) {
    json body;
    if (!parse_body(req, res, body)) return;
    std::string error;
    if (!faults_.replace(body, error)) {
      set_json(res, 400, {{"error", error}});
      return;
    }
    set_json(res, 200, faults_.to_json());
  });
  server.Delete("/_mock/faults", [this](const Request &, Response &res) {
    faults_.clear();
    set_json(res, 200, json::array());
  });
  server.Get("/_mock/latency", [this](const Request &, Response &res) {
    set_json(res, 200, {{"delay_ms", latency_ms_.load()}});
  });
  server.Post("/_mock/latency", [this](const Request &req, Response &res) {
    json body;
    if (!parse_body(req, res, body)) return;
    if (!body.is_object() || !body.contains("delay_ms") || !body["delay_ms"].is_number_integer() ||
        body["delay_ms"].get<int64_t>() < 0 || body["delay_ms"].get<int64_t>() > 600000) {
      set_json(res, 400, {{"error", "expected {\"delay_ms\": integer in 0..600000}"}});
      return;
    }
    latency_ms_ = body["delay_ms"].get<int64_t>();
    set_json(res, 200, {{"delay_ms", latency_ms_.load()}});
  });
  server.Post(
      R"(/_mock/tenant/([^/]+)/(items|delete|restore|rename|edit|touch|hide|unhide|credentials))",
      [this](const Request &req, Response &res) { handle_admin_tenant(req, res); });
  server.Get(R"(/_mock/tenant/([^/]+)/item)",
             [this](const Request &req, Response &res) { handle_admin_item(req, res); });
}

void Service::handle_admin_tenant(const Request &req, Response &res) {
  const std::string tid = req.matches[1];
  const std::string action = req.matches[2];
  if (!is_uuid(tid)) {
    set_json(res, 400, {{"error", "tenant must be a UUID"}});
    return;
  }
  json body;
  if (!parse_body(req, res, body)) return;
  if (!body.is_object()) {
    set_json(res, 400, {{"error", "body must be a JSON object"}});
    return;
  }
  const std::string tenant = store_.ensure_tenant(tid);
  std::string error;
  json result = {{"ok", true}, {"tenant", tenant}};
  if (action == "credentials") {
    if (!store_.set_credentials(tenant, body, error)) {
      set_json(res, 400, {{"error", error}});
      return;
    }
  } else {
    if (!body.contains("path") || !body["path"].is_string() ||
        normalize_graph_path(body["path"].get<std::string>()).empty()) {
      set_json(res, 400, {{"error", "expected a non-empty string \"path\""}});
      return;
    }
    const std::string path = normalize_graph_path(body["path"].get<std::string>());
    result["path"] = path;
    if (action == "items") {
      if (!body.contains("count") || !body["count"].is_number_unsigned() ||
          body["count"].get<uint64_t>() > 1000000000ull) {
        set_json(res, 400, {{"error", "expected \"count\": integer in 0..1000000000"}});
        return;
      }
      store_.set_count(tenant, path, body["count"].get<uint64_t>());
      result["count"] = body["count"];
    } else {
      std::vector<uint64_t> indexes;
      if (!read_indexes(body, indexes, error)) {
        set_json(res, 400, {{"error", error}});
        return;
      }
      Mutation kind = action == "delete"    ? Mutation::Delete
                      : action == "restore" ? Mutation::Restore
                      : action == "rename"  ? Mutation::Rename
                      : action == "hide"    ? Mutation::Hide
                      : action == "unhide"  ? Mutation::Unhide
                      : action == "edit"    ? Mutation::Edit
                                            : Mutation::Touch;
      std::string suffix = kind == Mutation::Edit ? " (edited)" : " (renamed)";
      if ((kind == Mutation::Rename || kind == Mutation::Edit) && body.contains("suffix")) {
        if (!body["suffix"].is_string() || body["suffix"].get<std::string>().empty()) {
          set_json(res, 400, {{"error", "\"suffix\" must be a non-empty string"}});
          return;
        }
        suffix = body["suffix"].get<std::string>();
      }
      result["changed"] = store_.mutate(tenant, path, indexes, kind, suffix);
    }
  }
  if (!store_.save(error)) {
    set_json(res, 500, {{"error", error}});
    return;
  }
  set_json(res, 200, result);
}

void Service::handle_admin_item(const Request &req, Response &res) {
  const std::string tid = req.matches[1];
  if (!is_uuid(tid) || !req.has_param("path") || !req.has_param("index")) {
    set_json(res, 400, {{"error", "expected /_mock/tenant/{uuid}/item?path=...&index=N"}});
    return;
  }
  const std::string tenant = to_lower(tid);
  const std::string path = normalize_graph_path(req.get_param_value("path"));
  const std::string index_text = req.get_param_value("index");
  uint64_t index = 0;
  bool ok = !index_text.empty() && index_text.size() < 19;
  for (char c : index_text) {
    if (c < '0' || c > '9')
      ok = false;
    else
      index = index * 10 + uint64_t(c - '0');
  }
  const bool beta = req.get_param_value("api_version") != "v1.0";
  if (!ok || path.empty()) {
    set_json(res, 400, {{"error", "bad path or index"}});
    return;
  }
  PathProfile profile = generator_.profile(path);
  bool listed = false, exists = false, deleted = false, hidden = false;
  ojson item;
  store_.read_path(tenant, path, [&](uint64_t count, const PathState *ps) {
    const ItemMutation *m = nullptr;
    if (ps) {
      auto it = ps->mutations.find(index);
      if (it != ps->mutations.end()) m = &it->second;
    }
    deleted = m && m->deleted;
    hidden = m && m->hidden;
    exists = index < count && !deleted;
    listed = exists && !hidden;
    item = generator_.item(tenant, path, profile, index, m, beta);
  });
  ojson out = ojson::object();
  out["listed"] = listed;
  out["exists"] = exists;  // what GET /{version}/{path}/{id} finds (200) or not (404)
  out["deleted"] = deleted;
  out["hidden"] = hidden;
  out["item"] = std::move(item);
  res.status = 200;
  res.set_content(out.dump(-1, ' ', false, ojson::error_handler_t::replace), kJson);
}

}  // namespace tinv::mock
