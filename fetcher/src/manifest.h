// What the database already holds for a run (inventory.sync_manifest): one
// entry per known item, so that an item whose row would not change is
// staged as its narrow key only (docs/design.md §10: a re-sync costs what
// changed).
//
// An entry is a 64-bit keyed hash of (policy type, external id) and the
// item's 128-bit row fingerprint: 24 bytes, kept in one sorted vector
// (at most 48 bytes per item while it grows), and once sealed one byte per
// item noting that the enumeration listed it. Two keys hashing alike are
// harmless: the database checks every narrow key's fingerprint against the
// row it stores for that very key.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mapper.h"

namespace fetch {

// The first 16 bytes of a row's SHA-256 fingerprint.
struct RowFingerprint {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const RowFingerprint& o) const { return hi == o.hi && lo == o.lo; }
  bool operator!=(const RowFingerprint& o) const { return !(*this == o); }
  // 32 lowercase hex characters.
  std::string hex() const;
  void append_hex(std::string& out) const;
  // Exactly 32 hex characters (either case); nullopt otherwise.
  static std::optional<RowFingerprint> parse(std::string_view hex);
};

// The fingerprint of a staged row: SHA-256 over the length-prefixed fields
// (salt, display name or a NULL marker, meta JSON text exactly as staged,
// content hash), cut to 16 bytes. `salt` is inventory.fingerprint_salt():
// it changes when the meta whitelist changes, so every row is staged whole
// once after such a change.
RowFingerprint row_fingerprint(std::string_view salt, const std::optional<std::string>& display_name,
                               std::string_view meta_json, std::string_view content_hash);

class Manifest {
 public:
  // `seed` keys the item hash (a random value per run: the upstream cannot
  // aim ids at one another's slots).
  explicit Manifest(uint64_t seed);

  // Adds one entry (any order); call seal() once all are added.
  void add(std::string_view policy_type, std::string_view external_id, const RowFingerprint& fp);
  void seal();

  // True when the manifest holds (policy_type, external_id) with `fp`.
  bool matches(std::string_view policy_type, std::string_view external_id, const RowFingerprint& fp) const;

  // matches(), and notes that the enumeration listed the item (whatever its
  // fingerprint). Safe from several threads at once once sealed.
  bool observe(std::string_view policy_type, std::string_view external_id, const RowFingerprint& fp) const;

  // True when every item the manifest holds of the type was observed: a
  // complete listing of it then makes no item with a fingerprint absent,
  // and there is nothing to verify (inventory.absence_candidates).
  bool all_listed(std::string_view policy_type) const;

  size_t size() const { return entries_.size(); }
  size_t bytes() const { return entries_.capacity() * sizeof(Entry) + (listed_ ? entries_.size() : 0); }

  uint64_t key_hash(std::string_view policy_type, std::string_view external_id) const;

 private:
  struct Entry {
    uint64_t key;
    RowFingerprint fp;
  };
  uint64_t seed_;
  std::vector<Entry> entries_;
  bool sealed_ = false;
  // Entries per policy type (counted as added), and per type the entries
  // observed so far; one flag per entry (allocated by seal()).
  struct TypeCount {
    size_t entries = 0;
    mutable std::atomic<size_t> listed{0};
  };
  std::map<std::string, TypeCount, std::less<>> types_;
  std::unique_ptr<std::atomic<uint8_t>[]> listed_;
};

// Reads one line of `COPY (SELECT policy_type, external_id, row_fp ...) TO
// STDOUT` (text format, with or without its newline) into `m`. Returns
// false, adding nothing, for a line that is not three fields with a valid
// fingerprint.
bool add_manifest_line(Manifest& m, std::string_view line, std::string& scratch_type, std::string& scratch_id);

// Undoes COPY text escaping of one field (\\, \t, \n, \r, \b, \f, \v,
// octal \NNN, \xHH). Returns false for "\N" (NULL).
bool copy_unescape(std::string_view field, std::string& out);

}  // namespace fetch
