#!/usr/bin/env python3
"""Writes the fixtures of the `tardelean-*` import presets (issue #10, item 5).

TArdelean/DynamicConvolution trains `ResNet10`, `ResNet18` (CIFAR-style stem, `CustomSequential`
containers whose children live in `.layers`) and `MobileNetV2` with its `DynamicConvolution`
module. The modules below are written here, not copied: they reproduce only what a checkpoint
and a forward pass of that code depend on — every parameter name and shape of the state_dict,
the order of the operations, strides, paddings, groups — at reduced widths so that each fixture
stays under ~300 KB:

- `DynamicConvolution`: `kernels_weights [K, out, in/groups, k, k]`, optional `kernels_bias
  [K, out]`, `attention.to_scores.0` (Linear in → hidden, hidden = max(1, in // reduce)), ReLU,
  `attention.to_scores.2` (Linear hidden → K); π = softmax(scores / τ) of the global average pool;
  τ is an argument of `forward`, never in the state_dict.
- ResNet: static `conv1` (3×3, stride 1, no bias) + `bn1` + ReLU, four `layerN` of BasicBlocks
  (`layerN.layers.M.conv1/bn1/conv2/bn2`, dynamic 3×3 convs without bias, stride 2 at the first
  block of layers 2–4, `shortcut.layers.0` a dynamic 1×1 conv + `shortcut.layers.1` a BatchNorm
  when the shape changes), ReLU after the sum, adaptive average pool, `linear`, log-softmax.
- MobileNetV2: `features.layers.0.layers.{0,1}` static 3×3 stride-2 conv + BN + ReLU6, 17
  InvertedResiduals `features.layers.i.conv.layers.j` (every conv dynamic, the depthwise one
  with groups = hidden; t = 1: dw, BN, ReLU6, pw, BN; else pw, BN, ReLU6, dw, BN, ReLU6, pw, BN;
  identity added when stride 1 and in == out), `conv.layers.{0,1}` dynamic 1×1 + BN + ReLU6,
  average pool, `classifier`, raw logits. Their code fixes the last width at 1280 for width
  multipliers ≤ 1; the fixture uses a smaller one (a width read from the tensors, not a rule).

Per preset, in Tests/DyConvImportTests/Fixtures/tardelean-<model>/:
  model.pth            torch.save, in the layout the fixture exercises (see FIXTURES)
  model.safetensors    the same state_dict, plain names
  image<i>.png         the committed images (Pillow, synthetic patterns at the input size)
  expected.safetensors `input` [N, C, H, W] (the PNGs, /255, normalised), `probabilities`
                       [N, classes] and `pi.<module path>` [N, K] per dynamic convolution at the
                       fixture's τ, `probabilities_tau4` at τ = 4, computed in float64 by PyTorch
                       in eval mode under no_grad: the oracle (tests/Fixture.swift reads it).
  classes.txt          class names, one a line (ResNet fixtures: CIFAR-10's)
  README.md            the import command and what each file is

Run from the repository root: `python3 tools/make_tardelean_fixtures.py` (PyTorch, safetensors,
Pillow; tests never need Python). Seeded, so re-running rewrites the same values.
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "DyConvImportTests", "Fixtures")
K = 4
REDUCE = 4
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])   # their TinyImageNet/Imagenette transform
CIFAR = ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010])   # kuangliu/pytorch-cifar, their ResNet's origin
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# -- modules in TArdelean's layout ---------------------------------------------

class AttentionLayer(nn.Module):
    """GAP → Linear → ReLU → Linear; parameters `to_scores.0.*` and `to_scores.2.*`."""
    def __init__(self, channels, hidden, kernels):
        super().__init__()
        self.to_scores = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, kernels))

    def forward(self, x, tau):
        return F.softmax(self.to_scores(x.mean(dim=(2, 3))) / tau, dim=-1)


class DynamicConvolution(nn.Module):
    def __init__(self, cin, cout, kernel, stride=1, padding=0, groups=1, bias=False):
        super().__init__()
        self.stride, self.padding, self.groups = stride, padding, groups
        self.attention = AttentionLayer(cin, max(1, cin // REDUCE), K)
        self.kernels_weights = nn.Parameter(torch.empty(K, cout, cin // groups, kernel, kernel))
        self.kernels_bias = nn.Parameter(torch.empty(K, cout)) if bias else None
        self.pi = None   # the last forward's π, [N, K]: the oracle reads it

    def forward(self, x, tau):
        pi = self.attention(x, tau)
        self.pi = pi
        # Per sample: mix the K kernels with that sample's π, then an ordinary convolution.
        outs = []
        for n in range(x.shape[0]):
            w = torch.einsum("k,koihw->oihw", pi[n], self.kernels_weights)
            b = pi[n] @ self.kernels_bias if self.kernels_bias is not None else None
            outs.append(F.conv2d(x[n:n + 1], w, b, self.stride, self.padding, 1, self.groups))
        return torch.cat(outs)


class Sequence(nn.Module):
    """Their CustomSequential: children in `.layers`, τ handed to the dynamic ones."""
    def __init__(self, *modules):
        super().__init__()
        self.layers = nn.ModuleList(modules)

    def forward(self, x, tau):
        for m in self.layers:
            x = m(x, tau) if isinstance(m, (DynamicConvolution, Sequence, BasicBlock, InvertedResidual)) else m(x)
        return x


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = DynamicConvolution(cin, cout, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = DynamicConvolution(cout, cout, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = Sequence()
        if stride != 1 or cin != cout:
            self.shortcut = Sequence(DynamicConvolution(cin, cout, 1, stride, 0), nn.BatchNorm2d(cout))

    def forward(self, x, tau):
        out = F.relu(self.bn1(self.conv1(x, tau)))
        out = self.bn2(self.conv2(out, tau))
        return F.relu(out + self.shortcut(x, tau))


class ResNet(nn.Module):
    def __init__(self, blocks, nf, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, nf, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        cin = nf
        for stage, (n, stride) in enumerate(zip(blocks, [1, 2, 2, 2]), start=1):
            width = nf * 2 ** (stage - 1)
            mods = []
            for i in range(n):
                mods.append(BasicBlock(cin, width, stride if i == 0 else 1))
                cin = width
            setattr(self, f"layer{stage}", Sequence(*mods))
        self.linear = nn.Linear(cin, classes)

    def forward(self, x, tau):
        out = F.relu(self.bn1(self.conv1(x)))
        for stage in range(1, 5):
            out = getattr(self, f"layer{stage}")(out, tau)
        return F.log_softmax(self.linear(out.mean(dim=(2, 3))), dim=1)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = round(cin * expand)
        self.identity = stride == 1 and cin == cout
        mods = []
        if expand != 1:
            mods += [DynamicConvolution(cin, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU6()]
        mods += [DynamicConvolution(hidden, hidden, 3, stride, 1, groups=hidden), nn.BatchNorm2d(hidden), nn.ReLU6(),
                 DynamicConvolution(hidden, cout, 1), nn.BatchNorm2d(cout)]
        self.conv = Sequence(*mods)

    def forward(self, x, tau):
        return x + self.conv(x, tau) if self.identity else self.conv(x, tau)


# Their cfgs (t, n, s) with the fixture's reduced output widths c.
MOBILENET_CFG = [(1, 1, 1), (6, 2, 2), (6, 3, 2), (6, 4, 2), (6, 3, 1), (6, 3, 2), (6, 1, 1)]


class MobileNetV2(nn.Module):
    def __init__(self, stem, widths, expand, last, classes):
        super().__init__()
        mods = [Sequence(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6())]
        cin = stem
        for (t, n, s), c in zip(MOBILENET_CFG, widths):
            for i in range(n):
                mods.append(InvertedResidual(cin, c, s if i == 0 else 1, t if t == 1 else expand))
                cin = c
        self.features = Sequence(*mods)
        self.conv = Sequence(DynamicConvolution(cin, last, 1), nn.BatchNorm2d(last), nn.ReLU6())
        self.classifier = nn.Linear(last, classes)

    def forward(self, x, tau):
        x = self.conv(self.features(x, tau), tau)
        return self.classifier(x.mean(dim=(2, 3)))


# -- seeded parameters ---------------------------------------------------------

def randomize(model, classifier, gen, calibration, tau, dtype):
    """Seeded parameters; BatchNorm running statistics and attention logits calibrated on a batch.

    Each BatchNorm gets running statistics near the true statistics of its input on
    `calibration`, perturbed (so they matter and activations stay O(1)), and random affine
    parameters. Each attention branch is rescaled so that its scores vary between the
    calibration images by about τ (π neither uniform nor one-hot).
    """
    def normal(shape, std):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    def uniform(shape, lo, hi):
        return torch.rand(*shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo

    def calibrate_bn(m, args):
        x = args[0]
        mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
        m.running_mean.copy_(mean + normal(mean.shape, 0.2) * var.sqrt())
        # The floor (a tenth of the layer's mean variance) keeps a nearly constant channel from
        # being scaled up 30-fold: that would amplify float32 rounding beyond the 1e-4 check.
        m.running_var.copy_(var * uniform(var.shape, 0.6, 1.6) + 0.1 * var.mean() + 1e-3)

    def calibrate_attention(m, args):
        fc1, fc2 = m.attention.to_scores[0], m.attention.to_scores[2]
        pooled = args[0].mean(dim=(2, 3))
        # Shift each hidden unit so that it is positive on three quarters of the batch: a unit
        # dead on every image (likely when hidden = 1) would make π the same for all of them.
        fc1.bias.sub_(torch.quantile(fc1(pooled), 0.25, dim=0))
        hidden = torch.relu(fc1(pooled))
        spread = (hidden @ fc2.weight.T).std(dim=0).mean().item()
        # At most 3×: a larger gain on scores that hardly vary would amplify rounding instead.
        fc2.weight.mul_(min(tau / max(spread, 1e-6), 3.0))
        fc2.bias.copy_(-(hidden @ fc2.weight.T).mean(dim=0) + normal((K,), 0.5 * tau))

    hooks = []
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(normal(m.weight.shape, math.sqrt(2.0 / m.weight[0].numel())))
            elif isinstance(m, DynamicConvolution):
                w = m.kernels_weights
                w.copy_(normal(w.shape, math.sqrt(2.0 / w[0, 0].numel())))
                fc1 = m.attention.to_scores[0]
                fc1.weight.copy_(normal(fc1.weight.shape, 2.0 / math.sqrt(fc1.in_features)))
                fc1.bias.copy_(normal(fc1.bias.shape, 0.2))
                hooks.append(m.register_forward_pre_hook(calibrate_attention))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(uniform(m.weight.shape, 0.5, 1.0))
                m.bias.copy_(normal(m.bias.shape, 0.2))
                hooks.append(m.register_forward_pre_hook(calibrate_bn))
            elif m is classifier:
                m.weight.copy_(normal(m.weight.shape, 2.0 / math.sqrt(m.in_features)))
                m.bias.copy_(normal(m.bias.shape, 0.2))
        model.eval()
        model(calibration, tau)
        for h in hooks:
            h.remove()
        # Round every parameter to the dtype the checkpoint stores, keep computing in float64.
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.to(dtype).double())


# -- images --------------------------------------------------------------------

def pattern(index, size, gen):
    """A synthetic RGB image: coloured gradients, a disc and stripes, different per index."""
    h = w = size
    y = torch.linspace(0, 1, h, dtype=torch.float64).view(h, 1).expand(h, w)
    x = torch.linspace(0, 1, w, dtype=torch.float64).view(1, w).expand(h, w)
    phase = torch.rand(6, generator=gen, dtype=torch.float64) * 6.28
    r = 0.5 + 0.5 * torch.sin(6 * x * (index + 1) + phase[0]) * torch.cos(4 * y + phase[1])
    g = 0.5 + 0.5 * torch.sin(5 * (x + y) + phase[2] + index)
    b = 0.5 + 0.5 * torch.cos(8 * y * (2 - index % 2) + phase[3])
    cx, cy = 0.3 + 0.4 * torch.rand(2, generator=gen, dtype=torch.float64)
    disc = ((x - cx) ** 2 + (y - cy) ** 2 < 0.06).double()
    rgb = torch.stack([r * (1 - disc) + disc * (index % 3 == 0),
                       g * (1 - disc) + disc * 0.8,
                       b * (1 - disc) + disc * (index % 2)], dim=-1)
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8)


def write_images(folder, count, size, mean, std, gen):
    """Writes image<i>.png; returns the normalised batch read back from the files, [N, 3, H, W]."""
    inputs = []
    for i in range(count):
        path = os.path.join(folder, f"image{i}.png")
        Image.fromarray(pattern(i, size, gen).numpy(), "RGB").save(path, optimize=True)
        pixels = torch.frombuffer(bytearray(Image.open(path).convert("RGB").tobytes()), dtype=torch.uint8)
        chw = pixels.view(size, size, 3).permute(2, 0, 1).double() / 255.0
        inputs.append((chw - torch.tensor(mean, dtype=torch.float64).view(3, 1, 1))
                      / torch.tensor(std, dtype=torch.float64).view(3, 1, 1))
    return torch.stack(inputs)


# -- fixtures ------------------------------------------------------------------

def resnet10():
    return ResNet([1, 1, 1, 1], nf=2, classes=10)


def resnet18():
    return ResNet([2, 2, 2, 2], nf=2, classes=10)


def mobilenetv2():
    # Expansion 2 instead of their 6 keeps the fixture small; the importer reads every hidden
    # width from the tensors, so the ratio is not part of the layout.
    return MobileNetV2(stem=4, widths=[4, 4, 4, 4, 4, 4, 8], expand=2, last=16, classes=20)


def training_checkpoint(sd, model):
    """What their utils.save_checkpoint writes: the state_dict under "model" beside the
    optimizer's and scheduler's state (SGD and StepLR as in configs/Resnet_DY_*.yaml)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 30, 0.1)
    # One step with gradients on the classifier only: the optimizer's state then holds momentum
    # buffers (tensors beside the state_dict, as after training) while the file stays small.
    # `sd` is a copy: the step changes `model`, not the tensors saved under "model".
    for p in model.linear.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    scheduler.step()
    return {"model": sd, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "epoch": 100}


def data_parallel(sd, model):
    """A DataParallel model's state_dict (`module.` prefixes) nested under "state_dict"."""
    return {"state_dict": {"module." + k: v for k, v in sd.items()}}


def plain(sd, model):
    return sd


# name, builder, input side, normalisation, τ, image count, how model.pth nests the state_dict,
# stored dtype (F16 for ResNet-18: a `model.half()` checkpoint, and half the size).
FIXTURES = [
    ("tardelean-resnet10", resnet10, 32, CIFAR, 1.0, 3, training_checkpoint, torch.float32),
    ("tardelean-resnet18", resnet18, 32, CIFAR, 1.0, 3, data_parallel, torch.float16),
    ("tardelean-mobilenetv2", mobilenetv2, 32, IMAGENET, 2.0, 3, plain, torch.float32),
]


def build(name, make, side, norm, tau, count, nesting, dtype, seed):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = make().double()
    x = write_images(folder, count, side, norm[0], norm[1], gen)
    calibration = torch.cat([x, torch.randn(29, 3, side, side, generator=gen, dtype=torch.float64)])
    randomize(model, model.linear if isinstance(model, ResNet) else model.classifier, gen, calibration, tau, dtype)

    expected = {"input": x.float().contiguous()}
    with torch.no_grad():
        expected["probabilities_tau4"] = probabilities(model, model(x, 4.0)).float().contiguous()
        expected["probabilities"] = probabilities(model, model(x, tau)).float().contiguous()
    for path, m in model.named_modules():
        if isinstance(m, DynamicConvolution):
            expected["pi." + path] = m.pi.float().contiguous()
    save_file(expected, os.path.join(folder, "expected.safetensors"),
              metadata={"oracle": f"PyTorch float64, eval, no_grad, tau {tau:g}"})   # one key: safetensors orders several at random

    sd = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    stored = make().to(dtype)
    stored.load_state_dict(sd)   # the saved state_dict loads into the module it describes
    torch.save(nesting(sd, stored), os.path.join(folder, "model.pth"))
    save_file(sd, os.path.join(folder, "model.safetensors"))

    check_conditioning(name, make, sd, x, tau, expected)

    dynamic = sum(1 for k in expected if k.startswith("pi."))
    classes = expected["probabilities"].shape[1]
    if classes == len(CIFAR10_CLASSES):
        with open(os.path.join(folder, "classes.txt"), "w") as f:
            f.write("\n".join(CIFAR10_CLASSES) + "\n")
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write(f"# {name} fixture\n\nWritten by `tools/make_tardelean_fixtures.py` (seed {seed}): "
                f"{dynamic} dynamic convolutions, K = {K}, {classes} classes, input 3×{side}×{side}, τ = {tau}, "
                f"stored as {str(dtype).replace('torch.', '')}.\n"
                f"`model.pth` nests the state_dict as `{nesting.__name__}` does; `model.safetensors` holds it plainly; "
                f"`expected.safetensors` holds the normalised `input` of `image*.png`, PyTorch's `probabilities` "
                f"(and `probabilities_tau4`) and `pi.<module path>` per dynamic convolution.\n\n"
                f"    dyconv import model.pth --from {name} --input 3x{side}x{side} "
                f"--mean {','.join(map(str, norm[0]))} --std {','.join(map(str, norm[1]))} --tau {tau:g}"
                f"{' --classes classes.txt' if classes == len(CIFAR10_CLASSES) else ''} --out {name}.safetensors\n")
    sizes = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
    print(name, json.dumps(sizes), "total", sum(sizes.values()), "argmax", expected["probabilities"].argmax(1).tolist())


def probabilities(model, out):
    """Class probabilities: their ResNet returns log-probabilities, MobileNetV2 logits."""
    return out.exp() if isinstance(model, ResNet) else F.softmax(out, dim=1)


def check_conditioning(name, make, sd, x, tau, expected):
    """PyTorch itself in float32 must agree with the float64 oracle to 2e-5, so the Swift test's
    1e-4 measures dyconv, not a network that amplifies rounding (seen with larger attention gains)."""
    model = make()
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    model.eval()
    with torch.no_grad():
        out = model(x.float(), tau)
    worst = (probabilities(model, out) - expected["probabilities"]).abs().max().item()
    for path, m in model.named_modules():
        if isinstance(m, DynamicConvolution):
            worst = max(worst, (m.pi - expected["pi." + path]).abs().max().item())
    if worst > 2e-5:
        sys.exit(f"{name}: PyTorch float32 differs from the float64 oracle by {worst:.2g}; the fixture is ill-conditioned")


def main():
    for seed, fixture in enumerate(FIXTURES, start=10):
        build(*fixture, seed=seed)


if __name__ == "__main__":
    sys.exit(main())
