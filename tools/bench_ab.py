#!/usr/bin/env python3
"""Side-by-side forward benchmark of several dyconv binaries on this (shared, noisy) machine.

Runs `dyconv bench --json` of each binary in turn, alternating the order every round, and prints
the median over rounds of each run's median latency, with the ratio to the first binary. Build the
binaries to compare first (e.g. the previous main in a second checkout), then:

    python3 tools/bench_ab.py --rounds 10 --model dycnn --batch 1 16 \\
        old=/tmp/old/dyconv new=.build/release/dyconv
"""
import argparse, json, statistics, subprocess

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("binaries", nargs="+", help="NAME=PATH of each dyconv binary; ratios are to the first")
p.add_argument("--rounds", type=int, default=10)
p.add_argument("--model", default="dycnn")
p.add_argument("--batch", nargs="+", default=["1", "16"])
p.add_argument("--runs", default="30", help="timed runs per measurement inside one bench call")
a = p.parse_args()
bins = dict(b.split("=", 1) for b in a.binaries)
names = list(bins)
res = {}
for rnd in range(a.rounds):
    for name in (names if rnd % 2 == 0 else names[::-1]):
        out = subprocess.run([bins[name], "bench", "--model", a.model, "--batch", *a.batch, "--runs", a.runs,
                              "--no-peak", "--json"], capture_output=True, text=True, check=True).stdout
        for r in json.loads(out)["results"]:
            res.setdefault((r["batch"], name), []).append(r["medianMilliseconds"])
for b in sorted({b for b, _ in res}):
    base = statistics.median(res[(b, names[0])])
    print(f"{a.model} batch {b}: " + "  ".join(
        f"{n} {statistics.median(res[(b, n)]):.3f} ms ({statistics.median(res[(b, n)]) / base:.3f})" for n in names))
