// inventory.redact_secrets(text): the shared redactor (core/redact.h).
#include "pg_bridge.h"

extern "C" {
#include "utils/builtins.h"
}

#include <string>
#include <string_view>

#include "redact.h"

extern "C" {

PG_FUNCTION_INFO_V1(tinv_redact_secrets);
Datum tinv_redact_secrets(PG_FUNCTION_ARGS) {
  text* in = PG_GETARG_TEXT_PP(0);
  return tinv::pg::sql_entry([&]() -> Datum {
    std::string out = tinv::redact_secrets(
        std::string_view(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in)));
    return PointerGetDatum(tinv::pg::pg_call(
        [&out]() { return cstring_to_text_with_len(out.data(), static_cast<int>(out.size())); }));
  });
}

}  // extern "C"
