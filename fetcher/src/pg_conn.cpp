#include "pg_conn.h"

#include <libpq-fe.h>

#include <exception>

namespace fetch {

namespace {

std::string trim_message(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

[[noreturn]] void throw_result(PGresult* r, PGconn* c) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = r ? trim_message(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)) : "";
  if (msg.empty()) msg = trim_message(PQerrorMessage(c));
  std::string sqlstate = state ? state : "";
  if (r) PQclear(r);
  throw PgError(msg, sqlstate);
}

}  // namespace

PgResult::~PgResult() {
  if (r_) PQclear(r_);
}
int PgResult::rows() const { return r_ ? PQntuples(r_) : 0; }
bool PgResult::is_null(int row, int col) const { return PQgetisnull(r_, row, col) == 1; }
std::string PgResult::get(int row, int col) const {
  return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

PgConn::PgConn(const std::string& conninfo) {
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.c_str(), "inventory-fetch", nullptr};
  c_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!c_ || PQstatus(c_) != CONNECTION_OK) {
    std::string msg = c_ ? trim_message(PQerrorMessage(c_)) : "out of memory";
    if (c_) PQfinish(c_);
    c_ = nullptr;
    throw PgError("cannot connect to the database: " + msg, "08001");
  }
}

PgConn::~PgConn() {
  if (c_) PQfinish(c_);
}

bool PgConn::healthy() const { return c_ && PQstatus(c_) == CONNECTION_OK; }

PgResult PgConn::exec(const std::string& sql, const PgParams& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw_result(r, c_);
  return PgResult(r);
}

void PgConn::copy_in(const std::string& copy_sql, std::string_view data) {
  copy_begin(copy_sql);
  copy_put(data);
  copy_end();
}

void PgConn::copy_begin(const std::string& copy_sql) {
  PGresult* r = PQexec(c_, copy_sql.c_str());
  if (!r || PQresultStatus(r) != PGRES_COPY_IN) throw_result(r, c_);
  PQclear(r);
  copy_open_ = true;
  copy_failed_ = false;
}

void PgConn::copy_put(std::string_view data) {
  // libpq buffers; hand it the data in slices so no single call is huge.
  constexpr size_t kSlice = 1u << 20;
  for (size_t off = 0; !copy_failed_ && off < data.size(); off += kSlice) {
    const size_t n = std::min(kSlice, data.size() - off);
    copy_failed_ = PQputCopyData(c_, data.data() + off, static_cast<int>(n)) != 1;
  }
  if (copy_failed_) copy_end();  // reports the server's error
}

void PgConn::drain_results() {
  // Every result of the statement is read (the connection is then idle);
  // the first failure is raised.
  PGresult* failed = nullptr;
  while (PGresult* cur = PQgetResult(c_)) {
    if (!failed && PQresultStatus(cur) != PGRES_COMMAND_OK) {
      failed = cur;
    } else {
      PQclear(cur);
    }
  }
  if (failed) throw_result(failed, c_);
}

void PgConn::copy_end() {
  if (!copy_open_) return;
  copy_open_ = false;
  if (PQputCopyEnd(c_, copy_failed_ ? "client failed to send COPY data" : nullptr) != 1) {
    throw PgError("COPY failed: " + trim_message(PQerrorMessage(c_)), "");
  }
  drain_results();
  if (copy_failed_) throw PgError("COPY failed: " + trim_message(PQerrorMessage(c_)), "");
}

void PgConn::copy_out(const std::string& copy_sql, const std::function<void(std::string_view)>& on_line) {
  copy_end();
  PGresult* r = PQexec(c_, copy_sql.c_str());
  if (!r || PQresultStatus(r) != PGRES_COPY_OUT) throw_result(r, c_);
  PQclear(r);
  // A throwing callback stops the reading, not the protocol: the rest is
  // drained so the connection stays usable, then the exception goes on.
  std::exception_ptr thrown;
  for (;;) {
    char* buf = nullptr;
    const int n = PQgetCopyData(c_, &buf, 0);
    if (n < 0) break;  // -1: done; -2: error, reported by the result below
    std::unique_ptr<char, decltype(&PQfreemem)> owned(buf, &PQfreemem);
    if (thrown) continue;
    try {
      on_line(std::string_view(buf, static_cast<size_t>(n)));
    } catch (...) {
      thrown = std::current_exception();
    }
  }
  drain_results();
  if (thrown) std::rethrow_exception(thrown);
}

}  // namespace fetch
