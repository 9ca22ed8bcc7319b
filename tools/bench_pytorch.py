#!/usr/bin/env python3
"""PyTorch CPU baseline for `dyconv bench` (same models, same measurement rules).

Builds each model with tools/dyconv_torch.py (the reference interpreter of
dyconv's architecture JSON: dynamic convolutions use the per-sample
grouped-convolution trick; with the default --impl auto, ungrouped 1×1
dynamic convs run as one batched matmul instead) from a built-in family (the same names and
architectures as the Swift `Families.named`) or from an architecture file,
then measures, in eval mode under torch.no_grad() on N threads (default 2):

  * forward time for each batch size (default 1, 16, 64, 256): a warm-up of
    max(2, min(5, runs/4)) passes, then the median of --runs passes (default
    20; like `dyconv bench`, at least 3 and runs/4 when one pass exceeds 2·10⁹
    multiply-adds), reported as ms, images/s and GFLOP/s (2 FLOPs per
    multiply-add, counted like the Swift `ModelDescription.multiplyAdds()`);
    the batch-1 median is the latency;
  * the sgemm peak: median GFLOP/s of torch.mm on 2048×2048 fp32 matrices;
  * with --train: training throughput (images/s) of SGD with momentum on
    random batches (default dycnn, batch 128): forward in train mode (batch
    statistics), cross-entropy, backward, optimizer step.

Examples:
    python3 tools/bench_pytorch.py                               # dycnn, dy-mobilenetv2
    python3 tools/bench_pytorch.py --model dycnn --batch 1 64 --json
    dyconv describe dy-resnet18 --json > /tmp/r18.json
    python3 tools/bench_pytorch.py --architecture /tmp/r18.json checkpoint.safetensors
    python3 tools/bench_pytorch.py --train --no-forward
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dyconv_torch as dt  # noqa: E402

LARGE_PASS = 2_000_000_000  # multiply-adds above which fewer timed runs are used (as in `dyconv bench`)


def fail(message):
    sys.stderr.write("bench_pytorch.py: %s\n" % message)
    sys.exit(2)


def load_architecture(path):
    """A description from a JSON file (`dyconv describe M --json`) or a checkpoint's metadata."""
    try:
        if path.endswith(".safetensors"):
            from safetensors import safe_open
            with safe_open(path, framework="pt") as f:
                metadata = f.metadata() or {}
            if dt.ARCHITECTURE_KEY not in metadata:
                raise ValueError("no '%s' metadata (not a dyconv checkpoint)" % dt.ARCHITECTURE_KEY)
            return json.loads(metadata[dt.ARCHITECTURE_KEY])
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        fail("%s: %s" % (path, error))


def seeded_model(description, implementation, seed=1):
    """The interpreter model with seeded Kaiming-normal weights and unit BatchNorms (eval mode)."""
    model = dt.DyConvModel(description)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model._leaves.values():
            if isinstance(module, (nn.Conv2d, dt.DynamicConv2d)):
                fan_in = module.weight[0].numel() if isinstance(module, nn.Conv2d) else module.weight[0, 0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()
            if isinstance(module, dt.DynamicConv2d):
                for fc in (module.attention.fc1, module.attention.fc2):
                    fc.weight.copy_(torch.randn(fc.weight.shape, generator=gen) / fc.in_features ** 0.5)
                    if fc.bias is not None:
                        fc.bias.zero_()
            elif isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) / module.in_features ** 0.5)
                if module.bias is not None:
                    module.bias.zero_()
    return model.set_implementation(implementation).eval()


def time_runs(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def sgemm_peak(runs):
    """Median GFLOP/s of a 2048×2048 fp32 matrix product."""
    n = 2048
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    c = torch.empty(n, n)
    times = time_runs(lambda: torch.mm(a, b, out=c), runs, 3)
    return 2.0 * n ** 3 / statistics.median(times) / 1e9


def bench_forward(name, description, batches, runs, implementation, log):
    model = seeded_model(description, implementation)
    macs = dt.multiply_adds(description)
    inp = description["input"]
    log("%s: %d×%d×%d, %.1f M multiply-adds per image, %d dynamic layers"
        % (name, inp["channels"], inp["height"], inp["width"], macs / 1e6, len(model.dynamic_layer_names)))
    rows = []
    for b in batches:
        gen = torch.Generator().manual_seed(7)
        x = torch.randn(b, inp["channels"], inp["height"], inp["width"], generator=gen)
        n = max(3, runs // 4) if macs * b > LARGE_PASS else runs
        with torch.no_grad():
            times = time_runs(lambda: model(x), n, max(2, min(5, runs // 4)))
        median = statistics.median(times)
        row = {"model": name, "batch": b, "runs": n, "multiplyAdds": macs * b,
               "medianMilliseconds": median * 1e3, "minMilliseconds": min(times) * 1e3,
               "imagesPerSecond": b / median, "gflops": 2.0 * macs * b / median / 1e9}
        rows.append(row)
        log("  batch %4d: median %9.3f ms  (min %.3f)  %9.0f images/s  %6.1f GFLOP/s"
            % (b, row["medianMilliseconds"], row["minMilliseconds"], row["imagesPerSecond"], row["gflops"]))
    log("  batch-1 latency: %.3f ms" % next((r["medianMilliseconds"] for r in rows if r["batch"] == 1), float("nan")))
    return rows


def bench_train(name, description, batch, steps, lr, momentum, weight_decay, implementation, log):
    """Images/s of SGD training steps (forward in train mode, cross-entropy, backward, step)."""
    model = seeded_model(description, implementation).train()
    inp = description["input"]
    classes = len(description["classes"])
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(batch, inp["channels"], inp["height"], inp["width"], generator=gen)
    y = torch.randint(0, classes, (batch,), generator=gen)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits, _ = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()

    times = time_runs(step, steps, 5)
    median = statistics.median(times)
    result = {"model": name, "batch": batch, "steps": steps, "optimizer": "SGD", "learningRate": lr,
              "momentum": momentum, "weightDecay": weight_decay,
              "medianStepMilliseconds": median * 1e3, "minStepMilliseconds": min(times) * 1e3,
              "imagesPerSecond": batch / median}
    log("train %s: batch %d, SGD momentum %g: median step %.1f ms (min %.1f), %.0f images/s"
        % (name, batch, momentum, result["medianStepMilliseconds"], result["minStepMilliseconds"],
           result["imagesPerSecond"]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="PyTorch CPU baseline of `dyconv bench` (forward latency/throughput, sgemm peak, training).")
    parser.add_argument("--model", nargs="+", default=None, metavar="FAMILY",
                        help="built-in families (%s); default dycnn dy-mobilenetv2 unless --architecture is given"
                        % ", ".join(dt.FAMILIES))
    parser.add_argument("--architecture", nargs="+", default=[], metavar="FILE",
                        help="architecture JSON files (`dyconv describe M --json`) or dyconv checkpoints")
    parser.add_argument("--batch", nargs="+", type=int, default=[1, 16, 64, 256], help="batch sizes")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per measurement (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--hidden-reduction", type=int, default=4,
                        help="built-in families: attention hidden = max(in // R, --min-hidden) (default 4)")
    parser.add_argument("--min-hidden", type=int, default=4, help="built-in families: smallest attention width")
    parser.add_argument("--impl", choices=("auto", "grouped"), default="auto",
                        help="dynamic convs: 'grouped' = one grouped conv per layer (the oracle's way); "
                             "'auto' (default) = ungrouped 1×1 convs as one batched matmul, others grouped")
    parser.add_argument("--no-peak", action="store_true", help="skip the sgemm peak")
    parser.add_argument("--no-forward", action="store_true", help="skip the forward benchmark")
    parser.add_argument("--train", action="store_true", help="measure training throughput")
    parser.add_argument("--train-model", default="dycnn", help="family trained by --train (default dycnn)")
    parser.add_argument("--train-batch", type=int, default=128, help="--train batch size (default 128)")
    parser.add_argument("--train-steps", type=int, default=20, help="--train timed steps (default 20)")
    parser.add_argument("--lr", type=float, default=0.1, help="--train learning rate (default 0.1)")
    parser.add_argument("--momentum", type=float, default=0.9, help="--train momentum (default 0.9)")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="--train weight decay (default 1e-4)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    if any(b < 1 for b in args.batch):
        parser.error("--batch sizes must be at least 1")
    if args.hidden_reduction < 1 or args.min_hidden < 1:
        parser.error("--hidden-reduction and --min-hidden must be at least 1")
    if args.train_batch < 1 or args.train_steps < 1:
        parser.error("--train-batch and --train-steps must be at least 1")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    log = (lambda _: None) if args.json else print

    models = []
    families = args.model if args.model is not None else ([] if args.architecture else ["dycnn", "dy-mobilenetv2"])
    try:
        for family in families:
            models.append((family, dt.named(family, args.hidden_reduction, args.min_hidden)))
        for path in args.architecture:
            description = load_architecture(path)
            dt.DyConvModel(description)  # validates the description before timing anything
            models.append((description.get("family", os.path.basename(path)), description))
        train_description = dt.named(args.train_model, args.hidden_reduction, args.min_hidden) if args.train else None
    except dt.DescriptionError as error:
        fail(str(error))

    report = {"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine(), "implementation": args.impl,
              "sgemmPeakGflops": None, "results": []}
    log("PyTorch %s, %d threads, dynamic conv implementation '%s'"
        % (torch.__version__, torch.get_num_threads(), args.impl))
    if not args.no_peak:
        report["sgemmPeakGflops"] = sgemm_peak(args.runs)
        log("sgemm peak (torch.mm 2048², fp32, %d threads): %.1f GFLOP/s"
            % (torch.get_num_threads(), report["sgemmPeakGflops"]))
    if not args.no_forward:
        for name, description in models:
            report["results"] += bench_forward(name, description, args.batch, args.runs, args.impl, log)
    if args.train:
        report["train"] = bench_train(args.train_model, train_description, args.train_batch, args.train_steps,
                                      args.lr, args.momentum, args.weight_decay, args.impl, log)
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
