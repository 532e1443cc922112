// Thin RAII wrapper over one libpq connection: parameterized statements and
// COPY FROM STDIN / TO STDOUT. Errors carry the SQLSTATE.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace fetch {

class PgError : public std::runtime_error {
 public:
  PgError(std::string message, std::string sqlstate)
      : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

class PgResult {
 public:
  explicit PgResult(pg_result* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&&) = delete;
  PgResult(const PgResult&) = delete;
  ~PgResult();
  int rows() const;
  bool is_null(int row, int col) const;
  std::string get(int row, int col) const;

 private:
  pg_result* r_;
};

using PgParams = std::vector<std::optional<std::string>>;

class PgConn {
 public:
  // Connects with `conninfo` (empty: libpq's environment defaults).
  explicit PgConn(const std::string& conninfo);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  PgResult exec(const std::string& sql, const PgParams& params = {});
  // COPY <target> FROM STDIN with `data` in text format.
  void copy_in(const std::string& copy_sql, std::string_view data);
  // The same in steps: start the COPY, send data any number of times, end it.
  void copy_begin(const std::string& copy_sql);
  void copy_put(std::string_view data);
  void copy_end();
  // COPY ... TO STDOUT: `on_line` gets each row (text format, with its
  // newline) as it arrives, so memory does not grow with the result.
  void copy_out(const std::string& copy_sql, const std::function<void(std::string_view)>& on_line);
  bool copy_open() const { return copy_open_; }
  bool healthy() const;

 private:
  void drain_results();
  pg_conn* c_ = nullptr;
  bool copy_open_ = false;
  bool copy_failed_ = false;
};

}  // namespace fetch
