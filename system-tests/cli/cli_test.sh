#!/usr/bin/env bash
# End-to-end checks of the `dyconv` CLI: what a user sees, and one-line errors on bad input.
# Usage: system-tests/cli/cli_test.sh PATH/TO/dyconv
set -u
BIN=${1:-.build/release/dyconv}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FIXTURE="$ROOT/Tests/DyConvEngineTests/Fixtures/dycnn_softmax.safetensors"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
. "$ROOT/system-tests/cli/expect.sh"   # pass/fail counters, ok, bad, expect_ok, expect_error

expect_ok "help" "inspect" "$BIN" --help
for c in inspect eval bench describe train compact-snapshots import report; do expect_ok "help $c" "USAGE" "$BIN" $c --help; done
# The shipped snapshots are already in the form compact-snapshots writes (F16, kept epochs, the
# history in the records): a second pass gives the same files, byte for byte.
expect_ok "compact-snapshots keeps the shipped 11" "kept 11 of 11 snapshots" \
    "$BIN" compact-snapshots "$ROOT/assets/dycnn-dynamic-snapshots" --out "$TMP/compact"
if diff -r "$ROOT/assets/dycnn-dynamic-snapshots" "$TMP/compact" >/dev/null; then ok "compact-snapshots is idempotent"
else bad "compact-snapshots is idempotent"; fi
expect_ok "describe dycnn" "dynamic layers: 6" "$BIN" describe dycnn
expect_ok "describe dyresnet" "parameters: 272202, multiply-adds per image: 8053392" "$BIN" describe dyresnet
expect_ok "describe dyresnet: 18 dynamic layers" "dynamic layers: 18" "$BIN" describe dyresnet
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
mean = lambda d: sum(l["normalizedEntropy"] for i in d["images"] for l in i["layers"]) / sum(len(i["layers"]) for i in d["images"])
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
# Issue #12: the per-layer H/lnK box (ordered, in [0, 1]) and mean π per class (10 classes of K).
for r in rows:
    for l in r["layers"]:
        b = l["entropyBox"]
        assert sorted(b) == ["median", "p5", "p95", "q1", "q3"], b
        assert 0 <= b["p5"] <= b["q1"] <= b["median"] <= b["q3"] <= b["p95"] <= 1, b
        assert len(l["meanAttentionByClass"]) == 10 and all(len(c) in (0, len(l["meanAttention"])) for c in l["meanAttentionByClass"])
PY
then ok "eval --json: every τ × mode row, with entropyBox and meanAttentionByClass"; else bad "eval --json" "$(head -c 300 "$TMP/err")"; fi
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
expect_error "DYCONV_THREADS=zero" "DYCONV_THREADS=zero: must be an integer from 1 to 64" env DYCONV_THREADS=zero "$BIN" eval "$FIXTURE" --sample
env DYCONV_SLICE=0 "$BIN" describe dycnn >/dev/null 2>&1; rc=$?
[ $rc -eq 64 ] && ok "a bad DYCONV_* value exits 64" || bad "a bad DYCONV_* value exits 64" "rc=$rc"


# ---------------------------------------------------------------------------------------------
# Issue #8: no crash on any input. Crafted checkpoints are rewrites of the fixture's safetensors
# header (python3 standard library only); the oracle of every error case is "one stderr line,
# exit 1 or 64, never a signal" (expect_error), of every output case "exit 0 and the stated text".
CRAFT="$TMP/craft.py"
cat >"$CRAFT" <<'EOF'
import json, struct, sys
def load(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); meta = h.pop('__metadata__'); data = b[8 + n:]
    return meta, {k: (v['dtype'], v['shape'], data[v['data_offsets'][0]:v['data_offsets'][1]]) for k, v in h.items()}
def save(path, meta, tensors):
    header, blob = {'__metadata__': meta}, b''
    for k, (dt, shape, raw) in tensors.items():
        header[k] = {'dtype': dt, 'shape': shape, 'data_offsets': [len(blob), len(blob) + len(raw)]}
        blob += raw
    hb = json.dumps(header).encode(); hb += b' ' * (-len(hb) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(hb)) + hb + blob)
def headless_vector(a, t): a['classes'] = []                      # fc stays: output [10], no names
def headless_image(a, t):                                          # ends in an image [32, 7, 7]
    a['classes'] = []; a['layers'] = a['layers'][:-2]; del t['fc.weight'], t['fc.bias']
def named_image(a, t):                                             # class names, but an image output
    a['layers'] = a['layers'][:-2]; del t['fc.weight'], t['fc.bias']
def five_classes(a, t):                                            # labels 5…9 have no class
    a['classes'] = a['classes'][:5]; a['layers'][-1]['outFeatures'] = 5
    dt, _, raw = t['fc.weight']; t['fc.weight'] = (dt, [5, 32], raw[:5 * 32 * 4])
    dt, _, raw = t['fc.bias']; t['fc.bias'] = (dt, [5], raw[:5 * 4])
def huge_mean(a, t):                                               # finite weights, NaN outputs
    dt, s, raw = t['stem.bn.running_mean']; t['stem.bn.running_mean'] = (dt, s, struct.pack('<8f', *[-3e38] * 8))
def tiny_tau(a, t):                                                # a trained τ of 1e-45
    for l in a['layers']:
        if 'attention' in l: l['attention']['temperature'] = 1e-45
src, out, kind = sys.argv[1:4]
meta, tensors = load(src); arch = json.loads(meta['dyconv.architecture'])
globals()[kind](arch, tensors); meta['dyconv.architecture'] = json.dumps(arch); save(out, meta, tensors)
EOF
for kind in headless_vector headless_image named_image five_classes huge_mean tiny_tau; do
  python3 "$CRAFT" "$FIXTURE" "$TMP/$kind.safetensors" $kind
done
# strict(PATH) parses standard JSON only (Python's json alone would accept NaN/Infinity tokens).
STRICT='import json, sys
def strict(path):
    def bad(token): raise ValueError("non-standard JSON token " + token)
    return json.load(open(path), parse_constant=bad)'

# Item 5: NaN/±inf reaching the printers: shown as nan, null in JSON, never a trap.
expect_ok "NaN outputs: inspect prints nan" "  nan" "$BIN" inspect "$TMP/huge_mean.safetensors" --sample --index 0 1
expect_ok "NaN outputs: inspect predicts nothing" "no prediction (the output is not finite)" "$BIN" inspect "$TMP/huge_mean.safetensors" --sample --index 0
expect_ok "NaN outputs: eval prints nan" "nan" "$BIN" eval "$TMP/huge_mean.safetensors" --sample --limit 20
"$BIN" inspect "$TMP/huge_mean.safetensors" --sample --index 0 --json >"$TMP/nan.json" 2>"$TMP/err"
"$BIN" eval "$TMP/huge_mean.safetensors" --sample --limit 20 --json >"$TMP/nan-eval.json" 2>>"$TMP/err"
if python3 - "$TMP/nan.json" "$TMP/nan-eval.json" <<EOF
$STRICT
d, e = strict(sys.argv[1]), strict(sys.argv[2])
assert all(v is None for l in d["images"][0]["layers"] for v in l["attention"]), d["images"][0]["layers"][0]
assert d["images"][0]["predicted"] is None and d["images"][0]["predictedName"] is None, d["images"][0]["predicted"]
assert all(r["layers"][0]["meanAttentionSum"] is None for r in e["results"]), e["results"][0]["layers"][0]
EOF
then ok "NaN outputs: --json writes null (standard JSON)"; else bad "NaN outputs --json" "$(head -c 300 "$TMP/err")"; fi
# A trained τ of 1e-45 in the file: refused by the checkpoint checks, or printed — never a trap.
"$BIN" inspect "$TMP/tiny_tau.safetensors" --sample >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -eq 0 ] || { [ $rc -lt 128 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ]; }; then ok "trained τ 1e-45: no trap"
else bad "trained τ 1e-45" "rc=$rc $(head -c 300 "$TMP/err")"; fi
for t in 1e-40 1e-39 0 1e6 nan inf; do
  expect_error "inspect --tau $t: outside the τ range" "τ must be a number from 0.0001 to 100000" "$BIN" inspect "$FIXTURE" --sample --tau $t
done
expect_error "eval --tau 1e-40 fails" "'--tau <tau>': τ must be a number from 0.0001" "$BIN" eval "$FIXTURE" --sample --tau 1 1e-40
expect_error "--layer-tau NAME=1e-40" "'--layer-tau <name=τ>': τ must be" "$BIN" inspect "$FIXTURE" --sample --layer-tau layer3.1.conv=1e-40
expect_error "eval --layer-tau NAME=1e-40" "τ must be" "$BIN" eval "$FIXTURE" --sample --layer-tau layer3.1.conv=1e-40
expect_error "--layer-tau without =" "expected NAME=τ" "$BIN" inspect "$FIXTURE" --sample --layer-tau layer3.1.conv
expect_ok "--tau 0.0001 (the range's low end)" "layer3.1.conv" "$BIN" inspect "$FIXTURE" --sample --tau 0.0001
expect_ok "--tau 100000 (the range's high end)" "layer3.1.conv" "$BIN" inspect "$FIXTURE" --sample --tau 100000

# Item 2: headless networks (classes: []).
expect_ok "headless (vector): inspect shows the output" "output 10 (10 values): min" "$BIN" inspect "$TMP/headless_vector.safetensors" --sample
expect_ok "headless (image): inspect shows the output" "output 32×7×7 (1568 values)" "$BIN" inspect "$TMP/headless_image.safetensors" --sample --index 0 1
"$BIN" inspect "$TMP/headless_image.safetensors" --sample --json >"$TMP/headless.json" 2>"$TMP/err"
if python3 - "$TMP/headless.json" <<EOF
$STRICT
d = strict(sys.argv[1]); img = d["images"][0]
assert d["outputShape"] == [32, 7, 7] and d["classes"] == [], d["outputShape"]
assert img["predicted"] is None and img["predictedName"] is None and img["probabilities"] is None, img.keys()
assert len(img["logits"]) == 32 * 7 * 7 and img["labelName"] is None
EOF
then ok "headless: inspect --json has null prediction and the flattened output"; else bad "headless --json" "$(head -c 300 "$TMP/err")"; fi
expect_ok "class names but an image output: inspect shows the output" "its output 32×7×7 is not one value per class" "$BIN" inspect "$TMP/named_image.safetensors" --sample
expect_error "class names but an image output: eval refuses" "not one score for each of its 10 classes" "$BIN" eval "$TMP/named_image.safetensors" --sample
expect_error "headless (image): eval refuses" "headless network" "$BIN" eval "$TMP/headless_image.safetensors" --sample
expect_error "headless (vector): eval refuses" "headless network" "$BIN" eval "$TMP/headless_vector.safetensors" --sample

# Item 3: fewer classes than the data's labels (image 0 is an ankle boot, label 9).
expect_ok "label beyond the classes: inspect names it" "label 9 (no class name), predicted" "$BIN" inspect "$TMP/five_classes.safetensors" --sample --index 0 1
expect_error "label beyond the classes: eval refuses" "labels go up to 9 but the model dycnn has 5 classes" "$BIN" eval "$TMP/five_classes.safetensors" --sample

# An empty test set (valid IDX files with 0 images): refused when the data is read, never "0/0" with exit 0.
mkdir -p "$TMP/empty-set"
python3 -c "
import struct, sys
open(sys.argv[1] + '/t10k-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 0x803, 0, 28, 28))
open(sys.argv[1] + '/t10k-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 0x801, 0))" "$TMP/empty-set"
expect_error "eval on an empty test set" "holds no images" "$BIN" eval "$FIXTURE" --data "$TMP/empty-set"

# Item 7 (CLI part): batch sizes are checked against the memory budget before allocating.
expect_error "bench --batch 100000000" "batch 100000000 of dycnn needs about .*; the limit is" "$BIN" bench --batch 100000000 --no-peak
# bench --architecture: a file that is missing, not a description, or an invalid one.
echo '{"x": 1}' > "$TMP/not-architecture.json"
expect_error "bench --architecture missing file" "no such file" "$BIN" bench --architecture "$TMP/none.json" --no-peak
expect_error "bench --architecture not a description" "not a valid architecture JSON: missing field 'family'" "$BIN" bench --architecture "$TMP/not-architecture.json" --no-peak
"$BIN" describe dycnn --json | sed 's/"height":28/"height":0/' > "$TMP/zero-height.json"
expect_error "bench --architecture invalid description" "not a valid architecture JSON: input shape" "$BIN" bench --architecture "$TMP/zero-height.json" --no-peak
expect_error "eval batch over the memory limit" "batch 1000 of dycnn needs about" env DYCONV_MEMORY_LIMIT_MB=2 "$BIN" eval "$FIXTURE" --sample --batch 1000
expect_error "inspect batch over the memory limit" "of dycnn needs about" env DYCONV_MEMORY_LIMIT_MB=2 "$BIN" inspect "$FIXTURE" --sample --index $(seq 0 299)

# CLI input: negative numbers parse (then a range error naming the flag), non-UTF-8 paths,
# exclusive data sources, one-line usage errors with exit 64.
expect_error "--index -1: a range error" "index -1 is outside" "$BIN" inspect "$FIXTURE" --sample --index -1
expect_error "--index 0 -1: a range error" "index -1 is outside" "$BIN" inspect "$FIXTURE" --sample --index 0 -1
expect_error "--tau -1: a range error" "'--tau <tau>': τ must be" "$BIN" inspect "$FIXTURE" --sample --tau -1
expect_error "eval --tau 1 -1" "The value '-1' is invalid for '--tau <tau>'" "$BIN" eval "$FIXTURE" --sample --tau 1 -1
expect_error "--seed -1: invalid value" "invalid for '--seed <seed>'" "$BIN" inspect "$FIXTURE" --sample --seed -1
"$BIN" train --lr -0.1 --out "$TMP/neg.safetensors" --epochs 1 --limit-train 1 --data "$TMP/none" >/dev/null 2>"$TMP/err"; rc=$?
if [ $rc -ne 0 ] && [ $rc -lt 128 ] && ! grep -q "Missing value" "$TMP/err"; then ok "train --lr -0.1 parses (no 'Missing value')"
else bad "train --lr -0.1" "rc=$rc $(head -c 300 "$TMP/err")"; fi
expect_error "non-UTF-8 path" "is not valid UTF-8" "$BIN" inspect "$(printf "$TMP/bad\xff.safetensors")"
expect_error "path with a newline: one line, escaped" 'nl\\nname.safetensors: no such file' "$BIN" inspect "$TMP/nl
name.safetensors"
# execve with an empty argv (argc 0): the argument reader must not form the range 1..<0.
rc=$(python3 - "$BIN" <<'EOF'
import ctypes, os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    ctypes.CDLL(None).execv(sys.argv[1].encode(), (ctypes.c_char_p * 1)(None))
    os._exit(99)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
EOF
)
if [ "$rc" -ge 0 ] 2>/dev/null && [ "$rc" -lt 128 ] && [ "$rc" -ne 99 ]; then ok "empty argv (argc 0): no trap"; else bad "empty argv" "rc=$rc"; fi
expect_error "--data with --sample" "exclude each other" "$BIN" eval "$FIXTURE" --data "$TMP" --sample
expect_error "unknown flag: one line" "Unknown option '--bogus'" "$BIN" eval "$FIXTURE" --bogus
"$BIN" inspect "$FIXTURE" --bogus 2>/dev/null; rc=$?
if [ $rc -eq 64 ]; then ok "usage errors exit 64"; else bad "usage errors exit 64" "rc=$rc"; fi
expect_error "missing option value" "Missing value for '--index" "$BIN" inspect "$FIXTURE" --sample --index

# Item 6: JSON numbers are numbers, slashes unescaped, keys as documented in docs/CLI-JSON.md.
"$BIN" inspect "$FIXTURE" --sample --index 0 --tau 1 --json >"$TMP/i1.json" 2>/dev/null
"$BIN" inspect "$FIXTURE" --sample --index 0 --json >"$TMP/itrained.json" 2>/dev/null
"$BIN" eval "$FIXTURE" --sample --limit 10 --tau trained 2 --json >"$TMP/e.json" 2>/dev/null
"$BIN" bench --batch 1 --runs 2 --trace-overhead --json >"$TMP/b.json" 2>/dev/null
"$BIN" bench --train --no-forward --train-widths 4,4,4 --train-batch 8 --train-steps 1 --no-peak --json >"$TMP/bt.json" 2>/dev/null
"$BIN" describe dycnn --json >"$TMP/d.json" 2>/dev/null
if python3 - "$TMP" <<EOF
$STRICT
t = sys.argv[1]
i1, it, e = strict(t + "/i1.json"), strict(t + "/itrained.json"), strict(t + "/e.json")
assert i1["temperature"] == 1 and it["temperature"] is None, (i1["temperature"], it["temperature"])
assert [r["temperature"] for r in e["results"]] == [None, 2], [r["temperature"] for r in e["results"]]
for name in ("i1", "e", "d"):
    assert "\\\\/" not in open(t + "/" + name + ".json").read(), name + ": escaped slash"
assert "T-shirt/top" in open(t + "/i1.json").read() and "T-shirt/top" in open(t + "/d.json").read()
EOF
then ok "JSON: τ as a number (null = trained), no escaped slashes"; else bad "JSON numbers and slashes"; fi
if python3 - "$ROOT/docs/CLI-JSON.md" "$TMP" <<EOF
$STRICT
import re
doc, t = open(sys.argv[1]).read(), sys.argv[2]
tables, current = {}, None
for line in doc.splitlines():
    m = re.match(r"### (\w+): (.+)$", line)
    if m: current = (m.group(1), m.group(2).strip()); tables[current] = set(); continue
    m = re.match(r"\| \`(\w+)\` \|", line)
    if m and current: tables[current].add(m.group(1))
outputs = {"inspect": ["i1", "itrained"], "eval": ["e"], "bench": ["b", "bt"], "describe": ["d"]}
def objects(root, path):
    objs = [root]
    if path != "top level":
        for part in path.split("."):
            objs = [x for o in objs for x in o[part[:-2]]]
    return objs
checked = set()
for (command, path), keys in tables.items():
    assert keys, (command, path, "empty table")
    for name in outputs[command]:
        for o in objects(strict(t + "/" + name + ".json"), path):
            assert set(o) == keys, (command, path, "undocumented:", set(o) - keys, "missing:", keys - set(o))
            checked.add((command, path))
assert checked == set(tables), ("no output object for", set(tables) - checked)
assert {c for c, _ in tables} == set(outputs), {c for c, _ in tables}
EOF
then ok "documented JSON keys (docs/CLI-JSON.md) = keys of real output"; else bad "docs/CLI-JSON.md vs output"; fi

# CondConv: sigmoid routing's coefficients are r (not π), with Σr.
CONDCONV="$ROOT/assets/dycnn-condconv.safetensors"
out=$("$BIN" inspect "$CONDCONV" --sample --index 0 --mode max 2>&1)
if grep -q "r1    r2    r3    r4   Σr" <<<"$out" && grep -q "r above is this image.s computed routing" <<<"$out" && ! grep -q "π" <<<"$out"
then ok "condconv inspect: r and Σr, no π"; else bad "condconv inspect labels" "$(head -c 400 <<<"$out")"; fi
out=$("$BIN" eval "$CONDCONV" --sample --limit 10 2>&1)
if grep -q "max r    Σr" <<<"$out" && ! grep -q "π" <<<"$out"; then ok "condconv eval: max r and Σr"
else bad "condconv eval labels" "$(head -c 400 <<<"$out")"; fi

# shuffle-across: each image has a fixed partner (a seeded derangement of the data set), so its
# result does not depend on which other images share the batch, and a batch of one is shuffled.
"$BIN" inspect "$FIXTURE" --sample --index 3 --mode shuffle-across --json >"$TMP/sa1.json" 2>/dev/null
"$BIN" inspect "$FIXTURE" --sample --index 7 3 --mode shuffle-across --json >"$TMP/sa2.json" 2>/dev/null
"$BIN" inspect "$FIXTURE" --sample --index 3 --json >"$TMP/sa0.json" 2>/dev/null
if python3 - "$TMP/sa1.json" "$TMP/sa2.json" "$TMP/sa0.json" <<'PY'
import json, sys
one, two, plain = (json.load(open(p))["images"] for p in sys.argv[1:4])
a, b = one[0], two[1]
assert a["index"] == b["index"] == 3
assert a["partner"] is not None and a["partner"] != 3 and a["partner"] == b["partner"], (a["partner"], b["partner"])
diff = lambda x, y: max(abs(u - v) for u, v in zip(x["logits"], y["logits"]))
assert diff(a, b) < 1e-5, ("the batch changed the result", diff(a, b))
assert diff(a, plain[0]) > 1e-3, "a batch of one was not shuffled"
assert plain[0]["partner"] is None
PY
then ok "shuffle-across: fixed partner, independent of the batch, applied to a batch of one"; else bad "shuffle-across partner"; fi
expect_ok "shuffle-across: the text names the partner" "this image's fixed partner" "$BIN" inspect "$FIXTURE" --sample --index 3 --mode shuffle-across

# shuffle-image: each image's kernel permutation is seeded by its dataset index, not its place in
# the batch, so the accuracy and per-layer statistics do not depend on --batch, and an image's
# result does not depend on the other --index values (oracle: the image alone).
DYNAMIC="$ROOT/assets/dycnn-dynamic.safetensors"
for mode in shuffle-image shuffle-across; do
  "$BIN" eval "$DYNAMIC" --sample --limit 50 --mode $mode --batch 7 --json >"$TMP/b7.json" 2>/dev/null
  "$BIN" eval "$DYNAMIC" --sample --limit 50 --mode $mode --batch 50 --json >"$TMP/b50.json" 2>/dev/null
  if python3 - "$TMP/b7.json" "$TMP/b50.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["results"][0] for p in sys.argv[1:3])
assert a["images"] == b["images"] == 50 and a["correct"] == b["correct"], (a["correct"], b["correct"])
for x, y in zip(a["layers"], b["layers"]):
    assert abs(x["meanNormalizedEntropy"] - y["meanNormalizedEntropy"]) < 1e-6, (x["name"], x, y)
PY
  then ok "eval --mode $mode: same accuracy and statistics at --batch 7 and 50"; else bad "eval --mode $mode depends on --batch"; fi
done
"$BIN" inspect "$DYNAMIC" --sample --index 3 --mode shuffle-image --json >"$TMP/si1.json" 2>/dev/null
"$BIN" inspect "$DYNAMIC" --sample --index 7 9 3 --mode shuffle-image --json >"$TMP/si3.json" 2>/dev/null
"$BIN" inspect "$DYNAMIC" --sample --index 3 --json >"$TMP/si0.json" 2>/dev/null
if python3 - "$TMP/si1.json" "$TMP/si3.json" "$TMP/si0.json" <<'PY'
import json, sys
one, three, plain = (json.load(open(p))["images"] for p in sys.argv[1:4])
a, b = one[0], three[2]
assert a["index"] == b["index"] == 3
diff = lambda x, y: max(abs(u - v) for u, v in zip(x["logits"], y["logits"]))
assert diff(a, b) < 1e-5, ("the batch changed the result", diff(a, b))
assert all(abs(u - v) < 1e-5 for x, y in zip(a["layers"], b["layers"]) for u, v in zip(x["applied"], y["applied"]))
assert diff(a, plain[0]) > 1e-3, "not shuffled"
PY
then ok "inspect --mode shuffle-image: an image's result does not depend on the other --index values"; else bad "shuffle-image depends on the batch"; fi

# ---------------------------------------------------------------------------------------------
# dyconv import (docs/IMPORT.md): a kaijieshi7 dy_resnet18-layout .pth (nested, module. prefixes).
IMPORTS="$ROOT/Tests/DyConvImportTests/Fixtures"
K18="$IMPORTS/kaijieshi7-resnet18"
CIFAR=(--input 3x32x32 --mean 0.4914,0.4822,0.4465 --std 0.2023,0.1994,0.2010)
expect_ok "import kaijieshi7-resnet18 .pth" "19 dynamic layers (K=4, τ 1)" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}" --classes "$K18/classes.txt" --out "$TMP/k18.safetensors"
expect_ok "describe the imported checkpoint" "kaijieshi7-resnet18: input 3×32×32, 10 classes" "$BIN" describe "$TMP/k18.safetensors"
expect_ok "imported layers keep their PyTorch names" "layer4.1.conv2" "$BIN" describe "$TMP/k18.safetensors"
if "$BIN" inspect --help 2>/dev/null | grep -q -- "--image"; then
  expect_ok "inspect the imported checkpoint on a fixture PNG" "layer4.1.conv2" \
      "$BIN" inspect "$TMP/k18.safetensors" --image "$K18/image1.png"
fi
expect_ok "import kaijieshi7-resnet34 .pth with --tau" "35 dynamic layers (K=4, τ 4)" \
    "$BIN" import "$IMPORTS/kaijieshi7-resnet34/model.pth" --from kaijieshi7-resnet34 "${CIFAR[@]}" --tau 4 --out "$TMP/k34.safetensors"
expect_ok "import the project's own layout (dyconv)" "dyconv, input 3×16×16, 5 classes, 6 dynamic layers" \
    "$BIN" import "$IMPORTS/dyconv/model.pth" --from dyconv --input 3x16x16 --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 --out "$TMP/dy.safetensors"
"$BIN" describe "$TMP/k18.safetensors" --json >"$TMP/k18.json" 2>/dev/null
python3 - "$TMP/k18.json" "$TMP/map.json" <<'PY'
import json, sys
json.dump({"architecture": json.load(open(sys.argv[1]))}, open(sys.argv[2], "w"))
PY
expect_ok "import --from mapping.json (dyconv describe --json as the architecture)" "wrote" \
    "$BIN" import "$K18/model.safetensors" --from "$TMP/map.json" "${CIFAR[@]}" --classes "$K18/classes.txt" --out "$TMP/mapped.safetensors"
if cmp -s <("$BIN" describe "$TMP/mapped.safetensors" --json) "$TMP/k18.json" 2>/dev/null; then ok "mapping import gives the preset's architecture"
else bad "mapping import gives the preset's architecture"; fi
expect_error "import: unknown preset" "neither a preset (dyconv, kaijieshi7-resnet18" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet50 "${CIFAR[@]}" --out "$TMP/x.safetensors"
expect_error "import: missing --out" "Missing expected argument '--out" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}"
expect_error "import: missing --input" "Missing expected argument '--input" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 --mean 0.5,0.5,0.5 --std 0.2,0.2,0.2 --out "$TMP/x.safetensors"
expect_error "import: bad --input" "is not CxHxW" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 --input 3x32 --mean 0.5,0.5,0.5 --std 0.2,0.2,0.2 --out "$TMP/x.safetensors"
expect_error "import: --mean count" "need 3 values each" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 --input 3x32x32 --mean 0.5 --std 0.2,0.2,0.2 --out "$TMP/x.safetensors"
head -3 "$K18/classes.txt" >"$TMP/three.txt"
expect_error "import: --classes count" "names 3 classes, but the classifier has 10 outputs" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}" --classes "$TMP/three.txt" --out "$TMP/x.safetensors"
expect_error "import: wrong depth names the extra blocks" "unexpected tensors, not part of kaijieshi7-resnet18, under layer1.2 (16), layer2.2 (16)" \
    "$BIN" import "$IMPORTS/kaijieshi7-resnet34/model.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}" --out "$TMP/x.safetensors"
expect_error "import: missing source" "no such file" \
    "$BIN" import "$TMP/none.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}" --out "$TMP/x.safetensors"
expect_error "import: bad --tau" "tau" \
    "$BIN" import "$K18/model.pth" --from kaijieshi7-resnet18 "${CIFAR[@]}" --tau 0 --out "$TMP/x.safetensors"
if [ ! -e "$TMP/x.safetensors" ]; then ok "failed imports write nothing"; else bad "failed imports write nothing"; fi

# The tardelean-* presets (docs/IMPORT.md § TArdelean presets), as the docs run them.
T10="$IMPORTS/tardelean-resnet10"; TM="$IMPORTS/tardelean-mobilenetv2"
expect_ok "import tardelean-resnet10 (a train.py checkpoint)" "11 dynamic layers (K=4, τ 1)" \
    "$BIN" import "$T10/model.pth" --from tardelean-resnet10 "${CIFAR[@]}" --classes "$T10/classes.txt" --out "$TMP/t10.safetensors"
expect_ok "imported TArdelean layers keep their module paths" "layer4.layers.0.shortcut.layers.0" "$BIN" describe "$TMP/t10.safetensors"
expect_ok "import tardelean-resnet18 (DataParallel, float16)" "19 dynamic layers (K=4, τ 1)" \
    "$BIN" import "$IMPORTS/tardelean-resnet18/model.pth" --from tardelean-resnet18 "${CIFAR[@]}" --out "$TMP/t18.safetensors"
expect_ok "import tardelean-mobilenetv2 with --tau" "51 dynamic layers (K=4, τ 2)" \
    "$BIN" import "$TM/model.pth" --from tardelean-mobilenetv2 --input 3x32x32 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --tau 2 --out "$TMP/tm.safetensors"
expect_error "import: a ResNet18 file as tardelean-resnet10" "tardelean-resnet10 has 1 block in layer1" \
    "$BIN" import "$IMPORTS/tardelean-resnet18/model.pth" --from tardelean-resnet10 "${CIFAR[@]}" --out "$TMP/x.safetensors"

# Issue #10, images: --data DIR beyond Fashion-MNIST (CIFAR batches, an ImageFolder tree, a flat
# folder) and --image FILE…, made on the fly; the 1×28×28 fixture takes them resized and grey.
python3 - "$TMP" <<'PY'
import os, struct, sys, zlib
t = sys.argv[1]
# CIFAR-10 binary batch: per record 1 label byte, then 1024 R, 1024 G, 1024 B bytes (row-major 32×32).
os.makedirs(t + "/cifar", exist_ok=True)
with open(t + "/cifar/test_batch.bin", "wb") as f:
    for r, label in enumerate([3, 8, 0, 9]):
        f.write(bytes([label]) + bytes((r * 37 + c * 80 + i) % 256 for c in range(3) for i in range(1024)))
open(t + "/cifar/batches.meta.txt", "w").write("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n")
os.makedirs(t + "/cifar-short", exist_ok=True)
open(t + "/cifar-short/test_batch.bin", "wb").write(bytes(3073 + 100))   # one record and 100 bytes
os.makedirs(t + "/empty-class/cat", exist_ok=True)
os.makedirs(t + "/empty-class/dog", exist_ok=True)
open(t + "/empty-class/cat/1.ppm", "wb").write(b"P6\n1 1\n255\n\0\0\0")
def ppm(path, w, h, f):
    open(path, "wb").write(b"P6\n%d %d\n255\n" % (w, h) + bytes(f(x, y, c) for y in range(h) for x in range(w) for c in range(3)))
def png(path, w, h, f):   # 8-bit RGB, filter 0 on every row
    raw = b"".join(b"\0" + bytes(f(x, y, c) for x in range(w) for c in range(3)) for y in range(h))
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
# ImageFolder: classes sorted by name, as torchvision numbers them (T-shirt/top = 0 … Ankle boot = 9
# are the fixture's names; these two match by name).
for cls in ["Trouser", "Bag"]:
    os.makedirs(t + "/folder/" + cls, exist_ok=True)
ppm(t + "/folder/Trouser/1.ppm", 28, 28, lambda x, y, c: (x * 9) % 256)
png(t + "/folder/Bag/1.png", 40, 30, lambda x, y, c: (y * 8 + c * 60) % 256)
png(t + "/folder/Bag/2.png", 28, 28, lambda x, y, c: 200 if 8 < x < 20 else 10)
os.makedirs(t + "/flat", exist_ok=True)
png(t + "/flat/a.png", 64, 64, lambda x, y, c: (x + y) % 256)
ppm(t + "/flat/b.ppm", 28, 28, lambda x, y, c: 255 - y * 9)
open(t + "/flat/notes.txt", "w").write("not an image\n")
open(t + "/not-an-image.png", "wb").write(b"GIF89a....")
PY
expect_ok "eval --data CIFAR-10 batch (resized, grey)" "accuracy .*(0/4\|1/4\|2/4\|3/4\|4/4)" "$BIN" eval "$FIXTURE" --data "$TMP/cifar"
if grep -q "matched by index" "$TMP/err" && grep -q "resized (shorter side) and centre-cropped" "$TMP/err"; then ok "CIFAR: the label-matching warning and the resize note"
else bad "CIFAR notes" "$(head -c 400 "$TMP/err")"; fi
expect_ok "inspect --data CIFAR-10: CIFAR labels by index" "image 1 (.*): label Bag," "$BIN" inspect "$FIXTURE" --data "$TMP/cifar" --index 1
expect_ok "inspect --data ImageFolder: labels by name" "image 0 (Bag/1.png): label Bag," "$BIN" inspect "$FIXTURE" --data "$TMP/folder" --index 0
expect_ok "eval --data ImageFolder" "accuracy .*/3" "$BIN" eval "$FIXTURE" --data "$TMP/folder"
expect_ok "inspect --image: unlabelled, named by file" "image 1 (b.ppm): predicted" "$BIN" inspect "$FIXTURE" --image "$TMP/flat/a.png" "$TMP/flat/b.ppm" --index 1
expect_ok "eval --data flat folder: attention only" "no labels, attention only (2 images" "$BIN" eval "$FIXTURE" --data "$TMP/flat"
"$BIN" eval "$FIXTURE" --image "$TMP/flat/a.png" --json >"$TMP/unlabelled.json" 2>/dev/null
if python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))['results'][0]
assert r['images'] == 1 and r['correct'] is None and r['accuracy'] is None and len(r['layers']) == 6, r
assert all(l['meanAttentionByClass'] is None and l['entropyBox']['p5'] == l['entropyBox']['p95'] for l in r['layers']), r['layers'][0]" "$TMP/unlabelled.json"
then ok "eval --image --json: accuracy null, layers present, no class table"; else bad "eval --image --json"; fi
expect_error "--image missing file" "missing.png: no such file" "$BIN" inspect "$FIXTURE" --image "$TMP/missing.png"
expect_error "--image not an image" "not-an-image.png" "$BIN" inspect "$FIXTURE" --image "$TMP/not-an-image.png"
expect_error "--image a folder" "is a folder" "$BIN" eval "$FIXTURE" --image "$TMP/flat"
expect_error "--data and --image" "exclude each other" "$BIN" eval "$FIXTURE" --data "$TMP/folder" --image "$TMP/flat/a.png"
expect_error "CIFAR batch not a whole number of records" "not a whole number of CIFAR-10 records" "$BIN" eval "$FIXTURE" --data "$TMP/cifar-short"
expect_error "--data a file" "is a file" "$BIN" eval "$FIXTURE" --data "$TMP/flat/a.png"
"$BIN" inspect "$FIXTURE" --image "$TMP/flat/b.ppm" --resize 32 >/dev/null 2>"$TMP/resize.err"
if grep -q "resized (shorter side to 32) and centre-cropped" "$TMP/resize.err"; then ok "--resize 32: the 28×28 image is resized anyway"; else bad "--resize" "$(head -c 300 "$TMP/resize.err")"; fi
expect_error "--resize without --data or --image" "--resize applies to --data or --image" "$BIN" eval "$FIXTURE" --sample --resize 256
expect_error "--resize below the input side" "--resize 20: the shorter side must be resized to 28" "$BIN" eval "$FIXTURE" --image "$TMP/flat/a.png" --resize 20
expect_error "ImageFolder with an empty class folder" "dog: class folder without image files" "$BIN" eval "$FIXTURE" --data "$TMP/empty-class"

echo "cli: $pass passed, $fail failed"
[ $fail -eq 0 ]
