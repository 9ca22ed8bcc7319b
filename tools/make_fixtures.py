#!/usr/bin/env python3
"""Regenerate: pip install -r tools/requirements.txt && python3 tools/make_fixtures.py

Writes the PyTorch reference fixtures the Swift engine tests compare against
(Tests/DyConvEngineTests/PyTorchFixtureTests.swift), into
Tests/DyConvEngineTests/Fixtures/:

  NAME.safetensors     a small seeded random model in dyconv's checkpoint format
                       (F32 tensors, metadata format/dyconv.format_version/
                       dyconv.architecture);
  NAME.io.safetensors  F32 tensors: `input` [N,C,H,W] (already normalised),
                       `logits` [N,classes], and per dynamic layer L `z.L` and
                       `pi.L` [N,K] computed with the trained τ and aggregation
                       mode "attention"; plus extra cases under a key prefix
                       (`tau7.logits`, `tau7.z.L`, `tau7.pi.L`, and for modes
                       other than "attention" `<prefix>applied.L`). The metadata key
                       `dyconv.fixture.cases` lists every case as JSON:
                       [{"prefix", "temperature", "layerTemperatures", "mode"}].

Fixtures:
  dycnn_softmax       28×28×1, widths 8/16/32, static stem, 6 dynamic 3×3 convs
                      (stride 2 at layer2.0 and layer3.0), K=4, softmax, τ=1, no biases;
                      extra cases τ=7, per-layer τ, aggregation modes average and max.
  dycnn_softmax_bias  the same with conv biases, fc1 biases and trained τ = 2.5; case τ=7.
  dycnn_condconv      the same as dycnn_softmax with sigmoid routing (CondConv); case τ=7.
  dyresnet_slice      3×32×32, torchvision ResNet names: stem conv+BN+ReLU, maxpool,
                      a basic block with identity shortcut, a stride-2 block with a
                      dynamic 1×1 downsample, ReLU after each residual, gap, fc; case τ=7.
  dymobilenetv2_slice 3×32×32, torchvision MobileNetV2 names: stride-2 stem + ReLU6,
                      inverted residual t=1 (dynamic depthwise + dynamic projection),
                      inverted residual t=6 with identity residual, static 1×1 conv +
                      hardswish, avgpool 3/2/1 (count_include_pad), gap, linear; per-layer
                      trained τ and fc1 biases; case τ=7.

Reference outputs are computed in float64 from the stored F32 parameters and
inputs and stored as F32. Before writing, the script asserts that (1) the
grouped-convolution forward of every dynamic layer equals a naive per-sample
loop Σ_k π_k conv(x, W_k) + Σ_k π_k b_k within 1e-5 (in float64 and float32),
(2) softmax π sums to 1, (3) a float32 forward agrees with the float64
reference within 2e-5, so a 1e-4 test tolerance is meaningful, (4) the
benchmark's "auto" implementation (1×1 convs as batched matmuls) gives the
same logits, and (5) the checkpoint written reads back into an identical model.

Usage: python3 tools/make_fixtures.py [--output DIR] [--seed S]
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dyconv_torch as dt  # noqa: E402

BATCH = 3
KERNELS = 4
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                              "Tests", "DyConvEngineTests", "Fixtures")


# -- architectures -----------------------------------------------------------

def fixture_dycnn(routing, bias, fc1_bias, temperature, family):
    return dt.dycnn(widths=(8, 16, 32), routing=routing, kernels=KERNELS, temperature=temperature,
                    bias=bias, fc1_bias=fc1_bias, family=family)


def fixture_resnet():
    dyn = dict(routing="softmax", kernels=KERNELS)
    layers = [
        dt.conv("conv1", 3, 16, 3, stride=1, padding=1), dt.batchnorm("bn1", 16), dt.activation("relu"),
        dt.maxpool(3, 2, 1),
        dt.residual([dt.conv("layer1.0.conv1", 16, 16, 3, **dyn), dt.batchnorm("layer1.0.bn1", 16),
                     dt.activation("relu"),
                     dt.conv("layer1.0.conv2", 16, 16, 3, **dyn), dt.batchnorm("layer1.0.bn2", 16)]),
        dt.activation("relu"),
        dt.residual([dt.conv("layer2.0.conv1", 16, 32, 3, stride=2, **dyn), dt.batchnorm("layer2.0.bn1", 32),
                     dt.activation("relu"),
                     dt.conv("layer2.0.conv2", 32, 32, 3, **dyn), dt.batchnorm("layer2.0.bn2", 32)],
                    [dt.conv("layer2.0.downsample.0", 16, 32, 1, stride=2, padding=0, **dyn),
                     dt.batchnorm("layer2.0.downsample.1", 32)]),
        dt.activation("relu"),
        dt.gap(), dt.linear("fc", 32, 10),
    ]
    return {"family": "dy-resnet", "input": {"channels": 3, "height": 32, "width": 32},
            "normalization": {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]},
            "classes": list(dt.CIFAR10_CLASSES), "layers": layers}


def fixture_mobilenet():
    def dyn(tau):
        return dict(routing="softmax", kernels=KERNELS, fc1_bias=True, temperature=tau)
    layers = [
        dt.conv("features.0.0", 3, 16, 3, stride=2, padding=1), dt.batchnorm("features.0.1", 16),
        dt.activation("relu6"),
        # Inverted residual, expansion 1: depthwise 3×3 → BN → ReLU6 → 1×1 projection → BN.
        dt.conv("features.1.conv.0.0", 16, 16, 3, groups=16, **dyn(1.0)),
        dt.batchnorm("features.1.conv.0.1", 16), dt.activation("relu6"),
        dt.conv("features.1.conv.1", 16, 8, 1, **dyn(1.5)), dt.batchnorm("features.1.conv.2", 8),
        # Inverted residual, expansion 6, identity residual.
        dt.residual([
            dt.conv("features.2.conv.0.0", 8, 48, 1, **dyn(2.0)), dt.batchnorm("features.2.conv.0.1", 48),
            dt.activation("relu6"),
            dt.conv("features.2.conv.1.0", 48, 48, 3, groups=48, **dyn(0.8)),
            dt.batchnorm("features.2.conv.1.1", 48), dt.activation("relu6"),
            dt.conv("features.2.conv.2", 48, 8, 1, **dyn(1.2)), dt.batchnorm("features.2.conv.3", 8),
        ]),
        dt.conv("features.3.0", 8, 32, 1), dt.batchnorm("features.3.1", 32), dt.activation("hardswish"),
        dt.avgpool(3, 2, 1),
        dt.gap(), dt.linear("classifier.1", 32, 10),
    ]
    return {"family": "dy-mobilenetv2", "input": {"channels": 3, "height": 32, "width": 32},
            "normalization": {"mean": [0.4914, 0.4822, 0.4465], "std": [0.2470, 0.2435, 0.2616]},
            "classes": list(dt.CIFAR10_CLASSES), "layers": layers}


def case(prefix, temperature=None, layer_temperatures=None, mode="attention"):
    return {"prefix": prefix, "temperature": temperature,
            "layerTemperatures": dict(layer_temperatures or {}), "mode": mode}


TAU7 = case("tau7.", temperature=7.0)

FIXTURES = [
    ("dycnn_softmax", lambda: fixture_dycnn("softmax", False, False, 1.0, "dycnn"),
     [TAU7, case("layertau.", temperature=7.0, layer_temperatures={"layer2.1.conv": 0.5, "layer3.0.conv": 3.0}),
      case("average.", mode="average"), case("max.", mode="max")]),
    ("dycnn_softmax_bias", lambda: fixture_dycnn("softmax", True, True, 2.5, "dycnn"), [TAU7]),
    ("dycnn_condconv", lambda: fixture_dycnn("sigmoid", False, False, 1.0, "dycnn-condconv"), [TAU7]),
    ("dyresnet_slice", fixture_resnet, [TAU7]),
    ("dymobilenetv2_slice", fixture_mobilenet, [TAU7]),
]


# -- random parameters -------------------------------------------------------

def randomize(model, gen, calibration):
    """Seeded non-trivial parameters; BN running stats from a perturbed calibration pass.

    Every attention branch is scaled so that its logits z vary between the
    calibration samples with a standard deviation of about 0.8 τ (π neither
    uniform nor one-hot). Every BatchNorm gets running statistics near the true
    statistics of its input on `calibration` (so activations stay O(1) through
    the network) but deliberately perturbed, and random affine parameters.
    """
    def normal(shape, std, mean=0.0):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std + mean

    def uniform(shape, lo, hi):
        return torch.rand(*shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo

    hooks = []
    with torch.no_grad():
        for m in model._leaves.values():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(normal(m.weight.shape, (2.0 / fan_in) ** 0.5))
                if m.bias is not None:
                    m.bias.copy_(normal(m.bias.shape, 0.2))
            elif isinstance(m, dt.DynamicConv2d):
                fan_in = m.weight[0, 0].numel()
                # Sigmoid coefficients do not sum to 1: scale kernels so Σ r_k W_k stays O(W).
                scale = 1.0 if m.routing == "softmax" else 2.0 / m.kernels
                m.weight.copy_(normal(m.weight.shape, scale * (2.0 / fan_in) ** 0.5))
                if m.bias is not None:
                    m.bias.copy_(normal(m.bias.shape, 0.2))
                fc1, fc2 = m.attention.fc1, m.attention.fc2
                fc1.weight.copy_(normal(fc1.weight.shape, 3.0 / fc1.in_features ** 0.5))
                if fc1.bias is not None:
                    fc1.bias.copy_(normal(fc1.bias.shape, 0.3))
                fc2.weight.copy_(normal(fc2.weight.shape, 1.0 / fc2.in_features ** 0.5))

                def calibrate_attention(module, args):
                    # z should vary clearly between samples (std ≈ 0.8 τ) around K random offsets,
                    # so π is informative: neither uniform nor saturated one-hot.
                    fc1, fc2 = module.attention.fc1, module.attention.fc2
                    pooled = args[0].mean(dim=(2, 3))
                    dead = (fc1(pooled) <= 0).all(dim=0)
                    fc1.weight[dead] = -fc1.weight[dead]
                    if fc1.bias is not None:
                        fc1.bias[dead] = -fc1.bias[dead]
                    hidden = torch.relu(fc1(pooled))
                    z = hidden @ fc2.weight.T
                    spread = z.std(dim=0).mean().item()
                    fc2.weight.mul_(0.8 * module.trained_temperature / max(spread, 1e-6))
                    z = hidden @ fc2.weight.T
                    fc2.bias.copy_(-z.mean(dim=0) + normal((module.kernels,), 0.5 * module.trained_temperature))
                hooks.append(m.register_forward_pre_hook(calibrate_attention))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(uniform(m.weight.shape, 0.6, 1.4))
                m.bias.copy_(normal(m.bias.shape, 0.2))

                def calibrate(module, args):
                    x = args[0]
                    mean = x.mean(dim=(0, 2, 3))
                    var = x.var(dim=(0, 2, 3), unbiased=False)
                    c = mean.shape[0]
                    module.running_mean.copy_(mean + normal((c,), 0.2) * var.sqrt())
                    module.running_var.copy_(var * uniform((c,), 0.6, 1.6) + 1e-3)
                hooks.append(m.register_forward_pre_hook(calibrate))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(normal(m.weight.shape, 1.5 / m.in_features ** 0.5))
                if m.bias is not None:
                    m.bias.copy_(normal(m.bias.shape, 0.2))
        model.eval()
        model(calibration)
    for h in hooks:
        h.remove()
    # Round every parameter to F32 (what the checkpoint stores), keep computing in float64.
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.copy_(t.float().double())


def make_input(description, gen, count=BATCH):
    """A batch of random-normal inputs, each sample with its own per-channel mean and scale.

    Different means/scales per sample make the global-average-pooled attention
    inputs, and therefore π, differ clearly between the samples.
    """
    inp = description["input"]
    c, h, w = inp["channels"], inp["height"], inp["width"]
    x = torch.randn(count, c, h, w, generator=gen, dtype=torch.float64)
    scale = torch.rand(count, c, 1, 1, generator=gen, dtype=torch.float64) * 1.2 + 0.5
    shift = torch.randn(count, c, 1, 1, generator=gen, dtype=torch.float64) * 0.6
    return (x * scale + shift).float().double()


# -- oracle self-checks ------------------------------------------------------

def check_grouped_equals_naive(model, x, fixture, c, dtype=torch.float64):
    """Asserts grouped-conv aggregation == naive per-sample loop for every dynamic layer."""
    model = model.to(dtype)
    records = []

    def hook(module, args, kwargs, output):
        records.append((module, args[0], kwargs, output))

    handles = [m.register_forward_hook(hook, with_kwargs=True)
               for m in model._leaves.values() if isinstance(m, dt.DynamicConv2d)]
    try:
        with torch.no_grad():
            model(x.to(dtype), temperature=c["temperature"], layer_temperatures=c["layerTemperatures"],
                  mode=c["mode"])
            for module, inp, kwargs, (y, z, pi) in records:
                coefficients = dt.applied_coefficients(pi, kwargs.get("mode", "attention"))
                naive = module.naive_forward(inp, coefficients)
                err = (naive - y).abs().max().item() / max(1.0, naive.abs().max().item())
                assert err < 1e-5, ("%s: grouped-conv forward of %s differs from the naive loop by %g (%s)"
                                    % (fixture, module.name, err, dtype))
                if module.routing == "softmax":
                    s = (pi.sum(dim=1) - 1).abs().max().item()
                    assert s < 1e-5, "%s: softmax π of %s does not sum to 1 (%g)" % (fixture, module.name, s)
    finally:
        for h in handles:
            h.remove()
        model.double()
    assert records, fixture + ": no dynamic layer ran"


def run_case(model, x, c):
    with torch.no_grad():
        logits, trace = model(x, temperature=c["temperature"], layer_temperatures=c["layerTemperatures"],
                              mode=c["mode"])
    return logits, trace


# -- writing -----------------------------------------------------------------

def build_fixture(name, make_description, cases, seed, output):
    gen = torch.Generator().manual_seed(seed)
    description = make_description()
    model = dt.DyConvModel(description).double()
    calibration = make_input(description, gen, count=32)
    randomize(model, gen, calibration)
    x = make_input(description, gen)

    all_cases = [case("")] + list(cases)
    tensors = {"input": x.float()}
    report = []
    for c in all_cases:
        for dtype in (torch.float64, torch.float32):
            check_grouped_equals_naive(model, x, name, c, dtype=dtype)
        logits, trace = run_case(model, x, c)
        # A float32 forward must agree with the float64 reference well inside the test tolerance.
        logits32, trace32 = run_case(model.float(), x.float(), c)
        model.double()
        drift = (logits32.double() - logits).abs().max().item()
        for layer, t in trace.items():
            drift = max(drift, (trace32[layer]["pi"].double() - t["pi"]).abs().max().item(),
                        (trace32[layer]["z"].double() - t["z"]).abs().max().item())
        assert drift < 2e-5, "%s/%s: float32 forward drifts %g from float64" % (name, c["prefix"] or "base", drift)
        # The benchmark's faster implementation (batched matmul for 1×1 convs) must agree too.
        auto_logits, _ = run_case(model.set_implementation("auto"), x, c)
        model.set_implementation("grouped")
        assert (auto_logits - logits).abs().max().item() < 1e-10, name + ": implementation 'auto' differs"
        p = c["prefix"]
        tensors[p + "logits"] = logits.float()
        for layer, t in trace.items():
            tensors[p + "z." + layer] = t["z"].float()
            tensors[p + "pi." + layer] = t["pi"].float()
            if c["mode"] != "attention":
                tensors[p + "applied." + layer] = dt.applied_coefficients(t["pi"], c["mode"]).float()
        spread = max((t["pi"].max(0).values - t["pi"].min(0).values).max().item() for t in trace.values())
        report.append("%s: |logits|≤%.2f, π∈[%.3f, %.3f], max π spread over samples %.3f, f32 drift %.1e"
                      % (p or "base", logits.abs().max().item(),
                         min(t["pi"].min().item() for t in trace.values()),
                         max(t["pi"].max().item() for t in trace.values()), spread, drift))

    os.makedirs(output, exist_ok=True)
    checkpoint_path = os.path.join(output, name + ".safetensors")
    io_path = os.path.join(output, name + ".io.safetensors")
    dt.write_checkpoint(model, checkpoint_path, {"dyconv.fixture": name, "dyconv.fixture.seed": str(seed)})
    dt.write_safetensors(tensors, io_path, {"format": "dyconv-fixture", "dyconv.fixture": name,
                                            "dyconv.fixture.cases": json.dumps(all_cases)})

    # The checkpoint must read back into the same model.
    again, again_description, _ = dt.read_checkpoint(checkpoint_path)
    assert again_description == json.loads(json.dumps(description)), name + ": architecture does not round-trip"
    with torch.no_grad():
        difference = (again.double()(x)[0] - model(x)[0]).abs().max().item()
    assert difference == 0.0, name + ": checkpoint does not round-trip"

    size = os.path.getsize(checkpoint_path) + os.path.getsize(io_path)
    print("%-20s %7d bytes, %d dynamic layers, %d parameters" % (
        name, size, len(model.dynamic_layer_names), sum(t.numel() for t in model.checkpoint_tensors().values())))
    for line in report:
        print("    " + line)
    return size


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the PyTorch reference fixtures of the Swift tests.")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="directory (default: the test target's Fixtures)")
    parser.add_argument("--seed", type=int, default=20200614, help="base seed (default 20200614)")
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    total = 0
    for index, (name, make_description, cases) in enumerate(FIXTURES):
        total += build_fixture(name, make_description, cases, args.seed + index, os.path.normpath(args.output))
    print("total %d bytes in %s" % (total, os.path.normpath(args.output)))
    assert total < 3_000_000, "fixtures exceed 3 MB"
    return 0


if __name__ == "__main__":
    sys.exit(main())
