#!/usr/bin/env python3
"""Side-by-side benchmark: `dyconv bench` against the PyTorch baseline, in one run, as ratios.

    python3 tools/bench_compare.py [--dyconv .build/release/dyconv] [--rounds 3] [--train]

Both run on the same models (seeded random weights, same architecture JSON), the same threads and
batch sizes, alternating round by round so that load changes on a shared machine hit both alike;
the table reports the median over rounds of each side's median, and the ratio PyTorch/dyconv of
latency (> 1: dyconv faster). Needs torch (pip install -r tools/requirements.txt).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dyconv", default=os.path.join(HERE, "..", ".build", "release", "dyconv"))
    p.add_argument("--model", nargs="+", default=["dycnn", "dy-mobilenetv2"])
    p.add_argument("--batch", nargs="+", type=int, default=[1, 16, 64, 256])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train", action="store_true", help="also compare training images/s (dycnn, batch 128)")
    args = p.parse_args()

    batches = [str(b) for b in args.batch]
    env = dict(os.environ, DYCONV_THREADS=str(args.threads))
    ours, theirs, peaks_ours, peaks_theirs, train_ours, train_theirs = {}, {}, [], [], {}, {}
    for r in range(args.rounds):
        print("round %d/%d ..." % (r + 1, args.rounds), file=sys.stderr)
        cmd = [args.dyconv, "bench", "--model", *args.model, "--batch", *batches, "--runs", str(args.runs),
               "--threads", str(args.threads), "--json"]
        if args.train:
            cmd += ["--train", "--train-widths", "16,32,64", "8,16,32"]
        d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
        peaks_ours.append(d["sgemmPeakGflops"])
        for row in d["results"]:
            ours.setdefault((row["model"], row["batch"]), []).append(row)
        for t in d.get("train", []):
            train_ours.setdefault("/".join(map(str, t["widths"])), []).append(t["imagesPerSecond"])
        t = run_json([sys.executable, os.path.join(HERE, "bench_pytorch.py"), "--model", *args.model,
                      "--batch", *batches, "--runs", str(args.runs), "--threads", str(args.threads), "--json"])
        peaks_theirs.append(t["sgemmPeakGflops"])
        for row in t["results"]:
            theirs.setdefault((row["model"], row["batch"]), []).append(row)
        if args.train:
            for widths in ["16,32,64", "8,16,32"]:
                w = [int(x) for x in widths.split(",")]
                tt = run_json([sys.executable, os.path.join(HERE, "bench_pytorch.py"), "--no-forward", "--no-peak",
                               "--train", "--train-model", "dycnn" if w == [16, 32, 64] else "dycnn-small",
                               "--train-batch", "128", "--threads", str(args.threads), "--json"])
                train_theirs.setdefault("/".join(map(str, w)), []).append(tt["train"]["imagesPerSecond"])

    med = statistics.median
    print("sgemm peak (2048³, %d threads): dyconv/OpenBLAS %.1f GFLOP/s, PyTorch %.1f GFLOP/s"
          % (args.threads, med(peaks_ours), med(peaks_theirs)))
    print("%-16s %6s %12s %12s %12s %12s %8s %10s" % ("model", "batch", "dyconv ms", "torch ms", "dyconv img/s",
                                                        "torch img/s", "speedup", "dy GFLOP/s"))
    for key in sorted(ours, key=lambda k: (args.model.index(k[0]), k[1])):
        a = med([r["medianMilliseconds"] for r in ours[key]])
        b = med([r["medianMilliseconds"] for r in theirs.get(key, [])]) if key in theirs else float("nan")
        g = med([r["gflops"] for r in ours[key]])
        print("%-16s %6d %12.3f %12.3f %12.0f %12.0f %7.2fx %10.1f" % (key[0], key[1], a, b, key[1] / a * 1e3,
                                                                      key[1] / b * 1e3, b / a, g))
    for w in train_ours:
        a, b = med(train_ours[w]), med(train_theirs.get(w, [float("nan")]))
        print("train dycnn %-9s batch 128: dyconv %.0f img/s, PyTorch %.0f img/s, ratio %.2fx" % (w, a, b, a / b))


if __name__ == "__main__":
    main()
