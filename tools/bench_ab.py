#!/usr/bin/env python3
"""Side-by-side benchmark of several dyconv binaries on this (shared, noisy) machine.

Runs `dyconv bench --json` of each binary in turn, alternating the order every round, and prints
the median over rounds of each run's median (forward latency in ms, or training images/s with
--train), with the ratio to the first binary. Build the binaries to compare first (e.g. the
previous main in a second checkout), then:

    python3 tools/bench_ab.py --rounds 10 --model dycnn --batch 1 16 \\
        old=/tmp/old/dyconv new=.build/release/dyconv
    python3 tools/bench_ab.py --train --rounds 6 --train-widths 16,32,64 \\
        old=/tmp/old/dyconv new=.build/release/dyconv
"""
import argparse, json, statistics, subprocess

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("binaries", nargs="+", help="NAME=PATH of each dyconv binary; ratios are to the first")
p.add_argument("--rounds", type=int, default=10)
p.add_argument("--model", default="dycnn")
p.add_argument("--architecture", help="an architecture JSON (`dyconv bench --architecture`) instead of --model")
p.add_argument("--batch", nargs="+", default=["1", "16"])
p.add_argument("--runs", default="30", help="timed runs per measurement inside one bench call")
p.add_argument("--train", action="store_true", help="compare training speed (images/s) instead")
p.add_argument("--train-widths", default="16,32,64")
p.add_argument("--train-steps", default="10")
a = p.parse_args()
bins = dict(b.split("=", 1) for b in a.binaries)
names = list(bins)
res = {}
for rnd in range(a.rounds):
    for name in (names if rnd % 2 == 0 else names[::-1]):
        if a.train:
            cmd = [bins[name], "bench", "--train", "--no-forward", "--no-peak", "--train-widths", a.train_widths,
                   "--train-steps", a.train_steps, "--json"]
        else:
            what = ["--architecture", a.architecture] if a.architecture else ["--model", a.model]
            cmd = [bins[name], "bench", *what, "--batch", *a.batch, "--runs", a.runs, "--no-peak", "--json"]
        out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        if a.train:
            for r in out["train"]:
                res.setdefault((",".join(map(str, r["widths"])), name), []).append(r["imagesPerSecond"])
        else:
            for r in out["results"]:
                res.setdefault((r["batch"], name), []).append(r["medianMilliseconds"])
unit = "images/s" if a.train else "ms"
for b in sorted({b for b, _ in res}):
    base = statistics.median(res[(b, names[0])])
    label = f"train dycnn {b}" if a.train else f"{a.architecture or a.model} batch {b}"
    print(f"{label}: " + "  ".join(
        f"{n} {statistics.median(res[(b, n)]):.3f} {unit} ({statistics.median(res[(b, n)]) / base:.3f})" for n in names))
