#!/usr/bin/env python3
"""Re-encodes a folder of F32 training snapshots as `dyconv train --snapshots` writes them now
(F16, the epochs SnapshotRetention keeps, the dropped epochs' figures in the kept records), and
measures what the rounding costs: `dyconv eval` of every kept F16 snapshot against its F32
original on the full test set (accuracy, per-layer mean normalized entropy and mean max π).

    python3 tools/compact_snapshots.py OLD_DIR NEW_DIR [--every 5] [--dyconv .build/release/dyconv]
    python3 tools/compact_snapshots.py --from-commit c686719 /tmp/new   # the shipped F32 originals

The shipped assets/dycnn-dynamic-snapshots were made with the second line (issue #9). Standard
library only; needs a dyconv binary and the Fashion-MNIST test set (dyconv eval's default --data).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def evaluate(dyconv, path):
    out = subprocess.run([dyconv, "eval", path, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["results"][0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", nargs="?", help="folder of F32 epoch-NNN.safetensors snapshots")
    p.add_argument("new", help="folder to write the kept F16 snapshots to (empty or absent)")
    p.add_argument("--from-commit", help="take OLD from assets/dycnn-dynamic-snapshots at this git commit")
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--dyconv", default=".build/release/dyconv")
    a = p.parse_args()
    old = a.old
    if a.from_commit:
        old = tempfile.mkdtemp(prefix="dyconv-f32-snapshots-")
        folder = "assets/dycnn-dynamic-snapshots"
        names = subprocess.run(["git", "ls-tree", "--name-only", f"{a.from_commit}:{folder}"], check=True,
                               capture_output=True, text=True).stdout.split()
        for name in names:
            with open(os.path.join(old, name), "wb") as f:
                f.write(subprocess.run(["git", "show", f"{a.from_commit}:{folder}/{name}"], check=True,
                                       capture_output=True).stdout)
    if not old:
        sys.exit("give OLD_DIR or --from-commit")
    subprocess.run([a.dyconv, "compact-snapshots", old, "--out", a.new, "--every", str(a.every)], check=True)

    worst = {"images": 0, "entropy": 0.0, "max": 0.0}
    for name in sorted(os.listdir(a.new)):
        if not (name.startswith("epoch-") and name.endswith(".safetensors")):
            continue
        f32, f16 = evaluate(a.dyconv, os.path.join(old, name)), evaluate(a.dyconv, os.path.join(a.new, name))
        images = f16["correct"] - f32["correct"]
        entropy = max((abs(x["meanNormalizedEntropy"] - y["meanNormalizedEntropy"])
                       for x, y in zip(f32["layers"], f16["layers"])), default=0.0)
        peak = max((abs(x["meanMaxAttention"] - y["meanMaxAttention"])
                    for x, y in zip(f32["layers"], f16["layers"])), default=0.0)
        print(f"{name}: test {100 * f32['accuracy']:.2f}% -> {100 * f16['accuracy']:.2f}% ({images:+d} of "
              f"{f16['images']} images), max |d entropy| {entropy:.1e}, max |d mean max pi| {peak:.1e}")
        worst = {"images": max(worst["images"], abs(images)), "entropy": max(worst["entropy"], entropy),
                 "max": max(worst["max"], peak)}
    print(f"largest difference: {worst['images']} images, entropy {worst['entropy']:.1e}, mean max pi {worst['max']:.1e}")


if __name__ == "__main__":
    main()
