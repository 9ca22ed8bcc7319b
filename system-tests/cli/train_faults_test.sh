#!/usr/bin/env bash
# Training faults of issue #8, end to end on the real binary: out-of-range options of `train`
# and `bench --train*`, the memory refusal, SIGINT/SIGTERM, stale temporaries, a kill between
# the state and the checkpoint, unwritable targets, --resume with other flags, divergence.
#
# Usage: system-tests/cli/train_faults_test.sh path/to/dyconv
# Oracles: "one stderr line + exit 1..127" for every bad input (no trap, no Foundation text);
# for the interrupted and killed runs, an uninterrupted run with the same seed (byte-identical
# checkpoint). Uses a 64-image synthetic IDX dataset, so it runs in seconds.
set -u
BIN=${1:?usage: $0 path/to/dyconv}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dyconv-train-faults.XXXXXX")
holder=""   # a background training run the lock cases start; never outlives the script
trap 'kill -KILL $holder 2>/dev/null; rm -rf "$WORK"' EXIT
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/system-tests/cli/catalogue.sh"
cd "$WORK" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# --- A tiny Fashion-MNIST-shaped dataset (IDX, 28×28): 64 training and 16 test images. ---
mkdir -p data
idx() {   # idx PREFIX COUNT
    local prefix=$1 n=$2 i
    { printf '\x00\x00\x08\x03'; printf "\\x$(printf %02x $((n >> 24 & 255)))\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))"
      printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((n * 784)) /dev/urandom; } > "data/$prefix-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01'; printf "\\x$(printf %02x $((n >> 24 & 255)))\\x$(printf %02x $((n >> 16 & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x$(printf %02x $((n & 255)))"
      for ((i = 0; i < n; i++)); do printf "\\x0$((i % 10))"; done; } > "data/$prefix-labels-idx1-ubyte"
}
idx train 64
idx t10k 16
TINY=(--data data --widths 4 4 8 --batch 16 --seed 3)
export DYCONV_MEMORY_LIMIT_MB=2000

# expect_error NAME PATTERN CMD...: exit 1..127, exactly one stderr line matching PATTERN,
# no trap or Foundation text.
expect_error() {
    local name=$1 pattern=$2; shift 2
    "$@" > out.txt 2> err.txt
    local rc=$? lines
    lines=$(wc -l < err.txt)
    catalogue_row "$name" $rc err.txt "$@"
    if [ $rc -ge 1 ] && [ $rc -le 127 ] && [ "$lines" -eq 1 ] && grep -Eq -- "$pattern" err.txt \
        && ! grep -Eq 'Fatal error|Error Domain|Backtracing' err.txt; then ok
    else bad "$name: rc=$rc, $lines stderr lines: $(head -c 300 err.txt)"; fi
}

# --- Item 3: every option of `dyconv train` out of range → one line, exit 1..127. ---
OUT=(--out m.safetensors)
expect_error "train --epochs 0" "epochs" "$BIN" train "${TINY[@]}" "${OUT[@]}" --epochs 0
expect_error "train --epochs huge" "epochs" "$BIN" train "${TINY[@]}" "${OUT[@]}" --epochs 100001
expect_error "train --epochs overflow" "epochs" "$BIN" train "${TINY[@]}" "${OUT[@]}" --epochs 99999999999999999999
expect_error "train --widths 0" "widths" "$BIN" train --data data "${OUT[@]}" --widths 0 4 8
expect_error "train --widths two" "widths" "$BIN" train --data data "${OUT[@]}" --widths 4 4
expect_error "train --widths huge" "widths" "$BIN" train --data data "${OUT[@]}" --widths 4 4 5000
expect_error "train --kernels 0" "kernels" "$BIN" train "${TINY[@]}" "${OUT[@]}" --kernels 0
expect_error "train --kernels 65" "kernels" "$BIN" train "${TINY[@]}" "${OUT[@]}" --kernels 65
expect_error "train --blocks 0" "blocks must be in 1...16" "$BIN" train "${TINY[@]}" "${OUT[@]}" --model dyresnet --blocks 0
expect_error "train --blocks 17" "blocks must be in 1...16" "$BIN" train "${TINY[@]}" "${OUT[@]}" --model dyresnet --blocks 17
expect_error "train dycnn --blocks 2" "--blocks shapes the dyresnet models only; dycnn has a fixed depth" \
    "$BIN" train "${TINY[@]}" "${OUT[@]}" --model dycnn --blocks 2
expect_error "train --batch 1" "batch" "$BIN" train --data data "${OUT[@]}" --batch 1
expect_error "train --batch 0" "batch" "$BIN" train --data data "${OUT[@]}" --batch 0
expect_error "train --batch huge" "batch" "$BIN" train --data data "${OUT[@]}" --batch 65537
expect_error "train --lr 0" "learning rate" "$BIN" train "${TINY[@]}" "${OUT[@]}" --lr 0
expect_error "train --lr nan" "learning rate" "$BIN" train "${TINY[@]}" "${OUT[@]}" --lr nan
expect_error "train --lr inf" "learning rate" "$BIN" train "${TINY[@]}" "${OUT[@]}" --lr inf
expect_error "train --momentum 1" "momentum" "$BIN" train "${TINY[@]}" "${OUT[@]}" --momentum 1
expect_error "train --weight-decay nan" "weight decay" "$BIN" train "${TINY[@]}" "${OUT[@]}" --weight-decay nan
expect_error "train --attention-lr inf" "multiplier" "$BIN" train "${TINY[@]}" "${OUT[@]}" --attention-lr inf
expect_error "train --attention-init" "attention-init" "$BIN" train "${TINY[@]}" "${OUT[@]}" --attention-init xavier
expect_error "train --schedule" "schedule" "$BIN" train "${TINY[@]}" "${OUT[@]}" --schedule step
expect_error "train --warmup = epochs" "warm-up" "$BIN" train "${TINY[@]}" "${OUT[@]}" --epochs 2 --warmup 2
expect_error "train --tau-start 0" "τ must be" "$BIN" train "${TINY[@]}" "${OUT[@]}" --tau-start 0
expect_error "train --tau-start 1e-39" "τ must be" "$BIN" train "${TINY[@]}" "${OUT[@]}" --tau-start 1e-39
expect_error "train --tau-end 1e6" "τ must be" "$BIN" train "${TINY[@]}" "${OUT[@]}" --tau-end 1e6
expect_error "train --tau-epochs inf" "temperature epochs" "$BIN" train "${TINY[@]}" "${OUT[@]}" --tau-epochs inf
expect_error "train --shift 9" "shift" "$BIN" train "${TINY[@]}" "${OUT[@]}" --shift 9
expect_error "train --seed overflow" "seed" "$BIN" train "${TINY[@]}" "${OUT[@]}" --seed 18446744073709551616
expect_error "train --threads 0" "threads" "$BIN" train "${TINY[@]}" "${OUT[@]}" --threads 0
expect_error "train --threads 65" "threads" "$BIN" train "${TINY[@]}" "${OUT[@]}" --threads 65
expect_error "train --limit-train 1" "limit-train" "$BIN" train "${TINY[@]}" "${OUT[@]}" --limit-train 1
expect_error "train --model" "unknown model" "$BIN" train "${TINY[@]}" "${OUT[@]}" --model nosuch
expect_error "train --data missing" "nosuch" "$BIN" train "${OUT[@]}" --data nosuch
expect_error "train --out empty" "out" "$BIN" train "${TINY[@]}" --out ""
expect_error "train --out missing folder" "does not exist" "$BIN" train "${TINY[@]}" --out nosuch/m.safetensors
mkdir -p afolder
expect_error "train --out folder" "it is a folder" "$BIN" train "${TINY[@]}" --out afolder

# --- Item 7: sizes inside the ranges that need too much memory are refused with the figure. ---
# The issue's case (a 38.65 GB abort) is now refused by the engine's tensor-size limit (a weight
# of 9.7e9 elements); widths 192 pass it and inference fits, so the trainer's estimate speaks.
expect_error "train 4096/K=64" "^dyconv: error: model 'dycnn' is invalid: conv 'layer1.0.conv' weight \[64, 4096, 4096, 3, 3\] has 9663676416 elements, more than the limit" \
    "$BIN" train --data data "${OUT[@]}" --widths 4096 4096 4096 --kernels 64
expect_error "train 192/K=64" "^dyconv: error: training dycnn 192/192/192 K=64 at batch 128 needs about [0-9.]+ [kMGTPE]B; the limit is" \
    "$BIN" train --data data "${OUT[@]}" --widths 192 192 192 --kernels 64
expect_error "train batch 65536 wide" "needs about" "$BIN" train --data data "${OUT[@]}" --widths 1024 1024 1024 --batch 65536

# --- `dyconv bench --train*` (checked before any data is read). ---
BENCH=("$BIN" bench --train --no-forward --no-peak --train-widths 4,4,8)
expect_error "bench --train-batch 0 (was SIGFPE)" "batch size" "${BENCH[@]}" --train-batch 0
expect_error "bench --train-batch 1" "batch size" "${BENCH[@]}" --train-batch 1
expect_error "bench --train-batch huge" "batch size" "${BENCH[@]}" --train-batch 100000000
expect_error "bench --train-steps 0" "timed steps" "${BENCH[@]}" --train-steps 0
expect_error "bench --train-steps huge" "timed steps" "${BENCH[@]}" --train-steps 9223372036854775807
expect_error "bench --train-widths two" "train-widths" "$BIN" bench --train --no-forward --no-peak --train-widths 4,4
expect_error "bench --train-widths junk" "train-widths" "$BIN" bench --train --no-forward --no-peak --train-widths 4,x,8,16
expect_error "bench --train-widths 0" "widths" "$BIN" bench --train --no-forward --no-peak --train-widths 0,4,8
expect_error "bench --train-widths 4096" "needs about" "$BIN" bench --train --no-forward --no-peak --train-widths 4096,4096,4096

# --- An unwritable --out or --snapshots is found before training. ---
if [ "$(id -u)" = 0 ]; then locked=/proc/self; else mkdir -p locked && chmod 555 locked && locked=$WORK/locked; fi
expect_error "unwritable --out" "^dyconv: error: cannot write checkpoint $locked/m.safetensors: " \
    "$BIN" train "${TINY[@]}" --epochs 1 --out "$locked/m.safetensors"
grep -q "epoch" out.txt && bad "unwritable --out trained before failing" || ok
expect_error "unwritable --snapshots" "^dyconv: error: cannot (create snapshot folder|write snapshots into) $locked/snaps" \
    "$BIN" train "${TINY[@]}" --epochs 1 --out m.safetensors --snapshots "$locked/snaps"

# --- Divergence stops at the first non-finite loss. ---
expect_error "--lr 1e30" "training diverged at epoch 1 step [0-9]+: .*lower learning rate" \
    "$BIN" train "${TINY[@]}" --epochs 3 --out div.safetensors --lr 1e30
grep -q "epoch   1/" out.txt && bad "--lr 1e30 trained a whole epoch" || ok

# --- The reference: an uninterrupted 2-epoch run. ---
"$BIN" train "${TINY[@]}" --epochs 2 --out straight.safetensors --snapshots straight-snaps > /dev/null 2>&1 \
    && ok || bad "the reference run failed"

# --- A kill between the state and the checkpoint: --resume rewrites the checkpoint. ---
# (In a subshell, so that bash does not report the kill.)
{ (DYCONV_TEST_KILL_AFTER_STATE=1 exec "$BIN" train "${TINY[@]}" --epochs 2 --out k.safetensors --snapshots k-snaps \
    > /dev/null 2>&1); rc=$?; } 2> /dev/null
{ [ $rc -eq 137 ] && [ -f k.safetensors.state ] && [ ! -f k.safetensors ]; } && ok \
    || bad "kill after the state: rc=$rc, files: $(ls)"
"$BIN" train "${TINY[@]}" --epochs 2 --out k.safetensors --snapshots k-snaps --resume > out.txt 2> err.txt
rc=$?
{ [ $rc -eq 0 ] && grep -q "^rewrote k.safetensors" out.txt; } && ok || bad "resume after the kill: rc=$rc $(cat err.txt)"
cmp -s k.safetensors straight.safetensors && ok || bad "the recovered run's checkpoint differs from the straight run's"
cmp -s k-snaps/epoch-001.safetensors straight-snaps/epoch-001.safetensors && ok || bad "snapshot 1 not recovered"

# --- --resume of a state dyconv cannot continue: one line, exit 1. ---
{ printf 'DYCONVTS\x02\x00\x00\x00\x00\x00\x00\x00{}'; head -c 64 /dev/zero; } > old.safetensors.state
expect_error "--resume an older DYCONVTS state" "^dyconv: error: old.safetensors.state: a training state from an older dyconv \(DYCONVTS\); start the run again$" \
    "$BIN" train "${TINY[@]}" --epochs 2 --out old.safetensors --resume
"$BIN" train "${TINY[@]}" --epochs 2 --out old.safetensors --resume > /dev/null 2>&1
[ $? -eq 1 ] && ok || bad "an older state must exit 1"
cp straight.safetensors swapped.safetensors.state
expect_error "--resume a checkpoint as the state" "swapped.safetensors.state: this is a dyconv checkpoint, not a training state" \
    "$BIN" train "${TINY[@]}" --epochs 2 --out swapped.safetensors --resume
head -c 1000 straight.safetensors.state > cut.safetensors.state
expect_error "--resume a truncated state" "cut.safetensors.state: training state is truncated or corrupt" \
    "$BIN" train "${TINY[@]}" --epochs 2 --out cut.safetensors --resume

# --- --resume of a finished run, with conflicting flags, with more epochs. ---
"$BIN" train "${TINY[@]}" --epochs 2 --out straight.safetensors --resume > out.txt 2> err.txt
rc=$?
{ [ $rc -eq 0 ] && grep -q "already trained 2/2 epochs" out.txt; } && ok || bad "finished run: rc=$rc $(cat out.txt err.txt)"
expect_error "--resume --widths" "--widths 8 8 8 \(saved: 4 4 8\), --blocks 2 \(saved: 3\), --kernels 2 \(saved: 4\) differ from the saved run" \
    "$BIN" train --data data --out straight.safetensors --resume --widths 8 8 8 --blocks 2 --kernels 2
expect_error "--resume --epochs fewer" "already trained 2 epochs" "$BIN" train --data data --out straight.safetensors --resume --epochs 1
"$BIN" train --data data --out straight.safetensors --resume --epochs 3 > out.txt 2> err.txt
rc=$?
{ [ $rc -eq 0 ] && grep -q "epoch   3/3" out.txt; } && ok || bad "--resume --epochs 3: rc=$rc $(cat err.txt)"

# --- dyresnet: --blocks reaches the model (6·blocks dynamic layers) and the state. ---
"$BIN" train "${TINY[@]}" --model dyresnet --blocks 1 --kernels 2 --epochs 1 --out r.safetensors > out.txt 2> err.txt
rc=$?
{ [ $rc -eq 0 ] && grep -q "^training dyresnet widths \[4, 4, 8\] blocks 1 K=2" out.txt \
    && "$BIN" describe r.safetensors | grep -q "dynamic layers: 6"; } && ok || bad "train dyresnet --blocks 1: rc=$rc $(cat out.txt err.txt)"
expect_error "--resume dyresnet --blocks" "--blocks 2 \(saved: 1\) differ from the saved run" \
    "$BIN" train --data data --out r.safetensors --resume --blocks 2

# --- SIGINT and SIGTERM: save, one line with the resume command, exit 128 + signal. ---
interrupt() {   # interrupt SIGNAL EXPECTED_RC OUT
    local sig=$1 want=$2 out=$3 pid i
    # Emptied here, before the fork: the child's own redirection may come after the first grep,
    # which would then read an earlier command's "epoch   1/" and signal a child not yet exec'd
    # (one that still runs this script's EXIT trap).
    : > out.txt
    "$BIN" train "${TINY[@]}" --epochs 50 --out "$out" > out.txt 2> err.txt &
    pid=$!
    for ((i = 0; i < 600; i++)); do grep -q "epoch   1/" out.txt 2>/dev/null && break; sleep 0.1; done
    kill -"$sig" $pid
    wait $pid
    local rc=$?
    local line
    line=$(grep -c . err.txt)
    if [ $rc -eq "$want" ] && [ "$line" -eq 1 ] \
        && grep -Eq "^dyconv: interrupted at epoch [0-9]+ step [0-9]+; resume with: dyconv train .* --resume$" err.txt \
        && [ -f "$out.state" ] && [ -z "$(ls | grep '\.tmp-')" ]; then ok
    else bad "$sig: rc=$rc (want $want), stderr: $(cat err.txt), files: $(ls)"; fi
}
interrupt INT 130 int.safetensors
# The printed command resumes the run; --epochs E (the epoch it was interrupted in) is
# appended to keep it short. The kill lands after a machine-dependent number of epochs, so
# the length is taken from the message, never assumed.
cmd=$(sed -n 's/^dyconv: interrupted at .*; resume with: dyconv //p' err.txt)
stopped=$(sed -n 's/^dyconv: interrupted at epoch \([0-9]*\) .*/\1/p' err.txt)
eval "\"\$BIN\" $cmd --epochs ${stopped:-2}" > out.txt 2> err.txt
rc=$?
{ [ $rc -eq 0 ] && grep -Eq "^(resuming dycnn at epoch|already trained)" out.txt; } && ok \
    || bad "the printed resume command failed: rc=$rc $(cat err.txt)"
interrupt TERM 143 term.safetensors

# --- Two trainers into one checkpoint: the second stops with one line naming the first, before
# it reads anything; the lock file goes with a SIGTERM, and a SIGKILL's leftover blocks nothing.
# The holders are given 100000 epochs so that none can finish before it is signalled. Each writes
# its own output files, so a wait never reads an earlier process's lines (see interrupt() above).
start_holder() {   # start_holder TAG ARGS...: a background run; waits for its "training" line
    local tag=$1 i; shift
    "$BIN" train "${TINY[@]}" --epochs 100000 --out locked.safetensors "$@" > "$tag-out.txt" 2> "$tag-err.txt" &
    holder=$!
    for ((i = 0; i < 600; i++)); do grep -q "^training" "$tag-out.txt" 2>/dev/null && return 0; sleep 0.1; done
    bad "$tag: no 'training' line in 60 s: $(cat "$tag-err.txt")"
}
start_holder lock1
expect_error "train into a checkpoint another train is writing" \
    "another dyconv train \(pid $holder\) is writing locked.safetensors; wait for it to finish, or stop it with kill -TERM $holder" \
    "$BIN" train "${TINY[@]}" --epochs 50 --out locked.safetensors
expect_error "train --resume into a checkpoint another train is writing" "another dyconv train \(pid $holder\)" \
    "$BIN" train "${TINY[@]}" --epochs 50 --out locked.safetensors --resume
kill -TERM $holder
wait $holder
rc=$?
{ [ $rc -eq 143 ] && [ ! -e locked.safetensors.lock ]; } && ok || bad "SIGTERM of a locked run: rc=$rc, files: $(ls locked*)"
start_holder lock2 --resume
kill -KILL $holder
wait $holder 2>/dev/null
[ -e locked.safetensors.lock ] && ok || bad "SIGKILL: no lock file left (the test expects the leftover case)"
start_holder lock3 --resume
kill -TERM $holder
wait $holder
rc=$?
holder=""
{ [ $rc -eq 143 ] && grep -q "^resuming" lock3-out.txt && [ ! -e locked.safetensors.lock ]; } && ok \
    || bad "resume after a SIGKILL's leftover lock: rc=$rc $(cat lock3-out.txt lock3-err.txt)"
# A file at the lock's path that is not a lock file is refused and kept (--out Cargo must not eat Cargo.lock).
printf 'version = 3\n' > Cargo.lock
expect_error "train --out X where X.lock is not a lock file" "Cargo.lock: it holds something else, not a lock file" \
    "$BIN" train "${TINY[@]}" --epochs 1 --out Cargo
[ "$(cat Cargo.lock)" = "version = 3" ] && ok || bad "Cargo.lock was changed: $(cat Cargo.lock)"
rm -f Cargo.lock

# --- Temporaries of a killed writer are removed by the next run (ours only). ---
true & dead=$!
wait $dead
mkdir -p tsnaps
touch "t.safetensors.tmp-$dead" "t.safetensors.state.tmp-$dead" "tsnaps/epoch-001.safetensors.tmp-$dead" \
      "t.safetensors.tmp-$$" "other.tmp-$dead"
"$BIN" train "${TINY[@]}" --epochs 1 --out t.safetensors --snapshots tsnaps > /dev/null 2>&1
{ [ ! -e "t.safetensors.tmp-$dead" ] && [ ! -e "t.safetensors.state.tmp-$dead" ] \
    && [ ! -e "tsnaps/epoch-001.safetensors.tmp-$dead" ] && [ -e "t.safetensors.tmp-$$" ] && [ -e "other.tmp-$dead" ]; } \
    && ok || bad "stale temporaries: $(ls; ls tsnaps)"

# Every run above ended by finishing, an error, "already trained" or a signal it handled: none
# leaves its lock file (the one SIGKILL case was resumed and stopped cleanly).
[ -z "$(find . -name '*.lock')" ] && ok || bad "lock files left: $(find . -name '*.lock')"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
