#!/usr/bin/env python3
"""Writes the import fixtures of Tests/DyConvImportTests/Fixtures/{kaijieshi7-resnet18,
kaijieshi7-resnet34,dyconv}/ (issue #10, item 5) — the oracle the Swift import tests match.

The kaijieshi7 networks are this script's own modules following the public layout of
kaijieshi7/Dynamic-convolution-Pytorch (`Dynamic_conv2d` + `attention2d` in dynamic_conv.py,
`dynamic_models/dy_resnet.py`): a static 7×7 stride-2 stem without bias, BatchNorm, 3×3 max pool,
BasicBlocks whose 3×3 convs and 1×1 `downsample.0` are dynamic (bias=False, K = 4), `fc`. Their
attention: GAP → `fc1` 1×1 conv without bias (hidden = int(in·0.25)+1, K when in = 3) → ReLU →
`fc2` 1×1 conv with bias → softmax(z/τ). Widths are reduced (the fixtures stay small); the
BatchNorm running statistics and the attention biases are randomised so that they matter.

The `dyconv` fixture is a `tools/dyconv_torch.py` `DyConvModel` of the dycnn layout
(Families.dycnn, reduced widths, 3×16×16 input), saved as a plain state_dict.

Each folder holds the network as `model.pth` (torch.save; resnet18: nested
`{"state_dict": …, "epoch": …}` with DataParallel's `module.` prefixes) and (not resnet34, to
stay small) `model.safetensors`; the kaijieshi7 folders a `classes.txt` (CIFAR-10's names),
a few PNG images (synthetic patterns, Pillow), and `expected.safetensors`: `input` (the images
as PyTorch normalised them, [N, C, H, W]), `probabilities` (softmax of the logits, eval mode,
no_grad, τ = 1), `probabilities_tau4` (τ = 4 in every layer) and `pi.<layer>` ([N, K], τ = 1)
per dynamic layer.

Run from the repository root: `python3 tools/make_import_fixtures.py` (PyTorch, safetensors,
Pillow; the tests never need Python). Seeded: re-running rewrites the same values.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
import dyconv_torch  # noqa: E402  (the project's own PyTorch layout)

ROOT = os.path.join(os.path.dirname(__file__), "..", "Tests", "DyConvImportTests", "Fixtures")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


# -- the kaijieshi7 layout ----------------------------------------------------------------------

class Attention2d(nn.Module):
    """kaijieshi7's attention2d: 1×1-conv FCs, fc1 without bias, softmax(z/τ)."""

    def __init__(self, in_planes, kernels):
        super().__init__()
        hidden = kernels if in_planes == 3 else int(in_planes * 0.25) + 1
        self.fc1 = nn.Conv2d(in_planes, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, kernels, 1, bias=True)
        self.temperature = 1.0

    def forward(self, x):
        z = self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))).flatten(1)
        return F.softmax(z / self.temperature, dim=1)


class DynamicConv2d(nn.Module):
    """kaijieshi7's Dynamic_conv2d: weight [K, out, in/g, k, k], optional bias [K, out]."""

    def __init__(self, in_planes, out_planes, kernel_size, stride=1, padding=0, bias=False, kernels=4):
        super().__init__()
        self.stride, self.padding, self.out_planes = stride, padding, out_planes
        self.attention = Attention2d(in_planes, kernels)
        self.weight = nn.Parameter(torch.randn(kernels, out_planes, in_planes, kernel_size, kernel_size)
                                   * (2.0 / (in_planes * kernel_size * kernel_size)) ** 0.5)
        self.bias = nn.Parameter(torch.randn(kernels, out_planes) * 0.1) if bias else None
        self.last_pi = None

    def forward(self, x):
        pi = self.attention(x)
        self.last_pi = pi
        n = x.shape[0]
        w = (pi @ self.weight.flatten(1)).reshape(n * self.out_planes, *self.weight.shape[2:])
        b = None if self.bias is None else (pi @ self.bias).reshape(-1)
        y = F.conv2d(x.reshape(1, -1, *x.shape[2:]), w, b, stride=self.stride, padding=self.padding, groups=n)
        return y.reshape(n, self.out_planes, *y.shape[2:])


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = DynamicConv2d(inplanes, planes, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = DynamicConv2d(planes, planes, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(DynamicConv2d(inplanes, planes, 1, stride=stride), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, blocks, widths, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        inplanes = widths[0]
        for stage, (count, width) in enumerate(zip(blocks, widths)):
            layers = []
            for block in range(count):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(inplanes, width, stride))
                inplanes = width
            setattr(self, "layer%d" % (stage + 1), nn.Sequential(*layers))
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for stage in range(1, 5):
            x = getattr(self, "layer%d" % stage)(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def dynamic_layers(self):
        return [(name, m) for name, m in self.named_modules() if isinstance(m, DynamicConv2d)]

    def set_temperature(self, tau):
        for _, m in self.dynamic_layers():
            m.attention.temperature = tau


def randomise(model):
    """BatchNorm statistics and affine parameters, attention biases: values that matter."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.6, 1.4)
            m.bias.data.uniform_(-0.2, 0.2)
            m.num_batches_tracked.fill_(123)
        if isinstance(m, Attention2d):
            m.fc2.bias.data.uniform_(-1, 1)
            m.fc1.weight.data.mul_(3)
            m.fc2.weight.data.mul_(3)
    model.fc.weight.data.mul_(8)   # logits far apart, so a wrong import shows in the probabilities


# -- images ------------------------------------------------------------------------------------

def images(size, count):
    """Synthetic RGB patterns (gradients, rings, checks, stripes) as uint8 arrays."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    out = []
    for i in range(count):
        if i % 4 == 0:
            rgb = np.stack([xx, yy, 1 - xx * yy], -1)
        elif i % 4 == 1:
            r = np.sqrt((xx - 0.5) ** 2 + (yy - 0.4) ** 2)
            rgb = np.stack([0.5 + 0.5 * np.cos(r * 25), 0.3 + 0.2 * xx, 0.5 - 0.5 * np.cos(r * 15)], -1)
        elif i % 4 == 2:
            c = ((np.floor(xx * 6) + np.floor(yy * 6)) % 2)
            rgb = np.stack([c, 0.2 + 0.6 * yy, 1 - c * 0.7], -1)
        else:
            s = 0.5 + 0.5 * np.sin((xx * 3 + yy) * 9)
            rgb = np.stack([s * 0.9, 1 - s, 0.4 + 0.3 * xx], -1)
        out.append((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))
    return out


def write_images(folder, arrays, mean, std):
    """PNG files plus the input PyTorch feeds (ToTensor, then Normalize)."""
    inputs = []
    for i, a in enumerate(arrays):
        path = os.path.join(folder, "image%d.png" % i)
        Image.fromarray(a, "RGB").save(path)
        back = np.asarray(Image.open(path).convert("RGB"))   # what a decoder will read
        x = torch.from_numpy(back.copy()).permute(2, 0, 1).float() / 255.0
        x = (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)
        inputs.append(x)
    return torch.stack(inputs)


# -- writers -----------------------------------------------------------------------------------

def kaijieshi7(name, blocks, widths, nested, safetensors=True):
    torch.manual_seed(10 + len(blocks) + sum(blocks))
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    model = ResNet(blocks, widths, 10)
    randomise(model)
    model.eval()
    x = write_images(folder, images(32, 4), CIFAR_MEAN, CIFAR_STD)
    expected = {"input": x}
    with torch.no_grad():
        model.set_temperature(1.0)
        expected["probabilities"] = F.softmax(model(x), dim=1)
        for layer, m in model.dynamic_layers():
            expected["pi." + layer] = m.last_pi.clone()
        model.set_temperature(4.0)
        expected["probabilities_tau4"] = F.softmax(model(x), dim=1)
    state = model.state_dict()
    if nested:
        # As a DataParallel training script saves it.
        obj = {"epoch": 160, "state_dict": {"module." + k: v for k, v in state.items()}}
    else:
        obj = state
    torch.save(obj, os.path.join(folder, "model.pth"))
    if safetensors:
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "model.safetensors"))
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(folder, "expected.safetensors"))
    with open(os.path.join(folder, "classes.txt"), "w") as f:
        f.write("\n".join(["airplane", "automobile", "bird", "cat", "deer",
                           "dog", "frog", "horse", "ship", "truck"]) + "\n")
    print(name, sum(p.numel() for p in state.values()), "values,",
          len(model.dynamic_layers()), "dynamic layers")


def dycnn_description(widths, channels, side, classes):
    """Families.dycnn's layers (tools/dyconv_torch.py reads this JSON)."""
    def conv(name, i, o, stride, dynamic):
        spec = {"op": "conv", "name": name, "inChannels": i, "outChannels": o, "kernel": 3, "stride": stride,
                "padding": 1, "groups": 1, "bias": False, "routing": "softmax" if dynamic else "static",
                "kernels": 4 if dynamic else 1}
        if dynamic:
            spec["attention"] = {"hidden": max(i // 4, 4), "fc1Bias": False, "temperature": 1.0}
        return spec
    layers = [conv("stem.conv", channels, widths[0], 1, False),
              {"op": "batchnorm", "name": "stem.bn", "channels": widths[0], "eps": 1e-5},
              {"op": "activation", "kind": "relu"}]
    inc = widths[0]
    for stage, width in enumerate(widths):
        for block in range(2):
            name = "layer%d.%d" % (stage + 1, block)
            layers += [conv(name + ".conv", inc, width, 2 if stage > 0 and block == 0 else 1, True),
                       {"op": "batchnorm", "name": name + ".bn", "channels": width, "eps": 1e-5},
                       {"op": "activation", "kind": "relu"}]
            inc = width
    layers += [{"op": "gap"}, {"op": "linear", "name": "fc", "inFeatures": inc, "outFeatures": classes, "bias": True}]
    return {"family": "dycnn", "input": {"channels": channels, "height": side, "width": side},
            "normalization": {"mean": list(CIFAR_MEAN), "std": list(CIFAR_STD)},
            "classes": ["class %d" % i for i in range(classes)], "layers": layers}


def dyconv_fixture():
    torch.manual_seed(7)
    folder = os.path.join(ROOT, "dyconv")
    os.makedirs(folder, exist_ok=True)
    model = dyconv_torch.DyConvModel(dycnn_description([4, 8, 8], 3, 16, 5))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.5 if p.dim() > 1 else 0.3))
        model.fc.weight.mul_(6)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    x = write_images(folder, images(16, 3), CIFAR_MEAN, CIFAR_STD)
    expected = {"input": x}
    with torch.no_grad():
        logits, trace = model(x)
        expected["probabilities"] = F.softmax(logits, dim=1)
        for layer, t in trace.items():
            expected["pi." + layer] = t["pi"].clone()
        logits4, _ = model(x, temperature=4.0)
        expected["probabilities_tau4"] = F.softmax(logits4, dim=1)
    state = model.state_dict()
    torch.save(state, os.path.join(folder, "model.pth"))
    save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "model.safetensors"))
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(folder, "expected.safetensors"))
    print("dyconv", sum(p.numel() for p in state.values()), "values")


if __name__ == "__main__":
    kaijieshi7("kaijieshi7-resnet18", [2, 2, 2, 2], [4, 4, 8, 8], nested=True)
    # The safetensors path is covered by resnet18 and dyconv; resnet34 stays under 300 KB.
    kaijieshi7("kaijieshi7-resnet34", [3, 4, 6, 3], [4, 4, 4, 8], nested=False, safetensors=False)
    dyconv_fixture()
