#!/usr/bin/env bash
# End-to-end test of dyconv-tui: runs the real binary under tmux at 120×40, sends keys,
# captures the pane and asserts on what a user sees.
#
#   bash tests/e2e/tui_e2e.sh [path/to/dyconv-tui]
#
# Without an argument it uses .build/release/dyconv-tui (building it if missing). It opens the
# bundled checkpoints when assets/dycnn-dynamic.safetensors exists, otherwise seeded-random
# dycnn models (--random). Prints "N passed, M failed" and exits non-zero on any failure.
set -u
cd "$(dirname "$0")/../.."

BIN="${1:-.build/release/dyconv-tui}"
if [ ! -x "$BIN" ]; then
  echo "building $BIN ..."
  swift build -c release --product dyconv-tui >/dev/null || { echo "build failed"; exit 1; }
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
command -v tmux >/dev/null || { echo "tmux is required"; exit 1; }

if [ -f assets/dycnn-dynamic.safetensors ]; then
  ARGS=()
  MODE="bundled checkpoints"
else
  ARGS=(--random dycnn --random dycnn-condconv --random dycnn-static)
  MODE="seeded-random models (no bundled checkpoint yet)"
fi
case "$BIN" in */release/*) RELEASE=1 ;; *) RELEASE=0 ;; esac

WORK="$(mktemp -d)"
SOCKET="dyconv-e2e-$$"
T=(tmux -L "$SOCKET" -f /dev/null)
PASSED=0
FAILED=0
cleanup() { "${T[@]}" kill-server 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok   - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       | /' | head -50; }

capture() { "${T[@]}" capture-pane -t e2e -p 2>/dev/null; }

# wait_for REGEX [SECONDS]: poll the pane until it matches.
wait_for() {
  local deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    capture | grep -Eq -- "$1" && return 0
    sleep 0.1
  done
  return 1
}

# wait_gone REGEX [SECONDS]: poll the pane until it no longer matches.
wait_gone() {
  local deadline=$((SECONDS + ${2:-10}))
  while [ $SECONDS -lt $deadline ]; do
    capture | grep -Eq -- "$1" || return 0
    sleep 0.1
  done
  return 1
}

check() {  # check NAME REGEX [SECONDS]
  if wait_for "$2" "${3:-10}"; then pass "$1"; else fail "$1 (expected /$2/)" "$(capture)"; fi
}

keys() { "${T[@]}" send-keys -t e2e "$@"; }

# start: launch the binary in a fresh 120×40 session; after it exits, the shell records the
# exit code and the terminal modes (to check the terminal was restored).
start() {
  "${T[@]}" kill-session -t e2e 2>/dev/null
  rm -f "$WORK/exit" "$WORK/stty"
  local cmd
  cmd="$(printf '%q ' "$BIN" "${ARGS[@]}" "$@")"
  "${T[@]}" new-session -d -s e2e -x 120 -y 40 \
    "export TERM=xterm-256color; $cmd; echo \$? > '$WORK/exit'; stty -a > '$WORK/stty' 2>&1; clear; echo SHELL-BACK; sleep 600"
}

# exited CODE NAME: the program ended with CODE and left the terminal in its normal modes.
exited() {
  local deadline=$((SECONDS + 10))
  while [ ! -s "$WORK/stty" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  local code
  code="$(cat "$WORK/exit" 2>/dev/null)"
  if [ "$code" = "$1" ]; then pass "$2: exit code $code"; else fail "$2: exit code '$code', expected $1" "$(capture)"; fi
  if [ -s "$WORK/stty" ] && grep -Eq '(^| )echo( |$)' "$WORK/stty" && grep -Eq '(^| )icanon( |$)' "$WORK/stty"; then
    pass "$2: terminal restored (echo, icanon)"
  else
    fail "$2: terminal not restored" "$(cat "$WORK/stty" 2>/dev/null)"
  fi
  if wait_for "SHELL-BACK" 5 && ! capture | grep -q "dyconv-tui"; then
    pass "$2: screen handed back to the shell"
  else
    fail "$2: screen not handed back" "$(capture)"
  fi
}

# The text of the first attention row (layer1.0), to compare π across τ values.
attention_row() { capture | grep -E 'layer1\.0(\.conv)? ' | head -1; }
status_line() { capture | tail -1; }

echo "dyconv-tui end-to-end: $BIN with $MODE"

# --- Bad input: one line on stderr before any screen, exit code 1. ---
out="$("$BIN" "$WORK/missing.safetensors" 2>&1 </dev/null)"; code=$?
if [ $code -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -q "missing.safetensors" <<<"$out"; then
  pass "bad checkpoint path: one-line error, exit 1"
else
  fail "bad checkpoint path (exit $code)" "$out"
fi
out="$("$BIN" "${ARGS[@]}" --data "$WORK/no-such-dir" 2>&1 </dev/null)"; code=$?
if [ $code -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && grep -q "no-such-dir" <<<"$out"; then
  pass "bad data path: one-line error, exit 1"
else
  fail "bad data path (exit $code)" "$out"
fi

# --- Main session. ---
start
check "start screen shows image #0" "Image #0 "
check "start screen shows the attention panel" "layer1\.0"
check "status line shows trained τ" "τ [0-9.]+ \(trained\)"
check "forward time shown" "forward [0-9.]+ ms"

ms="$(status_line | grep -Eo 'forward [0-9.]+ ms' | grep -Eo '[0-9.]+' | head -1)"
if [ "$RELEASE" = 1 ]; then
  # Median of several key presses (the first pass warms caches).
  times=()
  for i in 1 2 3 4 5 6 7; do
    keys l; sleep 0.15
    times+=("$(status_line | grep -Eo 'forward [0-9.]+ ms' | grep -Eo '[0-9.]+' | head -1)")
  done
  median="$(printf '%s\n' "${times[@]}" | sort -g | sed -n 4p)"
  if awk -v m="$median" 'BEGIN { exit !(m + 0 < 16) }'; then pass "forward pass ${median} ms (median) < 16 ms"
  else fail "forward pass ${median} ms (median) is not < 16 ms" "${times[*]}"; fi
  keys g
  check "g goes back to the first image" "Image #0 "
else
  echo "skip - forward-time bound (debug binary; forward ${ms} ms)"
fi

keys l
check "l steps to image #1" "Image #1 "
keys Right Right
check "→ → steps to image #3" "Image #3 "
keys h
check "h steps back to image #2" "Image #2 "

before_row="$(attention_row)"
before_status="$(status_line)"
keys - - - - - - - - - -
check "τ shown changes after - ×10" "τ 0\.1[0-9]* \(trained"
after_row="$(attention_row)"
if [ -n "$before_row" ] && [ "$before_row" != "$after_row" ]; then
  pass "π values change with τ"
else
  fail "π values did not change with τ" "before: $before_row
after:  $after_row"
fi
keys 0
check "0 restores the trained τ" "τ [0-9.]+ \(trained\)"
[ "$(attention_row)" = "$before_row" ] && pass "π back to the trained-τ values" || fail "π not restored" "$(attention_row)"

keys m
check "m switches to mode average" "mode average"
keys m m m m
check "m ×4 more cycles back to attention" "mode attention"

keys j j
check "j j selects layer 3" "▶ layer2\.0"
check "simplex follows the selected layer" "Simplex · layer2\.0"

keys /
keys 1 2 Enter
check "/ 12 Enter goes to image #12" "Image #12 "

label_before="$(capture | grep -Eo 'true  [A-Za-z/ -]+[a-z]' | head -1)"
keys c
if wait_gone "Image #12 " 5 && [ "$(capture | grep -Eo 'true  [A-Za-z/ -]+[a-z]' | head -1)" = "$label_before" ]; then
  pass "c jumps to another image of the same class ($label_before)"
else
  fail "c did not jump to an image of the same class" "$(capture)"
fi

keys '?'
check "? shows the help" "dyconv-tui keys"
check "help lists the keys" "next misclassified image"
keys Space
if wait_gone "dyconv-tui keys" 5; then pass "any key closes the help"; else fail "help did not close" "$(capture)"; fi

keys x
check "x finds a misclassified image" "misclassified image #[0-9]+|no misclassified image"

keys Tab
check "Tab switches to the second checkpoint" "\[2/3 Tab\]"
check "the CondConv checkpoint shows Σr" "Σr = "
keys Tab
check "Tab switches to the static network" "static network"
keys Tab
check "Tab wraps to the first checkpoint" "\[1/3 Tab\]"

keys d
check "d opens the dataset view" "Dataset · "
check "dataset evaluation finishes" "accuracy +[0-9.]+% \([0-9]+ / [0-9]+\) +in " 120
check "τ sweep chart appears" "Accuracy and mean entropy against τ"
keys d
check "d closes the dataset view" "Simplex · "

"${T[@]}" resize-window -t e2e -x 70 -y 20
check "a small terminal shows the size needed" "needs at least 80 × 24"
"${T[@]}" resize-window -t e2e -x 120 -y 40
check "resizing back restores the layout" "Simplex · "

keys q
exited 0 "q"

# --- Ctrl-C and SIGTERM restore the terminal too. ---
start
check "second start" "Image #0 "
keys C-c
exited 130 "Ctrl-C"

start --index 5
check "--index 5 opens on image #5" "Image #5 "
pane_pid="$("${T[@]}" list-panes -t e2e -F '#{pane_pid}')"
tui_pid="$(pgrep -P "$pane_pid" | head -1)"
if [ -n "$tui_pid" ]; then kill -TERM "$tui_pid"; fi
exited 143 "SIGTERM"

# --- NO_COLOR: monochrome stays readable. ---
"${T[@]}" kill-session -t e2e 2>/dev/null
"${T[@]}" new-session -d -s e2e -x 120 -y 40 \
  "export TERM=xterm-256color NO_COLOR=1; $(printf '%q ' "$BIN" "${ARGS[@]}"); sleep 600"
check "NO_COLOR renders the image with the density ramp" "[@%#*+=]{3}"
check "NO_COLOR still shows the attention panel" "layer1\.0"
keys q

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
