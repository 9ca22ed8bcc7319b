#!/usr/bin/env bash
# Key → redraw latency of dyconv-tui while the background profile recompute runs.
#
#   bash tools/measure_tui_latency.sh [BIN] [WIDTHxHEIGHT] [extra dyconv-tui args…]
#
# Opens BIN (default .build/release/dyconv-tui, the bundled checkpoints) in a tmux pane with
# --timing-log, waits for the first profile pass, then sends 3 rounds of 12 × `-` and 12 × `+`
# at 150 ms (every key changes τ and restarts the recompute of the 1000 profiled images), quits
# and prints median / p95 / max of key → redraw and of the forward pass, render and draw parts
# (milliseconds, from the timing log's columns). Needs tmux and python3.
set -u
cd "$(dirname "$0")/.."
BIN="${1:-.build/release/dyconv-tui}"
SIZE="${2:-120x40}"
shift $(( $# > 2 ? 2 : $# ))
W="${SIZE%x*}"; H="${SIZE#*x}"
LOG="$(mktemp)"; S="dyconv-latency-$$"
trap 'tmux -L "$S" kill-server 2>/dev/null; rm -f "$LOG"' EXIT
rm -f "$LOG"
tmux -L "$S" -f /dev/null new-session -d -s m -x "$W" -y "$H" "$(printf '%q ' "$BIN" --timing-log "$LOG" "$@")"
for _ in $(seq 1 100); do tmux -L "$S" capture-pane -p -t m | grep -q "Image #0" && break; sleep 0.1; done
for _ in $(seq 1 100); do tmux -L "$S" capture-pane -p -t m | grep -Eq "profiling|recomputing" || break; sleep 0.1; done
for _ in 1 2 3; do
  for _ in $(seq 1 12); do tmux -L "$S" send-keys -t m -- "-"; sleep 0.15; done
  for _ in $(seq 1 12); do tmux -L "$S" send-keys -t m -- "+"; sleep 0.15; done
done
sleep 0.5
tmux -L "$S" send-keys -t m q
for _ in $(seq 1 50); do [ -s "$LOG" ] && break; sleep 0.1; done
python3 - "$LOG" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')]
def stats(v):
    v = sorted(v); n = len(v)
    return "n=%d median %.2f p95 %.2f max %.2f" % (n, v[n // 2], v[min(n - 1, int(0.95 * n))], v[-1]) if n else "n=0"
print("key->redraw", stats([r[0] for r in rows]))
print("forward    ", stats([r[1] for r in rows if r[1] > 0]))
print("render     ", stats([r[2] for r in rows]))
print("draw       ", stats([r[3] for r in rows]))
PY
