#!/usr/bin/env bash
# End-to-end checks of the `dyconv` CLI: what a user sees, and one-line errors on bad input.
# Usage: tests/cli/cli_test.sh PATH/TO/dyconv
set -u
BIN=${1:-.build/release/dyconv}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIXTURE="$ROOT/Tests/DyConvEngineTests/Fixtures/dycnn_softmax.safetensors"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }

# expect_ok NAME PATTERN CMD...: exit 0 and stdout contains PATTERN.
expect_ok() {
  local name=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>"$TMP/err"); local rc=$?
  if [ $rc -eq 0 ] && grep -q -- "$pattern" <<<"$out"; then ok "$name"; else bad "$name" "rc=$rc $(head -c 300 "$TMP/err") $(head -c 300 <<<"$out")"; fi
}
# expect_error NAME PATTERN CMD...: non-zero exit, exactly one line on stderr, matching PATTERN, no crash.
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" >/dev/null 2>"$TMP/err"; local rc=$?
  local lines; lines=$(wc -l <"$TMP/err")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -q -- "$pattern" "$TMP/err"; then ok "$name"
  else bad "$name" "rc=$rc lines=$lines: $(head -c 300 "$TMP/err")"; fi
}

expect_ok "help" "inspect" "$BIN" --help
for c in inspect eval bench describe train; do expect_ok "help $c" "USAGE" "$BIN" $c --help; done
expect_ok "describe dycnn" "dynamic layers: 6" "$BIN" describe dycnn
expect_ok "describe --json round-trips" '"family":"dycnn"' "$BIN" describe dycnn --json
expect_ok "inspect two images" "layer3.1.conv" "$BIN" inspect "$FIXTURE" --sample --index 0 3
expect_ok "inspect shows label and prediction" "label Ankle boot" "$BIN" inspect "$FIXTURE" --sample --index 0

# The trace as JSON: π on the simplex, and τ = 30 flatter than τ = 0.2.
"$BIN" inspect "$FIXTURE" --sample --index 1 2 --json --tau 30 >"$TMP/t30.json" 2>/dev/null
"$BIN" inspect "$FIXTURE" --sample --index 1 2 --json --tau 0.2 >"$TMP/t02.json" 2>/dev/null
if python3 - "$TMP/t30.json" "$TMP/t02.json" <<'PY'
import json, sys
hot, cold = (json.load(open(p)) for p in sys.argv[1:3])
for img in hot["images"] + cold["images"]:
    for l in img["layers"]:
        assert abs(sum(l["attention"]) - 1) < 1e-5 and min(l["attention"]) >= 0, l
        assert abs(sum(img["probabilities"]) - 1) < 1e-4
mean = lambda d: sum(l["entropy"] for i in d["images"] for l in i["layers"]) / sum(len(i["layers"]) for i in d["images"])
assert mean(hot) > mean(cold), (mean(hot), mean(cold))
assert mean(hot) > 0.99, mean(hot)
PY
then ok "inspect --json: π on the simplex, τ=30 flatter than τ=0.2"; else bad "inspect --json checks"; fi

"$BIN" eval "$FIXTURE" --sample --limit 100 --tau 1 30 --mode attention average max --json >"$TMP/eval.json" 2>"$TMP/err"
if python3 - "$TMP/eval.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = d["results"]
assert len(rows) == 6, len(rows)
assert all(r["images"] == 100 and 0 <= r["accuracy"] <= 1 for r in rows)
assert all(len(r["layers"]) == 6 for r in rows)
PY
then ok "eval --json: every τ × mode row"; else bad "eval --json" "$(head -c 300 "$TMP/err")"; fi
expect_ok "inspect --layer-tau" "layer3.1.conv     0.1" "$BIN" inspect "$FIXTURE" --sample --layer-tau layer3.1.conv=0.1
expect_error "unknown --layer-tau layer" "no dynamic layer 'bogus'" "$BIN" inspect "$FIXTURE" --sample --layer-tau bogus=0.1
expect_ok "eval text" "accuracy" "$BIN" eval "$FIXTURE" --sample --limit 50
expect_ok "bench" "images/s" "$BIN" bench --model dycnn --batch 1 2 --runs 3 --no-peak

# Bad input: one line on stderr, non-zero exit, never a crash.
expect_error "missing checkpoint" "no such file" "$BIN" inspect "$TMP/nope.safetensors"
head -c 4000 /dev/urandom >"$TMP/garbage.safetensors"
expect_error "garbage checkpoint" "garbage.safetensors" "$BIN" inspect "$TMP/garbage.safetensors"
head -c 3000 "$FIXTURE" >"$TMP/truncated.safetensors"
expect_error "truncated checkpoint" "truncated.safetensors" "$BIN" eval "$TMP/truncated.safetensors" --sample
expect_error "unknown flag" "bogus" "$BIN" inspect "$FIXTURE" --bogus
expect_error "index out of range" "index 5000" "$BIN" inspect "$FIXTURE" --sample --index 5000
expect_error "negative τ" "tau" "$BIN" inspect "$FIXTURE" --sample --tau -1
expect_error "unknown mode" "mode" "$BIN" eval "$FIXTURE" --sample --mode bogus
expect_error "unknown family" "unknown model family" "$BIN" bench --model nope
expect_error "bad data dir" "$TMP/empty" "$BIN" eval "$FIXTURE" --data "$TMP/empty"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
