#!/usr/bin/env bash
# `dyconv report` end to end: the shipped checkpoints regenerate the committed report
# (docs/reproduction/report.json, figures *.svg), every figure renders, and bad input is one line.
# Usage: system-tests/cli/report_test.sh PATH/TO/dyconv   (run by `make cli-test` with the release binary)
#
# The report is run from the checkout's root with the same relative paths and --threads 2 as
# when docs/reproduction was generated, because report.json keeps the paths as given and the
# evaluation is bit-for-bit deterministic only for a fixed thread count:
#   cd ROOT && dyconv report assets/dycnn-dynamic.safetensors assets/dycnn-static.safetensors \
#       assets/dycnn-condconv.safetensors assets/dyresnet-dynamic.safetensors \
#       assets/dyresnet-static.safetensors --out docs/reproduction --threads 2
set -u
BIN=${1:-.build/release/dyconv}
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
. "$ROOT/system-tests/cli/expect.sh"   # pass/fail counters, ok, bad, expect_ok, expect_error

CKPTS=(assets/dycnn-dynamic.safetensors assets/dycnn-static.safetensors assets/dycnn-condconv.safetensors
       assets/dyresnet-dynamic.safetensors assets/dyresnet-static.safetensors)
cd "$ROOT"
start=$(date +%s)
"$BIN" report "${CKPTS[@]}" --out "$TMP/report" --threads 2 >"$TMP/stdout" 2>"$TMP/stderr"; rc=$?
echo "     report of ${#CKPTS[@]} checkpoints: $(( $(date +%s) - start )) s"
if [ $rc -eq 0 ] && grep -q "^wrote .* files to $TMP/report" "$TMP/stdout" && ! grep -q "^report:" "$TMP/stdout"; then
  ok "report runs; progress on stderr, summary on stdout"
else bad "report runs" "rc=$rc $(tail -c 300 "$TMP/stderr")"; fi
if grep -q "^report: 2/5 dycnn-static attention τ trained 10000 images" "$TMP/stderr"; then ok "report: one progress line per evaluation"
else bad "report progress lines" "$(head -c 300 "$TMP/stderr")"; fi

# report.json against the committed one. Integers (image and correct counts, parameters,
# multiply-adds, seeds, epochs) and strings must be equal. Floats may differ by 1e-5: with the same
# binary and thread count they are bit-identical, but a different OpenBLAS or compiler may round
# float32 sums differently (~1e-7 relative per image, below 1e-6 in the means over 10,000
# images); accuracies are integer ratios and so are checked exactly through `correct`. A change
# that moves any prediction fails on `correct`; one that moves a mean entropy by 1e-5 is real.
if python3 - "$TMP/report/report.json" "$ROOT/docs/reproduction/report.json" <<'PY'
import json, sys
new, old = (json.load(open(p)) for p in sys.argv[1:3])
TOL = 1e-5
problems = []
def walk(a, b, path):
    if len(problems) > 10: return
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None or isinstance(a, str):
        if a != b: problems.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, int) and isinstance(b, int):
        if a != b: problems.append(f"{path}: {a} != {b}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if abs(a - b) > TOL: problems.append(f"{path}: {a} vs {b} (more than {TOL})")
    elif isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b): problems.append(f"{path}: keys {sorted(set(a) ^ set(b))} differ")
        for k in sorted(set(a) & set(b)): walk(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b): problems.append(f"{path}: {len(a)} items vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)): walk(x, y, f"{path}[{i}]")
    else:
        problems.append(f"{path}: {type(a).__name__} vs {type(b).__name__}")
walk(new, old, "report")
for p in problems: print("     " + p)
sys.exit(1 if problems else 0)
PY
then ok "report.json equals docs/reproduction/report.json (integers exact, floats within 1e-5)"
else bad "report.json differs from docs/reproduction/report.json"; fi

# The figures: byte-identical to the committed ones, the same set, and each renders.
new_svgs=$(cd "$TMP/report" && ls *.svg 2>/dev/null | sort); old_svgs=$(cd docs/reproduction && ls *.svg 2>/dev/null | sort)
if [ "$new_svgs" = "$old_svgs" ]; then ok "the same figure files as docs/reproduction ($(wc -w <<<"$new_svgs"))"
else bad "figure files differ" "new: $new_svgs / committed: $old_svgs"; fi
for f in $new_svgs; do
  if cmp -s "$TMP/report/$f" "docs/reproduction/$f"; then ok "$f equals the committed figure"; else bad "$f differs from docs/reproduction/$f"; fi
  if rsvg-convert -o "$TMP/${f%.svg}.png" "$TMP/report/$f" 2>"$TMP/rsvg.err"; then ok "$f renders (rsvg-convert)"
  else bad "$f does not render" "$(head -c 300 "$TMP/rsvg.err")"; fi
done
for f in report.md report.json; do
  if [ -s "$TMP/report/$f" ]; then ok "$f written"; else bad "$f missing"; fi
done
if ! ls "$TMP/report" | grep -q "\.tmp-"; then ok "no temporary files left"; else bad "temporary files left in --out"; fi

# A small sample: a warning on stderr with the worst-case standard error; --tau 1 1 is one pass
# (5 modes + τ 1 = 6 progress lines); a figure of an earlier report this one does not draw is
# removed, other files stay; "1 figure", not "1 figures".
mkdir -p "$TMP/small"; touch "$TMP/small/ablation.svg" "$TMP/small/mine.txt"
"$BIN" report "${CKPTS[0]}" --out "$TMP/small" --limit 10 --no-snapshots --tau 1 1 --threads 2 >"$TMP/small.out" 2>"$TMP/small.err"; rc=$?
if [ $rc -eq 0 ] && grep -q "^warning: only 10 images evaluated (fewer than 1000): an accuracy's standard error is up to ±15.81 points" "$TMP/small.err" \
   && [ "$(grep -c '^report: ' "$TMP/small.err")" -eq 6 ] && grep -q " SE over 1 checkpoint" "$TMP/small.out"; then
  ok "report --limit 10: warning with the standard error; --tau 1 1 evaluated once"
else bad "report --limit 10" "rc=$rc $(head -c 400 "$TMP/small.err")"; fi
"$BIN" report "${CKPTS[1]}" --out "$TMP/small" --limit 10 --threads 2 >"$TMP/small.out" 2>"$TMP/small.err"; rc=$?
if [ $rc -eq 0 ] && [ ! -e "$TMP/small/ablation.svg" ] && [ ! -e "$TMP/small/entropy-per-layer.svg" ] && [ -e "$TMP/small/mine.txt" ] \
   && grep -q "and 1 figure$" "$TMP/small.out"; then ok "report: stale figures removed from a reused --out, other files kept"
else bad "report: stale figures" "rc=$rc $(ls "$TMP/small") $(cat "$TMP/small.out")"; fi

# Bad input: one line, non-zero exit, nothing written.
touch "$TMP/a-file"
expect_error "report: missing checkpoint" "missing.safetensors" "$BIN" report "$TMP/missing.safetensors" --out "$TMP/r2"
expect_error "report: --out is a file" "is not a directory" "$BIN" report "${CKPTS[0]}" --out "$TMP/a-file"
expect_error "report: --out under a file names the file" "a-file/sub: $TMP/a-file is not a directory" \
  "$BIN" report "${CKPTS[0]}" --out "$TMP/a-file/sub"
expect_error "report: one run given twice" "${CKPTS[1]} and ./${CKPTS[1]} are the same recipe and seed 0" \
  "$BIN" report "${CKPTS[1]}" "./${CKPTS[1]}" --out "$TMP/r6"
expect_error "report: --tau 0" "0.0001 to 100000" "$BIN" report "${CKPTS[0]}" --out "$TMP/r3" --tau 0
expect_error "report: --limit 0" "--limit must be at least 1" "$BIN" report "${CKPTS[0]}" --out "$TMP/r4" --limit 0
expect_error "report: no checkpoint" "Missing expected argument" "$BIN" report --out "$TMP/r5"
if [ ! -e "$TMP/r2" ] && [ ! -e "$TMP/r3" ] && [ ! -e "$TMP/r6" ]; then ok "report: nothing written on bad input"; else bad "report: a folder was made on bad input"; fi

echo "report: $pass passed, $fail failed"
[ $fail -eq 0 ]
