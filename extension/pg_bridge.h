// The border between PostgreSQL and C++ inside the extension.
//
// Rules kept here (docs/design.md §2):
//  - PostgreSQL headers are C: included inside extern "C", postgres.h first.
//  - No C++ exception may reach PostgreSQL, and no ereport() may longjmp over
//    live C++ objects. PostgreSQL calls made from C++ code run through
//    pg_call(), which turns an error into a PgError exception; every SQL
//    entry point runs its C++ body through sql_entry(), which catches every
//    exception and raises the PostgreSQL error only after the C++ frames of
//    the body are gone.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "canonical.h"

namespace tinv::pg {

// A PostgreSQL error caught by pg_call(), to be re-raised by sql_entry().
struct PgError {
  ErrorData* edata;
};

// A C++-side error with a SQLSTATE, raised as a PostgreSQL error by sql_entry().
class SqlError : public std::runtime_error {
 public:
  SqlError(int sqlstate, const std::string& msg) : std::runtime_error(msg), code(sqlstate) {}
  int code;
};

namespace detail {

// The only frame holding a sigsetjmp: it writes results through pointers, so
// no local variable of it is modified between setjmp and longjmp.
template <class F>
ErrorData* run_guarded(F& f) {
  MemoryContext mcxt = CurrentMemoryContext;
  ErrorData* volatile err = nullptr;  // volatile: read after the longjmp
  PG_TRY();
  { f(); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(mcxt);
    err = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  return err;
}

}  // namespace detail

// Runs `f` (which calls PostgreSQL functions and creates no C++ objects that
// need destruction) and converts a PostgreSQL ERROR into a PgError exception.
template <class F>
auto pg_call(F&& f) -> decltype(f()) {
  if constexpr (std::is_void_v<decltype(f())>) {
    auto run = [&f]() { f(); };
    if (ErrorData* err = detail::run_guarded(run)) throw PgError{err};
  } else {
    decltype(f()) result{};
    auto* out = &result;
    auto run = [&f, out]() { *out = f(); };
    if (ErrorData* err = detail::run_guarded(run)) throw PgError{err};
    return result;
  }
}

// Runs the C++ body of a SQL-callable function. Every exception is caught;
// the PostgreSQL error is raised after the body's objects are destroyed.
template <class F>
Datum sql_entry(F&& body) {
  ErrorData* pgerr = nullptr;
  int sqlstate = 0;
  char msg[512];
  msg[0] = '\0';
  try {
    return body();
  } catch (const PgError& e) {
    pgerr = e.edata;
  } catch (const SqlError& e) {
    sqlstate = e.code;
    std::strncpy(msg, e.what(), sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
  } catch (const tinv::NumberOutOfRange& e) {
    sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
    std::strncpy(msg, e.what(), sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
  } catch (const std::bad_alloc&) {
    sqlstate = ERRCODE_OUT_OF_MEMORY;
    std::strncpy(msg, "out of memory", sizeof msg - 1);
  } catch (const std::exception& e) {
    sqlstate = ERRCODE_INTERNAL_ERROR;
    std::strncpy(msg, e.what(), sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
  } catch (...) {
    sqlstate = ERRCODE_INTERNAL_ERROR;
    std::strncpy(msg, "unexpected C++ exception", sizeof msg - 1);
  }
  if (pgerr != nullptr) ReThrowError(pgerr);
  ereport(ERROR, (errcode(sqlstate), errmsg("%s", msg)));
  pg_unreachable();
}

}  // namespace tinv::pg
