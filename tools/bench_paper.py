#!/usr/bin/env python3
"""Paper-scale benchmark: dyconv against PyTorch on the issue's three models, side by side.

    python3 tools/bench_paper.py [--dyconv .build/release/dyconv] [--rounds 3] [--runs 10]

Models (seeded random weights, eval mode, torch.no_grad(), the same threads on both sides):

  * kaijieshi7-dy-resnet18 at 3×32×32 (CIFAR input, batches 1 and 64) and at 3×224×224
    (batches 1 and 16): kaijieshi7/Dynamic-convolution-Pytorch's `dy_resnet18` — torchvision's
    ResNet-18 layout and ImageNet stem (static 7×7 `conv1`, max-pool), every other convolution
    a `Dynamic_conv2d` with K = 4, τ = 34, no conv bias, attention GAP → 1×1 conv (no bias,
    hidden = int(in·0.25) + 1) → ReLU → 1×1 conv (bias) → softmax(z/τ). The PyTorch side is
    `KaijieshiDynamicConv2d` below, written to those semantics: the kernels of the whole batch
    are aggregated with one matrix product π·W (a per-sample weight), and the convolution runs
    as one grouped convolution over the batch (groups = batch size). The dyconv side is the
    same architecture as a JSON description (`dyconv bench --architecture`).
  * dy-mobilenetv2 ×1.0 at 224² (batches 1 and 16): the project's family; PyTorch runs it with
    tools/dyconv_torch.py (grouped convolutions, 1×1 dynamic convs as batched matmuls), as
    tools/bench_pytorch.py does.

Rounds alternate dyconv and PyTorch so that load changes on this shared machine hit both alike;
the table holds the median over rounds of each side's median, the speed-up PyTorch ms / dyconv
ms, dyconv's GFLOP/s as a share of the sgemm peak, and for the 32² batch-1 pass the
weight-streaming floor: the bytes of all parameters (the K kernel banks are read once per
image) over the memory-read bandwidth. `dyconv bench` measures the peak (2048³ OpenBLAS sgemm)
and the bandwidth (streaming read of 256 MiB) in the same run, on the same threads.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, batches) in table order; the architecture of each is built by `description(name)`.
MODELS = [("kaijieshi7-dy-resnet18-32", [1, 64]), ("kaijieshi7-dy-resnet18-224", [1, 16]),
          ("dy-mobilenetv2", [1, 16])]
KERNELS, TEMPERATURE = 4, 34.0


def description(name):
    """The architecture JSON of a benchmark model (the dyconv ModelDescription encoding)."""
    sys.path.insert(0, HERE)
    import dyconv_torch as dt
    if name == "dy-mobilenetv2":
        return dt.named(name)
    resolution = int(name.rsplit("-", 1)[1])
    classes = 10 if resolution == 32 else 1000
    d = dt.resnet18(kernels=KERNELS, temperature=TEMPERATURE, classes=classes, resolution=resolution)

    def patch(layers):   # kaijieshi7's attention width: int(in·0.25) + 1 (K for RGB input)
        for spec in layers:
            if spec["op"] == "conv" and spec["routing"] != "static":
                cin = spec["inChannels"]
                spec["attention"]["hidden"] = KERNELS if cin == 3 else int(cin * 0.25) + 1
            elif spec["op"] == "residual":
                patch(spec["body"]); patch(spec["shortcut"])
    patch(d["layers"])
    d["family"] = name
    if classes == 10:
        d["classes"] = list(dt.CIFAR10_CLASSES)
    return d


# -- the PyTorch side ------------------------------------------------------------------------

def torch_models():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class KaijieshiDynamicConv2d(nn.Module):
        """kaijieshi7's `Dynamic_conv2d` semantics: weight [K, out, in/g, k, k], per-sample
        aggregated kernels π·W, one grouped convolution over the batch."""

        def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, kernels=KERNELS,
                     temperature=TEMPERATURE):
            super().__init__()
            hidden = kernels if cin == 3 else int(cin * 0.25) + 1
            self.cin, self.cout, self.kernel, self.stride, self.padding, self.groups = \
                cin, cout, kernel, stride, padding, groups
            self.kernels, self.temperature = kernels, temperature
            self.fc1 = nn.Conv2d(cin, hidden, 1, bias=False)
            self.fc2 = nn.Conv2d(hidden, kernels, 1, bias=True)
            self.weight = nn.Parameter(torch.randn(kernels, cout, cin // groups, kernel, kernel)
                                       * (2.0 / (cin // groups * kernel * kernel)) ** 0.5)

        def forward(self, x):
            n, _, h, w = x.shape
            z = self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))).flatten(1)
            pi = F.softmax(z / self.temperature, dim=1)                               # [N, K]
            mixed = torch.mm(pi, self.weight.view(self.kernels, -1))                  # [N, out·in/g·k·k]
            mixed = mixed.view(n * self.cout, self.cin // self.groups, self.kernel, self.kernel)
            y = F.conv2d(x.reshape(1, n * self.cin, h, w), mixed, None, self.stride, self.padding, 1,
                         self.groups * n)
            return y.view(n, self.cout, y.shape[-2], y.shape[-1])

    class BasicBlock(nn.Module):
        def __init__(self, cin, width, stride):
            super().__init__()
            self.conv1 = KaijieshiDynamicConv2d(cin, width, 3, stride, 1)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = KaijieshiDynamicConv2d(width, width, 3, 1, 1)
            self.bn2 = nn.BatchNorm2d(width)
            self.downsample = None
            if stride != 1 or cin != width:
                self.downsample = nn.Sequential(KaijieshiDynamicConv2d(cin, width, 1, stride, 0),
                                                nn.BatchNorm2d(width))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.downsample is None else self.downsample(x)))

    class DyResNet18(nn.Module):
        """torchvision's ResNet-18 layout with the ImageNet stem (static conv1), as kaijieshi7's."""

        def __init__(self, classes):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            stages, cin = [], 64
            for stage, width in enumerate((64, 128, 256, 512)):
                blocks = [BasicBlock(cin, width, 2 if stage > 0 else 1), BasicBlock(width, width, 1)]
                stages.append(nn.Sequential(*blocks))
                cin = width
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.fc = nn.Linear(512, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return DyResNet18


def torch_worker(args):
    """One PyTorch round: JSON {"results": [...], "parameterBytes": {...}} on stdout."""
    import torch
    sys.path.insert(0, HERE)
    import bench_pytorch as bp
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    DyResNet18 = torch_models()
    rows, sizes = [], {}
    for name, batches in MODELS:
        d = description(name)
        if name.startswith("kaijieshi7"):
            model = DyResNet18(len(d["classes"])).eval()
        else:
            model = bp.seeded_model(d, "auto")
        sizes[name] = 4 * sum(p.numel() for p in model.parameters())
        inp = d["input"]
        for b in batches:
            x = torch.randn(b, inp["channels"], inp["height"], inp["width"], generator=torch.Generator().manual_seed(7))
            with torch.no_grad():
                times = bp.time_runs(lambda: model(x), args.runs, max(2, args.runs // 4))
            rows.append({"model": name, "batch": b, "medianMilliseconds": statistics.median(times) * 1e3})
    print(json.dumps({"results": rows, "parameterBytes": sizes, "torch": torch.__version__}))


# -- the comparison --------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dyconv", default=os.path.join(HERE, "..", ".build", "release", "dyconv"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=10, help="timed runs per measurement (median)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.torch_worker:
        return torch_worker(args)

    env = dict(os.environ, DYCONV_THREADS=str(args.threads))
    ours, theirs, peaks, bandwidths, sizes = {}, {}, [], [], {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name, _ in MODELS:
            files[name] = os.path.join(tmp, name + ".json")
            with open(files[name], "w") as f:
                json.dump(description(name), f)
        for r in range(args.rounds):
            print("round %d/%d ..." % (r + 1, args.rounds), file=sys.stderr)
            for i, (name, batches) in enumerate(MODELS):
                cmd = [args.dyconv, "bench", "--architecture", files[name], "--batch", *map(str, batches),
                       "--runs", str(args.runs), "--threads", str(args.threads), "--json"]
                if i > 0:
                    cmd.append("--no-peak")
                d = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
                if i == 0:
                    peaks.append(d["sgemmPeakGflops"]); bandwidths.append(d["memoryReadGBps"])
                for row in d["results"]:
                    ours.setdefault((name, row["batch"]), []).append(row)
            t = json.loads(subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", "--runs",
                                           str(args.runs), "--threads", str(args.threads)],
                                          check=True, capture_output=True, text=True).stdout)
            sizes = t["parameterBytes"]
            for row in t["results"]:
                theirs.setdefault((row["model"], row["batch"]), []).append(row["medianMilliseconds"])

    med = statistics.median
    peak, bandwidth = med(peaks), med(bandwidths)
    print("sgemm peak (OpenBLAS 2048³, %d threads): %.1f GFLOP/s; memory read: %.1f GB/s; medians of %d rounds"
          % (args.threads, peak, bandwidth, args.rounds))
    print()
    print("| model | batch | dyconv ms | PyTorch ms | speed-up | dyconv GFLOP/s | % of sgemm peak | weight-streaming floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, batches in MODELS:
        for b in batches:
            a = med([row["medianMilliseconds"] for row in ours[(name, b)]])
            t = med(theirs[(name, b)])
            g = med([row["gflops"] for row in ours[(name, b)]])
            floor = ""
            if name.endswith("-32") and b == 1:
                ms = sizes[name] / (bandwidth * 1e9) * 1e3
                floor = "%.1f MB / %.1f GB/s = %.2f ms (dyconv %.2f×)" % (sizes[name] / 1e6, bandwidth, ms, a / ms)
            print("| %s | %d | %.2f | %.2f | %.2f× | %.1f | %.0f %% | %s |"
                  % (name, b, a, t, t / a, g, 100 * g / peak, floor))


if __name__ == "__main__":
    sys.exit(main())
