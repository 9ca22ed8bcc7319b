#!/usr/bin/env bash
# make fuzz FUZZ_SECONDS=N: build the libFuzzer targets, run each for N seconds (default 300),
# print executions, exec/s, peak RSS and findings per target; exit 1 on any finding.
#   FUZZ_TARGETS="checkpoint idx torch image cifar"  which targets to run
#   FUZZ_ARGS="..."                extra libFuzzer flags (e.g. -seed=1)
#   FUZZ_NO_BUILD=1                skip the build (runs of several targets in parallel)
# New inputs go to .build-fuzz/corpus/<target> (seeded from Fuzz/corpus/<target>), crash inputs
# to .build-fuzz/artifacts/<target>/; a finding is kept by copying it to Fuzz/regressions/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-300}}
TARGETS=${FUZZ_TARGETS:-checkpoint idx torch image cifar}
OUT=.build-fuzz
[ -n "${FUZZ_NO_BUILD:-}" ] || bash Fuzz/build.sh || exit 2

# The Swift backtracer would take the signal before libFuzzer writes the crash input.
export SWIFT_BACKTRACE=enable=no
# Leak checking is off: lazily built statics (the seed models) read as leaks at exit.
# A short allocation stack halves ASan's cost per malloc; reproduce a finding with the full one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:malloc_context_size=4}
status=0
summary=()
for t in $TARGETS; do
  mkdir -p "$OUT/corpus/$t" "$OUT/artifacts/$t"
  dict=(); [ -f "Fuzz/$t/$t.dict" ] && dict=(-dict="Fuzz/$t/$t.dict")
  log="$OUT/fuzz-$t.log"
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s (log: $log)"
  marker="$OUT/artifacts/.start-$t"; touch "$marker"
  nice -n 10 "$OUT/fuzz-$t" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -timeout=10 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t/" "${dict[@]}" ${FUZZ_ARGS:-} \
    "$OUT/corpus/$t" "Fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  new_inputs=$(find "$OUT/artifacts/$t" -type f -newer "$marker")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  findings=$(printf '%s' "$new_inputs" | grep -c . || true)
  [ "$rc" != 0 ] && [ "$findings" = 0 ] && findings="1 (exit $rc, see log)"
  line=$(printf '%-11s %12s executions %8s exec/s  peak RSS %6s MB  findings: %s' \
         "$t" "${runs:-?}" "${rate:-?}" "${rss:-?}" "$findings")
  summary+=("$line")
  if [ "$rc" != 0 ] || [ -n "$new_inputs" ]; then
    status=1
    grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" | sed 's/^/    /'
    printf '%s\n' "$new_inputs" | grep . | sed 's#^#    input: #'
  fi
done
echo
echo "fuzz summary (${SECONDS_PER_TARGET}s per target)"
printf '%s\n' "${summary[@]}"
exit $status
