# libFuzzer targets (fuzz/): the canonical writer against a reference, the
# redactor, the Graph page parser and mapper, Retry-After parsing. Built with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer; each runs for a
# fixed time from the committed seed corpus (plus the project's test
# vectors), writing new inputs to a scratch directory.
# shellcheck shell=bash

FUZZ_TARGETS=(canonical redact graph_page retry_after)

fuzz_build_start() {
  FUZZ_BUILD_PID=
  if ! command -v clang++ >/dev/null; then
    echo "clang++ not found (Debian: clang, libclang-rt-14-dev)" >"$WORK/fuzz-build.log"
    return
  fi
  # The status goes to a file: after a long run bash may no longer hold it.
  ( (cmake -S "$ROOT/fuzz" -B "$FUZZ_BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
    cmake --build "$FUZZ_BUILD_DIR" -j1) >"$WORK/fuzz-build.log" 2>&1
    echo $? >"$WORK/fuzz-build.status") &
  FUZZ_BUILD_PID=$!
  BG_PIDS+=("$FUZZ_BUILD_PID")
}

case_fuzz() {
  local secs=10 t ok=1
  [ "$SIZE" = soak ] && secs=300
  [ -n "${FUZZ_BUILD_PID:-}" ] && wait "$FUZZ_BUILD_PID" 2>/dev/null
  if [ "$(cat "$WORK/fuzz-build.status" 2>/dev/null)" != 0 ]; then
    fail "building the fuzz targets" "$(tail -n 5 "$WORK/fuzz-build.log" | tr '\n' ' ')"
    record "libFuzzer targets" 0 "NOT BUILT (clang with libFuzzer needed)" "-"
    return
  fi
  for t in "${FUZZ_TARGETS[@]}"; do
    local scratch=$WORK/fuzz-corpus-$t extra=() log=$WORK/fuzz-$t.log
    mkdir -p "$scratch"
    [ $t = canonical ] && extra=("$ROOT/test/vectors/jcs/input")
    [ $t = graph_page ] && extra=("$ROOT/test/vectors/graph")
    "$FUZZ_BUILD_DIR/fuzz_$t" "$scratch" "$ROOT/fuzz/corpus/$t" "${extra[@]}" -max_total_time=$secs -timeout=10 \
      -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 -artifact_prefix="$WORK/fuzz-$t-" >"$log" 2>&1
    local rc=$? runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    if [ $rc = 0 ]; then
      pass "fuzz_$t"
      record "fuzz: $(fuzz_title $t)" "${runs:-?} inputs (${secs} s)" "no crash, no violation" 0
    else
      ok=0
      fail "fuzz_$t found a failing input" "$(grep -m3 -E 'MISMATCH|VIOLATION|ERROR|runtime error|got:|want:' "$log" | tr '\n' ' ')"
      record "fuzz: $(fuzz_title $t)" "${runs:-?} inputs" "FAILED (artifact in the work directory)" "-"
    fi
  done
}

fuzz_title() {
  case $1 in
    canonical) echo "canonical writer vs reference (idempotent, order-invariant), number parsing" ;;
    redact) echo "redactor (no crash, no secret shape left, planted secrets masked)" ;;
    graph_page) echo "Graph page parser and mapper, error bodies, nextLink check" ;;
    retry_after) echo "Retry-After parsing, retry decisions, tenant pause" ;;
  esac
}
