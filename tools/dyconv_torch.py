#!/usr/bin/env python3
"""PyTorch reference interpreter of dyconv model descriptions (the test oracle).

Builds an `nn.Module` from the project's architecture JSON (the
`dyconv.architecture` metadata of a checkpoint, see
Sources/DyConvEngine/Architectures/ModelDescription.swift) whose `state_dict`
keys are exactly the checkpoint's tensor names, runs it with a per-layer
attention trace, and reads/writes the project's safetensors checkpoint format.

Semantics (must match the Swift engine):
  * static conv:   y = conv2d(x, W, b)
  * dynamic conv:  z = fc2(ReLU(fc1(GAP(x)))) on the conv's input x;
                   π = softmax(z/τ) (routing "softmax", Dynamic Convolution) or
                   π = sigmoid(z/τ) (routing "sigmoid", CondConv);
                   W̃ = Σ_k π_k W_k, b̃ = Σ_k π_k b_k, y = conv2d(x, W̃) + b̃,
                   computed per sample with one grouped convolution
                   (input [1, N*C, H, W], weight [N*out, in/g, k, k], groups N*g);
                   `set_implementation("auto")` runs ungrouped 1×1 convs as a
                   batched matmul instead (same result, faster; for benchmarks).
  * batchnorm uses running statistics in eval mode (batch statistics in train mode);
  * avgpool counts padding (count_include_pad=True); pools use floor mode;
  * linear flattens its input; residual computes body(x) + shortcut(x)
    (an empty shortcut is the identity).

Command line (inspect a checkpoint written by dyconv or by this module):
    python3 tools/dyconv_torch.py CHECKPOINT.safetensors [--batch N] [--seed S]
                                  [--temperature T]
prints the parameter count, the logits of N seeded random-normal inputs and
each dynamic layer's attention π.
"""

import argparse
import json
import os
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT = "dyconv"
FORMAT_VERSION = "1"
ARCHITECTURE_KEY = "dyconv.architecture"

ROUTINGS = ("static", "softmax", "sigmoid")
ACTIVATIONS = ("relu", "relu6", "hardswish")
MODES = ("attention", "average", "max")


class DescriptionError(ValueError):
    """A model description that cannot be interpreted (message names the layer)."""


def _require(spec, keys, what):
    missing = [k for k in keys if k not in spec]
    if missing:
        raise DescriptionError("%s is missing field(s) %s" % (what, ", ".join(missing)))


class Namespace(nn.Module):
    """An empty module that only groups children, so dotted names nest like a state_dict."""

    def forward(self, *args):  # pragma: no cover - never called
        raise RuntimeError("Namespace modules are containers and are not callable")


class Attention(nn.Module):
    """Attention branch of a dynamic convolution: GAP → fc1 → ReLU → fc2 (→ z)."""

    def __init__(self, in_channels, hidden, kernels, fc1_bias):
        super().__init__()
        self.fc1 = nn.Linear(in_channels, hidden, bias=fc1_bias)
        self.fc2 = nn.Linear(hidden, kernels, bias=True)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))


def routing_function(z, routing, tau):
    """π from attention logits z `[N, K]`: softmax(z/τ) or sigmoid(z/τ)."""
    if routing == "softmax":
        return torch.softmax(z / tau, dim=1)
    if routing == "sigmoid":
        return torch.sigmoid(z / tau)
    raise DescriptionError("routing '%s' has no attention" % routing)


def applied_coefficients(pi, mode):
    """The coefficients an aggregation mode applies (deterministic modes only)."""
    if mode == "attention":
        return pi
    if mode == "average":
        return torch.full_like(pi, 1.0 / pi.shape[1])
    if mode == "max":
        return F.one_hot(pi.argmax(dim=1), pi.shape[1]).to(pi.dtype)
    raise ValueError("aggregation mode '%s' is not one of %s" % (mode, ", ".join(MODES)))


class DynamicConv2d(nn.Module):
    """K kernels mixed per sample by an attention branch (softmax or sigmoid routing).

    Parameters: `weight [K, out, in/g, k, k]`, optional `bias [K, out]`,
    `attention.fc1.{weight,bias?}`, `attention.fc2.{weight,bias}`.
    """

    def __init__(self, spec):
        super().__init__()
        self.name = spec["name"]
        self.routing = spec["routing"]
        self.kernels = spec["kernels"]
        self.out_channels = spec["outChannels"]
        self.stride = spec["stride"]
        self.padding = spec["padding"]
        self.groups = spec["groups"]
        self.trained_temperature = float(spec["attention"]["temperature"])
        self.implementation = "grouped"
        k = spec["kernel"]
        self.weight = nn.Parameter(torch.empty(self.kernels, self.out_channels,
                                               spec["inChannels"] // self.groups, k, k))
        if spec["bias"]:
            self.bias = nn.Parameter(torch.empty(self.kernels, self.out_channels))
        else:
            self.register_parameter("bias", None)
        a = spec["attention"]
        self.attention = Attention(spec["inChannels"], a["hidden"], self.kernels, a["fc1Bias"])

    def aggregate(self, coefficients):
        """Per-sample kernel `[N*out, in/g, k, k]` and bias `[N*out]` (or None)."""
        n = coefficients.shape[0]
        w = (coefficients @ self.weight.reshape(self.kernels, -1))
        w = w.reshape(n * self.out_channels, *self.weight.shape[2:])
        b = None if self.bias is None else (coefficients @ self.bias).reshape(-1)
        return w, b

    def forward(self, x, tau=None, mode="attention"):
        """Returns (y, z, π) for an input `[N, C, H, W]`."""
        tau = self.trained_temperature if tau is None else float(tau)
        z = self.attention(x)
        pi = routing_function(z, self.routing, tau)
        coefficients = applied_coefficients(pi, mode)
        n, c, h, w = x.shape
        weight, bias = self.aggregate(coefficients)
        if (self.implementation == "auto" and self.groups == 1 and weight.shape[2] == 1
                and weight.shape[3] == 1 and self.padding == 0):
            # A pointwise conv is a batched matrix product: y[n] = W̃[n] · x[n] (+ b̃[n]).
            if self.stride > 1:
                x = x[:, :, ::self.stride, ::self.stride]
            oh, ow = x.shape[2], x.shape[3]
            y = torch.bmm(weight.reshape(n, self.out_channels, c), x.reshape(n, c, oh * ow))
            if bias is not None:
                y = y + bias.reshape(n, self.out_channels, 1)
            return y.reshape(n, self.out_channels, oh, ow), z, pi
        y = F.conv2d(x.reshape(1, n * c, h, w), weight, bias, stride=self.stride,
                     padding=self.padding, groups=n * self.groups)
        return y.reshape(n, self.out_channels, y.shape[2], y.shape[3]), z, pi

    def naive_forward(self, x, coefficients):
        """Σ_k c_k conv(x, W_k) + Σ_k c_k b_k, one sample at a time (slow; for checking)."""
        outputs = []
        for i in range(x.shape[0]):
            acc = 0
            for k in range(self.kernels):
                b = None if self.bias is None else self.bias[k]
                acc = acc + coefficients[i, k] * F.conv2d(
                    x[i:i + 1], self.weight[k], b, stride=self.stride,
                    padding=self.padding, groups=self.groups)
            outputs.append(acc)
        return torch.cat(outputs, dim=0)


class DyConvModel(nn.Module):
    """An interpreter of a dyconv `ModelDescription` (a dict decoded from its JSON)."""

    def __init__(self, description):
        super().__init__()
        if isinstance(description, str):
            description = json.loads(description)
        _require(description, ("family", "input", "normalization", "classes", "layers"), "model description")
        self.description = description
        self._leaves = {}
        self.program = self._build(description["layers"], "layers")
        self.dynamic_layer_names = [name for name, m in self._leaves.items()
                                    if isinstance(m, DynamicConv2d)]

    # -- construction -------------------------------------------------------

    def _attach(self, name, module):
        if not name or any(part == "" for part in name.split(".")):
            raise DescriptionError("layer name '%s' is not a valid dotted name" % name)
        if name in self._leaves:
            raise DescriptionError("layer name '%s' is used twice" % name)
        parent = self
        parts = name.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = parent._modules.get(part)
            if child is None:
                child = Namespace()
                parent.add_module(part, child)
            elif not isinstance(child, Namespace):
                raise DescriptionError("layer name '%s' nests inside layer '%s'"
                                       % (name, ".".join(parts[:depth + 1])))
            parent = child
        if parts[-1] in parent._modules:
            raise DescriptionError("layer name '%s' collides with another layer's prefix" % name)
        parent.add_module(parts[-1], module)
        self._leaves[name] = module
        return module

    def _build(self, layers, where):
        program = []
        for index, spec in enumerate(layers):
            what = "%s[%d]" % (where, index)
            if not isinstance(spec, dict) or "op" not in spec:
                raise DescriptionError("%s has no 'op'" % what)
            op = spec["op"]
            if op == "conv":
                _require(spec, ("name", "inChannels", "outChannels", "kernel", "stride", "padding",
                                "groups", "bias", "routing", "kernels"), "conv " + what)
                what = "conv '%s'" % spec["name"]
                if spec["routing"] not in ROUTINGS:
                    raise DescriptionError("%s: routing '%s' is not one of %s"
                                           % (what, spec["routing"], ", ".join(ROUTINGS)))
                if spec["inChannels"] % spec["groups"] or spec["outChannels"] % spec["groups"]:
                    raise DescriptionError("%s: groups must divide in and out channels" % what)
                if spec["routing"] == "static":
                    if spec["kernels"] != 1 or spec.get("attention") is not None:
                        raise DescriptionError("%s: static conv needs kernels = 1 and no attention" % what)
                    module = nn.Conv2d(spec["inChannels"], spec["outChannels"], spec["kernel"],
                                       stride=spec["stride"], padding=spec["padding"],
                                       groups=spec["groups"], bias=spec["bias"])
                    program.append(("conv", self._attach(spec["name"], module)))
                else:
                    a = spec.get("attention")
                    if a is None:
                        raise DescriptionError("%s: dynamic conv needs an attention spec" % what)
                    _require(a, ("hidden", "fc1Bias", "temperature"), what + " attention")
                    if not a["temperature"] > 0:
                        raise DescriptionError("%s: temperature must be > 0" % what)
                    program.append(("dynamic", self._attach(spec["name"], DynamicConv2d(spec))))
            elif op == "batchnorm":
                _require(spec, ("name", "channels", "eps"), "batchnorm " + what)
                module = nn.BatchNorm2d(spec["channels"], eps=spec["eps"])
                program.append(("batchnorm", self._attach(spec["name"], module)))
            elif op == "activation":
                _require(spec, ("kind",), "activation " + what)
                if spec["kind"] not in ACTIVATIONS:
                    raise DescriptionError("%s: activation '%s' is not one of %s"
                                           % (what, spec["kind"], ", ".join(ACTIVATIONS)))
                program.append(("activation", spec["kind"]))
            elif op in ("maxpool", "avgpool"):
                _require(spec, ("kernel", "stride", "padding"), op + " " + what)
                program.append((op, (spec["kernel"], spec["stride"], spec["padding"])))
            elif op == "gap":
                program.append(("gap", None))
            elif op == "linear":
                _require(spec, ("name", "inFeatures", "outFeatures", "bias"), "linear " + what)
                module = nn.Linear(spec["inFeatures"], spec["outFeatures"], bias=spec["bias"])
                program.append(("linear", self._attach(spec["name"], module)))
            elif op == "residual":
                _require(spec, ("body",), "residual " + what)
                body = self._build(spec["body"], what + ".body")
                shortcut = self._build(spec.get("shortcut") or [], what + ".shortcut")
                program.append(("residual", (body, shortcut)))
            else:
                raise DescriptionError("%s: unknown layer op '%s'" % (what, op))
        return program

    # -- execution ----------------------------------------------------------

    def forward(self, x, temperature=None, layer_temperatures=None, mode="attention"):
        """Runs the model; returns (logits, trace).

        `trace` maps each dynamic layer name (execution order) to a dict with
        `z` (attention logits `[N, K]`), `pi` (routing output `[N, K]`) and `tau`.
        `temperature` overrides every layer's trained τ; `layer_temperatures`
        (name → τ) wins over it, like the Swift `ForwardOptions`.
        """
        trace = {}
        y = self._run(self.program, x, temperature, layer_temperatures or {}, mode, trace)
        return y, trace

    def _run(self, program, x, temperature, layer_temperatures, mode, trace):
        for kind, arg in program:
            if kind == "conv" or kind == "batchnorm" or kind == "linear":
                if kind == "linear":
                    x = x.flatten(1)
                x = arg(x)
            elif kind == "dynamic":
                tau = layer_temperatures.get(arg.name, temperature)
                tau = arg.trained_temperature if tau is None else tau
                x, z, pi = arg(x, tau=tau, mode=mode)
                trace[arg.name] = {"z": z, "pi": pi, "tau": float(tau)}
            elif kind == "activation":
                if arg == "relu":
                    x = F.relu(x)
                elif arg == "relu6":
                    x = F.relu6(x)
                else:
                    x = F.hardswish(x)
            elif kind == "maxpool":
                k, s, p = arg
                x = F.max_pool2d(x, k, s, p)
            elif kind == "avgpool":
                k, s, p = arg
                x = F.avg_pool2d(x, k, s, p, count_include_pad=True)
            elif kind == "gap":
                x = x.mean(dim=(2, 3))
            elif kind == "residual":
                body, shortcut = arg
                x = (self._run(body, x, temperature, layer_temperatures, mode, trace)
                     + self._run(shortcut, x, temperature, layer_temperatures, mode, trace))
            else:  # pragma: no cover - _build only emits the kinds above
                raise AssertionError(kind)
        return x

    def set_implementation(self, implementation):
        """How dynamic convs run: "grouped" (one grouped conv; the oracle's default) or "auto"
        (pointwise convs without groups as one batched matmul, which is faster on CPUs)."""
        if implementation not in ("grouped", "auto"):
            raise ValueError("implementation '%s' is not 'grouped' or 'auto'" % implementation)
        for m in self._leaves.values():
            if isinstance(m, DynamicConv2d):
                m.implementation = implementation
        return self

    # -- parameters ---------------------------------------------------------

    def checkpoint_tensors(self):
        """The model's tensors under their checkpoint names (float32, contiguous, CPU)."""
        return {name: t.detach().to(device="cpu", dtype=torch.float32).contiguous()
                for name, t in self.state_dict().items()
                if not name.endswith(".num_batches_tracked")}

    def load_checkpoint_tensors(self, tensors, source="checkpoint"):
        """Loads tensors named like the checkpoint; raises ValueError naming the first problem."""
        expected = {k: v for k, v in self.state_dict().items() if not k.endswith(".num_batches_tracked")}
        missing = sorted(set(expected) - set(tensors))
        unexpected = sorted(set(tensors) - set(expected))
        if missing:
            raise ValueError("%s: tensor '%s' is missing" % (source, missing[0]))
        if unexpected:
            raise ValueError("%s: tensor '%s' is not part of the architecture" % (source, unexpected[0]))
        for name, t in tensors.items():
            if tuple(t.shape) != tuple(expected[name].shape):
                raise ValueError("%s: tensor '%s' has shape %s, expected %s"
                                 % (source, name, list(t.shape), list(expected[name].shape)))
        self.load_state_dict(dict(tensors), strict=False)


def read_checkpoint(path):
    """Reads a dyconv checkpoint; returns (model in eval mode, description dict, metadata)."""
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    if ARCHITECTURE_KEY not in metadata:
        raise ValueError("%s: no '%s' metadata (not a dyconv checkpoint)" % (path, ARCHITECTURE_KEY))
    description = json.loads(metadata[ARCHITECTURE_KEY])
    model = DyConvModel(description)
    model.load_checkpoint_tensors({k: v.float() for k, v in tensors.items()}, source=path)
    model.eval()
    return model, description, metadata


def write_safetensors(tensors, path, metadata):
    """Writes a safetensors file atomically (temporary file in the same directory, then rename)."""
    from safetensors.torch import save_file
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=directory)
    os.close(fd)
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)
        _canonicalize_header(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; use the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _canonicalize_header(path):
    """Rewrites a safetensors header with sorted keys, so equal content gives equal bytes.

    (The metadata map's order is otherwise arbitrary.) The header keeps its length.
    """
    import struct
    with open(path, "r+b") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length).decode("utf-8"))
        text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > length:  # pragma: no cover - same content is never longer than compact JSON + padding
            return
        f.seek(8)
        f.write(text + b" " * (length - len(text)))


def write_checkpoint(model, path, extra_metadata=None):
    """Writes `model` in the project's checkpoint format (F32 tensors + architecture JSON)."""
    metadata = {"format": FORMAT, "dyconv.format_version": FORMAT_VERSION,
                ARCHITECTURE_KEY: json.dumps(model.description, sort_keys=True)}
    metadata.update(extra_metadata or {})
    write_safetensors(model.checkpoint_tensors(), path, metadata)


# -- description builders (the same JSON the Swift ModelDescription encodes) --

def conv(name, cin, cout, kernel, stride=1, padding=None, groups=1, bias=False,
         routing="static", kernels=4, hidden=None, fc1_bias=False, temperature=1.0,
         reduction=4, min_hidden=4):
    """A conv layer spec; dynamic when routing is "softmax" or "sigmoid".

    The attention width defaults to max(cin // reduction, min_hidden).
    """
    spec = {"op": "conv", "name": name, "inChannels": cin, "outChannels": cout, "kernel": kernel,
            "stride": stride, "padding": kernel // 2 if padding is None else padding,
            "groups": groups, "bias": bias, "routing": routing,
            "kernels": 1 if routing == "static" else kernels}
    if routing != "static":
        spec["attention"] = {"hidden": hidden if hidden is not None else max(cin // reduction, min_hidden),
                             "fc1Bias": fc1_bias, "temperature": float(temperature)}
    return spec


def batchnorm(name, channels, eps=1e-5):
    return {"op": "batchnorm", "name": name, "channels": channels, "eps": eps}


def activation(kind):
    return {"op": "activation", "kind": kind}


def maxpool(kernel, stride, padding=0):
    return {"op": "maxpool", "kernel": kernel, "stride": stride, "padding": padding}


def avgpool(kernel, stride, padding=0):
    return {"op": "avgpool", "kernel": kernel, "stride": stride, "padding": padding}


def gap():
    return {"op": "gap"}


def linear(name, fin, fout, bias=True):
    return {"op": "linear", "name": name, "inFeatures": fin, "outFeatures": fout, "bias": bias}


def residual(body, shortcut=()):
    return {"op": "residual", "body": list(body), "shortcut": list(shortcut)}


FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]


def dycnn(widths=(16, 32, 64), routing="softmax", kernels=4, temperature=1.0, bias=False,
          fc1_bias=False, reduction=4, min_hidden=4, classes=None, family=None):
    """The dycnn family: 28×28×1, static stem conv+BN+ReLU, 6 convs (stride 2 at layer2.0, layer3.0)."""
    classes = list(classes or FASHION_MNIST_CLASSES)
    layers = [conv("stem.conv", 1, widths[0], 3, bias=bias), batchnorm("stem.bn", widths[0]),
              activation("relu")]
    cin = widths[0]
    for stage, width in enumerate(widths, start=1):
        for block in range(2):
            stride = 2 if (block == 0 and stage > 1) else 1
            name = "layer%d.%d" % (stage, block)
            layers += [conv(name + ".conv", cin, width, 3, stride=stride, bias=bias, routing=routing,
                            kernels=kernels, fc1_bias=fc1_bias, temperature=temperature,
                            reduction=reduction, min_hidden=min_hidden),
                       batchnorm(name + ".bn", width), activation("relu")]
            cin = width
    layers += [gap(), linear("fc", cin, len(classes))]
    if family is None:
        family = {"static": "dycnn-static", "softmax": "dycnn", "sigmoid": "dycnn-condconv"}[routing]
    return {"family": family, "input": {"channels": 1, "height": 28, "width": 28},
            "normalization": {"mean": [0.2860], "std": [0.3530]},
            "classes": classes, "layers": layers}


def resnet18(routing="softmax", kernels=4, temperature=1.0, classes=1000, resolution=224,
             reduction=4, min_hidden=4):
    """Dy-ResNet-18 in torchvision's layout and names: every conv dynamic except `conv1`."""
    dyn = dict(routing=routing, kernels=kernels, temperature=temperature, reduction=reduction,
               min_hidden=min_hidden)
    layers = [conv("conv1", 3, 64, 7, stride=2, padding=3), batchnorm("bn1", 64), activation("relu"),
              maxpool(3, 2, 1)]
    cin = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            name = "layer%d.%d" % (stage + 1, block)
            stride = 2 if (stage > 0 and block == 0) else 1
            body = [conv(name + ".conv1", cin, width, 3, stride=stride, **dyn), batchnorm(name + ".bn1", width),
                    activation("relu"),
                    conv(name + ".conv2", width, width, 3, **dyn), batchnorm(name + ".bn2", width)]
            shortcut = []
            if stride != 1 or cin != width:
                shortcut = [conv(name + ".downsample.0", cin, width, 1, stride=stride, **dyn),
                            batchnorm(name + ".downsample.1", width)]
            layers += [residual(body, shortcut), activation("relu")]
            cin = width
    layers += [gap(), linear("fc", 512, classes)]
    return {"family": _prefixed("resnet18", routing),
            "input": {"channels": 3, "height": resolution, "width": resolution},
            "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "classes": ["class %d" % i for i in range(classes)], "layers": layers}


def _prefixed(base, routing):
    return {"softmax": "dy-" + base, "sigmoid": "condconv-" + base, "static": base}[routing]


def _make_divisible(v, divisor=8, min_value=None):
    # torchvision's rounding of MobileNetV2 channel counts.
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def mobilenet_v2(width_multiplier=1.0, resolution=224, classes=1000, routing="softmax", kernels=4,
                 temperature=1.0, reduction=4, min_hidden=4, fc1_bias=False):
    """Dy-MobileNetV2 in torchvision's layout: every conv dynamic except the first (features.0.0)."""
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    dyn = dict(routing=routing, kernels=kernels, temperature=temperature, reduction=reduction,
               min_hidden=min_hidden, fc1_bias=fc1_bias)
    cin = _make_divisible(32 * width_multiplier)
    last = _make_divisible(1280 * max(1.0, width_multiplier))
    layers = [conv("features.0.0", 3, cin, 3, stride=2), batchnorm("features.0.1", cin), activation("relu6")]
    index = 1
    for t, c, n, s in settings:
        cout = _make_divisible(c * width_multiplier)
        for i in range(n):
            stride = s if i == 0 else 1
            p = "features.%d.conv" % index
            hidden = cin * t
            body = []
            j = 0
            if t != 1:
                body += [conv("%s.%d.0" % (p, j), cin, hidden, 1, **dyn),
                         batchnorm("%s.%d.1" % (p, j), hidden), activation("relu6")]
                j += 1
            body += [conv("%s.%d.0" % (p, j), hidden, hidden, 3, stride=stride, groups=hidden, **dyn),
                     batchnorm("%s.%d.1" % (p, j), hidden), activation("relu6"),
                     conv("%s.%d" % (p, j + 1), hidden, cout, 1, **dyn),
                     batchnorm("%s.%d" % (p, j + 2), cout)]
            if stride == 1 and cin == cout:
                layers.append(residual(body))
            else:
                layers += body
            cin = cout
            index += 1
    layers += [conv("features.%d.0" % index, cin, last, 1, **dyn), batchnorm("features.%d.1" % index, last),
               activation("relu6"), gap(), linear("classifier.1", last, classes)]
    suffix = "" if width_multiplier == 1 else "-%g" % width_multiplier
    return {"family": _prefixed("mobilenetv2", routing) + suffix,
            "input": {"channels": 3, "height": resolution, "width": resolution},
            "normalization": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "classes": ["class %d" % i for i in range(classes)], "layers": layers}


# The family names of the Swift `Families.named(_:)`, with the same architectures.
FAMILIES = {
    "dycnn": lambda **h: dycnn(**h),
    "dycnn-static": lambda **h: dycnn(routing="static", **h),
    "dycnn-condconv": lambda **h: dycnn(routing="sigmoid", **h),
    "dycnn-small": lambda **h: dycnn(widths=(8, 16, 32), **h),
    "dy-resnet18": lambda **h: resnet18(**h),
    "resnet18": lambda **h: resnet18(routing="static", **h),
    "condconv-resnet18": lambda **h: resnet18(routing="sigmoid", **h),
    "dy-mobilenetv2": lambda **h: mobilenet_v2(**h),
    "dy-mobilenetv2-0.5": lambda **h: mobilenet_v2(width_multiplier=0.5, **h),
    "dy-mobilenetv2-0.35": lambda **h: mobilenet_v2(width_multiplier=0.35, **h),
    "mobilenetv2": lambda **h: mobilenet_v2(routing="static", **h),
    "condconv-mobilenetv2": lambda **h: mobilenet_v2(routing="sigmoid", **h),
}


def named(family, reduction=4, min_hidden=4):
    """A family's description by name (as `dyconv describe NAME --json` prints it).

    The attention width of every dynamic conv is max(in // reduction, min_hidden).
    """
    if family not in FAMILIES:
        raise DescriptionError("unknown model family '%s'; known: %s" % (family, ", ".join(FAMILIES)))
    return FAMILIES[family](reduction=reduction, min_hidden=min_hidden)


def multiply_adds(description):
    """Multiply-adds of one image, counted like the Swift `ModelDescription.multiplyAdds()`.

    Convolutions (plus, for dynamic ones, the attention FCs and the aggregation Σ π_k W_k)
    and linear layers; pooling and elementwise work are not counted.
    """
    total = 0

    def visit(layers, shape):
        nonlocal total
        for spec in layers:
            op = spec["op"]
            if op == "conv":
                k, s, p, g = spec["kernel"], spec["stride"], spec["padding"], spec["groups"]
                h = (shape[1] + 2 * p - k) // s + 1
                w = (shape[2] + 2 * p - k) // s + 1
                weights = spec["outChannels"] * (spec["inChannels"] // g) * k * k
                total += weights * h * w
                if spec["routing"] != "static":
                    hidden = spec["attention"]["hidden"]
                    total += spec["inChannels"] * hidden + hidden * spec["kernels"] + spec["kernels"] * weights
                shape = [spec["outChannels"], h, w]
            elif op == "linear":
                total += spec["inFeatures"] * spec["outFeatures"]
                shape = [spec["outFeatures"]]
            elif op == "residual":
                out = visit(spec["body"], shape)
                visit(spec.get("shortcut") or [], shape)
                shape = out
            elif op in ("maxpool", "avgpool"):
                k, s, p = spec["kernel"], spec["stride"], spec["padding"]
                shape = [shape[0], (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
            elif op == "gap":
                shape = [shape[0]]
        return shape

    inp = description["input"]
    visit(description["layers"], [inp["channels"], inp["height"], inp["width"]])
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run a dyconv checkpoint with the PyTorch reference.")
    parser.add_argument("checkpoint", help="a .safetensors checkpoint written by dyconv")
    parser.add_argument("--batch", type=int, default=2, help="number of random-normal inputs (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the inputs (default 0)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="τ for every dynamic layer (default: each layer's trained τ)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be ≥ 1")
    if args.temperature is not None and not args.temperature > 0:
        parser.error("--temperature must be > 0")
    try:
        model, description, _ = read_checkpoint(args.checkpoint)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.stderr.write("dyconv_torch.py: %s\n" % error)
        return 1
    inp = description["input"]
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, inp["channels"], inp["height"], inp["width"], generator=g)
    with torch.no_grad():
        logits, trace = model(x, temperature=args.temperature)
    count = sum(t.numel() for t in model.checkpoint_tensors().values())
    print("%s: family %s, %d parameters, %d dynamic layers"
          % (args.checkpoint, description["family"], count, len(trace)))
    torch.set_printoptions(precision=5, sci_mode=False, linewidth=120)
    print("logits:\n%s" % logits)
    for name, t in trace.items():
        print("%s (τ=%g) π:\n%s" % (name, t["tau"], t["pi"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
