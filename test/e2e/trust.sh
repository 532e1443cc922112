#!/usr/bin/env bash
# End-to-end cases of history and trust (issue 11): verified deletions, a
# listing that leaves out items that still exist, the mass-missing guard
# through the fetcher, failed verifications, and the history rows of runs.
#
# Sourced by test/e2e/run.sh after its own cases (same cluster, mock,
# helpers and counters). Run directly, it runs test/e2e/run.sh with
# E2E_ONLY=trust (all of these cases); E2E_ONLY=trust_deleted (or another
# case name below) runs one.
# shellcheck shell=bash

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  E2E_ONLY=${E2E_ONLY:-trust} exec "$(cd "$(dirname "$0")" && pwd)/run.sh" "$@"
fi

trust_want() { [ -z "${E2E_ONLY:-}" ] || [ "$E2E_ONLY" = trust ] || [ "$E2E_ONLY" = "$1" ]; }

# GETs of one object (absence checks) the mock answered for a tenant.
item_gets() { mock_get /_mock/stats | jq --arg t "$1" '.item_gets_by_tenant[$t] // 0'; }
# 'id1','id2',... of the items at the given indexes (for SQL IN lists).
item_ids_sql() {
  local t=$1 path=$2 i out=
  shift 2
  for i in "$@"; do out+="${out:+,}'$(item_id "$t" "$path" "$i")'"; done
  printf '%s' "$out"
}
# "external_id:state:confidence" of every missing item, sorted.
missing_list() {
  sql "$1" "SELECT coalesce(string_agg(external_id || ':' || state || ':' || confidence, ' ' ORDER BY external_id), '')
              FROM inventory.missing_items('$2', '$3')"
}
# The same list built from the mock's ids, for the expected value.
expected_list() {  # TENANT PATH SUFFIX INDEX...
  local t=$1 path=$2 suffix=$3 i
  shift 3
  for i in "$@"; do printf '%s:%s\n' "$(item_id "$t" "$path" "$i")" "$suffix"; done | sort | tr '\n' ' ' | sed 's/ $//'
}

# a. Deletions are verified: the 404s become deleted items with high
# confidence and a `deleted` history row; one GET per missing item.
if trust_want trust_deleted; then
  CASE=trust_deleted
  reset_mock
  new_db e2e_trust_del
  T=b1000001-0000-4000-8000-000000000001
  sel='{"policy_types":["deviceConfiguration"]}'
  set_items $T $DC 30
  fetch trust-del1 e2e_trust_del $T "$sel"
  expect_eq "first sync exit 0" "$RC" 0
  expect_eq "a first sync asks for no item" "$(item_gets $T)" 0
  gone=$(item_ids_sql $T $DC 3 11 20)
  mutate $T delete "{\"path\":\"$DC\",\"indexes\":[3,11,20]}"
  mock_post /_mock/reset-stats '{}'
  fetch trust-del2 e2e_trust_del $T "$sel" --metrics-file "$WORK/trust-del2.prom"
  expect_eq "re-sync exit 0" "$RC" 0
  run=$(last_run e2e_trust_del $T)
  expect_eq "re-sync succeeded" "$(run_field e2e_trust_del $run status)" succeeded
  expect_eq "the 3 deleted items are deleted, high confidence" \
    "$(missing_list e2e_trust_del $T "$sel")" "$(expected_list $T $DC deleted:high 3 11 20)"
  expect_eq "a deleted history row for each, by this run" \
    "$(sql e2e_trust_del "SELECT count(*) FROM inventory.item_history
                           WHERE tenant_id = '$T' AND change = 'deleted' AND run_id = $run AND external_id IN ($gone)")" 3
  expect_eq "no other history row in the re-sync" \
    "$(sql e2e_trust_del "SELECT count(*) FROM inventory.item_history WHERE tenant_id = '$T' AND run_id = $run")" 3
  expect_eq "exactly 3 item GETs, all 404" \
    "$(mock_get /_mock/stats | jq -c --arg t $T '[.item_gets_by_tenant[$t], .item_get_responses_by_status]')" '[3,{"404":3}]'
  expect_eq "each GET named one of the items under the collection" \
    "$(mock_get /_mock/stats | jq -r --arg p "$DC/" '[.requests[] | select(.item) | .path | ltrimstr($p)] | sort | join(",")')" \
    "$(tr -d "'" <<<"$gone" | tr ',' '\n' | sort | paste -sd,)"
  expect_eq "the type row counts the verified deletions" \
    "$(sql e2e_trust_del "SELECT status || ' ' || verified_deleted || ' ' || verified_present FROM inventory.inventory_sync_run_types WHERE run_id = $run")" "complete 3 0"
  check "the type's log line has the counts" grep -q 'policy type done.*absence_candidates=3 verified_deleted=3 verified_present=0 verify_errors=0' "$WORK/trust-del2.err"
  check "the summary has them" grep -q 'run finished.*verified_deleted=3' "$WORK/trust-del2.err"
  check "the metrics have them" grep -q '^inventory_fetch_verifications_total{.*result="deleted"} 3$' "$WORK/trust-del2.prom"
  # Nothing changed since: nothing to ask for, and the listing named every
  # item the manifest holds, so the database is not even asked which items
  # would go absent (a second pass over the type's rows).
  mock_post /_mock/reset-stats '{}'
  sql e2e_trust_del "ALTER DATABASE e2e_trust_del SET track_functions = 'pl'" >/dev/null
  sql e2e_trust_del "SELECT pg_stat_reset()" >/dev/null
  fetch trust-del3 e2e_trust_del $T "$sel"
  expect_eq "unchanged re-sync: exit 0, no item GET" "$RC $(item_gets $T)" "0 0"
  # A backend reports its function counts as it exits: wait for them.
  calls=
  for _ in $(seq 50); do
    calls=$(sql e2e_trust_del "SELECT string_agg(funcname || '=' || calls, ',' ORDER BY funcname) FROM pg_stat_user_functions WHERE funcname IN ('absence_candidates', 'complete_policy_type')")
    [ -n "$calls" ] && break
    sleep 0.1
  done
  expect_eq "unchanged re-sync: the type was settled, absence_candidates never called" "$calls" \
    "complete_policy_type=1"
  sql e2e_trust_del "ALTER DATABASE e2e_trust_del RESET track_functions" >/dev/null
fi

# b. A listing short of items that still exist: Graph answers 200 by id, the
# type is incomplete (listing_inconsistent), the items are not missing.
if trust_want trust_hidden; then
  CASE=trust_hidden
  reset_mock
  new_db e2e_trust_hid
  T=b1000001-0000-4000-8000-000000000002
  # Two types: the other one complete keeps the run partial (a run whose
  # only type is incomplete is failed).
  sel='{"policy_types":["deviceConfiguration","configurationPolicy"]}'
  set_items $T $DC 30
  set_items $T $CP 10
  fetch trust-hid1 e2e_trust_hid $T "$sel"
  expect_eq "first sync exit 0" "$RC" 0
  hidden=$(item_ids_sql $T $DC 5 6 7 8 9)
  mutate $T hide "{\"path\":\"$DC\",\"range\":[5,10]}"
  mock_post /_mock/reset-stats '{}'
  fetch trust-hid2 e2e_trust_hid $T "$sel"
  expect_eq "re-sync exits 1 (partial)" "$RC" 1
  run=$(last_run e2e_trust_hid $T)
  expect_eq "the run is partial" "$(run_field e2e_trust_hid $run status)" partial
  expect_eq "deviceConfiguration incomplete, listing_inconsistent" \
    "$(sql e2e_trust_hid "SELECT status || ' ' || error_code || ' ' || verified_present FROM inventory.inventory_sync_run_types WHERE run_id = $run AND policy_type = 'deviceConfiguration'")" \
    "incomplete listing_inconsistent 5"
  expect_eq "configurationPolicy complete" "$(type_row e2e_trust_hid $run configurationPolicy)" "complete 1 10 -"
  expect_eq "none of the 5 is missing with high confidence" \
    "$(sql e2e_trust_hid "SELECT count(*) FROM inventory.missing_items('$T', '$sel') WHERE external_id IN ($hidden) AND confidence = 'high'")" 0
  expect_eq "none of the 5 is deleted" \
    "$(sql e2e_trust_hid "SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$T' AND external_id IN ($hidden) AND deleted_run_id IS NOT NULL")" 0
  expect_eq "5 item GETs, all 200" \
    "$(mock_get /_mock/stats | jq -c --arg t $T '[.item_gets_by_tenant[$t], .item_get_responses_by_status]')" '[5,{"200":5}]'
  check "the fetcher says the listing left out existing items" grep -q 'WARN the listing left out items that still exist.*present=5' "$WORK/trust-hid2.err"
  check "and reports the type incomplete" grep -q 'policy type done.*type=deviceConfiguration status=incomplete.*error=listing_inconsistent' "$WORK/trust-hid2.err"
  # Listed again: a complete run, nothing missing.
  mutate $T unhide "{\"path\":\"$DC\",\"range\":[5,10]}"
  fetch trust-hid3 e2e_trust_hid $T "$sel"
  expect_eq "listed again: exit 0, nothing missing" \
    "$RC $(sql e2e_trust_hid "SELECT count(*) FROM inventory.missing_items('$T', '$sel')")" "0 0"
fi

# c. The mass-missing guard through the fetcher: without checks, 25 of 40
# gone is held (low confidence) until accepted; with checks, the verified
# ones are deleted; never more than 50 GETs per type.
if trust_want trust_mass; then
  CASE=trust_mass
  reset_mock
  new_db e2e_trust_mass
  T=b1000001-0000-4000-8000-000000000003
  T2=b1000001-0000-4000-8000-000000000004
  T3=b1000001-0000-4000-8000-000000000005
  sel='{"policy_types":["deviceConfiguration"]}'
  set_items $T $DC 40
  fetch trust-mass1 e2e_trust_mass $T "$sel"
  expect_eq "first sync exit 0" "$RC" 0
  mutate $T delete "{\"path\":\"$DC\",\"range\":[0,25]}"
  mock_post /_mock/reset-stats '{}'
  fetch trust-mass2 e2e_trust_mass $T "$sel" --no-verify
  run=$(last_run e2e_trust_mass $T)
  expect_eq "--no-verify: no item GET" "$(item_gets $T)" 0
  expect_eq "the type's verdict is held" \
    "$(sql e2e_trust_mass "SELECT status || ' ' || coalesce(mass_missing, '-') FROM inventory.inventory_sync_run_types WHERE run_id = $run")" "complete held"
  expect_eq "25 missing, low confidence for mass_missing" \
    "$(sql e2e_trust_mass "SELECT count(*) FILTER (WHERE state = 'missing' AND confidence = 'low' AND 'mass_missing' = ANY (low_confidence_reasons)) || '/' || count(*) FROM inventory.missing_items('$T', '$sel')")" "25/25"
  expect_eq "accept_mass_missing (the database owner) counts them" \
    "$(sql e2e_trust_mass "SELECT inventory.accept_mass_missing($run, 'deviceConfiguration')")" 25
  expect_eq "accepted: the type row says so" \
    "$(sql e2e_trust_mass "SELECT mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = $run")" accepted
  expect_eq "accepted: the 25 are high confidence" \
    "$(sql e2e_trust_mass "SELECT count(*) FILTER (WHERE confidence = 'high') || '/' || count(*) FROM inventory.missing_items('$T', '$sel')")" "25/25"

  set_items $T2 $DC 40
  fetch trust-mass3 e2e_trust_mass $T2 "$sel"
  mutate $T2 delete "{\"path\":\"$DC\",\"range\":[0,25]}"
  fetch trust-mass4 e2e_trust_mass $T2 "$sel"
  expect_eq "with checks: 25 item GETs" "$(item_gets $T2)" 25
  expect_eq "with checks: the 25 are deleted" \
    "$(sql e2e_trust_mass "SELECT count(*) FILTER (WHERE state = 'deleted') || '/' || count(*) FROM inventory.missing_items('$T2', '$sel')")" "25/25"

  set_items $T3 $DC 120
  fetch trust-mass5 e2e_trust_mass $T3 "$sel"
  mutate $T3 delete "{\"path\":\"$DC\",\"range\":[0,80]}"
  fetch trust-mass6 e2e_trust_mass $T3 "$sel"
  expect_eq "80 gone: 50 item GETs (verify_max_per_type)" "$(item_gets $T3)" 50
  expect_eq "80 gone: 50 deleted, 80 absent" \
    "$(sql e2e_trust_mass "SELECT count(*) FILTER (WHERE state = 'deleted') || '/' || count(*) FROM inventory.missing_items('$T3', '$sel')")" "50/80"
  # A listing that silently drops 60% of a type (the items still exist).
  # With checks, Graph's first 200 shows the listing is wrong: nothing goes
  # missing. Without them the guard holds the absences, and the next
  # complete listing that agrees (and is not held itself) confirms them.
  T4=b1000001-0000-4000-8000-000000000008
  set_items $T4 $DC 50
  fetch trust-mass7 e2e_trust_mass $T4 "$sel"
  mutate $T4 hide "{\"path\":\"$DC\",\"range\":[0,30]}"
  fetch trust-mass8 e2e_trust_mass $T4 "$sel"
  run=$(last_run e2e_trust_mass $T4)
  expect_eq "60% silently dropped, with checks: listing_inconsistent, nothing absent" \
    "$(sql e2e_trust_mass "SELECT status || ' ' || error_code || ' ' || absent_marked || ' ' || (SELECT count(*) FROM inventory.inventory_items WHERE tenant_id = '$T4' AND NOT present) FROM inventory.inventory_sync_run_types WHERE run_id = $run")" "incomplete listing_inconsistent 0 0"
  fetch trust-mass9 e2e_trust_mass $T4 "$sel" --no-verify
  held=$(last_run e2e_trust_mass $T4)
  expect_eq "60% silently dropped, without checks: held, 30 missing with low confidence" \
    "$(sql e2e_trust_mass "SELECT (SELECT mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = $held) || ' ' || count(*) FILTER (WHERE confidence = 'low' AND 'mass_missing' = ANY (low_confidence_reasons)) FROM inventory.missing_items('$T4', '$sel')")" "held 30"
  expect_eq "tenant_sync_health names the held type" \
    "$(sql e2e_trust_mass "SELECT mass_missing_held FROM inventory.tenant_sync_health WHERE tenant_id = '$T4'")" "{deviceConfiguration}"
  fetch trust-mass10 e2e_trust_mass $T4 "$sel" --no-verify
  expect_eq "the next agreeing listing confirms it: the 30 are high" \
    "$(sql e2e_trust_mass "SELECT (SELECT mass_missing FROM inventory.inventory_sync_run_types WHERE run_id = $held) || ' ' || count(*) FILTER (WHERE confidence = 'high') FROM inventory.missing_items('$T4', '$sel')")" "confirmed 30"
fi

# d. --no-verify asks nothing; an answer other than 404/200 (500 after the
# retries) is a verification_failed run error and changes no item.
if trust_want trust_failed; then
  CASE=trust_failed
  reset_mock
  new_db e2e_trust_fail
  T=b1000001-0000-4000-8000-000000000006
  sel='{"policy_types":["deviceConfiguration"]}'
  set_items $T $DC 30
  fetch trust-fail1 e2e_trust_fail $T "$sel"
  mutate $T delete "{\"path\":\"$DC\",\"indexes\":[1,2]}"
  mock_post /_mock/reset-stats '{}'
  fetch trust-fail2 e2e_trust_fail $T "$sel" --no-verify
  expect_eq "--no-verify: exit 0, no item GET" "$RC $(item_gets $T)" "0 0"
  expect_eq "--no-verify: the 2 are missing, not deleted" \
    "$(missing_list e2e_trust_fail $T "$sel")" "$(expected_list $T $DC missing:high 1 2)"
  check "--no-verify: no absence line" bash -c "! grep -q 'absence_candidates=' '$WORK/trust-fail2.err'"
  bad=$(item_ids_sql $T $DC 7)
  mutate $T delete "{\"path\":\"$DC\",\"indexes\":[7]}"
  set_faults "[{\"tenant\":\"$T\",\"path\":\"$DC\",\"kind\":\"server_error\",\"times\":-1,\"request\":\"item\"}]"
  mock_post /_mock/reset-stats '{}'
  fetch trust-fail3 e2e_trust_fail $T "$sel"
  run=$(last_run e2e_trust_fail $T)
  expect_eq "the listing itself was not hit" "$(type_row e2e_trust_fail $run deviceConfiguration)" "complete 1 27 -"
  expect_eq "one item asked for, 3 times (500 is retried twice)" \
    "$(mock_get /_mock/stats | jq -c --arg t $T '[.item_gets_by_tenant[$t], .item_get_responses_by_status]')" '[3,{"500":3}]'
  expect_eq "verification_failed is a run error" \
    "$(run_field e2e_trust_fail $run "'verification_failed' = ANY (error_codes) AND had_errors")" t
  expect_eq "the stored error names the item and the status" \
    "$(run_field e2e_trust_fail $run "(SELECT e->>'external_id' = $bad AND (e->>'http_status')::int = 500 FROM jsonb_array_elements(errors) e WHERE e->>'code' = 'verification_failed')")" t
  expect_eq "the item is missing, not deleted" \
    "$(sql e2e_trust_fail "SELECT state FROM inventory.missing_items('$T', '$sel') WHERE external_id = $bad")" missing
  expect_eq "no deleted history row for it" \
    "$(sql e2e_trust_fail "SELECT count(*) FROM inventory.item_history WHERE tenant_id = '$T' AND external_id = $bad AND change = 'deleted'")" 0
  check "the fetcher logged the failed check" grep -q 'verify_errors=1' "$WORK/trust-fail3.err"
  set_faults '[]'
fi

# e. History across runs: a rename, a content change, a deletion (verified
# and not) and a return each leave their row; an unchanged re-sync none.
if trust_want trust_history; then
  CASE=trust_history
  reset_mock
  new_db e2e_trust_hist
  T=b1000001-0000-4000-8000-000000000007
  sel='{"policy_types":["deviceConfiguration"]}'
  hist() { sql e2e_trust_hist "SELECT $1 FROM inventory.item_history WHERE tenant_id = '$T' $2"; }
  set_items $T $DC 20
  fetch trust-hist1 e2e_trust_hist $T "$sel"
  run1=$(last_run e2e_trust_hist $T)
  expect_eq "first sync: 20 new rows" "$(hist "count(*) || ' ' || count(*) FILTER (WHERE change = 'new')" "AND run_id = $run1")" "20 20"
  ren=$(item_id $T $DC 1)
  edi=$(item_id $T $DC 2)
  del=$(item_id $T $DC 3)
  gon=$(item_id $T $DC 4)
  mutate $T rename "{\"path\":\"$DC\",\"indexes\":[1]}"
  mutate $T edit "{\"path\":\"$DC\",\"indexes\":[2]}"
  mutate $T delete "{\"path\":\"$DC\",\"indexes\":[3]}"
  fetch trust-hist2 e2e_trust_hist $T "$sel"
  run2=$(last_run e2e_trust_hist $T)
  expect_eq "rename: changed, old and new name" \
    "$(hist "change || ' ' || (old_display_name || ' (renamed)' = new_display_name) || ' ' || (old_content_hash <> new_content_hash)" "AND run_id = $run2 AND external_id = '$ren'")" "changed true true"
  expect_eq "content change: changed, old and new hash, same name" \
    "$(hist "change || ' ' || (old_display_name = new_display_name) || ' ' || (old_content_hash <> new_content_hash) || ' ' || (new_content_hash ~ '^[0-9a-f]{64}$')" "AND run_id = $run2 AND external_id = '$edi'")" "changed true true true"
  expect_eq "verified deletion: deleted" "$(hist "change" "AND run_id = $run2 AND external_id = '$del'")" deleted
  expect_eq "run 2: these three rows only" "$(hist "count(*)" "AND run_id = $run2")" 3
  mutate $T restore "{\"path\":\"$DC\",\"indexes\":[3]}"
  mutate $T delete "{\"path\":\"$DC\",\"indexes\":[4]}"
  fetch trust-hist3 e2e_trust_hist $T "$sel" --no-verify
  run3=$(last_run e2e_trust_hist $T)
  expect_eq "return: back" "$(hist "change" "AND run_id = $run3 AND external_id = '$del'")" back
  expect_eq "unverified deletion: gone" "$(hist "change" "AND run_id = $run3 AND external_id = '$gon'")" gone
  expect_eq "run 3: these two rows only" "$(hist "count(*)" "AND run_id = $run3")" 2
  expect_eq "the deleted item's history, newest first" \
    "$(hist "string_agg(change, ',' ORDER BY changed_at DESC, change_id DESC)" "AND external_id = '$del'")" "back,deleted,new"
  fetch trust-hist4 e2e_trust_hist $T "$sel"
  run4=$(last_run e2e_trust_hist $T)
  expect_eq "unchanged re-sync: exit 0" "$RC" 0
  expect_eq "unchanged re-sync: no history row" "$(hist "count(*)" "AND run_id = $run4")" 0
fi
